"""Approval prompts as buttons, end to end: fake Telegram, mock model, real codex 0.169 in tmux, the bot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import trio

from ccbot.screen.parse import parse_screen
from tests.e2e.stack import OWNER, Stack, running_stack

PROMPT_HEAD = "Would you like to run the following command?"


def window_of(s: Stack, topic: int) -> str:
    names = [n for n in s.tmux("list-windows", "-t", "ccbot", "-F", "#{window_name}").split("\n") if n]
    (name,) = [n for n in names if n.endswith(f"-{topic}")]
    return name


def pane_of(s: Stack, topic: int) -> str:
    return s.tmux("capture-pane", "-p", "-t", f"ccbot:{window_of(s, topic)}")


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


async def wait_prompt(s: Stack, topic: int, path: Path, *, first: bool = False) -> Any:
    """Ask for ``touch path`` with escalation (as the topic's first message when ``first``); the prompt."""
    if first:
        await s.start_fresh(topic, f"run touch {path} escalate")
    else:
        s.send(topic, f"run touch {path} escalate")
    return await s.fake.wait_for(lambda: prompt_message(s, topic, path), timeout=60)


async def press(s: Stack, topic: int, message_id: int, data: str) -> str | None:
    """Press a button (by its data) on ``message_id`` and return the bot's callback answer text."""
    qid = s.fake.user_presses(s.group, OWNER, message_id, data)
    # Long timeout: answers are paced with the group's other sends (20 a minute).
    try:
        answer = await s.fake.wait_for(
            lambda: next((a for a in s.fake.callback_answers if a.query_id == qid), None), timeout=60)
    except trio.TooSlowError:
        raise AssertionError(f"press {data} not answered\n{calls(s)}\n"
                             + "\n".join(s.bot.log_lines()[-30:])) from None
    return answer.text


def calls(s: Stack) -> str:
    return "\n".join(f"{c.time:.1f} {c.method} {c.http_status} {str(c.params)[:100]}"
                     for c in s.fake.calls if c.method != "getUpdates")


async def wait_edited(s: Stack, message_id: int, needle: str) -> str:
    def edited() -> str | None:
        message = s.fake.get_message(s.group, message_id)
        text = message.text or ""
        return text if needle in text and not message.reply_markup else None

    try:
        return await s.fake.wait_for(edited, timeout=30)
    except trio.TooSlowError:
        message = s.fake.get_message(s.group, message_id)
        raise AssertionError(f"message {message_id} not edited to {needle!r}: {message.text!r} "
                             f"{message.reply_markup}\n{calls(s)}") from None


def rules_text(s: Stack) -> str:
    path = s.codex_home / "rules" / "default.rules"
    return path.read_text() if path.exists() else ""


async def test_yes_runs_it_old_button_is_gone_terminal_answer_noted(
        tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config, approval_policy="on-request") as s:
        t = s.new_topic("t")
        yes = s.workdir / "yes.txt"
        message = await wait_prompt(s, t, yes, first=True)
        assert [b["text"] for row in message.reply_markup["inline_keyboard"] for b in row] == [
            "1. Yes, once", "2. Always for this prefix", "3. No, tell Codex"]
        yes_data, yes_message = button_data(message, "Yes, once"), message.message_id
        assert await press(s, t, yes_message, yes_data) == "Sent: Yes, once"
        await s.fake.wait_for(yes.exists, timeout=30)
        await wait_edited(s, yes_message, "Chosen here: Yes, once")
        await s.wait_text(t, "MOCK_TOOL_DONE", timeout=60)

        # The old button while another prompt waits: "gone", and nothing reaches the new prompt.
        later = s.workdir / "later.txt"
        second = await wait_prompt(s, t, later)
        prompts_before = s.user_messages_in_rollouts()
        assert await press(s, t, yes_message, yes_data) == "This prompt is gone."
        await trio.sleep(1.5)
        assert not later.exists()
        assert f"touch {later}" in pane_of(s, t) and PROMPT_HEAD in pane_of(s, t)
        assert s.user_messages_in_rollouts() == prompts_before
        # Answered at the terminal: the message says so and loses its buttons.
        s.tmux("send-keys", "-t", f"ccbot:{window_of(s, t)}", "y")
        await s.fake.wait_for(later.exists, timeout=30)
        await wait_edited(s, second.message_id, "Answered at the terminal")


async def test_no_aborts_the_turn(tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config, approval_policy="on-request") as s:
        t = s.new_topic("t")
        no = s.workdir / "no.txt"
        message = await wait_prompt(s, t, no, first=True)
        no_data = button_data(message, "No, tell Codex")
        assert await press(s, t, message.message_id, no_data) == "Sent: No, tell Codex"
        await wait_edited(s, message.message_id, "Chosen here: No, tell Codex")
        await s.fake.wait_for(lambda: "Conversation interrupted" in pane_of(s, t), timeout=30)
        await s.wait_text(t, "Interrupted", timeout=30)
        assert not no.exists()


async def test_always_writes_the_prefix_rule(tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config, approval_policy="on-request") as s:
        t = s.new_topic("t")
        always = s.workdir / "always.txt"
        message = await wait_prompt(s, t, always, first=True)
        assert await press(s, t, message.message_id, button_data(message, "Always")) == \
            "Sent: Always for this prefix"
        await s.fake.wait_for(always.exists, timeout=30)
        await s.fake.wait_for(lambda: str(always) in rules_text(s), timeout=30)
        assert "prefix_rule" in rules_text(s) and '"touch"' in rules_text(s)
        await wait_edited(s, message.message_id, "Chosen here: Always for this prefix")


async def test_forged_callback_from_another_topic_presses_nothing(
        tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config, approval_policy="on-request") as s:
        a, b = s.new_topic("a"), s.new_topic("b")
        await s.start_fresh(a, "alpha")
        target = s.workdir / "forged.txt"
        message_b = await wait_prompt(s, b, target, first=True)
        data_b = button_data(message_b, "Yes, once")
        message_a = s.messages(a)[-1]
        answer = await press(s, a, message_a.message_id, data_b)  # B's token, pressed in topic A
        assert answer is not None and "another topic" in answer
        await trio.sleep(1.5)
        assert not target.exists()
        assert PROMPT_HEAD in pane_of(s, b)  # B's prompt is still waiting, untouched
        assert parse_screen(pane_of(s, a)).composer_text is None  # and nothing was typed in A
        assert json.dumps(message_b.reply_markup) == json.dumps(prompt_message(s, b, target).reply_markup)
        # The real button in B still works. (Its answer and the message edit are not awaited: the sender
        # paces them with the group's 20 sends a minute, which this test has used up by now.)
        s.fake.user_presses(s.group, OWNER, message_b.message_id, data_b)
        await s.fake.wait_for(target.exists, timeout=30)


QUESTION = "Which colour should the mock use?"


def question_message(s: Stack, topic: int) -> Any:
    """The bot's message with the Plan-mode question and its buttons still on, or None."""
    return next((m for m in reversed(s.messages(topic)) if QUESTION in (m.text or "") and m.reply_markup), None)


async def test_a_plan_mode_question_gets_buttons_and_text_is_not_typed_into_it(
        tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config) as s:
        t = s.new_topic("t")
        await s.start_fresh(t, "warm up")
        await s.wait_text(t, "you said: warm up", timeout=60)
        s.send(t, "/plan")  # Codex's own command, typed into the TUI: request_user_input needs Plan mode
        await s.fake.wait_for(lambda: "Plan mode" in pane_of(s, t), timeout=30)
        s.send(t, "ask which colour")
        message = await s.fake.wait_for(lambda: question_message(s, t), timeout=60)
        labels = [b["text"] for row in message.reply_markup["inline_keyboard"] for b in row]
        assert [label.split(". ", 1)[-1] for label in labels][:3] == ["Red (Recommended)", "Green", "Blue"], labels
        await s.fake.wait_for(lambda: "enter to submit answer" in pane_of(s, t), timeout=30)
        s.send(t, "typed while asked")  # the overlay has no composer: this would answer the question
        refused = await s.wait_text(t, "Not sent", timeout=30)
        # by the request itself on the app-server plane, else by the screen's prompt
        assert (QUESTION if codex_config == "harness" else "waiting for your answer") in (refused.text or "")
        assert "typed while asked" not in pane_of(s, t)
        assert await press(s, t, message.message_id, button_data(message, "Green")) == "Sent: Green"
        answered = await s.wait_text(t, "MOCK_ASKED", timeout=60)
        assert "Green" in (answered.text or "") and "Red" not in (answered.text or "")
        await wait_edited(s, message.message_id, "Green")
        # one message for the question: on the app-server plane the screen's copy gets no buttons of its own
        asked = [m for m in s.messages(t) if QUESTION in (m.text or "") and "Not sent" not in (m.text or "")]
        assert len(asked) == 1, [m.text for m in asked]
