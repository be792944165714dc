"""Sending and editing text: HTML validation, limits, markup, not-modified, deletion, actions, commands."""

from __future__ import annotations

import httpx
import pytest

from tools.fakegram import FakeTelegram

from .support import USER, api, fails, keyboard, ok

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


@pytest.fixture
def chat(fake: FakeTelegram) -> int:
    return fake.create_private_chat(USER, topics_enabled=False)


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("a <foo> b", 'Unsupported start tag "foo" at byte offset 2'),
        ("é<b>x</i>", 'Unmatched end tag at byte offset 6, expected "</b>", found "</i>"'),
    ],
)
async def test_html_errors_are_exact(client: httpx.AsyncClient, chat: int, html: str, error: str) -> None:
    await fails(
        client,
        "sendMessage",
        400,
        f"Bad Request: can't parse entities: {error}",
        chat_id=chat,
        text=html,
        parse_mode="HTML",
    )


async def test_html_is_parsed_trimmed_and_stored(
    client: httpx.AsyncClient, fake: FakeTelegram, chat: int
) -> None:
    html = '  <b>bold</b> &amp; <a href="https://example.org">link</a> AT&T\n\n'
    sent = await ok(client, "sendMessage", chat_id=chat, text=html, parse_mode="html")
    assert sent["text"] == "bold & link AT&T"
    assert sent["entities"] == [
        {"type": "bold", "offset": 0, "length": 4},
        {"type": "text_link", "offset": 7, "length": 4, "url": "https://example.org/"},
    ]
    (stored,) = fake.bot_messages(chat)
    assert stored.raw == html and stored.parse_mode == "html" and stored.text == "bold & link AT&T"
    # Without parse_mode the markup is plain text.
    plain = await ok(client, "sendMessage", chat_id=chat, text="<b>x</b>")
    assert plain["text"] == "<b>x</b>" and "entities" not in plain


async def test_unsupported_parse_mode(client: httpx.AsyncClient, chat: int) -> None:
    await fails(
        client,
        "sendMessage",
        400,
        "Bad Request: unsupported parse_mode",
        chat_id=chat,
        text="x",
        parse_mode="BBCode",
    )


async def test_length_limits_count_code_points_after_parsing(client: httpx.AsyncClient, chat: int) -> None:
    await ok(client, "sendMessage", chat_id=chat, text="😀" * 4096)  # 8192 UTF-16 units, 4096 code points
    await ok(client, "sendMessage", chat_id=chat, text="<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
    await ok(client, "sendMessage", chat_id=chat, text="a" * 4096 + "   ")  # trailing spaces are trimmed
    await fails(client, "sendMessage", 400, "Bad Request: message is too long", chat_id=chat, text="a" * 4097)
    await fails(client, "sendMessage", 400, "Bad Request: text is too long", chat_id=chat, text="a" * 40000)


async def test_empty_texts(client: httpx.AsyncClient, chat: int) -> None:
    await fails(client, "sendMessage", 400, "Bad Request: message text is empty", chat_id=chat, text="")
    await fails(client, "sendMessage", 400, "Bad Request: message text is empty", chat_id=chat)
    await fails(client, "sendMessage", 400, "Bad Request: text must be non-empty", chat_id=chat, text=" \n ")
    await fails(
        client,
        "sendMessage",
        400,
        "Bad Request: text must be non-empty",
        chat_id=chat,
        text="<b></b>",
        parse_mode="HTML",
    )


async def test_chat_not_found_and_blocked(client: httpx.AsyncClient, fake: FakeTelegram, chat: int) -> None:
    await fails(client, "sendMessage", 400, "Bad Request: chat not found", chat_id=424242, text="x")
    await fails(client, "sendMessage", 400, "Bad Request: chat_id is empty", text="x")
    fake.user_blocks_bot(chat)
    await fails(client, "sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=chat, text="x")


async def test_callback_data_must_be_1_to_64_bytes(client: httpx.AsyncClient, chat: int) -> None:
    await ok(client, "sendMessage", chat_id=chat, text="x", reply_markup=keyboard("a" * 64))
    for bad in ("a" * 65, "é" * 33, ""):
        await fails(
            client,
            "sendMessage",
            400,
            "Bad Request: BUTTON_DATA_INVALID",
            chat_id=chat,
            text="x",
            reply_markup=keyboard(bad),
        )
    await fails(
        client,
        "sendMessage",
        400,
        'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays',
        chat_id=chat,
        text="x",
        reply_markup={"inline_keyboard": [{"text": "a"}]},
    )
    await fails(
        client,
        "sendMessage",
        400,
        "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
        chat_id=chat,
        text="x",
        reply_markup={"inline_keyboard": [[{"text": "a"}]]},
    )


async def test_edit_text_history_and_not_modified(
    client: httpx.AsyncClient, fake: FakeTelegram, chat: int
) -> None:
    fake.telegram_budget = False  # headroom: five sends and edits to one chat within a second
    sent = await ok(
        client, "sendMessage", chat_id=chat, text="<b>v1</b>", parse_mode="HTML", reply_markup=keyboard("k")
    )
    mid = sent["message_id"]
    # Same parsed text, entities and markup, even with different HTML spelling: not modified.
    await fails(
        client,
        "editMessageText",
        400,
        NOT_MODIFIED,
        chat_id=chat,
        message_id=mid,
        text="<strong>v1</strong>  ",
        parse_mode="HTML",
        reply_markup=keyboard("k"),
    )
    # Dropping the markup is a modification.
    edited = await ok(
        client, "editMessageText", chat_id=chat, message_id=mid, text="<b>v1</b>", parse_mode="HTML"
    )
    assert "reply_markup" not in edited and "edit_date" in edited
    await ok(client, "editMessageText", chat_id=chat, message_id=mid, text="v2")
    (stored,) = fake.bot_messages(chat)
    assert stored.text == "v2" and stored.entities == ()
    assert [v.raw for v in stored.history] == ["<b>v1</b>", "<b>v1</b>"]
    assert stored.history[0].reply_markup == keyboard("k")
    await ok(client, "editMessageReplyMarkup", chat_id=chat, message_id=mid, reply_markup=keyboard("z"))
    await fails(
        client,
        "editMessageReplyMarkup",
        400,
        NOT_MODIFIED,
        chat_id=chat,
        message_id=mid,
        reply_markup=keyboard("z"),
    )
    assert fake.bot_messages(chat)[0].reply_markup == keyboard("z")


async def test_edit_and_delete_not_found(client: httpx.AsyncClient, fake: FakeTelegram, chat: int) -> None:
    await fails(
        client,
        "editMessageText",
        400,
        "Bad Request: message to edit not found",
        chat_id=chat,
        message_id=777,
        text="x",
    )
    mid = (await ok(client, "sendMessage", chat_id=chat, text="bye"))["message_id"]
    assert await ok(client, "deleteMessage", chat_id=chat, message_id=mid) is True
    await fails(
        client, "deleteMessage", 400, "Bad Request: message to delete not found", chat_id=chat, message_id=mid
    )
    await fails(
        client,
        "editMessageText",
        400,
        "Bad Request: message to edit not found",
        chat_id=chat,
        message_id=mid,
        text="x",
    )
    assert fake.bot_messages(chat) == []
    assert fake.bot_messages(chat, include_deleted=True)[0].deleted is True
    user_mid = fake.user_sends_text(chat, USER, "mine")["message_id"]
    await fails(
        client,
        "editMessageText",
        400,
        "Bad Request: message can't be edited",
        chat_id=chat,
        message_id=user_mid,
        text="x",
    )


async def test_chat_actions(client: httpx.AsyncClient, fake: FakeTelegram) -> None:
    group = fake.create_forum_group("G")
    thread = fake.user_creates_topic(group, USER, "t")
    assert (
        await ok(client, "sendChatAction", chat_id=group, message_thread_id=thread, action="typing") is True
    )
    await fails(
        client,
        "sendChatAction",
        400,
        "Bad Request: wrong parameter action in request",
        chat_id=group,
        action="dancing",
    )
    assert [(a.chat_id, a.thread_id, a.action) for a in fake.chat_actions] == [(group, thread, "typing")]


async def test_commands_round_trip_per_scope(client: httpx.AsyncClient, fake: FakeTelegram) -> None:
    commands = [
        {"command": "new", "description": "Start a session"},
        {"command": "stop", "description": "Stop"},
    ]
    assert await ok(client, "setMyCommands", commands=commands) is True
    scope = {"type": "all_group_chats"}
    await ok(client, "setMyCommands", commands=commands[:1], scope=scope)
    assert await ok(client, "getMyCommands") == commands
    assert await ok(client, "getMyCommands", scope=scope) == commands[:1]
    assert fake.get_commands() == commands
    await fails(
        client,
        "setMyCommands",
        400,
        "Bad Request: BOT_COMMAND_INVALID",
        commands=[{"command": "Bad Command", "description": "x"}],
    )
    status, body = await api(client, "setMyCommands", commands="{not json")
    assert (status, body["description"]) == (400, "Bad Request: can't parse commands JSON object")
    await ok(client, "deleteMyCommands")
    assert await ok(client, "getMyCommands") == []


async def test_reply_to_missing_message(client: httpx.AsyncClient, chat: int) -> None:
    await fails(
        client,
        "sendMessage",
        400,
        "Bad Request: message to be replied not found",
        chat_id=chat,
        text="x",
        reply_parameters={"message_id": 999},
    )
    first = await ok(client, "sendMessage", chat_id=chat, text="first")
    reply = await ok(
        client, "sendMessage", chat_id=chat, text="second", reply_to_message_id=first["message_id"]
    )
    assert reply["reply_to_message"]["text"] == "first"


async def test_drafts_only_in_private_chats(client: httpx.AsyncClient, fake: FakeTelegram, chat: int) -> None:
    assert (
        await ok(
            client, "sendMessageDraft", chat_id=chat, draft_id=7, text="<i>thinking</i>", parse_mode="HTML"
        )
        is True
    )
    group = fake.create_forum_group("G")
    status, _ = await api(client, "sendMessageDraft", chat_id=group, draft_id=7, text="x")
    assert status == 400
    (frame,) = fake.drafts
    assert (frame.chat_id, frame.draft_id, frame.text) == (chat, 7, "thinking")
