"""Configuration: the process environment first, then ``$CCBOT_DIR/.env``.

``load_config(environ)`` returns a frozen :class:`Config` or raises :class:`ConfigError` whose message is
one line naming the variable and what is wrong with it. Nothing here touches the network or tmux; the only
I/O is reading the optional ``.env`` file and ``$CREDENTIALS_DIRECTORY/telegram_bot_token``.
"""

from __future__ import annotations

import math
import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,100}$")
SESSION_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CREDENTIAL_NAME = "telegram_bot_token"


class ConfigError(Exception):
    """A bad or missing setting. ``str(exc)`` is a single line meant for the user."""


@dataclass(frozen=True, slots=True)
class Config:
    """Validated settings. ``secrets`` lists every value that must never reach a log or tmux."""

    telegram_bot_token: str = field(repr=False)
    allowed_users: frozenset[int]
    ccbot_dir: Path
    tmux_session_name: str = "ccbot"
    tmux_socket_name: str | None = None
    codex_command: tuple[str, ...] = ("codex",)
    codex_home: Path = Path("~/.codex")
    monitor_poll_interval: float = 2.0
    show_hidden_dirs: bool = False
    browse_root: Path = Path("~")
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str = "https://api.openai.com/v1"
    telegram_api_base_url: str = "https://api.telegram.org"
    poll_timeout: int = 50
    hang_after: float = 600.0
    claim: str = "any"  # "any": any message opens an unbound topic; "addressed": only /new@<this bot>

    @property
    def state_file(self) -> Path:
        """The state file: ``state.json`` in ``ccbot_dir``."""
        return self.ccbot_dir / "state.json"

    @property
    def secrets(self) -> tuple[str, ...]:
        """The configured secrets (bot token, OpenAI key when set), to scrub from logs and tmux environments."""
        return tuple(s for s in (self.telegram_bot_token, self.openai_api_key) if s)


def parse_dotenv(text: str) -> dict[str, str]:
    """Parse ``KEY=VALUE`` lines (``export`` prefix, ``#`` comments, single/double quotes).

    Raises ConfigError naming the line number of a line that is neither blank, a comment nor an assignment.
    """
    out: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ConfigError(f".env line {lineno}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        out[key] = value
    return out


def _bool(name: str, value: str) -> bool:
    low = value.strip().lower()
    if low in {"1", "true", "yes", "on"}:
        return True
    if low in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name}: expected true or false, got {value!r}")


def _float(name: str, value: str, *, low: float, high: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise ConfigError(f"{name}: must be between {low:g} and {high:g}, got {value!r}")
    return number


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(f"{name}: expected one of {', '.join(allowed)}, got {value!r}")
    return value


def _url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError(f"{name}: expected an http(s) URL, got {value!r}")
    return value.rstrip("/")


def _users(value: str) -> frozenset[int]:
    ids: set[int] = set()
    for part in value.split(","):
        item = part.strip()
        if not item:
            continue
        if not re.fullmatch(r"-?\d{1,20}", item):
            raise ConfigError(f"ALLOWED_USERS: {item!r} is not a numeric Telegram user id")
        ids.add(int(item))
    if not ids:
        raise ConfigError("ALLOWED_USERS: no user ids given (comma-separated numeric ids)")
    return frozenset(ids)


def _read_credential(environ: Mapping[str, str]) -> str | None:
    cred_dir = environ.get("CREDENTIALS_DIRECTORY")
    if not cred_dir:
        return None
    path = Path(cred_dir) / CREDENTIAL_NAME
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"TELEGRAM_BOT_TOKEN: cannot read credential {path}: {exc.strerror}") from None


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    """Build the Config from ``environ`` (default ``os.environ``) and ``$CCBOT_DIR/.env``.

    The environment wins over the file. The token may also come from systemd's credentials directory.
    Raises ConfigError (one line) on the first bad or missing value.
    """
    env = dict(os.environ if environ is None else environ)
    home = Path(env.get("HOME") or Path.home())
    ccbot_dir = Path(env.get("CCBOT_DIR") or home / ".ccbot").expanduser()
    dotenv_path = ccbot_dir / ".env"
    try:
        file_values = parse_dotenv(dotenv_path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        file_values = {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{dotenv_path}: cannot read: {exc}") from None
    merged = {**file_values, **env}

    def get(name: str) -> str | None:
        value = merged.get(name)
        return value if value not in (None, "") else None

    token = get("TELEGRAM_BOT_TOKEN") or _read_credential(env)
    if token is None:
        raise ConfigError("TELEGRAM_BOT_TOKEN: not set (get one from @BotFather)")
    if not TOKEN_RE.match(token):
        raise ConfigError("TELEGRAM_BOT_TOKEN: malformed (expected <digits>:<letters, digits, _ or ->)")
    users_raw = get("ALLOWED_USERS")
    if users_raw is None:
        raise ConfigError("ALLOWED_USERS: not set (comma-separated numeric Telegram user ids)")

    session = get("TMUX_SESSION_NAME") or "ccbot"
    if not SESSION_NAME_RE.match(session):
        raise ConfigError(f"TMUX_SESSION_NAME: only letters, digits, _ and - allowed, got {session!r}")
    socket = get("CCBOT_TMUX_SOCKET")
    if socket is not None and not SESSION_NAME_RE.match(socket):
        raise ConfigError(f"CCBOT_TMUX_SOCKET: only letters, digits, _ and - allowed, got {socket!r}")

    command_raw = get("CCBOT_CODEX_COMMAND") or get("CLAUDE_COMMAND") or "codex"
    try:
        command = tuple(shlex.split(command_raw))
    except ValueError as exc:
        raise ConfigError(f"CCBOT_CODEX_COMMAND: cannot parse {command_raw!r}: {exc}") from None
    if not command:
        raise ConfigError("CCBOT_CODEX_COMMAND: empty command")

    poll_timeout = _float("CCBOT_POLL_TIMEOUT", get("CCBOT_POLL_TIMEOUT") or "50", low=0, high=50)

    return Config(
        telegram_bot_token=token,
        allowed_users=_users(users_raw),
        ccbot_dir=ccbot_dir,
        tmux_session_name=session,
        tmux_socket_name=socket,
        codex_command=command,
        codex_home=Path(get("CODEX_HOME") or home / ".codex").expanduser(),
        monitor_poll_interval=_float(
            "MONITOR_POLL_INTERVAL", get("MONITOR_POLL_INTERVAL") or "2.0", low=0.05, high=60
        ),
        show_hidden_dirs=_bool("CCBOT_SHOW_HIDDEN_DIRS", get("CCBOT_SHOW_HIDDEN_DIRS") or "false"),
        browse_root=Path(get("CCBOT_BROWSE_ROOT") or home).expanduser(),
        openai_api_key=get("OPENAI_API_KEY"),
        openai_base_url=_url("OPENAI_BASE_URL", get("OPENAI_BASE_URL") or "https://api.openai.com/v1"),
        telegram_api_base_url=_url(
            "TELEGRAM_API_BASE_URL", get("TELEGRAM_API_BASE_URL") or "https://api.telegram.org"
        ),
        poll_timeout=int(poll_timeout),
        hang_after=_float("CCBOT_HANG_SECONDS", get("CCBOT_HANG_SECONDS") or "600", low=5, high=86400),
        claim=_choice("CCBOT_CLAIM", get("CCBOT_CLAIM") or "any", ("any", "addressed")),
    )
