"""Which plane a window gets, and the pane launcher that gives it a private app-server (``ccbot.codex.plane``).

The launcher runs under the real ``/bin/sh`` with a stand-in ``codex`` (a script that serves a unix socket
when asked for ``app-server`` and otherwise plays the TUI), so its start order and clean-up are real."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccbot.codex.plane import (
    LAUNCH_SCRIPT,
    STOP_GRACE,
    Plane,
    configured_plane,
    ensure_socket_dir,
    is_socket_name,
    launch_argv,
    new_socket_path,
    plane_for,
    plane_note,
    remote_argv,
)


@pytest.mark.parametrize(
    ("command", "config", "plane"),
    [
        (("codex",), None, Plane.APPSERVER),
        (("codex",), {"features": {"daemon_auto_start": True}}, Plane.APPSERVER),
        (("codex",), {"features": {"daemon_auto_start": False}}, Plane.TMUX),
        (("codex", "--no-daemon"), None, Plane.TMUX),
        (("codex", "-c", "features.daemon_auto_start=false"), None, Plane.TMUX),
        (("codex",), {"daemon_auto_start": False}, Plane.APPSERVER),  # not under [features]: Codex ignores it
    ],
)
def test_the_plane_follows_what_the_user_chose(command: tuple[str, ...], config: dict[str, object] | None,
                                               plane: Plane) -> None:
    assert plane_for(command, config) is plane


def test_configured_plane_reads_config_toml_and_treats_a_broken_one_as_the_defaults(tmp_path: Path) -> None:
    assert configured_plane(["codex"], tmp_path) is Plane.APPSERVER  # no config.toml
    (tmp_path / "config.toml").write_text("[features]\ndaemon_auto_start = false\n")
    assert configured_plane(["codex"], tmp_path) is Plane.TMUX
    (tmp_path / "config.toml").write_text("[features\n")
    assert configured_plane(["codex"], tmp_path) is Plane.APPSERVER


def test_remote_argv_and_launch_argv_pass_everything_as_words(tmp_path: Path) -> None:
    socket = tmp_path / "0123456789abcdef.sock"
    assert remote_argv(["codex", "-m", "x"], socket, None) == ["codex", "-m", "x", "--remote", f"unix://{socket}"]
    assert remote_argv(["codex"], socket, "01a2") == ["codex", "--remote", f"unix://{socket}", "resume", "01a2"]
    argv = launch_argv(["codex"], socket, None)
    assert argv[:4] == ["/bin/sh", "-c", LAUNCH_SCRIPT, "ccbot-plane"] and argv[4] == str(socket)
    with pytest.raises(ValueError):
        remote_argv([], socket, None)
    with pytest.raises(ValueError):
        remote_argv(["codex", "--remote=ws://x"], socket, None)


@given(st.text())
def test_only_names_ccbot_makes_are_socket_names(name: str) -> None:
    made = new_socket_path(Path("/tmp/d"))
    assert is_socket_name(str(made))
    if not (len(name) == 21 and name.endswith(".sock") and all(c in "0123456789abcdef" for c in name[:16])):
        assert not is_socket_name(f"/tmp/d/{name}")


def test_the_socket_directory_must_be_private_and_ours(tmp_path: Path) -> None:
    private = ensure_socket_dir(tmp_path / "run" / "ccbot")
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    (tmp_path / "open").mkdir(mode=0o755)
    os.chmod(tmp_path / "open", 0o755)
    with pytest.raises(OSError, match="open to other users"):
        ensure_socket_dir(tmp_path / "open")
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError):
        ensure_socket_dir(tmp_path / "file")
    (tmp_path / "link").symlink_to(private)
    with pytest.raises(OSError, match="not a directory"):
        ensure_socket_dir(tmp_path / "link")


def test_plane_notes_name_the_plane() -> None:
    assert "app-server" in plane_note(Plane.APPSERVER) and "tmux" in plane_note(Plane.TMUX)


# -- the launcher, under the real /bin/sh --------------------------------------------------------------------

FAKE_CODEX = """#!{python}
import os, signal, socket, sys, time
args = sys.argv[1:]
log = open(os.environ["FAKE_LOG"], "a")
if args[:1] == ["app-server"]:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # outlives the pane's hangup, as a daemon would
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # as Codex's app-server with an approval pending
    path = args[args.index("--listen") + 1].removeprefix("unix://")
    log.write(f"server {{os.getpid()}}\\n"); log.flush()
    s = socket.socket(socket.AF_UNIX); s.bind(path); s.listen()
    while True:
        time.sleep(1)
else:
    path = args[args.index("--remote") + 1].removeprefix("unix://")
    log.write(f"tui sees socket={{os.path.exists(path)}} args={{args}}\\n"); log.flush()
    time.sleep(float(os.environ.get("FAKE_TUI_SECONDS", "0.2")))
"""


def _launch(tmp_path: Path, tui_seconds: float) -> tuple[subprocess.Popen[bytes], Path, Path]:
    codex = tmp_path / "codex"
    codex.write_text(FAKE_CODEX.format(python=sys.executable))
    codex.chmod(0o755)
    socket = ensure_socket_dir(tmp_path / "s") / "0123456789abcdef.sock"
    log = tmp_path / "log"
    env = {**os.environ, "FAKE_LOG": str(log), "FAKE_TUI_SECONDS": str(tui_seconds)}
    proc = subprocess.Popen(launch_argv([str(codex)], socket, "01a2-$(touch pwned)"), env=env, cwd=tmp_path,
                            start_new_session=True, stderr=subprocess.DEVNULL)
    return proc, socket, log


def _server_pid(log: Path) -> int:
    return int(next(line.split()[1] for line in log.read_text().splitlines() if line.startswith("server")))


def _gone(pid: int, within: float = STOP_GRACE + 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_the_launcher_starts_the_server_first_and_stops_it_when_the_tui_exits(tmp_path: Path) -> None:
    proc, socket, log = _launch(tmp_path, 0.2)
    assert proc.wait(timeout=20) == 0
    lines = log.read_text().splitlines()
    tui = next(line for line in lines if line.startswith("tui"))
    assert "socket=True" in tui  # the TUI started only once the server listened
    assert "'resume', '01a2-$(touch pwned)'" in tui and not (tmp_path / "pwned").exists()  # literal words
    assert _gone(_server_pid(log)) and not socket.exists()


def test_the_launcher_stops_the_server_when_the_window_is_killed(tmp_path: Path) -> None:
    proc, socket, log = _launch(tmp_path, 30)
    deadline = time.monotonic() + 20
    while "tui" not in (log.read_text() if log.exists() else "") and time.monotonic() < deadline:
        time.sleep(0.05)
    server = _server_pid(log)
    os.killpg(proc.pid, signal.SIGHUP)  # the pane's hangup when tmux kills the window
    proc.wait(timeout=20)
    assert _gone(server) and not socket.exists()
