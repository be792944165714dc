"""The test-control side of the fake: what users do, and what tests inspect.

User actions build real Bot API update payloads (``message``, ``edited_message``,
``callback_query``) and queue them for every bot in the chat, applying the server's filters: a bot
never sees its own messages, bots never see each other's messages, and in a supergroup where a bot
is not an admin (privacy mode on) it only sees commands (``/cmd`` or ``/cmd@itself``, not
``/cmd@another_bot``), replies to its own messages and service messages. A callback query goes
only to the bot that sent the message with the button. Misuse (unknown chat, user, topic, bot)
raises :class:`~tools.fakegram.errors.ControlError`.

Not modelled: the "last bot that wrote in the group gets plain /commands" privacy rule,
``my_chat_member`` updates when a bot joins, per-bot file ids, and a user's private chats with
several bots (chat id = user id, so each user has one private chat, with one bot).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from ccbot.render.tg_html import Entity, utf16_length

from .budget import Scope, Throttle
from .errors import ControlError
from .methods import delete_topic
from .model import (
    GENERAL,
    TOPIC_ICON_COLORS,
    BotAccount,
    CallbackQuery,
    CallRecord,
    Chat,
    StoredFile,
    StoredMessage,
    Topic,
    User,
)
from .state import FakeState, guess_mime

_BOT_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@/])")


def command_entities(text: str) -> tuple[Entity, ...]:
    """``bot_command`` entities for ``/cmd`` and ``/cmd@botname`` words, UTF-16 offsets."""
    return tuple(
        Entity("bot_command", utf16_length(text[: m.start()]), utf16_length(m.group(0)))
        for m in _BOT_COMMAND.finditer(text)
    )


class Control(FakeState):
    """User-side actions and inspection helpers. Mixed into FakeTelegram."""

    # --- setup -----------------------------------------------------------------------------------

    def add_user(self, user_id: int, first_name: str, username: str | None = None) -> User:
        user = User(user_id, first_name, username)
        self.users[user_id] = user
        self.notify()
        return user

    def create_forum_group(
        self,
        title: str,
        bot_is_admin: bool = True,
        chat_id: int | None = None,
        bot_ids: Sequence[int] | None = None,
    ) -> int:
        """A forum supergroup with bots in it; returns its chat id.

        ``bot_ids``: the member bots (None: just the default bot); each is an admin iff
        ``bot_is_admin``.
        """
        members = [self.bot_account(b).id for b in bot_ids] if bot_ids is not None else [self.bot.id]
        if chat_id is None:
            chat_id = self._next_group_id
            self._next_group_id -= 1
        if chat_id in self.chats:
            raise ControlError(f"chat {chat_id} already exists")
        self.chats[chat_id] = Chat(
            chat_id, "supergroup", title=title, is_forum=True, bots=dict.fromkeys(members, bot_is_admin)
        )
        self.notify()
        return chat_id

    def add_bot_to_chat(self, chat_id: int, bot_id: int, is_admin: bool = True) -> None:
        """Make a bot a member (optionally admin) of a supergroup."""
        chat = self.get_chat(chat_id)
        if chat.type != "supergroup":
            raise ControlError("bots can only be added to supergroups")
        chat.bots[self.bot_account(bot_id).id] = is_admin
        self.notify()

    def create_private_chat(
        self, user_id: int, topics_enabled: bool = True, bot_id: int | None = None
    ) -> int:
        """The user's private chat with a bot (None: the default bot); chat id = user id.

        The user must exist; an existing chat with another bot is a ``ControlError``.
        """
        self.get_user(user_id)
        bot = self.bot_account(bot_id)
        chat = self.chats.get(user_id)
        if chat is None:
            self.chats[user_id] = Chat(
                user_id, "private", user_id=user_id, topics_enabled=topics_enabled, bots={bot.id: False}
            )
        elif bot.id not in chat.bots:
            raise ControlError(f"user {user_id} already has a private chat with another bot")
        else:
            chat.topics_enabled = topics_enabled
        self.notify()
        return user_id

    def set_bot_admin(self, chat_id: int, is_admin: bool, bot_id: int | None = None) -> None:
        """Grant or revoke admin rights of a member bot (None: the default bot)."""
        chat = self.get_chat(chat_id)
        bot = self.bot_account(bot_id)
        if bot.id not in chat.bots:
            raise ControlError(f"bot {bot.id} is not in chat {chat_id}")
        chat.bots[bot.id] = is_admin
        self.notify()

    def user_blocks_bot(self, chat_id: int, blocked: bool = True) -> None:
        """Sends to this private chat then fail with 403 ``bot was blocked by the user``."""
        chat = self.get_chat(chat_id)
        if chat.type != "private":
            raise ControlError("only private chats can block the bot")
        chat.bot_blocked = blocked
        self.notify()

    # --- topics ----------------------------------------------------------------------------------

    def user_creates_topic(
        self, chat_id: int, user_id: int, name: str | None, icon_color: int = TOPIC_ICON_COLORS[0]
    ) -> int:
        """Create a topic as a user (``name=None``: an implicit, untitled one); returns its id."""
        chat = self.get_chat(chat_id)
        self.get_user(user_id)
        if not chat.has_topics:
            raise ControlError(f"chat {chat_id} has no topics")
        topic = Topic(chat.next_message_id, name or "New Topic", icon_color, is_name_implicit=name is None)
        chat.topics[topic.id] = topic
        created: dict[str, object] = {"name": topic.name, "icon_color": icon_color}
        if topic.is_name_implicit:
            created["is_name_implicit"] = True
        self._user_service(chat, user_id, topic.id, {"forum_topic_created": created})
        return topic.id

    def user_closes_topic(self, chat_id: int, user_id: int, thread_id: int) -> dict[str, object]:
        chat = self.get_chat(chat_id)
        self.live_topic(chat, thread_id).closed = True
        return self._user_service(chat, user_id, thread_id, {"forum_topic_closed": {}})

    def user_reopens_topic(self, chat_id: int, user_id: int, thread_id: int) -> dict[str, object]:
        chat = self.get_chat(chat_id)
        self.live_topic(chat, thread_id).closed = False
        return self._user_service(chat, user_id, thread_id, {"forum_topic_reopened": {}})

    def user_edits_topic(self, chat_id: int, user_id: int, thread_id: int, name: str) -> dict[str, object]:
        chat = self.get_chat(chat_id)
        topic = self.live_topic(chat, thread_id)
        topic.name, topic.is_name_implicit = name, False
        return self._user_service(chat, user_id, thread_id, {"forum_topic_edited": {"name": name}})

    def user_deletes_topic(self, chat_id: int, thread_id: int) -> None:
        """Delete a topic and its messages. No update is sent: the bot finds out when a send fails."""
        chat = self.get_chat(chat_id)
        delete_topic(chat, self.live_topic(chat, thread_id))
        self.notify()

    def _user_service(
        self, chat: Chat, user_id: int, thread_id: int, service: dict[str, object]
    ) -> dict[str, object]:
        self.get_user(user_id)
        msg = self.new_message(chat, sender_id=user_id, from_bot=False, thread_id=thread_id, service=service)
        return self._deliver(chat, msg)

    # --- messages --------------------------------------------------------------------------------

    def _user_thread(self, chat: Chat, thread_id: int | None) -> int | None:
        if thread_id is None or thread_id == GENERAL:
            return None
        self.live_topic(chat, thread_id)
        return thread_id

    def _deliver(self, chat: Chat, msg: StoredMessage, kind: str = "message") -> dict[str, object]:
        """Queue a user's message for every bot in the chat that may see it; returns the Message."""
        payload = self.message_json(msg)
        for bot_id in chat.bots:
            bot = self.bots[bot_id]
            if self._bot_sees(chat, msg, bot):
                self.enqueue(kind, payload, bot)
        self.notify()
        return payload

    def _bot_sees(self, chat: Chat, msg: StoredMessage, bot: BotAccount) -> bool:
        if msg.from_bot:
            return False  # a bot's own messages, and other bots' ones, never reach a bot
        if chat.type != "supergroup" or chat.is_admin(bot.id) or bot.can_read_all_group_messages:
            return True
        if msg.is_service or any(self._command_for(msg, e, bot) for e in msg.entities):
            return True
        replied = chat.messages.get(msg.reply_to) if msg.reply_to is not None else None
        return replied is not None and replied.from_bot and replied.sender_id == bot.id

    @staticmethod
    def _command_for(msg: StoredMessage, entity: Entity, bot: BotAccount) -> bool:
        """Whether a ``bot_command`` entity is a plain ``/cmd`` or a ``/cmd@<this bot>``."""
        if entity.type != "bot_command" or msg.text is None:
            return False
        word = msg.text.encode("utf-16-le")[2 * entity.offset : 2 * (entity.offset + entity.length)]
        _, at, target = word.decode("utf-16-le").partition("@")
        return not at or target.lower() == bot.username.lower()

    def user_sends_text(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        thread_id: int | None = None,
        entities: Sequence[Mapping[str, object]] | None = None,
        reply_to: int | None = None,
    ) -> dict[str, object]:
        """A user's text message; ``/commands`` get ``bot_command`` entities. Returns the Message."""
        chat = self.get_chat(chat_id)
        self.get_user(user_id)
        thread = self._user_thread(chat, thread_id)
        found = command_entities(text) + tuple(Entity.from_api(e) for e in entities or ())
        msg = self.new_message(
            chat,
            sender_id=user_id,
            from_bot=False,
            thread_id=thread,
            text=text,
            entities=tuple(sorted(found, key=lambda e: (e.offset, -e.length))),
            raw=text,
            reply_to=reply_to,
        )
        return self._deliver(chat, msg)

    def user_edits_text(self, chat_id: int, user_id: int, message_id: int, text: str) -> dict[str, object]:
        """Edit a user's own text message; queues an ``edited_message`` update."""
        chat = self.get_chat(chat_id)
        msg = self.get_message(chat_id, message_id)
        if msg.from_bot or msg.sender_id != user_id or msg.text is None or msg.deleted:
            raise ControlError(f"message {message_id} is not a live text message of user {user_id}")
        msg.history.append(msg.snapshot(self.now()))
        msg.text, msg.raw, msg.entities = text, text, command_entities(text)
        msg.edit_date = self.unix_now()
        return self._deliver(chat, msg, "edited_message")

    def _user_media(
        self,
        chat_id: int,
        user_id: int,
        thread_id: int | None,
        kind: str,
        files: tuple[StoredFile, ...],
        caption: str | None,
    ) -> dict[str, object]:
        chat = self.get_chat(chat_id)
        self.get_user(user_id)
        thread = self._user_thread(chat, thread_id)
        msg = self.new_message(
            chat,
            sender_id=user_id,
            from_bot=False,
            thread_id=thread,
            media_kind=kind,
            files=files,
            caption=caption or None,
            raw=caption,
        )
        return self._deliver(chat, msg)

    def user_sends_voice(
        self,
        chat_id: int,
        user_id: int,
        data: bytes,
        duration: int = 1,
        thread_id: int | None = None,
        mime_type: str = "audio/ogg",
    ) -> dict[str, object]:
        stored = self.store_file("voice", data, mime_type=mime_type, duration=duration)
        return self._user_media(chat_id, user_id, thread_id, "voice", (stored,), None)

    def user_sends_photo(
        self,
        chat_id: int,
        user_id: int,
        data: bytes,
        caption: str | None = None,
        thread_id: int | None = None,
    ) -> dict[str, object]:
        """A photo message; ``data`` must be an image Pillow can open (PhotoSize list, largest last)."""
        try:
            sizes = self.store_photo(data)
        except ValueError as exc:
            raise ControlError("user_sends_photo needs image bytes") from exc
        return self._user_media(chat_id, user_id, thread_id, "photo", sizes, caption)

    def user_sends_document(
        self,
        chat_id: int,
        user_id: int,
        data: bytes,
        file_name: str,
        mime_type: str | None = None,
        caption: str | None = None,
        thread_id: int | None = None,
    ) -> dict[str, object]:
        stored = self.store_file(
            "document", data, mime_type=guess_mime(file_name, mime_type), file_name=file_name
        )
        return self._user_media(chat_id, user_id, thread_id, "document", (stored,), caption)

    def user_presses(self, chat_id: int, user_id: int, message_id: int, data: str) -> str:
        """Press an inline button; returns the callback query id.

        The query goes only to the bot that sent the message (the default bot for a message no bot
        sent). The update carries the full message, or an InaccessibleMessage when it was deleted.
        """
        chat = self.get_chat(chat_id)
        user = self.get_user(user_id)
        msg = self.get_message(chat_id, message_id)
        bot = self.bots[msg.sender_id] if msg.from_bot else self.default_bot
        query_id = self.next_callback_id()
        self.callback_queries[query_id] = CallbackQuery(
            query_id, chat_id, message_id, user_id, data, self.now(), bot_id=bot.id
        )
        if msg.deleted:
            message: dict[str, object] = {"chat": self.chat_json(chat), "message_id": message_id, "date": 0}
        else:
            message = self.message_json(msg)
        payload: dict[str, object] = {
            "id": query_id,
            "from": user.to_api(),
            "message": message,
            "chat_instance": str(abs(chat_id) * 7919 % 10**18),
            "data": data,
        }
        self.enqueue("callback_query", payload, bot)
        self.notify()
        return query_id

    # --- inspection ------------------------------------------------------------------------------

    def messages(
        self, chat_id: int, thread_id: int | None = None, include_deleted: bool = False
    ) -> list[StoredMessage]:
        """Every message of a chat in id order; ``thread_id``: a topic, GENERAL (1) or None for all."""
        chat = self.get_chat(chat_id)
        out = []
        for msg in sorted(chat.messages.values(), key=lambda m: m.message_id):
            if msg.deleted and not include_deleted:
                continue
            if thread_id is not None and msg.thread_id != (None if thread_id == GENERAL else thread_id):
                continue
            out.append(msg)
        return out

    def bot_messages(
        self,
        chat_id: int,
        thread_id: int | None = None,
        include_deleted: bool = False,
        bot_id: int | None = None,
    ) -> list[StoredMessage]:
        """Bots' non-service messages in their final state (see :meth:`messages` for thread_id).

        ``bot_id``: only that bot's messages (None: every bot's).
        """
        return [
            m
            for m in self.messages(chat_id, thread_id, include_deleted)
            if m.from_bot and not m.is_service and (bot_id is None or m.sender_id == bot_id)
        ]

    def topic(self, chat_id: int, thread_id: int) -> Topic:
        topic = self.get_chat(chat_id).topics.get(thread_id)
        if topic is None:
            raise ControlError(f"unknown topic {thread_id} in chat {chat_id}")
        return topic

    def get_commands(
        self, scope: Mapping[str, object] | None = None, language_code: str = "", bot_id: int | None = None
    ) -> list[dict[str, str]]:
        """A bot's commands (None: the default bot's) for a scope and language."""
        key = (json.dumps(dict(scope or {"type": "default"}), sort_keys=True), language_code)
        return list(self.bot_account(bot_id).commands.get(key, []))

    def throttles_for(
        self, chat_id: int | None = None, *, bot_id: int | None = None, scope: Scope | None = None
    ) -> list[Throttle]:
        """The 429s answered (oldest first), optionally only for one chat, bot or limit ``scope``."""
        return [
            t
            for t in self.throttles
            if (chat_id is None or t.chat_id == chat_id)
            and (bot_id is None or t.bot_id == bot_id)
            and (scope is None or t.scope == scope)
        ]

    def calls_to(self, method: str, bot_id: int | None = None) -> list[CallRecord]:
        """Call records of one method (case-insensitive); ``bot_id``: only that bot's calls."""
        return [
            c
            for c in self.calls
            if c.method.lower() == method.lower() and (bot_id is None or c.bot_id == bot_id)
        ]
