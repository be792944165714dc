"""The fake enforces Telegram's sending budget like the real server: 429s, honest retry_after.

These tests run in-process (``fake.call`` or the httpx mock transport) under ``autojump_clock``: the
fake reads the trio clock, so ``trio.sleep`` moves its time and the limits are checked exactly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.fakegram import BUDGETED_METHODS, ApiError, BudgetLimits, FakeTelegram, Throttle, UploadedFile
from tools.fakegram.methods import BOT_METHODS

from .support import TOKEN, USER, budget_violations, keyboard

Clock = trio.testing.MockClock


def new_fake(**knobs: Any) -> FakeTelegram:
    fake = FakeTelegram(TOKEN, **knobs)
    fake.add_user(USER, "Ada")
    return fake


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    fake = new_fake()
    yield fake
    assert fake.internal_errors == []


async def send(fake: FakeTelegram, chat: int, text: str = "x", thread: int | None = None) -> int | None:
    """sendMessage; the retry_after of a 429, None when it went through."""
    try:
        await fake.call("sendMessage", chat_id=chat, text=text, message_thread_id=thread)
    except ApiError as exc:
        assert exc.error_code == 429, exc.description
        assert exc.parameters is not None
        assert exc.description == f"Too Many Requests: retry after {exc.parameters['retry_after']}"
        return exc.parameters["retry_after"]
    return None


async def test_private_chat_burst_then_one_per_second_with_the_exact_429(
    fake: FakeTelegram, autojump_clock: Clock
) -> None:
    chat = fake.create_private_chat(USER)
    assert trio.current_time() == 0.0  # a MockClock starts at 0
    async with httpx.AsyncClient(transport=fake.mock_transport(), base_url="http://fakegram") as client:
        for i in range(3):
            assert (await client.post(f"/bot{TOKEN}/sendMessage", json={"chat_id": chat, "text": i})).is_success
        response = await client.post(f"/bot{TOKEN}/sendMessage", json={"chat_id": chat, "text": "4th"})
        assert response.status_code == 429
        assert response.json() == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        }
    assert fake.throttles == [Throttle(0.0, fake.bot.id, chat, None, "sendMessage", 1, "chat")]
    await trio.sleep(1)
    assert await send(fake, chat) is None
    assert await send(fake, chat) == 1  # one per second from now on
    await trio.sleep(0.5)
    assert await send(fake, chat) == 1  # 0.5 s left, announced as a whole second
    await trio.sleep(0.5)
    assert await send(fake, chat) is None
    assert [m.text for m in fake.bot_messages(chat)] == ["0", "1", "2", "x", "x"]
    assert len(fake.throttles_for(chat)) == 3 and fake.throttles_for(chat + 1) == []
    assert [c.http_status for c in fake.calls_to("sendMessage")] == [200, 200, 200, 429, 200, 429, 429, 200]


async def test_group_twenty_per_minute_shared_by_its_topics(fake: FakeTelegram, autojump_clock: Clock) -> None:
    group = fake.create_forum_group("Dev")
    topics = [fake.user_creates_topic(group, USER, f"t{i}") for i in range(3)]
    other = fake.create_forum_group("Other")
    for i in range(20):  # 1/s keeps the per-chat bucket happy; the group budget is what runs out
        assert await send(fake, group, f"m{i}", thread=topics[i % 3]) is None
        await trio.sleep(1)
    # t=20: the 20 messages of t=0..19 are all inside the last minute, whichever topic.
    assert await send(fake, group, thread=topics[0]) == 40
    assert await send(fake, group) == 40  # General too
    assert await send(fake, other) is None  # another group has its own budget
    (throttle, general) = fake.throttles_for(group)
    assert (throttle.scope, throttle.thread_id, throttle.retry_after) == ("group", topics[0], 40)
    assert general.thread_id is None
    await trio.sleep(39)
    assert await send(fake, group, thread=topics[1]) == 1
    await trio.sleep(1)
    assert await send(fake, group, thread=topics[1]) is None
    assert await send(fake, group, thread=topics[2]) is not None  # t=1's message leaves at t=61


async def test_global_thirty_per_second_across_chats(fake: FakeTelegram, autojump_clock: Clock) -> None:
    chats = []
    for user in range(2000, 2031):
        fake.add_user(user, f"u{user}")
        chats.append(fake.create_private_chat(user))
    results = [await send(fake, chat) for chat in chats]
    assert results == [None] * 30 + [1]
    assert fake.throttles[-1].scope == "global" and fake.throttles[-1].chat_id == chats[-1]
    await trio.sleep(1)
    assert await send(fake, chats[-1]) is None


async def test_retry_after_is_honest_and_refusals_spend_nothing(fake: FakeTelegram, autojump_clock: Clock) -> None:
    group = fake.create_forum_group("Dev")
    for _ in range(20):
        assert await send(fake, group) is None
        await trio.sleep(1.25)
    refused_at = trio.current_time()
    retry_after = await send(fake, group)
    assert retry_after == 35  # the first message (t=0) leaves the window at t=60; now is t=25
    # Hammering while refused neither succeeds early nor pushes the slot further away.
    while trio.current_time() < refused_at + retry_after - 1:
        await trio.sleep(0.25)
        assert await send(fake, group) is not None
    await trio.sleep(refused_at + retry_after - trio.current_time())
    assert await send(fake, group) is None
    announced = {t.retry_after for t in fake.throttles}
    assert max(announced) == 35 and min(announced) >= 1


async def test_topics_of_a_private_chat_share_its_bucket(fake: FakeTelegram, autojump_clock: Clock) -> None:
    chat = fake.create_private_chat(USER, topics_enabled=True)
    topics = [fake.user_creates_topic(chat, USER, name) for name in "abc"]
    assert [await send(fake, chat, thread=t) for t in topics] == [None, None, None]
    assert await send(fake, chat) == 1


def _png() -> bytes:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (8, 8)).save(out, "PNG")
    return out.getvalue()


Call = Callable[[FakeTelegram, int, int], Awaitable[object]]


async def _prepared(fake: FakeTelegram, chat: int) -> tuple[int, int, str]:
    """A text message and a document message of the bot's in ``chat``, with a fresh budget."""
    text = await fake.call("sendMessage", chat_id=chat, text="t", reply_markup=keyboard("k"))
    doc = await fake.call(
        "sendDocument", chat_id=chat, caption="c", document=UploadedFile("document", "a.txt", "text/plain", b"a")
    )
    fake.reset_budget()
    return text["message_id"], doc["message_id"], doc["document"]["file_id"]  # type: ignore[index]


def _file(field: str, data: bytes, name: str) -> UploadedFile:
    return UploadedFile(field, name, None, data)


BUDGETED_CALLS: dict[str, Callable[[int, int, int, str, int], dict[str, object]]] = {
    # (chat, text message, document message, document file_id, i) -> params
    "sendMessage": lambda c, t, d, f, i: {"chat_id": c, "text": f"s{i}"},
    "sendPhoto": lambda c, t, d, f, i: {"chat_id": c, "photo": _file("photo", _png(), "p.png")},
    "sendDocument": lambda c, t, d, f, i: {"chat_id": c, "document": f},
    "sendVoice": lambda c, t, d, f, i: {"chat_id": c, "voice": _file("voice", b"OggS", "v.oga")},
    "sendMessageDraft": lambda c, t, d, f, i: {"chat_id": c, "draft_id": 5, "text": f"d{i}"},
    "editMessageText": lambda c, t, d, f, i: {"chat_id": c, "message_id": t, "text": f"e{i}"},
    "editMessageCaption": lambda c, t, d, f, i: {"chat_id": c, "message_id": d, "caption": f"c{i}"},
    "editMessageReplyMarkup": lambda c, t, d, f, i: {"chat_id": c, "message_id": t, "reply_markup": keyboard(f"k{i}")},
    "editMessageMedia": lambda c, t, d, f, i: {
        "chat_id": c,
        "message_id": d,
        "media": {"type": "document", "media": f, "caption": f"m{i}"},
    },
}


def test_every_budgeted_method_is_exercised() -> None:
    implemented = {canonical for canonical, _ in BOT_METHODS.values()}
    assert set(BUDGETED_CALLS) == BUDGETED_METHODS & implemented == BUDGETED_METHODS


@pytest.mark.parametrize("method", sorted(BUDGETED_METHODS))
async def test_each_budgeted_method_spends_and_is_refused(
    fake: FakeTelegram, method: str, autojump_clock: Clock
) -> None:
    chat = fake.create_private_chat(USER)
    text_id, doc_id, file_id = await _prepared(fake, chat)
    for i in range(3):
        await fake.call(method, **BUDGETED_CALLS[method](chat, text_id, doc_id, file_id, i))
    with pytest.raises(ApiError) as refused:
        await fake.call(method, **BUDGETED_CALLS[method](chat, text_id, doc_id, file_id, 3))
    assert (refused.value.error_code, refused.value.parameters) == (429, {"retry_after": 1})
    assert [(t.method, t.scope) for t in fake.throttles] == [(method, "chat")]


async def test_edits_share_the_chat_budget_with_sends(fake: FakeTelegram, autojump_clock: Clock) -> None:
    chat = fake.create_private_chat(USER)
    sent: Any = await fake.call("sendMessage", chat_id=chat, text="v0")
    await fake.call("editMessageText", chat_id=chat, message_id=sent["message_id"], text="v1")
    await fake.call("editMessageReplyMarkup", chat_id=chat, message_id=sent["message_id"], reply_markup=keyboard("k"))
    assert await send(fake, chat) == 1


async def test_unbudgeted_methods_are_never_limited(fake: FakeTelegram, autojump_clock: Clock) -> None:
    chat = fake.create_private_chat(USER)
    assert [await send(fake, chat) for _ in range(4)][-1] == 1
    sent = fake.bot_messages(chat)[0].message_id
    query = fake.user_presses(chat, USER, sent, "k")
    for _ in range(40):  # more than any limit, all at the same instant
        await fake.call("sendChatAction", chat_id=chat, action="typing")
        await fake.call("getMe")
        await fake.call("getChat", chat_id=chat)
        await fake.call("getUpdates", timeout=0)
        await fake.call("getMyCommands")
        await fake.call("setMyCommands", commands=[{"command": "x", "description": "y"}])
    await fake.call("answerCallbackQuery", callback_query_id=query)
    await fake.call("deleteMessage", chat_id=chat, message_id=sent)
    group = fake.create_forum_group("Dev")
    for i in range(25):
        await fake.call("createForumTopic", chat_id=group, name=f"t{i}")
    assert len(fake.throttles) == 1
    await trio.sleep(1)  # and they spent nothing: the chat's next slot is where it was
    assert await send(fake, chat) is None


async def test_budget_can_be_turned_off_and_on(autojump_clock: Clock) -> None:
    fake = new_fake(telegram_budget=False)
    chat = fake.create_private_chat(USER)
    assert fake.telegram_budget is False
    assert [await send(fake, chat) for _ in range(50)] == [None] * 50
    fake.telegram_budget = True  # starts from a full budget
    assert [await send(fake, chat) for _ in range(4)] == [None, None, None, 1]
    fake.set_budget(False)
    assert await send(fake, chat) is None
    assert len(fake.throttles) == 1  # the record survives switching


async def test_limits_are_constructor_settings(autojump_clock: Clock) -> None:
    fake = new_fake(chat_rate=0.5, chat_burst=1, group_per_minute=3, global_per_second=100)
    assert fake.budget_limits == BudgetLimits(0.5, 1, 3, 100)
    chat = fake.create_private_chat(USER)
    assert [await send(fake, chat), await send(fake, chat)] == [None, 2]
    group = fake.create_forum_group("G")
    assert await send(fake, group) is None
    await trio.sleep(2)
    assert [await send(fake, group), await send(fake, group)] == [None, 2]  # the chat bucket binds
    await trio.sleep(2)
    assert await send(fake, group) is None
    await trio.sleep(2)
    assert await send(fake, group) == 54  # then the group's 3 per minute (t=0, 2, 4)
    fake.set_budget(True, BudgetLimits(global_per_second=1))
    assert [await send(fake, chat), await send(fake, group)] == [None, 1]


async def test_invalid_calls_spend_nothing(fake: FakeTelegram, autojump_clock: Clock) -> None:
    chat = fake.create_private_chat(USER)
    for _ in range(5):
        with pytest.raises(ApiError, match="message text is empty"):
            await fake.call("sendMessage", chat_id=chat, text="")
        with pytest.raises(ApiError, match="can't parse entities"):
            await fake.call("sendMessage", chat_id=chat, text="<x>", parse_mode="HTML")
    assert [await send(fake, chat) for _ in range(4)] == [None, None, None, 1]


async def test_injected_faults_still_work_and_are_recorded(fake: FakeTelegram, autojump_clock: Clock) -> None:
    chat = fake.create_private_chat(USER)
    fake.inject("sendMessage", "429", count=2, retry_after=7)
    assert [await send(fake, chat) for _ in range(2)] == [7, 7]
    assert [await send(fake, chat) for _ in range(4)] == [None, None, None, 1]  # injected: no spend
    assert [(t.scope, t.retry_after) for t in fake.throttles] == [("injected", 7)] * 2 + [("chat", 1)]
    assert len(fake.throttles_for(chat, scope="injected")) == 2
    fake.inject("sendMessage", "500")
    with pytest.raises(ApiError, match="Internal Server Error"):
        await fake.call("sendMessage", chat_id=chat, text="x")
    fake.inject("sendMessage", "slow", delay=1.0)
    assert await send(fake, chat) is None  # the budget is looked at after the delay


async def test_each_bot_has_its_own_budget(fake: FakeTelegram, autojump_clock: Clock) -> None:
    other = fake.add_bot("654321:OTHER", "other_bot")
    group = fake.create_forum_group("Both", bot_ids=[fake.bot.id, other])
    assert [await send(fake, group) for _ in range(4)] == [None, None, None, 1]
    for _ in range(3):
        await fake.call_as(other, "sendMessage", chat_id=group, text="b")
    assert fake.throttles_for(bot_id=other) == []


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from([0, 0, 0, 100, 400, 1000, 3000, 30_000]),
            st.sampled_from(["private", "private-topic", "group", "group-topic", "other"]),
            st.booleans(),
        ),
        min_size=10,
        max_size=80,
    )
)
def test_no_call_sequence_ever_exceeds_a_limit(steps: list[tuple[int, str, bool]]) -> None:
    """Through the fake's API, sends and edits mixed over chats and topics: whatever was accepted
    fits the budget in every window, and every 429 carries retry_after >= 1."""
    limits = BudgetLimits(group_per_minute=5, global_per_second=4)  # low, so every limit is reached

    async def scenario() -> None:
        fake = new_fake(group_per_minute=limits.group_per_minute, global_per_second=limits.global_per_second)
        fake.add_user(USER + 1, "Bob")
        private, other = fake.create_private_chat(USER), fake.create_private_chat(USER + 1)
        group = fake.create_forum_group("G")
        targets = {
            "private": (private, None),
            "private-topic": (private, fake.user_creates_topic(private, USER, "p")),
            "group": (group, None),
            "group-topic": (group, fake.user_creates_topic(group, USER, "g")),
            "other": (other, None),
        }
        last: dict[int, int] = {}
        for i, (gap_ms, target, edit) in enumerate(steps):
            await trio.sleep(gap_ms / 1000)
            chat, thread = targets[target]
            try:
                if edit and chat in last:
                    await fake.call("editMessageText", chat_id=chat, message_id=last[chat], text=f"e{i}")
                else:
                    sent: Any = await fake.call("sendMessage", chat_id=chat, text=f"s{i}", message_thread_id=thread)
                    last[chat] = sent["message_id"]
            except ApiError as exc:
                assert exc.error_code == 429 and exc.parameters and exc.parameters["retry_after"] >= 1
        accepted = [
            (c.time, int(str(c.params["chat_id"])), int(str(c.params["chat_id"])) < 0)
            for c in fake.calls
            if c.ok and c.method in BUDGETED_METHODS
        ]
        assert budget_violations(accepted, limits) == []
        assert len(fake.throttles) == sum(c.http_status == 429 for c in fake.calls)

    trio.run(scenario, clock=trio.testing.MockClock(autojump_threshold=0))
