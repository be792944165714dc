"""ccbot.codex.appserver.client: JSON-RPC over a WebSocket to a scripted server (memory streams, autojump)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio
import trio.testing
from structlog.testing import capture_logs
from wsproto.events import CloseConnection, TextMessage

from ccbot.codex.appserver.client import AppServerClient, ConnectionLost, RequestFailed
from ccbot.codex.appserver.protocol import Incoming, Notification, ServerRequest
from ccbot.codex.appserver.transport import handshake
from tests.unit.test_appserver_transport import Server


class Peer:
    """The app-server side: reads our JSON messages, sends its own."""

    def __init__(self, server: Server) -> None:
        self.server = server

    async def receive(self) -> dict[str, Any]:
        event = await self.server.next_event()
        assert isinstance(event, TextMessage), event
        message: dict[str, Any] = json.loads(event.data)
        return message

    async def send(self, message: object) -> None:
        await self.server.send(TextMessage(data=message if isinstance(message, str) else json.dumps(message)))


async def start(
    nursery: trio.Nursery, *, buffer: int = 10, tap: list[tuple[str, object]] | None = None
) -> tuple[AppServerClient, Peer, trio.MemoryReceiveChannel[Incoming]]:
    client_stream, server_stream = trio.testing.memory_stream_pair()
    server = Server(server_stream)
    nursery.start_soon(server.accept)
    connection = await handshake(client_stream, "localhost")
    incoming_send, incoming_recv = trio.open_memory_channel[Incoming](buffer)
    client = AppServerClient(
        connection, incoming_send, tap=None if tap is None else (lambda way, msg: tap.append((way, msg)))
    )
    await nursery.start(client.run)
    return client, Peer(server), incoming_recv


async def test_request_gets_its_own_answer_even_out_of_order(nursery: trio.Nursery) -> None:
    client, peer, _ = await start(nursery)
    results: dict[str, object] = {}

    async def ask(method: str) -> None:
        results[method] = await client.request(method, {"m": method})

    async with trio.open_nursery() as askers:
        askers.start_soon(ask, "a")
        first = await peer.receive()
        askers.start_soon(ask, "b")
        second = await peer.receive()
        assert (first, second) == (
            {"id": 1, "method": "a", "params": {"m": "a"}},
            {"id": 2, "method": "b", "params": {"m": "b"}},
        )
        await peer.send({"id": 2, "result": "for b"})
        await peer.send({"id": 1, "result": {"x": None}})
    assert results == {"a": {"x": None}, "b": "for b"}


async def test_error_answer_raises_request_failed(nursery: trio.Nursery) -> None:
    client, peer, _ = await start(nursery)

    async def answer() -> None:
        request = await peer.receive()
        await peer.send({"id": request["id"], "error": {"code": -32600, "message": "no rollout found"}})

    nursery.start_soon(answer)
    with pytest.raises(RequestFailed) as caught:
        await client.request("thread/resume", {"threadId": "t"})
    assert (caught.value.method, caught.value.code, caught.value.message) == (
        "thread/resume", -32600, "no rollout found")


async def test_connection_loss_fails_pending_and_later_requests(nursery: trio.Nursery) -> None:
    client, peer, incoming = await start(nursery)
    failures: list[Exception] = []

    async def ask() -> None:
        try:
            await client.request("slow")
        except ConnectionLost as exc:
            failures.append(exc)

    async with trio.open_nursery() as askers:
        askers.start_soon(ask)
        askers.start_soon(ask)
        await peer.receive()
        await peer.receive()
        await peer.server.send(CloseConnection(code=1001, reason="bye"))
    assert len(failures) == 2
    with pytest.raises(ConnectionLost):
        await client.request("after")
    with pytest.raises(ConnectionLost):
        await client.notify("after")
    with trio.fail_after(1):
        assert [m async for m in incoming] == []  # run ended and closed the channel


async def test_stream_break_fails_pending_requests(nursery: trio.Nursery, autojump_clock: trio.abc.Clock) -> None:
    client, peer, _ = await start(nursery)

    async def cut() -> None:
        await peer.receive()
        await trio.sleep(5)
        await peer.server.stream.aclose()

    nursery.start_soon(cut)
    with capture_logs() as logs, pytest.raises(ConnectionLost):
        await client.request("x")
    assert trio.current_time() == 5
    assert [(e["event"], e["log_level"], e["code"]) for e in logs] == [
        ("app-server connection closed", "warning", 1006)
    ]


async def test_notifications_and_server_requests_arrive_in_order(nursery: trio.Nursery) -> None:
    client, peer, incoming = await start(nursery)
    await peer.send({"method": "thread/status/changed", "params": {"threadId": "t"}, "emittedAtMs": 1})
    await peer.send({"id": 0, "method": "item/commandExecution/requestApproval", "params": {"threadId": "t"}})
    await peer.send({"method": "initialized"})
    assert await incoming.receive() == Notification("thread/status/changed", {"threadId": "t"})
    assert await incoming.receive() == ServerRequest(0, "item/commandExecution/requestApproval", {"threadId": "t"})
    assert await incoming.receive() == Notification("initialized", {})
    await client.respond(0, {"decision": "accept"})
    assert await peer.receive() == {"id": 0, "result": {"decision": "accept"}}
    await client.notify("initialized")
    assert await peer.receive() == {"method": "initialized"}


async def test_unknown_and_unmatched_messages_are_logged_and_ignored(nursery: trio.Nursery) -> None:
    client, peer, incoming = await start(nursery)
    with capture_logs() as logs:
        await peer.send("not json")
        await peer.send([1, 2])
        await peer.send({"id": 99, "result": 1})
        await peer.send({"method": "still/alive"})
        assert await incoming.receive() == Notification("still/alive", {})
    events = [(entry["event"], entry["log_level"]) for entry in logs]
    assert events == [
        ("app-server message ignored", "warning"),
        ("app-server message ignored", "warning"),
        ("app-server answer to no pending request", "warning"),
    ]

    async def answer() -> None:
        request = await peer.receive()
        await peer.send({"id": request["id"], "result": "ok"})

    nursery.start_soon(answer)
    assert await client.request("works") == "ok"


async def test_cancelled_request_forgets_its_id(nursery: trio.Nursery, autojump_clock: trio.abc.Clock) -> None:
    client, peer, incoming = await start(nursery)
    with trio.move_on_after(3):
        await client.request("never answered")
    request = await peer.receive()
    with capture_logs() as logs:
        await peer.send({"id": request["id"], "result": "late"})
        await peer.send({"method": "marker"})
        await incoming.receive()
    assert [entry["event"] for entry in logs] == ["app-server answer to no pending request"]


async def test_full_incoming_channel_applies_back_pressure(nursery: trio.Nursery) -> None:
    client, peer, incoming = await start(nursery, buffer=0)
    await peer.send({"method": "one"})
    await peer.send({"id": 1, "result": "stuck behind one"})
    waiter_done = trio.Event()

    async def ask() -> None:
        await client.request("r")
        waiter_done.set()

    nursery.start_soon(ask)
    await peer.receive()
    await trio.testing.wait_all_tasks_blocked()
    assert not waiter_done.is_set()
    assert await incoming.receive() == Notification("one", {})
    await waiter_done.wait()


async def test_tap_sees_both_directions(nursery: trio.Nursery) -> None:
    tap: list[tuple[str, object]] = []
    client, peer, incoming = await start(nursery, tap=tap)

    async def answer() -> None:
        request = await peer.receive()
        await peer.send({"method": "n", "params": {"k": 1}})
        await peer.send({"id": request["id"], "result": {"ok": True}})

    nursery.start_soon(answer)
    await client.request("initialize", {"clientInfo": {"name": "t", "version": "0"}})
    await client.notify("initialized")
    assert tap == [
        ("out", {"id": 1, "method": "initialize", "params": {"clientInfo": {"name": "t", "version": "0"}}}),
        ("in", {"method": "n", "params": {"k": 1}}),
        ("in", {"id": 1, "result": {"ok": True}}),
        ("out", {"method": "initialized"}),
    ]
    assert await incoming.receive() == Notification("n", {"k": 1})


async def test_aclose_ends_run(nursery: trio.Nursery) -> None:
    client, _, incoming = await start(nursery)
    await client.aclose()
    with trio.fail_after(1):
        assert [m async for m in incoming] == []
    with pytest.raises(ConnectionLost):
        await client.request("x")
