"""The tmux control plane: the screen loop (capture → parse → prompt state → effects), the window's
re-finding by its owner mark, hang reports, the typing action, and the end of the window.
"""

from __future__ import annotations

import contextlib
import html

import structlog
import trio

from ccbot.actors.sender import post
from ccbot.actors.window.core import PROOF_WINDOW, WindowCore
from ccbot.messages import Lane, NotPressed, Outbound, PaneFailed, Pressed, PressForScreen, PressResult, Priority
from ccbot.screen.parse import parse_screen
from ccbot.screen.prompt_state import BecameBusy, Exited, Kind, Observation, PromptShown, State, is_startup_prompt
from ccbot.state.model import Binding
from ccbot.tmux.adapter import Tmux, TmuxError, TmuxNoTarget, TmuxServerDown, WindowInfo, ensure_owned

log = structlog.get_logger("ccbot.window")

FAST_POLL = 0.15  # screen cadence while starting, busy or just after input
IDLE_SAFETY_POLL = 60.0  # with change notifications an idle pane is still captured this often
SERVER_RETRY = 2.0
SERVER_GRACE = 30.0  # how long a dead tmux server may take to come back with this window
TYPING_EVERY = 4.5


class ScreenPart(WindowCore):
    """The tmux control plane: the screen loop and its effects, pane actions, the window's identity and end."""

    # -- pane actions (the only keys pressed outside typed text) --------------------------------------
    async def press_keys(self, *keys: str) -> None:
        """Press named ``keys`` (tmux's allowlist applies) in this binding's pane, after checking its owner
        mark; never between the keys of a text being typed. Raises TmuxError (``UnknownKeyError`` for a
        key outside the allowlist)."""
        async with self.type_lock:
            await self._ensure_own_pane()
            await self.deps.tmux.send_keys(self.binding.pane_id, *keys)
        self._bump_activity()

    async def _press_for_screen(self, command: PressForScreen) -> None:
        """Execute ``command`` (see ``PressForScreen``) and set its reply; never raises a tmux error."""
        async with self.type_lock:
            result = await read_and_press(self.deps.tmux, self.binding, command)
        if isinstance(result, Pressed):
            self._bump_activity()
        command.reply.set(result)

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

    async def _adopt(self, window: WindowInfo) -> None:
        """Follow ``window``, found by this binding's owner mark when the bot started: tmux may have given it
        new ids since the state was saved."""
        b = self.binding
        if (window.window_id, window.pane_id) != (b.window_id, b.pane_id):
            log.info("window re-found by its owner mark", old=b.window_id, new=window.window_id)
            b.window_id, b.pane_id = window.window_id, window.pane_id
            await self.deps.keeper.save()

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
            await hook(self._port(), effect)

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


async def read_and_press(tmux: Tmux, binding: Binding, command: PressForScreen) -> PressResult:
    """``PressForScreen``'s work in ``binding``'s pane: refused for another window or past its deadline;
    otherwise the owner mark is checked, the pane read and parsed, and the keys ``command.choose`` picks
    pressed. tmux errors are returned, not raised."""
    if command.window_id != binding.window_id:
        return NotPressed("this window is no longer the one the request was for")
    if trio.current_time() > command.not_after:
        return NotPressed("the request came too late")  # its asker already gave up
    pane = binding.pane_id
    try:
        await ensure_owned(tmux, pane, binding.owner_mark)
        model = parse_screen(await tmux.capture(pane))
    except TmuxError as exc:
        return PaneFailed("read", str(exc))
    choice = command.choose(model)
    if isinstance(choice, str):
        return NotPressed(choice)
    try:
        await tmux.send_keys(pane, *choice)
    except TmuxError as exc:
        return PaneFailed("press", str(exc))
    return Pressed(choice)
