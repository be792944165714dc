"""Text sent while Codex shows a startup screen, end to end: fake Telegram, mock model, real codex 0.169 in
tmux, the bot. A topic is bound to a git repository Codex has never trusted, so its first message meets the
"Trust this folder?" screen: it is kept (not refused), the screen is answered with the topic's button, and
the message then reaches Codex exactly once."""

from __future__ import annotations

from pathlib import Path

import trio

from tests.e2e.stack import running_stack
from tools.record_codex import make_git_workdir

FIRST = "hello from the untrusted repo"


async def test_first_message_waits_for_the_trust_screen_and_arrives_once(
        tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config) as s:
        repo = make_git_workdir(tmp_path / "repo")  # not among the folders the stack pre-trusts
        assert str(repo.resolve()) not in (s.codex_home / "config.toml").read_text()
        t = s.new_topic("repo")
        await s.start_fresh(t, FIRST, folder="repo")
        kept = await s.wait_text(t, "your message is kept", timeout=60)
        assert "Trust this folder?" in (kept.text or "")
        await s.wait_text(t, "Trust this folder?", timeout=30)  # the screen as a message with buttons
        assert s.user_messages_in_rollouts() == []
        assert not any("Not sent" in x for x in s.texts(t)), s.texts(t)

        await s.press(t, "Trust and continue")
        await s.wait_text(t, f"MOCK_REPLY: you said: {FIRST}", timeout=60)
        await trio.sleep(2.0)  # a second copy, if one were typed, would be recorded by now
        assert s.user_messages_in_rollouts() == [FIRST]
        assert sum("kept" in x for x in s.texts(t)) == 1, s.texts(t)
        assert not any(x.startswith(("⛔", "⚠️")) for x in s.texts(t)), s.texts(t)
        await s.wait_text(t, "Chosen here: Trust and continue", timeout=30)
        assert str(repo.resolve()) in (s.codex_home / "config.toml").read_text()  # Codex saved the trust
