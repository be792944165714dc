"""Frozen dataclasses for the subset of the Bot API that ccbot uses.

Pure module. Inbound types have a ``from_api(d)`` classmethod taking the decoded JSON object; it
ignores keys it does not model and raises one of :data:`MALFORMED` when a required key is missing or
has the wrong shape. Outbound helpers (:class:`InlineKeyboard`, :class:`BotCommand`) have ``to_api()``
and validate their Bot API limits on construction (``ValueError``), so a bad button fails here
instead of as a 400 from Telegram.

Entity ``offset``/``length`` are UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JsonObject = Mapping[str, Any]

MALFORMED: tuple[type[Exception], ...] = (KeyError, TypeError, ValueError, AttributeError)
"""What ``from_api`` raises on payloads that do not have the documented shape."""

# Users may type longer names than setMyCommands allows; Telegram still marks them as bot_command.
_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,64})(?:@([A-Za-z0-9_]{1,64}))?")
_BOT_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")


def _opt_str(d: JsonObject, key: str) -> str | None:
    value = d.get(key)
    return None if value is None else str(value)


def _opt_int(d: JsonObject, key: str) -> int | None:
    value = d.get(key)
    return None if value is None else int(value)


def _obj(value: object) -> JsonObject:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected a JSON object, got {type(value).__name__}")
    return value


def _objs(value: object) -> list[JsonObject]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"expected a JSON array, got {type(value).__name__}")
    return [_obj(item) for item in value]


def utf16_prefix(text: str, units: int) -> str | None:
    """The first ``units`` UTF-16 code units of ``text``, or None if that cuts a surrogate pair."""
    try:
        return text.encode("utf-16-le")[: 2 * units].decode("utf-16-le")
    except UnicodeDecodeError:
        return None


@dataclass(frozen=True, slots=True)
class User:
    """A Telegram user or bot (the sender of a message or button press, or the bot itself from getMe)."""

    id: int
    is_bot: bool
    first_name: str
    username: str | None = None
    # getMe only: whether the bot has private-chat topics and sees all group messages.
    has_topics_enabled: bool = False
    can_read_all_group_messages: bool = False

    @classmethod
    def from_api(cls, d: JsonObject) -> User:
        """Parse a User object. Raises one of :data:`MALFORMED` when a required key is missing or mistyped."""
        d = _obj(d)
        return cls(
            id=int(d["id"]),
            is_bot=bool(d.get("is_bot", False)),
            first_name=str(d.get("first_name", "")),
            username=_opt_str(d, "username"),
            has_topics_enabled=bool(d.get("has_topics_enabled", False)),
            can_read_all_group_messages=bool(d.get("can_read_all_group_messages", False)),
        )


@dataclass(frozen=True, slots=True)
class Chat:
    """The chat a message is in; ``is_forum``: the chat has topics."""

    id: int
    type: str
    title: str | None = None
    is_forum: bool = False

    @classmethod
    def from_api(cls, d: JsonObject) -> Chat:
        """Parse a Chat object. Raises one of :data:`MALFORMED` when a required key is missing or mistyped."""
        d = _obj(d)
        return cls(
            id=int(d["id"]),
            type=str(d["type"]),
            title=_opt_str(d, "title"),
            is_forum=bool(d.get("is_forum", False)),
        )


@dataclass(frozen=True, slots=True)
class MessageEntity:
    """A formatted span of a message's text (offset and length in UTF-16 code units)."""

    type: str
    offset: int
    length: int
    url: str | None = None

    @classmethod
    def from_api(cls, d: JsonObject) -> MessageEntity:
        """Parse a MessageEntity object. Raises one of :data:`MALFORMED` when a required key is missing or mistyped."""
        d = _obj(d)
        return cls(
            type=str(d["type"]), offset=int(d["offset"]), length=int(d["length"]), url=_opt_str(d, "url")
        )


@dataclass(frozen=True, slots=True)
class PhotoSize:
    """One size of a sent photo (a message carries several; ccbot downloads the largest)."""

    file_id: str
    file_unique_id: str
    width: int
    height: int
    file_size: int | None = None

    @classmethod
    def from_api(cls, d: JsonObject) -> PhotoSize:
        """Parse a PhotoSize object. Raises one of :data:`MALFORMED` when a required key is missing or mistyped."""
        d = _obj(d)
        return cls(
            file_id=str(d["file_id"]),
            file_unique_id=str(d["file_unique_id"]),
            width=int(d["width"]),
            height=int(d["height"]),
            file_size=_opt_int(d, "file_size"),
        )


@dataclass(frozen=True, slots=True)
class Voice:
    """A voice note; ``file_id`` is what getFile takes."""

    file_id: str
    file_unique_id: str
    duration: int
    mime_type: str | None = None
    file_size: int | None = None

    @classmethod
    def from_api(cls, d: JsonObject) -> Voice:
        """Parse a Voice object. Raises one of :data:`MALFORMED` when a required key is missing or mistyped."""
        d = _obj(d)
        return cls(
            file_id=str(d["file_id"]),
            file_unique_id=str(d["file_unique_id"]),
            duration=int(d["duration"]),
            mime_type=_opt_str(d, "mime_type"),
            file_size=_opt_int(d, "file_size"),
        )


@dataclass(frozen=True, slots=True)
class Document:
    """A file sent as a document; ``file_name`` is the sender's name for it, untrusted."""

    file_id: str
    file_unique_id: str
    file_name: str | None = None
    mime_type: str | None = None
    file_size: int | None = None

    @classmethod
    def from_api(cls, d: JsonObject) -> Document:
        """Parse a Document object. Raises one of :data:`MALFORMED` when a required key is missing or mistyped."""
        d = _obj(d)
        return cls(
            file_id=str(d["file_id"]),
            file_unique_id=str(d["file_unique_id"]),
            file_name=_opt_str(d, "file_name"),
            mime_type=_opt_str(d, "mime_type"),
            file_size=_opt_int(d, "file_size"),
        )


@dataclass(frozen=True, slots=True)
class File:
    """getFile's answer; ``file_path`` is what ``BotApi.download_file`` takes."""

    file_id: str
    file_unique_id: str
    file_size: int | None = None
    file_path: str | None = None

    @classmethod
    def from_api(cls, d: JsonObject) -> File:
        """Parse getFile's File object. Raises one of :data:`MALFORMED` when a required key is missing or mistyped."""
        d = _obj(d)
        return cls(
            file_id=str(d["file_id"]),
            file_unique_id=str(d["file_unique_id"]),
            file_size=_opt_int(d, "file_size"),
            file_path=_opt_str(d, "file_path"),
        )


@dataclass(frozen=True, slots=True)
class ForumTopicCreated:
    """The service payload of a new forum topic: its name and icon colour."""

    name: str
    icon_color: int | None = None
    # True when a user created the topic without a title (private bot forums): rename it.
    is_name_implicit: bool = False

    @classmethod
    def from_api(cls, d: JsonObject) -> ForumTopicCreated:
        """Parse a ForumTopicCreated object. Raises one of :data:`MALFORMED` when a required key is bad."""
        d = _obj(d)
        return cls(
            name=str(d["name"]),
            icon_color=_opt_int(d, "icon_color"),
            is_name_implicit=bool(d.get("is_name_implicit", False)),
        )


@dataclass(frozen=True, slots=True)
class Message:
    """A message or service message, with the fields ccbot acts on (text, media, topic events)."""

    message_id: int
    chat: Chat
    date: int
    from_user: User | None = None
    message_thread_id: int | None = None
    is_topic_message: bool = False
    text: str | None = None
    caption: str | None = None
    entities: tuple[MessageEntity, ...] = ()
    caption_entities: tuple[MessageEntity, ...] = ()
    voice: Voice | None = None
    photo: tuple[PhotoSize, ...] = ()
    document: Document | None = None
    forum_topic_created: ForumTopicCreated | None = None
    forum_topic_closed: bool = False
    forum_topic_reopened: bool = False
    # The new name from a forum_topic_edited service message; None if absent or only the icon changed.
    forum_topic_edited_name: str | None = None
    has_reply_markup: bool = False
    edit_date: int | None = None

    @classmethod
    def from_api(cls, d: JsonObject) -> Message:
        """Parse a Message object, nested objects included.

        Raises one of :data:`MALFORMED` when a required key is missing or mistyped.
        """
        d = _obj(d)
        edited = d.get("forum_topic_edited")
        created = d.get("forum_topic_created")
        voice = d.get("voice")
        document = d.get("document")
        sender = d.get("from")
        return cls(
            message_id=int(d["message_id"]),
            chat=Chat.from_api(d["chat"]),
            date=int(d.get("date", 0)),
            from_user=None if sender is None else User.from_api(sender),
            message_thread_id=_opt_int(d, "message_thread_id"),
            is_topic_message=bool(d.get("is_topic_message", False)),
            text=_opt_str(d, "text"),
            caption=_opt_str(d, "caption"),
            entities=tuple(MessageEntity.from_api(e) for e in _objs(d.get("entities"))),
            caption_entities=tuple(MessageEntity.from_api(e) for e in _objs(d.get("caption_entities"))),
            voice=None if voice is None else Voice.from_api(voice),
            photo=tuple(PhotoSize.from_api(p) for p in _objs(d.get("photo"))),
            document=None if document is None else Document.from_api(document),
            forum_topic_created=None if created is None else ForumTopicCreated.from_api(created),
            forum_topic_closed="forum_topic_closed" in d,
            forum_topic_reopened="forum_topic_reopened" in d,
            forum_topic_edited_name=None if edited is None else _opt_str(_obj(edited), "name"),
            has_reply_markup="reply_markup" in d,
            edit_date=_opt_int(d, "edit_date"),
        )

    @property
    def topic_id(self) -> int | None:
        """The forum topic this message belongs to; None for General or an unthreaded chat.

        Reply threads in non-forum supergroups carry ``message_thread_id`` without
        ``is_topic_message``; they are not topics.
        """
        return self.message_thread_id if self.is_topic_message else None

    @property
    def command(self) -> tuple[str, str, str | None] | None:
        """``(name, args, target)`` if the text starts with a bot command, else None.

        ``name`` is lowercased, ``args`` is the rest of the text stripped of surrounding whitespace,
        ``target`` the ``@botname`` suffix as typed (None without one). A leading ``bot_command``
        entity decides where the command ends; without one, a leading ``/name[@bot]`` followed by
        whitespace or the end of the text counts (so ``/usr/bin`` is not a command).
        """
        text = self.text
        if not text:
            return None
        token: str | None = None
        for entity in self.entities:
            if entity.type == "bot_command" and entity.offset == 0:
                token = utf16_prefix(text, entity.length)
                break
        if token is not None:
            match = _COMMAND.fullmatch(token)
        else:
            match = _COMMAND.match(text)
            if match and match.end() < len(text) and not text[match.end()].isspace():
                match = None
        if match is None:
            return None
        return match.group(1).lower(), text[match.end() :].strip(), match.group(2)


@dataclass(frozen=True, slots=True)
class InaccessibleMessage:
    """A callback's message that the bot can no longer see (Bot API sends it with ``date`` 0)."""

    chat: Chat
    message_id: int
    date: int = 0

    @property
    def topic_id(self) -> int | None:
        """Always None: the payload does not say which topic the message was in."""
        return None

    @classmethod
    def from_api(cls, d: JsonObject) -> InaccessibleMessage:
        """Parse an InaccessibleMessage object. Raises one of :data:`MALFORMED` when a required key is bad."""
        d = _obj(d)
        return cls(chat=Chat.from_api(d["chat"]), message_id=int(d["message_id"]), date=int(d.get("date", 0)))


@dataclass(frozen=True, slots=True)
class CallbackQuery:
    """A press of an inline button: who pressed it, its ``callback_data``, the message it was on (if known)."""

    id: str
    from_user: User
    data: str | None = None
    message: Message | InaccessibleMessage | None = None
    chat_instance: str = ""

    @classmethod
    def from_api(cls, d: JsonObject) -> CallbackQuery:
        """Parse a CallbackQuery (a message with ``date`` 0 becomes an ``InaccessibleMessage``).

        Raises one of :data:`MALFORMED` when a required key is missing or mistyped.
        """
        d = _obj(d)
        raw = d.get("message")
        message: Message | InaccessibleMessage | None
        if raw is None:
            message = None
        elif int(_obj(raw).get("date", 0)) == 0:
            message = InaccessibleMessage.from_api(raw)
        else:
            message = Message.from_api(raw)
        return cls(
            id=str(d["id"]),
            from_user=User.from_api(d["from"]),
            data=_opt_str(d, "data"),
            message=message,
            chat_instance=str(d.get("chat_instance", "")),
        )


_MODELLED_KINDS = ("message", "edited_message", "callback_query")


def _payload_sender(payload: object) -> int | None:
    """The sender id of an update kind we do not model (``from`` or ``user``), if it has one."""
    if not isinstance(payload, Mapping):
        return None
    for key in ("from", "user"):
        who = payload.get(key)
        if isinstance(who, Mapping) and isinstance(who.get("id"), int):
            return int(who["id"])
    return None


@dataclass(frozen=True, slots=True)
class Update:
    """One getUpdates item.

    ``kind`` names the update field that was present ("message", "callback_query",
    "my_chat_member", ...; "unknown" if none). Only message, edited_message and callback_query are
    parsed into fields. ``malformed`` is True when the payload of a modelled kind did not parse: its
    field is then None, so one odd update cannot wedge the poller at its offset.
    """

    update_id: int
    message: Message | None = None
    edited_message: Message | None = None
    callback_query: CallbackQuery | None = None
    kind: str = field(kw_only=True)
    malformed: bool = field(default=False, kw_only=True)
    # Sender of a kind we do not model (from its "from"/"user" object); see sender_id.
    other_sender_id: int | None = field(default=None, kw_only=True, repr=False)

    @property
    def sender_id(self) -> int | None:
        """The id of the user who caused this update, for any kind that has one."""
        if self.message is not None:
            return None if self.message.from_user is None else self.message.from_user.id
        if self.edited_message is not None:
            return None if self.edited_message.from_user is None else self.edited_message.from_user.id
        if self.callback_query is not None:
            return self.callback_query.from_user.id
        return self.other_sender_id

    @classmethod
    def from_api(cls, d: JsonObject) -> Update:
        """Parse one update; raises one of :data:`MALFORMED` only if ``update_id`` is unusable."""
        d = _obj(d)
        update_id = int(d["update_id"])
        kind = next((key for key in _MODELLED_KINDS if key in d), None)
        if kind is None:
            kind = next((key for key in d if key != "update_id"), "unknown")
        payload = d.get(kind)
        try:
            if kind == "message":
                return cls(update_id, message=Message.from_api(_obj(payload)), kind=kind)
            if kind == "edited_message":
                return cls(update_id, edited_message=Message.from_api(_obj(payload)), kind=kind)
            if kind == "callback_query":
                return cls(update_id, callback_query=CallbackQuery.from_api(_obj(payload)), kind=kind)
        except MALFORMED:
            return cls(update_id, kind=kind, malformed=True, other_sender_id=_payload_sender(payload))
        return cls(update_id, kind=kind, other_sender_id=_payload_sender(payload))


@dataclass(frozen=True, slots=True)
class InlineButton:
    """A callback button; ``callback_data`` must be 1-64 bytes of UTF-8 (else ``ValueError``)."""

    text: str
    callback_data: str

    def __post_init__(self) -> None:
        if not self.text:
            raise ValueError("button text must not be empty")
        if not 1 <= len(self.callback_data.encode("utf-8")) <= 64:
            raise ValueError(f"callback_data must be 1-64 bytes: {self.callback_data!r}")

    def to_api(self) -> dict[str, str]:
        """The Bot API InlineKeyboardButton object."""
        return {"text": self.text, "callback_data": self.callback_data}


@dataclass(frozen=True, slots=True)
class InlineKeyboard:
    """An inline keyboard; rows given as any iterables are stored as tuples (hashable)."""

    rows: tuple[tuple[InlineButton, ...], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows", tuple(tuple(row) for row in self.rows))

    def to_api(self) -> dict[str, list[list[dict[str, str]]]]:
        """The Bot API InlineKeyboardMarkup object."""
        return {"inline_keyboard": [[button.to_api() for button in row] for row in self.rows]}


@dataclass(frozen=True, slots=True)
class BotCommand:
    """A setMyCommands entry: ``command`` 1-32 of ``[a-z0-9_]``, ``description`` 1-256 chars."""

    command: str
    description: str

    def __post_init__(self) -> None:
        if not _BOT_COMMAND_NAME.fullmatch(self.command):
            raise ValueError(f"bot command must be 1-32 of [a-z0-9_]: {self.command!r}")
        if not 1 <= len(self.description) <= 256:
            raise ValueError(f"command description must be 1-256 characters: {self.command!r}")

    def to_api(self) -> dict[str, str]:
        """The Bot API BotCommand object."""
        return {"command": self.command, "description": self.description}
