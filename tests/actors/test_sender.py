from __future__ import annotations

import itertools
from typing import Any

import pytest
import trio

from ccbot.actors.sender import Sender, call
from ccbot.messages import Dropped, Lane, Outbound, Priority
from ccbot.telegram.errors import BadRequest, MessageNotModified, NetworkError, RetryAfter


class FakeApi:
    """Records (time, method, kwargs); scripted exceptions per call index."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, str, dict[str, Any]]] = []
        self.script: list[BaseException | None] = []

    def __getattr__(self, method: str) -> Any:
        async def fn(**kwargs: Any) -> Any:
            await trio.sleep(0.01)
            self.calls.append((trio.current_time(), method, kwargs))
            if self.script:
                exc = self.script.pop(0)
                if exc is not None:
                    raise exc
            return {"method": method, **kwargs}

        return fn


def msg(chat: int, text: str, **kw: Any) -> Outbound:
    return Outbound(chat_id=chat, method="send_message", kwargs={"chat_id": chat, "text": text}, **kw)


async def watchdog() -> None:
    """Fail a test whose replies never settle instead of hanging it (on the autojump clock this is instant)."""
    await trio.sleep(3600)
    raise AssertionError("still waiting after an hour of virtual time")


async def start(nursery: trio.Nursery, api: FakeApi) -> tuple[Sender, trio.MemorySendChannel[Outbound]]:
    send, recv = trio.open_memory_channel[Outbound](100)
    sender = Sender(api)
    await nursery.start(sender.run, recv)
    nursery.start_soon(watchdog)
    return sender, send


async def test_per_chat_order_and_pacing(autojump_clock: trio.abc.Clock, nursery: trio.Nursery) -> None:
    api = FakeApi()
    _, outbox = await start(nursery, api)
    items = [msg(-100, f"m{i}") for i in range(8)]
    for item in items:
        await outbox.send(item)
    for item in items:
        await item.reply.wait()
    texts = [c[2]["text"] for c in api.calls]
    assert texts == [f"m{i}" for i in range(8)]
    times = [c[0] for c in api.calls]
    # burst of 3, then ~1/s
    assert times[7] - times[0] >= 4.9
    for a, b in itertools.pairwise(times[3:]):
        assert b - a >= 0.99


async def test_retry_after_delays_but_never_drops(autojump_clock: trio.abc.Clock, nursery: trio.Nursery) -> None:
    api = FakeApi()
    api.script = [RetryAfter("Too Many Requests: retry after 7", retry_after=7), None, None]
    _, outbox = await start(nursery, api)
    first = msg(5, "a")
    second = msg(5, "b")
    await outbox.send(first)
    await outbox.send(second)
    await first.reply.wait()
    await second.reply.wait()
    assert [c[2]["text"] for c in api.calls] == ["a", "a", "b"]
    assert api.calls[1][0] - api.calls[0][0] >= 7


async def test_not_modified_is_success_and_bad_request_fails(autojump_clock: trio.abc.Clock,
                                                             nursery: trio.Nursery) -> None:
    api = FakeApi()
    api.script = [MessageNotModified("Bad Request: message is not modified"), BadRequest("Bad Request: nope")]
    _, outbox = await start(nursery, api)
    assert await call(outbox, msg(1, "same")) is None
    with pytest.raises(BadRequest, match="nope"):
        await call(outbox, msg(1, "bad"))


async def test_network_errors_retried_for_durable_only(autojump_clock: trio.abc.Clock,
                                                       nursery: trio.Nursery) -> None:
    api = FakeApi()
    api.script = [NetworkError("down"), NetworkError("down"), None, NetworkError("down")]
    _, outbox = await start(nursery, api)
    result = await call(outbox, msg(1, "durable"))
    assert result["text"] == "durable"
    best = msg(1, "typing", priority=Priority.BEST_EFFORT)
    with pytest.raises(NetworkError):
        await call(outbox, best)
    assert [c[2]["text"] for c in api.calls] == ["durable"] * 3 + ["typing"]


async def test_coalescing_and_progress_lane_last(autojump_clock: trio.abc.Clock, nursery: trio.Nursery) -> None:
    api = FakeApi()
    sender, outbox = await start(nursery, api)
    api.script = [RetryAfter("x", retry_after=3)]  # hold the chat so the queue builds up
    await outbox.send(msg(9, "head"))
    await trio.sleep(0.5)
    s1 = msg(9, "status 1", priority=Priority.BEST_EFFORT, lane=Lane.PROGRESS, coalesce_key="status")
    s2 = msg(9, "status 2", priority=Priority.BEST_EFFORT, lane=Lane.PROGRESS, coalesce_key="status")
    final = msg(9, "final answer")
    for item in (s1, s2, final):
        await outbox.send(item)
    await s1.reply.wait()
    await final.reply.wait()
    texts = [c[2]["text"] for c in api.calls]
    assert texts == ["head", "head", "final answer", "status 2"]
    assert sender.pending() == 0


async def test_expired_best_effort_dropped(autojump_clock: trio.abc.Clock, nursery: trio.Nursery) -> None:
    api = FakeApi()
    _, outbox = await start(nursery, api)
    api.script = [RetryAfter("x", retry_after=10)]
    await outbox.send(msg(3, "head"))
    await trio.sleep(0.5)
    typing = msg(3, "typing", priority=Priority.BEST_EFFORT, expires_after=5)
    await outbox.send(typing)
    with pytest.raises(Dropped):
        await typing.reply.wait()
    assert "typing" not in [c[2]["text"] for c in api.calls]


async def test_chats_do_not_block_each_other(autojump_clock: trio.abc.Clock, nursery: trio.Nursery) -> None:
    api = FakeApi()
    _, outbox = await start(nursery, api)
    api.script = [RetryAfter("x", retry_after=30)]
    slow = msg(1, "slow chat")
    await outbox.send(slow)
    await trio.sleep(0.1)
    fast = msg(2, "other chat")
    await outbox.send(fast)
    await fast.reply.wait()
    assert trio.current_time() < 5
    await slow.reply.wait()
    assert trio.current_time() >= 30


async def test_callback_answers_skip_pacing(autojump_clock: trio.abc.Clock, nursery: trio.Nursery) -> None:
    api = FakeApi()
    _, outbox = await start(nursery, api)
    for i in range(6):  # exhaust the chat's burst: later sends wait ~1 s each
        await outbox.send(msg(-100, f"m{i}"))
    answer = Outbound(chat_id=-100, method="answer_callback_query", kwargs={"callback_query_id": "q"})
    await outbox.send(answer)
    await answer.reply.wait()
    assert trio.current_time() < 0.5
    assert [c[1] for c in api.calls][:2].count("answer_callback_query") == 1


def draft(chat: int, text: str) -> Outbound:
    return Outbound(chat_id=chat, method="send_message_draft",
                    kwargs={"chat_id": chat, "draft_id": 1, "text": text}, priority=Priority.BEST_EFFORT)


async def test_a_refused_draft_marks_its_chat_and_nothing_else_does(autojump_clock: trio.abc.Clock,
                                                                    nursery: trio.Nursery) -> None:
    api = FakeApi()
    api.script = [NetworkError("down"), RetryAfter("Too Many Requests: retry after 1", retry_after=1), None,
                  BadRequest("Bad Request: can't parse entities"), BadRequest("Bad Request: TEXTDRAFT_PEER_INVALID")]
    sender, outbox = await start(nursery, api)
    with pytest.raises(NetworkError):
        await call(outbox, draft(7, "a"))
    await call(outbox, draft(7, "b"))  # a 429 is waited out, then sent
    assert sender.drafts_refused == set()  # neither a network error nor a 429 is a refusal
    with pytest.raises(BadRequest):
        await call(outbox, msg(8, "not a draft"))
    assert sender.drafts_refused == set()
    with pytest.raises(BadRequest):
        await call(outbox, draft(7, "c"))
    assert sender.drafts_refused == {7}
