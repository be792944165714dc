"""Checks of tmux: the binary, its version, a private server and ccbot's session (facts in, :class:`Check` out;
pure). The facts come from :func:`ccbot.doctor.gather.gather_tmux`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ccbot.doctor.result import Check, Level, plural

MIN_TMUX = (3, 3)
_TMUX_VERSION = re.compile(r"^tmux (?:next-)?(\d+)\.(\d+)[a-z]?\b")


def parse_tmux_version(text: str) -> tuple[int, int] | None:
    """``tmux 3.3a`` → (3, 3); ``tmux next-3.6`` → (3, 6); else (``tmux master``, OpenBSD's) → None."""
    m = _TMUX_VERSION.match(text.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


@dataclass(frozen=True, slots=True)
class TmuxFacts:
    """What :func:`~ccbot.doctor.gather.gather_tmux` observed: the binary, ``tmux -V``, a private server, and
    ccbot's own session on the configured server."""

    path: str | None  # None: not on PATH
    version_output: str | None = None  # ``tmux -V`` stdout; None when it failed
    version_error: str = ""
    server_error: str | None = None  # None: a private server started, answered and was killed
    socket_label: str = "the default server"
    session_name: str = "ccbot"
    session_windows: int | None = None  # None: ccbot's session is not running
    session_error: str | None = None  # an answer other than "no server" / "no such session"


def tmux_checks(f: TmuxFacts) -> list[Check]:
    """The tmux lines: binary and version (✗ below 3.3), the private server, ccbot's session. Only one ✗ line
    when tmux is not found or ``-V`` fails."""
    if f.path is None:
        return [Check("tmux", Level.FAIL, "not found on PATH", "install tmux ≥ 3.3 (e.g. apt install tmux)")]
    if f.version_output is None:
        return [Check("tmux", Level.FAIL, f"`{f.path} -V` failed: {f.version_error}",
                      "reinstall tmux ≥ 3.3")]
    shown = f.version_output.strip()
    version = parse_tmux_version(shown)
    out: list[Check] = []
    if version is None:
        out.append(Check("tmux", Level.WARN, f"cannot tell the version from {shown!r}",
                         "make sure it is tmux ≥ 3.3"))
    elif version < MIN_TMUX:
        out.append(Check("tmux", Level.FAIL, f"{shown} is older than 3.3",
                         "install tmux ≥ 3.3 (Debian 12 / Ubuntu 22.04 and later ship it)"))
    else:
        out.append(Check("tmux", Level.OK, f"{shown} ({f.path})"))
    if f.server_error is None:
        out.append(Check("tmux server", Level.OK, "started and stopped a server on a private socket"))
    else:
        out.append(Check("tmux server", Level.FAIL,
                         f"cannot start a server on a private socket: {f.server_error}",
                         "tmux keeps its sockets in $TMUX_TMPDIR or /tmp/tmux-<uid>: that folder must be "
                         "writable and owned by this user"))
    where = f"session {f.session_name!r} on {f.socket_label}"
    if f.session_error is not None:
        out.append(Check("tmux session", Level.WARN, f"cannot ask about {where}: {f.session_error}",
                         "check CCBOT_TMUX_SOCKET / TMUX_SESSION_NAME"))
    elif f.session_windows is None:
        out.append(Check("tmux session", Level.OK, f"{where} is not running; the bot creates it"))
    else:
        out.append(Check("tmux session", Level.OK,
                         f"{where} is running with {plural(f.session_windows, 'window')}"))
    return out
