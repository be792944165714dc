"""/history and /status end to end: fake Telegram, mock model, real codex 0.169 in real tmux, the bot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

from tests.e2e.stack import OWNER, Stack, running_stack


def keyboard_labels(message: Any) -> list[str]:
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return [b["text"] for row in rows for b in row]


async def wait_done(s: Stack, topic: int, count: int) -> None:
    """Wait until ``count`` turns of ``topic`` show their ``✓ Done`` status."""
    await s.fake.wait_for(lambda: sum("✓ Done" in t for t in s.texts(topic)) >= count, timeout=90)


def history_message(s: Stack, topic: int, after: int) -> Any:
    """The first bot message in ``topic`` with id > ``after`` that shows an echoed prompt."""
    for message in s.messages(topic):
        if message.message_id > after and "\u276f " in (message.text or ""):
            return message
    return None


async def test_history_shows_both_turns_and_status_posts_the_panel(
        tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config) as s:
        t = s.new_topic("t")
        await s.start_fresh(t, "first question")
        await wait_done(s, t, 1)
        s.send(t, "second question")
        await wait_done(s, t, 2)

        last = s.messages(t)[-1].message_id
        s.send(t, "/history")
        page = await s.fake.wait_for(lambda: history_message(s, t, last), timeout=60)
        text = page.text or ""
        order = ["\u276f first question", "MOCK_REPLY: you said: first question",
                 "\u276f second question", "MOCK_REPLY: you said: second question"]
        assert [text.find(x) for x in order] == sorted(text.find(x) for x in order)
        assert all(text.count(x) == 1 for x in order)
        assert keyboard_labels(page) == []  # one page: no buttons

        thread_id = s.rollouts()[0].name[-len("01a20a5a-009b-7f71-8ca7-536926fbd324.jsonl"):-len(".jsonl")]
        s.send(t, "/status")
        panel = await s.wait_text(t, "Token usage:", timeout=60)
        assert f"Session:             {thread_id}" in (panel.text or "")
        assert "Model:               mock-model" in (panel.text or "")
        assert any(e.type == "pre" for e in panel.entities)
        await trio.sleep(2.0)
        assert sum("Token usage:" in x for x in s.texts(t)) == 1  # posted once
        assert "/status" not in s.user_messages_in_rollouts()  # a command, not a prompt


async def test_history_pages_through_long_answers(tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config) as s:
        t = s.new_topic("t")
        await s.start_fresh(t, "long 3000 number one")
        await wait_done(s, t, 1)
        for n, word in ((2, "two"), (3, "three")):
            s.send(t, f"long 3000 number {word}")
            await wait_done(s, t, n)

        last = s.messages(t)[-1].message_id
        s.send(t, "/history")
        page = await s.fake.wait_for(lambda: history_message(s, t, last), timeout=60)
        labels = keyboard_labels(page)
        assert labels[0] == "◀ Older" and labels[-1].startswith("[") and "Newer ▶" not in labels
        total = int(labels[-1].strip("[]").split("/")[1])
        assert labels[-1] == f"[{total}/{total}]" and total >= 3
        assert "long 3000 number three" in (page.text or "")  # newest page first
        newest = page.text

        async def press_and_wait(label: str, want: str) -> str:
            data = next(b["callback_data"] for row in page.reply_markup["inline_keyboard"] for b in row
                        if b["text"] == label)
            s.fake.user_presses(s.group, OWNER, page.message_id, data)

            def edited() -> str | None:
                current = s.fake.get_message(s.group, page.message_id)
                return current.text if want in keyboard_labels(current) else None

            return await s.fake.wait_for(edited, timeout=60)

        older = await press_and_wait("◀ Older", f"[{total - 1}/{total}]")
        assert older != newest
        page = s.fake.get_message(s.group, page.message_id)
        assert keyboard_labels(page) == ["◀ Older", f"[{total - 1}/{total}]", "Newer ▶"]
        back = await press_and_wait("Newer ▶", f"[{total}/{total}]")
        assert back == newest
        assert "long 3000 number one" not in (newest or "")  # three 3000-character answers don't fit a page
        assert len([m for m in s.messages(t) if m.message_id > last]) == 1  # paging edits the one message
