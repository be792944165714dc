"""Routing integrity end to end (real Codex, real tmux, the bot as a subprocess), under both Codex configs:
every reply reaches only the topic bound to its window, across folders, chats and hostile folder names;
a window is followed by its owner mark, never by its name."""

from __future__ import annotations

import os
from pathlib import Path

import trio

from tests.e2e.stack import Stack, running_stack

HOSTILE = ("#(touch PWNED)", "#{pane_id}", "a;b", "-x")


def replies(s: Stack, topic: int, chat: int | None = None) -> list[str]:
    return [t for t in s.texts(topic, chat) if "you said:" in t]


async def test_topics_in_two_folders_and_in_one_folder_get_only_their_own_replies(
        tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    # Under Codex's defaults the old proof took the shared daemon's newest rollout: the reply to the
    # second topic was posted in the first.
    async with running_stack(tmp_path, codex_bin, config=codex_config) as s:
        topics = {"alpha": (s.new_topic("a"), "work"), "bravo": (s.new_topic("b"), "other"),
                  "charlie": (s.new_topic("c"), "work")}
        for word, (topic, folder) in topics.items():
            await s.start_fresh(topic, f"{word} one", folder=folder)
        for round_ in ("one", "two"):
            for word, (topic, _) in topics.items():
                if round_ == "two":
                    s.send(topic, f"{word} two")
            for word, (topic, _) in topics.items():
                await s.wait_text(topic, f"you said: {word} {round_}", timeout=60)
        for word, (topic, _) in topics.items():
            got = replies(s, topic)
            assert got and all(word in r for r in got), (word, got)
            assert not any("not confirmed" in t for t in s.texts(topic)), s.texts(topic)
        by_cwd = {text: cwd for cwd, text in s.items_in_rollouts("UserMessage")}
        assert Path(by_cwd["bravo two"]).name == "other" and Path(by_cwd["charlie two"]).name == "work"
        assert len(s.rollouts()) == 3


async def test_hostile_folder_names_run_nothing_and_codex_starts_exactly_there(
        tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config, folders=HOSTILE) as s:
        for name in HOSTILE:  # a group each: one group's 20 messages a minute would pace four bindings
            chat = s.fake.create_forum_group(name)
            topic = s.new_topic(name, chat=chat)
            await s.start_fresh(topic, f"hello from {name}", folder=name, chat=chat)
            await s.wait_text(topic, f"you said: hello from {name}", timeout=60, chat=chat)
        paths = s.tmux("list-panes", "-s", "-t", "ccbot", "-F", "#{pane_current_path}").splitlines()
        assert sorted(paths[1:]) == sorted(str((tmp_path / name).resolve()) for name in HOSTILE)
        cwds = {cwd for cwd, _ in s.items_in_rollouts("UserMessage")}
        assert cwds == {str((tmp_path / name).resolve()) for name in HOSTILE}
        for root in (tmp_path, Path(s.env["HOME"]), Path.cwd()):
            assert not list(root.rglob("PWNED")), f"a tmux format ran: {list(root.rglob('PWNED'))}"


async def test_two_chats_with_the_same_last_digits_never_take_each_others_window(
        tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    # Window names were "<folder>-<chat id mod 10000>-<topic>": these two chats, each with its first topic
    # in "work", get windows of one name; after a kill the first topic re-found the other chat's window.
    async with running_stack(tmp_path, codex_bin, config=codex_config, group_id=-1001234567) as s:
        other_chat = s.fake.create_forum_group("Other", chat_id=-1009994567)
        a = s.new_topic("mine")
        b = s.new_topic("theirs", chat=other_chat)
        assert a == b
        await s.start_fresh(a, "alpha one")
        await s.start_fresh(b, "bravo one", chat=other_chat)
        await s.wait_text(a, "you said: alpha one", timeout=60)
        await s.wait_text(b, "you said: bravo one", timeout=60, chat=other_chat)
        names = s.tmux("list-windows", "-t", "ccbot", "-F", "#{window_id} #{window_name}").split("\n")[1:3]
        assert names[0].split()[1] == names[1].split()[1]  # one name, two windows
        first = names[0].split()[0]

        # the bot restarts: each binding re-finds its own window by its owner mark
        await s.restart_bot("bot2")
        s.send(a, "alpha two")
        s.send(b, "bravo two", chat=other_chat)
        await s.wait_text(a, "you said: alpha two", timeout=60)
        await s.wait_text(b, "you said: bravo two", timeout=60, chat=other_chat)

        # the first chat's window is killed by hand: its topic is told, and never follows the namesake
        s.tmux("kill-window", "-t", first)
        await s.wait_text(a, "window was closed", timeout=30)
        s.send(a, "alpha three")
        await s.wait_text(a, "Choose a folder", timeout=30)  # a new binding dialogue, nothing typed
        await trio.sleep(3.0)
        assert "alpha three" not in s.user_messages_in_rollouts()
        s.send(b, "bravo three", chat=other_chat)
        await s.wait_text(b, "you said: bravo three", timeout=60, chat=other_chat)
        assert not any("bravo" in t for t in s.texts(a)), s.texts(a)
        assert not any("alpha" in t for t in s.texts(b, other_chat)), s.texts(b, other_chat)

        # tmux itself restarts: both topics are told, neither adopts a window of the new server by its name
        s.tmux("kill-server")
        await s.wait_text(b, "tmux server stopped", timeout=90, chat=other_chat)
        state = (s.tmp_path / "ccbot" / "state.json")
        assert oct(os.stat(state).st_mode & 0o777) == "0o600"
