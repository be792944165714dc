"""AppServerLinks: one connection per app-server, shared by the windows attached to it (fake server at the
WebSocket boundary, virtual clock)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio
import trio.testing

from ccbot.actors.appserver_links import INCOMING_BUFFER, AppServerLinks
from ccbot.codex.appserver.client import ConnectionLost
from ccbot.codex.appserver.protocol import Notification
from ccbot.codex.appserver.transport import ConnectionClosed


class Server:
    """Answers initialize (unless ``mute``) and any other request with ``{}``; records what it got."""

    def __init__(self, *, mute: bool = False) -> None:
        self.mute = mute
        self.connects = 0
        self.sent: list[dict[str, Any]] = []
        self._send, self._recv = trio.open_memory_channel[str | None](10_000)

    async def connect(self, address: str) -> Server:
        self.connects += 1
        await trio.sleep(0.1)  # a connection takes a moment: attaches meanwhile must not open a second one
        return self

    def push(self, message: dict[str, Any]) -> None:
        self._send.send_nowait(json.dumps(message))

    def drop(self) -> None:
        self._send.send_nowait(None)

    async def send_text(self, text: str) -> None:
        message = json.loads(text)
        self.sent.append(message)
        if "id" in message and "method" in message and not self.mute:
            self.push({"id": message["id"], "result": {}})

    async def receive_text(self) -> str:
        text = await self._recv.receive()
        if text is None:
            raise ConnectionClosed(1006)
        return text

    async def aclose(self) -> None:
        pass

    def count(self, method: str) -> int:
        return sum(1 for m in self.sent if m.get("method") == method)


def note(n: int) -> dict[str, Any]:
    return {"method": "thread/status/changed", "params": {"threadId": f"t{n}", "status": {"type": "idle"}}}


@pytest.fixture
def clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(autojump_threshold=0.01)


async def running(nursery: trio.Nursery, server: Server) -> AppServerLinks:
    links = AppServerLinks(connect=lambda address: server.connect(address))  # type: ignore[arg-type, return-value]
    await nursery.start(links.run)
    return links


async def test_windows_attaching_at_once_share_one_handshaken_connection(
        nursery: trio.Nursery, clock: trio.testing.MockClock) -> None:
    server = Server()
    links = await running(nursery, server)
    got: dict[str, list[str]] = {"a": [], "b": []}
    attached = 0
    done = trio.Event()

    async def window(name: str) -> None:
        nonlocal attached
        async with links.attach("/s.sock") as view:
            attached += 1
            async for message in view.incoming:
                assert isinstance(message, Notification)
                got[name].append(str(message.params["threadId"]))
                if len(got[name]) == 2:
                    break
        if all(len(v) == 2 for v in got.values()):
            done.set()

    nursery.start_soon(window, "a")
    nursery.start_soon(window, "b")
    while attached < 2:
        await trio.sleep(0.01)
    server.push(note(1))
    server.push(note(2))
    await done.wait()
    assert got == {"a": ["t1", "t2"], "b": ["t1", "t2"]}  # every message reaches every window
    assert server.connects == 1 and server.count("initialize") == 1 and server.count("initialized") == 1
    await trio.sleep(1)
    assert links.connections() == 0  # both windows detached: the link is closed


async def test_a_thread_is_resumed_once_per_connection(nursery: trio.Nursery, clock: trio.testing.MockClock) -> None:
    server = Server()
    links = await running(nursery, server)
    async with links.attach("/s.sock") as first, links.attach("/s.sock") as second:
        assert await first.resume("t1") == {} and await second.resume("t1") == {}
        await second.resume("t2")
        assert server.count("thread/resume") == 2
    async with links.attach("/s.sock") as again:  # a new connection resumes again
        await again.resume("t1")
    assert server.connects == 2 and server.count("thread/resume") == 3


async def test_a_window_that_falls_behind_is_detached_alone(
        nursery: trio.Nursery, clock: trio.testing.MockClock) -> None:
    server = Server()
    links = await running(nursery, server)
    async with links.attach("/s.sock") as slow, links.attach("/s.sock") as fast:
        for n in range(INCOMING_BUFFER + 1):
            server.push(note(n))
            await fast.incoming.receive()
        received = 0
        with pytest.raises(trio.EndOfChannel):
            while True:
                await slow.incoming.receive()
                received += 1
        assert received == INCOMING_BUFFER  # what it had buffered, then the end: it re-attaches
        server.push(note(-1))
        assert isinstance(await fast.incoming.receive(), Notification)  # the others are not slowed
        assert links.connections() == 1


async def test_a_lost_connection_ends_every_view_and_fails_requests(
        nursery: trio.Nursery, clock: trio.testing.MockClock) -> None:
    server = Server()
    links = await running(nursery, server)
    async with links.attach("/s.sock") as view:
        server.drop()
        with pytest.raises(trio.EndOfChannel):
            await view.incoming.receive()
        with pytest.raises(ConnectionLost):
            await view.request("thread/loaded/list")
    assert links.connections() == 0


async def test_a_failed_connect_or_handshake_raises_a_plain_error_from_attach(
        nursery: trio.Nursery, clock: trio.testing.MockClock) -> None:
    server = Server(mute=True)
    links = await running(nursery, server)
    with pytest.raises(trio.TooSlowError):  # not an exception group: the window's backoff catches it
        async with links.attach("/s.sock"):
            raise AssertionError("attached without a handshake")

    async def refuse(address: str) -> Any:
        raise FileNotFoundError(address)

    refusing = AppServerLinks(connect=refuse)
    await nursery.start(refusing.run)
    with pytest.raises(FileNotFoundError):
        async with refusing.attach("/gone.sock"):
            raise AssertionError("attached to nothing")
    assert links.connections() == 0 and refusing.connections() == 0
