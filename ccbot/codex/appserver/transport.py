"""A WebSocket client over one trio stream, for Codex's app-server (codex-app-server.md §2).

Codex's app-server speaks WebSocket on its unix socket (``GET /`` + ``Upgrade`` → 101) and on
``--listen ws://127.0.0.1:PORT``; every message is one JSON text message. The framing is wsproto's (sans-io):
this module only moves bytes between a trio stream and a ``wsproto.WSConnection``, so it starts no task of
its own — the single reader (whoever calls :meth:`WsConnection.receive_text`) is the owner's task.

Contract:

* :func:`connect_unix` / :func:`connect_tcp` open the stream (``OSError`` if that fails) and do the opening
  handshake; a refusal (e.g. 403 for a request with an ``Origin`` header) raises :class:`HandshakeRefused`
  with the status, a stream that ends or breaks meanwhile :class:`ConnectionClosed`, a garbled answer
  :class:`WsProtocolError`. No ``Origin`` header is ever sent.
* :meth:`WsConnection.receive_text` returns the next whole text message (fragments reassembled); it answers
  pings with pongs and skips binary messages on the way. When the peer closes it answers the close and raises
  :class:`ConnectionClosed` with the peer's code, and does so again on every later call. Other ends are
  :class:`ConnectionClosed` too, with the code saying why: 1006 the stream ended or broke, 1002 / 1007 a frame
  broke the protocol (bad framing, bad UTF-8), 1009 a message longer than :data:`MAX_MESSAGE_CHARS`; for
  those a close frame with that code is sent first (best effort).
* :meth:`WsConnection.send_text` may be called from several tasks at once (sends are serialised); after
  the connection closed it raises :class:`ConnectionClosed`.
* :meth:`WsConnection.aclose` sends a close frame (if still open) and closes the stream; idempotent.

Only one task may call :meth:`~WsConnection.receive_text` at a time (trio raises ``BusyResourceError``).
"""

from __future__ import annotations

import os

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Event,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

RECEIVE_SIZE = 65536
MAX_MESSAGE_CHARS = 64 * 1024 * 1024  # a thread/resume answer carries the whole history; be generous
MAX_REFUSAL_BODY = 4096


class WsError(Exception):
    """Base of every error this module raises."""


class HandshakeRefused(WsError):
    """The server answered the upgrade with a non-101 status (``status``; ``body``: its first bytes)."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"WebSocket upgrade refused with HTTP {status}: {body[:200]!r}")
        self.status = status
        self.body = body


class ConnectionClosed(WsError):
    """The WebSocket is closed (``code`` 1006 when the stream ended without a close frame)."""

    def __init__(self, code: int, reason: str | None = None) -> None:
        super().__init__(f"WebSocket closed (code {code}{': ' + reason if reason else ''})")
        self.code = code
        self.reason = reason


class WsProtocolError(WsError):
    """The answer to the opening handshake was not HTTP that wsproto understands."""


class WsConnection:
    """One client WebSocket over ``stream`` after a successful handshake (see the module docstring)."""

    def __init__(self, stream: trio.abc.Stream, ws: WSConnection) -> None:
        self._stream = stream
        self._ws = ws
        self._send_lock = trio.Lock()
        self._closed: ConnectionClosed | None = None
        self._parts: list[str] = []
        self._size = 0

    @property
    def closed(self) -> bool:
        """True once a close was seen or sent, or the stream ended."""
        return self._closed is not None

    async def send_text(self, text: str) -> None:
        """Send ``text`` as one text message."""
        if self._closed is not None:
            raise self._closed
        await self._send(TextMessage(data=text))

    async def receive_text(self) -> str:
        """The next complete text message (see the module docstring)."""
        while True:
            if self._closed is not None:
                raise self._closed
            for event in self._ws.events():
                message = await self._handle(event)
                if message is not None:
                    return message
            if self._closed is not None:
                continue
            try:
                data = await self._stream.receive_some(RECEIVE_SIZE)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                self._closed = ConnectionClosed(1006, f"stream failed: {exc}")
                raise self._closed from exc
            self._ws.receive_data(bytes(data) if data else None)

    async def _handle(self, event: Event) -> str | None:
        """React to one wsproto event; a whole text message is returned, anything else gives None."""
        if isinstance(event, TextMessage):
            self._parts.append(event.data)
            self._size += len(event.data)
            if self._size > MAX_MESSAGE_CHARS:
                await self._fail(1009, f"text message longer than {MAX_MESSAGE_CHARS} characters")
                return None
            if not event.message_finished:
                return None
            text = "".join(self._parts)
            self._parts.clear()
            self._size = 0
            return text
        if isinstance(event, Ping):
            await self._send(event.response())
        elif isinstance(event, CloseConnection):
            if self._ws.state is ConnectionState.REMOTE_CLOSING:
                self._closed = ConnectionClosed(event.code, event.reason)
                await self._send(event.response(), after_close=True)
                await self._close_stream()
            elif self._ws.state is ConnectionState.OPEN:
                # wsproto reports a frame it cannot parse (bad UTF-8, bad framing) as a close event
                # without changing state: the close frame is ours to send.
                await self._fail(event.code, event.reason or "protocol error")
            else:
                self._closed = ConnectionClosed(event.code, event.reason)
                await self._close_stream()
        # Binary messages: Codex sends JSON text only, so they are skipped on purpose; pongs need nothing.
        return None

    async def _fail(self, code: int, reason: str) -> None:
        """Close with ``code`` after a protocol failure on our side (best effort) and drop the stream."""
        self._closed = ConnectionClosed(code, reason)
        with trio.move_on_after(1) as scope:
            scope.shield = True
            await self._send(CloseConnection(code=code, reason=reason[:100]), after_close=True)
        await self._close_stream()

    async def _send(self, event: Event, *, after_close: bool = False) -> None:
        async with self._send_lock:
            if self._closed is not None and not after_close:
                raise self._closed
            try:
                data = self._ws.send(event)
            except LocalProtocolError as exc:
                raise ConnectionClosed(1006, f"cannot send: {exc}") from exc
            try:
                await self._stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                if after_close:
                    return
                self._closed = ConnectionClosed(1006, f"stream failed: {exc}")
                raise self._closed from exc

    async def _close_stream(self) -> None:
        with trio.move_on_after(1) as scope:
            scope.shield = True
            await self._stream.aclose()

    async def aclose(self) -> None:
        """Send a normal close (1000) if the connection is open, then close the stream."""
        if self._closed is None and self._ws.state is ConnectionState.OPEN:
            self._closed = ConnectionClosed(1000, "closed by us")
            with trio.move_on_after(1) as scope:
                scope.shield = True
                await self._send(CloseConnection(code=1000), after_close=True)
        if self._closed is None:
            self._closed = ConnectionClosed(1000, "closed by us")
        await self._close_stream()


async def handshake(stream: trio.abc.Stream, host: str, target: str = "/") -> WsConnection:
    """Do the client opening handshake on ``stream`` (no ``Origin`` header); close the stream on failure."""
    ws = WSConnection(ConnectionType.CLIENT)
    try:
        await stream.send_all(ws.send(Request(host=host, target=target)))
        status: int | None = None
        body = b""
        while True:
            for event in ws.events():
                if isinstance(event, AcceptConnection):
                    return WsConnection(stream, ws)
                if isinstance(event, RejectConnection):
                    status = event.status_code
                    if not event.has_body:
                        raise HandshakeRefused(status, body)
                elif isinstance(event, RejectData):
                    body = (body + event.data)[:MAX_REFUSAL_BODY]
                    if event.body_finished and status is not None:
                        raise HandshakeRefused(status, body)
            data = await stream.receive_some(RECEIVE_SIZE)
            if not data:
                if status is not None:
                    raise HandshakeRefused(status, body)
                raise ConnectionClosed(1006, "stream ended during the WebSocket handshake")
            ws.receive_data(bytes(data))
    except RemoteProtocolError as exc:
        await _abort(stream)
        raise WsProtocolError(f"bad handshake answer: {exc}") from exc
    except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
        await _abort(stream)
        raise ConnectionClosed(1006, f"stream failed during the WebSocket handshake: {exc}") from exc
    except BaseException:
        await _abort(stream)
        raise


async def _abort(stream: trio.abc.Stream) -> None:
    with trio.move_on_after(1) as scope:
        scope.shield = True
        await stream.aclose()


async def connect_unix(path: str | os.PathLike[str], *, host: str = "localhost") -> WsConnection:
    """Open the unix socket ``path`` and upgrade it (``GET /``, ``Host: host``)."""
    stream = await trio.open_unix_socket(path)
    return await handshake(stream, host)


async def connect_tcp(host: str, port: int) -> WsConnection:
    """Open ``host:port`` (bind only loopback in tests) and upgrade it (``GET /``, ``Host: host:port``)."""
    stream = await trio.open_tcp_stream(host, port)
    return await handshake(stream, f"{host}:{port}")
