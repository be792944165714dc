from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ccbot.config import ConfigError, load_config, parse_dotenv

TOKEN = "123456:ABCdef_ghi-JKL"


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    base = {"HOME": str(tmp_path), "CCBOT_DIR": str(tmp_path / "cc"), "TELEGRAM_BOT_TOKEN": TOKEN,
            "ALLOWED_USERS": "42, 7"}
    base.update(extra)
    return base


def test_defaults(tmp_path: Path) -> None:
    cfg = load_config(env(tmp_path))
    assert cfg.allowed_users == frozenset({42, 7})
    assert cfg.tmux_session_name == "ccbot"
    assert cfg.codex_command == ("codex",)
    assert cfg.monitor_poll_interval == 2.0
    assert cfg.show_hidden_dirs is False
    assert cfg.openai_base_url == "https://api.openai.com/v1"
    assert cfg.telegram_api_base_url == "https://api.telegram.org"
    assert cfg.codex_home == tmp_path / ".codex"
    assert cfg.state_file == tmp_path / "cc" / "state.json"
    assert TOKEN not in repr(cfg)


def test_dotenv_is_read_and_environment_wins(tmp_path: Path) -> None:
    (tmp_path / "cc").mkdir()
    (tmp_path / "cc" / ".env").write_text(
        "# comment\nexport TMUX_SESSION_NAME=fromfile\nMONITOR_POLL_INTERVAL='0.5'\nCCBOT_SHOW_HIDDEN_DIRS=yes\n"
    )
    cfg = load_config(env(tmp_path, TMUX_SESSION_NAME="fromenv"))
    assert cfg.tmux_session_name == "fromenv"
    assert cfg.monitor_poll_interval == 0.5
    assert cfg.show_hidden_dirs is True


def test_legacy_claude_command_honoured_only_when_new_unset(tmp_path: Path) -> None:
    assert load_config(env(tmp_path, CLAUDE_COMMAND="codex --no-daemon")).codex_command == ("codex", "--no-daemon")
    cfg = load_config(env(tmp_path, CLAUDE_COMMAND="old", CCBOT_CODEX_COMMAND="new -x"))
    assert cfg.codex_command == ("new", "-x")


def test_token_from_credentials_directory(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "telegram_bot_token").write_text(TOKEN + "\n")
    values = env(tmp_path, CREDENTIALS_DIRECTORY=str(creds))
    del values["TELEGRAM_BOT_TOKEN"]
    assert load_config(values).telegram_bot_token == TOKEN


@pytest.mark.parametrize(
    ("extra", "missing", "needle"),
    [
        ({}, "TELEGRAM_BOT_TOKEN", "TELEGRAM_BOT_TOKEN: not set"),
        ({}, "ALLOWED_USERS", "ALLOWED_USERS: not set"),
        ({"TELEGRAM_BOT_TOKEN": "nonsense"}, None, "TELEGRAM_BOT_TOKEN: malformed"),
        ({"ALLOWED_USERS": "42,bob"}, None, "ALLOWED_USERS: 'bob' is not a numeric"),
        ({"ALLOWED_USERS": " , "}, None, "ALLOWED_USERS: no user ids"),
        ({"MONITOR_POLL_INTERVAL": "fast"}, None, "MONITOR_POLL_INTERVAL: expected a number"),
        ({"MONITOR_POLL_INTERVAL": "-1"}, None, "MONITOR_POLL_INTERVAL: must be between"),
        ({"MONITOR_POLL_INTERVAL": "nan"}, None, "MONITOR_POLL_INTERVAL: must be between"),
        ({"CCBOT_SHOW_HIDDEN_DIRS": "maybe"}, None, "CCBOT_SHOW_HIDDEN_DIRS: expected true or false"),
        ({"OPENAI_BASE_URL": "ftp://x"}, None, "OPENAI_BASE_URL: expected an http(s) URL"),
        ({"TELEGRAM_API_BASE_URL": "localhost:8081"}, None, "TELEGRAM_API_BASE_URL: expected an http(s) URL"),
        ({"TMUX_SESSION_NAME": "a:b"}, None, "TMUX_SESSION_NAME: only letters"),
        ({"CCBOT_CODEX_COMMAND": "codex 'unterminated"}, None, "CCBOT_CODEX_COMMAND: cannot parse"),
    ],
)
def test_bad_values_give_one_clear_line(tmp_path: Path, extra: dict[str, str], missing: str | None,
                                        needle: str) -> None:
    values = env(tmp_path, **extra)
    if missing:
        del values[missing]
    with pytest.raises(ConfigError) as info:
        load_config(values)
    message = str(info.value)
    assert message.startswith(needle)
    assert "\n" not in message
    assert TOKEN not in message


def test_dotenv_syntax_error_names_line() -> None:
    with pytest.raises(ConfigError, match="line 2"):
        parse_dotenv("A=1\nthis is not an assignment\n")


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [({"ALLOWED_USERS": ""}, "ALLOWED_USERS: not set"), ({"MONITOR_POLL_INTERVAL": "x"}, "MONITOR_POLL_INTERVAL")],
)
def test_cli_exits_2_with_one_line_and_no_traceback(tmp_path: Path, overrides: dict[str, str], needle: str) -> None:
    values = env(tmp_path, **overrides)
    values["PATH"] = "/usr/bin:/bin"
    proc = subprocess.run([sys.executable, "-m", "ccbot"], env=values, capture_output=True, text=True,
                          timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert needle in lines[0]
    assert "Traceback" not in proc.stderr
