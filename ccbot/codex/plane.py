"""Which control plane a window's Codex runs on, and the pane command that gives it a private app-server.

Reads ``CODEX_HOME/config.toml`` and makes the private socket directory; everything else is pure.

Two planes (see doc/architecture.md, "Control planes"):

* **app-server** (the default for windows ccbot starts): the pane runs a small ``sh`` launcher that starts
  ``codex app-server --listen unix://SOCKET`` beside the TUI and then the TUI as ``codex --remote
  unix://SOCKET``. The server is the pane's own: it lives exactly as long as the pane's launcher (it is
  killed when the TUI exits or the window is killed) and serves no other pane, so every user thread on it
  is this pane's thread — identity by construction, two panes in one folder can never be confused. The
  socket sits in a private directory (``0700``, owned by ccbot's user) under a random name kept in the
  binding; ccbot attaches to it as a second client for streamed answers, exact approvals and interrupts.
* **tmux** (today's path): the TUI runs in-process (``--no-daemon``), its thread proven through /proc.
  Chosen when the user deliberately runs Codex in-process: ``--no-daemon`` in ``CCBOT_CODEX_COMMAND``, or
  ``[features] daemon_auto_start = false`` in ``CODEX_HOME/config.toml``; and for windows bound by hand.
"""

from __future__ import annotations

import enum
import os
import re
import secrets
import stat
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

SOCKET_WAIT_STEPS = 300  # steps of 0.05 s: how long the launcher waits for the server's socket before the TUI starts

# "$1" is the socket path, "$2…" the TUI's argv (its first word is the codex binary, which also runs the
# server). The server runs in a session of its own (``setsid``: no terminal, so the pane's hangup does not reach
# it, and its process group is its own), its output in "$sock.log". The TUI runs as a job of its own
# (``set -m``) so tmux sees it as the pane's foreground program. Once the TUI is gone, whichever way (it
# exited, or the window was killed), the EXIT trap stops the server's whole group: TERM, then KILL after
# STOP_GRACE seconds — Codex's app-server does not exit on TERM while an approval is pending (measured on
# 0.169) — and removes the socket.
STOP_GRACE = 2
LAUNCH_SCRIPT = (
    'sock=$1; shift; '
    'setsid "$1" app-server --listen "unix://$sock" </dev/null >"$sock.log" 2>&1 & srv=$!; '
    'stop() { kill -TERM -"$srv" 2>/dev/null; '
    f'( sleep {STOP_GRACE}; kill -KILL -"$srv" 2>/dev/null ) >/dev/null 2>&1 & rm -f "$sock"; }}; '
    "trap stop EXIT; trap 'exit 129' HUP; trap 'exit 143' TERM; "
    f'n=0; while [ ! -S "$sock" ] && [ $n -lt {SOCKET_WAIT_STEPS} ]; do sleep 0.05; n=$((n+1)); done; '
    'set -m; "$@"'
)

_SOCKET_NAME = re.compile(r"[0-9a-f]{16}\.sock")


class Plane(enum.Enum):
    """How ccbot follows a window's Codex."""

    APPSERVER = "app-server"
    TMUX = "tmux"


def runs_in_process(codex_command: Sequence[str], config: Mapping[str, Any] | None) -> bool:
    """Whether the user runs Codex in-process on purpose: ``--no-daemon`` or ``-c
    features.daemon_auto_start=false`` in the command, or ``daemon_auto_start = false`` under ``[features]``
    in ``config`` (the parsed ``config.toml``; a top-level key is ignored, as Codex ignores it)."""
    if "--no-daemon" in codex_command:
        return True
    if any(re.fullmatch(r"features\.daemon_auto_start\s*=\s*false", arg) for arg in codex_command):
        return True
    features = (config or {}).get("features")
    return isinstance(features, Mapping) and features.get("daemon_auto_start") is False


def plane_for(codex_command: Sequence[str], config: Mapping[str, Any] | None) -> Plane:
    """The plane for windows ccbot starts: TMUX when the user runs Codex in-process on purpose
    (:func:`runs_in_process`), APPSERVER otherwise (Codex's defaults)."""
    return Plane.TMUX if runs_in_process(codex_command, config) else Plane.APPSERVER


def configured_plane(codex_command: Sequence[str], codex_home: Path) -> Plane:
    """:func:`plane_for` with ``codex_home/config.toml``; an unreadable or invalid config counts as the defaults."""
    try:
        config = tomllib.loads((codex_home / "config.toml").read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        config = None
    return plane_for(codex_command, config)


def daemon_socket(codex_home: Path) -> Path:
    """The control socket of Codex's shared background app-server (its default daemon) for ``codex_home``."""
    return codex_home / "app-server-control" / "app-server-control.sock"


SHARED_NOTE = ("This window runs through Codex's shared background app-server, which serves other windows too: "
               "ccbot follows it from your first message in this topic (the conversation that receives that "
               "message is this window's).")


def plane_note(plane: Plane) -> str:
    """One line for the topic (bind notice, /status): which control plane follows the window and what it gives."""
    if plane is Plane.APPSERVER:
        return ("📡 Control plane: Codex's app-server (answers stream while Codex writes them; approval buttons "
                "come from Codex itself).")
    return "🖥 Control plane: tmux (screen and rollout; answers arrive when finished)."


def socket_dir() -> Path:
    """Where pane app-server sockets live: ``$XDG_RUNTIME_DIR/ccbot`` or ``/tmp/ccbot-<uid>`` (short: a unix
    socket path is limited to 107 bytes)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_absolute():
        return Path(runtime) / "ccbot"
    return Path("/tmp") / f"ccbot-{os.getuid()}"


def ensure_socket_dir(directory: Path) -> Path:
    """Create ``directory`` (mode ``0700``) if missing and check it is a real directory owned by this user
    and closed to everyone else, so no other user can plant or read a socket there. Raises OSError (with the
    reason) when it is not."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = directory.lstat()
    if not stat.S_ISDIR(info.st_mode):
        raise OSError(f"{directory} is not a directory")
    if info.st_uid != os.getuid():
        raise OSError(f"{directory} belongs to another user")
    if info.st_mode & 0o077:
        raise OSError(f"{directory} is open to other users (mode {stat.S_IMODE(info.st_mode):o}); chmod 700 it")
    return directory


def new_socket_path(directory: Path) -> Path:
    """A fresh random socket path in ``directory`` (not created)."""
    return directory / f"{secrets.token_hex(8)}.sock"


def is_socket_name(path: str) -> bool:
    """Whether ``path`` ends in a name :func:`new_socket_path` makes (a saved binding is checked before use)."""
    return bool(_SOCKET_NAME.fullmatch(Path(path).name))


def remote_argv(codex_command: Sequence[str], socket: Path, resume: str | None) -> list[str]:
    """The TUI's argv on ``socket``'s server: the configured command, ``--remote unix://SOCKET``, then
    ``resume ID`` when resuming. Raises ValueError for an empty command or one with ``--remote`` already."""
    argv = list(codex_command)
    if not argv:
        raise ValueError("the codex command is empty")
    if any(a == "--remote" or a.startswith("--remote=") for a in argv):
        raise ValueError("the codex command already names a --remote server")
    argv += ["--remote", f"unix://{socket}"]
    return [*argv, "resume", resume] if resume is not None else argv


def launch_argv(codex_command: Sequence[str], socket: Path, resume: str | None) -> list[str]:
    """The pane's argv: the launcher script with ``socket`` and the TUI's :func:`remote_argv` as positional
    parameters (literal; nothing is parsed by a shell)."""
    return ["/bin/sh", "-c", LAUNCH_SCRIPT, "ccbot-plane", str(socket), *remote_argv(codex_command, socket, resume)]
