"""Percentiles and latency summaries (pure).

``percentile(values, q)`` uses linear interpolation between closest ranks (the "exclusive of nothing",
NumPy-default method): for sorted ``v`` of length ``n`` the rank is ``q/100 * (n-1)``. Raises ``ValueError``
for no values or ``q`` outside [0, 100].
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile of ``values`` (see the module docstring)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 100.0 or math.isnan(q):
        raise ValueError(f"percentile must be within [0, 100], got {q!r}")
    ordered = sorted(values)
    rank = q / 100.0 * (len(ordered) - 1)
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return float(ordered[low])
    weight = rank - low
    return float(ordered[low] + (ordered[high] - ordered[low]) * weight)


def summarize_ms(seconds: Sequence[float]) -> dict[str, float | int]:
    """``{"n", "p50", "p90", "p99", "max", "mean"}`` in milliseconds (rounded to 0.1 ms) from samples
    in seconds. No samples → ``{"n": 0}`` only."""
    if not seconds:
        return {"n": 0}
    ms = [s * 1000.0 for s in seconds]
    return {
        "n": len(ms),
        "p50": round(percentile(ms, 50), 1),
        "p90": round(percentile(ms, 90), 1),
        "p99": round(percentile(ms, 99), 1),
        "max": round(max(ms), 1),
        "mean": round(sum(ms) / len(ms), 1),
    }


def cpu_percent(cpu_seconds: float, wall_seconds: float) -> float:
    """CPU time as a percentage of one core over ``wall_seconds`` (> 0, else ``ValueError``)."""
    if wall_seconds <= 0:
        raise ValueError("wall time must be positive")
    return 100.0 * cpu_seconds / wall_seconds
