"""Issue 4 end to end: rollout → rendered, paced, never-lost Telegram messages (real codex in real tmux)."""

from __future__ import annotations

import re
import signal
from collections import Counter
from pathlib import Path

import trio

from tests.e2e.harness import start_bot
from tests.e2e.stack import running_stack


def words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9_]+", text)


async def test_reply_reasoning_and_tool_turns(tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config) as s:
        t, other = s.new_topic("t"), s.new_topic("other")
        await s.start_fresh(t, "hello mock")
        await s.wait_text(t, "MOCK_REPLY: you said: hello mock", timeout=60)
        done = await s.wait_text(t, "✓ Done", timeout=30)
        assert "tokens" in (done.text or "")

        s.send(t, "think about the plan")
        thinking = await s.wait_text(t, "Planning the mock answer", timeout=60)
        assert any(e.type == "expandable_blockquote" for e in thinking.entities)
        await s.wait_text(t, "you said: think about the plan", timeout=60)

        s.send(t, "run ls -la")
        await s.wait_text(t, "MOCK_TOOL_DONE", timeout=60)
        status = await s.fake.wait_for(
            lambda: next((m for m in s.messages(t) if "ls -la" in (m.text or "") and "✓ Done" in (m.text or "")),
                         None), timeout=30)
        assert "exit 0" in (status.text or "")
        assert status.history, "the status message is edited in place, not re-sent"
        assert s.texts(other) == []


async def test_long_answer_arrives_complete_and_in_order(tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config) as s:
        t = s.new_topic("t")
        await s.start_fresh(t, "long 10000")
        await s.wait_text(t, "✓ Done", timeout=90)
        answer = s.agent_messages_in_rollouts()[-1]
        assert len(answer) >= 10000
        bound_at = next(i for i, x in enumerate(s.texts(t)) if "Bound to tmux" in x)
        # the turn's end line is a footnote edited under the last part
        parts = [x.split("\n\n✓ Done")[0] for x in s.texts(t)[bound_at + 1:]]
        assert len(parts) >= 3  # split: Telegram allows 4096 characters per message
        assert all(len(x) <= 4096 for x in parts)
        # link targets and code-fence languages are markup, not visible text
        visible = re.sub(r"```\w+", "```", re.sub(r"\]\([^)]*\)", "]", answer))
        assert words("\n".join(parts)) == words(visible)


async def test_kill_9_during_busy_turn_loses_nothing(tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config) as s:
        t = s.new_topic("t")
        await s.start_fresh(t, "think before you answer")
        await s.wait_text(t, "you said: think before you answer", timeout=60)
        s.send(t, "slow 6 tell me a story")
        await s.fake.wait_for(lambda: "slow 6 tell me a story" in s.user_messages_in_rollouts(), timeout=30)
        await trio.sleep(1.0)
        s.bot.proc.send_signal(signal.SIGKILL)
        await s.bot.proc.wait()
        await trio.sleep(6.0)  # the turn finishes while the bot is down
        s.bot = await start_bot(s.tmp_path, s.env, name="bot2")
        await s.wait_text(t, "you said: slow 6 tell me a story", timeout=60)
        s.send(t, "after the crash")
        await s.wait_text(t, "you said: after the crash", timeout=60)
        texts = s.texts(t)
        for answer in s.agent_messages_in_rollouts():
            assert any(answer in x for x in texts), answer
        duplicates = sum(n - 1 for n in Counter(texts).values() if n > 1)
        assert duplicates <= 1, Counter(texts)


async def test_429_storm_delays_but_drops_no_final_answer(tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config) as s:
        t = s.new_topic("t")
        await s.start_fresh(t, "first")
        await s.wait_text(t, "you said: first", timeout=60)
        s.fake.inject("*", kind="429", count=12, retry_after=1)
        s.send(t, "answer me through the storm")
        await s.wait_text(t, "you said: answer me through the storm", timeout=90)
        assert sum(1 for c in s.fake.calls if c.http_status == 429) == 12
