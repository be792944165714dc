"""ccbot.telegram.pacing.Pacer: exact schedules for simple cases, and a Hypothesis property that a
sender waiting for ``ready_at`` never breaks any limit in any window."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccbot.telegram.pacing import Pacer

EPS = 1e-9


def _send(pacer: Pacer, chat_id: int, now: float) -> float:
    at = pacer.ready_at(chat_id, now)
    pacer.record(chat_id, at)
    return at


def test_private_chat_bursts_then_one_per_interval() -> None:
    pacer = Pacer(per_chat_interval=1.0, burst=3)
    times = [_send(pacer, 42, 0.0) for _ in range(6)]
    # Token bucket of 3, refilled 1/s: three at once, then 1, 2, 3.
    assert times == [0.0, 0.0, 0.0, 1.0, 2.0, 3.0]


def test_bucket_refills_while_idle() -> None:
    pacer = Pacer(per_chat_interval=1.0, burst=3)
    for _ in range(3):
        _send(pacer, 42, 0.0)
    assert pacer.ready_at(42, 0.5) == 1.0
    # After 10 idle seconds the bucket is full again: three more immediate sends.
    assert [_send(pacer, 42, 10.0) for _ in range(4)] == [10.0, 10.0, 10.0, 11.0]


def test_group_limited_to_twenty_per_minute() -> None:
    pacer = Pacer(per_chat_interval=1.0, group_per_minute=20, burst=3)
    times = [_send(pacer, -1001, 0.0) for _ in range(24)]
    # 3 at t=0 then one per second until 20 sends (t=17); the 21st must wait for the window of the
    # first send to close (t=60); at 60 the bucket allows a burst of three, then t=61.
    assert times == [0.0, 0.0, 0.0, *[float(t) for t in range(1, 18)], 60.0, 60.0, 60.0, 61.0]


def test_reserved_group_sends_are_left_for_urgent_ones() -> None:
    pacer = Pacer(per_chat_interval=0.0, group_per_minute=5, global_per_second=1000, burst=10)
    times = []
    for _ in range(4):
        at = pacer.ready_at(-7, 0.0, reserved=2)
        pacer.record(-7, at)
        times.append(at)
    # three sends may spend the minute; the fourth waits for the first to leave the window
    assert times == [0.0, 0.0, 0.0, 60.0]
    assert pacer.ready_at(-7, 0.0) == 0.0  # the urgent send still has the reserve (one of it is left)
    assert pacer.ready_at(42, 0.0, reserved=2) == 0.0  # a private chat has no group window to reserve
    with pytest.raises(ValueError):
        pacer.ready_at(-7, 0.0, reserved=5)


@given(reserved=st.integers(min_value=0, max_value=4), sends=st.lists(st.booleans(), max_size=30))
def test_a_reserve_never_lets_a_group_exceed_its_limit(reserved: int, sends: list[bool]) -> None:
    """Mixing urgent (True) and other sends never breaks 5 per 60 s, and another send never goes into a minute
    that already holds ``5 - reserved`` sends."""
    pacer = Pacer(per_chat_interval=0.0, group_per_minute=5, global_per_second=1000, burst=10)
    now, log = 0.0, []
    for urgent in sends:
        now = pacer.ready_at(-7, now, reserved=0 if urgent else reserved)
        pacer.record(-7, now)
        log.append((now, urgent))
    times = [t for t, _ in log]
    for i in range(len(times) - 5):
        assert times[i + 5] >= times[i] + 60.0 - EPS
    for i, (t, urgent) in enumerate(log):
        if not urgent:  # when it went, the minute before it held fewer than 5 - reserved sends
            assert sum(1 for u, _ in log[:i] if u > t - 60.0 + EPS) < 5 - reserved


def test_private_chats_have_no_group_limit() -> None:
    pacer = Pacer(per_chat_interval=0.0, group_per_minute=2, global_per_second=1000, burst=1)
    assert [_send(pacer, 7, 0.0) for _ in range(5)] == [0.0] * 5


def test_global_limit_across_chats() -> None:
    pacer = Pacer(global_per_second=30)
    times = [_send(pacer, chat, 0.0) for chat in range(1, 33)]
    assert times == [0.0] * 30 + [1.0, 1.0]


def test_chat_penalty_blocks_only_that_chat() -> None:
    pacer = Pacer()
    pacer.penalize(5, 10.0)
    assert pacer.ready_at(5, 0.0) == 10.0
    assert pacer.ready_at(6, 0.0) == 0.0
    # A shorter later penalty does not shorten the first.
    pacer.penalize(5, 3.0)
    assert pacer.ready_at(5, 0.0) == 10.0
    assert pacer.ready_at(5, 12.0) == 12.0


def test_global_penalty_blocks_everyone() -> None:
    pacer = Pacer()
    pacer.penalize(None, 7.0)
    assert pacer.ready_at(6, 0.0) == 7.0
    assert pacer.ready_at(-100, 2.0) == 7.0
    assert pacer.ready_at(6, 8.0) == 8.0


def test_rejects_nonsense_limits() -> None:
    with pytest.raises(ValueError):
        Pacer(burst=0)
    with pytest.raises(ValueError):
        Pacer(group_per_minute=0)


# -- property -------------------------------------------------------------------------------------

CHATS = [1, 2, 3, 4, -10, -20, -30]


@dataclass(frozen=True)
class Send:
    chat: int
    delay: float


@dataclass(frozen=True)
class Penalize:
    chat: int | None
    duration: float


_ops = st.lists(
    st.one_of(
        st.builds(Send, st.sampled_from(CHATS), st.sampled_from([0.0, 0.0, 0.0, 0.01, 0.3, 1.0, 5.0, 61.0])),
        st.builds(Send, st.sampled_from(CHATS), st.floats(min_value=0, max_value=3, allow_nan=False)),
        st.builds(Penalize, st.sampled_from([None, *CHATS]), st.floats(min_value=0, max_value=20)),
    ),
    max_size=80,
)


@settings(deadline=None)  # O(n^2) checks; a busy 2-core box must not turn this into a flake
@given(
    ops=_ops,
    interval=st.sampled_from([0.0, 0.1, 0.5, 1.0, 1.7]),
    group_limit=st.integers(min_value=1, max_value=25),
    global_limit=st.integers(min_value=1, max_value=12),
    burst=st.integers(min_value=1, max_value=5),
)
def test_waiting_for_ready_at_never_breaks_a_limit(
    ops: list[Send | Penalize], interval: float, group_limit: int, global_limit: int, burst: int
) -> None:
    pacer = Pacer(
        per_chat_interval=interval, group_per_minute=group_limit, global_per_second=global_limit, burst=burst
    )
    now = 0.0
    sends: list[tuple[int, float]] = []
    penalties: list[tuple[int | None, float, int]] = []  # (chat, until, index of the next send)
    for op in ops:
        if isinstance(op, Penalize):
            penalties.append((op.chat, now + op.duration, len(sends)))
            pacer.penalize(op.chat, now + op.duration)
            continue
        now += op.delay
        at = pacer.ready_at(op.chat, now)
        assert at >= now
        now = at
        pacer.record(op.chat, at)
        sends.append((op.chat, at))

    all_times = [t for _, t in sends]
    for i in range(len(all_times) - global_limit):
        assert all_times[i + global_limit] >= all_times[i] + 1.0
    for chat in CHATS:
        times = [t for c, t in sends if c == chat]
        if chat < 0:
            for i in range(len(times) - group_limit):
                assert times[i + group_limit] >= times[i] + 60.0
        for i in range(len(times)):
            for j in range(i + 1, len(times)):
                # Token bucket: j-i+1 sends within [t_i, t_j] need burst + elapsed/interval tokens.
                allowed = burst + ((times[j] - times[i]) / interval if interval else float("inf"))
                assert j - i + 1 <= allowed + EPS
    for penalized, until, first in penalties:
        for c, t in sends[first:]:
            if penalized is None or c == penalized:
                assert t >= until


@given(
    delays=st.lists(st.floats(min_value=0, max_value=2), min_size=1, max_size=40),
    chat=st.sampled_from(CHATS),
)
def test_ready_at_is_now_when_nothing_constrains(delays: list[float], chat: int) -> None:
    # Liveness: spaced further apart than every limit, no send is ever delayed.
    pacer = Pacer(per_chat_interval=1.0, group_per_minute=20, global_per_second=30, burst=1)
    now = 0.0
    for delay in delays:
        now += 3.0 + delay  # >= 60 s / 20 and >= the 1 s interval
        assert pacer.ready_at(chat, now) == now
        pacer.record(chat, now)


def test_other_chats_traffic_does_not_erase_a_group_window() -> None:
    pacer = Pacer(per_chat_interval=0.0, group_per_minute=2, global_per_second=100, burst=10)
    assert _send(pacer, -5, 0.0) == 0.0
    assert _send(pacer, -5, 50.0) == 50.0
    assert _send(pacer, 9, 61.0) == 61.0  # the group's first send is now out of its window
    assert _send(pacer, -5, 61.0) == 61.0  # window (1, 61] holds only the send at 50
    assert pacer.ready_at(-5, 61.0) == 110.0  # 50 + 60


def test_other_chats_traffic_does_not_erase_a_penalty() -> None:
    pacer = Pacer()
    pacer.penalize(5, 10.0)
    assert _send(pacer, 6, 9.5) == 9.5
    assert pacer.ready_at(5, 9.5) == 10.0


def test_penalty_empties_the_chats_bucket_but_no_other() -> None:
    pacer = Pacer(per_chat_interval=1.0, burst=3)
    pacer.penalize(5, 10.0)
    # after the wait: one send, then the steady rate; no fresh burst that would earn the next 429
    assert [_send(pacer, 5, 0.0) for _ in range(3)] == [10.0, 11.0, 12.0]
    assert [_send(pacer, 6, 0.0) for _ in range(4)] == [0.0, 0.0, 0.0, 1.0]


@settings(deadline=None)
@given(ops=_ops, interval=st.sampled_from([0.0, 0.5, 1.0]), group_limit=st.integers(min_value=1, max_value=5),
       burst=st.integers(min_value=1, max_value=4))
def test_a_chat_is_paced_by_its_own_history_alone(
    ops: list[Send | Penalize], interval: float, group_limit: int, burst: int
) -> None:
    """With the shared global budget out of the way, no chat's sends, spent group budget or penalty ever
    moves another chat's ``ready_at``: every chat is paced exactly as if it were the only one."""

    def make() -> Pacer:
        return Pacer(per_chat_interval=interval, group_per_minute=group_limit, global_per_second=10_000, burst=burst)

    shared = make()
    alone = {chat: make() for chat in CHATS}
    now = 0.0
    for op in ops:
        if isinstance(op, Penalize):
            shared.penalize(op.chat, now + op.duration)
            for chat, pacer in alone.items():
                if op.chat is None or op.chat == chat:
                    pacer.penalize(op.chat, now + op.duration)
        else:
            now += op.delay
            at = shared.ready_at(op.chat, now)
            shared.record(op.chat, at)
            alone[op.chat].record(op.chat, at)
            now = at
        for chat, pacer in alone.items():
            assert shared.ready_at(chat, now) == pacer.ready_at(chat, now)


def test_a_chat_is_counted_from_its_answer_and_the_global_window_from_dispatch() -> None:
    pacer = Pacer(per_chat_interval=1.0, group_per_minute=2, global_per_second=2, burst=1)
    pacer.dispatched(0.0)
    assert pacer.ready_at(-5, 0.0) == 0.0  # in flight: only the global window knows it yet
    pacer.answered(-5, 0.3)  # its response came back 0.3 s later: Telegram saw it no later than that
    assert pacer.ready_at(-5, 0.3) == pytest.approx(1.3)
    pacer.dispatched(1.3)
    pacer.answered(-5, 1.35)
    assert pacer.ready_at(-5, 1.35) == pytest.approx(60.3)  # the group's window runs from the first answer
    assert pacer.ready_at(9, 0.5) == pytest.approx(1.0)  # two dispatches in the global second: the 3rd waits


@settings(max_examples=300, deadline=None)
@given(
    group=st.booleans(),
    sends=st.lists(
        st.tuples(st.floats(0.0, 0.5), st.floats(0.0, 1.0), st.floats(0.0, 2.0)), min_size=1, max_size=60
    ),
)
def test_telegram_never_counts_two_arrivals_closer_than_it_allows(
    group: bool, sends: list[tuple[float, float, float]]
) -> None:
    """One chat, one call in flight at a time, as the sender makes them: each call takes ``latency`` seconds to
    answer and reaches Telegram somewhere in between (``where``); then the chat idles ``gap`` seconds. The
    fake server's budget model, judging by arrival times, never refuses one of them."""
    from tools.fakegram.budget import RateLimiter

    chat = -1001 if group else 42
    pacer, telegram, now = Pacer(), RateLimiter(), 0.0
    for latency, where, gap in sends:
        at = pacer.ready_at(chat, now)
        pacer.dispatched(at)
        assert telegram.check(chat, group, at + where * latency) is None
        now = at + latency
        pacer.answered(chat, now)
        now += gap
