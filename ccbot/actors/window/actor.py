"""One actor per bound tmux window: screen poller, prompt-state machine, rollout prover/tailer, the pane's
app-server client and streamed frames (app-server plane), inbox.

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

import html
from typing import Any

import structlog
import trio

from ccbot.actors.window.frames import FramesPart
from ccbot.actors.window.inputs import InputPart
from ccbot.actors.window.plane import PlanePart
from ccbot.actors.window.rollout import RolloutPart
from ccbot.actors.window.screen import ScreenPart
from ccbot.messages import (
    AnswerApproval,
    FeatureRequest,
    Interrupt,
    PressForScreen,
    PressKeys,
    UserText,
    WindowCommand,
)
from ccbot.tmux.adapter import TmuxError

log = structlog.get_logger("ccbot.window")


class WindowActor(InputPart, ScreenPart, RolloutPart, PlanePart, FramesPart):
    """The window's parts in one nursery; ``run`` is the actor (see the module docstring)."""

    # -- run ----------------------------------------------------------------------------------------
    async def run(
        self, inbox: trio.MemoryReceiveChannel[WindowCommand], *, task_status: Any = trio.TASK_STATUS_IGNORED
    ) -> None:
        """The actor: adopt the re-found window (first start), start the screen, rollout, typing and held loops, then
        type the journaled inputs and handle ``inbox`` in order. ``task_status.started()`` once the loops run.

        Ends when the window or Codex is gone (the topic is told, ``on_gone`` called) or when cancelled by its
        owner; a TmuxError from one command is told to the topic, not raised.
        """
        structlog.contextvars.clear_contextvars()  # not the spawning update's context
        if self.adopt is not None:
            await self._adopt(self.adopt)
            self.adopt = None
        structlog.contextvars.bind_contextvars(
            window=self.binding.window_id, chat=self.binding.chat_id, topic=self.binding.topic_id,
            thread=self.binding.thread_id,
        )
        async with inbox, trio.open_nursery() as nursery:
            nursery.start_soon(self._screen_loop, nursery.cancel_scope)
            nursery.start_soon(self._rollout_loop)
            nursery.start_soon(self._typing_loop)
            nursery.start_soon(self._held_loop)
            nursery.start_soon(self._plane_loop)
            nursery.start_soon(self._frames_loop)
            task_status.started()
            journaled = [UserText(e.text, e.message_id, e.origin) for e in self.binding.pending_inputs]
            for item in journaled:
                await self._handle_safely(item)
            async for command in inbox:
                await self._handle_safely(command)

    # -- inbox ----------------------------------------------------------------------------------------
    async def _handle_safely(self, command: WindowCommand) -> None:
        try:
            await self._handle(command)
        except TmuxError as exc:
            log.warning("tmux command failed", error=str(exc))
            await self.say(f"⚠️ tmux error: <code>{html.escape(str(exc))}</code>")

    async def _handle(self, command: WindowCommand) -> None:
        match command:
            case UserText():
                await self._take_text(command)
            case PressKeys(keys=keys):
                await self.press_keys(*keys)
            case PressForScreen():
                await self._press_for_screen(command)
            case AnswerApproval():
                await self._answer_approval(command)
            case Interrupt():
                await self._interrupt(command)
            case FeatureRequest():
                handler = self.deps.hooks.handler_for(command)
                if handler is None:
                    await self.say(f"Unknown request {html.escape(type(command).__name__)}")
                else:
                    await handler(self, command)
