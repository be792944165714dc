"""The Codex releases ccbot is tested against (pure; no I/O).

One place names the tested range. ``.ci/run`` and ``tools.codex_harness`` install every release in
:data:`TESTED_VERSIONS` side by side and run the real-Codex tests under each; ``doctor`` warns, naming the
range, when the installed Codex is outside it. Moving the range up is ``python -m tools.codex_drift``
on the new release, then adding it here.
"""

from __future__ import annotations

import re

OLDEST_TESTED = "0.169.0"
NEWEST_TESTED = "0.171.0"
TESTED_VERSIONS: tuple[str, ...] = (OLDEST_TESTED, NEWEST_TESTED)

_VERSION = re.compile(r"\b(\d+)\.(\d+)\.(\d+)\b")

Version = tuple[int, int, int]


def parse_version(text: str) -> Version | None:
    """The first ``x.y.z`` in ``text`` (``codex-cli 0.169.0`` → (0, 169, 0)); None when there is none."""
    m = _VERSION.search(text)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def _release_line(text: str) -> tuple[int, int]:
    parsed = parse_version(text)
    assert parsed is not None, text
    return parsed[0], parsed[1]


def in_tested_range(version: Version) -> bool:
    """True when ``version``'s release line (major.minor, any patch) lies between the oldest and the newest
    tested release lines, both included."""
    return _release_line(OLDEST_TESTED) <= version[:2] <= _release_line(NEWEST_TESTED)


def tested_range_text() -> str:
    """The range as people read it: ``0.169.x to 0.171.x``."""
    old, new = _release_line(OLDEST_TESTED), _release_line(NEWEST_TESTED)
    return f"{old[0]}.{old[1]}.x to {new[0]}.{new[1]}.x"
