"""classify_pane on process trees recorded from real Codex 0.169 panes (tests/data/identity/), and on
edge cases built from them. The recording: two windows started with plain ``codex`` under Codex's
defaults (the first one's tree holds the shared daemon) and one ``codex --no-daemon`` window, before and
after ``/clear``."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from ccbot.codex.identity import (
    DAEMON_CLIENT_TEXT,
    InProcess,
    Unprovable,
    classify_pane,
    is_app_server,
    is_codex,
    is_remote_client,
)
from ccbot.codex.procfs import ProcEvidence
from tests.conftest import DATA

RECORDED = DATA / "identity" / "codex-0.169-daemon-and-no-daemon.json"


def recorded(name: str) -> list[ProcEvidence]:
    return [ProcEvidence(pid=100 + i, argv=tuple(e["argv"]), rollouts=tuple(Path(p) for p in e["rollouts"]),
                         locks=tuple(e["locks"]))
            for i, e in enumerate(json.loads(RECORDED.read_text())[name])]


def test_the_daemon_in_the_first_window_is_no_proof_for_it() -> None:
    # The daemon (a child of the first window's Codex) holds both windows' rollouts: the old rule took the
    # newest of them and posted the second window's reply in the first window's topic.
    tree = recorded("daemon_first_window")
    assert any(e.rollouts for e in tree)
    verdict = classify_pane(tree, settled=True)
    assert verdict == Unprovable("daemon", DAEMON_CLIENT_TEXT)


def test_a_daemon_client_without_the_daemon_in_its_tree() -> None:
    assert classify_pane(recorded("daemon_second_window"), settled=True).code == "daemon"  # type: ignore[union-attr]
    assert classify_pane(recorded("daemon_second_window"), settled=False).code == "starting"  # type: ignore[union-attr]


def test_no_daemon_window_before_its_first_prompt_is_in_process_without_a_rollout() -> None:
    tree = recorded("no_daemon_window")
    verdict = classify_pane(tree, settled=True)
    assert verdict == InProcess(tree[-1].pid, None)


def test_no_daemon_window_after_clear_follows_the_newest_of_its_own_rollouts() -> None:
    tree = recorded("no_daemon_window_after_clear")
    verdict = classify_pane(tree, settled=True)
    assert isinstance(verdict, InProcess)
    assert verdict.rollout is not None and "01a238a7-1124" in verdict.rollout.name
    assert len(tree[-1].rollouts) == 2


def test_two_codex_processes_holding_threads_are_ambiguous() -> None:
    own = recorded("no_daemon_window_after_clear")
    other = recorded("no_daemon_window")[-1]
    verdict = classify_pane([*own, replace(other, pid=999, rollouts=own[-1].rollouts[:1])], settled=True)
    assert isinstance(verdict, Unprovable) and verdict.code == "ambiguous"


def test_a_child_holding_only_a_lock_does_not_make_a_proven_pane_ambiguous() -> None:
    # e.g. a `codex exec` run as a tool: its own rollout is filtered out as not a user thread, its lock stays
    own = recorded("no_daemon_window_after_clear")
    child = replace(own[-1], pid=999, rollouts=(), locks=("01a238ff-0000-7000-8000-000000000000",))
    verdict = classify_pane([*own, child], settled=True)
    assert isinstance(verdict, InProcess) and verdict.pid == own[-1].pid


def test_remote_clients_and_trees_without_codex() -> None:
    tui = recorded("no_daemon_window")[-1]
    remote = replace(tui, argv=(tui.argv[0], "--remote", "unix:///tmp/x.sock"))
    assert classify_pane([remote], settled=False).code == "remote"  # type: ignore[union-attr]
    assert classify_pane([ProcEvidence(1, ("bash",))], settled=True).code == "no-codex"  # type: ignore[union-attr]
    assert classify_pane([], settled=True).code == "no-codex"  # type: ignore[union-attr]


@pytest.mark.parametrize(("argv", "codex", "server", "remote"), [
    (("/usr/bin/codex",), True, False, False),
    (("node", "/usr/bin/codex"), False, False, False),
    (("bash", "-c", "codex app-server"), False, False, False),
    (("/x/bin/codex", "app-server", "daemon", "pid-update-loop"), True, True, False),
    (("codex", "-c", "a=b", "app-server", "--listen", "unix://"), True, True, False),
    (("codex", "--remote=ws://127.0.0.1:1"), True, False, True),
    ((), False, False, False),
])
def test_process_kinds(argv: tuple[str, ...], codex: bool, server: bool, remote: bool) -> None:
    assert (is_codex(argv), is_app_server(argv), is_remote_client(argv)) == (codex, server, remote)
