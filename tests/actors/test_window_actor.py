"""WindowActor with a fake tmux and a real rollout file (real clock: the actor uses worker threads)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trio

from ccbot.actors import window as window_module
from ccbot.actors.rollout_watch import RolloutWatch
from ccbot.actors.window import Piece, WindowActor, WindowDeps, merge_pieces
from ccbot.messages import Outbound, UserText, WindowCommand
from ccbot.render.messages import Rendered
from ccbot.state.keeper import StateKeeper
from ccbot.state.model import Binding, State
from ccbot.state.store import StateStore
from ccbot.tmux.adapter import PaneState

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "codex-0.169" / "captures"


def user_line(text: str) -> str:
    return json.dumps({"timestamp": "2026-11-23T21:00:00.000Z", "ordinal": 1, "type": "event_msg", "payload": {
        "type": "item_completed", "thread_id": "t", "turn_id": "u",
        "item": {"type": "UserMessage", "id": "x", "content": [{"type": "text", "text": text}]}}}) + "\n"


def agent_line(text: str) -> str:
    return json.dumps({"timestamp": "2026-11-23T21:00:01.000Z", "ordinal": 2, "type": "event_msg", "payload": {
        "type": "item_completed", "thread_id": "t", "turn_id": "u",
        "item": {"type": "AgentMessage", "id": "m", "content": [{"type": "Text", "text": text}]}}}) + "\n"


class FakeTmux:
    """Shows a captured screen; records what is typed; 'Enter' makes Codex record the typed text."""

    def __init__(self, screen: str, rollout: Path) -> None:
        self.screen = screen
        self.rollout = rollout
        self.typed: list[tuple[str, str]] = []
        self.composer = ""

    async def pane_state(self, pane_id: str) -> PaneState:
        await trio.lowlevel.checkpoint()
        return PaneState(cursor_x=0, cursor_y=0, width=120, height=40, in_mode=False, dead=False,
                         dead_status=None, dead_signal=None, pid=999999999, current_command="node")

    async def capture(self, pane_id: str, **_: Any) -> str:
        await trio.lowlevel.checkpoint()
        return self.screen

    async def send_text(self, pane_id: str, text: str) -> None:
        self.typed.append(("text", text))
        self.composer += text

    async def paste_text(self, pane_id: str, text: str) -> None:
        self.typed.append(("paste", text))
        self.composer += text

    async def send_keys(self, pane_id: str, *keys: str) -> None:
        self.typed.append(("keys", " ".join(keys)))
        if "Enter" in keys and self.composer:
            with open(self.rollout, "a") as fh:
                fh.write(user_line(self.composer))
            self.composer = ""

    async def window_exists(self, window_id: str) -> bool:
        return True

    async def list_windows(self) -> list[Any]:
        return []


class FakeSender:
    def __init__(self, recv: trio.MemoryReceiveChannel[Outbound]) -> None:
        self.recv = recv
        self.sent: list[Outbound] = []

    async def run(self) -> None:
        message_id = 100
        async for item in self.recv:
            self.sent.append(item)
            message_id += 1
            item.reply.resolve(type("M", (), {"message_id": message_id})())

    def texts(self) -> list[str]:
        return [str(o.kwargs.get("text", "")) for o in self.sent if o.method == "send_message"]


class QuietPanes:
    """A connected control-mode client whose panes never change: an idle window sleeps until its safety poll."""

    connected = True

    def version(self, pane_id: str) -> int:
        return 0

    async def wait_changed(self, pane_id: str, since_version: int) -> int:
        await trio.sleep_forever()
        raise AssertionError("unreachable")


async def start(tmp_path: Path, screen_name: str, nursery: trio.Nursery, **deps_extra: Any) -> tuple[
        FakeTmux, FakeSender, Binding, trio.MemorySendChannel[WindowCommand], StateKeeper]:
    rollout = tmp_path / "rollout-2026-11-23T21-00-00-01a20a5a-009b-7f71-8ca7-536926fbd324.jsonl"
    rollout.write_text("")
    tmux = FakeTmux((CAPTURES / screen_name).read_text(), rollout)
    binding = Binding(chat_id=-100, topic_id=7, window_id="@1", window_name="w", cwd=str(tmp_path), pane_id="%1",
                      rollout_path=str(rollout), thread_id="01a20a5a-009b-7f71-8ca7-536926fbd324")
    state = State()
    state.bindings[binding.key] = binding
    keeper = StateKeeper(StateStore(tmp_path / "state.json"), state)
    out_send, out_recv = trio.open_memory_channel[Outbound](100)
    sender = FakeSender(out_recv)
    nursery.start_soon(sender.run)

    async def gone(b: Binding, why: str) -> None:
        raise AssertionError(f"unexpected gone: {why}")

    deps = WindowDeps(tmux=tmux, outbox=out_send, keeper=keeper, sessions_dir=tmp_path, poll_interval=0.05,
                      on_gone=gone, **deps_extra)
    inbox_send, inbox_recv = trio.open_memory_channel[WindowCommand](10)
    await nursery.start(WindowActor(binding, deps).run, inbox_recv)
    return tmux, sender, binding, inbox_send, keeper


async def until(predicate: Any, seconds: float = 10.0) -> None:
    with trio.fail_after(seconds):
        while not predicate():
            await trio.sleep(0.02)


async def test_text_is_typed_literally_confirmed_and_output_delivered(tmp_path: Path,
                                                                       nursery: trio.Nursery) -> None:
    tmux, sender, binding, inbox, keeper = await start(tmp_path, "idle.txt", nursery)
    binding.pending_inputs.append({"text": "C-c Enter ; rm", "message_id": 5, "origin": "text"})
    await inbox.send(UserText("C-c Enter ; rm", 5))
    await until(lambda: ("keys", "Enter") in tmux.typed)
    assert tmux.typed[0] == ("text", "C-c Enter ; rm")
    assert binding.pending_inputs == []  # the journal entry is gone once Enter was pressed
    with open(binding.rollout_path or "", "a") as fh:
        fh.write(agent_line("the **answer**"))
    await until(lambda: any("answer" in t for t in sender.texts()))
    assert any("<b>answer</b>" in t for t in sender.texts())
    await until(lambda: StateStore(tmp_path / "state.json").load()[0].bindings[(-100, 7)].rollout_offset > 0)
    saved = StateStore(tmp_path / "state.json").load()[0].bindings[(-100, 7)]
    assert saved.rollout_offset == Path(binding.rollout_path or "").stat().st_size
    assert not any("not confirmed" in t for t in sender.texts())


async def test_multiline_goes_as_one_paste(tmp_path: Path, nursery: trio.Nursery) -> None:
    tmux, _, binding, inbox, _ = await start(tmp_path, "idle.txt", nursery)
    binding.pending_inputs.append({"text": "a\nb", "message_id": 6, "origin": "text"})
    await inbox.send(UserText("a\nb", 6))
    await until(lambda: ("keys", "Enter") in tmux.typed)
    assert tmux.typed[0] == ("paste", "a\nb")


async def test_blocked_by_approval_prompt_types_nothing(tmp_path: Path, nursery: trio.Nursery) -> None:
    tmux, sender, binding, inbox, _ = await start(tmp_path, "approval_prompt.txt", nursery)
    binding.pending_inputs.append({"text": "hello", "message_id": 7, "origin": "text"})
    await inbox.send(UserText("hello", 7))
    await until(lambda: any("Not sent" in t for t in sender.texts()))
    refusal = next(t for t in sender.texts() if "Not sent" in t)
    assert "Would you like to run the following command" in refusal
    assert tmux.typed == []
    assert binding.pending_inputs == []


async def test_journaled_text_is_typed_after_a_restart(tmp_path: Path, nursery: trio.Nursery) -> None:
    # the journal says "handed over, not typed": the new actor types it without any inbox item
    tmux, binding = await _start_with_journal(tmp_path, nursery)
    await until(lambda: ("keys", "Enter") in tmux.typed)
    assert tmux.typed[0] == ("text", "kept across a kill")
    assert binding.pending_inputs == []


async def _start_with_journal(tmp_path: Path, nursery: trio.Nursery) -> tuple[FakeTmux, Binding]:
    rollout = tmp_path / "rollout-2026-11-23T21-00-00-01a20a5a-009b-7f71-8ca7-536926fbd324.jsonl"
    rollout.write_text("")
    tmux = FakeTmux((CAPTURES / "idle.txt").read_text(), rollout)
    binding = Binding(chat_id=-100, topic_id=8, window_id="@2", window_name="w2", cwd=str(tmp_path), pane_id="%2",
                      rollout_path=str(rollout), pending_inputs=[{"text": "kept across a kill", "message_id": 9}])
    state = State()
    state.bindings[binding.key] = binding
    keeper = StateKeeper(StateStore(tmp_path / "state.json"), state)
    out_send, out_recv = trio.open_memory_channel[Outbound](100)
    nursery.start_soon(FakeSender(out_recv).run)

    async def gone(b: Binding, why: str) -> None:
        raise AssertionError(why)

    deps = WindowDeps(tmux=tmux, outbox=out_send, keeper=keeper, sessions_dir=tmp_path, poll_interval=0.05,
                      on_gone=gone)
    _, inbox_recv = trio.open_memory_channel[WindowCommand](10)
    await nursery.start(WindowActor(binding, deps).run, inbox_recv)
    return tmux, binding


async def test_an_idle_window_with_a_still_screen_reads_a_rollout_write_at_once(
        tmp_path: Path, nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(window_module, "TAIL_IDLE_MAX", 30.0)  # the safety poll must not be what finds it
    watch = RolloutWatch(interval=0.05)
    nursery.start_soon(watch.run)
    _, sender, binding, _, _ = await start(tmp_path, "idle.txt", nursery, changes=QuietPanes(), rollouts=watch)
    await trio.sleep(0.5)  # the window is idle now, waiting on its (quiet) screen
    with open(binding.rollout_path or "", "a") as fh:
        fh.write(agent_line("written while the screen stood still"))
    await until(lambda: any("stood still" in t for t in sender.texts()), seconds=2.0)


async def test_without_the_watcher_that_write_waits_for_the_safety_poll(
        tmp_path: Path, nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(window_module, "TAIL_IDLE_MAX", 30.0)
    _, sender, binding, _, _ = await start(tmp_path, "idle.txt", nursery, changes=QuietPanes())
    await trio.sleep(0.5)
    with open(binding.rollout_path or "", "a") as fh:
        fh.write(agent_line("nobody looks"))
    await trio.sleep(2.0)
    assert not any("nobody looks" in t for t in sender.texts())  # the gap the watcher closes


def test_merged_pieces_commit_the_offset_of_their_last_member() -> None:
    def piece(action: str, kind: str | None, end: int) -> Piece:
        rendered = Rendered(kind, f"<i>{kind} {end}</i>", f"{kind} {end}", "turn") if kind else None
        return Piece(action, rendered, end, {"at": end})

    pieces = [piece("send", "tool", 10), piece("send", "tool", 20), piece("status_step", "tool", 30),
              piece("send", "assistant", 40), piece("send", "status", 50), piece("send", "turn_done", 60)]
    merged = merge_pieces(pieces)
    assert [(p.action, p.end, p.snapshot) for p in merged] == [
        ("send", 20, {"at": 20}), ("status_step", 30, {"at": 30}), ("send", 40, {"at": 40}),
        ("send", 60, {"at": 60})]
    assert merged[0].rendered is not None and merged[0].rendered.html == "<i>tool 10</i>\n<i>tool 20</i>"
    assert merged[3].rendered is not None and merged[3].rendered.kind == "turn_done"
