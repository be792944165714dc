"""Input to the pane: the inbox's commands, the input journal, text kept behind a startup screen, typing.

Contracts: nothing is typed unless the prompt-state machine says the pane accepts text (a refusal says why);
text kept behind a startup screen is journaled, in order, and typed once the screen is answered, or reported
not sent; every key goes to the pane only after its owner mark was checked.
"""

from __future__ import annotations

import html
from pathlib import Path

import structlog
import trio

from ccbot.actors.sender import post
from ccbot.actors.window.core import PROOF_WINDOW, WindowCore, file_size, norm, not_sent_text
from ccbot.codex import records
from ccbot.codex import rollout as rec
from ccbot.codex.tail import read_lines
from ccbot.features.ports import Queued
from ccbot.messages import Outbound, UserText, WindowCommand
from ccbot.screen.parse import ApprovalPrompt, Popup, parse_screen
from ccbot.screen.prompt_state import Kind, State, Verdict, classify, prompt_identity, prompt_title
from ccbot.state.model import Binding, PendingInput
from ccbot.tmux.adapter import TmuxError
from ccbot.tmux.keys import clean_user_text

log = structlog.get_logger("ccbot.window")

READY_TIMEOUT = 30.0
CONFIRM_TIMEOUT = 4.0
ENTER_RETRIES = 2
PASTE_SETTLE = 0.25  # Codex's paste-burst detector swallows an Enter that follows text too closely
RECOVERY_WAIT = 3.0
# Long text typed key by key meets Codex's paste-burst detection (on by default): measured with 4,000
# characters, it became "[Pasted Content 2048 chars][Pasted Content 1024 chars]" and Enter never submitted.
# A bracketed paste is one paste event to Codex and submits.
PASTE_OVER = 200
PLANE_WAITING = "Codex is waiting for your answer to its request above"


class InputPart(WindowCore):
    """Text into the pane: the input journal, text kept behind a startup screen, typing and its confirmation."""

    async def _take_text(self, command: UserText) -> None:
        """Handle a text from the inbox (or the journal at start): type it, keep it, or refuse it."""
        entry = self._pending_entry(command)
        if entry is None or self._is_held(command):
            return  # a restarted actor already handled (or holds) it from the journal
        if entry.typing and await self._recover_interrupted_typing(command):
            return
        await self._deliver_text(command)

    def _pending_entry(self, item: UserText) -> PendingInput | None:
        """``item``'s entry in the binding's input journal; None when a restarted actor already took it."""
        return next((e for e in self.binding.pending_inputs if e.matches(item.text, item.message_id)), None)

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
            entry.typing = True
            entry.rollout_size = file_size(self.binding.rollout_path)
        else:
            self.binding.pending_inputs.remove(entry)
        await self.deps.keeper.save()

    async def _recover_interrupted_typing(self, item: UserText) -> bool:
        """A previous process was killed while typing ``item``. Returns True when it needs no retyping:
        it is still in the composer (Enter is pressed now) or Codex already recorded it."""
        await self.wait_state(lambda s: s is not State.STARTING, READY_TIMEOUT)
        want = norm(clean_user_text(item.text))
        composer = norm(self.model.composer_text or "") if self.model is not None else ""
        if composer and want.startswith(composer[:40]):
            log.info("finishing a submit interrupted by a restart")
            await self.deps.tmux.send_keys(self.binding.pane_id, "Enter")
            await self._mark_pending(item, typing=False)
            return True
        entry = self._pending_entry(item)
        if await self._recorded_since(want, (entry.rollout_size if entry is not None else None) or 0):
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
        return any(isinstance(r, records.UserMessage) and norm(r.text) == want
                   for r in (rec.parse_line(raw) for raw, _ in read.lines))

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
        blocker = await self._last_look()
        if blocker is not None:
            await self._mark_pending(item, typing=False)
            await self.say(f"⛔ Not sent: {html.escape(blocker)}. Nothing was typed.",
                           reply_to_message_id=item.message_id)
            return
        is_command = item.origin == "command"
        before = len(self.seen_user_texts)
        await self._mark_pending(item, typing=True)
        self.echo_wanted = (norm(text), trio.current_time())  # the echo that proves a shared daemon's thread
        await self.type_text(text)
        await self._mark_pending(item, typing=False)
        self._bump_activity()
        if is_command:
            self._reprove_for(PROOF_WINDOW)
            return
        confirmed = await self._confirm(text, before)
        self.echo_wanted = None
        if not confirmed:
            await self.say("⚠️ Sent, but not confirmed: Codex did not record the message yet. "
                           "Check with /screenshot.",
                           reply_to_message_id=item.message_id)
        elif verdict.steers:
            await self.say("↪️ Codex was busy: your message steers the current turn.", disable_notification=True)

    async def _last_look(self) -> str | None:
        """Why text must not be typed right now although the last screen allowed it, or None.

        A prompt can appear between two captures (the screen is polled): typed then, the text would answer
        it (an approval's hotkeys, a question's choice). So, right before typing: a request Codex's app-server
        is waiting on (sent before the TUI draws it) refuses, and so does a prompt on a fresh capture."""
        if self.plane_pending:
            return PLANE_WAITING
        try:
            text = await self.deps.tmux.capture(self.binding.pane_id)
        except TmuxError:
            return None  # the screen loop reports a pane that cannot be read; typing checks the owner again
        observation = classify(parse_screen(text))
        if observation.kind is Kind.BLOCKED and observation.prompt is not None:
            return prompt_title(observation.prompt)
        return None

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
            entry = PendingInput(item.text, item.message_id, item.origin)
            self.binding.pending_inputs.append(entry)
        told_before = entry.told
        entry.held = True
        if screen is not None:
            entry.told = prompt_title(screen)
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


    async def _confirm(self, text: str, before: int) -> bool:
        """Wait for the rollout to show ``text`` as a user message; re-press Enter if it sits in the composer."""
        want = norm(text)
        self._reprove_for(CONFIRM_TIMEOUT * (ENTER_RETRIES + 1))
        for attempt in range(ENTER_RETRIES + 1):
            with trio.move_on_after(CONFIRM_TIMEOUT):
                while not any(norm(t) == want for t in self.seen_user_texts[before:]):
                    await self.changed.wait()
                return True
            composer = self.model.composer_text if self.model is not None else None
            if attempt < ENTER_RETRIES and composer and norm(composer) and want.startswith(norm(composer)[:20]):
                log.info("text still in composer; pressing Enter again", attempt=attempt + 1)
                await self.deps.tmux.send_keys(self.binding.pane_id, "Enter")
            elif attempt >= 1:
                break
        return False


def hand_text(binding: Binding, inbox: trio.MemorySendChannel[WindowCommand], item: UserText) -> Queued:
    """Journal ``item`` in ``binding`` and queue it for the window actor, without waiting: the only way text
    enters a window from outside (the caller saves the state before the update is confirmed, so a kill before
    it was typed loses nothing: the next actor types what is still journaled). Text the inbox refuses
    (``Queued.BUSY``: full; ``Queued.GONE``: closed) is taken back out of the journal."""
    entry = PendingInput(item.text, item.message_id, item.origin)
    binding.pending_inputs.append(entry)
    try:
        inbox.send_nowait(item)
    except trio.WouldBlock:
        binding.pending_inputs.remove(entry)
        return Queued.BUSY
    except (trio.ClosedResourceError, trio.BrokenResourceError):
        binding.pending_inputs.remove(entry)
        return Queued.GONE
    return Queued.OK
