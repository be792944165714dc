"""The sending-budget maths (``tools.fakegram.budget``), with explicit times: no trio, no server."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.fakegram import BudgetLimits, RateLimiter, Refusal

from .support import budget_fits, budget_violations

PRIVATE, OTHER_PRIVATE, GROUP, OTHER_GROUP = 1001, 1002, -1001, -1002
CHATS = [(PRIVATE, False), (OTHER_PRIVATE, False), (GROUP, True), (OTHER_GROUP, True)]


def test_private_chat_bursts_three_then_one_per_second() -> None:
    limiter = RateLimiter()
    assert [limiter.check(PRIVATE, False, 0.0) for _ in range(3)] == [None, None, None]
    assert limiter.check(PRIVATE, False, 0.0) == Refusal(1, 1.0, "chat")
    assert limiter.check(PRIVATE, False, 0.5) == Refusal(1, 0.5, "chat")
    assert limiter.check(PRIVATE, False, 1.0) is None
    assert limiter.check(PRIVATE, False, 1.5) == Refusal(1, 0.5, "chat")
    assert limiter.check(PRIVATE, False, 2.0) is None
    assert limiter.check(OTHER_PRIVATE, False, 2.0) is None  # another chat has its own bucket
    # Idle time refills the bucket, but never beyond the burst.
    assert [limiter.check(PRIVATE, False, 100.0) for _ in range(4)][-1] == Refusal(1, 1.0, "chat")


def test_group_twenty_per_minute_window() -> None:
    limiter = RateLimiter()
    assert all(limiter.check(GROUP, True, float(t)) is None for t in range(20))
    assert limiter.check(GROUP, True, 20.0) == Refusal(40, 40.0, "group")
    assert limiter.check(GROUP, True, 59.5) == Refusal(1, 0.5, "group")
    assert limiter.check(GROUP, True, 60.0) is None  # the message of t=0 left the window
    assert limiter.check(GROUP, True, 60.5) == Refusal(1, 0.5, "group")  # t=1's leaves at 61
    assert limiter.check(OTHER_GROUP, True, 60.5) is None


def test_group_chats_also_have_the_per_chat_bucket() -> None:
    limiter = RateLimiter()
    assert [limiter.check(GROUP, True, 0.0) for _ in range(4)][-1] == Refusal(1, 1.0, "chat")


def test_global_thirty_per_second_over_all_chats() -> None:
    limiter = RateLimiter()
    assert all(limiter.check(chat, False, 0.0) is None for chat in range(1, 31))
    assert limiter.check(31, False, 0.2) == Refusal(1, 0.8, "global")
    assert limiter.check(31, False, 1.0) is None


def test_retry_after_is_whole_seconds_rounded_up() -> None:
    limiter = RateLimiter(BudgetLimits(chat_rate=0.4, chat_burst=1))
    assert limiter.check(PRIVATE, False, 0.0) is None
    refusal = limiter.check(PRIVATE, False, 0.25)
    assert refusal == Refusal(3, 2.25, "chat")


@pytest.mark.parametrize(
    "fields",
    [{"chat_rate": 0.0}, {"chat_burst": 0}, {"group_per_minute": 0}, {"global_per_second": 0}],
)
def test_limits_must_be_positive(fields: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        BudgetLimits(**fields)  # type: ignore[arg-type]


limits_strategy = st.builds(
    BudgetLimits,
    chat_rate=st.sampled_from([0.5, 1.0, 2.0, 3.0]),
    chat_burst=st.integers(1, 4),
    group_per_minute=st.integers(1, 8),
    global_per_second=st.integers(1, 6),
)
gaps_ms = st.one_of(st.integers(0, 400), st.integers(0, 3000), st.sampled_from([0, 1000, 20_000, 61_000]))
calls_strategy = st.lists(st.tuples(gaps_ms, st.integers(0, len(CHATS) - 1)), min_size=20, max_size=120)


@settings(max_examples=300, deadline=None)
@given(limits=limits_strategy, calls=calls_strategy)
def test_any_sequence_admits_exactly_what_fits_and_retry_after_is_honest(
    limits: BudgetLimits, calls: list[tuple[int, int]]
) -> None:
    """Accepted iff the oracle says it fits (so no window is ever exceeded, and nothing that fits is
    refused); a refusal's retry_after is the first whole second at which the same call goes."""
    limiter = RateLimiter(limits)
    accepted: list[tuple[float, int, bool]] = []
    now_ms = 0
    for gap, index in calls:
        now_ms += gap
        now = now_ms / 1000
        chat_id, is_group = CHATS[index]
        fits = budget_fits(accepted, chat_id, is_group, now, limits)
        probe = copy.deepcopy(limiter)
        refusal = limiter.check(chat_id, is_group, now)
        assert (refusal is None) == fits, (now, chat_id, refusal, accepted)
        if refusal is None:
            accepted.append((now, chat_id, is_group))
            continue
        assert refusal.retry_after >= 1 and refusal.retry_after + 1e-6 >= refusal.wait > 0
        assert copy.deepcopy(probe).check(chat_id, is_group, now + refusal.retry_after) is None
        if refusal.retry_after > 1:
            assert probe.check(chat_id, is_group, now + refusal.retry_after - 1) is not None
    assert budget_violations(accepted, limits) == []
