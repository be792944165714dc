"""``python -m ccbot doctor``: check that this machine and this bot token can run ccbot, and say what to fix.

Output: one line per check, ``✓`` (fine), ``!`` (works, but read this) or ``✗`` (the bot will not work
until this is fixed), each naming what to do after ``→``. Exit status: 2 when the configuration does not
load (the line says why), else 1 when any check is ``✗``, else 0. Every printed line passes through
:func:`ccbot.telegram.redact.redact`, so the bot token (or anything shaped like one) never appears.

What is looked at, and what is never touched:

* configuration (``load_config``), platform (/proc), ``CCBOT_DIR`` and the state file, read-only: a
  corrupt or old state file is reported, never renamed or migrated (the bot does that at start);
* tmux: on PATH, ``tmux -V`` ≥ 3.3, a throw-away server on a private ``-L`` socket (started and killed),
  and whether ccbot's own session is running (read-only ``list-windows``);
* Codex: the configured command's ``--version`` (inside the tested range of ``ccbot.codex.versions``), daemon mode in
  ``CODEX_HOME/config.toml``; ``--version`` runs with ``CODEX_HOME`` pointed at a path that does not exist,
  because Codex writes helper links into an existing ``CODEX_HOME`` on every start;
* ``CODEX_HOME``: sessions folder readable, number of rollouts, and whether the newest one decodes with
  :class:`ccbot.codex.rollout.RolloutDecoder` (read-only);
* Telegram: getMe (token, privacy mode, Threaded Mode), getWebhookInfo, and for each chat bound in the
  state file getChat and getChatMember. A method the server does not implement (404) is reported as
  "not checked". getUpdates is never called: it would cut off a running bot's long poll.

Structure: the ``*Facts`` dataclasses hold what was observed; the ``*_checks`` functions turn facts into
:class:`Check` values and are pure (unit-tested); the ``gather_*`` functions do the I/O.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets as secrets_mod
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from ccbot.codex.identity import DAEMON_CLIENT_FIX, DAEMON_CLIENT_TEXT
from ccbot.codex.records import Malformed, SessionMeta
from ccbot.codex.rollout import RolloutDecoder
from ccbot.codex.versions import NEWEST_TESTED, in_tested_range, parse_version, tested_range_text
from ccbot.config import Config, ConfigError, load_config
from ccbot.state.model import SCHEMA_VERSION, parse_topic_key
from ccbot.telegram.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NetworkError,
    NotFound,
    RetryAfter,
    ServerError,
    TelegramError,
    Unauthorized,
)
from ccbot.telegram.redact import redact
from ccbot.telegram.types import User
from ccbot.tmux.env import scrubbed_environ, secret_values

__all__ = [
    "ApiFailure",
    "ChatFacts",
    "Check",
    "CodexFacts",
    "CodexHomeFacts",
    "Level",
    "RolloutScan",
    "StateFacts",
    "TelegramFacts",
    "TmuxFacts",
    "chat_check",
    "codex_checks",
    "codex_home_checks",
    "config_check",
    "exit_code",
    "failure_of",
    "main",
    "parse_tmux_version",
    "platform_check",
    "render",
    "scan_rollout",
    "state_checks",
    "summarize_state",
    "telegram_checks",
    "tmux_checks",
]

MIN_TMUX = (3, 3)
CODEX_INSTALL = f"npm install -g @openai/codex@{NEWEST_TESTED}"
MAX_ROLLOUT_SCAN = 16 * 1024 * 1024
SUBPROCESS_TIMEOUT = 20.0
TELEGRAM_TIMEOUT = 5.0


# --- result model ----------------------------------------------------------------------------------


class Level(Enum):
    OK = "✓"
    WARN = "!"
    FAIL = "✗"


@dataclass(frozen=True, slots=True)
class Check:
    """One finding: ``name`` (what was checked), ``text`` (what was found), ``fix`` (what to do, or "")."""

    name: str
    level: Level
    text: str
    fix: str = ""

    def line(self) -> str:
        tail = f" → {self.fix}" if self.fix else ""
        return f"{self.level.value} {self.name}: {self.text}{tail}"


def render(checks: Iterable[Check], secrets: Iterable[str] = ()) -> list[str]:
    """The printable lines, each redacted (``secrets`` plus anything shaped like a bot token)."""
    frozen = tuple(secrets)
    return [redact(check.line(), frozen) for check in checks]


def exit_code(checks: Iterable[Check], *, config_ok: bool = True) -> int:
    """2 when the configuration did not load, 1 when any check failed, else 0."""
    if not config_ok:
        return 2
    return 1 if any(check.level is Level.FAIL for check in checks) else 0


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# --- configuration, platform, CCBOT_DIR ---------------------------------------------------------------


def config_check(cfg: Config | None, error: str | None, dotenv_exists: bool = False) -> Check:
    """The config line: the one-line ``ConfigError`` text, or a short summary of the loaded settings."""
    if cfg is None:
        return Check("config", Level.FAIL, error or "not loaded",
                     "fix that variable in the environment or in $CCBOT_DIR/.env (see doc/operations.md)")
    source = "environment + .env" if dotenv_exists else "environment"
    voice = "on" if cfg.openai_api_key else "off (no OPENAI_API_KEY)"
    text = (f"loaded from the {source}; {_plural(len(cfg.allowed_users), 'allowed user')}; "
            f"voice transcription {voice}")
    return Check("config", Level.OK, text)


def platform_check(platform: str, proc_ok: bool) -> Check:
    """ccbot matches windows to rollouts through /proc, which only Linux has."""
    if platform.startswith("linux") and proc_ok:
        return Check("platform", Level.OK, "Linux with /proc")
    return Check("platform", Level.FAIL, f"{platform} without a readable /proc/self/fd",
                 "run ccbot on Linux: it reads /proc to prove which rollout a window writes")


def ccbot_dir_check(path: Path, exists: bool, writable: bool, parent_writable: bool) -> Check:
    if exists and writable:
        return Check("ccbot dir", Level.OK, f"{path} is writable")
    if exists:
        return Check("ccbot dir", Level.FAIL, f"{path} is not writable by this user",
                     "fix its owner/permissions, or point CCBOT_DIR elsewhere")
    if parent_writable:
        return Check("ccbot dir", Level.OK, f"{path} does not exist yet; the bot creates it")
    return Check("ccbot dir", Level.FAIL, f"{path} does not exist and cannot be created",
                 "create it for this user, or point CCBOT_DIR elsewhere")


# --- state file -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StateSummary:
    """What a state file holds, as far as the doctor cares. ``problem`` set means it is not usable."""

    schema: int | None = None
    chats: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    offset: int = 0
    problem: str | None = None


def summarize_state(raw: bytes) -> StateSummary:
    """Read the schema, the offset and the bound (chat → topics) from state-file bytes. Never raises.

    Works for every schema so far (all key bindings as ``"<chat>:<topic>"``; v0 called them ``topics``);
    a file that is not JSON, not an object or has bad keys yields ``problem``.
    """
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        return StateSummary(problem=f"not valid JSON ({str(exc)[:80]})")
    if not isinstance(data, dict):
        return StateSummary(problem="top level is not a JSON object")
    try:
        schema = int(data.get("schema", 0))
        table = data.get("bindings", {}) if schema >= 1 else data.get("topics", {})
        if not isinstance(table, dict):
            raise TypeError("bindings is not an object")
        chats: dict[int, list[int]] = {}
        for key in table:
            chat, topic = parse_topic_key(str(key))
            chats.setdefault(chat, []).append(topic)
        offset = int(data.get("telegram_offset") or data.get("offset") or 0)
    except (ValueError, TypeError) as exc:
        return StateSummary(problem=f"unexpected content ({str(exc)[:80]})")
    return StateSummary(schema, {c: tuple(sorted(t)) for c, t in sorted(chats.items())}, offset)


@dataclass(frozen=True, slots=True)
class StateFacts:
    path: Path
    summary: StateSummary | None  # None: no state file
    read_error: str | None = None
    backup_exists: bool = False
    leftovers: tuple[str, ...] = ()  # names of <file>.corrupt-* files


def state_checks(f: StateFacts) -> list[Check]:
    """The state-file line, plus one for leftover ``.corrupt-*`` files."""
    name = "state"
    out: list[Check] = []
    s = f.summary
    if f.read_error is not None:
        out.append(Check(name, Level.FAIL, f"cannot read {f.path}: {f.read_error}",
                         "fix the file's owner/permissions (the bot refuses to start without it)"))
    elif s is None:
        if f.backup_exists:
            out.append(Check(name, Level.WARN, f"{f.path} is missing but {f.path.name}.bak exists",
                             "nothing to do: the bot restores the .bak at start; find out why it went away"))
        else:
            out.append(Check(name, Level.OK, f"no {f.path.name} yet (nothing is bound)"))
    elif s.problem is not None:
        fallback = "the .bak copy" if f.backup_exists else "an empty state (all bindings lost)"
        out.append(Check(name, Level.WARN, f"{f.path} is unusable: {s.problem}",
                         f"at start the bot keeps it as {f.path.name}.corrupt-<time> and uses {fallback}"))
    elif s.schema is not None and s.schema > SCHEMA_VERSION:
        out.append(Check(name, Level.FAIL,
                         f"{f.path} has schema {s.schema}, newer than this ccbot ({SCHEMA_VERSION})",
                         "upgrade ccbot, or restore the matching state.json.v<N>.bak"))
    else:
        bound = sum(len(t) for t in s.chats.values())
        text = f"schema {s.schema}, {_plural(bound, 'topic')} bound in {_plural(len(s.chats), 'chat')}"
        if s.schema is not None and s.schema < SCHEMA_VERSION:
            out.append(Check(name, Level.OK, f"{text}; migrated to schema {SCHEMA_VERSION} at the next start "
                             f"(the original is kept as {f.path.name}.v{s.schema}.bak)"))
        else:
            out.append(Check(name, Level.OK, text))
    if f.leftovers:
        out.append(Check("state", Level.WARN, f"earlier corrupt state kept as {', '.join(f.leftovers)}",
                         "look inside, recover what you need, then delete it"))
    return out


# --- tmux ----------------------------------------------------------------------------------------------

_TMUX_VERSION = re.compile(r"^tmux (?:next-)?(\d+)\.(\d+)[a-z]?\b")


def parse_tmux_version(text: str) -> tuple[int, int] | None:
    """``tmux 3.3a`` → (3, 3); ``tmux next-3.6`` → (3, 6); else (``tmux master``, OpenBSD's) → None."""
    m = _TMUX_VERSION.match(text.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


@dataclass(frozen=True, slots=True)
class TmuxFacts:
    path: str | None  # None: not on PATH
    version_output: str | None = None  # ``tmux -V`` stdout; None when it failed
    version_error: str = ""
    server_error: str | None = None  # None: a private server started, answered and was killed
    socket_label: str = "the default server"
    session_name: str = "ccbot"
    session_windows: int | None = None  # None: ccbot's session is not running
    session_error: str | None = None  # an answer other than "no server" / "no such session"


def tmux_checks(f: TmuxFacts) -> list[Check]:
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
                         f"{where} is running with {_plural(f.session_windows, 'window')}"))
    return out


# --- codex ---------------------------------------------------------------------------------------------



@dataclass(frozen=True, slots=True)
class CodexFacts:
    command: tuple[str, ...]
    path: str | None  # command[0] resolved on PATH; None: not found
    version_output: str | None = None  # ``<command> --version`` stdout; None when it failed
    error: str = ""
    config_toml: Mapping[str, Any] | None = None  # CODEX_HOME/config.toml, None when absent
    config_error: str | None = None


def _daemon_disabled(command: Sequence[str], config: Mapping[str, Any] | None) -> bool:
    if "--no-daemon" in command:
        return True
    if any(re.fullmatch(r"features\.daemon_auto_start\s*=\s*false", arg) for arg in command):
        return True
    features = (config or {}).get("features")
    return isinstance(features, Mapping) and features.get("daemon_auto_start") is False


def codex_checks(f: CodexFacts) -> list[Check]:
    """Command found, ``--version`` runs, version inside the tested range (``ccbot.codex.versions``), and daemon
    mode off."""
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
    elif not _daemon_disabled(f.command, f.config_toml):
        out.append(Check("codex daemon", Level.WARN,
                         "daemon mode is on (Codex's default). Windows ccbot starts run `--no-daemon` and are "
                         "not affected, but a window you start by hand with plain `codex` cannot be bound: "
                         f"{DAEMON_CLIENT_TEXT}",
                         f"for hand-started windows: {DAEMON_CLIENT_FIX}"))
    else:
        out.append(Check("codex daemon", Level.OK, "daemon mode is off"))
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
        out.append(Check(name, Level.OK, f"{sessions}: {_plural(f.rollouts, 'rollout')}"))
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


# --- Telegram ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApiFailure:
    """A failed Bot API call, reduced to what the checks need. ``kind`` is one of:
    unauthorized, missing (404: the server lacks the method), forbidden, bad_request, flood, conflict,
    network, server, other."""

    kind: str
    description: str
    code: int | None = None


def failure_of(exc: TelegramError) -> ApiFailure:
    """Classify a ``TelegramError`` (its text never holds the token: see ccbot.telegram.api)."""
    kinds: tuple[tuple[type[TelegramError], str], ...] = (
        (Unauthorized, "unauthorized"), (NotFound, "missing"), (Forbidden, "forbidden"),
        (RetryAfter, "flood"), (BadRequest, "bad_request"), (Conflict, "conflict"),
        (NetworkError, "network"), (ServerError, "server"),
    )
    kind = next((k for cls, k in kinds if isinstance(exc, cls)), "other")
    return ApiFailure(kind, exc.description, exc.error_code)


@dataclass(frozen=True, slots=True)
class ChatFacts:
    chat_id: int
    topics: tuple[int, ...] = ()
    chat: Mapping[str, Any] | None = None  # getChat result
    chat_error: ApiFailure | None = None
    member: Mapping[str, Any] | None = None  # getChatMember(chat, bot) result; groups only
    member_error: ApiFailure | None = None


@dataclass(frozen=True, slots=True)
class TelegramFacts:
    base_url: str
    me: User | None = None
    me_error: ApiFailure | None = None
    webhook: Mapping[str, Any] | None = None
    webhook_error: ApiFailure | None = None
    chats: tuple[ChatFacts, ...] = ()


_ADMIN = frozenset({"creator", "administrator"})


def _member_verdict(c: ChatFacts, me: User) -> tuple[Level, str, str]:
    """(level, text, fix) for the bot's own membership in a group."""
    if c.member_error is not None:
        f = c.member_error
        if f.kind == "missing":
            return Level.WARN, "the bot's rights not checked (the server has no getChatMember)", ""
        if f.kind in ("forbidden", "bad_request"):
            return Level.FAIL, f"the bot's membership: {f.description}", "add the bot to this group again"
        return Level.WARN, f"the bot's rights not checked ({f.description})", ""
    member = c.member or {}
    status = member.get("status")
    if status == "creator":
        return Level.OK, "the bot owns the group", ""
    if status == "administrator":
        return Level.OK, "the bot is an admin (sees every message)", ""
    if status in ("member", "restricted"):
        if status == "restricted" and member.get("can_send_messages") is False:
            return Level.FAIL, "the bot is restricted and may not send messages", "lift the restriction"
        if me.can_read_all_group_messages:
            return Level.OK, "the bot is a member and privacy mode is off (sees every message)", ""
        return (Level.FAIL, "the bot is a plain member with privacy mode on: it sees only commands and "
                "replies to it, not what you type in topics",
                "make the bot an admin of the group (with Manage topics), or @BotFather → /setprivacy → "
                "Disable and then add the bot to the group again")
    if status in ("left", "kicked"):
        return Level.FAIL, f"the bot is not in the group (status {status})", "add the bot to this group again"
    return Level.WARN, f"unexpected member status {status!r}", ""


def chat_check(c: ChatFacts, me: User) -> Check:
    """One line per bound chat: reachable, the right kind of chat, the bot's rights in it."""
    name = f"chat {c.chat_id}"
    bound = f"{_plural(len(c.topics), 'topic')} bound"
    is_group = c.chat_id < 0
    label = "group" if is_group else "private chat"
    if c.chat_error is not None and c.chat_error.kind != "missing":
        f = c.chat_error
        if f.kind == "forbidden":
            fix = "add the bot to this group again" if is_group else "unblock the bot in Telegram"
            return Check(name, Level.FAIL, f"{label}, {bound}; no access: {f.description}", fix)
        if f.kind == "bad_request":
            fix = ("add the bot to the group again; a group converted to a supergroup gets a new id, so "
                   "its topics must be bound again") if is_group else "open the bot's chat and press Start"
            return Check(name, Level.FAIL, f"{label}, {bound}; Telegram says: {f.description}", fix)
        return Check(name, Level.WARN, f"{label}, {bound}; not checked ({f.description})")
    parts: list[str] = []
    if c.chat is None:
        parts.append(f"{label}, {bound} (getChat not available on this server)")
    else:
        kind = str(c.chat.get("type", "?"))
        title = c.chat.get("title") or c.chat.get("first_name") or ""
        if kind == "private":
            text = f"private chat with {title}, {bound}" if title else f"private chat, {bound}"
            if not me.has_topics_enabled and any(t != 0 for t in c.topics):
                return Check(name, Level.WARN, f"{text}, but Threaded Mode is off",
                             "@BotFather → Bot Settings → Threaded Mode → on")
            return Check(name, Level.OK, text)
        if kind != "supergroup":
            return Check(name, Level.FAIL, f"{kind} {title!r}, {bound}: topics need a forum supergroup",
                         "turn on Topics in the group's settings")
        if not c.chat.get("is_forum"):
            return Check(name, Level.FAIL, f"group {title!r}, {bound}: Topics are off",
                         "turn on Topics in the group's settings")
        parts.append(f"forum {title!r}, {bound}")
    if not is_group:
        return Check(name, Level.WARN, "; ".join(parts))
    level, text, fix = _member_verdict(c, me)
    if c.chat is None and level is Level.OK:
        level = Level.WARN
    return Check(name, level, "; ".join([*parts, text]), fix)


def telegram_checks(f: TelegramFacts) -> list[Check]:
    """getMe (token), webhook, privacy mode, Threaded Mode, then one line per bound chat."""
    if f.me is None:
        err = f.me_error or ApiFailure("other", "no answer")
        if err.kind == "unauthorized":
            return [Check("telegram", Level.FAIL, f"{f.base_url} rejected the token (401 {err.description})",
                          "put the token from @BotFather in TELEGRAM_BOT_TOKEN or the credential file "
                          "(/revoke in @BotFather replaces it)")]
        if err.kind in ("network", "server", "flood"):
            return [Check("telegram", Level.FAIL, f"cannot reach {f.base_url}: {err.description}",
                          "check DNS, firewall and TELEGRAM_API_BASE_URL (ccbot ignores HTTP(S)_PROXY)")]
        return [Check("telegram", Level.FAIL, f"getMe failed: {err.description}",
                      "check TELEGRAM_API_BASE_URL and the token")]
    me = f.me
    out = [Check("telegram", Level.OK, f"{f.base_url}: token accepted, bot @{me.username} (id {me.id})")]
    out.append(_webhook_check(f.webhook, f.webhook_error))
    groups = [c for c in f.chats if c.chat_id < 0]
    if me.can_read_all_group_messages:
        out.append(Check("privacy", Level.OK, "privacy mode off: the bot sees every message in groups"))
    elif groups and all((c.member or {}).get("status") in _ADMIN for c in groups):
        out.append(Check("privacy", Level.OK, "privacy mode on; fine: the bot is admin in every bound group"))
    elif f.chats and not groups:
        out.append(Check("privacy", Level.OK, "privacy mode on; only matters in groups and none is bound"))
    else:
        out.append(Check("privacy", Level.WARN,
                         "privacy mode on: in a group the bot sees plain messages only if it is an admin",
                         "make the bot an admin of each forum group, or @BotFather → /setprivacy → Disable"))
    if me.has_topics_enabled:
        out.append(Check("threaded mode", Level.OK, "on: private chats with the bot have topics"))
    elif f.chats and not any(c.chat_id > 0 for c in f.chats):
        out.append(Check("threaded mode", Level.OK, "off; not needed, every bound chat is a group"))
    else:
        out.append(Check("threaded mode", Level.WARN,
                         "off: a private chat with the bot has no topics, so it holds one session at most",
                         "@BotFather → Bot Settings → Threaded Mode → on, or use a forum group"))
    if not f.chats:
        out.append(Check("chats", Level.OK, "no bound chat found in the state file, none to check"))
    out.extend(chat_check(c, me) for c in f.chats)
    return out


def _webhook_check(info: Mapping[str, Any] | None, error: ApiFailure | None) -> Check:
    if error is not None:
        if error.kind == "missing":
            return Check("webhook", Level.WARN, "not checked (the server has no getWebhookInfo)")
        return Check("webhook", Level.WARN, f"not checked ({error.description})")
    info = info or {}
    pending = info.get("pending_update_count")
    waiting = f"; {_plural(pending, 'update')} waiting" if isinstance(pending, int) and pending else ""
    url = info.get("url")
    if isinstance(url, str) and url:
        host = urlsplit(url).hostname or "?"
        return Check("webhook", Level.FAIL,
                     f"a webhook to {host} is set, so getUpdates fails with 409 Conflict{waiting}",
                     "call deleteWebhook for this token (if another service owns the webhook, give ccbot "
                     "its own bot)")
    return Check("webhook", Level.OK, f"none set (long polling works){waiting}")


# --- gathering (I/O) ------------------------------------------------------------------------------------


def _run(
    argv: Sequence[str], env: Mapping[str, str], timeout: float = SUBPROCESS_TIMEOUT
) -> tuple[int, str, str]:
    """Run a command; (returncode, stdout, stderr). A start failure or timeout is returncode -1."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, errors="replace",
                              env=dict(env), timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return -1, "", f"no answer within {timeout:.0f} s"
    except OSError as exc:
        return -1, "", exc.strerror or str(exc)
    return done.returncode, done.stdout, done.stderr


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def gather_tmux(env: Mapping[str, str], socket_name: str | None, session: str) -> TmuxFacts:
    """Look for tmux, read its version, start and kill a private server, and ask about ccbot's session."""
    path = shutil.which("tmux", path=env.get("PATH"))
    if path is None:
        return TmuxFacts(None)
    rc, version, err = _run([path, "-V"], env)
    if rc != 0:
        return TmuxFacts(path, None, _first_line(err or version))
    private = f"ccbot-doctor-{os.getpid()}-{secrets_mod.token_hex(3)}"
    base = [path, "-u", "-L", private, "-f", os.devnull]
    socket_file: str | None = None
    try:
        started = [*base, "new-session", "-d", "-s", "doctor", "-x", "80", "-y", "24", "sleep 30"]
        rc, _o, serr = _run(started, env)
        if rc == 0:
            rc, listed, serr = _run([*base, "list-sessions", "-F", "#{session_name} #{socket_path}"], env)
            name, _sp, socket_file = listed.strip().partition(" ")
            if rc == 0 and name != "doctor":
                rc, serr = 1, "the new session is not listed"
        server_error = None if rc == 0 else _first_line(serr)
    finally:
        _run([*base, "kill-server"], env)
        # tmux leaves the socket file behind after kill-server; this one is ours alone.
        if socket_file and Path(socket_file).name == private:
            with contextlib.suppress(OSError):
                os.unlink(socket_file)
    prefix = [path, "-u"] + (["-L", socket_name] if socket_name else [])
    label = f"socket {socket_name!r}" if socket_name else "the default server"
    rc, out, err = _run([*prefix, "list-windows", "-t", f"={session}", "-F", "#{window_id}"], env)
    windows: int | None = None
    session_error: str | None = None
    if rc == 0:
        windows = len(out.split())
    elif not re.search(r"no server running|can't find session|error connecting|no sessions", err):
        session_error = _first_line(err)
    return TmuxFacts(path, version, "", server_error, label, session, windows, session_error)


def gather_codex(command: tuple[str, ...], env: Mapping[str, str], codex_home: Path) -> CodexFacts:
    """Resolve the command, run ``--version`` (with a CODEX_HOME that does not exist), read config.toml."""
    config: Mapping[str, Any] | None = None
    config_error: str | None = None
    try:
        config = tomllib.loads((codex_home / "config.toml").read_text(encoding="utf-8"))
    except FileNotFoundError:
        config = None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        config_error = str(exc)[:160]
    path = shutil.which(command[0], path=env.get("PATH"))
    if path is None:
        return CodexFacts(command, None, config_toml=config, config_error=config_error)
    with tempfile.TemporaryDirectory(prefix="ccbot-doctor-") as scratch:
        run_env = {**env, "CODEX_HOME": str(Path(scratch) / "absent")}
        rc, out, err = _run([*command, "--version"], run_env)
    if rc != 0:
        return CodexFacts(command, path, None, _first_line(err or out), config, config_error)
    return CodexFacts(command, path, out, "", config, config_error)


def gather_codex_home(path: Path) -> CodexHomeFacts:
    """Count rollouts under ``path/sessions`` and scan the newest (by mtime). Read-only."""
    if not path.exists():
        return CodexHomeFacts(path, exists=False)
    if not path.is_dir():
        return CodexHomeFacts(path, is_dir=False)
    sessions = path / "sessions"
    if not sessions.is_dir():
        return CodexHomeFacts(path, sessions_exists=False)
    errors: list[str] = []
    count = 0
    newest: tuple[float, Path] | None = None
    def note(exc: OSError) -> None:
        errors.append(f"{exc.filename}: {exc.strerror}")

    for folder, _dirs, files in os.walk(sessions, onerror=note):
        for name in files:
            if not (name.startswith("rollout-") and name.endswith(".jsonl")):
                continue
            count += 1
            file = Path(folder) / name
            try:
                mtime = file.stat().st_mtime
            except OSError:
                continue
            if newest is None or mtime > newest[0]:
                newest = (mtime, file)
    if newest is None:
        return CodexHomeFacts(path, walk_errors=tuple(errors), rollouts=count)
    try:
        with open(newest[1], "rb") as fh:
            data = fh.read(MAX_ROLLOUT_SCAN + 1)
    except OSError as exc:
        return CodexHomeFacts(path, walk_errors=tuple(errors), rollouts=count, newest=newest[1],
                              newest_error=exc.strerror or str(exc))
    truncated = len(data) > MAX_ROLLOUT_SCAN
    scan = scan_rollout(data[:MAX_ROLLOUT_SCAN], truncated=truncated)
    return CodexHomeFacts(path, walk_errors=tuple(errors), rollouts=count, newest=newest[1], scan=scan)


def gather_state(path: Path) -> StateFacts:
    backup = path.with_name(path.name + ".bak")
    try:
        leftovers = tuple(sorted(p.name for p in path.parent.glob(path.name + ".corrupt-*")))
    except OSError:
        leftovers = ()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return StateFacts(path, None, backup_exists=backup.exists(), leftovers=leftovers)
    except OSError as exc:
        return StateFacts(path, None, read_error=exc.strerror or str(exc), leftovers=leftovers)
    return StateFacts(path, summarize_state(raw), backup_exists=backup.exists(), leftovers=leftovers)


async def gather_telegram(
    cfg: Config, chats: Mapping[int, tuple[int, ...]], request_timeout: float
) -> TelegramFacts:
    """getMe, getWebhookInfo and, per bound chat, getChat and getChatMember(bot); each call bounded."""
    import httpx
    import trio

    from ccbot.telegram.api import BotApi

    class DoctorApi(BotApi):
        """Read-only methods only the doctor needs, returning the raw JSON result."""

        async def raw(self, method: str, **params: object) -> Any:
            return await self._call(method, params)

    async def call(coro_fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, ApiFailure | None]:
        with trio.move_on_after(request_timeout + 2):
            try:
                return await coro_fn(*args, **kwargs), None
            except TelegramError as exc:
                return None, failure_of(exc)
        return None, ApiFailure("network", f"no answer within {request_timeout:g} s")

    base_url = cfg.telegram_api_base_url
    async with httpx.AsyncClient(timeout=httpx.Timeout(request_timeout), trust_env=False) as client:
        api = DoctorApi(client, cfg.telegram_bot_token, base_url)
        me, me_error = await call(api.get_me)
        if me is None:
            return TelegramFacts(base_url, None, me_error)
        webhook, webhook_error = await call(api.raw, "getWebhookInfo")
        facts: list[ChatFacts] = []
        for chat_id, topics in chats.items():
            chat, chat_error = await call(api.raw, "getChat", chat_id=chat_id)
            member = member_error = None
            if chat_id < 0:
                member, member_error = await call(api.raw, "getChatMember", chat_id=chat_id, user_id=me.id)
            facts.append(ChatFacts(chat_id, topics, _obj_or_none(chat), chat_error,
                                   _obj_or_none(member), member_error))
    return TelegramFacts(base_url, me, None, _obj_or_none(webhook), webhook_error, tuple(facts))


def _obj_or_none(value: object) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


# --- command line ----------------------------------------------------------------------------------------


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK | os.X_OK)


def run_doctor(environ: Mapping[str, str], out: TextIO, *, telegram_timeout: float = TELEGRAM_TIMEOUT) -> int:
    """Run every check, print each group as it finishes, return the exit code (see the module docstring)."""
    import trio

    secrets: set[str] = set(secret_values(environ))
    checks: list[Check] = []

    def emit(new: Iterable[Check]) -> None:
        batch = list(new)
        checks.extend(batch)
        for line in render(batch, sorted(secrets, key=len, reverse=True)):
            print(line, file=out, flush=True)

    try:
        cfg: Config | None = load_config(environ)
        error = None
    except ConfigError as exc:
        cfg, error = None, str(exc)
    if cfg is not None:
        secrets.update(cfg.secrets)
        emit([config_check(cfg, None, (cfg.ccbot_dir / ".env").exists())])
    else:
        emit([config_check(None, error)])
    emit([platform_check(sys.platform, Path("/proc/self/fd").is_dir())])
    tmux_env = scrubbed_environ(environ, secrets)
    socket = cfg.tmux_socket_name if cfg else None
    emit(tmux_checks(gather_tmux(tmux_env, socket, cfg.tmux_session_name if cfg else "ccbot")))
    if cfg is None:
        return exit_code(checks, config_ok=False)

    d = cfg.ccbot_dir
    ancestor = _nearest_existing(d)
    emit([ccbot_dir_check(d, d.is_dir(), d.is_dir() and _writable(d),
                          ancestor is not None and _writable(ancestor))])
    state = gather_state(cfg.state_file)
    emit(state_checks(state))
    emit(codex_checks(gather_codex(cfg.codex_command, tmux_env, cfg.codex_home)))
    emit(codex_home_checks(gather_codex_home(cfg.codex_home)))
    chats = state.summary.chats if state.summary is not None and state.summary.problem is None else {}
    facts = trio.run(gather_telegram, cfg, chats, telegram_timeout)
    emit(telegram_checks(facts))
    return exit_code(checks)


def _nearest_existing(path: Path) -> Path | None:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ccbot doctor",
        description="Check tmux, Codex, CODEX_HOME, the configuration, the state file and the bot's "
        "Telegram rights; print what to fix. Exit 0: no ✗; 1: some ✗; 2: bad configuration.",
    )
    parser.add_argument("--timeout", type=float, default=TELEGRAM_TIMEOUT,
                        help=f"seconds per Telegram request (default {TELEGRAM_TIMEOUT:g})")
    return parser


def main(argv: list[str]) -> int:
    """Run the doctor sub-command with ``argv`` (without the sub-command name); return the exit code."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    # Only warnings and errors, redacted, on stderr: httpx logs request URLs (with the token) at INFO.
    from ccbot.logconfig import configure_logging

    secrets = set(secret_values(os.environ))
    with contextlib.suppress(ConfigError):  # run_doctor reports it
        secrets.update(load_config(os.environ).secrets)
    configure_logging("console", "warning", secrets=tuple(secrets), stream=sys.stderr)
    return run_doctor(os.environ, sys.stdout, telegram_timeout=max(0.5, args.timeout))
