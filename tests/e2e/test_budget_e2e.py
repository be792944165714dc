"""Telegram's budget end to end: the fake enforces it (≈1/s per chat, 20/min per group, 30/s overall, 429
beyond), the real Codex answers. One chat's spent budget or 429 storm never delays another chat; the
user's own actions jump their chat's queue; a plain turn costs one sendMessage; nothing is lost."""

from __future__ import annotations

import re
import signal
from collections import Counter
from pathlib import Path

import trio

from tests.e2e.harness import start_bot
from tests.e2e.stack import OWNER, Stack, running_stack

CONFIG = "defaults"  # Codex's own defaults: what users run


def answers(s: Stack, topic: int, chat: int | None = None) -> list[str]:
    return [t for t in s.texts(topic, chat) if "you said:" in t]


def sends_to(s: Stack, chat: int, method: str = "sendMessage") -> int:
    return sum(1 for c in s.fake.calls_to(method) if c.ok and c.params.get("chat_id") in (chat, str(chat)))


async def private_topic(s: Stack, name: str) -> tuple[int, int]:
    """The owner's private chat with the bot, with topics (Threaded Mode), and a new topic in it."""
    chat = s.fake.create_private_chat(OWNER, topics_enabled=True)
    return chat, s.fake.user_creates_topic(chat, OWNER, name)


async def test_plain_turns_cost_one_message_and_keep_the_done_line(tmp_path: Path, codex_bin: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=CONFIG) as s:
        chat, t = await private_topic(s, "dm")
        await s.start_fresh(t, "warm up", chat=chat)
        await s.wait_text(t, "you said: warm up", timeout=60, chat=chat)
        before = sends_to(s, chat)
        for n in range(3):
            s.send(t, f"turn {n}", chat)
            await s.wait_text(t, f"you said: turn {n}", timeout=60, chat=chat)
        await s.fake.wait_for(lambda: sum("✓ Done" in a for a in answers(s, t, chat)) >= 4, timeout=30)
        assert sends_to(s, chat) - before == 3  # one sendMessage per plain turn, the done line is an edit
        assert all("✓ Done" in a for a in answers(s, t, chat))  # the end line moved under each answer
        assert not any(m.startswith("✓ Done") for m in s.texts(t, chat))
        bound = [m for m in s.texts(t, chat) if "Bound to tmux" in m]
        assert len(bound) == 1 and "Choose a folder" not in bound[0]  # the dialogue's final edit
        assert s.fake.throttles_for(chat) == []


async def test_busy_group_screenshot_overtakes_queued_answers(tmp_path: Path, codex_bin: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=CONFIG) as s:
        a, b, c = s.new_topic("a"), s.new_topic("b"), s.new_topic("c")
        for topic, word in ((a, "alpha"), (b, "bravo"), (c, "charlie")):
            await s.start_fresh(topic, f"{word} zero")
        for topic, word in ((a, "alpha"), (b, "bravo"), (c, "charlie")):
            await s.wait_text(topic, f"you said: {word} zero", timeout=120)
        for n in range(1, 7):  # twelve answers and their done lines: well over the group's minute
            s.send(a, f"alpha {n}")
            s.send(b, f"bravo {n}")

        def backlog() -> int:
            written = [x for x in s.agent_messages_in_rollouts() if re.search(r"(alpha|bravo) [1-6]$", x)]
            return len(written) - len(answers(s, a)) - len(answers(s, b)) + 2

        await s.fake.wait_for(lambda: backlog() >= 4, timeout=90)
        asked = trio.current_time()
        s.send(c, "/screenshot")
        await s.fake.wait_for(lambda: any(m.media_kind == "photo" for m in s.messages(c)), timeout=30)
        took = trio.current_time() - asked
        waiting = backlog()
        print(f"screenshot took {took:.1f} s with {waiting} answers still queued")
        assert waiting >= 2, waiting  # it went ahead of answers that wait for the group's budget
        assert took < 10.0, took  # the group's next free slot, not the end of the backlog
        for n in range(1, 7):
            await s.wait_text(a, f"you said: alpha {n}", timeout=240)
            await s.wait_text(b, f"you said: bravo {n}", timeout=240)
        for topic in (a, b):
            got = answers(s, topic)
            assert len(got) == len(set(got)) == 7, got  # each answer once


async def test_a_flood_of_new_topics_delays_no_other_chat(tmp_path: Path, codex_bin: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=CONFIG) as s:
        chat, t = await private_topic(s, "dm")
        await s.start_fresh(t, "warm up", chat=chat)
        await s.wait_text(t, "you said: warm up", timeout=60, chat=chat)
        flood = [s.new_topic(f"flood {n}") for n in range(200)]
        for n, topic in enumerate(flood):
            s.send(topic, f"flood message {n}")
        for n in range(3):
            asked = trio.current_time()
            s.send(t, f"meanwhile {n}", chat)
            await s.wait_text(t, f"you said: meanwhile {n}", timeout=60, chat=chat)
            took = trio.current_time() - asked
            assert took < 10.0, took  # Codex's turn plus one paced message, not the group's backlog
        state = s.tmp_path / "ccbot" / "state.json"
        # the first hundred are kept (and survive a restart); past the chat's cap each topic is told "Not kept"
        await s.fake.wait_for(lambda: '"flood message 99"' in state.read_text(), timeout=120)
        await trio.sleep(2.0)
        assert '"flood message 100"' not in state.read_text()
        browsers = [topic for topic in flood if any("Choose a folder" in m for m in s.texts(topic))]
        assert len(browsers) <= 5  # at most five dialogues open in one chat
        # the group's budget goes to the first topics' dialogues and each capped topic's one notice, in turn
        await s.fake.wait_for(lambda: any("Kept." in m for m in s.texts(flood[6])), timeout=120)
        told = s.texts(flood[6])
        assert len(told) == 1 and ("already open" in told[0] or "new sessions" in told[0]), told


async def test_a_429_storm_on_one_chat_does_not_slow_another(tmp_path: Path, codex_bin: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=CONFIG) as s:
        stormy = s.new_topic("stormy")
        chat, calm = await private_topic(s, "calm")
        await s.start_fresh(stormy, "storm warm up")
        await s.start_fresh(calm, "calm warm up", chat=chat)
        await s.wait_text(stormy, "you said: storm warm up", timeout=60)
        await s.wait_text(calm, "you said: calm warm up", timeout=60, chat=chat)
        s.fake.inject("*", kind="429", count=10, retry_after=5, chat_id=s.group)
        s.send(stormy, "through the storm")
        for n in range(3):
            asked = trio.current_time()
            s.send(calm, f"calm {n}", chat)
            await s.wait_text(calm, f"you said: calm {n}", timeout=60, chat=chat)
            assert trio.current_time() - asked < 10.0
        await s.wait_text(stormy, "you said: through the storm", timeout=120)
        assert s.fake.throttles_for(chat) == []
        assert len(s.fake.throttles_for(s.group, scope="injected")) == 10


async def test_an_edit_storm_on_one_status_message_is_coalesced(tmp_path: Path, codex_bin: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=CONFIG, approval_policy="never",
                             sandbox_mode="danger-full-access") as s:
        t = s.new_topic("t")
        await s.start_fresh(t, "warm up")
        await s.wait_text(t, "you said: warm up", timeout=60)
        s.send(t, "steps 30: run `echo storm`")
        await s.wait_text(t, "MOCK_TOOL_DONE", timeout=180)
        await s.fake.wait_for(lambda: any("✓ Done" in (m.text or "") and "echo storm" in (m.text or "")
                                          for m in s.messages(t)), timeout=60)
        status = [m for m in s.messages(t) if "✓ Done" in (m.text or "") and "echo storm" in (m.text or "")]
        assert len(status) == 1, s.texts(t)
        final = status[0]
        edits = [c for c in s.fake.calls_to("editMessageText")
                 if c.ok and c.params.get("message_id") in (final.message_id, str(final.message_id))]
        assert 1 <= len(edits) < 30  # thirty steps, far fewer edits: queued edits were replaced
        assert (final.text or "").count("echo storm") >= 10  # the final state lists the steps
        assert s.fake.throttles_for(s.group) == []


async def test_kill_9_with_a_full_outbox_loses_nothing(tmp_path: Path, codex_bin: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=CONFIG) as s:
        a, b = s.new_topic("a"), s.new_topic("b")
        await s.start_fresh(a, "alpha zero")
        await s.start_fresh(b, "bravo zero")
        await s.wait_text(a, "you said: alpha zero", timeout=120)
        await s.wait_text(b, "you said: bravo zero", timeout=120)
        for n in range(1, 6):
            s.send(a, f"alpha {n}")
            s.send(b, f"bravo {n}")
        written = lambda: sum(bool(re.search(r"(alpha|bravo) [1-5]$", x)) for x in s.agent_messages_in_rollouts())  # noqa: E731
        await s.fake.wait_for(lambda: written() >= 6, timeout=120)  # answers queued behind the group budget
        s.bot.proc.send_signal(signal.SIGKILL)
        await s.bot.proc.wait()
        s.bot = await start_bot(s.tmp_path, s.env, name="bot-after-kill")
        await s.bot.wait_log(lambda e: e.get("event") == "ready", timeout=30)
        for n in range(1, 6):
            await s.wait_text(a, f"you said: alpha {n}", timeout=300)
            await s.wait_text(b, f"you said: bravo {n}", timeout=300)
        texts = s.texts(a) + s.texts(b)
        duplicates = sum(c - 1 for c in Counter(texts).values() if c > 1)
        assert duplicates <= 1, Counter(texts)
