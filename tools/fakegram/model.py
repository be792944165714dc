"""Data held by the fake Telegram: users, chats, topics, messages, files and inspection records.

Plain mutable dataclasses (records are frozen). JSON for the Bot API is built in ``state.py``;
``to_json()`` methods here give the inspection view used by the HTTP control API (bytes as base64).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Literal

from ccbot.render.tg_html import Entity

GENERAL = 1
"""Thread selector for a supergroup's General topic / a private chat's main view (never a topic id)."""

TOPIC_ICON_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)
DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
ALL_UPDATE_TYPES = DEFAULT_ALLOWED_UPDATES | {"chat_member", "message_reaction", "message_reaction_count"}


@dataclass(slots=True)
class User:
    id: int
    first_name: str
    username: str | None = None
    is_bot: bool = False

    def to_api(self) -> dict[str, object]:
        out: dict[str, object] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.username:
            out["username"] = self.username
        return out


@dataclass(slots=True)
class Topic:
    """A forum topic; ``id`` is the message_id of its ``forum_topic_created`` service message."""

    id: int
    name: str
    icon_color: int
    icon_custom_emoji_id: str | None = None
    is_name_implicit: bool = False
    closed: bool = False
    deleted: bool = False
    creator_bot_id: int | None = None
    """The bot that made the topic with createForumTopic (it may manage it without admin rights)."""

    def to_api(self) -> dict[str, object]:
        out: dict[str, object] = {
            "message_thread_id": self.id,
            "name": self.name,
            "icon_color": self.icon_color,
        }
        if self.icon_custom_emoji_id:
            out["icon_custom_emoji_id"] = self.icon_custom_emoji_id
        if self.is_name_implicit:
            out["is_name_implicit"] = True
        return out

    def to_json(self) -> dict[str, object]:
        return {**self.to_api(), "closed": self.closed, "deleted": self.deleted}


@dataclass(slots=True)
class StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    kind: str  # "photo" | "document" | "voice"
    file_path: str
    mime_type: str | None = None
    file_name: str | None = None
    width: int = 0
    height: int = 0
    duration: int = 0

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True, slots=True)
class MessageVersion:
    """The content a message had before an edit."""

    text: str | None
    entities: tuple[Entity, ...]
    caption: str | None
    caption_entities: tuple[Entity, ...]
    raw: str | None
    reply_markup: dict[str, object] | None
    files: tuple[StoredFile, ...]
    time: float


@dataclass(slots=True)
class StoredMessage:
    """One message in a chat, kept in its final state plus the versions it had before edits.

    ``thread_id`` is the topic id, or None for the General topic / the main view. ``text`` and
    ``caption`` are what the server stores (parsed and trimmed); ``raw`` is the text or caption
    parameter exactly as the bot sent it. ``files`` holds the media (photo: sizes, largest last).
    """

    chat_id: int
    message_id: int
    thread_id: int | None
    sender_id: int
    from_bot: bool
    date: int
    text: str | None = None
    entities: tuple[Entity, ...] = ()
    raw: str | None = None
    parse_mode: str | None = None
    caption: str | None = None
    caption_entities: tuple[Entity, ...] = ()
    media_kind: Literal["photo", "document", "voice"] | None = None
    files: tuple[StoredFile, ...] = ()
    reply_markup: dict[str, object] | None = None
    reply_to: int | None = None
    service: dict[str, object] | None = None
    edit_date: int | None = None
    history: list[MessageVersion] = field(default_factory=list)
    deleted: bool = False

    @property
    def is_service(self) -> bool:
        return self.service is not None

    @property
    def media_bytes(self) -> bytes | None:
        return self.files[-1].data if self.files else None

    def snapshot(self, now: float) -> MessageVersion:
        return MessageVersion(
            self.text,
            self.entities,
            self.caption,
            self.caption_entities,
            self.raw,
            self.reply_markup,
            self.files,
            now,
        )

    def to_json(self) -> dict[str, object]:
        """Inspection view (not the Bot API Message): every stored field, bytes as base64."""
        return {
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "thread_id": self.thread_id,
            "sender_id": self.sender_id,
            "from_bot": self.from_bot,
            "date": self.date,
            "text": self.text,
            "entities": [e.to_api() for e in self.entities],
            "raw": self.raw,
            "parse_mode": self.parse_mode,
            "caption": self.caption,
            "caption_entities": [e.to_api() for e in self.caption_entities],
            "media_kind": self.media_kind,
            "media_b64": base64.b64encode(self.media_bytes).decode()
            if self.media_bytes is not None
            else None,
            "file_ids": [f.file_id for f in self.files],
            "reply_markup": self.reply_markup,
            "reply_to": self.reply_to,
            "service": self.service,
            "edit_date": self.edit_date,
            "edits": len(self.history),
            "history": [
                {"text": v.text, "caption": v.caption, "raw": v.raw, "reply_markup": v.reply_markup}
                for v in self.history
            ],
            "deleted": self.deleted,
        }


@dataclass(slots=True)
class Chat:
    """A private chat (``id`` = the user's id) or a forum supergroup.

    ``bots`` maps the id of every bot in the chat to whether it is an admin there. A private chat
    has exactly one bot (chat ids are user ids, so the fake holds one private chat per user).
    """

    id: int
    type: Literal["private", "supergroup"]
    title: str | None = None
    user_id: int | None = None
    is_forum: bool = False
    topics_enabled: bool = False
    bots: dict[int, bool] = field(default_factory=dict)
    bot_blocked: bool = False
    topics: dict[int, Topic] = field(default_factory=dict)
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    # Message 1 is never a topic: supergroups start with a creation service message, and keeping
    # private chats the same lets GENERAL (1) select "no topic" unambiguously.
    next_message_id: int = 2

    @property
    def has_topics(self) -> bool:
        return self.is_forum or self.topics_enabled

    def is_admin(self, bot_id: int) -> bool:
        return self.bots.get(bot_id, False)


@dataclass(slots=True)
class BotAccount:
    """One bot the fake serves, with everything the real server keeps per bot.

    Each bot has its own update queue and update ids, ``allowed_updates`` filter, long-poll
    bookkeeping (``poll_generation`` makes an older pending getUpdates of the same bot fail with
    409), commands and getMe flags. ``polls_waiting`` counts its getUpdates calls blocked in a long
    poll.
    """

    token: str
    user: User
    can_read_all_group_messages: bool = False
    has_topics_enabled: bool = True
    allows_users_to_create_topics: bool = True
    updates: list[Update] = field(default_factory=list)
    allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
    commands: dict[tuple[str, str], list[dict[str, str]]] = field(default_factory=dict)
    polls_waiting: int = 0
    poll_generation: int = 0
    next_update_id: int = 1000

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def username(self) -> str:
        return self.user.username or ""


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One Bot API call as the fake saw it; ``time``/``done_time`` are trio clock readings."""

    method: str
    params: dict[str, object]
    http_status: int  # 0 for a dropped connection
    description: str | None
    time: float
    done_time: float
    bot_id: int | None = None  # the calling bot; None when the token was not recognised

    @property
    def ok(self) -> bool:
        return self.http_status == 200

    def to_json(self) -> dict[str, object]:
        return {
            "method": self.method,
            "params": self.params,
            "http_status": self.http_status,
            "description": self.description,
            "time": self.time,
            "done_time": self.done_time,
            "bot_id": self.bot_id,
        }


@dataclass(frozen=True, slots=True)
class ChatAction:
    chat_id: int
    thread_id: int | None
    action: str
    time: float
    bot_id: int | None = None


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    time: float
    bot_id: int | None = None


@dataclass(slots=True)
class CallbackQuery:
    id: str
    chat_id: int
    message_id: int
    user_id: int
    data: str
    created: float
    answered: bool = False
    bot_id: int | None = None  # the bot that sent the message; only it gets and may answer the query


@dataclass(frozen=True, slots=True)
class DraftFrame:
    chat_id: int
    thread_id: int | None
    draft_id: int
    text: str
    entities: tuple[Entity, ...]
    time: float


@dataclass(frozen=True, slots=True)
class Update:
    update_id: int
    kind: str
    payload: dict[str, object]

    def to_api(self) -> dict[str, object]:
        return {"update_id": self.update_id, self.kind: self.payload}
