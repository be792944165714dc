"""Tests for ccbot.render.stream_pacing.FramePacer, with explicit clock values."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccbot.actors.sender import USER_RESERVE
from ccbot.render.stream_pacing import (
    DRAFT_INTERVAL,
    EDIT_INTERVAL,
    EDIT_PER_WINDOW,
    EDIT_WINDOW,
    FrameMode,
    FramePacer,
    FrameRules,
    rules_for,
)
from ccbot.telegram.pacing import GROUP_WINDOW, Pacer


def test_numbers_stay_inside_the_senders_budgets() -> None:
    pacer = Pacer()
    assert pacer.per_chat_interval <= DRAFT_INTERVAL
    assert EDIT_WINDOW == GROUP_WINDOW
    # Frames leave the user's reserve and room for the final answer and other messages.
    assert pacer.group_per_minute - USER_RESERVE - 3 >= EDIT_PER_WINDOW
    assert EDIT_INTERVAL * EDIT_PER_WINDOW >= EDIT_WINDOW  # the interval alone keeps the budget
    assert rules_for(FrameMode.DRAFT).interval == DRAFT_INTERVAL
    assert rules_for(FrameMode.EDIT) == FrameRules(EDIT_INTERVAL, EDIT_PER_WINDOW, EDIT_WINDOW)


def test_draft_frames_keep_the_interval_and_the_newest_frame_is_held() -> None:
    pacer = FramePacer(FrameMode.DRAFT)
    assert pacer.next_due(0.0) is None
    assert pacer.offer(10.0, "a")
    assert not pacer.offer(10.3, "ab")
    assert not pacer.offer(10.6, "abc")
    assert pacer.next_due(10.6) == 11.0
    assert pacer.take(10.9) is None
    assert pacer.take(11.0) == "abc"  # the newest, not the first held
    assert pacer.next_due(11.0) is None
    assert pacer.take(11.5) is None
    assert not pacer.offer(11.5, "abcd")
    assert pacer.next_due(11.5) == 12.0
    assert pacer.offer(12.0, "abcde")  # an offer at the due time goes at once
    assert pacer.next_due(12.0) is None


def test_identical_frames_and_empty_frames_are_not_sent() -> None:
    pacer = FramePacer(FrameMode.DRAFT)
    assert pacer.offer(0.0, "same")
    assert not pacer.offer(5.0, "same")
    assert pacer.next_due(5.0) is None
    assert not pacer.offer(6.0, None)
    assert pacer.next_due(6.0) is None
    # A held frame followed by the one already shown: nothing left to send.
    assert pacer.offer(7.0, "new")
    assert not pacer.offer(7.1, "newer")
    assert not pacer.offer(7.2, "new")
    assert pacer.next_due(7.2) is None
    assert pacer.take(9.0) is None


def test_no_frame_after_finished() -> None:
    pacer = FramePacer(FrameMode.EDIT)
    assert pacer.offer(0.0, "a")
    assert not pacer.offer(1.0, "ab")
    assert pacer.next_due(1.0) == EDIT_INTERVAL
    pacer.finished()
    assert not pacer.active
    assert pacer.next_due(1.0) is None
    assert pacer.take(100.0) is None
    assert not pacer.offer(100.0, "abc")


def test_edit_frames_stay_inside_the_group_window() -> None:
    pacer = FramePacer(FrameMode.EDIT)
    sent: list[float] = []
    for tick in range(0, 1800):  # a new frame every 0.1 s for three minutes
        now = tick / 10
        if pacer.offer(now, f"frame {tick}"):
            sent.append(now)
    assert sent[:3] == [0.0, 5.0, 10.0]
    assert all(b - a >= EDIT_INTERVAL for a, b in itertools.pairwise(sent))
    assert all(sent[i + EDIT_PER_WINDOW] - sent[i] >= EDIT_WINDOW for i in range(len(sent) - EDIT_PER_WINDOW))
    assert len(sent) == 180 / EDIT_INTERVAL


def test_the_window_limits_a_fast_interval() -> None:
    pacer = FramePacer(FrameMode.EDIT, FrameRules(interval=1.0, per_window=3, window=10.0))
    assert [pacer.offer(t, f"f{t}") for t in (0.0, 1.0, 2.0, 3.0)] == [True, True, True, False]
    assert pacer.next_due(3.0) == 10.0
    assert pacer.take(10.0) == "f3.0"
    assert pacer.next_due(10.0) is None
    assert not pacer.offer(10.5, "g")
    assert pacer.next_due(10.5) == 11.0
    assert pacer.take(11.0) == "g"
    assert not pacer.offer(11.5, "h")
    assert pacer.next_due(11.5) == 12.0  # the 3rd send back (at 2.0) plus the window is long past


def test_a_failed_draft_turns_frames_off() -> None:
    pacer = FramePacer(FrameMode.DRAFT)
    assert pacer.offer(0.0, "a")
    assert not pacer.offer(0.5, "ab")
    pacer.draft_failed()
    assert pacer.mode is FrameMode.OFF
    assert not pacer.active
    assert pacer.next_due(0.5) is None
    assert not pacer.offer(5.0, "abc")
    assert pacer.take(5.0) is None


def test_draft_failed_leaves_edit_mode_alone() -> None:
    pacer = FramePacer(FrameMode.EDIT)
    pacer.draft_failed()
    assert pacer.mode is FrameMode.EDIT
    assert pacer.offer(0.0, "a")


def test_off_sends_nothing() -> None:
    pacer = FramePacer(FrameMode.OFF)
    assert not pacer.offer(0.0, "a")
    assert pacer.next_due(0.0) is None
    assert pacer.take(100.0) is None


def test_rules_are_checked() -> None:
    with pytest.raises(ValueError, match="positive"):
        FrameRules(interval=-1.0, per_window=1, window=1.0)
    with pytest.raises(ValueError, match="positive"):
        FrameRules(interval=1.0, per_window=0, window=1.0)


EVENT = st.tuples(
    st.floats(0.0, 3.0, allow_nan=False),  # time since the previous event
    st.sampled_from(["offer", "offer", "offer", "wake", "draft_failed"]),
    st.sampled_from(["a", "ab", "abc", "abcd", None]),
)


@settings(max_examples=200, deadline=None)
@given(
    mode=st.sampled_from(list(FrameMode)),
    rules=st.builds(FrameRules, st.sampled_from([0.0, 0.3, 1.0, 5.0]), st.integers(1, 5), st.sampled_from([2.0, 10.0])),
    events=st.lists(EVENT, max_size=60),
    finish_at=st.integers(0, 60),
)
def test_a_caller_following_the_pacer_keeps_every_rule(
    mode: FrameMode, rules: FrameRules, events: list[tuple[float, str, str | None]], finish_at: int
) -> None:
    """A caller that offers frames, wakes up at `next_due` and finishes at some point: sends keep
    the interval and the window, never repeat the frame on screen, and stop at finished()."""
    pacer = FramePacer(mode, rules)
    now = 0.0
    sent: list[tuple[float, str]] = []
    stopped_at: int | None = 0 if mode is FrameMode.OFF else None  # how many were sent when frames stopped
    for index, (step, action, frame) in enumerate(events):
        if index == finish_at:
            pacer.finished()
            stopped_at = len(sent) if stopped_at is None else stopped_at
        due, event_time = pacer.next_due(now), now + step
        if due is not None and due <= event_time:  # the caller's timer fires first
            taken = pacer.take(due)
            assert taken is not None
            sent.append((due, taken))
        now = event_time
        if action == "offer":
            if pacer.offer(now, frame):
                assert frame is not None
                sent.append((now, frame))
        elif action == "wake":
            taken = pacer.take(now)
            if taken is not None:
                sent.append((now, taken))
        else:
            pacer.draft_failed()
            if mode is FrameMode.DRAFT and stopped_at is None:
                stopped_at = len(sent)
        due = pacer.next_due(now)
        assert due is None or due >= now
    if stopped_at is not None:
        assert len(sent) == stopped_at  # nothing after finished(), draft_failed() or in OFF
    times = [t for t, _ in sent]
    frames = [f for _, f in sent]
    slack = 1e-9  # a due time is a float sum: 2.0 + 0.3 - 2.0 < 0.3
    assert all(b - a >= rules.interval - slack for a, b in itertools.pairwise(times))
    n = rules.per_window
    assert all(times[i + n] - times[i] >= rules.window - slack for i in range(len(times) - n))
    assert all(a != b for a, b in itertools.pairwise(frames))
    if stopped_at is not None:
        assert not pacer.active
        assert pacer.next_due(now) is None
        assert pacer.take(now + 1000) is None
        assert not pacer.offer(now + 1000, "late frame")
