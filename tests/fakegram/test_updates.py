"""getUpdates: offsets, clamping, long polling, conflicts, allowed_updates, own-message filter."""

from __future__ import annotations

from typing import Any

import httpx
import trio

from tools.fakegram import FakeTelegram

from .support import TOKEN, USER, api, ok

CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"


def send_texts(fake: FakeTelegram, chat: int, *texts: str) -> None:
    for text in texts:
        fake.user_sends_text(chat, USER, text)


async def test_updates_carry_user_messages_in_order(client: httpx.AsyncClient, fake: FakeTelegram) -> None:
    chat = fake.create_private_chat(USER, topics_enabled=False)
    send_texts(fake, chat, "one", "two")
    updates = await ok(client, "getUpdates")
    assert [u["message"]["text"] for u in updates] == ["one", "two"]
    assert updates[1]["update_id"] == updates[0]["update_id"] + 1
    message = updates[0]["message"]
    assert message["chat"] == {"id": chat, "type": "private", "first_name": "Ada", "username": "ada"}
    assert message["from"]["id"] == USER and "message_thread_id" not in message


async def test_offset_confirms_and_deletes(client: httpx.AsyncClient, fake: FakeTelegram) -> None:
    chat = fake.create_private_chat(USER)
    send_texts(fake, chat, "a", "b", "c")
    first = await ok(client, "getUpdates")
    ids = [u["update_id"] for u in first]
    # Unconfirmed updates are delivered again.
    assert [u["update_id"] for u in await ok(client, "getUpdates")] == ids
    assert [u["update_id"] for u in await ok(client, "getUpdates", offset=ids[1])] == ids[1:]
    # ids[0] is gone for good, even without an offset.
    assert [u["update_id"] for u in await ok(client, "getUpdates")] == ids[1:]
    assert await ok(client, "getUpdates", offset=ids[-1] + 1) == []
    assert fake.updates == []


async def test_negative_offset_keeps_only_the_last_n(client: httpx.AsyncClient, fake: FakeTelegram) -> None:
    chat = fake.create_private_chat(USER)
    send_texts(fake, chat, "a", "b", "c")
    updates = await ok(client, "getUpdates", offset=-1)
    assert [u["message"]["text"] for u in updates] == ["c"]
    assert [u.payload["text"] for u in fake.updates] == ["c"]


async def test_limit_is_clamped_not_rejected(client: httpx.AsyncClient, fake: FakeTelegram) -> None:
    chat = fake.create_private_chat(USER)
    send_texts(fake, chat, *[str(i) for i in range(5)])
    assert len(await ok(client, "getUpdates", limit=0)) == 1
    assert len(await ok(client, "getUpdates", limit=-7)) == 1
    assert len(await ok(client, "getUpdates", limit=2)) == 2
    assert len(await ok(client, "getUpdates", limit=1000)) == 5


async def test_empty_long_poll_waits_for_the_capped_timeout(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    fake.long_poll_max = 0.3
    start = trio.current_time()
    assert await ok(client, "getUpdates", timeout=30) == []
    elapsed = trio.current_time() - start
    assert 0.25 <= elapsed < 2.0
    start = trio.current_time()
    assert await ok(client, "getUpdates", timeout=-5) == []
    assert trio.current_time() - start < 0.2


async def test_long_poll_returns_early_on_a_new_update(client: httpx.AsyncClient, fake: FakeTelegram) -> None:
    fake.long_poll_max = 5.0
    chat = fake.create_private_chat(USER)
    result: list[Any] = []

    async def poll() -> None:
        result.append(await ok(client, "getUpdates", timeout=5))

    with trio.fail_after(3):
        async with trio.open_nursery() as nursery:
            start = trio.current_time()
            nursery.start_soon(poll)
            await fake.wait_for(lambda: fake.polls_waiting)
            fake.user_sends_text(chat, USER, "wake up")
    assert trio.current_time() - start < 1.5
    assert [u["message"]["text"] for u in result[0]] == ["wake up"]


async def test_second_poll_terminates_the_first_with_409(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    fake.long_poll_max = 5.0
    chat = fake.create_private_chat(USER)
    first: list[tuple[int, dict[str, object]]] = []
    second: list[Any] = []
    first_done = trio.Event()

    async def first_poll() -> None:
        first.append(await api(client, "getUpdates", timeout=5))
        first_done.set()

    async def second_poll() -> None:
        second.append(await ok(client, "getUpdates", timeout=5))

    with trio.fail_after(4):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(first_poll)
            await fake.wait_for(lambda: fake.polls_waiting == 1)
            nursery.start_soon(second_poll)
            await first_done.wait()
            await fake.wait_for(lambda: fake.polls_waiting == 1)
            assert not second  # the newer poll is still waiting
            fake.user_sends_text(chat, USER, "for the survivor")
    assert first == [(409, {"ok": False, "error_code": 409, "description": CONFLICT})]
    assert [u["message"]["text"] for u in second[0]] == ["for the survivor"]


async def test_allowed_updates_persist_until_changed(client: httpx.AsyncClient, fake: FakeTelegram) -> None:
    chat = fake.create_private_chat(USER)
    msg_id = (
        await ok(
            client,
            "sendMessage",
            chat_id=chat,
            text="pick",
            reply_markup={"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
        )
    )["message_id"]
    assert await ok(client, "getUpdates", allowed_updates=["callback_query"]) == []
    fake.user_sends_text(chat, USER, "filtered out")
    fake.user_presses(chat, USER, msg_id, "a")
    # Omitted and unparsable values keep the previous filter.
    updates = await ok(client, "getUpdates")
    assert [next(k for k in u if k != "update_id") for u in updates] == ["callback_query"]
    await client.get(f"/bot{TOKEN}/getUpdates", params={"allowed_updates": "not json"})
    fake.user_sends_text(chat, USER, "still filtered")
    assert len(await ok(client, "getUpdates")) == 1
    # [] (or only unknown names) restores the default set.
    await ok(client, "getUpdates", allowed_updates=[])
    fake.user_sends_text(chat, USER, "visible")
    texts = [u["message"]["text"] for u in await ok(client, "getUpdates") if "message" in u]
    assert texts == ["visible"]


async def test_bot_never_sees_its_own_messages_or_topics(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    group = fake.create_forum_group("G")
    private = fake.create_private_chat(USER)
    await ok(client, "sendMessage", chat_id=private, text="hello")
    await ok(client, "createForumTopic", chat_id=group, name="mine")
    await ok(client, "sendMessage", chat_id=group, text="in general")
    assert await ok(client, "getUpdates") == []


async def test_webhook_methods_report_no_webhook(client: httpx.AsyncClient, fake: FakeTelegram) -> None:
    assert await ok(client, "deleteWebhook", drop_pending_updates=False) is True
    info = await ok(client, "getWebhookInfo")
    assert info["url"] == "" and info["pending_update_count"] == 0
