"""The sessions layer: topic ↔ tmux window bindings, the binding dialogue, and the window actors.

``Topics`` implements the router's ``TopicHandler``. It owns the windows nursery (one supervised
``WindowActor`` per binding, each in its own cancel scope) and each window's inbox channel.

Contracts:
- A message in an unbound topic is kept (never lost) and opens the directory browser; once a folder (and
  thread) is chosen a window is created and the kept messages are delivered to it in order.
- A callback acts only if its UI session belongs to the topic the button lives in; anything else
  (forged, stale, another topic's) is answered with a refusal and changes nothing.
- Closing a topic kills its window; a deleted topic (seen on send) does the same; /unbind keeps it.
"""

from __future__ import annotations

import html

import structlog
import trio

from ccbot.actors.topics.core import CODEX_COMMANDS, DIALOGUES, RunningWindow
from ccbot.actors.topics.dialogue import BindingDialogue
from ccbot.actors.window import hand_text, not_sent_text
from ccbot.features.ports import Queued
from ccbot.messages import Interrupt, UserText, WindowCommand
from ccbot.state.model import TopicKey
from ccbot.telegram.types import CallbackQuery, Message
from ccbot.ui import callbacks

log = structlog.get_logger("ccbot.topics")


class Topics(BindingDialogue):
    """The router's ``TopicHandler``: messages, commands and buttons of every topic (see the module)."""

    # -- messages -------------------------------------------------------------------------------------
    async def on_message(self, key: TopicKey, message: Message) -> None:
        """Bound topic: convert ``message`` (features first, else its text) and queue it to the window.
        Unbound topic: keep it (its text saved in the state) and open the folder browser, unless a dialogue is open
        or the intake caps refuse (then the topic is told once). Replies go through the outbox.
        """
        running = self.running.get(key)
        if running is not None:
            command = await self._convert(key, message)
            if command is not None:
                await self._to_window(key, running, command)
            return
        refusal = self.caps.keep_refusal(sum(len(v) for k, v in self.pending.items() if k[0] == key[0]))
        if refusal is not None:
            if self.caps.first_time(key, refusal):
                await self.say(key, refusal, reply_to_message_id=message.message_id)
            return
        waiting = self.pending.setdefault(key, [])
        waiting.append(message)
        if message.text:
            self.keeper.state.kept.setdefault(key, []).append({"text": message.text, "message_id": message.message_id})
            await self.keeper.save()
        if self._dialogue_open(key):
            await self.say(key, f"📥 Kept ({len(waiting)} waiting). Choose a folder above first.")
            return
        user = message.from_user.id if message.from_user is not None else 0
        now = trio.current_time()
        open_in_chat = sum(1 for s in self.ui.values() if s.key[0] == key[0] and s.kind in DIALOGUES)
        refusal = self.caps.open_refusal(user, open_in_chat, now)
        if refusal is not None:
            if self.caps.first_time(key, refusal):
                await self.say(key, refusal)
            return
        self.caps.opening(user, now)
        await self._open_browser(key)


    async def _convert(self, key: TopicKey, message: Message) -> WindowCommand | None:
        for converter in self.converters:
            command = await converter(self, key, message)
            if command is not None:
                return command
        if message.text:
            return UserText(message.text, message.message_id)
        await self.say(key, "This kind of message can't be sent to Codex.")
        return None

    async def _to_window(self, key: TopicKey, running: RunningWindow, command: WindowCommand) -> None:
        """Queue ``command`` for the window. Text is also journaled in the binding (``hand_text``; saved here,
        before the router confirms the update). Text for a window that just went away is kept for the next
        binding."""
        if isinstance(command, UserText):
            queued = hand_text(running.binding, running.inbox, command)
        else:
            queued = self.command_window(key, running.binding.window_id, command)
        if queued is Queued.BUSY:
            await self.say(key, "⏳ Codex's window is still busy with earlier messages; nothing was typed. "
                                "Try again in a moment.")
        elif queued is Queued.GONE:
            if isinstance(command, UserText):
                await self._keep_for_next_binding(key, command)
                return
            await self.say(key, "This topic's window just went away; nothing was sent.")
        await self.keeper.save()

    async def _keep_for_next_binding(self, key: TopicKey, item: UserText) -> None:
        self.pending.setdefault(key, []).append(item)
        self.keeper.state.kept.setdefault(key, []).append({"text": item.text, "message_id": item.message_id})
        await self.keeper.save()
        if not self._dialogue_open(key):
            await self._open_browser(key, note="⏹ This topic's window went away; your message is kept.")

    async def on_command(self, key: TopicKey, message: Message, command: str, args: str) -> None:
        """``/new`` opens the browser; ``/unbind`` drops the binding but keeps the tmux window (unsent text is
        reported); ``/esc`` presses Escape; a feature's command becomes its request; any other command is typed
        into Codex as text (``/usage`` only gets a hint). In an unbound topic the window's commands (/unbind, /esc,
        /screenshot, /history, Codex's own) are refused and any other is kept like a message.
        """
        running = self.running.get(key)
        if command == "usage":
            await self.say(key, "Codex has no /usage; use /status for token usage and limits.")
            return
        if command == "new":
            if running is not None:
                await self.say(key, "This topic is already bound; /unbind it first.")
            elif not self._dialogue_open(key):
                await self._open_browser(key)
            return
        if running is None:
            if command in ("unbind", "esc", "screenshot", "history") or command in CODEX_COMMANDS:
                await self.say(key, "No Codex window is bound to this topic yet — send a message to start one.")
                return
            await self.on_message(key, message)
            return
        if command == "unbind":
            binding = running.binding
            # what the window had not started typing never will be (an entry being typed may be in the pane)
            unsent = [UserText(e.text, e.message_id) for e in binding.pending_inputs if not e.typing]
            await self._remove_binding(binding, kill=False)
            await self.say(key, f"🔓 Unbound. The tmux window <code>{html.escape(binding.window_name)}"
                                "</code> keeps running; send a message to bind this topic again.")
            if unsent:
                await self.say(key, not_sent_text("the topic was unbound before Codex could take it", unsent))
            return
        if command == "esc":
            await self._to_window(key, running, Interrupt())
            return
        make_request = self.hooks.commands.get(command)
        if make_request is not None:
            await self._to_window(key, running, make_request(args))
            return
        text = f"/{command} {args}".strip()
        await self._to_window(key, running, UserText(text, message.message_id, origin="command"))

    async def on_topic_closed(self, key: TopicKey) -> None:
        """Drop the topic's kept messages, close its UI sessions and remove its binding, killing the tmux window."""
        self._take_kept(key)
        await self.keeper.save()
        for session in [s for s in self.ui.values() if s.key == key]:
            self.close_ui(session)
        running = self.running.get(key)
        binding = running.binding if running else self.keeper.state.bindings.get(key)
        if binding is not None:
            log.info("topic closed; killing its window", window=binding.window_id)
            await self._remove_binding(binding, kill=True)

    # -- callbacks ------------------------------------------------------------------------------------
    async def on_callback(self, key: TopicKey | None, query: CallbackQuery) -> None:
        """Decode a button and hand it to its UI session's handler, only if the session belongs to ``key``'s topic and
        message. Invalid, expired, foreign or stale buttons are answered with a refusal and change nothing.
        """
        try:
            parsed = callbacks.decode(query.data or "")
        except callbacks.BadCallback as exc:
            log.warning("bad callback data refused", error=str(exc))
            await self.answer(query, "This button is not valid.")
            return
        session = self.ui.get(parsed.token)
        if session is None or key is None:  # key None: a message too old to say which topic it was in
            await self.answer(query, "This menu has expired.")
            return
        if session.key != key or (query.message is not None
                                  and session.message_id not in (None, query.message.message_id)):
            log.warning("callback for another topic refused", token=parsed.token, topic=key, owner=session.key)
            await self.answer(query, "This button belongs to another topic.")
            return
        try:
            if session.kind == "browser":
                await self._browser_callback(session, parsed, query)
            elif session.kind == "picker":
                await self._picker_callback(session, parsed, query)
            elif session.kind in self.callback_handlers:
                await self.callback_handlers[session.kind](self, session, parsed, query)
            else:
                await self.answer(query, "This menu has expired.")
        except callbacks.BadCallback as exc:
            log.warning("stale or forged button refused", error=str(exc))
            await self.answer(query, "This button is out of date.")

