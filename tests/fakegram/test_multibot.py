"""Several bots in one fake: own queues and polls, the real server's delivery rules, per-bot inspection."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import trio

from tools.fakegram import BudgetLimits, ControlError, FakeTelegram
from tools.fakegram.__main__ import apply_setup

from .support import TOKEN, USER, keyboard

B_TOKEN = "777000111:BBB-second-bot"
B_ID = 777000111
A_ID = 123456  # the default bot's id: the head of support.TOKEN
CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
CANT_EDIT = "Bad Request: message can't be edited"
CANT_DELETE = "Bad Request: message can't be deleted"
NOT_A_MEMBER = "Forbidden: bot is not a member of the supergroup chat"


async def call(client: httpx.AsyncClient, token: str, method: str, **params: Any) -> tuple[int, Any]:
    response = await client.post(f"/bot{token}/{method}", json=params)
    return response.status_code, response.json()


async def ok(client: httpx.AsyncClient, token: str, method: str, **params: Any) -> Any:
    status, body = await call(client, token, method, **params)
    assert status == 200 and body["ok"] is True, body
    return body["result"]


async def fails(client: httpx.AsyncClient, token: str, method: str, status: int, description: str,
                **params: Any) -> None:
    got, body = await call(client, token, method, **params)
    assert (got, body.get("description")) == (status, description), body


def texts(updates: list[dict[str, Any]]) -> list[str]:
    return [u["message"].get("text", "<service>") for u in updates if "message" in u]


def queued(fake: FakeTelegram, bot_id: int) -> list[str]:
    """Texts of the messages waiting in one bot's update queue."""
    return texts([u.to_api() for u in fake.bot_account(bot_id).updates])


@pytest.fixture
def group(fake: FakeTelegram) -> int:
    """A forum where both bots are members; admin rights as each test sets them."""
    assert fake.add_bot(B_TOKEN, "bravo_bot", "Bravo") == B_ID
    return fake.create_forum_group("Shared", bot_ids=[A_ID, B_ID])


async def test_each_bot_is_itself(client: httpx.AsyncClient, fake: FakeTelegram, group: int) -> None:
    me_a = await ok(client, TOKEN, "getMe")
    me_b = await ok(client, B_TOKEN, "getMe")
    assert (me_a["id"], me_a["username"]) == (A_ID, "fakegram_bot")
    assert (me_b["id"], me_b["username"], me_b["first_name"]) == (B_ID, "bravo_bot", "Bravo")
    assert me_b["is_bot"] is True
    assert (await call(client, "777000111:wrong-secret", "getMe"))[0] == 401
    for token, name in ((B_TOKEN, "other"), ("9:x", "bravo_bot"), ("9:x", "BRAVO_BOT"), ("nodigits", "z")):
        with pytest.raises(ControlError):
            fake.add_bot(token, name)
    # Each send is by the calling bot, and only the calling bot can edit or delete (without admin rights).
    fake.set_bot_admin(group, False, bot_id=A_ID)
    fake.set_bot_admin(group, False, bot_id=B_ID)
    sent_b = await ok(client, B_TOKEN, "sendMessage", chat_id=group, text="from B")
    sent_a = await ok(client, TOKEN, "sendMessage", chat_id=group, text="from A")
    assert (sent_b["from"]["id"], sent_a["from"]["id"]) == (B_ID, A_ID)
    await fails(client, TOKEN, "editMessageText", 400, CANT_EDIT, chat_id=group,
                message_id=sent_b["message_id"], text="hijack")
    b_msg = sent_b["message_id"]
    await fails(client, TOKEN, "deleteMessage", 400, CANT_DELETE, chat_id=group, message_id=b_msg)
    assert await ok(client, B_TOKEN, "editMessageText", chat_id=group, message_id=b_msg, text="B2")
    fake.set_bot_admin(group, True, bot_id=A_ID)  # an admin may delete anyone's message
    assert await ok(client, TOKEN, "deleteMessage", chat_id=group, message_id=sent_b["message_id"]) is True
    assert [m.text for m in fake.bot_messages(group)] == ["from A"]
    assert [m.text for m in fake.bot_messages(group, include_deleted=True, bot_id=B_ID)] == ["B2"]
    assert [c.http_status for c in fake.calls_to("editMessageText", bot_id=A_ID)] == [400]
    assert [c.http_status for c in fake.calls_to("editMessageText", bot_id=B_ID)] == [200]


async def test_user_messages_reach_every_member_bot_but_bot_messages_reach_none(
    client: httpx.AsyncClient, fake: FakeTelegram, group: int
) -> None:
    topic = fake.user_creates_topic(group, USER, "work")
    fake.user_sends_text(group, USER, "hello both", thread_id=topic)
    await ok(client, TOKEN, "sendMessage", chat_id=group, message_thread_id=topic, text="A speaks")
    await ok(client, B_TOKEN, "sendMessage", chat_id=group, message_thread_id=topic, text="B speaks")
    await ok(client, B_TOKEN, "createForumTopic", chat_id=group, name="by B")
    fake.user_sends_text(group, USER, "/new@bravo_bot", thread_id=topic)
    got_a = await ok(client, TOKEN, "getUpdates")
    got_b = await ok(client, B_TOKEN, "getUpdates")
    # Both admins (no privacy filter): the same user messages, none of the bots' ones, own update ids.
    assert texts(got_a) == texts(got_b) == ["<service>", "hello both", "/new@bravo_bot"]
    assert [u["update_id"] for u in got_a] == [u["update_id"] for u in got_b] == [1000, 1001, 1002]
    assert got_b[2]["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 14}]
    # Confirming in one queue leaves the other alone.
    assert await ok(client, TOKEN, "getUpdates", offset=1003) == []
    assert len(await ok(client, B_TOKEN, "getUpdates")) == 3
    # A bot outside the group gets nothing, and may not write there.
    c_id = fake.add_bot("555:CCC", "charlie_bot")
    fake.user_sends_text(group, USER, "more", thread_id=topic)
    assert fake.bot_account(c_id).updates == []
    await fails(client, "555:CCC", "sendMessage", 403, NOT_A_MEMBER, chat_id=group, text="hi")
    fake.add_bot_to_chat(group, c_id, is_admin=False)
    await ok(client, "555:CCC", "sendMessage", chat_id=group, text="hi")


async def test_privacy_mode_per_bot(client: httpx.AsyncClient, fake: FakeTelegram, group: int) -> None:
    fake.set_bot_admin(group, False, bot_id=A_ID)
    fake.set_bot_admin(group, False, bot_id=B_ID)
    topic = fake.user_creates_topic(group, USER, "work")  # service messages: both
    sent_b = await ok(client, B_TOKEN, "sendMessage", chat_id=group, message_thread_id=topic, text="B asks")
    fake.user_sends_text(group, USER, "plain text", thread_id=topic)  # nobody
    fake.user_sends_text(group, USER, "/new@BRAVO_BOT", thread_id=topic)  # B only (usernames: any case)
    fake.user_sends_text(group, USER, "/new@fakegram_bot", thread_id=topic)  # A only
    fake.user_sends_text(group, USER, "/help", thread_id=topic)  # both
    fake.user_sends_text(group, USER, "answer", thread_id=topic, reply_to=sent_b["message_id"])  # B only
    got_a = await ok(client, TOKEN, "getUpdates")
    got_b = await ok(client, B_TOKEN, "getUpdates")
    assert texts(got_a) == ["<service>", "/new@fakegram_bot", "/help"]
    assert texts(got_b) == ["<service>", "/new@BRAVO_BOT", "/help", "answer"]
    # Privacy off for B alone: it now sees plain text, A still does not.
    fake.bot_account(B_ID).can_read_all_group_messages = True
    fake.user_sends_text(group, USER, "now visible to B", thread_id=topic)
    assert texts(await ok(client, TOKEN, "getUpdates", offset=got_a[-1]["update_id"] + 1)) == []
    assert texts(await ok(client, B_TOKEN, "getUpdates", offset=got_b[-1]["update_id"] + 1)) == [
        "now visible to B"
    ]


async def test_callback_queries_go_to_the_sender_bot_only(
    client: httpx.AsyncClient, fake: FakeTelegram, group: int
) -> None:
    sent_b = await ok(client, B_TOKEN, "sendMessage", chat_id=group, text="Pick", reply_markup=keyboard("x"))
    sent_a = await ok(client, TOKEN, "sendMessage", chat_id=group, text="Pick", reply_markup=keyboard("y"))
    q_b = fake.user_presses(group, USER, sent_b["message_id"], "x")
    q_a = fake.user_presses(group, USER, sent_a["message_id"], "y")
    got_a = await ok(client, TOKEN, "getUpdates")
    got_b = await ok(client, B_TOKEN, "getUpdates")
    assert [u["callback_query"]["id"] for u in got_a] == [q_a]
    assert [u["callback_query"]["id"] for u in got_b] == [q_b]
    assert got_b[0]["callback_query"]["message"]["from"]["id"] == B_ID
    await fails(client, TOKEN, "answerCallbackQuery", 400, TOO_OLD, callback_query_id=q_b)
    assert await ok(client, B_TOKEN, "answerCallbackQuery", callback_query_id=q_b, text="ok") is True
    assert [(a.query_id, a.bot_id) for a in fake.callback_answers] == [(q_b, B_ID)]


async def test_long_polls_are_independent_per_bot(
    client: httpx.AsyncClient, fake: FakeTelegram, group: int
) -> None:
    fake.long_poll_max = 5.0
    results: dict[str, list[tuple[int, Any]]] = {"a1": [], "a2": [], "b": []}
    a1_done = trio.Event()

    async def poll(name: str, token: str) -> None:
        results[name].append(await call(client, token, "getUpdates", timeout=5))
        if name == "a1":
            a1_done.set()

    with trio.fail_after(4):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(poll, "a1", TOKEN)
            nursery.start_soon(poll, "b", B_TOKEN)
            await fake.wait_for(lambda: fake.polls_waiting == 1 and fake.bot_account(B_ID).polls_waiting == 1)
            # Two idle polls must not keep waking each other (that would spin the CPU).
            version = fake.version
            await trio.sleep(0.3)
            assert fake.version - version < 3
            nursery.start_soon(poll, "a2", TOKEN)  # ends A's first poll with 409, B's poll stays
            await a1_done.wait()
            await fake.wait_for(lambda: fake.polls_waiting == 1)
            assert results["b"] == [] and fake.bot_account(B_ID).polls_waiting == 1
            fake.user_sends_text(group, USER, "wake both")
    assert results["a1"] == [(409, {"ok": False, "error_code": 409, "description": CONFLICT})]
    for name in ("a2", "b"):
        ((status, body),) = results[name]
        assert status == 200 and texts(body["result"]) == ["wake both"]


async def test_per_bot_filters_commands_faults_and_actions(
    client: httpx.AsyncClient, fake: FakeTelegram, group: int
) -> None:
    await ok(client, B_TOKEN, "getUpdates", allowed_updates=json.dumps(["callback_query"]))
    fake.user_sends_text(group, USER, "text")
    assert queued(fake, A_ID) == ["text"] and fake.bot_account(B_ID).updates == []

    commands = [{"command": "new", "description": "Start a session"}]
    await ok(client, B_TOKEN, "setMyCommands", commands=commands)
    assert await ok(client, B_TOKEN, "getMyCommands") == commands
    assert await ok(client, TOKEN, "getMyCommands") == []
    assert fake.get_commands(bot_id=B_ID) == commands and fake.get_commands() == []

    fake.inject("sendMessage", kind="429", retry_after=2, bot_id=B_ID)
    await ok(client, TOKEN, "sendMessage", chat_id=group, text="A is not affected")
    await fails(client, B_TOKEN, "sendMessage", 429, "Too Many Requests: retry after 2", chat_id=group,
                text="x")
    await ok(client, B_TOKEN, "sendMessage", chat_id=group, text="B again")

    await ok(client, B_TOKEN, "sendChatAction", chat_id=group, action="typing")
    assert [(a.chat_id, a.bot_id) for a in fake.chat_actions] == [(group, B_ID)]


async def test_flood_limits_are_per_bot(client: httpx.AsyncClient, fake: FakeTelegram, group: int) -> None:
    fake.set_budget(True, BudgetLimits(chat_burst=2, chat_rate=0.01))
    for _ in range(2):
        await ok(client, TOKEN, "sendMessage", chat_id=group, text="a")
    assert (await call(client, TOKEN, "sendMessage", chat_id=group, text="a"))[0] == 429
    for _ in range(2):  # B has its own buckets with the same limits
        await ok(client, B_TOKEN, "sendMessage", chat_id=group, text="b")
    assert (await call(client, B_TOKEN, "sendMessage", chat_id=group, text="b"))[0] == 429


async def test_private_chats_belong_to_one_bot(
    client: httpx.AsyncClient, fake: FakeTelegram, group: int
) -> None:
    chat = fake.create_private_chat(USER)
    await fails(client, B_TOKEN, "sendMessage", 400, "Bad Request: chat not found", chat_id=chat, text="hi")
    with pytest.raises(ControlError):
        fake.create_private_chat(USER, bot_id=B_ID)
    fake.user_sends_text(chat, USER, "dm")
    assert queued(fake, A_ID) == ["dm"] and fake.bot_account(B_ID).updates == []


async def test_control_http_and_setup_know_bots(client: httpx.AsyncClient, fake: FakeTelegram) -> None:
    async def control(control_name: str, /, **kwargs: Any) -> Any:
        response = await client.post(f"/_control/{control_name}", json=kwargs)
        body = response.json()
        assert response.status_code == 200 and body["ok"], body
        return body["result"]

    assert await control("add_bot", token=B_TOKEN, username="bravo_bot") == B_ID
    group = await control("create_forum_group", title="G")
    await control("add_bot_to_chat", chat_id=group, bot_id=B_ID)
    topic = await control("user_creates_topic", chat_id=group, user_id=USER, name="t")
    await control("user_sends_text", chat_id=group, user_id=USER, text="hi", thread_id=topic)
    assert texts(await control("pending_updates", bot_id=B_ID)) == ["<service>", "hi"]
    await ok(client, B_TOKEN, "sendMessage", chat_id=group, message_thread_id=topic, text="from B")
    await ok(client, TOKEN, "sendMessage", chat_id=group, message_thread_id=topic, text="from A")
    mine = await control("bot_messages", chat_id=group, thread_id=topic, bot_id=B_ID)
    assert [(m["text"], m["sender_id"]) for m in mine] == [("from B", B_ID)]
    calls = await control("calls", method="sendMessage", bot_id=A_ID)
    assert [(c["params"]["text"], c["bot_id"]) for c in calls] == [("from A", A_ID)]
    assert {b["username"] for b in await control("bots")} == {"fakegram_bot", "bravo_bot"}

    other = FakeTelegram(TOKEN)
    created = apply_setup(other, {
        "bots": [{"token": B_TOKEN, "username": "bravo_bot"}],
        "forum_groups": [{"title": "Both", "bot_ids": [A_ID, B_ID]}],
    })
    assert created["bots"] == [B_ID]
    assert other.get_chat(created["forum_groups"][0]).bots == {A_ID: True, B_ID: True}
