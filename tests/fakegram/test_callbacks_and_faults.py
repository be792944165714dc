"""Callback queries, fault injection, wait_for (the sending budget is in test_budget*.py)."""

from __future__ import annotations

import httpx
import pytest
import trio

from tools.fakegram import FakeTelegram

from .support import USER, api, fails, keyboard, ok

TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


@pytest.fixture
def chat(fake: FakeTelegram) -> int:
    return fake.create_private_chat(USER, topics_enabled=True)


async def test_callback_flow(client: httpx.AsyncClient, fake: FakeTelegram, chat: int) -> None:
    thread = fake.user_creates_topic(chat, USER, "t")
    sent = await ok(
        client,
        "sendMessage",
        chat_id=chat,
        message_thread_id=thread,
        text="Allow?",
        reply_markup=keyboard("yes", "no"),
    )
    query_id = fake.user_presses(chat, USER, sent["message_id"], "yes")
    updates = await ok(client, "getUpdates")
    query = updates[-1]["callback_query"]
    assert query["id"] == query_id and query["data"] == "yes" and query["from"]["id"] == USER
    assert query["message"]["message_id"] == sent["message_id"]
    assert query["message"]["message_thread_id"] == thread  # presses route to the topic
    assert query["chat_instance"]
    assert await ok(client, "answerCallbackQuery", callback_query_id=query_id, text="Done") is True
    await fails(client, "answerCallbackQuery", 400, TOO_OLD, callback_query_id=query_id)
    await fails(client, "answerCallbackQuery", 400, TOO_OLD, callback_query_id="12345")
    assert [(a.query_id, a.text) for a in fake.callback_answers] == [(query_id, "Done")]


async def test_expired_query_and_inaccessible_message(
    client: httpx.AsyncClient, fake: FakeTelegram, chat: int
) -> None:
    fake.callback_query_ttl = 0.05
    mid = (await ok(client, "sendMessage", chat_id=chat, text="x", reply_markup=keyboard("a")))["message_id"]
    await ok(client, "deleteMessage", chat_id=chat, message_id=mid)
    query_id = fake.user_presses(chat, USER, mid, "a")
    (update,) = await ok(client, "getUpdates")
    assert update["callback_query"]["message"] == {
        "chat": {"id": chat, "type": "private", "first_name": "Ada", "username": "ada"},
        "message_id": mid,
        "date": 0,
    }
    await trio.sleep(0.1)
    await fails(client, "answerCallbackQuery", 400, TOO_OLD, callback_query_id=query_id)


async def test_injected_429_500_409(client: httpx.AsyncClient, fake: FakeTelegram, chat: int) -> None:
    fake.inject("sendMessage", "429", count=2, retry_after=7)
    for _ in range(2):
        status, body = await api(client, "sendMessage", chat_id=chat, text="x")
        assert (status, body) == (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 7",
                "parameters": {"retry_after": 7},
            },
        )
    await ok(client, "sendMessage", chat_id=chat, text="third time lucky")
    fake.inject("*", "500")
    await fails(client, "getMe", 500, "Internal Server Error")
    fake.inject("getupdates", "409")
    await ok(client, "getMe")  # other methods are unaffected
    status, body = await api(client, "getUpdates")
    assert status == 409 and body["description"].startswith("Conflict: terminated by other getUpdates")
    assert [m.text for m in fake.bot_messages(chat)] == ["third time lucky"]
    assert [c.http_status for c in fake.calls_to("sendMessage")] == [429, 429, 200]


async def test_a_fault_for_one_chat_leaves_other_chats_alone(
    client: httpx.AsyncClient, fake: FakeTelegram, chat: int
) -> None:
    other = fake.create_forum_group("Other")
    fake.inject("sendMessage", "429", count=1, retry_after=3, chat_id=other)
    await ok(client, "sendMessage", chat_id=chat, text="not this chat")
    status, _ = await api(client, "sendMessage", chat_id=other, text="this one")
    assert status == 429
    await ok(client, "sendMessage", chat_id=other, text="then through")
    assert [t.chat_id for t in fake.throttles] == [other]


async def test_slow_and_dropped_responses(client: httpx.AsyncClient, fake: FakeTelegram, chat: int) -> None:
    fake.inject("sendMessage", "slow", delay=0.3)
    start = trio.current_time()
    await ok(client, "sendMessage", chat_id=chat, text="slow")
    assert trio.current_time() - start >= 0.3
    fake.inject("sendMessage", "drop")
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post("/bot123456:TEST-TOKEN/sendMessage", json={"chat_id": chat, "text": "lost"})
    fake.inject("sendMessage", "drop_after")
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post("/bot123456:TEST-TOKEN/sendMessage", json={"chat_id": chat, "text": "delivered"})
    # The client recovers on a fresh connection.
    await ok(client, "sendMessage", chat_id=chat, text="after")
    assert [m.text for m in fake.bot_messages(chat)] == ["slow", "delivered", "after"]
    assert [c.http_status for c in fake.calls_to("sendMessage")] == [200, 0, 0, 200]


def test_inject_rejects_unknown_kind(fake: FakeTelegram) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        fake.inject("sendMessage", "418")  # type: ignore[arg-type]


async def test_wait_for_times_out(fake: FakeTelegram) -> None:
    chat = fake.create_private_chat(USER)
    checks = 0

    def nothing_sent() -> bool:
        nonlocal checks
        checks += 1
        return bool(fake.bot_messages(chat))

    with pytest.raises(trio.TooSlowError):
        await fake.wait_for(nothing_sent, timeout=0.05)
    assert checks == 1  # no change happened, so the predicate was not re-evaluated
    fake.user_sends_text(chat, USER, "wake")
    assert await fake.wait_for(lambda: fake.updates, timeout=0.05)
