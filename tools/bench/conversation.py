"""Conversation scenarios with the real Codex CLI (0.169, mock model) under Telegram's sending budget.

Measurements, not timed tests: every scenario runs in its own ``tests.e2e.stack.running_stack`` (fakegram
enforcing Telegram's budget — ≈1 message/s per chat after a burst of 3, 20/min per group, 30/s overall,
429 ``retry after N`` beyond — the mock OpenAI server, real Codex in real tmux, the bot as a subprocess),
under Codex's own default config (``"defaults"``), and returns a JSON-friendly dict. Every wait is
bounded; the stack stops the bot, the tmux server, the Codex daemon and the servers on the way out.

Clocks: the bench process's trio clock is the fake server's clock (``CallRecord.time`` is the moment the
fake began handling the call; the handler is synchronous, so that is when it was accepted), and rollout
files are polled on the same clock.

Scenarios (``SCENARIOS``):

* ``conversation`` — one topic, ``turns`` prompts, each sent ``pause`` seconds after the previous answer
  was accepted by the fake; once in a private chat with topics (Threaded Mode), once in a topic of the
  forum group. Per turn: *answer latency* = the ``MOCK_REPLY`` line is complete in the rollout file
  (polled every ``LINE_POLL`` s) → the bot's ``sendMessage`` carrying that text accepted by the fake;
  *round trip* = prompt injected → that ``sendMessage``. Per chat: the Bot API calls for that chat the
  turns caused, by method, accepted and refused (429), divided by the number of turns — counted from the
  first prompt until the chat has been quiet for ``SETTLE_QUIET`` s with every answer carrying its
  ``DONE_MARK`` line, or quiet for ``SETTLE_LONG_QUIET`` s whatever the answers show, at most ``SETTLE_CAP``
  s after the last answer (so calls the bot deferred, e.g. "✓ Done" edits held back by the budget, count
  too; ``deferred`` lists those after the last answer) — and the 429s the fake answered.
* ``busy_group`` — four bound topics in one forum group; three converse (each sends its next prompt as
  soon as Codex has written the previous answer, while at most ``busy_backlog`` of its answers are written
  but not yet delivered) until the group's budget is spent (``EXHAUSTED_CALLS`` accepted budgeted calls
  in the last 60 s) and answers are held in the bot's queue (≥ ``MIN_BACKLOG`` written, not delivered);
  then ``/screenshot`` in the fourth topic: update injected → ``sendPhoto`` accepted. Once right after
  the four topics were bound (``after_setup``: the minute's budget is then spent by the binding
  dialogues themselves), then ``screenshot_reps`` times once the conversations have run for a whole
  60 s window (``screenshot_ms``: the budget is spent by answers), the conversations running throughout.
* ``topic_flood`` — a private chat converses ``flood_turns`` turns alone, then again while the allowed
  user creates ``flood_topics`` topics in the forum group (``flood_interval`` s apart) and sends a message
  in each; the private chat's answer latency during the flood is compared with the same stack's figures
  before it, and with the ``conversation`` scenario's private chat when that ran in the same invocation.
"""

from __future__ import annotations

import functools
import tempfile
import traceback
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from ccbot.actors.sender import USER_RESERVE
from tools.bench.codestate import code_state
from tools.bench.stats import summarize_ms
from tools.fakegram import FakeTelegram
from tools.fakegram.budget import BUDGETED_METHODS
from tools.fakegram.model import CallRecord

SCENARIOS: tuple[str, ...] = ("conversation", "busy_group", "topic_flood")
LINE_POLL = 0.005  # rollout poll while one answer is awaited (s)
BACKGROUND_POLL = 0.02  # rollout poll of the busy group's three topics (s)
SETTLE_QUIET = 1.5  # a chat's calls are over once it has had none for this long (s) and its answers are done …
SETTLE_LONG_QUIET = 10.0  # … or none for this long, whatever the answers show (a group: GROUP_WINDOW + 1) …
SETTLE_CAP = 75.0  # … or this long after the last answer (a group drains ≤ 20 deferred calls a minute)
DONE_MARK = "✓ Done"  # a plain turn's end line, edited under its answer
GROUP_WINDOW = 60.0
# accepted budgeted calls to the group in the last minute: all that answers and progress may spend of
# Telegram's 20 (the bot keeps USER_RESERVE for replies to the user's own actions) …
EXHAUSTED_CALLS = 20 - USER_RESERVE
MIN_BACKLOG = 2  # … and answers written by Codex but not yet at the fake: "the budget is spent"
EXHAUST_TIMEOUT = 180.0
SCREENSHOT_TIMEOUT = 90.0
SCREENSHOT_GAP = 3.0  # pause after one screenshot before the next one is asked for (s)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Plan:
    """Sizes of the scenarios. ``codex_config`` is the ``running_stack`` profile (``"defaults"``: Codex's
    own defaults, what users run); timeouts bound each wait for one answer or photo (s)."""

    turns: int = 20
    pause: float = 0.5
    flood_turns: int = 10
    flood_topics: int = 200
    flood_interval: float = 0.05
    screenshot_reps: int = 5
    busy_backlog: int = 3
    codex_config: str = "defaults"
    reply_timeout: float = 90.0


FULL_PLAN = Plan()
QUICK_PLAN = Plan(turns=6, flood_turns=4, flood_topics=40, screenshot_reps=3)


# --- observing the rollout and the fake -----------------------------------------------------------


class LineClock:
    """When lines of one growing file (a Codex rollout) that contain given needles became complete.

    Contract: ``expect(needle)`` must be called before the line can be written (before the prompt is
    sent); ``poll()`` reads what was appended since the last poll (the file is only appended to) and
    stamps, with the trio clock, each expected needle found in a line whose ``\\n`` has been read. A line
    read before its needle was expected is not looked at again. ``seen(needle)`` is the stamp or None.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = path.stat().st_size
        self._partial = b""
        self._pending: set[bytes] = set()
        self._seen: dict[bytes, float] = {}

    def expect(self, needle: str) -> None:
        self._pending.add(needle.encode())

    def poll(self) -> None:
        with open(self.path, "rb") as fh:
            fh.seek(self._offset)
            data = fh.read()
        if not data:
            return
        self._offset += len(data)
        data = self._partial + data
        end = data.rfind(b"\n")
        if end < 0:
            self._partial = data
            return
        complete, self._partial = data[: end + 1], data[end + 1 :]
        now = trio.current_time()
        for needle in [n for n in self._pending if n in complete]:
            self._pending.discard(needle)
            self._seen[needle] = now

    def seen(self, needle: str) -> float | None:
        return self._seen.get(needle.encode())

    async def wait(self, needle: str, timeout: float, interval: float = LINE_POLL) -> float | None:  # noqa: ASYNC109
        """Poll every ``interval`` s until ``needle`` is seen; its stamp, or None after ``timeout`` s."""
        with trio.move_on_after(timeout):
            while True:
                self.poll()
                stamp = self.seen(needle)
                if stamp is not None:
                    return stamp
                await trio.sleep(interval)
        return None


def chat_of(call: CallRecord) -> int | None:
    """The call's ``chat_id`` as an int (JSON or form-encoded), or None."""
    raw = call.params.get("chat_id")
    try:
        return int(str(raw)) if raw is not None else None
    except ValueError:
        return None


def thread_of(call: CallRecord) -> int | None:
    raw = call.params.get("message_thread_id")
    try:
        return int(str(raw)) if raw is not None else None
    except ValueError:
        return None


class Deliveries:
    """When the fake accepted (HTTP 200) a ``sendMessage`` to ``chat`` whose text holds an expected needle.

    ``update()`` looks only at calls recorded since its last run (the fake's call log only grows), so it
    is cheap to run on every change; ``time(needle)`` is the first such call's ``time`` or None. Needles
    must be expected before the bot can send them (before the prompt is sent).
    """

    def __init__(self, fake: FakeTelegram, chat: int) -> None:
        self.fake = fake
        self.chat = chat
        self._index = len(fake.calls)
        self._pending: set[str] = set()
        self._times: dict[str, float] = {}

    def expect(self, needle: str) -> None:
        self._pending.add(needle)

    def update(self) -> None:
        calls = self.fake.calls
        while self._index < len(calls):
            call = calls[self._index]
            self._index += 1
            if call.method != "sendMessage" or not call.ok or chat_of(call) != self.chat or not self._pending:
                continue
            text = str(call.params.get("text", ""))
            for needle in [n for n in self._pending if n in text]:
                self._pending.discard(needle)
                self._times[needle] = call.time

    def time(self, needle: str) -> float | None:
        self.update()
        return self._times.get(needle)

    async def wait(self, needle: str, timeout: float) -> float | None:  # noqa: ASYNC109
        """The acceptance time of ``needle``'s message, or None after ``timeout`` s."""
        try:
            return await self.fake.wait_for(lambda: self.time(needle), timeout=timeout)
        except trio.TooSlowError:
            return None


def calls_by_method(fake: FakeTelegram, chat: int, start: float, end: float) -> dict[str, dict[str, int]]:
    """Bot API calls for ``chat`` that the fake began handling in ``[start, end]``, per method:
    ``{"ok": accepted, "refused": answered 429, "failed": any other error}``."""
    out: dict[str, dict[str, int]] = {}
    for call in fake.calls:
        if not start <= call.time <= end or chat_of(call) != chat:
            continue
        row = out.setdefault(call.method, {"ok": 0, "refused": 0, "failed": 0})
        row["ok" if call.ok else "refused" if call.http_status == 429 else "failed"] += 1
    return dict(sorted(out.items()))


def throttles_by_scope(fake: FakeTelegram, chat: int | None, start: float, end: float) -> dict[str, int]:
    """The 429s the fake answered in ``[start, end]`` (for ``chat``; None: every chat), per limit."""
    out: dict[str, int] = {}
    for t in fake.throttles:
        if start <= t.time <= end and (chat is None or t.chat_id == chat):
            out[t.scope] = out.get(t.scope, 0) + 1
    return out


def recent_budgeted(fake: FakeTelegram, chat: int, now: float, window: float = GROUP_WINDOW) -> int:
    """Accepted budgeted calls (sends and edits) to ``chat`` in the last ``window`` seconds."""
    count = 0
    for call in reversed(fake.calls):
        if call.time < now - window:
            break
        if call.ok and call.method in BUDGETED_METHODS and chat_of(call) == chat:
            count += 1
    return count


async def settle(fake: FakeTelegram, chat: int, done: Callable[[], bool] | None = None, *,
                 quiet: float = SETTLE_QUIET, long_quiet: float = SETTLE_LONG_QUIET, cap: float = SETTLE_CAP) -> float:
    """Wait until ``chat`` has had no Bot API call for ``quiet`` s and ``done()`` holds (None: at once), or no
    call for ``long_quiet`` s, or ``cap`` s have passed; returns the time it stopped."""
    deadline = trio.current_time() + cap
    while True:
        now = trio.current_time()
        last = next((c.time for c in reversed(fake.calls) if chat_of(c) == chat), 0.0)
        if (now - last >= quiet and (done is None or done())) or now - last >= long_quiet or now >= deadline:
            return now
        await trio.sleep(0.1)


def rollout_with(stack: Any, text: str) -> Path:
    """The rollout file that contains ``text`` (Codex's answer to a topic's first prompt).

    Raises ``RuntimeError`` when none or several do: the scenario cannot tell its topics apart then."""
    needle = text.encode()
    found = [p for p in stack.rollouts() if needle in p.read_bytes()]
    if len(found) != 1:
        raise RuntimeError(f"{len(found)} rollouts contain {text!r}")
    return found[0]


# --- one conversation -----------------------------------------------------------------------------


@dataclass
class TurnSample:
    """One turn: prompt injected (``sent``), answer line complete in the rollout (``line``), answer
    accepted by the fake (``answer``); None when it did not happen within the timeout."""

    n: int
    sent: float
    line: float | None = None
    answer: float | None = None

    @property
    def latency(self) -> float | None:
        return None if self.line is None or self.answer is None else self.answer - self.line

    @property
    def round_trip(self) -> float | None:
        return None if self.answer is None else self.answer - self.sent


@dataclass
class ChatRun:
    """A conversation's samples and the window ``[start, end]`` its calls are counted in; ``last`` is when
    its last turn ended (answer accepted, or given up on)."""

    label: str
    chat: int
    turns: list[TurnSample] = field(default_factory=list)
    start: float = 0.0
    last: float = 0.0
    end: float = 0.0
    first_id: int = 0  # the topic's newest message id before the run
    answers_done: int = 0
    done_messages: int = 0


def prompt_text(label: str, n: int) -> str:
    """A prompt the mock model answers with ``MOCK_REPLY: you said: <prompt>``; unique per (label, n) and
    never a substring of another (zero-padded number, closing word), free of the mock's keywords."""
    return f"{label} turn {n:03d} over"


async def bind_topic(stack: Any, topic: int, label: str, *, chat: int | None = None, folder: str = "work",
                     within: float = 120.0) -> Path:
    """Bind ``topic`` to a fresh Codex thread through the bot's dialogue; returns its rollout file once the
    first answer is at the fake. ``AssertionError`` (from the stack) when a step times out."""
    first = f"{label} hello there"
    await stack.start_fresh(topic, first, folder=folder, chat=chat)
    await stack.wait_text(topic, f"you said: {first}", timeout=within, chat=chat)
    return rollout_with(stack, f"you said: {first}")


async def converse(stack: Any, chat: int, topic: int, rollout: Path, label: str, turns: int, pause: float,
                   within: float) -> ChatRun:
    """``turns`` prompts in ``topic``, each ``pause`` s after the previous answer was accepted (or not within
    ``within`` s: then the next prompt follows at once). The run's window ends once the chat is quiet again."""
    await settle(stack.fake, chat)
    clock = LineClock(rollout)
    deliveries = Deliveries(stack.fake, chat)
    run = ChatRun(label, chat, start=trio.current_time(),
                  first_id=max((m.message_id for m in stack.fake.bot_messages(chat, topic)), default=0))
    for n in range(turns):
        text = prompt_text(label, n)
        needle = f"you said: {text}"
        clock.expect(needle)
        deliveries.expect(needle)
        sample = TurnSample(n, trio.current_time())
        stack.send(topic, text, chat)
        sample.line = await clock.wait(needle, within)
        sample.answer = await deliveries.wait(needle, within)
        run.turns.append(sample)
        if n + 1 < turns and sample.answer is not None:
            await trio.sleep(pause)
    run.last = trio.current_time()

    def answers_done() -> bool:
        texts = [m.text or "" for m in stack.fake.bot_messages(chat, topic)]
        return all(any(f"you said: {prompt_text(label, t.n)}" in x and DONE_MARK in x for x in texts)
                   for t in run.turns if t.answer is not None)

    long_quiet = GROUP_WINDOW + 1.0 if chat < 0 else SETTLE_LONG_QUIET  # a group's edits may wait a minute
    run.end = await settle(stack.fake, chat, answers_done, long_quiet=long_quiet)
    run.answers_done, run.done_messages = _done_lines(stack.fake, run, topic)
    return run


def _done_lines(fake: FakeTelegram, run: ChatRun, topic: int) -> tuple[int, int]:
    """How many of the run's answers carry ``DONE_MARK``, and how many bot messages posted in ``topic`` after
    the run began are a ``DONE_MARK`` line of their own (the old design: a separate message per turn)."""
    messages = fake.bot_messages(run.chat, topic)
    texts = [m.text or "" for m in messages]
    done = sum(any(f"you said: {prompt_text(run.label, t.n)}" in x and DONE_MARK in x for x in texts)
               for t in run.turns)
    separate = sum(1 for m in messages if m.message_id > run.first_id and (m.text or "").startswith(DONE_MARK))
    return done, separate


def summarize_run(fake: FakeTelegram, run: ChatRun) -> dict[str, Any]:
    """The JSON of one conversation: latencies (ms), calls per method and per turn, 429s, samples."""
    n = len(run.turns)
    by_method = calls_by_method(fake, run.chat, run.start, run.end)
    return {
        "turns": n,
        "answer_latency_ms": summarize_ms([t.latency for t in run.turns if t.latency is not None]),
        "round_trip_ms": summarize_ms([t.round_trip for t in run.turns if t.round_trip is not None]),
        "lost": sum(t.answer is None for t in run.turns),
        "calls": by_method,
        "per_turn": {m: round(row["ok"] / n, 2) for m, row in by_method.items()} if n else {},
        "deferred": calls_by_method(fake, run.chat, run.last, run.end),
        "answers_with_done_line": run.answers_done,
        "separate_done_messages": run.done_messages,
        "drain_s": round(run.end - run.last, 1),
        "throttles": throttles_by_scope(fake, run.chat, run.start, run.end),
        "seconds": round(run.end - run.start, 1),
        "samples": [[t.n, _ms(t.latency), _ms(t.round_trip)] for t in run.turns],
        "timeline": timeline(fake, run),
    }


def timeline(fake: FakeTelegram, run: ChatRun) -> list[dict[str, Any]]:
    """Per turn, the chat's calls from its prompt to the next prompt (the last: to the run's end) as
    ``[method, ms after the prompt, HTTP status]``, with the rollout line's and the answer's ms."""
    out: list[dict[str, Any]] = []
    for i, turn in enumerate(run.turns):
        until = run.turns[i + 1].sent if i + 1 < len(run.turns) else run.end
        out.append({
            "turn": turn.n,
            "line_ms": _ms(None if turn.line is None else turn.line - turn.sent),
            "answer_ms": _ms(turn.round_trip),
            "calls": [[c.method, _ms(c.time - turn.sent), c.http_status]
                      for c in fake.calls if turn.sent <= c.time < until and chat_of(c) == run.chat],
        })
    return out


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 1)


def private_chat(stack: Any, name: str) -> tuple[int, int]:
    """The owner's private chat with the bot, with topics (Threaded Mode), and a new topic in it."""
    from tests.e2e.stack import OWNER

    fake: FakeTelegram = stack.fake
    chat = fake.create_private_chat(OWNER, topics_enabled=True)
    return chat, fake.user_creates_topic(chat, OWNER, name)


# --- the scenarios --------------------------------------------------------------------------------


async def scenario_conversation(stack: Any, plan: Plan, progress: Progress) -> dict[str, Any]:
    """Scenario ``conversation``: ``plan.turns`` turns in a private-chat topic, then in a group topic."""
    chat, topic = private_chat(stack, "dm")
    progress("conversation: binding a private-chat topic")
    rollout = await bind_topic(stack, topic, "dm", chat=chat)
    progress(f"conversation: {plan.turns} turns in the private chat")
    private = await converse(stack, chat, topic, rollout, "dm", plan.turns, plan.pause, plan.reply_timeout)
    group_topic = stack.new_topic("talk")
    progress("conversation: binding a group topic")
    group_rollout = await bind_topic(stack, group_topic, "grp", folder="other")
    progress(f"conversation: {plan.turns} turns in the group")
    group = await converse(stack, stack.group, group_topic, group_rollout, "grp", plan.turns, plan.pause,
                           plan.reply_timeout)
    return {
        "pause_s": plan.pause,
        "private": summarize_run(stack.fake, private),
        "group": summarize_run(stack.fake, group),
    }


@dataclass
class _Talker:
    """One busy topic: its prompts' rollout and delivery stamps."""

    word: str
    topic: int
    clock: LineClock
    sent: list[str] = field(default_factory=list)
    asked_at: dict[str, float] = field(default_factory=dict)
    lost: int = 0

    def backlog(self, deliveries: Deliveries) -> int:
        """Answers Codex has written that the fake has not accepted yet."""
        return sum(1 for n in self.sent if self.clock.seen(n) is not None and deliveries.time(n) is None)


async def _talk(stack: Any, talker: _Talker, deliveries: Deliveries, plan: Plan) -> None:
    """Prompt after prompt, each once the previous answer is written, keeping the backlog bounded."""
    k = 1
    while True:
        while talker.backlog(deliveries) >= plan.busy_backlog:  # noqa: ASYNC110 - polls the rollout's stamps
            await trio.sleep(0.1)
        text = prompt_text(talker.word, k)
        needle = f"you said: {text}"
        talker.clock.expect(needle)
        deliveries.expect(needle)
        talker.sent.append(needle)
        talker.asked_at[needle] = trio.current_time()
        stack.send(talker.topic, text)
        with trio.move_on_after(plan.reply_timeout) as waited:
            while talker.clock.seen(needle) is None:  # noqa: ASYNC110 - stamped by _poll_clocks
                await trio.sleep(BACKGROUND_POLL)
        if waited.cancelled_caught:
            talker.lost += 1
        await trio.sleep(0.3)
        k += 1


async def _poll_clocks(clocks: Sequence[LineClock]) -> None:
    while True:
        for clock in clocks:
            clock.poll()
        await trio.sleep(BACKGROUND_POLL)


async def scenario_busy_group(stack: Any, plan: Plan, progress: Progress) -> dict[str, Any]:
    """Scenario ``busy_group``: three topics spend the group's budget, ``/screenshot`` in a fourth."""
    fake: FakeTelegram = stack.fake
    group: int = stack.group
    words = ("alpha", "bravo", "charlie")
    topics = {word: stack.new_topic(word) for word in words}
    shots = stack.new_topic("shots")
    talkers: list[_Talker] = []
    for word in words:
        progress(f"busy group: binding topic {word}")
        talkers.append(_Talker(word, topics[word], LineClock(await bind_topic(stack, topics[word], word))))
    progress("busy group: binding the screenshot topic")
    await bind_topic(stack, shots, "shots")
    deliveries = Deliveries(fake, group)
    samples: list[dict[str, Any]] = []
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_poll_clocks, [t.clock for t in talkers])
        for talker in talkers:
            nursery.start_soon(_talk, stack, talker, deliveries, plan)

        def backlog() -> int:
            return sum(t.backlog(deliveries) for t in talkers)

        after_setup = await _screenshot(stack, shots, backlog, "after_setup", progress)
        progress("busy group: conversations fill a whole 60 s window")
        await trio.sleep_until(start + GROUP_WINDOW)
        for rep in range(plan.screenshot_reps):
            samples.append(await _screenshot(stack, shots, backlog, f"{rep + 1}/{plan.screenshot_reps}", progress))
            await trio.sleep(SCREENSHOT_GAP)
        end = trio.current_time()
        nursery.cancel_scope.cancel()
    held_answers = [
        deliveries.time(n) - t.clock.seen(n)  # type: ignore[operator]
        for t in talkers for n in t.sent
        if t.clock.seen(n) is not None and deliveries.time(n) is not None
    ]
    return {
        "screenshot_ms": summarize_ms([s["latency_ms"] / 1000.0 for s in samples if s["latency_ms"] is not None]),
        "repetitions": samples,
        "after_setup": after_setup,
        "lost_screenshots": sum(s["latency_ms"] is None for s in samples),
        "prompts": sum(len(t.sent) for t in talkers),
        "answers_delivered": len(held_answers),
        "answers_held_at_end": backlog(),
        "answer_latency_ms": summarize_ms(held_answers),
        "calls": calls_by_method(fake, group, start, end),
        "throttles": throttles_by_scope(fake, group, start, end),
        "seconds": round(end - start, 1),
        "lost_prompts": sum(t.lost for t in talkers),
    }


async def _screenshot(stack: Any, shots: int, backlog: Callable[[], int], label: str,
                      progress: Progress) -> dict[str, Any]:
    """Wait (at most ``EXHAUST_TIMEOUT`` s) until the group's budget is spent with answers held, then send
    ``/screenshot`` in ``shots`` and wait (at most ``SCREENSHOT_TIMEOUT`` s) for the photo; one sample."""
    fake: FakeTelegram = stack.fake
    group: int = stack.group
    progress(f"busy group: waiting for the spent budget, then /screenshot ({label})")
    with trio.move_on_after(EXHAUST_TIMEOUT):
        while not (backlog() >= MIN_BACKLOG  # noqa: ASYNC110 - rollouts are polled, not signalled
                   and recent_budgeted(fake, group, trio.current_time()) >= EXHAUSTED_CALLS):
            await trio.sleep(0.1)
    held, spent = backlog(), recent_budgeted(fake, group, trio.current_time())
    index = len(fake.calls)
    asked = trio.current_time()
    stack.send(shots, "/screenshot")

    def photo() -> float | None:
        for call in fake.calls[index:]:
            if call.method == "sendPhoto" and call.ok and chat_of(call) == group and thread_of(call) == shots:
                return call.time
        return None

    try:
        got: float | None = await fake.wait_for(photo, timeout=SCREENSHOT_TIMEOUT)
    except trio.TooSlowError:
        got = None
    ahead = sum(
        1 for c in fake.calls[index:]
        if got is not None and c.time < got and c.method == "sendMessage" and c.ok and chat_of(c) == group
        and "you said:" in str(c.params.get("text", ""))
    )
    return {
        "label": label,
        "latency_ms": None if got is None else round((got - asked) * 1000.0, 1),
        "backlog": held,
        "group_calls_last_60s": spent,
        "exhausted": held >= MIN_BACKLOG and spent >= EXHAUSTED_CALLS,
        "answers_sent_before_photo": ahead,
    }


async def _flood(stack: Any, topics: int, interval: float, created: list[float]) -> None:
    """The allowed user creates ``topics`` topics in the group and writes in each, ``interval`` s apart."""
    for n in range(topics):
        topic = stack.new_topic(f"flood {n:03d}")
        stack.send(topic, f"flood message {n:03d}")
        created.append(trio.current_time())
        await trio.sleep(interval)


async def scenario_topic_flood(stack: Any, plan: Plan, progress: Progress,
                               baseline: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Scenario ``topic_flood``. ``baseline``: the ``conversation`` scenario's private-chat summary, if it ran."""
    fake: FakeTelegram = stack.fake
    chat, topic = private_chat(stack, "dm")
    progress("topic flood: binding a private-chat topic")
    rollout = await bind_topic(stack, topic, "dm", chat=chat)
    progress(f"topic flood: {plan.flood_turns} turns alone")
    alone = await converse(stack, chat, topic, rollout, "solo", plan.flood_turns, plan.pause, plan.reply_timeout)
    created: list[float] = []
    progress(f"topic flood: {plan.flood_topics} new topics in the group, {plan.flood_turns} turns meanwhile")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_flood, stack, plan.flood_topics, plan.flood_interval, created)
        while len(created) < min(20, plan.flood_topics):  # noqa: ASYNC110 - a short wait on _flood's progress
            await trio.sleep(0.05)
        during = await converse(stack, chat, topic, rollout, "busy", plan.flood_turns, plan.pause,
                                plan.reply_timeout)
        with trio.move_on_after(plan.flood_topics * plan.flood_interval + 30.0):
            while len(created) < plan.flood_topics:  # noqa: ASYNC110 - a bounded wait on _flood's progress
                await trio.sleep(0.1)
        nursery.cancel_scope.cancel()
    result: dict[str, Any] = {
        "topics": len(created),
        "flood_seconds": round(created[-1] - created[0], 1) if created else None,
        "conversation_overlapped_flood": bool(created) and during.start <= created[-1],
        "alone": summarize_run(fake, alone),
        "during_flood": summarize_run(fake, during),
        "group_calls": calls_by_method(fake, stack.group, during.start, during.end),
        "group_throttles": throttles_by_scope(fake, stack.group, during.start, during.end),
    }
    now = result["during_flood"]["answer_latency_ms"]
    for key, ref in (("vs_alone", result["alone"]["answer_latency_ms"]),
                     ("vs_conversation", (baseline or {}).get("answer_latency_ms"))):
        result[key] = _change(now, ref)
    result["p50_change_pct"] = (result["vs_conversation"] or {}).get("p50")
    return result


def _change(now: Mapping[str, Any], ref: Mapping[str, Any] | None) -> dict[str, float] | None:
    """Percent change of p50, p90 and max from ``ref`` to ``now`` (None when either has no samples)."""
    if not ref or not ref.get("n") or not now.get("n"):
        return None
    return {k: round(100.0 * (now[k] - ref[k]) / ref[k], 1) for k in ("p50", "p90", "max") if ref[k]}


# --- running them ---------------------------------------------------------------------------------


async def _in_stack(codex_bin: str, plan: Plan,
                    body: Callable[[Any], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """``body(stack)`` in a fresh stack under ``plan.codex_config``; adds the bot's logged error count."""
    from tests.e2e.stack import running_stack

    with tempfile.TemporaryDirectory(prefix="ccbot-bench-conv-") as tmp:
        async with running_stack(Path(tmp), codex_bin, config=plan.codex_config, telegram_budget=True) as stack:
            out = await body(stack)
            errors = [e for e in stack.bot.log_events() if e.get("level") in ("error", "critical")]
            out["bot_errors"] = len(errors)
            if errors:
                out["first_bot_error"] = str(errors[0].get("event"))
            return out


async def run_scenarios(plan: Plan, names: Iterable[str], progress: Progress) -> dict[str, Any]:
    """Run the named scenarios (``SCENARIOS`` order), each in its own stack; returns
    ``{name: summary}``. A scenario that fails is ``{"error": "<exception>", "trace": [...]}`` and the next
    one still runs. Needs the pinned Codex (``tools.codex_harness.ensure_codex``); without it every
    scenario is an error. ``ValueError`` for an unknown name."""
    wanted = set(names)
    unknown = wanted - set(SCENARIOS)
    if unknown:
        raise ValueError(f"unknown scenarios: {sorted(unknown)}; choose from {SCENARIOS}")
    from tools.codex_harness import ensure_codex

    out: dict[str, Any] = {}
    try:
        codex_bin = str(ensure_codex())
    except RuntimeError as exc:
        return {name: {"error": str(exc)} for name in SCENARIOS if name in wanted}
    for name in SCENARIOS:
        if name not in wanted:
            continue
        started = trio.current_time()
        code = code_state()
        progress(f"scenario {name} (Codex config {plan.codex_config!r}, code {code['commit']} "
                 f"diff {code['diff_sha1']})")
        try:
            body: Callable[[Any], Awaitable[dict[str, Any]]]
            if name == "conversation":
                body = functools.partial(scenario_conversation, plan=plan, progress=progress)
            elif name == "busy_group":
                body = functools.partial(scenario_busy_group, plan=plan, progress=progress)
            else:
                base: Mapping[str, Any] | None = out.get("conversation", {}).get("private")
                body = functools.partial(scenario_topic_flood, plan=plan, progress=progress, baseline=base)
            out[name] = await _in_stack(codex_bin, plan, body)
        except Exception as exc:  # reported in the result; the next scenario still runs
            out[name] = {"error": f"{type(exc).__name__}: {exc}"[:2000],
                         "trace": traceback.format_exc().splitlines()[-12:]}
        out[name]["codex_config"] = plan.codex_config
        out[name]["code"] = code
        if code_state() != code:
            out[name]["code_changed_during_run"] = True
        out[name]["elapsed_s"] = round(trio.current_time() - started, 1)
    return out
