"""The ``doctor`` sub-command: parse its arguments, gather the facts, print the checks, return the exit code."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TextIO

from ccbot.config import Config, ConfigError, load_config
from ccbot.doctor.codex import codex_checks, codex_home_checks, protocol_check
from ccbot.doctor.config import ccbot_dir_check, config_check, platform_check
from ccbot.doctor.gather import (
    gather_codex,
    gather_codex_home,
    gather_protocol,
    gather_state,
    gather_telegram,
    gather_tmux,
)
from ccbot.doctor.result import Check, exit_code, render
from ccbot.doctor.state import state_checks
from ccbot.doctor.telegram import telegram_checks
from ccbot.doctor.tmux import tmux_checks
from ccbot.tmux.env import scrubbed_environ, secret_values

TELEGRAM_TIMEOUT = 5.0


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK | os.X_OK)


def run_doctor(environ: Mapping[str, str], out: TextIO, *, telegram_timeout: float = TELEGRAM_TIMEOUT) -> int:
    """Run every check against ``environ``, print each group of lines to ``out`` (redacted) as it finishes, and
    return the exit code (see :func:`~ccbot.doctor.result.exit_code`). Starts its own ``trio.run`` for the
    Telegram calls, so it must not be called from inside one."""
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
    codex = gather_codex(cfg.codex_command, tmux_env, cfg.codex_home)
    emit(codex_checks(codex))
    if codex.version_output is not None:
        emit([protocol_check(gather_protocol(cfg.codex_command, tmux_env))])
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
    """Run the doctor sub-command with ``argv`` (without the sub-command name) on ``os.environ``; print to stdout,
    log warnings (redacted) to stderr; return the exit code (2 also for a usage error)."""
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
