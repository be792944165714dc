"""procfs against the real /proc: rollouts held open by processes in tmux windows.

Each window runs ccbot's pane shell -> sh -> python, where python opens the given files for appending and
sleeps, like Codex (a child of the npm wrapper in the pane) keeps its rollouts open.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from ccbot.codex.procfs import newest_rollout, open_rollouts, process_tree
from ccbot.tmux.adapter import Tmux, WindowInfo
from tests.integration.test_tmux_adapter import TmuxFactory, tmux_factory, wait_until

__all__ = ["tmux_factory"]  # the fixture, imported for use here

pytestmark = pytest.mark.tmux

HOLDER = r"""
import os, sys, time
ready, paths = sys.argv[1], sys.argv[2:]
held = [open(p, "a") for p in paths]
with open(ready + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(ready + ".tmp", ready)
time.sleep(120)
"""

OLD_ID = "01a20a53-d1d3-7893-b3db-4a6d84e3f89b"
NEW_ID = "01a20a57-3bbd-7bf3-8215-0d2f10bb79f8"
NEIGHBOUR_ID = "01a20a58-0000-7000-8000-000000000001"


def _rollout(sessions: Path, thread_id: str) -> Path:
    day = sessions / "2026" / "11" / "23"
    day.mkdir(parents=True, exist_ok=True)
    path = day / f"rollout-2026-11-23T21-36-58-{thread_id}.jsonl"
    path.write_text("")
    return path.resolve()


async def _holder_window(t: Tmux, tmp_path: Path, name: str, *paths: Path) -> tuple[WindowInfo, int]:
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    ready = tmp_path / f"{name}.pid"
    # "; exit" keeps sh from exec'ing python, so python is a grandchild of the pane's process.
    inner = shlex.join([sys.executable, str(script), str(ready), *map(str, paths)]) + "; exit $?"
    window = await t.new_window(name, tmp_path, ["sh", "-c", inner], {}, owner=f"procfs:{name}")

    async def started() -> bool:
        return ready.exists()

    await wait_until(started)
    return window, int(ready.read_text())


async def test_open_rollouts_of_real_windows(tmux_factory: TmuxFactory, tmp_path: Path) -> None:
    t = tmux_factory()
    await t.ensure_session()
    sessions = tmp_path / "codex_home" / "sessions"
    old, new, neighbour = (_rollout(sessions, i) for i in (OLD_ID, NEW_ID, NEIGHBOUR_ID))
    sqlite = sessions.parent / "state_5.sqlite"
    sqlite.write_text("")
    elsewhere = tmp_path / f"rollout-2026-11-23T21-36-58-{NEIGHBOUR_ID}.jsonl"
    elsewhere.write_text("")

    a, a_holder = await _holder_window(t, tmp_path, "a", new, sqlite, old, elsewhere)
    b, b_holder = await _holder_window(t, tmp_path, "b", neighbour)

    tree = process_tree(a.pane_pid)
    assert tree[0] == a.pane_pid
    assert len(tree) == 3 and tree[-1] == a_holder  # pane sh -> sh -> python
    assert b_holder not in tree

    assert open_rollouts(a.pane_pid, sessions) == [old, new]
    assert newest_rollout(open_rollouts(a.pane_pid, sessions)) == new
    assert open_rollouts(b.pane_pid, sessions) == [neighbour]
    assert newest_rollout(open_rollouts(b.pane_pid, sessions)) == neighbour
    # The sessions dir given through a symlink resolves to the same files.
    link = tmp_path / "home_link"
    link.symlink_to(sessions.parent)
    assert open_rollouts(a.pane_pid, link / "sessions") == [old, new]

    await t.kill_window(a.window_id)

    async def released() -> bool:
        return newest_rollout(open_rollouts(a.pane_pid, sessions)) is None

    await wait_until(released)
    assert open_rollouts(b.pane_pid, sessions) == [neighbour]


async def test_no_rollout_before_one_is_opened(tmux_factory: TmuxFactory, tmp_path: Path) -> None:
    t = tmux_factory()
    await t.ensure_session()
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    w, _ = await _holder_window(t, tmp_path, "idle")
    assert open_rollouts(w.pane_pid, sessions) == []
    assert newest_rollout(open_rollouts(w.pane_pid, sessions)) is None
    assert len(process_tree(w.pane_pid)) == 3  # the tree itself is there
