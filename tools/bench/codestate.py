"""Which code a measurement ran against (the bot's code may change while the bench runs).

``code_state()`` → ``{"commit", "dirty", "diff_sha1"}``: the short HEAD commit, the uncommitted files under
``CODE_PATHS`` (tracked and untracked) and a SHA-1 prefix of their diff (None when clean), so figures taken
while another engineer edits the bot can be matched to a state later. Never raises for a missing git: the
fields are then empty.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CODE_PATHS = ("ccbot", "tools/fakegram", "tests/e2e")  # the bot, and the fake and the kit it is measured with


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    except OSError:
        return ""
    return done.stdout


def code_state() -> dict[str, Any]:
    """See the module docstring."""
    diff = _git("diff", "HEAD", "--", *CODE_PATHS)
    untracked = _git("ls-files", "--others", "--exclude-standard", "--", *CODE_PATHS).split()
    for name in untracked:
        path = ROOT / name
        diff += f"\n+++ {name}\n" + (path.read_text(encoding="utf-8", errors="replace") if path.is_file() else "")
    return {
        "commit": _git("rev-parse", "--short", "HEAD").strip(),
        "dirty": sorted({*_git("diff", "HEAD", "--name-only", "--", *CODE_PATHS).split(), *untracked}),
        "diff_sha1": hashlib.sha1(diff.encode()).hexdigest()[:12] if diff.strip() else None,
    }
