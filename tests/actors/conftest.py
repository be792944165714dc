"""Fixtures shared by the actor tests."""

from __future__ import annotations

import pytest
import trio.testing


@pytest.fixture
def fast_clock() -> trio.testing.MockClock:
    """Virtual time that jumps only after 10 ms of real idleness: the actor's state saves and proofs run
    in worker threads, and a clock that jumped during those (threshold 0) would expire its timeouts."""
    return trio.testing.MockClock(autojump_threshold=0.01)
