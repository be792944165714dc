"""Serve a :class:`FakeTelegram` over HTTP/1.1 on 127.0.0.1 with trio + h11.

``serve_fakegram`` runs until cancelled (connection tasks live in its own nursery, so cancelling
it stops everything). ``running_fakegram`` wraps it as an async context manager yielding the port.
"""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import h11
import trio

from .fake import FakeTelegram, HttpResponse, json_response

HOST = "127.0.0.1"
_READ_SIZE = 65536
_MAX_BODY = 60 << 20


async def serve_fakegram(
    fake: FakeTelegram, *, port: int = 0, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED
) -> None:
    """Listen on 127.0.0.1:``port`` (0: any free port), report the port via ``task_status``."""
    async with trio.open_nursery() as nursery:
        listeners: list[trio.SocketListener] = await nursery.start(
            partial(trio.serve_tcp, partial(_serve_connection, fake), port, host=HOST)
        )
        task_status.started(listeners[0].socket.getsockname()[1])


@asynccontextmanager
async def running_fakegram(fake: FakeTelegram, *, port: int = 0) -> AsyncIterator[int]:
    """``async with running_fakegram(fake) as port:``; the server stops when the block exits."""
    async with trio.open_nursery() as nursery:
        bound: int = await nursery.start(partial(serve_fakegram, fake, port=port))
        try:
            yield bound
        finally:
            nursery.cancel_scope.cancel()


async def _serve_connection(fake: FakeTelegram, stream: trio.SocketStream) -> None:
    conn = h11.Connection(h11.SERVER)
    try:
        while True:
            request = await _next_event(conn, stream)
            if not isinstance(request, h11.Request):
                return
            body = bytearray()
            while True:
                event = await _next_event(conn, stream)
                if isinstance(event, h11.Data):
                    body += event.data
                    if len(body) > _MAX_BODY:
                        await _send(
                            conn,
                            stream,
                            json_response(
                                413,
                                {"ok": False, "error_code": 413, "description": "Request Entity Too Large"},
                            ),
                        )
                        return
                elif isinstance(event, h11.EndOfMessage):
                    break
                else:
                    return
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers}
            try:
                response = await fake.handle_http(
                    request.method.decode("ascii"), request.target.decode("latin-1"), headers, bytes(body)
                )
            except Exception:
                fake.internal_errors.append(traceback.format_exc())
                response = json_response(
                    500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
                )
            if response is None:
                return  # injected drop: close without answering
            await _send(conn, stream, response)
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                return
            conn.start_next_cycle()
    except (trio.BrokenResourceError, trio.ClosedResourceError, h11.RemoteProtocolError):
        return
    finally:
        await trio.aclose_forcefully(stream)


async def _next_event(conn: h11.Connection, stream: trio.SocketStream) -> object:
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await stream.receive_some(_READ_SIZE))
            continue
        return event


async def _send(conn: h11.Connection, stream: trio.SocketStream, response: HttpResponse) -> None:
    headers = [
        ("content-type", response.content_type),
        ("content-length", str(len(response.body))),
        ("server", "fakegram"),
    ]
    data = conn.send(h11.Response(status_code=response.status, headers=headers))
    data = (data or b"") + (conn.send(h11.Data(data=response.body)) or b"")
    data += conn.send(h11.EndOfMessage()) or b""
    await stream.send_all(data)
