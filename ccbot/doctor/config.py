"""Checks of the configuration, the platform and ``CCBOT_DIR`` (facts in, :class:`Check` out; pure)."""

from __future__ import annotations

from pathlib import Path

from ccbot.config import Config
from ccbot.doctor.result import Check, Level, plural


def config_check(cfg: Config | None, error: str | None, dotenv_exists: bool = False) -> Check:
    """The config line: ✗ with ``error`` (the one-line ``ConfigError`` text) when ``cfg`` is None, else ✓ with a
    short summary of the loaded settings (``dotenv_exists``: $CCBOT_DIR/.env was read too)."""
    if cfg is None:
        return Check("config", Level.FAIL, error or "not loaded",
                     "fix that variable in the environment or in $CCBOT_DIR/.env (see doc/operations.md)")
    source = "environment + .env" if dotenv_exists else "environment"
    voice = "on" if cfg.openai_api_key else "off (no OPENAI_API_KEY)"
    text = (f"loaded from the {source}; {plural(len(cfg.allowed_users), 'allowed user')}; "
            f"voice transcription {voice}")
    return Check("config", Level.OK, text)


def platform_check(platform: str, proc_ok: bool) -> Check:
    """The platform line for ``platform`` (``sys.platform``) and ``proc_ok`` (/proc/self/fd is readable): ✗ unless
    both say Linux, because ccbot matches windows to rollouts through /proc, which only Linux has."""
    if platform.startswith("linux") and proc_ok:
        return Check("platform", Level.OK, "Linux with /proc")
    return Check("platform", Level.FAIL, f"{platform} without a readable /proc/self/fd",
                 "run ccbot on Linux: it reads /proc to prove which rollout a window writes")


def ccbot_dir_check(path: Path, exists: bool, writable: bool, parent_writable: bool) -> Check:
    """The ``CCBOT_DIR`` line: ✓ when ``path`` exists and is ``writable``, or does not exist yet and the bot can
    create it (``parent_writable``: its nearest existing ancestor is writable); else ✗ naming the fix."""
    if exists and writable:
        return Check("ccbot dir", Level.OK, f"{path} is writable")
    if exists:
        return Check("ccbot dir", Level.FAIL, f"{path} is not writable by this user",
                     "fix its owner/permissions, or point CCBOT_DIR elsewhere")
    if parent_writable:
        return Check("ccbot dir", Level.OK, f"{path} does not exist yet; the bot creates it")
    return Check("ccbot dir", Level.FAIL, f"{path} does not exist and cannot be created",
                 "create it for this user, or point CCBOT_DIR elsewhere")
