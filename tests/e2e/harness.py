"""Run ``python -m ccbot`` as a subprocess against in-process fakes (real clock, 127.0.0.1 only).

The fake Telegram enforces Telegram's sending budget (429 flood control) in every e2e test, so the
bot runs under the real server's economics; a test that needs headroom says so explicitly with
``new_fake(telegram_budget=False)`` / ``running_stack(..., telegram_budget=False)``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from tools.fakegram import FakeTelegram

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "7100200300:AAH-e2eSecretTokenValue_xyz123"


@dataclass
class BotProcess:
    proc: trio.Process
    log_path: Path
    env: dict[str, str]

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()

    def log_events(self) -> list[dict[str, Any]]:
        events = []
        for line in self.log_lines():
            text = line[3:] if line.startswith("<") and line[2:3] == ">" else line
            try:
                events.append(json.loads(text))
            except ValueError:
                events.append({"event": "<unparsed>", "raw": line})
        return events

    async def wait_log(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20.0) -> dict[str, Any]:
        with trio.fail_after(timeout):
            while True:
                for event in self.log_events():
                    if predicate(event):
                        return event
                if self.proc.returncode is not None:
                    raise AssertionError(f"bot exited {self.proc.returncode}:\n" + "\n".join(self.log_lines()[-40:]))
                await trio.sleep(0.05)

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        with trio.fail_after(timeout):
            return await self.proc.wait()

    def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()


def new_fake(*, long_poll_max: float = 2.0, telegram_budget: bool = True) -> FakeTelegram:
    """The e2e fake Telegram serving ``TOKEN``; its sending budget is on unless a test opts out."""
    return FakeTelegram(TOKEN, long_poll_max=long_poll_max, telegram_budget=telegram_budget)


def budget_report(fake: FakeTelegram) -> str:
    """One line for failure messages: how many 429s the fake answered, per chat and limit."""
    counts: dict[tuple[int | None, str], int] = {}
    for throttle in fake.throttles:
        key = (throttle.chat_id, throttle.scope)
        counts[key] = counts.get(key, 0) + 1
    detail = ", ".join(f"chat {chat} {scope}: {n}" for (chat, scope), n in sorted(counts.items(), key=str))
    state = "on" if fake.telegram_budget else "off"
    return f"telegram budget {state}; 429s answered: {len(fake.throttles)}" + (f" ({detail})" if detail else "")


def bot_env(tmp_path: Path, port: int, *, allowed: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "CCBOT_DIR": str(tmp_path / "ccbot"),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "ALLOWED_USERS": allowed,
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{port}",
        "CCBOT_TMUX_SOCKET": f"ccbot-e2e-{secrets.token_hex(4)}",
        "CODEX_HOME": str(tmp_path / "codex-home"),
        "CCBOT_POLL_TIMEOUT": "5",
        "CCBOT_BROWSE_ROOT": str(tmp_path),
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra or {})
    return env


async def start_bot(tmp_path: Path, env: dict[str, str], *, name: str = "bot") -> BotProcess:
    log_path = tmp_path / f"{name}.log"
    with open(log_path, "ab") as log_file:  # the child keeps its own descriptor
        proc = await trio.lowlevel.open_process(
            [sys.executable, "-m", "ccbot", "--log-format", "journald", "--log-level", "debug"],
            stdout=log_file, stderr=subprocess.STDOUT, env=env, cwd=str(ROOT),
        )
    return BotProcess(proc, log_path, env)


def kill_tmux_server(env: dict[str, str]) -> None:
    """Stop the bot's private tmux server and remove the socket file tmux 3.3a leaves behind."""
    socket = env["CCBOT_TMUX_SOCKET"]
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)
    (Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / socket).unlink(missing_ok=True)


@asynccontextmanager
async def running_bot(tmp_path: Path, env: dict[str, str], *, name: str = "bot") -> AsyncIterator[BotProcess]:
    """A bot subprocess that is ready; killed (with its tmux server) on the way out, whatever happened."""
    bot = await start_bot(tmp_path, env, name=name)
    try:
        await bot.wait_log(lambda e: e.get("event") == "ready")
        yield bot
    finally:
        bot.kill()
        kill_tmux_server(env)
