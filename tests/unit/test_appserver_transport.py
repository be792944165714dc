"""ccbot.codex.appserver.transport: the wsproto client against a wsproto server written in the test."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import trio
import trio.testing
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Event,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

from ccbot.codex.appserver import transport
from ccbot.codex.appserver.transport import (
    ConnectionClosed,
    HandshakeRefused,
    WsConnection,
    connect_unix,
    handshake,
)


class Server:
    """The server end of one WebSocket, driven step by step by the test."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.ws = WSConnection(ConnectionType.SERVER)
        self.request: Request | None = None
        self.raw_request = b""

    async def next_event(self) -> Event:
        while True:
            for event in self.ws.events():
                return event
            data = await self.stream.receive_some(65536)
            if self.request is None:
                self.raw_request += data
            self.ws.receive_data(bytes(data) if data else None)

    async def send(self, event: Event) -> None:
        await self.stream.send_all(self.ws.send(event))

    async def accept(self) -> Request:
        event = await self.next_event()
        assert isinstance(event, Request)
        self.request = event
        await self.send(AcceptConnection())
        return event


async def connected(nursery: trio.Nursery) -> tuple[WsConnection, Server]:
    client_stream, server_stream = trio.testing.memory_stream_pair()
    server = Server(server_stream)
    nursery.start_soon(server.accept)
    connection = await handshake(client_stream, "localhost")
    return connection, server


async def test_handshake_sends_host_and_no_origin(nursery: trio.Nursery) -> None:
    _, server = await connected(nursery)
    assert server.request is not None
    assert (server.request.host, server.request.target) == ("localhost", "/")
    head = server.raw_request.decode().lower()
    assert head.startswith("get / http/1.1\r\n")
    assert "\r\nhost: localhost\r\n" in head
    assert "origin:" not in head


async def test_fragmented_text_is_reassembled(nursery: trio.Nursery) -> None:
    connection, server = await connected(nursery)
    await server.send(TextMessage(data='{"a":', message_finished=False))
    await server.send(TextMessage(data=' "é"', message_finished=False))
    await server.send(TextMessage(data="}", message_finished=True))
    await server.send(TextMessage(data="next"))
    assert await connection.receive_text() == '{"a": "é"}'
    assert await connection.receive_text() == "next"


async def test_ping_is_answered_with_pong(nursery: trio.Nursery) -> None:
    connection, server = await connected(nursery)
    await server.send(Ping(payload=b"hb"))
    await server.send(TextMessage(data="after ping"))
    assert await connection.receive_text() == "after ping"
    event = await server.next_event()
    assert isinstance(event, Pong) and event.payload == b"hb"


async def test_send_text_reaches_the_server_in_order(nursery: trio.Nursery) -> None:
    connection, server = await connected(nursery)
    async with trio.open_nursery() as senders:
        for n in range(5):
            senders.start_soon(connection.send_text, f"m{n}")
    got = set()
    for _ in range(5):
        event = await server.next_event()
        assert isinstance(event, TextMessage) and event.message_finished
        got.add(event.data)
    assert got == {f"m{n}" for n in range(5)}


async def test_server_close_is_answered_and_sticks(nursery: trio.Nursery) -> None:
    connection, server = await connected(nursery)
    await server.send(CloseConnection(code=1001, reason="going away"))
    with pytest.raises(ConnectionClosed) as caught:
        await connection.receive_text()
    assert (caught.value.code, caught.value.reason) == (1001, "going away")
    assert connection.closed
    reply = await server.next_event()
    assert isinstance(reply, CloseConnection) and reply.code == 1001
    with pytest.raises(ConnectionClosed):
        await connection.receive_text()
    with pytest.raises(ConnectionClosed):
        await connection.send_text("late")


async def test_stream_end_without_close_is_1006(nursery: trio.Nursery) -> None:
    connection, server = await connected(nursery)
    await server.stream.aclose()
    with pytest.raises(ConnectionClosed) as caught:
        await connection.receive_text()
    assert caught.value.code == 1006


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\x8f\x00", 1002),  # reserved opcode
        (b"\x81\x02\xff\xfe", 1007),  # a text frame that is not UTF-8
    ],
)
async def test_broken_frames_close_with_the_protocol_code(nursery: trio.Nursery, frame: bytes, code: int) -> None:
    connection, server = await connected(nursery)
    await server.stream.send_all(frame)
    with pytest.raises(ConnectionClosed) as caught:
        await connection.receive_text()
    assert caught.value.code == code
    event = await server.next_event()
    assert isinstance(event, CloseConnection) and event.code == code
    with pytest.raises(ConnectionClosed):
        await connection.receive_text()


async def test_too_long_message_closes_with_1009(nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport, "MAX_MESSAGE_CHARS", 10)
    connection, server = await connected(nursery)
    await server.send(TextMessage(data="x" * 6, message_finished=False))
    await server.send(TextMessage(data="x" * 6, message_finished=True))
    with pytest.raises(ConnectionClosed) as caught:
        await connection.receive_text()
    assert caught.value.code == 1009
    event = await server.next_event()
    assert isinstance(event, CloseConnection) and event.code == 1009


async def test_aclose_sends_a_normal_close(nursery: trio.Nursery) -> None:
    connection, server = await connected(nursery)
    await connection.aclose()
    event = await server.next_event()
    assert isinstance(event, CloseConnection) and event.code == 1000
    await connection.aclose()  # idempotent
    with pytest.raises(ConnectionClosed):
        await connection.send_text("x")


async def test_refused_upgrade_raises_with_the_status() -> None:
    client_stream, server_stream = trio.testing.memory_stream_pair()
    server = Server(server_stream)

    async def refuse() -> None:
        assert isinstance(await server.next_event(), Request)
        await server.send(RejectConnection(status_code=403, has_body=True, headers=[(b"content-length", b"9")]))
        await server.send(RejectData(data=b"Forbidden", body_finished=True))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(refuse)
        with pytest.raises(HandshakeRefused) as caught:
            await handshake(client_stream, "localhost")
    assert caught.value.status == 403
    assert caught.value.body == b"Forbidden"
    assert "403" in str(caught.value)


async def test_refusal_without_body() -> None:
    client_stream, server_stream = trio.testing.memory_stream_pair()
    server = Server(server_stream)

    async def refuse() -> None:
        assert isinstance(await server.next_event(), Request)
        await server.send(RejectConnection(status_code=404))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(refuse)
        with pytest.raises(HandshakeRefused) as caught:
            await handshake(client_stream, "localhost")
    assert caught.value.status == 404


async def test_stream_ending_during_the_handshake() -> None:
    client_stream, server_stream = trio.testing.memory_stream_pair()
    await server_stream.aclose()
    with pytest.raises(ConnectionClosed):
        await handshake(client_stream, "localhost")


async def test_over_a_real_unix_socket(tmp_path: Path) -> None:
    path = tmp_path / "ws.sock"
    listener = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    await listener.bind(str(path))
    listener.listen(1)

    async def serve() -> None:
        sock, _ = await listener.accept()
        server = Server(trio.SocketStream(sock))
        await server.accept()
        event = await server.next_event()
        assert isinstance(event, TextMessage)
        await server.send(TextMessage(data=f"echo {event.data}", message_finished=False))
        await server.send(TextMessage(data="!", message_finished=True))
        await server.send(CloseConnection(code=1000))
        await server.next_event()  # the client's close reply
        await server.stream.aclose()

    with trio.fail_after(5), listener:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(serve)
            connection = await connect_unix(str(path))
            await connection.send_text("hi")
            assert await connection.receive_text() == "echo hi!"
            with pytest.raises(ConnectionClosed) as caught:
                await connection.receive_text()
            assert caught.value.code == 1000
