"""Checks of Codex (command, version, daemon mode) and of ``CODEX_HOME`` (rollouts, and whether the newest one
decodes). Pure: :func:`scan_rollout` decodes bytes it is given; :mod:`ccbot.doctor.gather` reads them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccbot.codex.plane import Plane, plane_for
from ccbot.codex.records import Malformed, SessionMeta
from ccbot.codex.rollout import RolloutDecoder
from ccbot.codex.versions import NEWEST_TESTED, in_tested_range, parse_version, tested_range_text
from ccbot.doctor.result import Check, Level, plural

CODEX_INSTALL = f"npm install -g @openai/codex@{NEWEST_TESTED}"
MAX_ROLLOUT_SCAN = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class CodexFacts:
    """What :func:`~ccbot.doctor.gather.gather_codex` observed: the configured command, where it resolved, its
    ``--version`` output (or why it failed), and ``CODEX_HOME/config.toml`` (or why it could not be read)."""

    command: tuple[str, ...]
    path: str | None  # command[0] resolved on PATH; None: not found
    version_output: str | None = None  # ``<command> --version`` stdout; None when it failed
    error: str = ""
    config_toml: Mapping[str, Any] | None = None  # CODEX_HOME/config.toml, None when absent
    config_error: str | None = None


def codex_checks(f: CodexFacts) -> list[Check]:
    """The Codex lines: command found, ``--version`` runs, version inside the tested range (``ccbot.codex.versions``),
    then daemon mode off (or config.toml unreadable). Only one ✗ line when the command is missing or fails."""
    shown = " ".join(f.command)
    if f.path is None:
        return [Check("codex", Level.FAIL, f"{f.command[0]!r} (CCBOT_CODEX_COMMAND) not found on PATH",
                      f"{CODEX_INSTALL}, or set CCBOT_CODEX_COMMAND to its full path (under systemd, "
                      "PATH is the unit's, not your shell's)")]
    if f.version_output is None:
        return [Check("codex", Level.FAIL, f"`{shown} --version` failed: {f.error}",
                      f"run it by hand to see why; reinstall with {CODEX_INSTALL}")]
    version = parse_version(f.version_output)
    out: list[Check] = []
    if version is None:
        out.append(Check("codex", Level.WARN, f"cannot read a version from {f.version_output.strip()!r}",
                         "make sure CCBOT_CODEX_COMMAND starts the Codex CLI"))
    else:
        text = ".".join(map(str, version))
        if in_tested_range(version):
            out.append(Check("codex", Level.OK, f"{text} ({f.path}); inside the tested range "
                             f"{tested_range_text()}"))
        else:
            out.append(Check("codex", Level.WARN,
                             f"{text} ({f.path}) is outside the tested range {tested_range_text()}; "
                             "prompts or output may be misread",
                             f"{CODEX_INSTALL} (or accept the risk)"))
    if f.config_error is not None:
        out.append(Check("codex config", Level.WARN, f"cannot read config.toml: {f.config_error}",
                         "fix it: Codex will refuse it too"))
    elif plane_for(f.command, f.config_toml) is Plane.APPSERVER:
        out.append(Check("codex daemon", Level.OK,
                         "daemon mode is on (Codex's default): windows ccbot starts get their own app-server "
                         "(`codex --remote`: streamed answers, approval buttons from Codex); a window you start "
                         "by hand with plain `codex` is followed through Codex's shared app-server from your "
                         "first message in its topic"))
    else:
        out.append(Check("codex daemon", Level.OK, "daemon mode is off: windows ccbot starts run in-process "
                                                   "(`--no-daemon`, the tmux plane: answers arrive when finished)"))
    return out


# --- CODEX_HOME ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RolloutScan:
    """What :func:`scan_rollout` found in one rollout file."""

    lines: int = 0  # complete, non-blank lines fed to the decoder
    malformed: int = 0
    first_malformed: tuple[int, str] | None = None  # (line number, reason)
    meta: SessionMeta | None = None  # the first line's session_meta, if it is one
    first_is_meta: bool = False
    unfinished_tail: bool = False  # the last line has no newline yet (Codex is writing it)
    truncated: bool = False  # only the first MAX_ROLLOUT_SCAN bytes were read
    decoder_error: str | None = None  # the decoder raised: a ccbot bug on this input


def scan_rollout(data: bytes, *, truncated: bool = False) -> RolloutScan:
    """Feed every complete line of ``data`` to a fresh ``RolloutDecoder``. Never raises.

    A last line without a newline is not fed (Codex may be half-way through writing it); when
    ``truncated`` the caller cut the file short, so the same applies to whatever follows the last newline.
    """
    decoder = RolloutDecoder()
    body, sep, tail = data.rpartition(b"\n")
    complete = body + sep if sep else b""
    unfinished = bool(tail.strip()) and not truncated
    if not sep:
        complete, unfinished = b"", bool(data.strip()) and not truncated
    lines = malformed = 0
    first_bad: tuple[int, str] | None = None
    meta: SessionMeta | None = None
    first_is_meta = False
    for number, raw in enumerate(complete.split(b"\n"), start=1):
        if not raw.strip():
            continue
        lines += 1
        try:
            records = decoder.feed(raw)
        except Exception as exc:  # the tailer would crash on this line; report instead of dying
            return RolloutScan(lines, malformed, first_bad, meta, first_is_meta, unfinished, truncated,
                               f"line {number}: {type(exc).__name__}: {str(exc)[:120]}")
        for record in records:
            if isinstance(record, Malformed):
                malformed += 1
                if first_bad is None:
                    first_bad = (number, record.reason)
            elif isinstance(record, SessionMeta) and meta is None:
                meta = record
                first_is_meta = lines == 1
    return RolloutScan(lines, malformed, first_bad, meta, first_is_meta, unfinished, truncated)


@dataclass(frozen=True, slots=True)
class CodexHomeFacts:
    """What :func:`~ccbot.doctor.gather.gather_codex_home` observed under ``path``: which of the folder and its
    ``sessions`` folder exist, walk errors, the number of rollouts, and the newest one (read error or scan)."""

    path: Path
    exists: bool = True
    is_dir: bool = True
    sessions_exists: bool = True
    walk_errors: tuple[str, ...] = ()
    rollouts: int = 0
    newest: Path | None = None
    newest_error: str | None = None
    scan: RolloutScan | None = None


def codex_home_checks(f: CodexHomeFacts) -> list[Check]:
    """The ``CODEX_HOME`` lines: the sessions folder (readable, number of rollouts), then the newest rollout's
    scan when there is one. Only one line when the folder or its sessions folder is missing."""
    name = "CODEX_HOME"
    if not f.exists:
        return [Check(name, Level.WARN, f"{f.path} does not exist",
                      "run Codex once as this user, or set CODEX_HOME to the folder Codex uses")]
    if not f.is_dir:
        return [Check(name, Level.FAIL, f"{f.path} is not a directory", "point CODEX_HOME at Codex's folder")]
    sessions = f.path / "sessions"
    if not f.sessions_exists:
        return [Check(name, Level.OK, f"{f.path} has no sessions folder yet (Codex makes it later)")]
    out: list[Check] = []
    if f.walk_errors:
        out.append(Check(name, Level.FAIL, f"cannot read all of {sessions}: {f.walk_errors[0]}",
                         "run the bot as the user who runs Codex (the files must be readable)"))
    else:
        out.append(Check(name, Level.OK, f"{sessions}: {plural(f.rollouts, 'rollout')}"))
    if f.newest is None:
        return out
    out.append(_newest_rollout_check(f.newest, f.newest_error, f.scan))
    return out


def _newest_rollout_check(path: Path, error: str | None, scan: RolloutScan | None) -> Check:
    name = "newest rollout"
    if error is not None or scan is None:
        return Check(name, Level.FAIL, f"cannot read {path.name}: {error}",
                     "run the bot as the user who runs Codex")
    if scan.decoder_error is not None:
        return Check(name, Level.FAIL, f"{path.name}: ccbot's decoder fails at {scan.decoder_error}",
                     "report this as a ccbot bug, with the rollout attached if you can")
    if scan.lines == 0:
        return Check(name, Level.OK, f"{path.name} is empty so far (Codex fills it at the first turn)")
    cut = " (first 16 MB)" if scan.truncated else ""
    version = scan.meta.cli_version if scan.meta is not None else None
    written = f", written by codex {version}" if version else ""
    if scan.malformed:
        line, reason = scan.first_malformed or (0, "?")
        return Check(name, Level.WARN,
                     f"{path.name}: {scan.malformed} of {scan.lines} lines not understood{cut} "
                     f"(line {line}: {reason}){written}",
                     f"this Codex writes rollouts ccbot cannot read; use one of {tested_range_text()} "
                     f"({CODEX_INSTALL})")
    if not scan.first_is_meta:
        return Check(name, Level.WARN, f"{path.name}: the first line is not a session_meta record{written}",
                     f"an unexpected rollout layout; use Codex {tested_range_text()}")
    parsed = parse_version(version or "")
    if parsed is not None and not in_tested_range(parsed):
        return Check(name, Level.WARN, f"{path.name}: {scan.lines} lines decoded{cut}{written}",
                     f"written outside the tested range {tested_range_text()}: it may hold records ccbot "
                     "does not show")
    return Check(name, Level.OK, f"{path.name}: {scan.lines} lines decoded{cut}{written}")


@dataclass(frozen=True, slots=True)
class ProtocolFacts:
    """What :func:`~ccbot.doctor.gather.gather_protocol` observed: the drift lines of the installed Codex's
    generated app-server schema against what ccbot uses (``ccbot.codex.appserver.schema``; empty: none), or
    None with ``error`` saying why no schema could be generated or read."""

    drift: tuple[str, ...] | None
    error: str = ""


def protocol_check(f: ProtocolFacts) -> Check:
    """One ``codex protocol`` line: OK when every app-server method and field ccbot's client uses is in the
    installed Codex's schema, WARN naming each one that is missing or changed, WARN when no schema came."""
    name = "codex protocol"
    if f.drift is None:
        return Check(name, Level.WARN, f"cannot read the app-server schema: {f.error}",
                     "check that `codex app-server generate-json-schema --out DIR` runs for this user")
    if not f.drift:
        return Check(name, Level.OK, "the app-server methods and fields ccbot's client uses are all in this "
                     "Codex's schema")
    shown = "; ".join(f.drift[:5]) + (f" (+{len(f.drift) - 5} more)" if len(f.drift) > 5 else "")
    return Check(name, Level.WARN, f"this Codex's app-server schema differs from what ccbot uses: {shown}",
                 f"use a Codex in the tested range {tested_range_text()} ({CODEX_INSTALL})")
