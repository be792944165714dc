"""The sender's lanes, keyed edits, unpaced calls and isolation between chats, on trio's autojump clock with a
fake Bot API whose failures are scripted per chat."""

from __future__ import annotations

import collections
from typing import Any, NamedTuple

import pytest
import trio

from ccbot.actors.sender import USER_RESERVE, Sender, call, post
from ccbot.messages import Lane, Outbound, Priority
from ccbot.telegram.errors import NetworkError, RetryAfter, ServerError

CALLBACK = "callback"  # script key for answer_callback_query, which names no chat


class Call(NamedTuple):
    at: float  # when the call was made
    chat: int | str
    method: str
    kwargs: dict[str, Any]


class Api:
    """A fake Bot API. Every call is logged in ``calls`` (at its start) and takes ``latency[method]`` seconds
    (default 0.01). ``script[chat]`` holds the outcomes of that chat's next calls (None: success);
    ``storm[chat] = (until, retry_after)`` answers every call to it made before ``until`` with a 429."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.script: dict[int | str, list[BaseException | None]] = collections.defaultdict(list)
        self.latency: dict[str, float] = {}
        self.storm: dict[int | str, tuple[float, float]] = {}
        self._next_id = 1000

    def __getattr__(self, method: str) -> Any:
        async def fn(**kwargs: Any) -> Any:
            chat: int | str = kwargs.get("chat_id", CALLBACK)
            now = trio.current_time()
            self.calls.append(Call(now, chat, method, kwargs))
            await trio.sleep(self.latency.get(method, 0.01))
            until, retry_after = self.storm.get(chat, (-1.0, 0.0))
            if now < until:
                raise RetryAfter(f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)
            if self.script[chat] and (exc := self.script[chat].pop(0)) is not None:
                raise exc
            if method.startswith("send_"):
                self._next_id += 1
                return {"message_id": self._next_id, **kwargs}
            return dict(kwargs)

        return fn

    def texts(self, chat: int, method: str = "send_message") -> list[str]:
        return [c.kwargs["text"] for c in self.calls if c.chat == chat and c.method == method]


def msg(chat: int, text: str, **kw: Any) -> Outbound:
    return Outbound(chat, "send_message", {"chat_id": chat, "text": text}, **kw)


def edit(chat: int, message_id: int, text: str, **kw: Any) -> Outbound:
    return Outbound(chat, "edit_message_text", {"chat_id": chat, "message_id": message_id, "text": text}, **kw)


def hold(chat: int, api: Api, seconds: float) -> Outbound:
    """A call that keeps ``chat`` busy for ``seconds``, so its queue builds up behind it."""
    api.latency["send_photo"] = seconds
    return Outbound(chat, "send_photo", {"chat_id": chat, "photo": b""})


async def start(
    nursery: trio.Nursery, api: Api, **kw: Any
) -> tuple[Sender, trio.MemorySendChannel[Outbound]]:
    send, recv = trio.open_memory_channel[Outbound](1000)
    sender = Sender(api, **kw)
    await nursery.start(sender.run, recv)
    return sender, send


async def outcome(item: Outbound) -> Any:
    """The item's result (or its error raised); a reply that is never settled fails the test, not hangs it."""
    with trio.fail_after(3600):
        return await item.reply.wait()


async def settle(items: list[Outbound]) -> None:
    for item in items:
        await outcome(item)


# -- lanes ------------------------------------------------------------------------------------------------
async def test_lower_lane_goes_first_fifo_within_a_lane(autojump_clock: trio.abc.Clock, nursery: trio.Nursery) -> None:
    api = Api()
    _, outbox = await start(nursery, api)
    await outbox.send(hold(1, api, 5.0))
    await trio.sleep(0.1)
    plan = [(Lane.PROGRESS, "p0"), (Lane.ANSWER, "a0"), (Lane.USER, "u0"), (Lane.ANSWER, "a1"),
            (Lane.PROGRESS, "p1"), (Lane.USER, "u1"), (Lane.ANSWER, "a2"), (Lane.ANSWER, "a3")]
    items = [msg(1, text, lane=lane) for lane, text in plan]
    for item in items:
        await outbox.send(item)
    # the hold counts from its answer at 5: u0 and u1 went at once (the burst), a0 at 6; the chat is paced
    await trio.sleep_until(6.5)
    late = msg(1, "u2", lane=Lane.USER)
    await outbox.send(late)
    await settle([*items, late])
    assert api.texts(1) == ["u0", "u1", "a0", "u2", "a1", "a2", "a3", "p0", "p1"]


async def test_answer_pieces_stay_in_order_through_429_and_5xx(autojump_clock: trio.abc.Clock,
                                                                nursery: trio.Nursery) -> None:
    api = Api()
    api.script[1] = [None, RetryAfter("x", retry_after=4), ServerError("Internal Server Error", error_code=500),
                     None, NetworkError("reset"), RetryAfter("x", retry_after=2)]
    sender, outbox = await start(nursery, api)
    pieces = [msg(1, f"a{i}") for i in range(6)]
    for piece in pieces:
        await outbox.send(piece)
    results = [await outcome(piece) for piece in pieces]
    assert [r["text"] for r in results] == [f"a{i}" for i in range(6)]
    # each failed call is retried before the next piece: order and durability hold
    assert api.texts(1) == ["a0", "a1", "a1", "a1", "a2", "a2", "a2", "a3", "a4", "a5"]
    assert sender.rate_limited[(1, "send_message")] == 2
    assert sender.calls[(1, "send_message")] == 10
    assert sender.pending() == 0


async def test_a_group_keeps_its_last_messages_of_the_minute_for_the_users_own_actions(
        autojump_clock: trio.abc.Clock, nursery: trio.Nursery) -> None:
    api = Api()
    _, outbox = await start(nursery, api)
    group = -1001
    answers = [msg(group, f"a{i}") for i in range(30)]
    for item in answers:
        await outbox.send(item)
    await trio.sleep(40.0)  # the answers have spent all the minute they may
    spent = len(api.texts(group))
    assert spent == 20 - USER_RESERVE
    screenshot = Outbound(group, "send_photo", {"chat_id": group, "photo": b""}, lane=Lane.USER)
    await outbox.send(screenshot)
    await outcome(screenshot)
    assert trio.current_time() - 40.0 <= 1.5  # not the next minute
    await settle(answers)
    sends = [c.at for c in api.calls if c.chat == group]
    for i in range(len(sends) - 20):
        assert sends[i + 20] >= sends[i] + 60.0  # the group's limit holds all along


# -- keyed edits ------------------------------------------------------------------------------------------
async def test_newer_edit_replaces_queued_one_in_its_place(autojump_clock: trio.abc.Clock,
                                                           nursery: trio.Nursery) -> None:
    api = Api()
    sender, outbox = await start(nursery, api)
    await outbox.send(hold(1, api, 5.0))
    await trio.sleep(0.1)
    first = edit(1, 7, "v1", lane=Lane.PROGRESS, priority=Priority.BEST_EFFORT)
    other = msg(1, "x", lane=Lane.PROGRESS)
    neighbour = edit(1, 8, "w1", lane=Lane.PROGRESS)  # another message: never merged
    second = edit(1, 7, "v2", lane=Lane.PROGRESS, priority=Priority.BEST_EFFORT)
    for item in (first, other, neighbour, second):
        await outbox.send(item)
    await settle([first, other, neighbour, second])
    queued = [(c.method, c.kwargs.get("message_id"), c.kwargs.get("text")) for c in api.calls[1:]]
    assert queued == [("edit_message_text", 7, "v2"), ("send_message", None, "x"),
                      ("edit_message_text", 8, "w1")]
    # both waiters get the one call's outcome
    assert await outcome(first) == await outcome(second) == {"chat_id": 1, "message_id": 7, "text": "v2"}
    assert sender.coalesced[(1, "edit_message_text")] == 1


async def test_edit_retried_after_429_absorbs_newer_edits(autojump_clock: trio.abc.Clock,
                                                          nursery: trio.Nursery) -> None:
    api = Api()
    api.script[1] = [RetryAfter("x", retry_after=5)]
    sender, outbox = await start(nursery, api)
    in_flight = edit(1, 7, "v1", lane=Lane.PROGRESS)
    await outbox.send(in_flight)
    await trio.sleep(0.005)  # the call is in flight: the next edits queue behind it
    answer = msg(1, "answer", lane=Lane.PROGRESS)
    later = [edit(1, 7, f"v{i}", lane=Lane.PROGRESS, priority=Priority.BEST_EFFORT) for i in (2, 3)]
    await outbox.send(later[0])
    await outbox.send(answer)
    await outbox.send(later[1])
    await settle([in_flight, answer, *later])
    # the retry carries the latest payload, from the retried edit's place (before the answer)
    assert [(c.method, c.kwargs["text"]) for c in api.calls] == [
        ("edit_message_text", "v1"), ("edit_message_text", "v3"), ("send_message", "answer")]
    assert (await outcome(in_flight))["text"] == "v3"
    assert sender.pending() == 0


async def test_edit_storm_ends_with_few_calls_and_final_payload(autojump_clock: trio.abc.Clock,
                                                                nursery: trio.Nursery) -> None:
    api = Api()
    sender, outbox = await start(nursery, api)
    status = await call(outbox, msg(-100, "status 0", lane=Lane.PROGRESS))
    mid = status["message_id"]
    edits = [edit(-100, mid, f"status {i}", lane=Lane.PROGRESS, priority=Priority.BEST_EFFORT)
             for i in range(1, 101)]
    for item in edits:  # 100 edits over 2 s
        post(outbox, item)
        await trio.sleep(0.02)
    await settle(edits)
    made = api.texts(-100, "edit_message_text")
    assert made[-1] == "status 100"
    assert len(made) <= 5  # the rest of the burst, then one a second
    assert sender.calls[(-100, "edit_message_text")] == len(made)
    assert sender.coalesced[(-100, "edit_message_text")] == 100 - len(made)


async def test_edit_never_goes_before_the_send_of_its_message(autojump_clock: trio.abc.Clock,
                                                             nursery: trio.Nursery) -> None:
    api = Api()
    api.script[1] = [RetryAfter("x", retry_after=5)]  # the status message's send is held off 5 s
    _, outbox = await start(nursery, api)
    status = msg(1, "status 0", lane=Lane.PROGRESS)
    await outbox.send(status)
    await trio.sleep(0.005)
    answer = msg(1, "answer")  # a more urgent lane: goes before the retried send
    await outbox.send(answer)
    edits: list[Outbound] = []

    async def editor() -> None:
        mid = (await outcome(status))["message_id"]
        for i in range(1, 20):  # edits in a more urgent lane than the send, some while it is retried
            edits.append(edit(1, mid, f"status {i}", lane=Lane.USER, priority=Priority.BEST_EFFORT))
            post(outbox, edits[-1])
            await trio.sleep(0.05)

    async with trio.open_nursery() as inner:
        inner.start_soon(editor)
    await settle([answer, *edits])
    made = [(c.method, c.kwargs["text"]) for c in api.calls]
    assert made[:3] == [("send_message", "status 0"), ("send_message", "answer"), ("send_message", "status 0")]
    assert {m for m, _ in made[3:]} == {"edit_message_text"}
    assert made[-1] == ("edit_message_text", "status 19")


# -- unpaced calls ----------------------------------------------------------------------------------------
async def test_callback_answer_goes_at_once_while_its_chat_is_busy_and_limited(
    autojump_clock: trio.abc.Clock, nursery: trio.Nursery
) -> None:
    api = Api()
    api.script[CALLBACK] = [RetryAfter("x", retry_after=2)]
    sender, outbox = await start(nursery, api)
    await outbox.send(hold(-100, api, 30.0))
    for i in range(5):
        await outbox.send(msg(-100, f"m{i}"))
    await trio.sleep(1.0)
    sender.pacer.penalize(-100, 100.0)  # and a 429 penalty on top of the call in flight
    answer = Outbound(-100, "answer_callback_query", {"callback_query_id": "q"}, lane=Lane.USER)
    typing = Outbound(-100, "send_chat_action", {"chat_id": -100, "action": "typing"},
                      priority=Priority.BEST_EFFORT, lane=Lane.PROGRESS)
    await outbox.send(answer)
    await outbox.send(typing)
    await outcome(typing)
    assert trio.current_time() < 1.1
    await outcome(answer)  # its own 429 is waited out in its own task: the chat is still busy
    assert trio.current_time() < 3.1
    assert -100 in sender.busy
    assert sender.rate_limited[(-100, "answer_callback_query")] == 1


async def test_callback_429_does_not_hold_its_chat(autojump_clock: trio.abc.Clock, nursery: trio.Nursery) -> None:
    api = Api()
    api.script[CALLBACK] = [RetryAfter("x", retry_after=50)]
    _, outbox = await start(nursery, api)
    answer = Outbound(5, "answer_callback_query", {"callback_query_id": "q"}, lane=Lane.USER)
    await outbox.send(answer)
    await trio.sleep(0.1)
    reply = msg(5, "reply")
    await outbox.send(reply)
    await outcome(reply)
    assert trio.current_time() < 0.2
    await outcome(answer)
    assert trio.current_time() >= 50
    assert [c.method for c in api.calls] == ["answer_callback_query", "send_message", "answer_callback_query"]


async def test_best_effort_chat_action_is_not_retried_after_429(autojump_clock: trio.abc.Clock,
                                                                 nursery: trio.Nursery) -> None:
    api = Api()
    api.script[5] = [RetryAfter("x", retry_after=3)]
    sender, outbox = await start(nursery, api)
    typing = Outbound(5, "send_chat_action", {"chat_id": 5, "action": "typing"}, priority=Priority.BEST_EFFORT)
    await outbox.send(typing)
    with pytest.raises(RetryAfter):
        await outcome(typing)
    await trio.sleep(10)
    assert len(api.calls) == 1
    assert sender.pending() == 0


# -- isolation between chats ------------------------------------------------------------------------------
async def _private_chat_times(nursery: trio.Nursery, *, storm: bool) -> list[float]:
    """Send 10 messages to private chat 42, with or without 429 storms on five busy groups; the times (from
    the start) at which chat 42's calls were made."""
    api = Api()
    sender, outbox = await start(nursery, api)
    t0 = trio.current_time()
    if storm:
        for group in range(-105, -100):
            api.storm[group] = (t0 + 60.0, 3.0)
            for i in range(20):
                await outbox.send(msg(group, f"g{i}"))
                await outbox.send(edit(group, 1, f"s{i}", lane=Lane.PROGRESS, priority=Priority.BEST_EFFORT))
    private = [msg(42, f"p{i}") for i in range(10)]
    for item in private:
        await outbox.send(item)
    await settle(private)
    if storm:
        assert sum(n for (chat, _), n in sender.rate_limited.items() if chat < 0) >= 5
        assert not any(chat == 42 for chat, _ in sender.rate_limited)
    return [c.at - t0 for c in api.calls if c.chat == 42]


async def test_429_storm_in_groups_does_not_delay_a_private_chat(autojump_clock: trio.abc.Clock,
                                                                 nursery: trio.Nursery) -> None:
    alone = await _private_chat_times(nursery, storm=False)
    beside_storm = await _private_chat_times(nursery, storm=True)
    # a burst of 3, then 1/s, counted from the burst's answers (the fake answers in 10 ms)
    assert alone[3:] == pytest.approx([1.01 + n for n in range(7)], abs=0.05)
    assert beside_storm == pytest.approx(alone, abs=1e-6)


async def test_a_chat_with_a_backlog_takes_turns_for_scarce_slots(autojump_clock: trio.abc.Clock,
                                                                   nursery: trio.Nursery) -> None:
    api = Api()
    api.latency["send_photo"] = 5.0  # slow calls: each holds a slot 5 s
    _, outbox = await start(nursery, api, max_inflight=2)
    for chat in (1, 2):
        for _ in range(5):
            await outbox.send(Outbound(chat, "send_photo", {"chat_id": chat, "photo": b""}))
    await trio.sleep(0.1)
    light = msg(3, "hello")
    await outbox.send(light)
    await outcome(light)
    # the first slot to free goes to chat 3, not back to chat 1's backlog
    assert trio.current_time() == pytest.approx(5.02, abs=0.01)
