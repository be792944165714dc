"""The router: every update passes the allowlist here, then goes to a command or to its topic's handler.

In: ``Update`` items from the poller. Out: ``Outbound`` items to the sender, and calls into the
``TopicHandler`` (the sessions layer) for everything that concerns a topic's window.

Intake never waits for delivery: each chat's updates are handled, in order, by that chat's own worker
task, so a chat waiting for its Telegram budget (or a slow download, or a tmux call) delays only itself;
the loop that takes updates from the poller only enqueues.

The router persists ``State.telegram_offset`` (every update below it is done) and ``telegram_done``
(updates done above it, since chats finish out of order) after each update, and skips what is done, so
neither a restarted poller nor a restarted bot makes it handle an update twice; an update not done is
never passed by the offset, so a kill loses none.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
import trio

from ccbot.auth import HELP_TEXT, REFUSAL_TEXT, decide
from ccbot.messages import Lane, Outbound, Priority
from ccbot.state.keeper import StateKeeper
from ccbot.state.model import TopicKey
from ccbot.state.progress import UpdateProgress
from ccbot.telegram.types import CallbackQuery, Message, Update

log = structlog.get_logger("ccbot.router")

WORKER_IDLE = 60.0  # seconds a chat's worker waits for more updates before it ends


def topic_key(message: Message) -> TopicKey:
    """(chat id, topic id) — topic 0 stands for General or a chat without topics."""
    return (message.chat.id, message.topic_id or 0)


def chat_of(update: Update) -> int:
    """The chat whose worker handles ``update`` (0 for kinds that belong to no chat)."""
    for message in (update.message, update.edited_message):
        if message is not None:
            return message.chat.id
    query = update.callback_query
    if query is not None:
        return query.message.chat.id if query.message is not None else query.from_user.id
    return 0


def thread_kwargs(key: TopicKey) -> dict[str, Any]:
    """Where to reply for a topic: General (0) must omit message_thread_id."""
    return {"message_thread_id": key[1]} if key[1] else {}


@dataclass(slots=True)
class _ChatQueue:
    """One chat's updates waiting for its worker; ``wake`` is set when one is added."""

    items: collections.deque[Update] = field(default_factory=collections.deque)
    wake: trio.Event = field(default_factory=trio.Event)


class TopicHandler(Protocol):
    """The sessions layer: what the router delegates once a sender is known to be allowed."""

    async def on_message(self, key: TopicKey, message: Message) -> None:
        """Handle an allowed user's non-command message in ``key``'s topic (in that chat's worker, in update order)."""

    async def on_command(self, key: TopicKey, message: Message, command: str, args: str) -> None:
        """Handle ``/command args`` (other than /start and /help) in ``key``'s topic, addressed to this bot."""

    async def on_callback(self, key: TopicKey | None, query: CallbackQuery) -> None:
        """Handle a button press; ``key`` is None when the button's message is too old to say which topic it is in."""

    async def on_topic_closed(self, key: TopicKey) -> None:
        """``key``'s forum topic was closed: drop what was kept for it and close its window and dialogues."""

    def owns(self, key: TopicKey) -> bool:
        """Whether this instance is bound to the topic or has a dialogue open in it."""
        ...


class Router:
    """The single consumer of the poller's updates: the allowlist, /start and /help, the update offset, and the
    dispatch of everything else to the ``TopicHandler``. The only writer of ``telegram_offset``/``telegram_done``.
    """

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
        """Take updates until ``updates_recv`` closes, each chat's in order by its own worker task; then wait for the
        workers. Skips updates already done; saves the offset after each update. Never raises for a bad update.
        """
        state = self.keeper.state
        progress = UpdateProgress(offset=state.telegram_offset, done_above=set(state.telegram_done))
        queues: dict[int, _ChatQueue] = {}
        async with updates_recv, trio.open_nursery() as nursery:
            task_status.started()
            async for update in updates_recv:
                if not progress.wanted(update.update_id):
                    continue
                progress.take(update.update_id)
                chat = chat_of(update)
                queue = queues.get(chat)
                if queue is None:
                    queue = queues[chat] = _ChatQueue()
                    nursery.start_soon(self._chat_worker, chat, queues, progress, name=f"router chat {chat}")
                queue.items.append(update)
                queue.wake.set()

    async def _chat_worker(self, chat: int, queues: dict[int, _ChatQueue], progress: UpdateProgress) -> None:
        """Handle ``chat``'s updates in order; leave once its queue stayed empty for ``WORKER_IDLE`` s."""
        queue = queues[chat]
        while True:
            while queue.items:
                update = queue.items.popleft()
                try:
                    await self.handle(update)
                finally:
                    progress.finish(update.update_id)
                    state = self.keeper.state
                    state.telegram_offset, state.telegram_done = progress.offset, sorted(progress.done_above)
                    await self.keeper.save()
            queue.wake = trio.Event()
            if queue.items:
                continue  # one arrived during the last save
            with trio.move_on_after(WORKER_IDLE):
                await queue.wake.wait()
            if not queue.items:
                del queues[chat]  # no await since the check: the next update of this chat starts a new worker
                return

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
        # an inaccessible message (too old for the bot to see) does not say which topic it was in
        key = topic_key(query.message) if isinstance(query.message, Message) else None
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
                lane=Lane.USER,
            )
        )
