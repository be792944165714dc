"""The app-server plane end to end: real Codex under its own defaults (so windows ccbot starts get a private
app-server and run ``codex --remote``), the mock model streaming slowly, fake Telegram with its budget, the bot.

Command approvals answered from Telegram or at the terminal, and two panes in one folder, run on this plane in
``test_approvals_e2e`` and ``test_sessions_e2e`` under the "defaults" config; a file change (``apply_patch``)
approved from Telegram runs here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

from tests.e2e.stack import OWNER, Stack, running_stack
from tests.e2e.test_approvals_e2e import button_data, pane_of, press, wait_edited

CONFIG = "defaults"  # Codex's own defaults: the app-server plane
HEAD = "Mock long answer (1500 characters)"


async def private_topic(s: Stack, name: str) -> tuple[int, int]:
    chat = s.fake.create_private_chat(OWNER, topics_enabled=True)
    return chat, s.fake.user_creates_topic(chat, OWNER, name)


def final_call(s: Stack, chat: int, topic: int | None = None) -> Any:
    """The accepted sendMessage that carries the finished long answer (not a silent streamed frame), in
    ``topic`` when given, or None."""
    for call in s.fake.calls_to("sendMessage"):
        if call.ok and str(call.params.get("chat_id")) == str(chat) and HEAD in str(call.params.get("text", "")) \
                and not call.params.get("disable_notification") \
                and (topic is None or str(call.params.get("message_thread_id")) == str(topic)):
            return call
    return None


async def test_private_chat_streams_a_long_answer_as_growing_drafts(tmp_path: Path, codex_bin: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=CONFIG) as s:
        chat, t = await private_topic(s, "dm")
        await s.start_fresh(t, "warm up", chat=chat)
        await s.wait_text(t, "you said: warm up", timeout=60, chat=chat)
        bound = next(m.text or "" for m in s.messages(t, chat) if "Bound to tmux window" in (m.text or ""))
        assert "Control plane: Codex's app-server" in bound
        s.send(t, "slow 14 long 1500", chat)
        final = await s.fake.wait_for(lambda: final_call(s, chat), timeout=90)
        drafts = [d for d in s.fake.drafts if d.chat_id == chat and d.thread_id == t]
        before = [d for d in drafts if d.time < final.time]
        lengths = [len(d.text) for d in before]
        assert len(before) >= 3, (lengths, s.bot.log_lines()[-20:])
        assert lengths == sorted(lengths) and lengths[0] < lengths[-1]  # growing
        assert len({d.draft_id for d in before}) == 1 and before[0].draft_id != 0  # one animated draft
        assert final.time - before[0].time >= 3.0
        assert all(d.time < final.done_time for d in drafts)  # no frame after the answer: never the last word
        message = await s.wait_text(t, HEAD, chat=chat)
        text = message.text or ""
        assert len(text) >= 1300 and "…" not in text[-5:]  # the whole answer, not a frame's tail
        assert all(d.text in text or d.text.rstrip("…").strip() for d in before)


async def test_group_streams_by_one_edited_message_deleted_before_the_answer(
        tmp_path: Path, codex_bin: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=CONFIG) as s:
        t = s.new_topic("t")
        await s.start_fresh(t, "warm up")
        await s.wait_text(t, "you said: warm up", timeout=60)
        s.send(t, "slow 14 long 1500")
        final = await s.fake.wait_for(lambda: final_call(s, s.group), timeout=90)
        frames = [c for c in s.fake.calls_to("sendMessage") if c.ok and c.time < final.time
                  and c.params.get("disable_notification") and HEAD.split(" (")[0] in str(c.params.get("text"))]
        assert len(frames) == 1, "\n".join(line for line in s.bot.log_lines() if "ccbot.window" in line)
        assert final.time - frames[0].time >= 3.0
        edits = [c for c in s.fake.calls_to("editMessageText") if c.ok and c.time < final.time
                 and HEAD.split(" (")[0] in str(c.params.get("text"))]
        assert len(edits) >= 1  # paced at one edit per 5 s within the group's budget
        deletes = [c for c in s.fake.calls_to("deleteMessage") if c.ok]
        assert deletes, "the streamed frame message was left in the topic"
        texts = [m.text or "" for m in s.messages(t)]
        assert sum(HEAD in x for x in texts) == 1  # only the finished answer is left
        assert texts[-1].startswith("# " + HEAD) or HEAD in texts[-1]


async def test_esc_interrupts_through_the_app_server(tmp_path: Path, codex_bin: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=CONFIG) as s:
        t = s.new_topic("t")
        await s.start_fresh(t, "warm up")
        await s.wait_text(t, "you said: warm up", timeout=60)
        s.send(t, "slow 30 please get interrupted")
        await s.bot.wait_log(lambda e: e.get("event") == "frame sent", timeout=60)
        s.send(t, "/esc")
        await s.bot.wait_log(lambda e: e.get("event") == "turn interrupted through the app-server", timeout=30)
        await s.wait_text(t, "Interrupted", timeout=30)
        with trio.move_on_after(3):
            await s.wait_text(t, "you said: slow 30 please get interrupted", timeout=3)
            raise AssertionError("the interrupted answer was still delivered")


async def test_a_refused_draft_turns_drafts_off_for_the_whole_chat(tmp_path: Path, codex_bin: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=CONFIG) as s:
        chat, first = await private_topic(s, "one")
        second = s.fake.user_creates_topic(chat, OWNER, "two")
        for topic in (first, second):
            await s.start_fresh(topic, "warm up", chat=chat)
            await s.wait_text(topic, "you said: warm up", timeout=60, chat=chat)
        s.fake.inject("sendMessageDraft", "400", count=1, chat_id=chat,
                      description="Bad Request: TEXTDRAFT_PEER_INVALID")
        s.send(first, "slow 8 long 1500", chat)
        await s.fake.wait_for(lambda: final_call(s, chat), timeout=90)
        attempts = [c for c in s.fake.calls_to("sendMessageDraft") if str(c.params.get("chat_id")) == str(chat)]
        assert [c.ok for c in attempts] == [False]  # refused once; that answer's later frames were not tried
        s.send(second, "slow 14 long 1500", chat)  # the other topic's window: drafts are off for the chat
        await s.fake.wait_for(lambda: final_call(s, chat, second), timeout=90)
        assert len(s.fake.calls_to("sendMessageDraft")) == len(attempts)  # no draft tried again in this chat
        frames = [c for c in s.fake.calls_to("sendMessage") if c.ok and c.params.get("disable_notification")
                  and str(c.params.get("message_thread_id")) == str(second)]
        assert len(frames) == 1, s.bot.log_lines()[-30:]  # streamed as one edited message instead
        await s.fake.wait_for(lambda: sum(HEAD in (m.text or "") for m in s.messages(second, chat)) == 1,
                              timeout=30)  # and that message was deleted: only the finished answer is left


PATCH_HEAD = "Would you like to make the following edits?"


def patch_messages(s: Stack, topic: int) -> list[Any]:
    return [m for m in s.messages(topic) if PATCH_HEAD in (m.text or "")]


async def test_a_patch_approved_from_telegram_writes_the_file(tmp_path: Path, codex_bin: str) -> None:
    # read-only: every apply_patch asks first (workspace-write lets a write inside the folder through)
    async with running_stack(tmp_path, codex_bin, config=CONFIG, approval_policy="on-request",
                             sandbox_mode="read-only") as s:
        t = s.new_topic("t")
        target = s.workdir / "patched.txt"
        await s.start_fresh(t, "patch patched.txt from telegram")
        message = await s.fake.wait_for(
            lambda: next((m for m in patch_messages(s, t) if m.reply_markup), None), timeout=60)
        text = message.text or ""
        assert "patched.txt (new file)" in text and "+written by the mock model's apply_patch" in text, text
        assert [b["text"] for row in message.reply_markup["inline_keyboard"] for b in row] == [
            "1. Yes, once", "2. Yes, and don't ask again for these files", "3. No, continue without it",
            "4. No, tell Codex"]
        await s.fake.wait_for(lambda: PATCH_HEAD in pane_of(s, t), timeout=30)  # the request can come first
        assert not target.exists()
        answer = await press(s, t, message.message_id, button_data(message, "Yes, once"))
        assert answer == "Sent: Yes, once"
        await s.fake.wait_for(target.exists, timeout=30)
        assert target.read_text() == "written by the mock model's apply_patch\nfrom telegram\n"
        await wait_edited(s, message.message_id, "Chosen here: Yes, once")
        await s.wait_text(t, "MOCK_TOOL_DONE", timeout=60)
        assert len(patch_messages(s, t)) == 1  # the screen's copy of the prompt got no message of its own
        assert s.bot.log_lines() and any("approval answered from Telegram" in line for line in s.bot.log_lines())
