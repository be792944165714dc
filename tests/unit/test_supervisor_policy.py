from __future__ import annotations

import pytest

from ccbot.supervisor import CrashLedger, GaveUp, RestartPolicy


def test_backoff_doubles_and_caps() -> None:
    ledger = CrashLedger(RestartPolicy(initial_backoff=1, factor=2, max_backoff=5, healthy_after=100))
    delays = [ledger.record(started=t, now=t + 1) for t in range(0, 50, 10)]
    assert delays == [1, 2, 4, 5, 5]


def test_healthy_run_resets_backoff() -> None:
    ledger = CrashLedger(RestartPolicy(initial_backoff=1, healthy_after=30))
    assert ledger.record(0, 1) == 1
    assert ledger.record(2, 3) == 2
    assert ledger.record(10, 50) == 1  # ran 40 s: healthy


def test_budget_escalates_within_window_only() -> None:
    ledger = CrashLedger(RestartPolicy(max_restarts=2, window=10, healthy_after=1000))
    ledger.record(0, 1)
    ledger.record(1, 2)
    with pytest.raises(GaveUp):
        ledger.record(2, 3)
    spaced = CrashLedger(RestartPolicy(max_restarts=2, window=10, healthy_after=1000))
    for t in range(0, 100, 20):
        spaced.record(t, t + 1)  # never three within 10 s
