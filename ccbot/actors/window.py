"""One actor per bound tmux window: screen poller, prompt-state machine, rollout prover/tailer, inbox.

In: ``WindowCommand`` items from the router (text to type, keys, topic requests). Out: ``Outbound`` items
for its topic; updates to its ``Binding`` (rollout proof, committed offset), saved through the keeper.

Contracts:
- Nothing is typed unless the prompt-state machine says the pane accepts text; a refusal says why.
- Text that arrives while a *startup* screen is up (folder trust, hooks review, resume directory, a thread
  open in another app) is kept, in order and journaled, and typed once the screen is answered; the topic is
  told once per screen. If Codex leaves that screen for anything but input (it exits, or shows another
  prompt) the kept texts are reported not sent, quoted. The inbox never waits for a screen: the held loop
  does the typing.
- Output is read only from the rollout of the thread *proven* (``ccbot.codex.identity``) to be this pane's own,
  and only while this binding owns that thread (``ccbot.state.ownership``).
- The window is followed by its owner mark (a tmux user option), never by its name.
- A rollout offset is committed only after Telegram accepted every message produced by the lines before it
  (at-least-once; a kill re-sends at most the one in-flight message).
- When the window or Codex goes away the topic is told (with the resume command) and ``on_gone`` is called.
"""

from __future__ import annotations

import contextlib
import functools
import html
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
import trio

from ccbot.actors.rollout_watch import RolloutWatch
from ccbot.actors.sender import call, post
from ccbot.codex import identity, procfs, records
from ccbot.codex import rollout as rec
from ccbot.codex.sessions import is_user_rollout
from ccbot.codex.tail import offset_of_first_line_after, read_lines
from ccbot.messages import Lane, Outbound, PressKeys, Priority, TopicRequest, UserText, WindowCommand
from ccbot.render.markdown import html_to_plain
from ccbot.render.merge import join_rendered, merge_groups
from ccbot.render.messages import Rendered, render
from ccbot.render.split import split_html
from ccbot.screen.parse import ApprovalPrompt, Popup, ScreenModel, parse_screen
from ccbot.screen.prompt_state import (
    BecameBusy,
    Exited,
    Kind,
    Observation,
    PromptShown,
    PromptStateMachine,
    State,
    Verdict,
    is_startup_prompt,
    prompt_identity,
    prompt_title,
)
from ccbot.state import ownership
from ccbot.state.keeper import StateKeeper
from ccbot.state.model import Binding
from ccbot.telegram.errors import CantParseEntities, Forbidden, TelegramError, ThreadNotFound, TopicClosed
from ccbot.tmux.adapter import Tmux, TmuxError, TmuxNoTarget, TmuxServerDown, ensure_owned
from ccbot.tmux.control import ControlClient
from ccbot.tmux.keys import clean_user_text

log = structlog.get_logger("ccbot.window")

FAST_POLL = 0.15  # screen cadence while starting, busy or just after input
TAIL_FAST = 0.1  # rollout stat cadence while a turn runs
ANSWER_LINGER = 0.05  # Codex writes a turn's end ~10 ms after its last answer (recorded 0.169 rollouts)
LINGER_POLL = 0.01
TAIL_IDLE = 0.5
TAIL_IDLE_MAX = 5.0  # with change notifications an idle rollout is still stat'ed this often
IDLE_SAFETY_POLL = 60.0  # with change notifications an idle pane is still captured this often
READY_TIMEOUT = 30.0
HELD_QUOTE = 60  # characters of a kept text quoted when it is reported not sent
CONFIRM_TIMEOUT = 4.0
ENTER_RETRIES = 2
PASTE_SETTLE = 0.25  # Codex's paste-burst detector swallows an Enter that follows text too closely
# Long text typed key by key meets Codex's paste-burst detection (on by default): measured with 4,000
# characters, it became "[Pasted Content 2048 chars][Pasted Content 1024 chars]" and Enter never submitted.
# A bracketed paste is one paste event to Codex and submits.
PASTE_OVER = 200
TYPING_EVERY = 4.5
PROOF_WINDOW = 6.0
RECOVERY_WAIT = 3.0
SERVER_RETRY = 2.0
SERVER_GRACE = 30.0  # how long a dead tmux server may take to come back with this window
THREAD_CLOCK_SLACK = 2.0
UNPROVABLE_GRACE = 3.0  # an in-process Codex may take a moment after its first screen to take its thread lock


def thread_start_time(thread_id: str) -> float | None:
    """Unix time encoded in a UUIDv7 thread id (its first 48 bits are milliseconds), or None."""
    digits = thread_id.replace("-", "")
    if len(digits) != 32 or digits[12] != "7":
        return None
    try:
        return int(digits[:12], 16) / 1000.0
    except ValueError:
        return None


RequestHandler = Callable[["WindowActor", str], Awaitable[None]]
EffectHook = Callable[["WindowActor", object], Awaitable[None]]


@dataclass(slots=True)
class WindowHooks:
    """Feature plug-ins (see ccbot.features): shared by every window actor, registered at start-up.

    ``requests[name]`` handles ``TopicRequest(name, args)``; ``effects`` see every prompt-state effect
    (e.g. PromptShown → approval buttons).
    """

    requests: dict[str, RequestHandler] = field(default_factory=dict)
    effects: list[EffectHook] = field(default_factory=list)


@dataclass(slots=True)
class WindowDeps:
    tmux: Tmux
    outbox: trio.MemorySendChannel[Outbound]
    keeper: StateKeeper
    sessions_dir: Path
    poll_interval: float
    on_gone: Callable[[Binding, str], Awaitable[None]]
    hooks: WindowHooks = field(default_factory=WindowHooks)
    hang_after: float = 600.0
    changes: ControlClient | None = None  # pane-change notifications; None: poll every poll_interval
    rollouts: RolloutWatch | None = None  # rollout-change notifications; None: idle rollouts polled


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _size(path: str | None) -> int | None:
    if path is None:
        return None
    try:
        return os.stat(path).st_size
    except OSError:
        return None


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
        self.seen_user_texts: list[str] = []
        self.turn_active = False
        self.active_until = 0.0
        self.last_progress = trio.current_time()
        self.hang_reported = False
        self.proof_until = 0.0  # re-prove (follow /clear, a new thread) until this time
        self.pump_lock = trio.Lock()
        self.gone = False
        # Input kept behind a startup screen (or queued behind such input), oldest first; typed by _held_loop.
        self.held: list[UserText] = []
        self.releasing: UserText | None = None  # the held text _held_loop is typing right now
        self.held_told: tuple[object, ...] | None = None  # the startup screen the topic was told about
        self.type_lock = trio.Lock()  # one text's keys at a time (the held loop and features type too)
        self.refused: set[str] = set()  # proof refusals already told to the topic
        self.unprovable_since: float | None = None

    # -- helpers ------------------------------------------------------------------------------------
    @property
    def chat_id(self) -> int:
        return self.binding.chat_id

    def _thread_kwargs(self) -> dict[str, Any]:
        return {"message_thread_id": self.binding.topic_id} if self.binding.topic_id else {}

    def _poke(self) -> None:
        self.changed.set()
        self.changed = trio.Event()

    def _reprove_for(self, seconds: float) -> None:
        """Look for a new rollout for a while: after input, /clear or a turn start (a new thread may begin)."""
        self.proof_until = max(self.proof_until, trio.current_time() + seconds)

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
        structlog.contextvars.clear_contextvars()  # not the spawning update's context
        structlog.contextvars.bind_contextvars(
            window=self.binding.window_id, chat=self.binding.chat_id, topic=self.binding.topic_id,
            thread=self.binding.thread_id,
        )
        async with inbox, trio.open_nursery() as nursery:
            nursery.start_soon(self._screen_loop, nursery.cancel_scope)
            nursery.start_soon(self._rollout_loop)
            nursery.start_soon(self._typing_loop)
            nursery.start_soon(self._held_loop)
            task_status.started()
            journaled = [UserText(e["text"], int(e["message_id"]), str(e.get("origin", "text")))
                         for e in self.binding.pending_inputs]
            for item in journaled:
                await self._handle_safely(item)
            async for command in inbox:
                await self._handle_safely(command)

    async def _handle_safely(self, command: WindowCommand) -> None:
        try:
            await self._handle(command)
        except TmuxError as exc:
            log.warning("tmux command failed", error=str(exc))
            await self.say(f"⚠️ tmux error: <code>{html.escape(str(exc))}</code>")

    # -- inbox ----------------------------------------------------------------------------------------
    async def _handle(self, command: WindowCommand) -> None:
        match command:
            case UserText():
                entry = self._pending_entry(command)
                if entry is None or self._is_held(command):
                    return  # a restarted actor already handled (or holds) it from the journal
                if entry.get("typing") and await self._recover_interrupted_typing(command):
                    return
                await self._deliver_text(command)
            case PressKeys(keys=keys):
                await self._ensure_own_pane()
                await self.deps.tmux.send_keys(self.binding.pane_id, *keys)
                self._bump_activity()
            case TopicRequest(name=name, args=args):
                handler = self.deps.hooks.requests.get(name)
                if handler is None:
                    await self.say(f"Unknown request {html.escape(name)}")
                else:
                    await handler(self, args)

    def _pending_entry(self, item: UserText) -> dict[str, Any] | None:
        """``item``'s entry in the binding's input journal; None when a restarted actor already took it."""
        for entry in self.binding.pending_inputs:
            if entry.get("message_id") == item.message_id and entry.get("text") == item.text:
                return entry
        return None

    def _is_held(self, item: UserText) -> bool:
        """Whether ``item`` is already kept by this actor (held, or being typed by the held loop)."""
        return any(h.message_id == item.message_id and h.text == item.text
                   for h in [*self.held, *([self.releasing] if self.releasing else [])])

    async def _mark_pending(self, item: UserText, *, typing: bool) -> None:
        """Journal step (saved): ``typing=True`` right before keys go to the pane; ``False`` removes the
        entry once Enter was pressed (or the text was refused)."""
        entry = self._pending_entry(item)
        if entry is None:
            return
        if typing:
            entry["typing"] = True
            entry["rollout_size"] = _size(self.binding.rollout_path)
        else:
            self.binding.pending_inputs.remove(entry)
        await self.deps.keeper.save()

    async def _recover_interrupted_typing(self, item: UserText) -> bool:
        """A previous process was killed while typing ``item``. Returns True when it needs no retyping:
        it is still in the composer (Enter is pressed now) or Codex already recorded it."""
        await self.wait_state(lambda s: s is not State.STARTING, READY_TIMEOUT)
        want = _norm(clean_user_text(item.text))
        composer = _norm(self.model.composer_text or "") if self.model is not None else ""
        if composer and want.startswith(composer[:40]):
            log.info("finishing a submit interrupted by a restart")
            await self.deps.tmux.send_keys(self.binding.pane_id, "Enter")
            await self._mark_pending(item, typing=False)
            return True
        entry = self._pending_entry(item) or {}
        if await self._recorded_since(want, int(entry.get("rollout_size") or 0)):
            await self._mark_pending(item, typing=False)
            return True
        return False

    async def _recorded_since(self, want: str, offset: int) -> bool:
        """Whether the proven rollout has a user message ``want`` after byte ``offset``."""
        with trio.move_on_after(RECOVERY_WAIT):  # a fresh thread's rollout may still need its proof
            while self.binding.rollout_path is None:
                await self.changed.wait()
        if self.binding.rollout_path is None:
            return False
        read = await trio.to_thread.run_sync(read_lines, Path(self.binding.rollout_path), offset, None)
        return any(isinstance(r, records.UserMessage) and _norm(r.text) == want
                   for r in (rec.parse_line(raw) for raw, _ in read.lines))

    async def wait_state(self, accept: Callable[[State], bool], seconds: float) -> bool:
        """Wait until the prompt state satisfies ``accept``; False after ``seconds``."""
        with trio.move_on_after(seconds):
            while not accept(self.machine.state):
                await self.changed.wait()
            return True
        return False

    async def _deliver_text(self, item: UserText) -> None:
        """Type ``item`` now, keep it (a startup screen is up, or earlier text is kept), or refuse it.

        Never waits for a screen to be answered (only, bounded, for Codex to finish starting), so the
        inbox behind it (``/esc``, later texts) keeps flowing.
        """
        if self.held or self.releasing is not None:
            await self._hold(item)  # behind the kept texts: a later text must not overtake them
            return
        if self.machine.state is State.STARTING:
            await self.wait_state(lambda s: s is not State.STARTING, READY_TIMEOUT)
        verdict = self.machine.can_accept_text()
        if verdict.hold:
            await self._hold(item)
            return
        if not verdict.ok:
            await self._mark_pending(item, typing=False)
            await self.say(f"⛔ Not sent: {html.escape(verdict.reason)}. Nothing was typed.",
                           reply_to_message_id=item.message_id)
            return
        await self._type_checked(item, verdict)

    async def _type_checked(self, item: UserText, verdict: Verdict) -> None:
        """Type ``item``, which ``verdict`` (just taken, ok) allows; journal it, confirm it, report."""
        text = clean_user_text(item.text)
        if not text.strip():
            await self._mark_pending(item, typing=False)
            await self.say("Nothing to type: the message has only control characters or spaces.")
            return
        is_command = item.origin == "command"
        before = len(self.seen_user_texts)
        await self._mark_pending(item, typing=True)
        await self.type_text(text)
        await self._mark_pending(item, typing=False)
        self._bump_activity()
        if is_command:
            self._reprove_for(PROOF_WINDOW)
            return
        confirmed = await self._confirm(text, before)
        if not confirmed:
            await self.say("⚠️ Sent, but not confirmed: Codex did not record the message yet. "
                           "Check with /screenshot.",
                           reply_to_message_id=item.message_id)
        elif verdict.steers:
            await self.say("↪️ Codex was busy: your message steers the current turn.", disable_notification=True)

    async def deliver_text(self, item: UserText) -> None:
        """Type ``item`` exactly as a typed Telegram message would be (prompt-safe check, confirmation;
        kept behind a startup screen like one, and then journaled even if the router did not).

        For features that turn other messages (voice, files) into text inside this actor's own task.
        """
        await self._deliver_text(item)

    # -- input kept behind a startup screen ------------------------------------------------------------
    def _keeps_holding(self) -> bool:
        """Whether kept texts must still wait: Codex is starting or a startup screen is up."""
        return self.machine.state is State.STARTING or self.machine.startup_prompt is not None

    async def _hold(self, item: UserText) -> None:
        """Keep ``item`` for :meth:`_held_loop`: appended (before any await, so order is kept), marked
        ``held`` in the journal with the screen the topic is told about (``told``; saved, so a restart
        holds it again without telling twice), and the topic told about that screen."""
        self.held.append(item)
        self._poke()  # the held loop re-checks the screen (it may already have been answered)
        screen = self.machine.startup_prompt
        entry = self._pending_entry(item)
        if entry is None:  # a feature's text (voice, file): the router did not journal it
            entry = {"text": item.text, "message_id": item.message_id, "origin": item.origin}
            self.binding.pending_inputs.append(entry)
        told_before = entry.get("told")
        entry["held"] = True
        if screen is not None:
            entry["told"] = prompt_title(screen)
        await self.deps.keeper.save()
        if screen is not None:
            await self._tell_held(screen, item, quiet=told_before == prompt_title(screen))

    async def _tell_held(self, screen: ApprovalPrompt | Popup, item: UserText, *, quiet: bool = False) -> None:
        """Tell the topic, once per startup screen, that kept text waits for ``screen`` to be answered."""
        shown = prompt_identity(screen)
        if self.held_told == shown:
            return
        self.held_told = shown
        if quiet:
            return  # the previous process already said so for this screen
        title = html.escape(prompt_title(screen))
        await self.say(f"📥 Codex is showing “{title}”: your message is kept and will be typed once you "
                       "answer that screen.", reply_to_message_id=item.message_id, disable_notification=True)

    async def _report_held(self, reason: str) -> None:
        """Drop every kept text from the journal and tell the topic, quoting them, that they were not sent."""
        items, self.held = self.held, []  # taken before any await: reported once, whoever gets here first
        if not items:
            return
        for item in items:
            entry = self._pending_entry(item)
            if entry is not None:
                self.binding.pending_inputs.remove(entry)
        await self.deps.keeper.save()
        await self.say(not_sent_text(reason, items), reply_to_message_id=items[0].message_id)

    async def _held_loop(self) -> None:
        """Type kept texts, oldest first, once no startup screen blocks the pane; report them not sent when
        the pane refuses text instead (Codex exited, or left the screen for another prompt).

        Runs beside the inbox, so ``/esc`` and later commands are handled while text is kept.
        """
        try:
            while True:
                while not self.held or self._keeps_holding():
                    await self.changed.wait()
                while self.held and not self._keeps_holding():
                    verdict = self.machine.can_accept_text()
                    if not verdict.ok:
                        await self._report_held(verdict.reason)
                        break
                    self.releasing = self.held.pop(0)
                    try:
                        await self._type_checked(self.releasing, verdict)
                    except TmuxError as exc:  # as _handle_safely: the journal keeps it for a restart
                        log.warning("tmux command failed", error=str(exc))
                        await self.say(f"⚠️ tmux error: <code>{html.escape(str(exc))}</code>")
                    finally:
                        self.releasing = None
        finally:
            if self.gone and self.held:
                # The window went away without Codex exiting on screen; a shutdown (not gone) keeps them
                # journaled for the next start instead. Cancelled here: post, don't await.
                items, self.held = self.held, []
                post(self.deps.outbox, Outbound(self.chat_id, "send_message", {
                    "chat_id": self.chat_id, "text": not_sent_text("the window went away", items),
                    "reply_to_message_id": items[0].message_id, **self._thread_kwargs()}))

    async def type_text(self, text: str) -> None:
        """Type ``text`` literally (bracketed paste when it has newlines or tabs or is longer than
        ``PASTE_OVER``), then press Enter.

        ``text`` must already be cleaned with ``clean_user_text``. Two callers never interleave their keys.
        """
        pane = self.binding.pane_id
        async with self.type_lock:
            await self._ensure_own_pane()
            if "\n" in text or "\t" in text or len(text) > PASTE_OVER:
                await self.deps.tmux.paste_text(pane, text)
            else:
                await self.deps.tmux.send_text(pane, text)
            await trio.sleep(PASTE_SETTLE)
            await self.deps.tmux.send_keys(pane, "Enter")

    async def _ensure_own_pane(self) -> None:
        await ensure_owned(self.deps.tmux, self.binding.pane_id, self.binding.owner_mark)

    async def _confirm(self, text: str, before: int) -> bool:
        """Wait for the rollout to show ``text`` as a user message; re-press Enter if it sits in the composer."""
        want = _norm(text)
        self._reprove_for(CONFIRM_TIMEOUT * (ENTER_RETRIES + 1))
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
                seen = self.deps.changes.version(self.binding.pane_id) if self.deps.changes else 0
                pane = await self.deps.tmux.pane_state(self.binding.pane_id)
                if self.binding.owner_mark and pane.owner != self.binding.owner_mark:
                    raise TmuxNoTarget(f"pane {self.binding.pane_id} is not this binding's window any more")
                text = await self.deps.tmux.capture(self.binding.pane_id)
                failures = 0
            except TmuxError as exc:
                failures += 1
                if await self._refind_window():
                    await trio.sleep(0.5)
                    continue
                server_down = isinstance(exc, TmuxServerDown)
                if server_down and failures == 1:
                    log.warning("tmux server is not running", error=str(exc))
                    await self.say("⚠️ The tmux server is not running; waiting for this window to come back.")
                if not server_down or failures * SERVER_RETRY >= SERVER_GRACE:
                    await self._gone("server" if server_down else "window")
                    cancel_scope.cancel()
                    return
                await trio.sleep(SERVER_RETRY)
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
            await self._check_hang()
            fast = self.machine.state in (State.STARTING, State.BUSY) or trio.current_time() < self.active_until
            if fast:
                await trio.sleep(FAST_POLL)
            elif self.deps.changes is not None and self.deps.changes.connected:
                # idle: tmux tells us when this pane prints anything; the timeout is only a safety net
                with trio.move_on_after(IDLE_SAFETY_POLL):
                    await self.deps.changes.wait_changed(self.binding.pane_id, seen)
                await trio.sleep(FAST_POLL)  # coalesce a burst of output into one capture
            else:
                await trio.sleep(self.deps.poll_interval)

    async def _refind_window(self) -> bool:
        """The window id failed: find the window that carries this binding's owner mark (tmux restarted
        with its windows restored) and adopt its new ids. False when there is none or the server is down;
        a window is never re-found by its name, which another chat's window can share."""
        b = self.binding
        if not b.owner_mark:
            return False
        try:
            windows = await self.deps.tmux.list_windows()
        except TmuxError:
            return False
        for window in windows:
            if window.owner == b.owner_mark and not window.pane_dead:
                if (window.window_id, window.pane_id) != (b.window_id, b.pane_id):
                    log.info("window re-found by its owner mark", old=b.window_id, new=window.window_id)
                    b.window_id, b.pane_id = window.window_id, window.pane_id
                    await self.deps.keeper.save()
                    await self.say("🔁 tmux is back; this topic follows its window again.", disable_notification=True)
                return window.window_id == b.window_id
        return False

    async def _check_hang(self) -> None:
        """Tell the topic once when Codex has been busy for ``hang_after`` seconds without writing anything."""
        now = trio.current_time()
        if self.machine.state is not State.BUSY:
            self.last_progress, self.hang_reported = now, False
            return
        if not self.hang_reported and now - self.last_progress >= self.deps.hang_after:
            self.hang_reported = True
            minutes = max(1, round((now - self.last_progress) / 60))
            log.warning("codex looks stuck", busy_for=round(now - self.last_progress))
            await self.say(f"⚠️ Codex has been busy for {minutes} min without new output (stuck, or waiting "
                           "for the network?). /esc interrupts it; /screenshot shows the screen.")

    async def _on_effect(self, effect: object) -> None:
        if isinstance(effect, BecameBusy):
            self._bump_activity()
            self._reprove_for(PROOF_WINDOW)
        elif isinstance(effect, PromptShown) and self.held and is_startup_prompt(effect.prompt):
            await self._tell_held(effect.prompt, self.held[0])  # another startup screen followed
        elif isinstance(effect, Exited) and self.held:
            # Here, not in the held loop: the screen loop ends the actor right after this effect.
            await self._report_held("Codex exited")
        for hook in self.deps.hooks.effects:
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
                "window": "⏹ The tmux window was closed.",
                "server": "⏹ The tmux server stopped, and this window with it."}.get(why, "⏹ The session ended.")
        await self.say(text + resume)
        await self.deps.on_gone(self.binding, why)

    async def _typing_loop(self) -> None:
        while True:
            if self.turn_active or self.machine.state is State.BUSY:
                post(self.deps.outbox, Outbound(
                    self.chat_id, "send_chat_action",
                    {"chat_id": self.chat_id, "action": "typing", **self._thread_kwargs()},
                    priority=Priority.BEST_EFFORT, lane=Lane.PROGRESS, coalesce_key=f"typing:{self.binding.topic_id}",
                    expires_after=3.0))
                await trio.sleep(TYPING_EVERY)
            else:
                await self.changed.wait()

    # -- rollout --------------------------------------------------------------------------------------
    async def _rollout_loop(self) -> None:
        watch = self.deps.rollouts
        try:
            await self._follow_rollout()
        finally:
            if watch is not None:
                watch.unwatch(self)

    async def _follow_rollout(self) -> None:
        last_proof = -1e9
        watch = self.deps.rollouts
        while True:
            now = trio.current_time()
            wanted = now < self.proof_until or self.binding.rollout_path is None
            if self.pane_pid is not None and wanted and now - last_proof >= (0.3 if now < self.proof_until else 1.0):
                last_proof = now
                await self._prove()
            path = self.binding.rollout_path
            if path is not None:
                if watch is not None and watch.watching(self) != path:
                    watch.watch(self, path, self._poke)  # before reading: no write can fall in between
                await self._pump()
            active = self.turn_active or trio.current_time() < self.active_until
            # a screen change or (with the watcher) any write to the rollout pokes ``changed``; the timeouts
            # cover a poke that fell between the read and this wait
            notified = self.deps.changes is not None or (watch is not None and path is not None)
            with trio.move_on_after(TAIL_FAST if active else TAIL_IDLE_MAX if notified else TAIL_IDLE):
                await self.changed.wait()

    async def _prove(self) -> None:
        """Follow the thread this pane's own Codex writes (``identity.classify_pane``), if the ownership
        rule lets this binding have it. Unprovable or contested evidence changes nothing and is reported
        to the topic once."""
        pid = self.pane_pid
        assert pid is not None
        evidence = await trio.to_thread.run_sync(functools.partial(
            procfs.pane_evidence, pid, self.deps.sessions_dir.parent, accept=is_user_rollout))
        verdict = identity.classify_pane(evidence, settled=self.machine.state in (State.READY, State.BUSY))
        b = self.binding
        if isinstance(verdict, identity.Unprovable):
            now = trio.current_time()
            self.unprovable_since = self.unprovable_since or now
            if verdict.code in ("daemon", "ambiguous") and now - self.unprovable_since >= UNPROVABLE_GRACE:
                fix = f"; {identity.DAEMON_CLIENT_FIX}" if verdict.code == "daemon" else ""
                await self._refuse_once(verdict.code, f"⛔ ccbot cannot follow this window: {verdict.reason}. "
                                                      f"Nothing from it is posted here until that changes{fix}.")
            return
        self.unprovable_since = None
        path = verdict.rollout
        if path is None or str(path) == b.rollout_path:
            return
        thread_id = procfs.thread_id_from_path(path)
        if thread_id is None:
            return
        holder = ownership.thread_holder(self.deps.keeper.state.bindings, b.key, thread_id)
        if holder is not None:
            await self._refuse_once(f"thread:{thread_id}", "⛔ This window now runs a Codex thread that another "
                                    "topic is bound to; its output stays in that topic, not here.")
            return
        if b.rollout_path is not None:
            await self._pump()  # finish the old thread's output before switching (/clear)
        offset = 0
        started = thread_start_time(thread_id)
        if started is not None and started < b.bound_at - THREAD_CLOCK_SLACK:
            # a resumed or hand-started thread: what it wrote before the binding is history, not news
            with contextlib.suppress(OSError):
                offset = await trio.to_thread.run_sync(
                    offset_of_first_line_after, path, b.bound_at - THREAD_CLOCK_SLACK)
        if ownership.thread_holder(self.deps.keeper.state.bindings, b.key, thread_id) is not None:
            return  # another binding took it during the awaits above
        b.rollout_path = str(path)
        b.thread_id = thread_id
        b.rollout_offset = offset
        b.decoder = {}
        b.rollout_inode, b.delivered_ts, b.delivered_run = None, "", 0
        b.known_rollouts = [*b.known_rollouts, str(path)][-20:]
        self.decoder = rec.RolloutDecoder()
        self.refused.clear()
        structlog.contextvars.bind_contextvars(thread=b.thread_id)
        log.info("rollout proven", path=str(path), offset=offset)
        await self.deps.keeper.save()

    async def _refuse_once(self, what: str, text: str) -> None:
        """Tell the topic ``text`` the first time ``what`` blocks the proof (until a thread is proven)."""
        if what in self.refused:
            return
        self.refused.add(what)
        log.warning("rollout proof refused", why=what)
        await self.say(text)

    async def _pump(self) -> None:
        """Read new complete lines, render, deliver, and commit the offset after each accepted message."""
        async with self.pump_lock:
            await self._pump_locked()

    async def _pump_locked(self) -> None:
        b = self.binding
        if b.rollout_path is None:
            return
        path = Path(b.rollout_path)
        if not ownership.may_deliver(self.deps.keeper.state.bindings, b, procfs.thread_id_from_path(path)):
            return  # not this topic's thread (any more): nothing is read, so nothing is lost
        read = read_lines(path, b.rollout_offset, b.rollout_inode)
        if read.missing or (read.reset and not read.lines):
            return  # a replaced file with nothing in it yet: keep everything as it was until lines come
        delivered: tuple[str, int] | None = None  # the last line delivered from the file this one replaced
        prev = _Mark(b.rollout_offset, dict(b.decoder), b.delivered_ts, b.delivered_run)
        if read.reset:
            delivered = (b.delivered_ts, b.delivered_run) if b.delivered_ts else None
            log.warning("rollout truncated or replaced; reading it again from the start", path=str(path),
                        skipping_through=b.delivered_ts or None)
            b.rollout_offset, b.decoder = 0, {}
            self.decoder = rec.RolloutDecoder()
            prev = _Mark(0, {})
        b.rollout_inode = read.inode
        if not read.lines:
            return
        self.last_progress, self.hang_reported = trio.current_time(), False
        pieces: list[Piece] = []
        prev = self._decode(read.lines, pieces, prev, delivered)
        # Codex ends a turn ~10 ms after its last answer: look again for a moment, so the answer can carry the
        # turn's end line and the turn costs one message
        linger_until = trio.current_time() + ANSWER_LINGER
        while self.turn_active and pieces and _is_answer(pieces[-1]) and trio.current_time() < linger_until:
            await trio.sleep(LINGER_POLL)
            more = read_lines(path, prev.end, b.rollout_inode)
            if more.missing or more.reset:
                break
            prev = self._decode(more.lines, pieces, prev, None)
        merged = merge_pieces(pieces)
        index = 0
        while index < len(merged):
            piece = merged[index]
            after = merged[index + 1] if index + 1 < len(merged) else None
            if (after is not None and after.action == "status_end" and after.rendered is not None
                    and _is_answer(piece) and b.status_message_id is None):
                if await self._act(piece, end_line=after.rendered.html):
                    self._end_turn()
                    piece, index = after, index + 1  # the end line went out with the answer
            else:
                await self._act(piece)
            await self._commit(piece.mark)
            index += 1
        await self._commit(prev)

    def _decode(self, lines: list[tuple[bytes, int]], pieces: list[Piece], prev: _Mark,
                delivered: tuple[str, int] | None) -> _Mark:
        """Decode ``lines`` (raw line, offset after it) into ``pieces``; return the last line's mark. Lines at
        or before ``delivered`` (a rewritten rollout's already delivered part, see ``stamp_of``) only feed the
        decoder."""
        for raw, end in lines:
            stamp = stamp_of(_line_timestamp(raw), prev)
            produced: list[tuple[str, Rendered | None]] = []
            for record in self.decoder.feed(raw):
                self._observe(record)
                if delivered is not None and stamp[0] and stamp <= delivered:
                    continue
                if isinstance(record, records.TurnStarted):
                    produced.append(("status_start", None))
                for shown in render(record):
                    produced.append((_ACTION_BY_KIND.get(shown.kind, "send"), shown))
            mark = _Mark(end, self.decoder.snapshot(), *stamp)
            for index, (action, rendered) in enumerate(produced):
                # A crash after a piece that is not its line's last must resume at the line's start.
                pieces.append(Piece(action, rendered, mark if index == len(produced) - 1 else prev))
            prev = mark
        return prev

    def _observe(self, record: object) -> None:
        if isinstance(record, records.UserMessage):
            self.seen_user_texts.append(record.text)
            self._poke()
        elif isinstance(record, records.TurnStarted):
            self.turn_active = True
            self._poke()
        elif isinstance(record, records.TurnComplete | records.TurnAborted):
            self.turn_active = False
            self._poke()

    async def _commit(self, mark: _Mark) -> None:
        b = self.binding
        if mark.end <= b.rollout_offset:
            return
        b.rollout_offset, b.decoder = mark.end, mark.snapshot
        b.delivered_ts, b.delivered_run = mark.ts, mark.run
        await self.deps.keeper.save()

    async def _act(self, piece: Piece, *, end_line: str | None = None) -> bool:
        """Deliver ``piece``. An answer given ``end_line`` (the turn's ``✓ Done …`` line) carries it under its
        last part when it fits; returns whether it did."""
        b = self.binding
        log.debug("deliver", action=piece.action, kind=piece.rendered.kind if piece.rendered else None,
                  status_message=b.status_message_id, end=piece.mark.end)
        if piece.action == "status_start":
            # no message yet: a plain turn costs only its answer (Telegram's group budget is 20 messages a
            # minute); the status message appears with the first tool step
            b.status_steps = []
            b.turn_answer_id, b.turn_answer_html = None, ""
        elif piece.action == "status_step" and piece.rendered is not None:
            b.status_steps = [*b.status_steps, piece.rendered.html][-MAX_STATUS_STEPS:]
            if b.status_message_id is None:
                b.status_message_id = await self._send_html(self._status_text(STATUS_WORKING), silent=True)
            else:
                post(self.deps.outbox, Outbound(
                    self.chat_id, "edit_message_text",
                    {"chat_id": self.chat_id, "message_id": b.status_message_id,
                     "text": self._status_text(STATUS_WORKING)},
                    priority=Priority.BEST_EFFORT, lane=Lane.PROGRESS, coalesce_key=f"status:{b.status_message_id}"))
        elif piece.action == "status_end" and piece.rendered is not None:
            message_id = b.status_message_id
            if message_id is not None:
                final = self._status_text(piece.rendered.html)
                if not await self._edit_html(message_id, final):
                    await self._send_html(final, silent=True)
            elif not await self._footnote_answer(piece.rendered.html):
                await self._send_html(piece.rendered.html, silent=True)  # a turn without an answer to carry it
            # only now: a shutdown mid-edit must leave the binding able to redo this piece as an edit
            self._end_turn()
        elif piece.rendered is not None:
            chunks = split_html(piece.rendered.html)
            carried = end_line is not None and _fits(_with_end_line(chunks[-1], end_line))
            if carried:
                chunks[-1] = _with_end_line(chunks[-1], end_line or "")
            for chunk in chunks:
                sent = await self._send_html(chunk, silent=piece.rendered.kind not in ("assistant", "error"))
                if piece.rendered.kind == "assistant" and sent is not None:
                    b.turn_answer_id, b.turn_answer_html = sent, chunk
            return carried
        return False

    def _end_turn(self) -> None:
        b = self.binding
        b.status_message_id, b.status_steps = None, []
        b.turn_answer_id, b.turn_answer_html = None, ""

    async def _footnote_answer(self, line: str) -> bool:
        """Put a plain turn's end line (``✓ Done in 0.2 s · 8.7k tokens``) under the turn's last answer, by an
        edit in the progress lane, so the turn costs one message; False when there is no answer to carry it
        or the line would not fit."""
        b = self.binding
        if b.turn_answer_id is None:
            return False
        text = _with_end_line(b.turn_answer_html, line)
        if not _fits(text):
            return False
        await self.deps.outbox.send(Outbound(
            self.chat_id, "edit_message_text", {"chat_id": self.chat_id, "message_id": b.turn_answer_id,
                                                "text": text}, lane=Lane.PROGRESS))
        return True

    def _status_text(self, head: str) -> str:
        """The status message: its head line, then the turn's tool steps (oldest dropped past the limit)."""
        steps = list(self.binding.status_steps)
        dropped = 0
        while steps and len(html_to_plain("\n".join([head, *steps]))) > STATUS_LIMIT:
            steps.pop(0)
            dropped += 1
        lines = [head, *([f"<i>… {dropped} earlier steps</i>"] if dropped else []), *steps]
        return "\n".join(lines)

    async def _send_html(self, text: str, *, silent: bool) -> int | None:
        """Send one message (≤4096 visible chars); plain-text fallback on a parse error. Returns its id."""
        try:
            message = await self.say(text, wait=True, disable_notification=silent)
        except CantParseEntities:
            message = await self.say(html_to_plain(text), wait=True, parse_mode=None, disable_notification=silent)
        except (ThreadNotFound, TopicClosed, Forbidden) as exc:
            log.warning("topic unusable; unbinding", error=exc.description)
            await self.deps.on_gone(self.binding, "topic")
            raise _TopicGone() from exc
        except TelegramError as exc:
            log.error("message rejected; skipped", error=exc.description)
            return None
        return int(message.message_id) if message is not None else None

    async def _edit_html(self, message_id: int, text: str) -> bool:
        item = Outbound(self.chat_id, "edit_message_text",
                        {"chat_id": self.chat_id, "message_id": message_id, "text": text})
        try:
            await call(self.deps.outbox, item)
        except CantParseEntities:
            return await self._edit_html(message_id, html.escape(html_to_plain(text)))
        except TelegramError as exc:
            log.info("status edit failed", error=exc.description)
            return False
        return True


class _TopicGone(Exception):
    pass


def not_sent_text(reason: str, items: list[UserText]) -> str:
    """The topic message for texts that will never be typed: why, and each text quoted briefly."""
    quotes = ", ".join(
        f"“{html.escape(t if len(t) <= HELD_QUOTE else t[: HELD_QUOTE - 1] + '…')}”"
        for t in (_norm(item.text) for item in items))
    return f"⛔ Not sent: {html.escape(reason)}. Nothing was typed for {quotes}."


@dataclass(frozen=True, slots=True)
class _Mark:
    """Where a rollout's reading stands after a line: byte offset, decoder snapshot, and the line's stamp
    (``stamp_of``)."""

    end: int
    snapshot: dict[str, Any]
    ts: str = ""
    run: int = 0


@dataclass(frozen=True, slots=True)
class Piece:
    """One delivery action and the ``mark`` that is safe to commit once it was done.

    ``action``: "send" (a new message), "status_start" / "status_step" / "status_end" (the turn's single
    editable status message).
    """

    action: str
    rendered: Rendered | None
    mark: _Mark


_ACTION_BY_KIND = {"tool": "status_step", "turn_done": "status_end", "interrupted": "status_end"}
STATUS_WORKING = "⏳ <i>Working…</i>"
STATUS_LIMIT = 3500
TELEGRAM_TEXT_LIMIT = 4096
MAX_STATUS_STEPS = 60


_TIMESTAMP = re.compile(rb'^\{"timestamp":\s*"([^"]{1,40})"')


def _line_timestamp(raw: bytes) -> str:
    """A rollout line's own ``timestamp`` (Codex writes it first on every line), or "" when it has none."""
    found = _TIMESTAMP.match(raw)
    return found.group(1).decode("ascii", "replace") if found else ""


def stamp_of(ts: str, prev: _Mark) -> tuple[str, int]:
    """A line's place in its rollout that survives a rewrite: its timestamp, and how many lines in a row
    (this one included) carry that timestamp. A line without one keeps the previous line's stamp. Codex
    writes several lines in one millisecond (a turn's end and the next one's start), so the timestamp alone
    cannot say which of them were delivered."""
    if not ts:
        return prev.ts, prev.run
    return ts, prev.run + 1 if ts == prev.ts else 1


def _is_answer(piece: Piece) -> bool:
    return piece.action == "send" and piece.rendered is not None and piece.rendered.kind == "assistant"


def _with_end_line(answer_html: str, end_line: str) -> str:
    """An answer part with the turn's end line under it, as the topic shows it."""
    return f"{answer_html}\n\n<i>{end_line}</i>"


def _fits(html_text: str) -> bool:
    return len(html_to_plain(html_text)) <= TELEGRAM_TEXT_LIMIT


def merge_pieces(pieces: list[Piece]) -> list[Piece]:
    """Merge runs of adjacent "send" pieces (bounded, see ccbot.render.merge); a merged piece commits its
    last member's offset."""
    out: list[Piece] = []
    run: list[Piece] = []

    def flush() -> None:
        index = 0
        for group in merge_groups([p.rendered for p in run if p.rendered is not None]):
            index += len(group)
            last = run[index - 1]
            out.append(Piece("send", join_rendered(group), last.mark))
        run.clear()

    for piece in pieces:
        if piece.action == "send" and piece.rendered is not None:
            run.append(piece)
            continue
        flush()
        out.append(piece)
    flush()
    return out
