"""``python -m ccbot doctor`` as a subprocess: fake Telegram in-process, real tmux, real Codex 0.169."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from tests.conftest import DATA
from tests.e2e.harness import ROOT, TOKEN, bot_env
from tools.codex_harness import codex_version
from tools.fakegram import FakeTelegram, serve_fakegram

pytestmark = pytest.mark.e2e

OWNER = 1001
WRONG_TOKEN = "7100200300:AAH-wrongTokenValueNotKnown_999"
ROLLOUT_NAME = "rollout-2026-11-23T21-40-01-01a20a5a-009b-7f71-8ca7-536926fbd324.jsonl"


async def run_doctor(env: dict[str, str]) -> tuple[int, str, str]:
    with trio.fail_after(60):
        done = await trio.run_process(
            [sys.executable, "-m", "ccbot", "doctor", "--timeout", "5"],
            env=env, cwd=str(ROOT), capture_stdout=True, capture_stderr=True, check=False,
            stdin=subprocess.DEVNULL,
        )
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def prepare(
    tmp_path: Path, port: int, codex_bin: str, group: int, topic: int, *, token: str = TOKEN
) -> dict[str, str]:
    env = bot_env(tmp_path, port, allowed=str(OWNER), extra={
        "CCBOT_CODEX_COMMAND": codex_bin,
        "TELEGRAM_BOT_TOKEN": token,
    })
    sessions = Path(env["CODEX_HOME"]) / "sessions" / "2026" / "11" / "23"
    sessions.mkdir(parents=True)
    shutil.copyfile(DATA / "rollouts" / "codex-0.169-main.jsonl", sessions / ROLLOUT_NAME)
    (Path(env["CODEX_HOME"]) / "config.toml").write_text("[features]\ndaemon_auto_start = false\n")
    state_dir = Path(env["CCBOT_DIR"])
    state_dir.mkdir(parents=True)
    bindings = {
        f"{group}:{topic}": {"chat_id": group, "topic_id": topic, "window_id": "@1", "window_name": "w1",
                             "cwd": str(tmp_path)},
        f"{OWNER}:0": {"chat_id": OWNER, "topic_id": 0, "window_id": "@2", "window_name": "w2",
                       "cwd": str(tmp_path)},
    }
    state = {"schema": 1, "telegram_offset": 0, "bindings": bindings}
    (state_dir / "state.json").write_text(json.dumps(state))
    return env


def setup_fake() -> tuple[FakeTelegram, int, int]:
    fake = FakeTelegram(TOKEN, long_poll_max=1.0)
    fake.add_user(OWNER, "Owner")
    group = fake.create_forum_group("Dev")
    topic = fake.user_creates_topic(group, OWNER, "work")
    fake.create_private_chat(OWNER)
    return fake, group, topic


def by_name(stdout: str) -> dict[str, str]:
    """check name → its whole line (the name is what sits between the mark and the first ':')."""
    return {line[2:].split(":", 1)[0]: line for line in stdout.splitlines()}


async def test_doctor_all_good_against_fake_telegram(tmp_path: Path, tmux_bin: str, codex_bin: str) -> None:
    fake, group, topic = setup_fake()
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_fakegram, fake)
        env = prepare(tmp_path, port, codex_bin, group, topic)
        code, out, err = await run_doctor(env)
        nursery.cancel_scope.cancel()
    lines = out.splitlines()
    assert code == 0, out + err
    assert lines and all(line[:2] in ("✓ ", "! ") for line in lines), out
    named = by_name(out)
    for name in ("config", "platform", "tmux", "tmux server", "tmux session", "ccbot dir", "state", "codex",
                 "codex daemon", "codex protocol", "CODEX_HOME", "newest rollout", "telegram", "webhook", "privacy",
                 "threaded mode", f"chat {group}", f"chat {OWNER}"):
        assert name in named, f"no {name!r} line in:\n{out}"
    for name in ("tmux", "tmux server", "codex", "codex daemon", "newest rollout", "telegram", "state",
                 f"chat {OWNER}"):
        assert named[name].startswith("✓ "), named[name]
    assert f"{codex_version(Path(codex_bin))} ({codex_bin})" in named["codex"]
    assert named["codex protocol"].startswith("✓ "), named["codex protocol"]
    assert ROLLOUT_NAME in named["newest rollout"] and "121 lines decoded" in named["newest rollout"]
    assert "@fakegram_bot" in named["telegram"]
    assert "2 topics bound in 2 chats" in named["state"]
    methods = {c.method.lower() for c in fake.calls}
    group_line = named[f"chat {group}"]
    assert "'Dev'" in group_line
    if any(c.method.lower() == "getchatmember" and c.http_status == 200 for c in fake.calls):
        assert group_line.startswith("✓ ") and "admin" in group_line  # the bot is an admin there
    else:  # a fake without getChatMember: the rights are "not checked", a warning
        assert group_line.startswith("! ") and "not checked" in group_line
    assert {"getme", "getchat", "getwebhookinfo"} <= methods
    assert "getupdates" not in methods  # never steal a running bot's long poll
    assert TOKEN not in out and TOKEN not in err
    # the private tmux server it started is gone again, and nothing was started on ccbot's socket
    with trio.fail_after(10):
        left = await trio.run_process([tmux_bin, "-L", env["CCBOT_TMUX_SOCKET"], "ls"], capture_stdout=True,
                                      capture_stderr=True, check=False)
    assert left.returncode != 0


async def test_doctor_wrong_token_fails_without_printing_it(
    tmp_path: Path, tmux_bin: str, codex_bin: str
) -> None:
    fake, group, topic = setup_fake()
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_fakegram, fake)
        env = prepare(tmp_path, port, codex_bin, group, topic, token=WRONG_TOKEN)
        code, out, err = await run_doctor(env)
        nursery.cancel_scope.cancel()
    assert code == 1, out + err
    named = by_name(out)
    assert named["telegram"].startswith("✗ ") and "rejected the token" in named["telegram"], out
    assert all(line[:2] in ("✓ ", "! ", "✗ ") for line in out.splitlines())
    assert [line for line in out.splitlines() if line.startswith("✗ ")] == [named["telegram"]]
    assert [c.http_status for c in fake.calls] == [401]  # it stopped after getMe
    for secret in (WRONG_TOKEN, TOKEN, WRONG_TOKEN.split(":", 1)[1]):
        assert secret not in out and secret not in err


async def test_doctor_bad_config_exits_2(tmp_path: Path, tmux_bin: str) -> None:
    env = bot_env(tmp_path, 9, allowed="not-a-number")
    code, out, err = await run_doctor(env)
    assert code == 2, out + err
    named = by_name(out)
    assert named["config"].startswith("✗ ") and "ALLOWED_USERS" in named["config"]
    assert named["tmux"].startswith("✓ ")  # what needs no configuration is still checked
    assert TOKEN not in out and TOKEN not in err
