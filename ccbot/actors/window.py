"""One actor per bound tmux window: screen poller, prompt-state machine, rollout prover/tailer, inbox.

In: ``WindowCommand`` items from the router (text to type, keys, topic requests). Out: ``Outbound`` items
for its topic; updates to its ``Binding`` (rollout proof, committed offset), saved through the keeper.

Contracts:
- Nothing is typed unless the prompt-state machine says the pane accepts text; a refusal says why.
- Output is read only from the rollout file *proven* (via /proc) to be written by this pane's processes.
- A rollout offset is committed only after Telegram accepted every message produced by the lines before it
  (at-least-once; a kill re-sends at most the one in-flight message).
- When the window or Codex goes away the topic is told (with the resume command) and ``on_gone`` is called.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
import trio

from ccbot.actors.sender import call, post
from ccbot.codex import procfs
from ccbot.codex import rollout as rec
from ccbot.codex.tail import read_lines
from ccbot.messages import Outbound, PressKeys, Priority, TopicRequest, UserText, WindowCommand
from ccbot.render.markdown import html_to_plain
from ccbot.render.merge import merge_rendered
from ccbot.render.messages import Rendered, render
from ccbot.render.split import split_html
from ccbot.screen.parse import ScreenModel, parse_screen
from ccbot.screen.prompt_state import BecameBusy, Kind, Observation, PromptStateMachine, State
from ccbot.state.keeper import StateKeeper
from ccbot.state.model import Binding
from ccbot.telegram.errors import CantParseEntities, Forbidden, TelegramError, ThreadNotFound, TopicClosed
from ccbot.tmux.adapter import Tmux, TmuxError, TmuxServerDown

log = structlog.get_logger("ccbot.window")

FAST_POLL = 0.15  # screen cadence while starting, busy or just after input
TAIL_FAST = 0.1  # rollout stat cadence while a turn runs
TAIL_IDLE = 0.5
READY_TIMEOUT = 30.0
CONFIRM_TIMEOUT = 4.0
ENTER_RETRIES = 2
PASTE_SETTLE = 0.25  # Codex's paste-burst detector swallows an Enter that follows text too closely
TYPING_EVERY = 4.5


@dataclass(slots=True)
class WindowDeps:
    tmux: Tmux
    outbox: trio.MemorySendChannel[Outbound]
    keeper: StateKeeper
    sessions_dir: Path
    poll_interval: float
    on_gone: Callable[[Binding, str], Awaitable[None]]
    extra: dict[str, Any] = field(default_factory=dict)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


class WindowActor:
    def __init__(self, binding: Binding, deps: WindowDeps) -> None:
        self.binding = binding
        self.deps = deps
        self.machine = PromptStateMachine()
        self.model: ScreenModel | None = None
        self.pane_pid: int | None = None
        self.changed = trio.Event()
        self.decoder = rec.RolloutDecoder()
        if binding.decoder:
            self.decoder.restore(binding.decoder)
        self.inode: int | None = None
        self.seen_user_texts: list[str] = []
        self.turn_active = False
        self.active_until = 0.0
        self.want_proof = binding.rollout_path is None
        self.status_steps: list[str] = []
        self.gone = False

    # -- helpers ------------------------------------------------------------------------------------
    @property
    def chat_id(self) -> int:
        return self.binding.chat_id

    def _thread_kwargs(self) -> dict[str, Any]:
        return {"message_thread_id": self.binding.topic_id} if self.binding.topic_id else {}

    def _poke(self) -> None:
        self.changed.set()
        self.changed = trio.Event()

    def _bump_activity(self, seconds: float = 15.0) -> None:
        self.active_until = max(self.active_until, trio.current_time() + seconds)

    async def say(self, html_text: str, *, wait: bool = False, **extra: Any) -> Any:
        """Post a durable message in this topic; with ``wait`` return the Message (or raise)."""
        item = Outbound(self.chat_id, "send_message",
                        {"chat_id": self.chat_id, "text": html_text, **self._thread_kwargs(), **extra})
        if wait:
            return await call(self.deps.outbox, item)
        await self.deps.outbox.send(item)
        return None

    # -- run ----------------------------------------------------------------------------------------
    async def run(
        self, inbox: trio.MemoryReceiveChannel[WindowCommand], *, task_status: Any = trio.TASK_STATUS_IGNORED
    ) -> None:
        structlog.contextvars.bind_contextvars(
            window=self.binding.window_id, chat=self.binding.chat_id, topic=self.binding.topic_id,
            thread=self.binding.thread_id,
        )
        async with inbox, trio.open_nursery() as nursery:
            nursery.start_soon(self._screen_loop, nursery.cancel_scope)
            nursery.start_soon(self._rollout_loop)
            nursery.start_soon(self._typing_loop)
            task_status.started()
            async for command in inbox:
                try:
                    await self._handle(command)
                except TmuxError as exc:
                    log.warning("tmux command failed", error=str(exc))
                    await self.say(f"⚠️ tmux error: <code>{html.escape(str(exc))}</code>")

    # -- inbox ----------------------------------------------------------------------------------------
    async def _handle(self, command: WindowCommand) -> None:
        match command:
            case UserText():
                await self._deliver_text(command)
            case PressKeys(keys=keys):
                await self.deps.tmux.send_keys(self.binding.pane_id, *keys)
                self._bump_activity()
            case TopicRequest(name=name, args=args):
                handler = self.deps.extra.get(f"request:{name}")
                if handler is None:
                    await self.say(f"Unknown request {html.escape(name)}")
                else:
                    await handler(self, args)

    async def wait_state(self, accept: Callable[[State], bool], timeout: float) -> bool:
        with trio.move_on_after(timeout):
            while not accept(self.machine.state):
                await self.changed.wait()
            return True
        return False

    async def _deliver_text(self, item: UserText) -> None:
        if self.machine.state is State.STARTING:
            await self.wait_state(lambda s: s is not State.STARTING, READY_TIMEOUT)
        verdict = self.machine.can_accept_text()
        if not verdict.ok:
            await self.say(f"⛔ Not sent: {html.escape(verdict.reason)}. Nothing was typed.",
                           reply_to_message_id=item.message_id)
            return
        is_command = item.origin == "command"
        before = len(self.seen_user_texts)
        await self.type_text(item.text)
        self._bump_activity()
        if is_command:
            if _norm(item.text).split(" ")[0] in ("/clear", "/new"):
                self.want_proof = True
            return
        confirmed = await self._confirm(item.text, before)
        if not confirmed:
            await self.say("⚠️ Sent, but not confirmed: Codex did not record the message yet. "
                           "Check with /screenshot.",
                           reply_to_message_id=item.message_id)
        elif verdict.steers:
            await self.say("↪️ Codex was busy: your message steers the current turn.", disable_notification=True)

    async def type_text(self, text: str) -> None:
        """Type ``text`` literally (bracketed paste when multi-line), then press Enter."""
        pane = self.binding.pane_id
        if "\n" in text:
            await self.deps.tmux.paste_text(pane, text)
        else:
            await self.deps.tmux.send_text(pane, text)
        await trio.sleep(PASTE_SETTLE)
        await self.deps.tmux.send_keys(pane, "Enter")

    async def _confirm(self, text: str, before: int) -> bool:
        """Wait for the rollout to show ``text`` as a user message; re-press Enter if it sits in the composer."""
        want = _norm(text)
        self.want_proof = self.want_proof or self.binding.rollout_path is None
        for attempt in range(ENTER_RETRIES + 1):
            with trio.move_on_after(CONFIRM_TIMEOUT):
                while not any(_norm(t) == want for t in self.seen_user_texts[before:]):
                    await self.changed.wait()
                return True
            composer = self.model.composer_text if self.model is not None else None
            if attempt < ENTER_RETRIES and composer and _norm(composer) and want.startswith(_norm(composer)[:20]):
                log.info("text still in composer; pressing Enter again", attempt=attempt + 1)
                await self.deps.tmux.send_keys(self.binding.pane_id, "Enter")
            elif attempt >= 1:
                break
        return False

    # -- screen ---------------------------------------------------------------------------------------
    async def _screen_loop(self, cancel_scope: trio.CancelScope) -> None:
        failures = 0
        while True:
            try:
                pane = await self.deps.tmux.pane_state(self.binding.pane_id)
                text = await self.deps.tmux.capture(self.binding.pane_id)
                failures = 0
            except TmuxServerDown:
                failures += 1
                if failures == 3:
                    await self.say("⚠️ The tmux server is not running; waiting for it to come back.")
                await trio.sleep(2.0)
                continue
            except TmuxError as exc:
                if not await self.deps.tmux.window_exists(self.binding.window_id):
                    await self._gone("window")
                    cancel_scope.cancel()
                    return
                log.warning("capture failed", error=str(exc))
                await trio.sleep(1.0)
                continue
            self.pane_pid = pane.pid
            model = parse_screen(text)
            self.model = model
            if pane.dead:
                observation = Observation(Kind.EXITED, resume_id=model.exited.resume_id if model.exited else None)
                effects = self.machine.observe(observation)
            else:
                effects = self.machine.step(model)
            for effect in effects:
                await self._on_effect(effect)
            self._poke()
            if self.machine.state is State.EXITED:
                await self._gone("exited")
                cancel_scope.cancel()
                return
            fast = self.machine.state in (State.STARTING, State.BUSY) or trio.current_time() < self.active_until
            await trio.sleep(FAST_POLL if fast else self.deps.poll_interval)

    async def _on_effect(self, effect: object) -> None:
        if isinstance(effect, BecameBusy):
            self._bump_activity()
        hook = self.deps.extra.get("effect")
        if hook is not None:
            await hook(self, effect)

    async def _gone(self, why: str) -> None:
        if self.gone:
            return
        self.gone = True
        with contextlib.suppress(Exception):
            await self._pump()  # deliver what Codex wrote before it went away
        thread = self.binding.thread_id
        resume = (f"\nResume it with <code>codex resume {html.escape(thread)}</code> "
                  "(or send a message here to pick it again).") if thread else ""
        text = {"exited": "⏹ Codex exited in this window.",
                "window": "⏹ The tmux window was closed."}.get(why, "⏹ The session ended.")
        await self.say(text + resume)
        await self.deps.on_gone(self.binding, why)

    async def _typing_loop(self) -> None:
        while True:
            if self.turn_active or self.machine.state is State.BUSY:
                post(self.deps.outbox, Outbound(
                    self.chat_id, "send_chat_action",
                    {"chat_id": self.chat_id, "action": "typing", **self._thread_kwargs()},
                    priority=Priority.BEST_EFFORT, coalesce_key=f"typing:{self.binding.topic_id}",
                    expires_after=3.0))
                await trio.sleep(TYPING_EVERY)
            else:
                await self.changed.wait()

    # -- rollout --------------------------------------------------------------------------------------
    async def _rollout_loop(self) -> None:
        last_proof = -1e9
        while True:
            now = trio.current_time()
            if self.pane_pid is not None and (self.want_proof or self.binding.rollout_path is None):
                if now - last_proof >= (0.3 if trio.current_time() < self.active_until else 1.0):
                    last_proof = now
                    await self._prove()
            if self.binding.rollout_path is not None:
                await self._pump()
            active = self.turn_active or trio.current_time() < self.active_until
            await trio.sleep(TAIL_FAST if active else TAIL_IDLE)

    async def _prove(self) -> None:
        pid = self.pane_pid
        assert pid is not None
        path = await trio.to_thread.run_sync(procfs.current_rollout, pid, self.deps.sessions_dir)
        if path is None or str(path) == self.binding.rollout_path:
            if path is not None:
                self.want_proof = False
            return
        b = self.binding
        if b.rollout_path is not None:
            await self._pump()  # finish the old thread's output before switching (/clear)
        first = b.rollout_path is None
        offset = 0
        if first and b.start_mode == "attach":
            with contextlib.suppress(OSError):
                offset = os.stat(path).st_size
        b.rollout_path = str(path)
        b.thread_id = procfs.thread_id_from_path(path)
        b.rollout_offset = offset
        b.decoder = {}
        b.known_rollouts = [*b.known_rollouts, str(path)][-20:]
        self.decoder = rec.RolloutDecoder()
        self.inode = None
        self.want_proof = False
        structlog.contextvars.bind_contextvars(thread=b.thread_id)
        log.info("rollout proven", path=str(path), offset=offset)
        await self.deps.keeper.save()

    async def _pump(self) -> None:
        """Read new complete lines, render, deliver, and commit the offset after each accepted message."""
        b = self.binding
        if b.rollout_path is None:
            return
        path = Path(b.rollout_path)
        read = read_lines(path, b.rollout_offset, self.inode)
        if read.missing:
            return
        if read.reset:
            log.warning("rollout truncated or replaced; reading from the start", path=str(path))
            b.rollout_offset = 0
            self.decoder = rec.RolloutDecoder()
        self.inode = read.inode
        if not read.lines:
            return
        pieces: list[Piece] = []
        prev_end, prev_snapshot = b.rollout_offset, dict(b.decoder)
        for raw, end in read.lines:
            produced: list[Rendered] = []
            for record in self.decoder.feed(raw):
                self._observe(record)
                produced.extend(render(record))
            snapshot = self.decoder.snapshot()
            for index, rendered in enumerate(produced):
                last = index == len(produced) - 1
                # A crash after a piece that is not its line's last must resume at the line's start.
                pieces.append(Piece(rendered, end if last else prev_end, snapshot if last else prev_snapshot))
            prev_end, prev_snapshot = end, snapshot
        for piece in merge_pieces(pieces):
            await self._send_rendered(piece.rendered)
            await self._commit(piece.end, piece.snapshot)
        await self._commit(prev_end, prev_snapshot)

    def _observe(self, record: object) -> None:
        if isinstance(record, rec.UserMessage):
            self.seen_user_texts.append(record.text)
            self._poke()
        elif isinstance(record, rec.TurnStarted):
            self.turn_active = True
            self.status_steps = []
            self._poke()
        elif isinstance(record, rec.TurnComplete | rec.TurnAborted):
            self.turn_active = False
            self._poke()

    async def _commit(self, end: int, snapshot: dict[str, Any]) -> None:
        b = self.binding
        if end <= b.rollout_offset:
            return
        b.rollout_offset = end
        b.decoder = snapshot
        await self.deps.keeper.save()

    async def _send_rendered(self, rendered: Rendered) -> None:
        for chunk in split_html(rendered.html):
            try:
                await self.say(chunk, wait=True, disable_notification=rendered.kind not in ("assistant", "error"))
            except CantParseEntities:
                await self.say(html_to_plain(chunk), wait=True, parse_mode=None)
            except (ThreadNotFound, TopicClosed, Forbidden) as exc:
                log.warning("topic unusable; unbinding", error=exc.description)
                await self.deps.on_gone(self.binding, "topic")
                raise _TopicGone() from exc
            except TelegramError as exc:
                log.error("message rejected; skipped", error=exc.description)


class _TopicGone(Exception):
    pass



@dataclass(frozen=True, slots=True)
class Piece:
    """A rendered message and the (offset, decoder snapshot) that is safe to commit once it was accepted."""

    rendered: Rendered
    end: int
    snapshot: dict[str, Any]


def merge_pieces(pieces: list[Piece]) -> list[Piece]:
    """Merge consecutive small pieces (bounded, see ccbot.render.merge); a merged piece commits its last end."""
    out: list[Piece] = []
    index = 0
    for merged in merge_rendered([p.rendered for p in pieces]):
        count = 1
        if merged is not pieces[index].rendered:
            # merge_rendered keeps order and joins a run's html with "\n": find the run's length.
            while "\n".join(p.rendered.html for p in pieces[index : index + count]) != merged.html:
                count += 1
        last = pieces[index + count - 1]
        out.append(Piece(merged, last.end, last.snapshot))
        index += count
    return out
