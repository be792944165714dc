"""ccbot.telegram.types: parsing recorded-shaped Bot API JSON, routing properties, outbound helpers.

The payloads below are written by hand after the Bot API docs and the telegram-bot-api server's JSON
writers (field names, which fields are omitted when false/absent, InaccessibleMessage's date 0).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccbot.telegram.types import (
    BotCommand,
    CallbackQuery,
    Chat,
    File,
    InaccessibleMessage,
    InlineButton,
    InlineKeyboard,
    Message,
    MessageEntity,
    Update,
    User,
    utf16_prefix,
)

ADA = {"id": 111222333, "is_bot": False, "first_name": "Ada", "username": "ada_dev", "language_code": "en"}
FORUM = {"id": -1001234567890, "title": "codex lab", "is_forum": True, "type": "supergroup"}
PRIVATE = {"id": 111222333, "first_name": "Ada", "username": "ada_dev", "type": "private"}
BOT = {"id": 7000000001, "is_bot": True, "first_name": "ccbot", "username": "ccbot_dev_bot"}

TOPIC_CREATED = {
    "message_id": 4410,
    "from": ADA,
    "chat": FORUM,
    "date": 1760000000,
    "message_thread_id": 4410,
    "forum_topic_created": {"name": "refactor-parser", "icon_color": 7322096},
    "is_topic_message": True,
}

FORUM_TOPIC_TEXT = {
    "update_id": 815000101,
    "message": {
        "message_id": 4521,
        "from": ADA,
        "chat": FORUM,
        "date": 1760000100,
        "message_thread_id": 4410,
        "reply_to_message": TOPIC_CREATED,
        "text": "run the tests please",
        "is_topic_message": True,
    },
}

GENERAL_TEXT = {
    "update_id": 815000102,
    "message": {"message_id": 4522, "from": ADA, "chat": FORUM, "date": 1760000101, "text": "hello general"},
}

# A reply thread in a non-forum supergroup carries message_thread_id but is not a topic.
REPLY_THREAD_TEXT = {
    "update_id": 815000103,
    "message": {
        "message_id": 90,
        "from": ADA,
        "chat": {"id": -1009999999999, "title": "plain group", "type": "supergroup"},
        "date": 1760000102,
        "message_thread_id": 77,
        "reply_to_message": {
            "message_id": 77,
            "from": ADA,
            "chat": {"id": -1009999999999, "title": "plain group", "type": "supergroup"},
            "date": 1760000000,
            "text": "root",
        },
        "text": "a reply",
    },
}

PRIVATE_TOPIC_TEXT = {
    "update_id": 815000104,
    "message": {
        "message_id": 312,
        "from": ADA,
        "chat": PRIVATE,
        "date": 1760000200,
        "message_thread_id": 305,
        "text": "/status",
        "entities": [{"offset": 0, "length": 7, "type": "bot_command"}],
        "is_topic_message": True,
    },
}

CALLBACK_INACCESSIBLE = {
    "update_id": 815000105,
    "callback_query": {
        "id": "4768512359401234567",
        "from": ADA,
        "message": {"chat": FORUM, "message_id": 4400, "date": 0},
        "chat_instance": "-8312345678901234567",
        "data": "perm:yes:@3",
    },
}

CALLBACK_IN_TOPIC = {
    "update_id": 815000106,
    "callback_query": {
        "id": "4768512359401234568",
        "from": ADA,
        "message": {
            "message_id": 4530,
            "from": BOT,
            "chat": FORUM,
            "date": 1760000300,
            "message_thread_id": 4410,
            "text": "Allow command?",
            "reply_markup": {"inline_keyboard": [[{"text": "Yes", "callback_data": "perm:yes:@3"}]]},
            "is_topic_message": True,
        },
        "chat_instance": "-8312345678901234567",
        "data": "perm:yes:@3",
    },
}

VOICE = {
    "update_id": 815000107,
    "message": {
        "message_id": 4531,
        "from": ADA,
        "chat": FORUM,
        "date": 1760000400,
        "message_thread_id": 4410,
        "voice": {
            "duration": 4,
            "mime_type": "audio/ogg",
            "file_id": "AwACAgIAAxkBAAIRQ2d-voice",
            "file_unique_id": "AgADq1oAAkLw",
            "file_size": 15234,
        },
        "is_topic_message": True,
    },
}

PHOTO = {
    "update_id": 815000108,
    "message": {
        "message_id": 4532,
        "from": ADA,
        "chat": FORUM,
        "date": 1760000500,
        "message_thread_id": 4410,
        "photo": [
            {
                "file_id": "AgAC-small",
                "file_unique_id": "AQADs",
                "file_size": 1302,
                "width": 90,
                "height": 51,
            },
            {
                "file_id": "AgAC-medium",
                "file_unique_id": "AQADm",
                "file_size": 16853,
                "width": 320,
                "height": 180,
            },
            {
                "file_id": "AgAC-large",
                "file_unique_id": "AQADl",
                "file_size": 70411,
                "width": 1280,
                "height": 720,
            },
        ],
        "caption": "this error",
        "is_topic_message": True,
    },
}

DOCUMENT = {
    "update_id": 815000109,
    "message": {
        "message_id": 4533,
        "from": ADA,
        "chat": FORUM,
        "date": 1760000600,
        "message_thread_id": 4410,
        "document": {
            "file_name": "trace.log",
            "mime_type": "text/plain",
            "file_id": "BQACAgIAAxkBAAIRRWd-doc",
            "file_unique_id": "AgADr1oAAkLw",
            "file_size": 2048,
        },
        "is_topic_message": True,
    },
}

TOPIC_CREATED_UPDATE = {"update_id": 815000110, "message": TOPIC_CREATED}

PRIVATE_TOPIC_CREATED_IMPLICIT = {
    "update_id": 815000111,
    "message": {
        "message_id": 320,
        "from": ADA,
        "chat": PRIVATE,
        "date": 1760000700,
        "message_thread_id": 320,
        "forum_topic_created": {"name": "New Topic", "icon_color": 16766590, "is_name_implicit": True},
        "is_topic_message": True,
    },
}

TOPIC_CLOSED = {
    "update_id": 815000112,
    "message": {
        "message_id": 4540,
        "from": ADA,
        "chat": FORUM,
        "date": 1760000800,
        "message_thread_id": 4410,
        "forum_topic_closed": {},
        "is_topic_message": True,
    },
}

TOPIC_REOPENED = {
    "update_id": 815000113,
    "message": {
        "message_id": 4541,
        "from": ADA,
        "chat": FORUM,
        "date": 1760000801,
        "message_thread_id": 4410,
        "forum_topic_reopened": {},
        "is_topic_message": True,
    },
}

TOPIC_EDITED = {
    "update_id": 815000114,
    "message": {
        "message_id": 4542,
        "from": ADA,
        "chat": FORUM,
        "date": 1760000802,
        "message_thread_id": 4410,
        "forum_topic_edited": {"name": "parser-v2"},
        "is_topic_message": True,
    },
}

TOPIC_ICON_EDITED = {
    "update_id": 815000115,
    "message": {
        "message_id": 4543,
        "from": ADA,
        "chat": FORUM,
        "date": 1760000803,
        "message_thread_id": 4410,
        "forum_topic_edited": {"icon_custom_emoji_id": ""},
        "is_topic_message": True,
    },
}

EDITED = {
    "update_id": 815000116,
    "edited_message": {
        "message_id": 4521,
        "from": ADA,
        "chat": FORUM,
        "date": 1760000100,
        "edit_date": 1760000160,
        "message_thread_id": 4410,
        "text": "run the unit tests please",
        "is_topic_message": True,
    },
}

MY_CHAT_MEMBER = {
    "update_id": 815000117,
    "my_chat_member": {
        "chat": FORUM,
        "from": ADA,
        "date": 1760000900,
        "old_chat_member": {"user": BOT, "status": "member"},
        "new_chat_member": {"user": BOT, "status": "administrator", "can_manage_topics": True},
    },
}

MESSAGE_REACTION = {
    "update_id": 815000118,
    "message_reaction": {
        "chat": FORUM,
        "message_id": 4530,
        "user": ADA,
        "date": 1760000901,
        "old_reaction": [],
        "new_reaction": [{"type": "emoji", "emoji": "👍"}],
    },
}

POLL = {
    "update_id": 815000119,
    "poll": {"id": "5301", "question": "?", "options": [], "total_voter_count": 0, "is_closed": True},
}


def test_forum_topic_message() -> None:
    update = Update.from_api(FORUM_TOPIC_TEXT)
    assert update.kind == "message"
    assert update.update_id == 815000101
    msg = update.message
    assert msg is not None
    assert msg.chat == Chat(id=-1001234567890, type="supergroup", title="codex lab", is_forum=True)
    assert msg.from_user == User(id=111222333, is_bot=False, first_name="Ada", username="ada_dev")
    assert msg.text == "run the tests please"
    assert msg.topic_id == 4410
    assert msg.command is None
    assert update.sender_id == 111222333
    assert not update.malformed


def test_general_topic_message_has_no_topic() -> None:
    msg = Update.from_api(GENERAL_TEXT).message
    assert msg is not None
    assert msg.message_thread_id is None
    assert msg.topic_id is None


def test_reply_thread_in_plain_supergroup_is_not_a_topic() -> None:
    msg = Update.from_api(REPLY_THREAD_TEXT).message
    assert msg is not None
    assert msg.message_thread_id == 77
    assert msg.is_topic_message is False
    assert msg.topic_id is None


def test_private_chat_topic_with_command() -> None:
    msg = Update.from_api(PRIVATE_TOPIC_TEXT).message
    assert msg is not None
    assert msg.chat.type == "private"
    assert msg.chat.is_forum is False
    assert msg.topic_id == 305
    assert msg.entities == (MessageEntity(type="bot_command", offset=0, length=7),)
    assert msg.command == ("status", "", None)


def test_callback_with_inaccessible_message() -> None:
    update = Update.from_api(CALLBACK_INACCESSIBLE)
    assert update.kind == "callback_query"
    cq = update.callback_query
    assert cq is not None
    assert cq.data == "perm:yes:@3"
    assert cq.chat_instance == "-8312345678901234567"
    assert isinstance(cq.message, InaccessibleMessage)
    assert cq.message.chat.id == -1001234567890
    assert cq.message.message_id == 4400
    assert cq.message.topic_id is None
    assert update.sender_id == 111222333


def test_callback_with_message_routes_to_topic() -> None:
    cq = Update.from_api(CALLBACK_IN_TOPIC).callback_query
    assert cq is not None
    assert isinstance(cq.message, Message)
    assert cq.message.topic_id == 4410
    assert cq.message.has_reply_markup
    assert cq.message.from_user is not None and cq.message.from_user.is_bot
    assert cq.from_user.id == 111222333


def test_voice_message() -> None:
    msg = Update.from_api(VOICE).message
    assert msg is not None
    assert msg.voice is not None
    assert msg.voice.file_id == "AwACAgIAAxkBAAIRQ2d-voice"
    assert msg.voice.duration == 4
    assert msg.voice.mime_type == "audio/ogg"
    assert msg.voice.file_size == 15234
    assert msg.text is None
    assert msg.command is None


def test_photo_message_keeps_sizes_in_order() -> None:
    msg = Update.from_api(PHOTO).message
    assert msg is not None
    assert [p.width for p in msg.photo] == [90, 320, 1280]
    assert msg.photo[-1].file_id == "AgAC-large"
    assert msg.caption == "this error"


def test_document_message() -> None:
    msg = Update.from_api(DOCUMENT).message
    assert msg is not None
    assert msg.document is not None
    assert msg.document.file_name == "trace.log"
    assert msg.document.mime_type == "text/plain"
    assert msg.document.file_size == 2048


def test_topic_created_in_forum() -> None:
    msg = Update.from_api(TOPIC_CREATED_UPDATE).message
    assert msg is not None
    assert msg.forum_topic_created is not None
    assert msg.forum_topic_created.name == "refactor-parser"
    assert msg.forum_topic_created.icon_color == 7322096
    assert msg.forum_topic_created.is_name_implicit is False
    # In supergroups the topic id is the message_id of its creation message.
    assert msg.topic_id == msg.message_id == 4410


def test_private_topic_created_with_implicit_name() -> None:
    msg = Update.from_api(PRIVATE_TOPIC_CREATED_IMPLICIT).message
    assert msg is not None
    assert msg.forum_topic_created is not None
    assert msg.forum_topic_created.is_name_implicit is True
    assert msg.topic_id == 320


def test_topic_closed_reopened_edited() -> None:
    closed = Update.from_api(TOPIC_CLOSED).message
    reopened = Update.from_api(TOPIC_REOPENED).message
    edited = Update.from_api(TOPIC_EDITED).message
    icon_only = Update.from_api(TOPIC_ICON_EDITED).message
    assert closed is not None and reopened is not None and edited is not None and icon_only is not None
    assert (closed.forum_topic_closed, closed.forum_topic_reopened) == (True, False)
    assert (reopened.forum_topic_closed, reopened.forum_topic_reopened) == (False, True)
    assert edited.forum_topic_edited_name == "parser-v2"
    assert icon_only.forum_topic_edited_name is None
    plain = Update.from_api(FORUM_TOPIC_TEXT).message
    assert plain is not None
    assert not plain.forum_topic_closed and not plain.forum_topic_reopened
    assert plain.forum_topic_created is None and plain.forum_topic_edited_name is None


def test_edited_message() -> None:
    update = Update.from_api(EDITED)
    assert update.kind == "edited_message"
    assert update.message is None
    assert update.edited_message is not None
    assert update.edited_message.edit_date == 1760000160
    assert update.edited_message.topic_id == 4410
    assert update.sender_id == 111222333


@pytest.mark.parametrize(
    ("payload", "kind", "sender"),
    [
        (MY_CHAT_MEMBER, "my_chat_member", 111222333),
        (MESSAGE_REACTION, "message_reaction", 111222333),
        (POLL, "poll", None),
    ],
)
def test_unknown_kinds_keep_their_name_and_sender(
    payload: dict[str, Any], kind: str, sender: int | None
) -> None:
    update = Update.from_api(payload)
    assert update.kind == kind
    assert (update.message, update.edited_message, update.callback_query) == (None, None, None)
    assert update.sender_id == sender
    assert not update.malformed


def test_malformed_known_kind_is_flagged_not_raised() -> None:
    update = Update.from_api(
        {"update_id": 5, "message": {"message_id": 1, "from": ADA, "date": 0}}
    )  # no chat
    assert update.kind == "message"
    assert update.malformed
    assert update.message is None
    assert update.sender_id == 111222333


def test_missing_update_id_raises() -> None:
    with pytest.raises(KeyError):
        Update.from_api({"message": FORUM_TOPIC_TEXT["message"]})


def test_get_me_user_flags() -> None:
    me = User.from_api(
        {**BOT, "can_join_groups": True, "can_read_all_group_messages": True, "has_topics_enabled": True}
    )
    assert me.username == "ccbot_dev_bot"
    assert me.has_topics_enabled and me.can_read_all_group_messages


def test_file() -> None:
    f = File.from_api(
        {"file_id": "x", "file_unique_id": "u", "file_size": 15234, "file_path": "voice/file_7.oga"}
    )
    assert f.file_path == "voice/file_7.oga"
    assert File.from_api({"file_id": "x", "file_unique_id": "u"}).file_path is None


ALL_SAMPLES = [
    FORUM_TOPIC_TEXT,
    GENERAL_TEXT,
    REPLY_THREAD_TEXT,
    PRIVATE_TOPIC_TEXT,
    CALLBACK_INACCESSIBLE,
    CALLBACK_IN_TOPIC,
    VOICE,
    PHOTO,
    DOCUMENT,
    TOPIC_CREATED_UPDATE,
    PRIVATE_TOPIC_CREATED_IMPLICIT,
    TOPIC_CLOSED,
    TOPIC_REOPENED,
    TOPIC_EDITED,
    TOPIC_ICON_EDITED,
    EDITED,
    MY_CHAT_MEMBER,
    MESSAGE_REACTION,
    POLL,
]

_json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
_extra_keys = st.dictionaries(
    st.text(min_size=1, max_size=8).map(lambda k: "zz_" + k), _json_scalars, max_size=3
)


def _add_extras(node: Any, extras: dict[str, Any]) -> Any:
    """Add ``extras`` to every JSON object in ``node`` (recursively)."""
    if isinstance(node, dict):
        return {**{k: _add_extras(v, extras) for k, v in node.items()}, **extras}
    if isinstance(node, list):
        return [_add_extras(v, extras) for v in node]
    return node


@settings(deadline=None)
@given(st.sampled_from(ALL_SAMPLES), _extra_keys)
def test_unknown_keys_are_ignored(sample: dict[str, Any], extras: dict[str, Any]) -> None:
    plain = Update.from_api(sample)
    noisy = _add_extras(copy.deepcopy(sample), extras)
    assert Update.from_api(noisy) == plain
    assert not plain.malformed


# -- commands -----------------------------------------------------------------------------------


def _text_message(text: str, entities: list[dict[str, Any]] | None = None) -> Message:
    raw: dict[str, Any] = {"message_id": 1, "chat": FORUM, "date": 1, "text": text}
    if entities is not None:
        raw["entities"] = entities
    return Message.from_api(raw)


@pytest.mark.parametrize(
    ("text", "entities", "expected"),
    [
        ("/start", None, ("start", "", None)),
        ("/Start@CcBot_dev_bot  fix the bug ", None, ("start", "fix the bug", "CcBot_dev_bot")),
        ("/send\nline one\nline two", None, ("send", "line one\nline two", None)),
        ("/usr/bin/env python", None, None),
        ("/", None, None),
        ("/ spaced", None, None),
        ("hello /start", None, None),
        ("/cmd😀 rest", None, None),
        # With an entity Telegram decides the command's extent; the args may hold astral characters.
        ("/esc 😀 x", [{"type": "bot_command", "offset": 0, "length": 4}], ("esc", "😀 x", None)),
        (
            "/kill@ccbot_dev_bot 3",
            [{"type": "bot_command", "offset": 0, "length": 19}],
            ("kill", "3", "ccbot_dev_bot"),
        ),
        # An entity that does not start at 0 is not a leading command.
        ("say /start", [{"type": "bot_command", "offset": 4, "length": 6}], None),
        # An entity cutting a surrogate pair is ignored rather than crashing.
        ("/😀", [{"type": "bot_command", "offset": 0, "length": 2}], None),
    ],
)
def test_command_examples(
    text: str, entities: list[dict[str, Any]] | None, expected: tuple[str, str, str | None] | None
) -> None:
    assert _text_message(text, entities).command == expected


_names = st.from_regex(r"[A-Za-z0-9_]{1,32}", fullmatch=True)
_bots = st.none() | st.from_regex(r"[A-Za-z0-9_]{5,32}", fullmatch=True)
_args = st.text(max_size=40)


@given(_names, _bots, _args, st.sampled_from([" ", "\n", "  \t"]), st.booleans())
def test_command_round_trip(name: str, bot: str | None, args: str, sep: str, with_entity: bool) -> None:
    token = "/" + name + ("" if bot is None else "@" + bot)
    text = token + (sep + args if args else "")
    entities = [{"type": "bot_command", "offset": 0, "length": len(token)}] if with_entity else None
    assert _text_message(text, entities).command == (name.lower(), args.strip(), bot)


@given(st.text(min_size=1).filter(lambda t: not t.startswith("/")))
def test_text_not_starting_with_slash_is_never_a_command(text: str) -> None:
    assert _text_message(text).command is None


@given(st.text(max_size=30), st.integers(min_value=0, max_value=70))
def test_utf16_prefix_agrees_with_utf16_length(text: str, units: int) -> None:
    prefix = utf16_prefix(text, units)
    if prefix is not None:
        assert text.startswith(prefix)
        assert len(prefix.encode("utf-16-le")) // 2 == min(units, len(text.encode("utf-16-le")) // 2)


# -- outbound helpers ---------------------------------------------------------------------------


def test_inline_keyboard_to_api() -> None:
    yes, no, esc = (
        InlineButton("Yes", "perm:yes:@3"),
        InlineButton("No", "perm:no:@3"),
        InlineButton("Esc", "key:esc:@3"),
    )
    kb = InlineKeyboard(((yes, no), (esc,)))
    assert kb.to_api() == {
        "inline_keyboard": [
            [{"text": "Yes", "callback_data": "perm:yes:@3"}, {"text": "No", "callback_data": "perm:no:@3"}],
            [{"text": "Esc", "callback_data": "key:esc:@3"}],
        ]
    }
    # Rows passed as lists are frozen into tuples, so keyboards stay hashable and comparable.
    from_lists = InlineKeyboard([[yes, no], [esc]])  # type: ignore[arg-type]
    assert from_lists == kb
    assert hash(from_lists) == hash(kb)


def test_callback_data_limit_is_64_utf8_bytes() -> None:
    InlineButton("ok", "x" * 64)
    InlineButton("ok", "é" * 32)  # 64 bytes
    with pytest.raises(ValueError, match="1-64 bytes"):
        InlineButton("ok", "é" * 32 + "x")  # 65 bytes, only 33 characters
    with pytest.raises(ValueError, match="1-64 bytes"):
        InlineButton("ok", "")
    with pytest.raises(ValueError, match="empty"):
        InlineButton("", "data")


def test_bot_command_validation() -> None:
    assert BotCommand("new_window", "Open a Codex window").to_api() == {
        "command": "new_window",
        "description": "Open a Codex window",
    }
    for bad in ["", "Start", "with-dash", "x" * 33, "/start"]:
        with pytest.raises(ValueError):
            BotCommand(bad, "d")
    BotCommand("x" * 32, "d" * 256)
    with pytest.raises(ValueError):
        BotCommand("ok", "")
    with pytest.raises(ValueError):
        BotCommand("ok", "d" * 257)


def test_callback_query_without_message() -> None:
    cq = CallbackQuery.from_api({"id": "1", "from": ADA, "chat_instance": "5", "data": "x"})
    assert cq.message is None
    assert cq.data == "x"


def test_kind_does_not_depend_on_key_order() -> None:
    msg = FORUM_TOPIC_TEXT["message"]
    for raw in ({"message": msg, "update_id": 9}, {"update_id": 9, "zz_extra": 1, "message": msg}):
        update = Update.from_api(raw)
        assert update.kind == "message"
        assert update.message is not None and update.message.message_id == 4521
    assert Update.from_api({"poll": POLL["poll"], "update_id": 10}).kind == "poll"
    assert Update.from_api({"update_id": 11}).kind == "unknown"
