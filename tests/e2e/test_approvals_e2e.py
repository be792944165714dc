"""Approval prompts as buttons, end to end: fake Telegram + mock model + real codex 0.169 + real tmux + the bot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import trio

from ccbot.screen.parse import parse_screen
from tests.e2e.stack import OWNER, Stack, running_stack

PROMPT_HEAD = "Would you like to run the following command?"


def pane_of(s: Stack, topic: int) -> str:
    names = [n for n in s.tmux("list-windows", "-t", "ccbot", "-F", "#{window_name}").split("\n") if n]
    (name,) = [n for n in names if n.endswith(f"-{topic}")]
    return s.tmux("capture-pane", "-p", "-t", f"ccbot:{name}")


def prompt_message(s: Stack, topic: int, path: Path) -> Any:
    """The bot's prompt message for ``touch path`` with its buttons still on, or None."""
    for message in reversed(s.messages(topic)):
        if PROMPT_HEAD in (message.text or "") and f"touch {path}" in (message.text or "") \
                and message.reply_markup:
            return message
    return None


def button_data(message: Any, label: str) -> str:
    for row in message.reply_markup["inline_keyboard"]:
        for button in row:
            if label in button["text"]:
                return str(button["callback_data"])
    raise AssertionError(f"no {label!r} button in {message.reply_markup}")


async def wait_prompt(s: Stack, topic: int, path: Path) -> Any:
    s.send(topic, f"run touch {path} escalate")
    return await s.fake.wait_for(lambda: prompt_message(s, topic, path), timeout=60)


async def press(s: Stack, topic: int, message_id: int, data: str) -> str | None:
    """Press a button (by its data) on ``message_id`` and return the bot's callback answer text."""
    qid = s.fake.user_presses(s.group, OWNER, message_id, data)
    answer = await s.fake.wait_for(lambda: next((a for a in s.fake.callback_answers if a.query_id == qid), None),
                                   timeout=20)
    return answer.text


async def wait_edited(s: Stack, message_id: int, needle: str) -> str:
    def edited() -> str | None:
        message = s.fake.get_message(s.group, message_id)
        text = message.text or ""
        return text if needle in text and not message.reply_markup else None

    return await s.fake.wait_for(edited, timeout=30)


def rules_text(s: Stack) -> str:
    path = s.codex_home / "rules" / "default.rules"
    return path.read_text() if path.exists() else ""


async def test_yes_no_always_and_stale_buttons(tmp_path: Path, codex_bin: str) -> None:
    async with running_stack(tmp_path, codex_bin, approval_policy="on-request") as s:
        t = s.new_topic("t")
        await s.start_fresh(t, "hello there")
        await s.wait_text(t, "you said: hello there", timeout=60)

        # Yes (y): the command runs
        yes = s.workdir / "yes.txt"
        message = await wait_prompt(s, t, yes)
        assert [b["text"] for row in message.reply_markup["inline_keyboard"] for b in row] == [
            "1. Yes, once", "2. Always for this prefix", "3. No, tell Codex"]
        yes_data, yes_message = button_data(message, "Yes, once"), message.message_id
        assert await press(s, t, yes_message, yes_data) == "Sent: Yes, once"
        await s.fake.wait_for(yes.exists, timeout=30)
        await wait_edited(s, message.message_id, "Chosen here: Yes, once")
        await s.wait_text(t, "MOCK_TOOL_DONE", timeout=60)

        # No (esc): the turn is aborted, nothing runs
        no = s.workdir / "no.txt"
        message = await wait_prompt(s, t, no)
        assert await press(s, t, message.message_id, button_data(message, "No, tell Codex")) == "Sent: No, tell Codex"
        await wait_edited(s, message.message_id, "Chosen here: No, tell Codex")
        await s.fake.wait_for(lambda: "Conversation interrupted" in pane_of(s, t), timeout=30)
        await s.wait_text(t, "Interrupted", timeout=30)
        assert not no.exists()

        # Always (p): Codex writes its prefix rule
        always = s.workdir / "always.txt"
        message = await wait_prompt(s, t, always)
        assert await press(s, t, message.message_id, button_data(message, "Always")) == \
            "Sent: Always for this prefix"
        await s.fake.wait_for(always.exists, timeout=30)
        await s.fake.wait_for(lambda: str(always) in rules_text(s), timeout=30)
        assert "prefix_rule" in rules_text(s) and '"touch"' in rules_text(s)
        await wait_edited(s, message.message_id, "Chosen here: Always for this prefix")
        await s.fake.wait_for(lambda: "Worked for" in pane_of(s, t).split("always.txt escalate")[-1], timeout=60)

        # An old button again: answered "gone", no key reaches the idle composer
        prompts_before = s.user_messages_in_rollouts()
        assert await press(s, t, yes_message, yes_data) == "This prompt is gone."
        await trio.sleep(1.0)
        model = parse_screen(pane_of(s, t))
        assert model.composer_visible and model.composer_text is None
        assert s.user_messages_in_rollouts() == prompts_before


async def test_forged_callback_from_another_topic_presses_nothing(tmp_path: Path, codex_bin: str) -> None:
    async with running_stack(tmp_path, codex_bin, approval_policy="on-request") as s:
        a, b = s.new_topic("a"), s.new_topic("b")
        print("T", trio.current_time(), 'a, b = s.new_topic("a"), s.new_topic("b"', flush=True)
        await s.start_fresh(a, "alpha")
        print("T", trio.current_time(), 'await s.start_fresh(a, "alpha")', flush=True)
        await s.start_fresh(b, "bravo")
        print("T", trio.current_time(), 'await s.start_fresh(b, "bravo")', flush=True)
        await s.wait_text(a, "you said: alpha", timeout=60)
        print("T", trio.current_time(), 'await s.wait_text(a, "you said: alpha", ', flush=True)
        await s.wait_text(b, "you said: bravo", timeout=60)
        print("T", trio.current_time(), 'await s.wait_text(b, "you said: bravo", ', flush=True)
        target = s.workdir / "forged.txt"
        message_b = await wait_prompt(s, b, target)
        print("T", trio.current_time(), 'message_b = await wait_prompt(s, b, targ', flush=True)
        data_b = button_data(message_b, "Yes, once")
        print("T", trio.current_time(), 'data_b = button_data(message_b, "Yes, on', flush=True)
        message_a = s.messages(a)[-1]
        answer = await press(s, a, message_a.message_id, data_b)  # B's token, pressed in topic A
        assert answer is not None and "another topic" in answer
        await trio.sleep(1.5)
        print("T", trio.current_time(), 'await trio.sleep(1.5)', flush=True)
        assert not target.exists()
        assert PROMPT_HEAD in pane_of(s, b)  # B's prompt is still waiting, untouched
        assert parse_screen(pane_of(s, a)).composer_text is None  # and nothing was typed in A
        assert json.dumps(message_b.reply_markup) == json.dumps(prompt_message(s, b, target).reply_markup)
        # the real button in B still works
        assert await press(s, b, message_b.message_id, data_b) == "Sent: Yes, once"
        await s.fake.wait_for(target.exists, timeout=30)
        print("T", trio.current_time(), 'await s.fake.wait_for(target.exists, tim', flush=True)
