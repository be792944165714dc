"""Bad and unusual input reaches Codex exactly (or cleaned of control characters, never as keys)."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.stack import running_stack

CASES = [
    "Enter C-c Escape ; -x --help $HOME `ls` 'quotes' \"double\" \\backslash",
    "emoji 🎉👩‍💻 and RTL שלום עולם مرحبا and CJK 你好",
    "-starts with a dash",
    "tab\tseparated\tvalues",
]


async def test_unusual_text_reaches_codex_exactly(tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config) as s:
        t = s.new_topic("t")
        await s.start_fresh(t, "warm up")
        await s.wait_text(t, "you said: warm up", timeout=60)
        for text in CASES:
            s.send(t, text)
            await s.fake.wait_for(lambda text=text: text in s.user_messages_in_rollouts(), timeout=40)
        # control characters are removed, never typed as keys (Ctrl-C would quit Codex, ESC starts sequences)
        s.send(t, "bell\x07 and esc\x1b[31m and ctrl-c\x03 end")
        await s.fake.wait_for(lambda: "bell and esc[31m and ctrl-c end" in s.user_messages_in_rollouts(),
                              timeout=40)
        # a 4,000-character single line (Telegram's limit is 4,096)
        long_line = ("0123456789abcdef" * 250)[:4000]
        s.send(t, long_line)
        await s.fake.wait_for(lambda: long_line in s.user_messages_in_rollouts(), timeout=60)
        await s.wait_text(t, "received a 4000-character prompt", timeout=60)
        assert "Codex exited" not in "\n".join(s.texts(t))
