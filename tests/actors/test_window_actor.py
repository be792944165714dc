"""WindowActor with a fake tmux and a real rollout file (real clock: the actor uses worker threads)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from ccbot.actors import window as window_module
from ccbot.actors.rollout_watch import RolloutWatch
from ccbot.actors.window import Piece, WindowActor, WindowDeps, hand_text, merge_pieces
from ccbot.actors.window import inputs as window_inputs
from ccbot.actors.window import pieces as window_pieces
from ccbot.actors.window import rollout as window_rollout
from ccbot.features.ports import Queued, WindowPort
from ccbot.messages import (
    FeatureRequest,
    NotPressed,
    Outbound,
    Pressed,
    PressForScreen,
    PressKeys,
    UserText,
    WindowCommand,
)
from ccbot.render.messages import Rendered
from ccbot.screen.parse import ScreenModel
from ccbot.state.keeper import StateKeeper
from ccbot.state.model import Binding, PendingInput, State
from ccbot.state.store import StateStore
from ccbot.tmux.adapter import TmuxError
from tests.actors.fake_tmux import FakeTmux
from tests.conftest import DATA

CAPTURES = DATA / "codex-0.169" / "captures"


def agent_line(text: str) -> str:
    return json.dumps({"timestamp": "2026-11-23T21:00:01.000Z", "ordinal": 2, "type": "event_msg", "payload": {
        "type": "item_completed", "thread_id": "t", "turn_id": "u",
        "item": {"type": "AgentMessage", "id": "m", "content": [{"type": "Text", "text": text}]}}}) + "\n"


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


def hand(binding: Binding, inbox: trio.MemorySendChannel[WindowCommand], item: UserText) -> None:
    """Queue ``item`` as Topics does: journaled and handed over by ``hand_text``."""
    assert hand_text(binding, inbox, item) is Queued.OK


async def until(predicate: Any, seconds: float = 10.0) -> None:
    with trio.fail_after(seconds):
        while not predicate():
            await trio.sleep(0.02)


async def test_text_is_typed_literally_confirmed_and_output_delivered(tmp_path: Path,
                                                                       nursery: trio.Nursery) -> None:
    tmux, sender, binding, inbox, _ = await start(tmp_path, "idle.txt", nursery)
    hand(binding, inbox, UserText("C-c Enter ; rm", 5))
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
    hand(binding, inbox, UserText("a\nb", 6))
    await until(lambda: ("keys", "Enter") in tmux.typed)
    assert tmux.typed[0] == ("paste", "a\nb")


async def test_long_single_line_goes_as_one_paste(tmp_path: Path, nursery: trio.Nursery) -> None:
    # typed key by key, Codex's paste-burst detection swallows the Enter after long text
    long_line = "x" * (window_inputs.PASTE_OVER + 1)
    tmux, _, binding, inbox, _ = await start(tmp_path, "idle.txt", nursery)
    for n, text in enumerate(("y" * window_inputs.PASTE_OVER, long_line)):
        hand(binding, inbox, UserText(text, 10 + n))
    await until(lambda: tmux.typed.count(("keys", "Enter")) == 2)
    assert [kind for kind, _ in tmux.typed] == ["text", "keys", "paste", "keys"]


async def test_blocked_by_approval_prompt_types_nothing(tmp_path: Path, nursery: trio.Nursery) -> None:
    tmux, sender, binding, inbox, _ = await start(tmp_path, "approval_prompt.txt", nursery)
    hand(binding, inbox, UserText("hello", 7))
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
                      rollout_path=str(rollout), pending_inputs=[PendingInput("kept across a kill", 9)])
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
    monkeypatch.setattr(window_rollout, "TAIL_IDLE_MAX", 30.0)  # the safety poll must not be what finds it
    watch = RolloutWatch(interval=0.05)
    nursery.start_soon(watch.run)
    _, sender, binding, _, _ = await start(tmp_path, "idle.txt", nursery, changes=QuietPanes(), rollouts=watch)
    await trio.sleep(0.5)  # the window is idle now, waiting on its (quiet) screen
    with open(binding.rollout_path or "", "a") as fh:
        fh.write(agent_line("written while the screen stood still"))
    await until(lambda: any("stood still" in t for t in sender.texts()), seconds=2.0)


async def test_without_the_watcher_that_write_waits_for_the_safety_poll(
        tmp_path: Path, nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(window_rollout, "TAIL_IDLE_MAX", 30.0)
    _, sender, binding, _, _ = await start(tmp_path, "idle.txt", nursery, changes=QuietPanes())
    await trio.sleep(0.5)
    with open(binding.rollout_path or "", "a") as fh:
        fh.write(agent_line("nobody looks"))
    await trio.sleep(2.0)
    assert not any("nobody looks" in t for t in sender.texts())  # the gap the watcher closes


def test_merged_pieces_commit_the_offset_of_their_last_member() -> None:
    def piece(action: str, kind: str | None, end: int) -> Piece:
        rendered = Rendered(kind, f"<i>{kind} {end}</i>", f"{kind} {end}", "turn") if kind else None
        return Piece(action, rendered, window_pieces.Mark(end, {"at": end}, f"ts{end}"))

    pieces = [piece("send", "tool", 10), piece("send", "tool", 20), piece("status_step", "tool", 30),
              piece("send", "assistant", 40), piece("send", "status", 50), piece("send", "turn_done", 60)]
    merged = merge_pieces(pieces)
    assert [(p.action, p.mark.end, p.mark.snapshot, p.mark.ts) for p in merged] == [
        ("send", 20, {"at": 20}, "ts20"), ("status_step", 30, {"at": 30}, "ts30"), ("send", 40, {"at": 40}, "ts40"),
        ("send", 60, {"at": 60}, "ts60")]
    assert merged[0].rendered is not None and merged[0].rendered.html == "<i>tool 10</i>\n<i>tool 20</i>"
    assert merged[3].rendered is not None and merged[3].rendered.kind == "turn_done"


# -- text kept behind a startup screen ------------------------------------------------------------------

TRUST = (CAPTURES / "trust.txt").read_text()
AFTER_TRUST = (CAPTURES / "after_trust.txt").read_text()


class Held:
    """One window actor on a fake tmux, restartable with the same binding and journal (a new process)."""

    def __init__(self, tmp_path: Path, nursery: trio.Nursery, screen: str,
                 pending: list[PendingInput] | None = None) -> None:
        rollout = tmp_path / "rollout-2026-11-23T21-00-00-01a20a5a-009b-7f71-8ca7-536926fbd324.jsonl"
        rollout.write_text("")
        self.nursery = nursery
        self.tmux = FakeTmux(screen, rollout)
        self.binding = Binding(chat_id=-100, topic_id=7, window_id="@1", window_name="w", cwd=str(tmp_path),
                               pane_id="%1", rollout_path=str(rollout),
                               thread_id="01a20a5a-009b-7f71-8ca7-536926fbd324", pending_inputs=pending or [])
        state = State()
        state.bindings[self.binding.key] = self.binding
        self.keeper = StateKeeper(StateStore(tmp_path / "state.json"), state)
        out_send, out_recv = trio.open_memory_channel[Outbound](100)
        self.sender = FakeSender(out_recv)
        nursery.start_soon(self.sender.run)
        self.gone: list[str] = []
        self.hooks = window_module.WindowHooks()

        async def on_gone(b: Binding, why: str) -> None:
            self.gone.append(why)

        self.deps = WindowDeps(tmux=self.tmux, outbox=out_send, keeper=self.keeper,
                               sessions_dir=tmp_path, poll_interval=0.05, on_gone=on_gone, hooks=self.hooks)
        self.scope = trio.CancelScope()
        self.inbox: trio.MemorySendChannel[WindowCommand] | None = None

    async def start(self) -> None:
        """Start a window actor (again, as after a restart of the bot) on the binding and its journal."""
        self.scope.cancel()
        self.scope = trio.CancelScope()
        self.inbox, inbox_recv = trio.open_memory_channel[WindowCommand](10)
        scope = self.scope

        async def run(task_status: trio.TaskStatus[None]) -> None:
            with scope:
                await WindowActor(self.binding, self.deps).run(inbox_recv, task_status=task_status)

        await self.nursery.start(run)

    async def send(self, text: str, message_id: int) -> None:
        """What the router does: journal the text and queue it (``hand_text``)."""
        assert self.inbox is not None
        hand(self.binding, self.inbox, UserText(text, message_id))

    def typed_texts(self) -> list[str]:
        return [text for kind, text in self.tmux.typed if kind in ("text", "paste")]

    def notices(self) -> list[str]:
        return [t for t in self.sender.texts() if t.startswith("📥")]

    def refusals(self) -> list[str]:
        return [t for t in self.sender.texts() if t.startswith("⛔")]


async def test_text_on_the_trust_screen_is_typed_after_it_in_order_once(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    w = Held(tmp_path, nursery, TRUST)
    await w.start()
    await w.send("first", 1)
    await until(lambda: w.notices())
    await w.send("second", 2)
    await trio.sleep(2.0)
    assert w.tmux.typed == []  # never typed while the screen is up
    assert len(w.notices()) == 1  # once per screen, not per message
    assert "Trust this folder?" in w.notices()[0] and "kept" in w.notices()[0]
    assert not w.refusals()
    assert [(e.text, e.held) for e in w.binding.pending_inputs] == [("first", True), ("second", True)]
    saved = StateStore(tmp_path / "state.json").load()[0].bindings[w.binding.key]
    assert [e.text for e in saved.pending_inputs] == ["first", "second"]  # survives a kill

    w.tmux.screen = AFTER_TRUST  # the user answered the screen
    await until(lambda: w.typed_texts() == ["first"])
    await w.send("third", 3)  # Codex is ready, but "second" is still kept: "third" must not overtake it
    await until(lambda: len(w.typed_texts()) == 3 and w.binding.pending_inputs == [])
    assert w.tmux.typed == [("text", "first"), ("keys", "Enter"), ("text", "second"), ("keys", "Enter"),
                            ("text", "third"), ("keys", "Enter")]
    await trio.sleep(2.0)
    assert w.typed_texts() == ["first", "second", "third"]  # exactly once each
    assert not w.refusals() and len(w.notices()) == 1
    assert not any("not confirmed" in t for t in w.sender.texts())


async def test_esc_is_handled_while_text_is_kept_and_a_declined_screen_reports_it(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    w = Held(tmp_path, nursery, TRUST)
    await w.start()
    await w.send("kept while I decide", 1)
    await until(lambda: w.notices())
    assert w.inbox is not None
    await w.inbox.send(PressKeys(("Escape",)))
    await until(lambda: ("keys", "Escape") in w.tmux.typed, seconds=2.0)  # the inbox is not blocked
    assert w.typed_texts() == []
    # Esc on the trust screen declines it: Codex opens its Agent command center and takes no input.
    w.tmux.screen = (CAPTURES / "agent_center.txt").read_text()
    await until(lambda: w.refusals())
    assert w.refusals() == ["⛔ Not sent: Agent command center. Nothing was typed for “kept while I decide”."]
    assert w.binding.pending_inputs == []
    await w.send("later", 2)  # not a startup screen: refused at once, as today
    await until(lambda: len(w.refusals()) == 2)
    assert w.refusals()[1] == "⛔ Not sent: Agent command center. Nothing was typed."
    assert w.typed_texts() == [] and len(w.notices()) == 1


async def test_an_approval_mid_turn_still_refuses_text(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    w = Held(tmp_path, nursery, (CAPTURES / "idle.txt").read_text())
    await w.start()
    await trio.sleep(0.5)
    w.tmux.screen = (CAPTURES / "approval_prompt.txt").read_text()
    await trio.sleep(0.5)
    await w.send("hello", 1)
    await until(lambda: w.refusals())
    assert "Would you like to run the following command?" in w.refusals()[0]
    assert w.binding.pending_inputs == []
    w.tmux.screen = (CAPTURES / "after_approval.txt").read_text()
    await trio.sleep(2.0)
    assert w.tmux.typed == [] and w.notices() == []  # refused, not kept


async def test_codex_exiting_on_the_screen_reports_the_kept_text(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    w = Held(tmp_path, nursery, TRUST)
    await w.start()
    long_text = "please look at the failing test in tests/unit and tell me why it fails " * 3
    await w.send(long_text, 1)
    await w.send("second", 2)
    await until(lambda: w.notices())
    w.tmux.screen = (CAPTURES / "exited_from_agent_center.txt").read_text()
    await until(lambda: w.gone == ["exited"])
    (refusal,) = w.refusals()
    assert refusal.startswith("⛔ Not sent: Codex exited. Nothing was typed for “please look at the failing")
    assert "…”, “second”." in refusal and len(refusal) < 200  # quoted briefly
    assert w.typed_texts() == [] and w.binding.pending_inputs == []


async def test_the_window_going_away_reports_the_kept_text(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    w = Held(tmp_path, nursery, TRUST)
    await w.start()
    await w.send("kept", 1)
    await until(lambda: w.notices())

    async def no_window(pane_id: str, **_: Any) -> str:
        raise TmuxError("can't find pane: %1")

    w.tmux.capture = no_window  # type: ignore[method-assign]
    await until(lambda: w.gone == ["window"] and w.refusals())
    assert w.refusals() == ["⛔ Not sent: the window went away. Nothing was typed for “kept”."]


async def test_a_restart_keeps_the_kept_text_and_types_it_once(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    w = Held(tmp_path, nursery, TRUST)
    await w.start()
    await w.send("across a restart", 1)
    await until(lambda: w.notices())
    stored = StateStore(tmp_path / "state.json").load()[0].bindings[w.binding.key].pending_inputs
    assert [e.to_json() for e in stored] == [{"text": "across a restart", "message_id": 1, "origin": "text",
                                              "held": True, "told": "Trust this folder?"}]

    w.binding.pending_inputs = stored  # the new process reads its journal from the state file
    await w.start()  # the old actor is cancelled (shutdown): nothing reported, the journal keeps the text
    assert w.inbox is not None
    await w.inbox.send(UserText("across a restart", 1))  # an inbox copy of a journaled text is no second one
    await trio.sleep(2.0)
    assert w.tmux.typed == [] and not w.refusals()
    assert len(w.notices()) == 1  # the screen was announced before the restart
    w.tmux.screen = AFTER_TRUST
    await until(lambda: w.binding.pending_inputs == [] and w.typed_texts())
    await trio.sleep(2.0)
    assert w.typed_texts() == ["across a restart"]


async def test_a_features_text_is_kept_and_journaled_too(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    w = Held(tmp_path, nursery, TRUST)

    @dataclass(frozen=True, slots=True)
    class Voice(FeatureRequest):
        text: str

    async def voice(window: WindowPort, request: Voice) -> None:
        await window.deliver_text(UserText(request.text, 4, origin="voice"))

    w.hooks.on_request(Voice, voice)
    await w.start()
    assert w.inbox is not None
    await w.inbox.send(Voice("transcribed words"))
    await until(lambda: w.notices())
    assert w.binding.pending_inputs == [PendingInput("transcribed words", 4, "voice", held=True,
                                                     told="Trust this folder?")]
    w.tmux.screen = AFTER_TRUST
    await until(lambda: w.binding.pending_inputs == [] and w.typed_texts() == ["transcribed words"])


async def test_a_second_startup_screen_keeps_the_text_and_is_told_once(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    w = Held(tmp_path, nursery, TRUST)
    await w.start()
    await w.send("after both screens", 1)
    await until(lambda: w.notices())
    w.tmux.screen = (CAPTURES / "hooks_review.txt").read_text()  # trusted; now the hooks want a review
    await until(lambda: len(w.notices()) == 2)
    assert "Hooks need review" in w.notices()[1]
    w.tmux.screen = (CAPTURES / "hooks_list.txt").read_text()  # "Review hooks": still not taking input
    await trio.sleep(2.0)
    assert w.tmux.typed == [] and not w.refusals() and len(w.notices()) == 2
    w.tmux.screen = (CAPTURES / "after_hooks_review.txt").read_text()
    await until(lambda: w.typed_texts() == ["after both screens"] and w.binding.pending_inputs == [])


RECORDED = DATA / "rollouts" / "codex-0.169-main.jsonl"


def first_turn() -> tuple[list[str], list[str]]:
    """The recorded 0.169 rollout's first plain turn, split after its answer: (up to the answer, the rest up
    to ``task_complete``); Codex wrote the rest ~7 ms after the answer."""
    lines = RECORDED.read_text().splitlines(keepends=True)
    answer = next(i for i, x in enumerate(lines) if '"AgentMessage"' in x)
    done = next(i for i, x in enumerate(lines) if '"task_complete"' in x)
    return lines[:answer + 1], lines[answer + 1:done + 1]


@pytest.mark.parametrize("gap", [0.0, 0.01])
async def test_a_plain_turn_costs_one_message_carrying_its_end_line(
        tmp_path: Path, nursery: trio.Nursery, gap: float) -> None:
    _, sender, binding, _, _ = await start(tmp_path, "idle.txt", nursery)
    head, rest = first_turn()
    with open(binding.rollout_path or "", "a") as fh:
        fh.writelines(head)
        fh.flush()
        await trio.sleep(gap)
        fh.writelines(rest)
    await until(lambda: any("✓ Done" in t for t in sender.texts()))
    await trio.sleep(0.3)
    assert [o.method for o in sender.sent if o.method != "send_chat_action"] == ["send_message"]
    (text,) = sender.texts()
    answer, _, end_line = text.partition("\n\n")
    assert "MOCK_REPLY" in answer and end_line.startswith("<i>✓ Done")
    await until(lambda: binding.rollout_offset == Path(binding.rollout_path or "").stat().st_size)
    assert binding.turn_answer_id is None  # the turn is over: a restart redoes nothing


async def test_an_end_line_written_later_is_edited_in_under_the_answer(
        tmp_path: Path, nursery: trio.Nursery) -> None:
    _, sender, binding, _, _ = await start(tmp_path, "idle.txt", nursery)
    head, rest = first_turn()
    with open(binding.rollout_path or "", "a") as fh:
        fh.writelines(head)
    await until(lambda: sender.texts() != [])
    await trio.sleep(window_rollout.ANSWER_LINGER * 4)
    with open(binding.rollout_path or "", "a") as fh:
        fh.writelines(rest)
    await until(lambda: any(o.method == "edit_message_text" for o in sender.sent))
    (answer,) = sender.texts()
    (edit,) = [o for o in sender.sent if o.method == "edit_message_text"]
    assert "✓ Done" not in answer
    assert edit.kwargs["text"].startswith(answer + "\n\n<i>✓ Done")
    (sent,) = [o for o in sender.sent if o.method == "send_message"]
    assert edit.kwargs["message_id"] == 101 + sender.sent.index(sent)  # FakeSender numbers every item


async def test_an_answer_too_long_to_carry_its_end_line_is_sent_once_and_the_line_after_it(
        tmp_path: Path, nursery: trio.Nursery) -> None:
    _, sender, binding, _, _ = await start(tmp_path, "idle.txt", nursery)
    head, rest = first_turn()
    answer = json.loads(head[-1])
    long_text = "x" * 4090  # one part that leaves no room for the end line
    answer["payload"]["item"]["content"] = [{"type": "Text", "text": long_text}]
    with open(binding.rollout_path or "", "a") as fh:
        fh.writelines([*head[:-1], json.dumps(answer) + "\n", *rest])
    await until(lambda: any("✓ Done" in t for t in sender.texts()))
    await trio.sleep(0.3)
    texts = sender.texts()
    assert [t for t in texts if long_text in t] == [long_text]  # sent once, without the line
    assert len(texts) == 2 and texts[1].startswith("✓ Done")


# -- a rollout rewritten under the bot --------------------------------------------------------------------

OLD_ROLLOUT = RECORDED.parent / "codex-old-basic.jsonl"
# what `codex migrate-rollouts --apply` (0.169) made of it: a new file (new inode), ordinals added, old
# message lines converted, exec begin/end lines dropped; content lines keep their timestamps
MIGRATED = RECORDED.parent / "codex-old-basic.migrated-0.169.jsonl"


def rewrite(path: Path, source: Path) -> None:
    """Replace ``path`` by a new file with ``source``'s lines, the way the migration does (new inode)."""
    fresh = path.with_suffix(".new")
    fresh.write_bytes(source.read_bytes())
    os.replace(fresh, path)


def later_answer(text: str) -> str:
    return agent_line(text).replace("2026-11-23T21:00:01.000Z", "2026-11-23T22:00:00.000Z")


async def old_rollout_delivered(tmp_path: Path, nursery: trio.Nursery) -> tuple[FakeSender, Binding, Path,
                                                                                 list[str]]:
    """A window actor that has delivered all of ``OLD_ROLLOUT``: its sender, binding, rollout and the texts."""
    _, sender, binding, _, _ = await start(tmp_path, "idle.txt", nursery)
    rollout = Path(binding.rollout_path or "")
    rollout.write_bytes(OLD_ROLLOUT.read_bytes())
    await until(lambda: binding.rollout_offset == rollout.stat().st_size)
    await trio.sleep(0.3)
    delivered = list(sender.texts())
    assert delivered
    return sender, binding, rollout, delivered


async def test_a_rollout_rewritten_in_place_is_read_again_without_resending(
        tmp_path: Path, nursery: trio.Nursery) -> None:
    sender, binding, rollout, delivered = await old_rollout_delivered(tmp_path, nursery)
    rewrite(rollout, MIGRATED)
    await until(lambda: binding.rollout_offset == rollout.stat().st_size and binding.rollout_inode ==
                rollout.stat().st_ino)
    await trio.sleep(0.3)
    assert sender.texts() == delivered  # nothing sent twice
    with open(rollout, "a") as fh:
        fh.write(later_answer("written after the migration"))
    await until(lambda: any("written after the migration" in t for t in sender.texts()))
    assert sender.texts()[:len(delivered)] == delivered and len(sender.texts()) == len(delivered) + 1


async def run_actor_until(binding: Binding, keeper: StateKeeper, tmp_path: Path, done: Any) -> FakeSender:
    """Run a window actor for ``binding`` until ``done(sender)`` holds, then stop it (a bot stopping)."""
    rollout = Path(binding.rollout_path or "")
    async with trio.open_nursery() as inner:
        out_send, out_recv = trio.open_memory_channel[Outbound](100)
        sender = FakeSender(out_recv)
        inner.start_soon(sender.run)
        deps = WindowDeps(tmux=FakeTmux((CAPTURES / "idle.txt").read_text(), rollout), outbox=out_send,
                          keeper=keeper, sessions_dir=tmp_path, poll_interval=0.05, on_gone=_never_gone)
        _, inbox_recv = trio.open_memory_channel[WindowCommand](10)
        await inner.start(WindowActor(binding, deps).run, inbox_recv)
        await until(lambda: done(sender))
        await trio.sleep(0.3)  # anything more it would send, it sends now
        inner.cancel_scope.cancel()
    return sender


async def test_a_rollout_rewritten_while_the_bot_was_down_is_noticed_at_restart(tmp_path: Path) -> None:
    rollout = tmp_path / "rollout-2026-11-23T21-00-00-01a20a5a-009b-7f71-8ca7-536926fbd324.jsonl"
    rollout.write_bytes(OLD_ROLLOUT.read_bytes())
    binding = Binding(chat_id=-100, topic_id=7, window_id="@1", window_name="w", cwd=str(tmp_path), pane_id="%1",
                      rollout_path=str(rollout), thread_id="01a20a5a-009b-7f71-8ca7-536926fbd324")
    state = State()
    state.bindings[binding.key] = binding
    keeper = StateKeeper(StateStore(tmp_path / "state.json"), state)
    first = await run_actor_until(binding, keeper, tmp_path, lambda _: binding.rollout_offset == rollout.stat().st_size)
    assert first.texts()
    saved = StateStore(tmp_path / "state.json").load()[0].bindings[binding.key]
    assert saved.rollout_inode == rollout.stat().st_ino and saved.delivered_ts
    rewrite(rollout, MIGRATED)  # while no actor runs
    with open(rollout, "a") as fh:
        fh.write(later_answer("the first news after the restart"))
    state.bindings[binding.key] = saved
    second = await run_actor_until(saved, keeper, tmp_path,
                                   lambda sender: any("first news" in t for t in sender.texts()))
    assert len(second.texts()) == 1  # only the news: nothing of the rewritten history again


async def _never_gone(b: Binding, why: str) -> None:
    raise AssertionError(f"unexpected gone: {why}")


def test_a_lines_stamp_tells_apart_lines_written_in_one_millisecond() -> None:
    lines = [json.loads(x) for x in MIGRATED.read_text().splitlines()]
    stamps, prev = [], window_pieces.Mark(0, {})
    for line in lines:
        stamp = window_module.stamp_of(line["timestamp"], prev)
        stamps.append(stamp)
        prev = window_pieces.Mark(0, {}, *stamp)
    assert len(set(stamps)) == len(stamps)  # every line of the real file has its own stamp
    assert stamps == sorted(stamps)  # and they grow with the file
    # the turn's end and the next turn's start, written in one millisecond, are told apart
    same_ms = [s for s in stamps if s[0] == "2025-10-20T10:01:00.011Z"]
    assert same_ms == [("2025-10-20T10:01:00.011Z", 1), ("2025-10-20T10:01:00.011Z", 2),
                       ("2025-10-20T10:01:00.011Z", 3)]
    assert window_module.stamp_of("", prev) == stamps[-1]  # a line without a timestamp keeps the last one


async def test_a_rollout_replaced_by_an_empty_file_that_fills_later_resends_nothing(
        tmp_path: Path, nursery: trio.Nursery) -> None:
    sender, _, rollout, delivered = await old_rollout_delivered(tmp_path, nursery)
    empty = rollout.with_suffix(".new")
    empty.write_bytes(b"")
    os.replace(empty, rollout)  # the new file appears first, its lines a moment later
    await trio.sleep(0.5)
    with open(rollout, "ab") as fh:
        fh.write(MIGRATED.read_bytes())
        fh.write(later_answer("news in the refilled file").encode())
    await until(lambda: any("news in the refilled" in t for t in sender.texts()))
    await trio.sleep(0.3)
    assert sender.texts() == [*delivered, sender.texts()[-1]]


async def test_a_press_for_the_screen_goes_through_the_inbox_and_is_answered(
        tmp_path: Path, nursery: trio.Nursery) -> None:
    tmux, _, binding, inbox, _ = await start(tmp_path, "approval_prompt.txt", nursery)
    seen: list[bool] = []

    def choose(model: ScreenModel) -> tuple[str, ...] | str:
        seen.append(model.approval is not None)
        return ("y",)

    pressed = PressForScreen(binding.window_id, choose, trio.current_time() + 5)
    await inbox.send(pressed)
    with trio.fail_after(5):
        assert await pressed.reply.wait() == Pressed(("y",))
    assert seen == [True] and ("keys", "y") in tmux.typed
    # a request for another window, or one whose asker gave up, presses nothing
    other = PressForScreen("@9", choose, trio.current_time() + 5)
    late = PressForScreen(binding.window_id, choose, trio.current_time() - 1)
    for request in (other, late):
        await inbox.send(request)
        with trio.fail_after(5):
            assert isinstance(await request.reply.wait(), NotPressed)
    assert seen == [True] and tmux.typed.count(("keys", "y")) == 1


async def test_a_prompt_that_appeared_since_the_last_capture_refuses_the_text(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    # Plan mode's question has no composer: typed into it, text would pick an answer the user never chose
    w = Held(tmp_path, nursery, (CAPTURES / "idle.txt").read_text())
    w.deps.poll_interval = 3600.0  # an idle window without tmux notifications: the next capture is far away
    await w.start()
    await trio.sleep(1.0)
    w.tmux.screen = (DATA / "appserver-0.169" / "ask_tui.screen.txt").read_text()
    await w.send("typed while asked", 1)
    await until(lambda: w.refusals())
    assert w.refusals() == ["⛔ Not sent: Which colour should the mock use?. Nothing was typed."]
    assert w.tmux.typed == [] and w.binding.pending_inputs == []
