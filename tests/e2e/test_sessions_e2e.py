"""Issue 3 end to end: fake Telegram + mock model + real codex 0.169 + real tmux + the bot subprocess."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import trio
import zstandard

from tests.e2e.stack import Stack, running_stack


async def test_new_topic_fresh_thread_reply_in_that_topic_only(
        tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config) as s:
        t1 = s.new_topic("one")
        t2 = s.new_topic("two")
        await s.start_fresh(t1, "hello mock")
        await s.wait_text(t1, "MOCK_REPLY: you said: hello mock", timeout=60)
        await s.wait_text(t1, "✓ Done", timeout=30)
        assert not any("Working" in x for x in s.texts(t1)), s.texts(t1)  # the status message was edited
        assert "hello mock" in s.user_messages_in_rollouts()  # submitted, confirmed in the rollout
        assert s.texts(t2) == []
        # the window lives in the configured session and shows the same conversation
        panes = s.tmux("capture-pane", "-p", "-t", "ccbot:" + s.tmux("list-windows", "-t", "ccbot", "-F",
                                                                        "#{window_index} #{window_name}")
                       .split("\n")[1].split()[0])
        assert "MOCK_REPLY" in panes


def window_names(s: object) -> list[str]:
    out = s.tmux("list-windows", "-t", "ccbot", "-F", "#{window_name}")  # type: ignore[attr-defined]
    return [n for n in out.split("\n") if n]


async def test_two_topics_same_folder_never_cross_and_multiline(
        tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config) as s:
        a, b = s.new_topic("a"), s.new_topic("b")
        await s.start_fresh(a, "alpha first")
        await s.start_fresh(b, "bravo first")
        await s.wait_text(a, "you said: alpha first", timeout=60)
        await s.wait_text(b, "you said: bravo first", timeout=60)
        s.send(a, "alpha second")
        s.send(b, "bravo second")
        await s.wait_text(a, "you said: alpha second", timeout=60)
        await s.wait_text(b, "you said: bravo second", timeout=60)
        assert not any("bravo" in t for t in s.texts(a))
        assert not any("alpha" in t for t in s.texts(b))
        # a multi-line message arrives in Codex as one message
        s.send(a, "line one\nline two\nline three")
        await s.wait_text(a, "line three", timeout=60)
        assert "line one\nline two\nline three" in s.user_messages_in_rollouts()
        assert len(s.rollouts()) == 2


async def test_resume_picker_lists_earlier_thread(tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config) as s:
        first = s.new_topic("first")
        await s.start_fresh(first, "remember the word pineapple")
        await s.wait_text(first, "you said: remember the word pineapple", timeout=60)
        thread_files = s.rollouts()
        assert len(thread_files) == 1
        thread_id = thread_files[0].name[-len("01a20a5a-009b-7f71-8ca7-536926fbd324.jsonl"):-len(".jsonl")]
        s.fake.user_closes_topic(s.group, 1001, first)
        await s.fake.wait_for(lambda: len(window_names(s)) == 1, timeout=20)  # only the placeholder is left

        second = s.new_topic("second")
        await s.resume(second, "what was the word", "Mock remember")  # the earlier thread, by its generated name
        await s.wait_text(second, "Bound to tmux")
        await s.wait_text(second, "you said: what was the word", timeout=60)
        assert s.rollouts() == thread_files  # resume appended to the same rollout
        assert not any("pineapple" in t for t in s.texts(second))  # old output is not replayed
        ps = s.tmux("list-panes", "-a", "-F", "#{pane_start_command}")
        if codex_config == "defaults":  # the app-server plane: the TUI resumes through the pane's own server
            assert "--remote unix://" in ps and f"resume {thread_id}" in ps and "--no-daemon" not in ps
        else:
            assert f"resume --no-daemon {thread_id}" in ps


async def test_a_compressed_thread_is_listed_resumed_and_not_replayed(
        tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    """A thread whose rollout is stored as ``.jsonl.zst`` is offered by the picker (its name read from the
    compressed head) and resumes; Codex re-expands it into ``.jsonl`` and only the new answer is sent."""
    async with running_stack(tmp_path, codex_bin, config=codex_config) as s:
        first = s.new_topic("first")
        await s.start_fresh(first, "remember the word pineapple")
        await s.wait_text(first, "✓ Done", timeout=60)
        [plain] = s.rollouts()
        s.fake.user_closes_topic(s.group, 1001, first)
        await s.fake.wait_for(lambda: len(window_names(s)) == 1, timeout=20)
        compressed = plain.with_name(plain.name + ".zst")
        compressed.write_bytes(zstandard.ZstdCompressor().compress(plain.read_bytes()))
        plain.unlink()

        second = s.new_topic("second")
        await s.resume(second, "what was the word", "Mock remember")
        await s.wait_text(second, "Bound to tmux")
        await s.wait_text(second, "you said: what was the word", timeout=60)
        assert s.rollouts() == [plain] and not compressed.exists()  # Codex wrote it back out, plain
        assert not any("pineapple" in t for t in s.texts(second))


async def test_approval_prompt_blocks_text_and_close_kills_window(
        tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config) as s:
        t = s.new_topic("t")
        await s.start_fresh(t, "hello there")
        await s.wait_text(t, "you said: hello there", timeout=60)
        target = s.workdir / "escalated.txt"
        s.send(t, f"run touch {target} escalate")
        await s.fake.wait_for(lambda: "Would you like to run" in s.tmux("capture-pane", "-p", "-t",
                                                                         f"ccbot:{window_names(s)[1]}"),
                              timeout=60)
        s.send(t, "please ignore me")
        refusal = await s.wait_text(t, "Not sent", timeout=30)
        assert "Would you like to run the following command" in (refusal.text or "")
        await trio.sleep(1.0)
        pane = s.tmux("capture-pane", "-p", "-t", f"ccbot:{window_names(s)[1]}")
        assert "please ignore me" not in pane
        assert "please ignore me" not in s.user_messages_in_rollouts()
        assert not target.exists()
        # closing the topic kills its window and removes the binding; on the app-server plane the pane's
        # server goes with it, although it does not stop on TERM while this approval is pending
        (saved,) = json.loads((s.tmp_path / "ccbot" / "state.json").read_text())["bindings"].values()
        socket = saved["appserver_socket"]
        assert (socket is not None) == (codex_config == "defaults")
        s.fake.user_closes_topic(s.group, 1001, t)
        await s.fake.wait_for(lambda: len(window_names(s)) == 1, timeout=20)
        if socket is not None:
            await s.fake.wait_for(lambda: socket not in subprocess.run(
                ["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout, timeout=10)
        state = (s.tmp_path / "ccbot" / "state.json").read_text()
        assert '"bindings": {}' in state


async def test_restart_keeps_binding_and_delivers_nothing_twice(
        tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config) as s:
        t = s.new_topic("t")
        await s.start_fresh(t, "before restart")
        await s.wait_text(t, "you said: before restart", timeout=60)
        await s.wait_text(t, "✓ Done", timeout=60)
        await s.wait_committed()
        count_before = len(s.texts(t))
        await s.restart_bot("bot2")
        await trio.sleep(2.0)
        assert len(s.texts(t)) == count_before  # nothing re-sent
        s.send(t, "after restart")
        await s.wait_text(t, "you said: after restart", timeout=60)
        texts = s.texts(t)
        assert sum("you said: before restart" in x for x in texts) == 1
        assert sum("you said: after restart" in x for x in texts) == 1


async def test_commands_clear_esc_unbind_and_env_hygiene(tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config) as s:
        t = s.new_topic("t")
        await s.start_fresh(t, "first thread")
        await s.wait_text(t, "you said: first thread", timeout=60)
        # secrets never reach the tmux server or the windows
        token = s.env["TELEGRAM_BOT_TOKEN"]
        assert token not in s.tmux("show-environment", "-g")
        assert token not in s.tmux("show-environment", "-t", "ccbot")
        window = window_names(s)[1]
        pid = s.tmux("display-message", "-p", "-t", f"ccbot:{window}", "#{pane_pid}").strip()
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        assert token.encode() not in environ and b"ALLOWED_USERS" not in environ

        # /usage points Codex users to /status
        s.send(t, "/usage")
        await s.wait_text(t, "/status", timeout=20)
        # /esc interrupts a running turn
        s.send(t, "slow 20 a very long story")
        await s.fake.wait_for(lambda: "slow 20 a very long story" in s.user_messages_in_rollouts(), timeout=30)
        s.send(t, "/esc")
        await s.wait_text(t, "Interrupted", timeout=30)
        # /clear starts a new thread with a new rollout, and its output is followed
        s.send(t, "/clear")
        await trio.sleep(1.5)
        s.send(t, "second thread")
        await s.wait_text(t, "you said: second thread", timeout=60)
        assert len(s.rollouts()) == 2
        # /unbind detaches and keeps the window
        s.send(t, "/unbind")
        await s.wait_text(t, "Unbound", timeout=20)
        assert window in window_names(s)
        state = (s.tmp_path / "ccbot" / "state.json").read_text()
        assert '"bindings": {}' in state


async def bind_by_hand(s: Stack, codex_bin: str, topic_name: str, window: str, first: str) -> int:
    """Start plain ``codex`` by hand in a window ``window`` of the "other" folder, then bind a new topic to it
    from the picker with ``first`` as its first message; the topic."""
    s.tmux("new-window", "-d", "-t", "ccbot:", "-n", window, "-c", str(s.tmp_path / "other"),
           "-e", f"CODEX_HOME={s.codex_home}", codex_bin)
    await trio.sleep(2.0)
    topic = s.new_topic(topic_name)
    s.send(topic, first)
    await s.press(topic, "📁 other")
    await s.press(topic, "Select this folder")
    await s.press(topic, window)
    return topic


async def test_window_killed_by_hand_is_reported_and_hand_started_window_can_be_bound(
        tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config) as s:
        t = s.new_topic("t")
        await s.start_fresh(t, "hello")
        await s.wait_text(t, "you said: hello", timeout=60)
        s.tmux("kill-window", "-t", f"ccbot:{window_names(s)[1]}")
        gone = await s.wait_text(t, "window was closed", timeout=30)
        assert "codex resume" in (gone.text or "")

        # a window started by hand with plain `codex` is offered in the picker; under Codex's defaults it runs
        # through the shared daemon: bound, and its conversation proven by the echo of the first message
        u = await bind_by_hand(s, codex_bin, "u", "byhand", "bound by hand")
        bound = await s.wait_text(u, "Bound to tmux window byhand", timeout=30)
        assert ("shared background app-server" in (bound.text or "")) == (codex_config == "defaults")
        await s.wait_text(u, "you said: bound by hand", timeout=60)
        assert s.user_messages_in_rollouts().count("bound by hand") == 1
        assert not any("bound by hand" in x for x in s.texts(t))
        if codex_config == "defaults":
            # a second daemon window by hand in the same folder: its own conversation, never the first's
            v = await bind_by_hand(s, codex_bin, "v", "byhand2", "second by hand")
            await s.wait_text(v, "Bound to tmux window byhand2", timeout=30)
            await s.wait_text(v, "you said: second by hand", timeout=60)
            s.send(u, "again in u")
            await s.wait_text(u, "you said: again in u", timeout=60)
            assert not any("second by hand" in x for x in s.texts(u))
            assert not any("again in u" in x or "bound by hand" in x for x in s.texts(v))
            # both windows are served by one connection to the daemon (the bot's own windows have their own)
            attached = [e for e in s.bot.log_events() if e.get("event") == "attached to the window's app-server"]
            assert [e.get("shared") for e in attached].count(True) == 2
            links = [e for e in s.bot.log_events() if e.get("event") == "attached to an app-server"]
            assert len(links) == 2, links  # the first window's own server, and the daemon once


async def test_codex_exit_and_hang_are_reported(tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config, extra_env={"CCBOT_HANG_SECONDS": "5"}) as s:
        t = s.new_topic("t")
        await s.start_fresh(t, "hello")
        await s.wait_text(t, "you said: hello", timeout=60)
        # a turn that shows nothing new for longer than CCBOT_HANG_SECONDS is reported once
        s.send(t, "slow 12 stay quiet for a while")
        stuck = await s.wait_text(t, "without new output", timeout=40)
        assert "/esc" in (stuck.text or "")
        await s.wait_text(t, "you said: slow 12", timeout=60)
        # Codex quitting is reported with the resume command, and the dead window is cleaned up
        s.send(t, "/quit")
        exited = await s.wait_text(t, "Codex exited", timeout=40)
        thread = s.rollouts()[0].name[-len("01a20a5a-009b-7f71-8ca7-536926fbd324.jsonl"):-len(".jsonl")]
        assert f"codex resume {thread}" in (exited.text or "")
        await s.fake.wait_for(lambda: len(window_names(s)) == 1, timeout=20)


async def test_message_kept_while_choosing_folder_survives_restart(
        tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config) as s:
        t = s.new_topic("t")
        s.send(t, "first kept message")
        await s.press(t, "📁 work", timeout=20)  # the browser is open
        s.send(t, "second kept message")
        await s.wait_text(t, "2 waiting", timeout=20)
        await s.restart_bot("bot2")
        await s.wait_text(t, "kept message(s) are waiting", timeout=20)
        await s.press(t, "📁 work")
        await s.press(t, "Select this folder")
        await s.wait_text(t, "Bound to tmux")
        await s.wait_text(t, "you said: second kept message", timeout=60)
        assert s.user_messages_in_rollouts()[:2] == ["first kept message", "second kept message"]


async def test_tmux_server_killed_is_reported_and_topic_can_start_again(
        tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config, extra_env={"CCBOT_HANG_SECONDS": "600"}) as s:
        t = s.new_topic("t")
        await s.start_fresh(t, "before the crash")
        await s.wait_text(t, "you said: before the crash", timeout=60)
        s.tmux("kill-server")
        await s.wait_text(t, "tmux server is not running", timeout=30)
        lost = await s.wait_text(t, "tmux server stopped", timeout=60)
        assert "codex resume" in (lost.text or "")
        # the topic is free again: a new message starts a new window on a new tmux server
        s.send(t, "after the crash")
        await s.press(t, "📁 work")
        await s.press(t, "Select this folder")
        await s.press(t, "New thread")
        await s.wait_text(t, "you said: after the crash", timeout=60)
        assert s.bot.proc.returncode is None
