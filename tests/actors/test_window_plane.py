"""The window actor on the app-server plane: a fake pane app-server at the WebSocket boundary replays traffic
recorded from real Codex 0.169 (``tests/data/appserver-0.169``); fake tmux, fake sender, virtual clock."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio
import trio.testing

from ccbot.actors.appserver_links import AppServerLinks
from ccbot.actors.window import WindowActor, WindowDeps, WindowHooks
from ccbot.codex.appserver.transport import ConnectionClosed
from ccbot.features.ports import PlaneApprovalGone, PlaneApprovalShown
from ccbot.messages import PROMPT_GONE, AnswerApproval, Interrupt, OneShot, Outbound, WindowCommand
from ccbot.render.tg_html import parse_html
from ccbot.state.keeper import StateKeeper
from ccbot.state.model import Binding, State
from ccbot.state.store import StateStore
from ccbot.telegram.errors import BadRequest
from tests.actors.fake_tmux import FakeTmux
from tests.conftest import DATA

RECORDED = DATA / "appserver-0.169"
CAPTURES = DATA / "codex-0.169" / "captures"


def recording(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (RECORDED / f"{name}.jsonl").read_text("utf-8").splitlines()]


def resume_answer(frames: list[dict[str, Any]]) -> dict[str, Any]:
    """The recorded answer to ``thread/resume``."""
    (asked,) = [f["msg"]["id"] for f in frames if f["dir"] == "out" and f["msg"].get("method") == "thread/resume"]
    (answer,) = [f["msg"]["result"] for f in frames if f["dir"] == "in" and f["msg"].get("id") == asked
                 and "result" in f["msg"]]
    return dict(answer)


def after_resume(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The notifications and server requests that reached the recorder once it had resumed the thread."""
    start = next(i for i, f in enumerate(frames) if f["dir"] == "out" and f["msg"].get("method") == "thread/resume")
    return [f["msg"] for f in frames[start:] if f["dir"] == "in" and "method" in f["msg"]]


class FakeAppServer:
    """The pane's app-server at the WebSocket boundary: answers our requests as recorded, sends what a test
    pushes, and records everything we send."""

    def __init__(self, resume: dict[str, Any]) -> None:
        self.resume = resume
        self.thread_id = str(resume["thread"]["id"])
        self.sent: list[dict[str, Any]] = []
        self.connects = 0
        self._send, self._recv = trio.open_memory_channel[str | None](1000)
        self.closed = False

    async def connect(self, socket: str) -> FakeAppServer:
        self.connects += 1
        self.closed = False
        return self

    def push(self, message: dict[str, Any]) -> None:
        self._send.send_nowait(json.dumps(message))

    def drop(self) -> None:
        """The server goes away: the reader sees the connection close."""
        self._send.send_nowait(None)

    async def send_text(self, text: str) -> None:
        message = json.loads(text)
        self.sent.append(message)
        method, request_id = message.get("method"), message.get("id")
        if method is None or request_id is None:
            return
        result: object = {}
        if method == "initialize":
            result = {"userAgent": "codex-tui/0.169.0 (fake)"}
        elif method == "thread/loaded/list":
            result = {"data": [self.thread_id], "nextCursor": None}
        elif method == "thread/resume":
            result = self.resume
        self.push({"id": request_id, "result": result})

    async def receive_text(self) -> str:
        text = await self._recv.receive()
        if text is None:
            self.closed = True
            raise ConnectionClosed(1006)
        return text

    async def aclose(self) -> None:
        self.closed = True

    def requests(self, method: str) -> list[dict[str, Any]]:
        return [m for m in self.sent if m.get("method") == method]


class Sender:
    """Accepts every call (message ids from 100) except those ``refuse`` names; a refused draft marks its chat
    in ``drafts_refused``, as the real sender does."""

    def __init__(self, recv: trio.MemoryReceiveChannel[Outbound], refuse: Callable[[Outbound], bool]) -> None:
        self.recv = recv
        self.refuse = refuse
        self.sent: list[tuple[float, Outbound]] = []
        self.drafts_refused: set[int] = set()

    async def run(self) -> None:
        message_id = 100
        async for item in self.recv:
            self.sent.append((trio.current_time(), item))
            if self.refuse(item):
                if item.method == "send_message_draft":
                    self.drafts_refused.add(item.chat_id)
                item.reply.fail(BadRequest("Bad Request: TEXTDRAFT_PEER_INVALID"))
                continue
            message_id += 1
            item.reply.resolve(type("M", (), {"message_id": message_id})())

    def calls(self, method: str) -> list[tuple[float, Outbound]]:
        return [(t, o) for t, o in self.sent if o.method == method]


class Plane:
    """One window actor on the app-server plane in ``chat_id``, with the fake server and sender."""

    def __init__(self, tmp_path: Path, nursery: trio.Nursery, chat_id: int, scenario: str,
                 refuse: Callable[[Outbound], bool] = lambda item: False, *, topic_id: int = 7,
                 window_id: str = "@1", shared_with: Plane | None = None, links: AppServerLinks | None = None) -> None:
        """``shared_with``: another window's Plane whose sender (so chat state) this window uses too; ``links``:
        app-server connections shared with other windows (default: this window's own, running)."""
        self.frames = recording(scenario)
        self.server = FakeAppServer(resume_answer(self.frames))
        rollout = tmp_path / "rollout-2026-11-23T21-00-00-01a20a5a-009b-7f71-8ca7-536926fbd324.jsonl"
        rollout.write_text("")
        self.tmux = FakeTmux((CAPTURES / "idle.txt").read_text(), rollout)
        self.binding = Binding(chat_id=chat_id, topic_id=topic_id, window_id=window_id, window_name="w",
                               cwd=str(tmp_path), pane_id=f"%{window_id[1:]}",
                               appserver_socket=str(tmp_path / "0123456789abcdef.sock"))
        state = State()
        state.bindings[self.binding.key] = self.binding
        self.keeper = StateKeeper(StateStore(tmp_path / "state.json"), state)
        if shared_with is None:
            out_send, out_recv = trio.open_memory_channel[Outbound](100)
            self.sender = Sender(out_recv, refuse)
            nursery.start_soon(self.sender.run)
        else:
            self.sender, out_send = shared_with.sender, shared_with.deps.outbox
        self.effects: list[object] = []
        hooks = WindowHooks()

        async def record(port: Any, effect: object) -> None:
            self.effects.append(effect)

        hooks.effects.append(record)

        async def gone(b: Binding, why: str) -> None:
            raise AssertionError(f"unexpected gone: {why}")

        self.deps = WindowDeps(tmux=self.tmux, outbox=out_send, keeper=self.keeper, sessions_dir=tmp_path,
                               poll_interval=0.05, on_gone=gone, hooks=hooks,
                               drafts_refused=self.sender.drafts_refused)
        if links is None:
            links = AppServerLinks(connect=lambda socket: self.server.connect(socket))
            nursery.start_soon(links.run)
        self.links = self.deps.appservers = links
        self.nursery = nursery
        self.inbox: trio.MemorySendChannel[WindowCommand] | None = None
        self.actor: WindowActor | None = None

    async def start(self) -> None:
        self.inbox, inbox_recv = trio.open_memory_channel[WindowCommand](10)
        self.actor = WindowActor(self.binding, self.deps)
        await self.nursery.start(self.actor.run, inbox_recv)
        await until(lambda: self.binding.thread_id == self.server.thread_id)  # subscribed and followed

    async def replay(self, keep: Callable[[dict[str, Any]], bool] = lambda m: True, gap: float = 0.3) -> None:
        """Push the recorded traffic after the resume, ``gap`` seconds apart (deltas arrive over time)."""
        for message in after_resume(self.frames):
            if keep(message):
                self.server.push(message)
                await trio.sleep(gap)


async def until(predicate: Callable[[], object], seconds: float = 20.0) -> None:
    with trio.fail_after(seconds):
        while not predicate():
            await trio.sleep(0.02)


async def shown_at(tmp_path: Path, nursery: trio.Nursery, scenario: str,
                   method: str) -> tuple[Plane, list[dict[str, Any]]]:
    """A started window that got ``scenario``'s recorded traffic up to its ``method`` server request and
    showed it (``PlaneApprovalShown``); the traffic after it."""
    p = Plane(tmp_path, nursery, -100, scenario)
    await p.start()
    messages = after_resume(p.frames)
    at = next(i for i, m in enumerate(messages) if m.get("method") == method)
    for message in messages[: at + 1]:
        p.server.push(message)
    await until(lambda: any(isinstance(e, PlaneApprovalShown) for e in p.effects))
    return p, messages[at + 1:]


async def answer_from_here(p: Plane, request_id: int | str, decision: str) -> str | None:
    """A button press for ``decision`` of request ``request_id``: the window's reply (None: answered)."""
    assert p.inbox is not None
    reply = OneShot[str | None]()
    await p.inbox.send(AnswerApproval("@1", request_id, decision, trio.current_time() + 10, reply))
    with trio.fail_after(10):
        return await reply.wait()


def results(p: Plane) -> list[dict[str, Any]]:
    """What the window answered the server's requests with."""
    return [m for m in p.server.sent if "result" in m]


def final_text(frames: list[dict[str, Any]]) -> str:
    return next(m["params"]["item"]["text"] for m in after_resume(frames)
                if m.get("method") == "item/completed" and m["params"]["item"]["type"] == "agentMessage")


async def test_the_pane_server_names_the_thread_and_confirms_the_submit(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    p = Plane(tmp_path, nursery, -100, "plain")
    await p.start()
    assert p.binding.rollout_path == p.server.resume["thread"]["path"]  # identity from the pane's own server
    assert [r["params"] for r in p.server.requests("thread/resume")] == [
        {"threadId": p.server.thread_id, "excludeTurns": True}]
    await p.replay(lambda m: m.get("method") in ("turn/started", "item/started"), gap=0.01)
    user_texts = [m["params"]["item"]["content"][0]["text"] for m in after_resume(p.frames)
                  if m.get("method") == "item/started" and m["params"]["item"]["type"] == "userMessage"]
    assert p.actor is not None
    await until(lambda: user_texts[0] in p.actor.seen_user_texts if p.actor else False)


async def test_a_private_chat_sees_one_growing_draft_and_none_after_the_turn(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    p = Plane(tmp_path, nursery, 1001, "plain")
    await p.start()
    await p.replay()
    ended = trio.current_time()
    drafts = p.sender.calls("send_message_draft")
    texts = [str(o.kwargs["text"]) for _, o in drafts]
    assert len(drafts) >= 2, texts
    assert len({o.kwargs["draft_id"] for _, o in drafts}) == 1 and drafts[0][1].kwargs["draft_id"] != 0
    assert [len(t) for t in texts] == sorted(len(t) for t in texts) and len(texts[0]) < len(texts[-1])
    for text in texts:
        parse_html(text)  # valid Telegram HTML at every step
    assert all(o.kwargs["message_thread_id"] == 7 and o.kwargs["chat_id"] == 1001 for _, o in drafts)
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(drafts)]
    assert all(g >= 1.0 - 1e-9 for g in gaps)  # paced
    await trio.sleep(3)
    assert len(p.sender.calls("send_message_draft")) == len(drafts)  # nothing after the answer completed
    assert all(t <= ended for t, _ in drafts)
    assert final_text(p.frames).startswith(parse_html(texts[-1]).text.rstrip("…"))
    assert not p.sender.calls("send_message") and not p.sender.calls("delete_message")


async def test_a_group_streams_one_silent_message_edited_then_deleted(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    p = Plane(tmp_path, nursery, -100, "plain")
    await p.start()
    await p.replay(gap=0.9)  # nine deltas over ~8 s
    sends = p.sender.calls("send_message")
    assert len(sends) == 1 and sends[0][1].kwargs["disable_notification"] is True
    frame_id = 101
    edits = p.sender.calls("edit_message_text")
    assert edits and all(o.kwargs["message_id"] == frame_id for _, o in edits)
    assert all(b - a >= 5.0 - 1e-9 for (a, _), (b, _) in itertools.pairwise([sends[0], *edits]))
    await until(lambda: p.sender.calls("delete_message"))
    (deleted,) = p.sender.calls("delete_message")
    assert deleted[1].kwargs["message_id"] == frame_id  # the partial frame is not left behind


async def test_a_refused_draft_turns_drafts_off_for_the_chat_and_its_windows_stream_by_edits(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    p = Plane(tmp_path, nursery, 1001, "plain", refuse=lambda item: item.method == "send_message_draft")
    other = Plane(tmp_path, nursery, 1001, "plain", topic_id=8, window_id="@2", shared_with=p)  # same chat
    await p.start()
    await other.start()
    await p.replay(gap=0.9)
    assert len(p.sender.calls("send_message_draft")) == 1  # the first refusal, then never again
    assert p.sender.calls("send_message") == []  # that answer's frames stop; the rollout delivers it
    await p.replay(gap=0.9)  # the next answer (same recording again)
    await other.replay(gap=0.9)  # the other window's answer
    assert len(p.sender.calls("send_message_draft")) == 1
    edited_topics = {o.kwargs.get("message_thread_id") for _, o in p.sender.calls("send_message")}
    assert edited_topics == {7, 8} and p.sender.calls("edit_message_text")


async def plane_with_approval(tmp_path: Path, nursery: trio.Nursery) -> tuple[Plane, dict[str, Any]]:
    """A started window with the recorded approval request pushed and shown; the request."""
    p = Plane(tmp_path, nursery, -100, "approve_client")
    await p.start()
    request = next(m for m in after_resume(p.frames) if m.get("method") == "item/commandExecution/requestApproval")
    p.server.push(request)
    await until(lambda: any(isinstance(e, PlaneApprovalShown) for e in p.effects))
    return p, request


async def test_an_approval_is_answered_once_from_here_and_a_terminal_answer_ends_it(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    p, request = await plane_with_approval(tmp_path, nursery)
    shown = next(e for e in p.effects if isinstance(e, PlaneApprovalShown))
    assert shown.request.decisions[0].name == "accept" and "client.txt" in (shown.request.command or "")

    async def answer(request_id: int | str, decision: str, window: str = "@1") -> str | None:
        assert p.inbox is not None
        reply = OneShot[str | None]()
        await p.inbox.send(AnswerApproval(window, request_id, decision, trio.current_time() + 10, reply))
        with trio.fail_after(10):
            return await reply.wait()

    assert await answer(request["id"], "accept", window="@9") is not None  # another window's button: nothing
    assert await answer(request["id"], "no-such-decision") == "Codex does not offer that answer here."
    assert not [m for m in p.server.sent if "result" in m]
    assert await answer(request["id"], "accept") is None
    assert [m for m in p.server.sent if "result" in m] == [{"id": request["id"], "result": {"decision": "accept"}}]
    assert await answer(request["id"], "accept") == PROMPT_GONE  # never twice
    assert len([m for m in p.server.sent if "result" in m]) == 1
    assert PlaneApprovalGone(request["id"], "accept") in p.effects

    # Answered at the terminal: the server says it is resolved; a press afterwards answers nothing.
    later = {**request, "id": 7}
    p.server.push(later)
    await until(lambda: sum(isinstance(e, PlaneApprovalShown) for e in p.effects) == 2)
    p.server.push({"method": "serverRequest/resolved", "params": {"threadId": p.server.thread_id, "requestId": 7}})
    await until(lambda: PlaneApprovalGone(7, None) in p.effects)
    assert await answer(7, "accept") == PROMPT_GONE
    assert len([m for m in p.server.sent if "result" in m]) == 1


async def test_a_lost_connection_ends_pending_approvals_and_reconnects(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    p, request = await plane_with_approval(tmp_path, nursery)
    p.server.drop()
    await until(lambda: PlaneApprovalGone(request["id"], None, lost=True) in p.effects)
    await until(lambda: p.server.connects == 2 and len(p.server.requests("thread/resume")) == 2)


async def test_esc_interrupts_the_running_turn_by_protocol_and_otherwise_presses_escape(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    p = Plane(tmp_path, nursery, -100, "interrupt")
    await p.start()
    assert p.inbox is not None
    await p.inbox.send(Interrupt())  # no turn yet: the key, in the pane
    await until(lambda: ("keys", "Escape") in p.tmux.typed)
    started = next(m for m in after_resume(p.frames) if m.get("method") == "turn/started")
    p.server.push(started)
    await trio.sleep(0.5)
    await p.inbox.send(Interrupt())
    await until(lambda: p.server.requests("turn/interrupt"))
    (asked,) = p.server.requests("turn/interrupt")
    assert asked["params"] == {"threadId": p.server.thread_id, "turnId": started["params"]["turn"]["id"]}
    assert p.tmux.typed.count(("keys", "Escape")) == 1  # the second /esc pressed nothing


# -- Codex's shared daemon (a window bound by hand): the thread is proven by the echo of typed text ------------

OTHER = "01a23a76-0000-7000-8000-000000000001"


class SharedServer(FakeAppServer):
    """The daemon: two user threads loaded, each resumable (another window runs the second one)."""

    def __init__(self, resume: dict[str, Any]) -> None:
        super().__init__(resume)
        other = json.loads(json.dumps(resume))
        other["thread"]["id"] = OTHER
        other["thread"]["path"] = str(resume["thread"]["path"]).replace(self.thread_id, OTHER)
        self.resumes = {self.thread_id: resume, OTHER: other}

    async def send_text(self, text: str) -> None:
        message = json.loads(text)
        if message.get("method") == "thread/loaded/list":
            self.sent.append(message)
            self.push({"id": message["id"], "result": {"data": list(self.resumes), "nextCursor": None}})
        elif message.get("method") == "thread/resume":
            self.sent.append(message)
            self.push({"id": message["id"], "result": self.resumes[message["params"]["threadId"]]})
        else:
            await super().send_text(text)

    def user_message(self, thread_id: str, text: str) -> None:
        self.push({"method": "item/started", "params": {"threadId": thread_id, "turnId": "t1", "item": {
            "type": "userMessage", "id": f"u-{thread_id[-4:]}-{text}", "content": [{"type": "text", "text": text}]}}})


async def shared_plane(tmp_path: Path, nursery: trio.Nursery) -> Plane:
    from ccbot.codex.plane import daemon_socket

    p = Plane(tmp_path, nursery, -100, "plain")
    p.server = SharedServer(p.server.resume)
    p.binding.appserver_socket = str(daemon_socket(tmp_path.parent))  # sessions_dir is tmp_path
    p.binding.appserver_shared = True
    p.inbox, inbox_recv = trio.open_memory_channel[WindowCommand](10)
    p.actor = WindowActor(p.binding, p.deps)
    await nursery.start(p.actor.run, inbox_recv)
    await until(lambda: len(p.server.requests("thread/resume")) == 2)
    return p


async def typed(p: Plane, text: str) -> None:
    from ccbot.actors.window import hand_text
    from ccbot.messages import UserText

    assert p.inbox is not None
    hand_text(p.binding, p.inbox, UserText(text, 1))
    await until(lambda: ("text", text) in p.tmux.typed)


async def test_a_shared_daemon_window_follows_the_thread_that_echoes_its_text(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    p = await shared_plane(tmp_path, nursery)
    await trio.sleep(1)
    assert p.binding.thread_id is None and p.binding.rollout_path is None  # subscribed is not proven
    await typed(p, "hello there")
    p.server.user_message(OTHER, "something else")  # another window's text proves nothing
    p.server.user_message(p.server.thread_id, "hello there")
    await until(lambda: p.binding.thread_id == p.server.thread_id)
    assert p.binding.rollout_path == p.server.resume["thread"]["path"]
    await trio.sleep(12)
    assert not any("not confirmed" in str(o.kwargs.get("text")) for _, o in p.sender.sent)  # the echo confirmed it
    # the same text typed into another window at once does not move this one
    await typed(p, "same words")
    p.server.user_message(OTHER, "same words")
    p.server.user_message(p.server.thread_id, "same words")
    await trio.sleep(2)
    assert p.binding.thread_id == p.server.thread_id


async def test_two_threads_echoing_the_text_at_once_prove_nothing(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    p = await shared_plane(tmp_path, nursery)
    await typed(p, "same words")
    p.server.user_message(OTHER, "same words")
    p.server.user_message(p.server.thread_id, "same words")
    await until(lambda: any("cannot tell which one" in str(o.kwargs.get("text")) for _, o in p.sender.sent))
    assert p.binding.thread_id is None and p.binding.rollout_path is None


async def test_a_shared_window_never_connects_to_a_socket_that_is_not_the_daemons(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    p = Plane(tmp_path, nursery, -100, "plain")
    p.binding.appserver_socket = str(tmp_path / "elsewhere.sock")  # a state edited by hand
    p.binding.appserver_shared = True
    p.inbox, inbox_recv = trio.open_memory_channel[WindowCommand](10)
    await nursery.start(WindowActor(p.binding, p.deps).run, inbox_recv)
    await until(lambda: any("not one ccbot made" in str(o.kwargs.get("text")) for _, o in p.sender.sent))
    assert p.server.connects == 0


async def test_another_windows_turn_on_the_daemon_is_never_interrupted_or_taken_for_ours(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    p = await shared_plane(tmp_path, nursery)
    await typed(p, "mine")
    p.server.user_message(p.server.thread_id, "mine")
    await until(lambda: p.binding.thread_id == p.server.thread_id)
    request = next(m for m in after_resume(recording("approve_client"))
                   if m.get("method") == "item/commandExecution/requestApproval")
    p.server.push({**request, "params": {**request["params"], "threadId": p.server.thread_id}})
    await until(lambda: any(isinstance(e, PlaneApprovalShown) for e in p.effects))
    turn = {"id": "other-turn", "status": "inProgress", "items": []}
    p.server.push({"method": "turn/started", "params": {"threadId": OTHER, "turn": turn}})
    p.server.push({"method": "turn/completed", "params": {"threadId": OTHER, "turn": {**turn, "status": "completed"}}})
    await trio.sleep(1)
    assert not any(isinstance(e, PlaneApprovalGone) for e in p.effects)  # its end is not our turn's end
    p.server.push({"method": "turn/started", "params": {"threadId": OTHER, "turn": turn}})
    await trio.sleep(1)
    assert p.inbox is not None
    await p.inbox.send(Interrupt())
    await until(lambda: ("keys", "Escape") in p.tmux.typed)
    assert not p.server.requests("turn/interrupt")  # the other window's turn was not interrupted


async def test_every_frame_message_of_a_turn_is_deleted_when_it_ends(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    p = Plane(tmp_path, nursery, -100, "plain")
    await p.start()
    turn = {"id": "turn-1", "status": "inProgress", "items": []}
    p.server.push({"method": "turn/started", "params": {"threadId": p.server.thread_id, "turn": turn}})
    for item in ("first-answer", "second-answer"):  # the second starts before the first was delivered
        for n in range(10):
            p.server.push({"method": "item/agentMessage/delta", "params": {
                "threadId": p.server.thread_id, "turnId": "turn-1", "itemId": item, "delta": f"{item} {n} "}})
            await trio.sleep(0.4)
    frames = [o.kwargs for _, o in p.sender.calls("send_message") if o.kwargs.get("disable_notification")]
    assert len(frames) == 2
    p.server.push({"method": "turn/completed", "params": {"threadId": p.server.thread_id,
                                                          "turn": {**turn, "status": "completed"}}})
    await until(lambda: len(p.sender.calls("delete_message")) == 2)
    assert sorted(o.kwargs["message_id"] for _, o in p.sender.calls("delete_message")) == [101, 102]


async def test_windows_on_the_shared_daemon_share_one_connection_and_each_follows_its_own_thread(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    first = await shared_plane(tmp_path, nursery)
    server = first.server
    second = Plane(tmp_path, nursery, -100, "plain", topic_id=8, window_id="@2", shared_with=first, links=first.links)
    second.server = server
    second.binding.appserver_socket, second.binding.appserver_shared = first.binding.appserver_socket, True
    second.inbox, inbox_recv = trio.open_memory_channel[WindowCommand](10)
    await nursery.start(WindowActor(second.binding, second.deps).run, inbox_recv)
    await until(lambda: len(server.requests("thread/loaded/list")) == 2)  # both windows attached
    await trio.sleep(1)
    assert server.connects == 1 and first.links.connections() == 1
    assert len(server.requests("initialize")) == 1
    assert len(server.requests("thread/resume")) == 2  # once per thread, not once per window
    await typed(first, "mine")
    server.user_message(server.thread_id, "mine")
    await typed(second, "yours")
    server.user_message(OTHER, "yours")
    await until(lambda: first.binding.thread_id == server.thread_id and second.binding.thread_id == OTHER)
    request = next(m for m in after_resume(recording("approve_client"))
                   if m.get("method") == "item/commandExecution/requestApproval")
    server.push({**request, "params": {**request["params"], "threadId": OTHER}})
    await until(lambda: any(isinstance(e, PlaneApprovalShown) for e in second.effects))
    assert not any(isinstance(e, PlaneApprovalShown) for e in first.effects)  # each window gets its own only
    server.drop()  # the daemon restarts: both windows re-attach over one new connection
    await until(lambda: PlaneApprovalGone(request["id"], None, lost=True) in second.effects)
    await until(lambda: server.connects == 2 and len(server.requests("thread/loaded/list")) == 4)
    await trio.sleep(1)
    assert first.links.connections() == 1 and len(server.requests("initialize")) == 2


async def test_a_link_is_closed_when_its_last_window_stops(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    p = Plane(tmp_path, nursery, -100, "plain")
    async with trio.open_nursery() as windows:
        p.inbox, inbox_recv = trio.open_memory_channel[WindowCommand](10)
        await windows.start(WindowActor(p.binding, p.deps).run, inbox_recv)
        await until(lambda: p.binding.thread_id == p.server.thread_id)
        assert p.links.connections() == 1
        windows.cancel_scope.cancel()
    await until(lambda: p.links.connections() == 0 and p.server.closed)
