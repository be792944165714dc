"""The live part of the bench: the bot as a subprocess, the fake Telegram server in this process, and a
real tmux server whose windows run ``tools.bench.fake_codex``.

``Lab`` owns everything that outlives one bot run: a temporary folder (``CODEX_HOME``, ``CCBOT_DIR``, the
synthetic Codex's event logs), the fake server and its forum groups (one group per window, so Telegram's
per-group pacing of one window never delays another's samples), and the tmux server (a dedicated ``-L``
socket, killed by ``Lab.close``). ``Lab.bot_run(windows)`` pre-writes ``$CCBOT_DIR/state.json`` with
bindings whose threads count as history (each window's rollout is proven from /proc and read from its size
then),
starts ``python -m ccbot``, waits for ``ready`` and for every window's ``rollout proven`` log line, and stops
the bot (SIGTERM, then SIGKILL) on exit.

Clocks: the bench and the fake server read ``trio.current_time()``; the synthetic Codex logs
``time.monotonic()`` (both CLOCK_MONOTONIC; ``Lab.offset`` converts).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import trio

from ccbot.state.model import Binding, State
from ccbot.state.store import StateStore
from tools.bench.lines import LineMaker, burst_lines
from tools.bench.procstat import CpuTimes, read_cpu, read_memory
from tools.fakegram import CallRecord, FakeTelegram, serve_fakegram

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "7100200300:AAH-benchSecretTokenValue_xyz123"
OWNER = 1001
SESSION = "ccbot"


@dataclass
class Window:
    """One synthetic-Codex tmux window and the forum topic it is bound to."""

    index: int
    window_id: str
    pane_id: str
    name: str
    cwd: Path
    events: Path
    chat_id: int
    topic_id: int
    rollout: Path | None = None
    fd: int | None = None
    maker: LineMaker | None = None


@dataclass
class Sample:
    """One measured output line: appended at ``t`` (trio clock); ``arrived`` when its Bot API call came."""

    kind: str  # "idle" (a turn's first line after quiet) or "in_turn"
    window: int
    chat_id: int
    needle: str
    method: str
    t: float
    arrived: float | None = None
    after_previous: float | None = None  # seconds between the previous call to the chat and this one
    recent_calls: int = 0  # calls to the chat in the 60 s before this one (Telegram allows 20 per group)

    @property
    def latency(self) -> float | None:
        return None if self.arrived is None else self.arrived - self.t

    @property
    def paced(self) -> bool:
        """Probably held back by ccbot's pacing: the per-chat bucket (1 call/s after a burst of 3: the call
        followed the chat's previous one by 0.95-1.1 s) or the per-group window (20 calls in the 60 s
        before it), and the line had waited at least 0.2 s."""
        per_chat = self.after_previous is not None and 0.95 <= self.after_previous <= 1.1
        return (per_chat or self.recent_calls >= 20) and (self.latency or 0.0) >= 0.2


class LogFollower:
    """Reads the bot's journald-style JSON log incrementally (``<N>{json}`` per line)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.events: list[dict[str, Any]] = []
        self._partial = b""

    def poll(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        data = self._partial + data
        *complete, self._partial = data.split(b"\n")
        new = []
        for raw in complete:
            text = raw.decode("utf-8", "replace")
            if text.startswith("<") and text[2:3] == ">":
                text = text[3:]
            try:
                event = json.loads(text)
            except ValueError:
                event = {"event": "<unparsed>", "raw": text}
            if isinstance(event, dict):
                new.append(event)
        self.events += new
        return new


@dataclass
class BotRun:
    proc: trio.Process
    log: LogFollower
    started: float
    ready_s: float = 0.0
    proven_s: float = 0.0

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def wait_log(
        self,
        predicate: Callable[[list[dict[str, Any]]], bool],
        timeout: float,  # noqa: ASYNC109 - a deadline for a log line, not a cancellation API
    ) -> None:
        with trio.fail_after(timeout):
            while True:
                self.log.poll()
                if predicate(self.log.events):
                    return
                if self.proc.returncode is not None:
                    tail = "\n".join(json.dumps(e) for e in self.log.events[-30:])
                    raise RuntimeError(f"bot exited with {self.proc.returncode}:\n{tail}")
                await trio.sleep(0.05)

    def errors(self) -> list[dict[str, Any]]:
        self.log.poll()
        return [e for e in self.log.events if e.get("level") in ("error", "critical")]


class Lab:
    def __init__(self, fake: FakeTelegram, port: int, root: Path) -> None:
        self.fake = fake
        self.port = port
        self.root = root
        self.codex_home = root / "codex-home"
        self.ccbot_dir = root / "ccbot"
        self.home = root / "home"
        for d in (self.codex_home, self.ccbot_dir, self.home):
            d.mkdir(parents=True, exist_ok=True)
        self.socket = f"ccbot-bench-{os.getpid()}-{random.randrange(1 << 16):04x}"
        self.windows: list[Window] = []
        self.offset = trio.current_time() - time.monotonic()
        self.tmux_started = False

    # -- tmux -------------------------------------------------------------------------------------------
    def _tmux_env(self) -> dict[str, str]:
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.home), "LANG": "C.UTF-8"}

    async def tmux(self, *args: str) -> str:
        result = await trio.run_process(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_stdout=True,
            capture_stderr=True,
            env=self._tmux_env(),
        )
        return result.stdout.decode()

    def tmux_server_pid(self) -> int | None:
        proc = subprocess.run(
            ["tmux", "-L", self.socket, "display-message", "-p", "#{pid}"],
            capture_output=True,
            text=True,
            env=self._tmux_env(),
            check=False,
        )
        text = proc.stdout.strip()
        return int(text) if text.isdigit() else None

    def kill_tmux(self) -> None:
        subprocess.run(
            ["tmux", "-L", self.socket, "kill-server"], capture_output=True, env=self._tmux_env(), check=False
        )
        remove_socket_file(self.socket)

    async def create_windows(self, count: int) -> None:
        """Start the tmux server (if needed) and ``count`` more synthetic-Codex windows, each with its own
        forum group + topic; wait until every one has created its rollout."""
        if not self.tmux_started:
            await self.tmux("new-session", "-d", "-s", SESSION, "-n", "ccbot-placeholder", "-x", "200", "-y", "50")
            self.tmux_started = True
        # ccbot proves a pane's thread only from a Codex process (argv[0] named codex*): run the synthetic
        # Codex through a link of that name to this Python (PYTHONPATH makes its imports work).
        program = self.root / "bin" / "codex-bench"
        if not program.exists():
            program.parent.mkdir(parents=True, exist_ok=True)
            program.symlink_to(os.path.realpath(sys.executable))
        first = len(self.windows)
        for index in range(first, first + count):
            cwd = self.root / "work" / f"w{index:02d}"
            cwd.mkdir(parents=True, exist_ok=True)
            events = self.root / "events" / f"w{index:02d}.jsonl"
            events.parent.mkdir(exist_ok=True)
            name = f"bench-{index:02d}"
            out = await self.tmux(
                "new-window",
                "-d",
                "-t",
                f"={SESSION}:",
                "-n",
                name,
                "-c",
                str(cwd),
                "-e",
                f"PYTHONPATH={ROOT}",
                "-P",
                "-F",
                "#{window_id} #{pane_id}",
                str(program),
                "-m",
                "tools.bench.fake_codex",
                "--codex-home",
                str(self.codex_home),
                "--events",
                str(events),
                "--cwd",
                str(cwd),
            )
            window_id, pane_id = out.split()
            chat = self.fake.create_forum_group(f"Bench {index}")
            topic = self.fake.user_creates_topic(chat, OWNER, f"w{index}")
            self.windows.append(Window(index, window_id, pane_id, name, cwd, events, chat, topic))
        with trio.fail_after(60):
            for window in self.windows[first:]:
                while window.rollout is None:
                    for event in read_events(window.events):
                        if event.get("kind") == "ready":
                            window.rollout = Path(str(event["rollout"]))
                            window.maker = LineMaker(
                                str(event["thread"]), cwd=str(window.cwd), rng=random.Random(window.index)
                            )
                    if window.rollout is None:
                        await trio.sleep(0.05)
                window.fd = os.open(window.rollout, os.O_WRONLY | os.O_APPEND)

    # -- appending ---------------------------------------------------------------------------------------
    def append(self, window: Window, lines: Sequence[str]) -> float:
        """Append ``lines`` in one write; returns the trio time just before the write."""
        assert window.fd is not None
        data = "".join(lines).encode()
        t = trio.current_time()
        os.write(window.fd, data)
        return t

    # -- the bot -------------------------------------------------------------------------------------------
    def write_state(self, windows: Sequence[Window]) -> None:
        state = State(telegram_offset=max((u.update_id for u in self.fake.updates), default=0) + 1)
        for w in windows:
            # from_json drops keys this version of Binding does not have: "attach" (older) and bound_at
            # (newer) both mean "the thread's earlier lines are history; deliver from the proof on".
            state.bindings[(w.chat_id, w.topic_id)] = Binding.from_json(
                {
                    "chat_id": w.chat_id,
                    "topic_id": w.topic_id,
                    "window_id": w.window_id,
                    "window_name": w.name,
                    "cwd": str(w.cwd),
                    "pane_id": w.pane_id,
                    "start_mode": "attach",
                    "bound_at": time.time(),
                }
            )
        for leftover in self.ccbot_dir.glob("state.json*"):
            leftover.unlink()
        StateStore(self.ccbot_dir / "state.json").save(state)

    def bot_env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "CCBOT_DIR": str(self.ccbot_dir),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "ALLOWED_USERS": str(OWNER),
            "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{self.port}",
            "CCBOT_TMUX_SOCKET": self.socket,
            "TMUX_SESSION_NAME": SESSION,
            "CODEX_HOME": str(self.codex_home),
            "CCBOT_BROWSE_ROOT": str(self.root / "work"),
            "NO_PROXY": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
        }
        env.update(extra or {})
        return env

    @asynccontextmanager
    async def bot_run(
        self, windows: Sequence[Window], name: str, extra_env: dict[str, str] | None = None
    ) -> AsyncIterator[BotRun]:
        # The state is written as an older ccbot would (no owner marks): the bot adopts each window by id and
        # name only while no one has marked it, so the marks an earlier run set are taken off first.
        for w in windows:
            await self.tmux("set-option", "-w", "-u", "-t", w.window_id, "@ccbot-owner")
        self.write_state(windows)
        log_path = self.root / f"{name}.log"
        started = trio.current_time()
        with open(log_path, "ab") as log_file:  # noqa: ASYNC230 - opening a local log file does not block
            proc = await trio.lowlevel.open_process(
                [sys.executable, "-m", "ccbot", "--log-format", "journald", "--log-level", "info"],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=self.bot_env(extra_env),
                cwd=str(ROOT),
            )
        run = BotRun(proc, LogFollower(log_path), started)
        try:
            await run.wait_log(lambda evs: any(e.get("event") == "ready" for e in evs), timeout=60)
            ready = next(e for e in run.log.events if e.get("event") == "ready")
            run.ready_s = _event_time(ready, self.offset, started) - started
            wanted = {w.window_id for w in windows}

            def all_proven(evs: list[dict[str, Any]]) -> bool:
                return wanted <= {e.get("window") for e in evs if e.get("event") == "rollout proven"}

            await run.wait_log(all_proven, timeout=60 + 2 * len(windows))
            run.proven_s = trio.current_time() - started
            yield run
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                with trio.move_on_after(15):
                    await proc.wait()
            if proc.returncode is None:
                proc.kill()
                with trio.move_on_after(5):
                    await proc.wait()

    def close(self) -> None:
        for w in self.windows:
            if w.fd is not None:
                os.close(w.fd)
                w.fd = None
        if self.tmux_started:
            self.kill_tmux()
            self.tmux_started = False


def remove_socket_file(name: str) -> None:
    """tmux 3.3a can leave its ``-L`` socket file behind after ``kill-server``; remove ours."""
    folder = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"
    with contextlib.suppress(OSError):
        (folder / name).unlink()


def _event_time(event: dict[str, Any], offset: float, fallback: float) -> float:
    """The trio-clock time of a log event; the bot's log timestamps are wall-clock ISO strings, so this
    converts through ``time.time()`` ↔ monotonic as sampled now (good to a millisecond or so)."""
    stamp = event.get("timestamp")
    if not isinstance(stamp, str):
        return fallback
    try:
        wall = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return fallback
    return wall - time.time() + time.monotonic() + offset


def read_events(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


# ---------------------------------------------------------------------------------------------- matching


def calls_for(fake: FakeTelegram, chat_id: int, since: float) -> list[CallRecord]:
    return [c for c in fake.calls if c.time >= since and str(c.params.get("chat_id")) == str(chat_id)]


def match_samples(fake: FakeTelegram, samples: Sequence[Sample]) -> None:
    """Fill ``arrived``: the first successful call of the sample's method to its chat, at or after its append
    time, whose ``text`` contains its needle."""
    by_chat: dict[str, list[CallRecord]] = {}
    for call in fake.calls:
        if call.ok:
            by_chat.setdefault(str(call.params.get("chat_id")), []).append(call)
    for sample in samples:
        calls = by_chat.get(str(sample.chat_id), [])
        for index, call in enumerate(calls):
            if (
                call.time >= sample.t
                and call.method == sample.method
                and sample.needle in str(call.params.get("text", ""))
            ):
                sample.arrived = call.time
                if index:
                    sample.after_previous = call.time - calls[index - 1].time
                sample.recent_calls = sum(call.time - 60.0 <= c.time < call.time for c in calls[:index])
                break


# ---------------------------------------------------------------------------------------------- scenarios


@dataclass
class OutputPlan:
    cycles: int  # turns per sampled window
    per_turn: int  # in-turn agent messages sampled per turn
    gap: float  # seconds between a window's samples (jittered ±30 %)
    rest: float = 0.0  # pause between a window's turns (lets Telegram's per-group window refill)


async def output_samples(lab: Lab, windows: Sequence[Window], plan: OutputPlan, rng: random.Random) -> list[Sample]:
    """Each window runs ``plan.cycles`` turns: ``task_started`` with a first answer (sample "idle"),
    ``plan.per_turn`` agent messages (samples "in_turn"), ``task_complete``. Windows run concurrently with
    random start offsets."""
    samples: list[Sample] = []

    async def script(window: Window) -> None:
        assert window.maker is not None
        await trio.sleep(rng.uniform(0, plan.gap))
        for cycle in range(plan.cycles):
            maker = window.maker
            now = time.time()
            turn = maker.new_turn_id(now)
            # a turn starts on an idle window: its first answer comes with ``task_started`` (a turn start costs
            # no message of its own: the status message appears with a tool step)
            needle = f"BM{window.index:03d}x{cycle:02d}xSTARTQ"
            t = lab.append(window, [maker.task_started(now, turn),
                                    *maker.agent_message(now, turn, f"Sample {needle} done.")])
            samples.append(Sample("idle", window.index, window.chat_id, needle, "sendMessage", t))
            await trio.sleep(plan.gap * rng.uniform(1.0, 1.4))
            for n in range(plan.per_turn):
                needle = f"BM{window.index:03d}x{cycle:02d}x{n:03d}Q"
                t = lab.append(window, maker.agent_message(time.time(), turn, f"Sample {needle} done."))
                samples.append(Sample("in_turn", window.index, window.chat_id, needle, "sendMessage", t))
                await trio.sleep(plan.gap * rng.uniform(0.7, 1.3))
            lab.append(window, [maker.task_complete(time.time(), turn, None, 1000)])
            if cycle < plan.cycles - 1:
                await trio.sleep(plan.rest + plan.gap)

    async with trio.open_nursery() as nursery:
        for window in windows:
            nursery.start_soon(script, window)
    with trio.move_on_after(5.0):  # let the last deliveries land
        while True:
            match_samples(lab.fake, samples)
            if all(s.arrived is not None for s in samples):
                break
            await trio.sleep(0.2)
    return samples


@dataclass
class InputSample:
    window: int
    text: str
    t: float  # injected into the fake server
    visible: float | None = None  # the synthetic Codex had the whole text in its composer
    replied: float | None = None  # the "echo: <text>" message reached the fake server

    @property
    def latency(self) -> float | None:
        return None if self.visible is None else self.visible - self.t

    @property
    def round_trip(self) -> float | None:
        return None if self.replied is None else self.replied - self.t


async def input_samples(lab: Lab, windows: Sequence[Window], per_window: int, gap: float) -> list[InputSample]:
    """Inject user messages (round-robin over ``windows``, one every ``gap`` seconds); then match each with
    the first composer state holding the whole text and with the bot's ``echo: <text>`` message."""
    samples: list[InputSample] = []
    for rnd in range(per_window):
        for window in windows:
            text = f"ping {window.index} {rnd} {random.randrange(10**6):06d}"
            t = trio.current_time()
            lab.fake.user_sends_text(window.chat_id, OWNER, text, thread_id=window.topic_id)
            samples.append(InputSample(window.index, text, t))
            await trio.sleep(gap)
    with trio.move_on_after(15):
        while True:
            _match_inputs(lab, samples)
            if all(s.visible is not None and s.replied is not None for s in samples):
                break
            await trio.sleep(0.25)
    _match_inputs(lab, samples)
    return samples


def _match_inputs(lab: Lab, samples: Sequence[InputSample]) -> None:
    by_window = {w.index: w for w in lab.windows}
    events_cache: dict[int, list[dict[str, Any]]] = {}
    for sample in samples:
        window = by_window[sample.window]
        if sample.visible is None:
            events = events_cache.setdefault(window.index, read_events(window.events))
            for event in events:
                if event.get("kind") == "input" and sample.text in str(event.get("composer", "")):
                    sample.visible = float(event["t"]) + lab.offset
                    break
        if sample.replied is None:
            for call in calls_for(lab.fake, window.chat_id, sample.t):
                if call.ok and call.method == "sendMessage" and f"echo: {sample.text}" in str(call.params.get("text")):
                    sample.replied = call.time
                    break


@dataclass
class IdleCost:
    seconds: float
    bot_cpu: CpuTimes
    tmux_server_cpu_s: float | None
    rss_mb: float
    hwm_mb: float

    @property
    def bot_cpu_pct(self) -> float:
        return 100.0 * self.bot_cpu.total / self.seconds

    @property
    def tmux_cpu_pct(self) -> float | None:
        return None if self.tmux_server_cpu_s is None else 100.0 * self.tmux_server_cpu_s / self.seconds


async def idle_cost(lab: Lab, bot: BotRun, seconds: float) -> IdleCost:
    """CPU of the bot (own + reaped children: the tmux clients it runs) and of the tmux server over
    ``seconds`` of doing nothing, then the bot's RSS."""
    server = lab.tmux_server_pid()
    server0 = read_cpu(server).own if server else None
    bot0 = read_cpu(bot.pid)
    t0 = time.monotonic()
    await trio.sleep(seconds)
    bot1 = read_cpu(bot.pid)
    wall = time.monotonic() - t0
    server_s = read_cpu(server).own - server0 if server and server0 is not None else None
    memory = read_memory(bot.pid)
    return IdleCost(wall, bot1 - bot0, server_s, memory.rss_mb, memory.hwm_mb)


@dataclass
class BurstResult:
    lines: int
    append_seconds: float
    seconds: float | None  # first append → last send/edit of the turn reached the fake server
    final_seconds: float | None  # first append → the final answer reached the fake server
    send_messages: int
    edits: int
    chat_actions: int


async def burst(
    lab: Lab,
    window: Window,
    total: int,
    agent_messages: int,
    seconds: float,
    timeout: float,  # noqa: ASYNC109 - how long to wait for the deliveries
) -> BurstResult:
    """Append a ``total``-line turn over ``seconds`` (in 50 ms slices), then wait for its final answer and
    for the status message's closing edit; count the calls to the window's chat."""
    assert window.maker is not None
    marker = f"BURST{window.index:02d}"
    lines = burst_lines(window.maker, time.time(), total, agent_messages, marker)
    slices = max(1, int(seconds / 0.05))
    per = -(-len(lines) // slices)
    t0 = trio.current_time()
    for i in range(0, len(lines), per):
        lab.append(window, lines[i : i + per])
        await trio.sleep_until(t0 + (i // per + 1) * 0.05)
    appended = trio.current_time() - t0

    def final_call() -> CallRecord | None:
        for call in calls_for(lab.fake, window.chat_id, t0):
            if call.ok and call.method == "sendMessage" and f"{marker} final" in str(call.params.get("text")):
                return call
        return None

    final: CallRecord | None = None
    with trio.move_on_after(timeout):
        final = await lab.fake.wait_for(final_call, timeout=timeout)
        # the closing edit of the status message follows the final answer (task_complete is the last line)
        await trio.sleep(3.0)
    calls = [c for c in calls_for(lab.fake, window.chat_id, t0) if c.ok]
    content = [c for c in calls if c.method in ("sendMessage", "editMessageText")]
    last = max((c.time for c in content), default=None)
    return BurstResult(
        lines=len(lines),
        append_seconds=round(appended, 3),
        seconds=None if final is None or last is None else round(last - t0, 3),
        final_seconds=None if final is None else round(final.time - t0, 3),
        send_messages=sum(c.method == "sendMessage" for c in calls),
        edits=sum(c.method == "editMessageText" for c in calls),
        chat_actions=sum(c.method == "sendChatAction" for c in calls),
    )


@asynccontextmanager
async def lab_context() -> AsyncIterator[Lab]:
    """A Lab with the fake server running; everything is stopped and removed on exit."""
    fake = FakeTelegram(TOKEN)
    fake.add_user(OWNER, "Owner")
    with tempfile.TemporaryDirectory(prefix="ccbot-bench-") as tmp:
        async with trio.open_nursery() as nursery:
            port = await nursery.start(serve_fakegram, fake)
            lab = Lab(fake, port, Path(tmp))
            try:
                yield lab
            finally:
                lab.close()
                nursery.cancel_scope.cancel()


__all__ = [
    "BotRun",
    "BurstResult",
    "IdleCost",
    "InputSample",
    "Lab",
    "OutputPlan",
    "Sample",
    "Window",
    "burst",
    "idle_cost",
    "input_samples",
    "lab_context",
    "match_samples",
    "output_samples",
]
