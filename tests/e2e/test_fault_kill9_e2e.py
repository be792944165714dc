"""kill -9 of the bot at random moments of busy turns: nothing lost, at most one duplicate per topic per kill.

Short by default (3 kills); set CCBOT_LONG_TESTS=1 for the long variant (20 kills).
"""

from __future__ import annotations

import os
import random
import re
import signal
from collections import Counter
from pathlib import Path

import trio

from tests.e2e.harness import start_bot
from tests.e2e.stack import running_stack

KILLS = 20 if os.environ.get("CCBOT_LONG_TESTS") else 3


async def test_random_kills_lose_nothing(tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    rng = random.Random(int(os.environ.get("CCBOT_FAULT_SEED", "1234")))
    async with running_stack(tmp_path, codex_bin, config=codex_config) as s:
        t = s.new_topic("t")
        await s.start_fresh(t, "warm up")
        await s.wait_text(t, "you said: warm up", timeout=60)
        tool_turns = 0
        for n in range(KILLS):
            prompt = rng.choice([f"think then answer number {n}", f"slow 3 story number {n}",
                                 f"run echo number {n}"])
            tool_turns += prompt.startswith("run")
            s.send(t, prompt)
            await trio.sleep(rng.uniform(0.1, 3.5))
            s.bot.proc.send_signal(signal.SIGKILL)
            await s.bot.proc.wait()
            s.bot = await start_bot(s.tmp_path, s.env, name=f"bot-{n}")
            await s.bot.wait_log(lambda e: e.get("event") == "ready", timeout=30)

            def answered(prompt: str = prompt, tools: int = tool_turns) -> bool:
                texts = s.texts(t)
                if prompt.startswith("run"):
                    return sum("MOCK_TOOL_DONE" in x for x in texts) >= tools
                return any(f"you said: {prompt}" in x for x in texts)

            try:
                await s.fake.wait_for(answered, timeout=90)
                await s.fake.wait_for(lambda: s.tmux("capture-pane", "-p", "-t", "ccbot:1").count("Worked for")
                                      + s.tmux("capture-pane", "-p", "-t", "ccbot:1").count("■") >= 1, timeout=30)
            except trio.TooSlowError:
                raise AssertionError(f"turn {n} ({prompt!r}) not finished: {s.texts(t)}") from None
        await trio.sleep(2.0)
        texts = s.texts(t)
        shown = " ".join(re.findall(r"[A-Za-z0-9_]+", "\n".join(texts)))
        lost = [a for a in s.agent_messages_in_rollouts()
                if " ".join(re.findall(r"[A-Za-z0-9_]+", re.sub(r"```\w*", "", a))) not in shown]
        duplicates = sum(c - 1 for c in Counter(texts).values() if c > 1)
        print(f"kills={KILLS} answers={len(s.agent_messages_in_rollouts())} messages={len(texts)} lost={len(lost)} "
              f"duplicates={duplicates}")
        assert lost == []
        assert duplicates <= KILLS
