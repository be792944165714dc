"""Text sent while Codex shows a startup screen, end to end: fake Telegram, mock model, real codex 0.169 in
tmux, the bot.

* A topic is bound to a git repository Codex has never trusted, so its first message meets the "Trust this
  folder?" screen: it is kept (not refused), the screen is answered with the topic's button, and the message
  then reaches Codex exactly once.
* A topic resumes a conversation that another Codex still has open: Codex shows "This conversation is open
  in another app"; the message is kept, never typed into that screen, and arrives once the user closed the
  other Codex and pressed Retry."""

from __future__ import annotations

from pathlib import Path

import trio

from tests.e2e.stack import running_stack
from tests.e2e.test_sessions_e2e import window_names
from tools.record_codex import make_git_workdir

FIRST = "hello from the untrusted repo"


async def test_first_message_waits_for_the_trust_screen_and_arrives_once(
        tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config) as s:
        repo = make_git_workdir(tmp_path / "repo")  # not among the folders the stack pre-trusts
        assert str(repo.resolve()) not in (s.codex_home / "config.toml").read_text()
        t = s.new_topic("repo")
        await s.start_fresh(t, FIRST, folder="repo")
        if codex_config == "defaults":
            # The app-server plane: a TUI attached with --remote shows no folder-trust screen (measured on
            # 0.169 and 0.171); the first message is typed at once, and no trust is recorded for the folder.
            await s.wait_text(t, f"MOCK_REPLY: you said: {FIRST}", timeout=60)
            assert s.user_messages_in_rollouts() == [FIRST]
            assert not any("kept" in x or x.startswith(("⛔", "⚠️")) for x in s.texts(t)), s.texts(t)
            assert str(repo.resolve()) not in (s.codex_home / "config.toml").read_text()
            return
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


async def test_a_conversation_open_elsewhere_keeps_the_message_until_retry(
        tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config) as s:
        first = s.new_topic("first")
        await s.start_fresh(first, "remember the word pineapple")
        await s.wait_text(first, "you said: remember the word pineapple", timeout=60)
        s.send(first, "/unbind")  # the window and its Codex keep running, and keep the conversation open
        await s.wait_text(first, "Unbound", timeout=20)
        holder = window_names(s)[1]

        second = s.new_topic("second")
        await s.resume(second, "what was the word", "Mock remember")  # the conversation the first window has open
        kept = await s.wait_text(second, "your message is kept", timeout=60)
        assert "This conversation is open in another app" in (kept.text or "")
        await s.wait_text(second, "Retry", timeout=30)  # the screen as a message with buttons
        await trio.sleep(2.0)
        assert s.user_messages_in_rollouts() == ["remember the word pineapple"]  # nothing typed into it

        s.tmux("kill-window", "-t", f"ccbot:{holder}")  # the user closes the other Codex …
        await trio.sleep(1.0)
        await s.press(second, "Retry")  # … and retries
        await s.wait_text(second, "you said: what was the word", timeout=60)
        await trio.sleep(2.0)
        assert s.user_messages_in_rollouts().count("what was the word") == 1
        assert not any(x.startswith(("⛔", "⚠️")) for x in s.texts(second)), s.texts(second)
