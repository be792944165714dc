"""Two ccbot instances share one forum group without crosstalk (``CCBOT_CLAIM=addressed``).

One fake Telegram server serves two bots (two tokens) in the same group; each bot is its own
``python -m ccbot`` process with its own ``CCBOT_DIR`` and tmux socket (same ``CODEX_HOME``), running
real codex 0.169 in real tmux against the mock model.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import trio

from tests.e2e.harness import TOKEN, BotProcess, kill_tmux_server, start_bot
from tests.e2e.stack import Stack, running_stack

A_ID = int(TOKEN.split(":")[0])
B_TOKEN = "7200300400:AAH-e2eSecondBotTokenValue_abc456"
B_NAME = "bravo_bot"


def tmux_windows(env: dict[str, str]) -> list[str]:
    """Window names on a bot's tmux server (every session)."""
    argv = ["tmux", "-L", env["CCBOT_TMUX_SOCKET"], "list-windows", "-a", "-F", "#{window_name}"]
    out = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
    return [n for n in out.split("\n") if n]


def tmux_text(env: dict[str, str]) -> str:
    """Every pane's visible text on a bot's tmux server."""
    sock = ["tmux", "-L", env["CCBOT_TMUX_SOCKET"]]
    panes = subprocess.run([*sock, "list-panes", "-a", "-F", "#{pane_id}"], capture_output=True, text=True,
                           check=False).stdout.split()
    return "\n".join(subprocess.run([*sock, "capture-pane", "-p", "-t", p], capture_output=True, text=True,
                                    check=False).stdout for p in panes)


def bound_topics(env: dict[str, str]) -> list[int]:
    state = json.loads((Path(env["CCBOT_DIR"]) / "state.json").read_text())
    return sorted(int(b["topic_id"]) for b in state["bindings"].values())


def user_messages_by_cwd(s: Stack) -> dict[str, list[str]]:
    """The user messages each Codex thread received, keyed by the thread's working directory."""
    out: dict[str, list[str]] = {}
    for cwd, text in s.items_in_rollouts("UserMessage"):
        out.setdefault(cwd, []).append(text)
    return out


def calls_in_topic(s: Stack, bot_id: int, topic: int) -> list[str]:
    """Methods ``bot_id`` called for ``topic`` (sends carry message_thread_id; edits name a message there)."""
    in_topic = {str(m.message_id) for m in s.fake.messages(s.group, topic)}
    found = []
    for c in s.fake.calls:
        if c.bot_id != bot_id or str(c.params.get("chat_id")) != str(s.group):
            continue
        thread, message = str(c.params.get("message_thread_id")), str(c.params.get("message_id"))
        if thread == str(topic) or message in in_topic:
            found.append(c.method)
    return found


async def start_second_bot(s: Stack) -> tuple[BotProcess, dict[str, str], int]:
    """Register bot B with the fake (an admin of the group), start its own ccbot process; returns its id."""
    b_id = s.fake.add_bot(B_TOKEN, B_NAME, "Bravo")
    s.fake.add_bot_to_chat(s.group, b_id, is_admin=True)
    env = {**s.env, "TELEGRAM_BOT_TOKEN": B_TOKEN, "CCBOT_DIR": str(s.tmp_path / "ccbot-b"),
           "CCBOT_TMUX_SOCKET": s.env["CCBOT_TMUX_SOCKET"] + "-b"}
    return await start_bot(s.tmp_path, env, name="bot-b"), env, b_id


async def test_two_bots_share_a_forum_without_crosstalk(tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config, extra_env={"CCBOT_CLAIM": "addressed"}) as s:
        fake, a_name = s.fake, s.fake.bot.username
        bot_b, env_b, b_id = await start_second_bot(s)
        try:
            await bot_b.wait_log(lambda e: e.get("event") == "ready", timeout=30)
            await fake.wait_for(lambda: fake.polls_waiting + fake.bot_account(b_id).polls_waiting == 2,
                                timeout=15)
            t1, t2 = s.new_topic("alpha"), s.new_topic("bravo")

            # A plain message in a new topic: neither bot reacts. /new@A right after it is the marker: A
            # handles updates in order, so its browser must come after the /new, not after the plain text.
            s.send(t1, "anyone there?")
            await s.start_fresh(t1, f"/new@{a_name}", folder="work")
            new_a = next(m for m in fake.messages(s.group, t1) if m.text == f"/new@{a_name}")
            first_a = fake.bot_messages(s.group, t1)[0]
            assert first_a.sender_id == A_ID and first_a.message_id > new_a.message_id
            first_text = first_a.history[0].text if first_a.history else first_a.text
            assert "no Codex session" in (first_text or "")  # it was the folder browser (edited since)

            # /new@B in topic 2 binds B there (its own folder, its own tmux server).
            await s.start_fresh(t2, f"/new@{B_NAME}", folder="other")
            assert {m.sender_id for m in fake.bot_messages(s.group, t2)} == {b_id}
            assert {m.sender_id for m in fake.bot_messages(s.group, t1)} == {A_ID}

            # Text in each topic reaches only its own bot's Codex, and the reply comes from that bot.
            s.send(t1, "alpha words")
            s.send(t2, "bravo words")
            reply_a = await s.wait_text(t1, "you said: alpha words", timeout=60)
            reply_b = await s.wait_text(t2, "you said: bravo words", timeout=60)
            assert (reply_a.sender_id, reply_b.sender_id) == (A_ID, b_id)
            by_cwd = user_messages_by_cwd(s)
            assert by_cwd == {str(s.workdir): ["alpha words"], str(tmp_path / "other"): ["bravo words"]}
            assert "alpha words" in tmux_text(s.env) and "alpha words" not in tmux_text(env_b)
            assert "bravo words" in tmux_text(env_b) and "bravo words" not in tmux_text(s.env)

            # /esc and more text in topic 1: B types nothing (it has no window for topic 1) and sends nothing.
            s.send(t1, "/esc")
            s.send(t1, "alpha again")
            await s.wait_text(t1, "you said: alpha again", timeout=60)
            s.send(t2, "bravo again")  # B handles updates in order: its answer means it saw topic 1's too
            await s.wait_text(t2, "you said: bravo again", timeout=60)
            assert bound_topics(s.env) == [t1] and bound_topics(env_b) == [t2]
            assert not any(name.endswith(f"-{t1}") for name in tmux_windows(env_b))
            assert not any(name.endswith(f"-{t2}") for name in tmux_windows(s.env))
            assert calls_in_topic(s, b_id, t1) == [] and calls_in_topic(s, A_ID, t2) == []
            assert {"sendMessage", "editMessageText"} <= set(calls_in_topic(s, A_ID, t1))  # sees calls
            assert "alpha again" not in tmux_text(env_b)
            assert user_messages_by_cwd(s)[str(tmp_path / "other")] == ["bravo words", "bravo again"]
            assert fake.internal_errors == []
        finally:
            bot_b.kill()
            with trio.move_on_after(10):
                await bot_b.proc.wait()
            kill_tmux_server(env_b)
