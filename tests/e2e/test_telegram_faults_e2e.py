"""Telegram faults from the fake server while real Codex output flows: the bot keeps running, drops nothing
durable and recovers on its own."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tests.e2e.stack import running_stack


async def test_500_slow_dropped_and_unparsable(tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config) as s:
        t = s.new_topic("t")
        await s.start_fresh(t, "warm up")
        await s.wait_text(t, "you said: warm up", timeout=60)

        s.fake.inject("sendMessage", kind="500", count=3)
        s.send(t, "through five hundreds")
        await s.wait_text(t, "you said: through five hundreds", timeout=60)

        s.fake.inject("*", kind="slow", count=4, delay=3.0)
        s.send(t, "through slow responses")
        await s.wait_text(t, "you said: through slow responses", timeout=60)

        s.fake.inject("sendMessage", kind="drop", count=2)
        s.send(t, "through dropped connections")
        await s.wait_text(t, "you said: through dropped connections", timeout=60)

        # handled but unanswered: at-least-once means at most one duplicate
        s.fake.inject("sendMessage", kind="drop_after", count=1)
        s.send(t, "through a lost answer")
        await s.wait_text(t, "you said: through a lost answer", timeout=60)

        # Telegram refuses the HTML: the same text goes out as plain text
        before = {m.message_id for m in s.messages(t)}
        dones = sum("✓ Done" in x for x in s.texts(t))
        s.fake.inject("sendMessage", kind="400", count=1)
        s.send(t, "through a parse error")
        await s.wait_text(t, "you said: through a parse error", timeout=60)
        # retried calls spend the group's 20 messages a minute too: the end line may wait for the next minute
        await s.fake.wait_for(lambda: sum("✓ Done" in x for x in s.texts(t)) > dones, timeout=75)
        new = [m for m in s.messages(t) if m.message_id not in before]
        assert any(m.parse_mode is None for m in new), [(m.text, m.parse_mode) for m in new]

        texts = [x for x in s.texts(t) if "MOCK_REPLY" in x]  # done lines of different turns may look alike
        repeated = [x for x, n in Counter(texts).items() if n > 1]
        assert sum(n - 1 for n in Counter(texts).values() if n > 1) <= 1, repeated
        assert s.bot.proc.returncode is None


async def test_deleted_topic_unbinds_and_kills_window(tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config) as s:
        t = s.new_topic("t")
        await s.start_fresh(t, "hello")
        await s.wait_text(t, "you said: hello", timeout=60)
        windows = s.tmux("list-windows", "-t", "ccbot", "-F", "#{window_name}").split()
        assert len(windows) == 2
        s.fake.user_deletes_topic(s.group, t)  # no update: only the next send fails
        await s.type_at_desk(windows[1], "written at the desk")
        await s.fake.wait_for(
            lambda: len(s.tmux("list-windows", "-t", "ccbot", "-F", "#{window_name}").split()) == 1, timeout=60)
        state = (s.tmp_path / "ccbot" / "state.json").read_text()
        assert '"bindings": {}' in state
        assert any(c.description and "thread not found" in c.description for c in s.fake.calls)
