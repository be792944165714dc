"""Shared test fixtures.

Tests that need a real tmux or the real Codex CLI request the ``tmux_bin`` / ``codex_bin`` fixtures.
Outside CI a missing binary skips the test; under ``CI=true`` it fails, so a green CI run always
means the real parts ran.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ccbot.codex.versions import TESTED_VERSIONS

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing(what: str) -> None:
    """Fail under CI, skip elsewhere: the one rule for absent real parts."""
    if _in_ci():
        pytest.fail(f"{what} is required when CI is set", pytrace=False)
    pytest.skip(f"{what} not available")


@pytest.fixture
def tmux_bin() -> str:
    path = shutil.which("tmux")
    if path is None:
        missing("tmux")
    assert path is not None
    return path


@pytest.fixture(params=TESTED_VERSIONS, ids=lambda v: f"codex-{v}")
def codex_bin(request: pytest.FixtureRequest, tmux_bin: str) -> str:
    """The real Codex CLI, once per tested release (``ccbot.codex.versions.TESTED_VERSIONS``, installed
    side by side by ``tools.codex_harness``): every real-Codex test runs against the oldest and the newest
    tested Codex."""
    from tools.codex_harness import ensure_codex

    version = str(request.param)
    try:
        return str(ensure_codex(version))
    except RuntimeError as exc:
        missing(f"codex {version} ({exc})")
        raise


@pytest.fixture(params=["harness", "defaults"])
def codex_config(request: pytest.FixtureRequest) -> str:
    """The Codex config profile a real-Codex test runs under (``tools.codex_harness.render_config``):
    the quiet harness config, and Codex's own defaults (background daemon, paste-burst detection,
    animations and tips on) that users have. Every test that takes it runs under both."""
    return str(request.param)


@pytest.fixture
def data_dir() -> Path:
    return DATA
