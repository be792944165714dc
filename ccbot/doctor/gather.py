"""The doctor's I/O: each ``gather_*`` function looks at one subject and returns the facts its checks take.

Read-only except for what the module docstring of :mod:`ccbot.doctor` lists (a throw-away tmux server on a
private socket, ``codex --version`` with a ``CODEX_HOME`` that does not exist).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets as secrets_mod
import shutil
import subprocess
import tempfile
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ccbot.codex.appserver.schema import schema_drift
from ccbot.codex.stored import is_rollout_name, open_rollout
from ccbot.config import Config
from ccbot.doctor.codex import MAX_ROLLOUT_SCAN, CodexFacts, CodexHomeFacts, ProtocolFacts, scan_rollout
from ccbot.doctor.state import StateFacts, summarize_state
from ccbot.doctor.telegram import ApiFailure, ChatFacts, TelegramFacts, failure_of
from ccbot.doctor.tmux import TmuxFacts
from ccbot.telegram.errors import TelegramError

SUBPROCESS_TIMEOUT = 20.0
SCHEMA_FILE = "codex_app_server_protocol.schemas.json"


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


def gather_protocol(command: tuple[str, ...], env: Mapping[str, str]) -> ProtocolFacts:
    """Run ``<command> app-server generate-json-schema --out DIR`` (``DIR`` and ``CODEX_HOME`` inside a temporary
    folder, removed after) and compare the schema with what ccbot's app-server client uses. Failures are
    recorded in the facts, not raised."""
    with _codex_scratch(env) as (scratch, run_env):
        out_dir = scratch / "schema"
        rc, out, err = _run([*command, "app-server", "generate-json-schema", "--out", str(out_dir)], run_env)
        if rc != 0:
            return ProtocolFacts(None, _first_line(err or out))
        try:
            schema = json.loads((out_dir / SCHEMA_FILE).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            return ProtocolFacts(None, f"{SCHEMA_FILE}: {exc}"[:200])
    return ProtocolFacts(tuple(schema_drift(schema)))


@contextlib.contextmanager
def _codex_scratch(env: Mapping[str, str]) -> Iterator[tuple[Path, dict[str, str]]]:
    """A temporary folder (removed after) and ``env`` with ``CODEX_HOME`` pointed at a path inside it that does
    not exist: Codex writes helper links into an existing ``CODEX_HOME`` on every start, and doctor writes
    nothing into the user's."""
    with tempfile.TemporaryDirectory(prefix="ccbot-doctor-") as scratch:
        yield Path(scratch), {**env, "CODEX_HOME": str(Path(scratch) / "absent")}


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def gather_tmux(env: Mapping[str, str], socket_name: str | None, session: str) -> TmuxFacts:
    """Look for tmux on ``env``'s PATH, read its version, start and kill a throw-away server on a private ``-L``
    socket (its socket file is removed), and ask the configured server (``socket_name``, None: the default one)
    about ``session`` with a read-only ``list-windows``. Failures are recorded in the facts, not raised."""
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
    """Resolve ``command[0]`` on ``env``'s PATH, run ``<command> --version`` with ``CODEX_HOME`` pointed at a path
    that does not exist (inside a temporary folder, removed after), and read ``codex_home/config.toml``.
    Failures are recorded in the facts, not raised."""
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
    with _codex_scratch(env) as (_scratch, run_env):
        rc, out, err = _run([*command, "--version"], run_env)
    if rc != 0:
        return CodexFacts(command, path, None, _first_line(err or out), config, config_error)
    return CodexFacts(command, path, out, "", config, config_error)


def gather_codex_home(path: Path) -> CodexHomeFacts:
    """Count rollouts (plain or ``.jsonl.zst``) under ``path/sessions`` and scan the newest (by mtime; at most
    ``MAX_ROLLOUT_SCAN`` decoded bytes).
    Read-only; unreadable folders and files are recorded in the facts, not raised."""
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
            if not is_rollout_name(name):
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
        with open_rollout(newest[1]) as fh:
            data = fh.read(MAX_ROLLOUT_SCAN + 1)
    except OSError as exc:
        return CodexHomeFacts(path, walk_errors=tuple(errors), rollouts=count, newest=newest[1],
                              newest_error=exc.strerror or str(exc))
    truncated = len(data) > MAX_ROLLOUT_SCAN
    scan = scan_rollout(data[:MAX_ROLLOUT_SCAN], truncated=truncated)
    return CodexHomeFacts(path, walk_errors=tuple(errors), rollouts=count, newest=newest[1], scan=scan)


def gather_state(path: Path) -> StateFacts:
    """Read the state file at ``path`` (never written, renamed or migrated) and look for its ``.bak`` and
    ``.corrupt-*`` neighbours. A missing file gives ``summary`` None; one that cannot be read, ``read_error``."""
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
    """getMe, getWebhookInfo and, per bound chat in ``chats`` (chat → topics), getChat and, for groups,
    getChatMember(bot); each call bounded by ``request_timeout``. Runs under trio. API errors and timeouts are
    recorded in the facts, not raised; getUpdates is never called."""
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
