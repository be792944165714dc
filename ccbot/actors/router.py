"""The router: every update passes the allowlist here, then goes to a command or to its topic's handler.

In: ``Update`` items from the poller. Out: ``Outbound`` items to the sender, and calls into the
``TopicHandler`` (the sessions layer) for everything that concerns a topic's window.

The router advances and persists ``State.telegram_offset`` after each update is handled, and skips
updates below it, so a restarted poller cannot make it handle an update twice.
"""

from __future__ import annotations

from typing import Any, Protocol

import structlog
import trio

from ccbot.auth import HELP_TEXT, REFUSAL_TEXT, decide
from ccbot.messages import Outbound, Priority
from ccbot.state.keeper import StateKeeper
from ccbot.state.model import TopicKey
from ccbot.telegram.types import CallbackQuery, Message, Update

log = structlog.get_logger("ccbot.router")


def topic_key(message: Message) -> TopicKey:
    """(chat id, topic id) — topic 0 stands for General or a chat without topics."""
    return (message.chat.id, message.topic_id or 0)


def thread_kwargs(key: TopicKey) -> dict[str, Any]:
    """Where to reply for a topic: General (0) must omit message_thread_id."""
    return {"message_thread_id": key[1]} if key[1] else {}


class TopicHandler(Protocol):
    """The sessions layer: what the router delegates once a sender is known to be allowed."""

    async def on_message(self, key: TopicKey, message: Message) -> None: ...

    async def on_command(self, key: TopicKey, message: Message, command: str, args: str) -> None: ...

    async def on_callback(self, key: TopicKey | None, query: CallbackQuery) -> None: ...

    async def on_topic_closed(self, key: TopicKey) -> None: ...

    def owns(self, key: TopicKey) -> bool:
        """Whether this instance is bound to the topic or has a dialogue open in it."""
        ...


class Router:
    def __init__(
        self,
        *,
        allowed_users: frozenset[int],
        keeper: StateKeeper,
        outbox: trio.MemorySendChannel[Outbound],
        bot_username: str,
        topics: TopicHandler | None = None,
        claim: str = "any",
    ) -> None:
        self.allowed_users = allowed_users
        self.keeper = keeper
        self.outbox = outbox
        self.bot_username = bot_username.lower()
        self.topics = topics
        self.claim = claim

    async def run(
        self, updates_recv: trio.MemoryReceiveChannel[Update], *, task_status: Any = trio.TASK_STATUS_IGNORED
    ) -> None:
        async with updates_recv:
            task_status.started()
            async for update in updates_recv:
                state = self.keeper.state
                if update.update_id < state.telegram_offset:
                    continue
                try:
                    await self.handle(update)
                finally:
                    state.telegram_offset = update.update_id + 1
                    await self.keeper.save()

    async def handle(self, update: Update) -> None:
        """Act on one update. Exceptions from the topic layer are logged, never fatal to the router."""
        decision = decide(update, self.allowed_users)
        if not decision.allowed:
            log.info("update from unknown user ignored", kind=update.kind, user=decision.sender_id)
            if decision.refuse_chat_id is not None and decision.sender_id is not None:
                await self._refuse_once(decision.refuse_chat_id, decision.sender_id)
            return
        structlog.contextvars.bind_contextvars(update_id=update.update_id)
        log.debug("update", kind=update.kind)
        try:
            if update.message is not None:
                await self._on_message(update.message)
            elif update.callback_query is not None:
                await self._on_callback(update.callback_query)
            elif update.edited_message is not None:
                key = topic_key(update.edited_message)
                if self.claim == "any" or (self.topics is not None and self.topics.owns(key)):
                    await self._reply(key, "✏️ Edits are not sent to Codex — send the text again as a new message.")
            else:
                log.debug("update kind ignored", kind=update.kind)
        except Exception as exc:
            log.error("update handling failed", kind=update.kind, exc_info=exc)
        finally:
            structlog.contextvars.unbind_contextvars("update_id")

    async def _on_message(self, message: Message) -> None:
        key = topic_key(message)
        if message.forum_topic_closed:
            if self.topics is not None:
                await self.topics.on_topic_closed(key)
            return
        if message.forum_topic_created is not None or message.forum_topic_reopened:
            return
        if message.forum_topic_edited_name is not None:
            return
        command = message.command
        addressed = command is not None and command[2] is not None and command[2].lower() == self.bot_username
        if self.claim == "addressed" and not addressed and not (self.topics and self.topics.owns(key)):
            return  # several bots share this chat: an unclaimed topic needs /new@<this bot>
        if command is not None:
            name, args, target = command
            if target is not None and target.lower() != self.bot_username:
                return  # addressed to another bot in the group
            if name in ("start", "help"):
                await self._reply(key, HELP_TEXT)
                return
            if self.topics is not None:
                await self.topics.on_command(key, message, name, args)
                return
        if self.topics is not None:
            await self.topics.on_message(key, message)
        else:
            await self._reply(key, "This bot is starting up; try again in a moment.")

    async def _on_callback(self, query: CallbackQuery) -> None:
        key = topic_key(query.message) if query.message is not None else None
        if self.topics is not None:
            await self.topics.on_callback(key, query)

    async def _refuse_once(self, chat_id: int, user_id: int) -> None:
        if not self.keeper.state.note_refused(user_id):
            return
        await self._reply((chat_id, 0), REFUSAL_TEXT.format(user_id=user_id))

    async def _reply(self, key: TopicKey, html: str) -> None:
        await self.outbox.send(
            Outbound(
                chat_id=key[0],
                method="send_message",
                kwargs={"chat_id": key[0], "text": html, **thread_kwargs(key)},
                priority=Priority.DURABLE,
            )
        )
