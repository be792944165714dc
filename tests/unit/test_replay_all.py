"""``python -m ccbot replay`` renders every recorded rollout in the test data without error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA

ROLLOUTS = sorted(p for p in DATA.rglob("*.jsonl") if "rollout" in str(p.parent) or p.name.startswith("rollout"))


def test_there_are_recordings_of_both_generations() -> None:
    names = [p.name for p in ROLLOUTS]
    assert any("old" in n for n in names) and len(ROLLOUTS) >= 8


@pytest.mark.parametrize("path", ROLLOUTS, ids=lambda p: p.name)
def test_replay_renders_recording(path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "ccbot", "replay", str(path)], capture_output=True, text=True,
                          timeout=60, cwd=DATA.parents[1])
    assert proc.returncode == 0, proc.stderr
    assert "skipped" not in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout.strip(), "a recording renders at least one message"
