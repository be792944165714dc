"""JSON-RPC client over one :class:`~ccbot.codex.appserver.transport.WsConnection` to Codex's app-server.

The client opens no nursery: its reader loop is :meth:`AppServerClient.run`, which the owning actor starts
in its own nursery (``await nursery.start(client.run)``). Contract:

* :meth:`~AppServerClient.request` allocates an id (1, 2, …), sends the request and returns the matching
  ``result``; an error answer raises :class:`RequestFailed` (code, message); if the connection is lost
  (or already was) it raises :class:`ConnectionLost`. Cancelling a waiting caller forgets its id (a late
  answer is then logged and dropped).
* :meth:`~AppServerClient.notify` and :meth:`~AppServerClient.respond` only send.
* Notifications and server requests go, in arrival order, to the ``incoming`` channel given at
  construction (``run`` waits while it is full: back-pressure on the socket). ``run`` closes it when it ends.
* Unknown or unmatched messages are logged and ignored, never fatal.
* ``run`` returns when the connection ends (the peer closed it, the stream broke, a frame broke the
  protocol: logged, as a warning unless the close was normal) and raises only if reading itself fails (e.g.
  the ``incoming`` receiver was closed); either way every pending and later request fails with
  :class:`ConnectionLost`. Start ``run`` before the first request: answers are only read there.
* ``tap`` (optional) sees every message both ways as ``tap("in"|"out", decoded JSON)``, e.g. to record it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import structlog
import trio

from ccbot.codex.appserver.protocol import (
    ErrorResponse,
    Incoming,
    Notification,
    Response,
    ServerRequest,
    Unknown,
    decode,
    encode_notification,
    encode_request,
    encode_response,
)
from ccbot.codex.appserver.transport import ConnectionClosed, WsConnection, WsError
from ccbot.codex.appserver.views import RequestId

log = structlog.get_logger(__name__)

Tap = Callable[[str, object], None]


class AppServerError(Exception):
    """Base of the client's errors."""


class RequestFailed(AppServerError):
    """The server answered a request with an error."""

    def __init__(self, method: str, code: int, message: str, data: object = None) -> None:
        super().__init__(f"{method} failed ({code}): {message}")
        self.method = method
        self.code = code
        self.message = message
        self.data = data


class ConnectionLost(AppServerError):
    """The connection ended before the answer came (or before the request could be sent)."""


@dataclass(slots=True)
class _Pending:
    method: str
    done: trio.Event = field(default_factory=trio.Event)
    outcome: Response | ErrorResponse | None = None


class AppServerClient:
    """One JSON-RPC session over ``connection`` (see the module docstring)."""

    def __init__(
        self,
        connection: WsConnection,
        incoming: trio.MemorySendChannel[Incoming],
        *,
        tap: Tap | None = None,
    ) -> None:
        self._connection = connection
        self._incoming = incoming
        self._tap = tap
        self._pending: dict[RequestId, _Pending] = {}
        self._next_id = 1
        self._lost: str | None = None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Read and dispatch messages until the connection ends (see the module docstring)."""
        task_status.started()
        async with self._incoming:
            try:
                while True:
                    try:
                        text = await self._connection.receive_text()
                    except ConnectionClosed as exc:
                        self._lose(str(exc))
                        level = log.info if exc.code in (1000, 1001) else log.warning
                        level("app-server connection closed", code=exc.code, reason=exc.reason)
                        return
                    await self._dispatch(text)
            except BaseException as exc:
                self._lose(f"reader stopped: {exc!r}")
                raise

    async def _dispatch(self, text: str) -> None:
        message = decode(text)
        if self._tap is not None:
            self._tap("in", message.raw if isinstance(message, Unknown) else _raw(text))
        if isinstance(message, Notification | ServerRequest):
            await self._incoming.send(message)
        elif isinstance(message, Response | ErrorResponse):
            pending = self._pending.pop(message.id, None) if message.id is not None else None
            if pending is None:
                error = (message.code, message.message) if isinstance(message, ErrorResponse) else None
                log.warning("app-server answer to no pending request", id=message.id, error=error)
                return
            pending.outcome = message
            pending.done.set()
        else:
            log.warning("app-server message ignored", reason=message.reason, message=str(message.raw)[:500])

    def _lose(self, why: str) -> None:
        if self._lost is None:
            self._lost = why
        for pending in self._pending.values():
            pending.done.set()
        self._pending.clear()

    async def _send(self, text: str, message: Mapping[str, object]) -> None:
        if self._lost is not None:
            raise ConnectionLost(self._lost)
        if self._tap is not None:
            self._tap("out", dict(message))
        try:
            await self._connection.send_text(text)
        except WsError as exc:
            self._lose(str(exc))
            raise ConnectionLost(str(exc)) from exc

    async def request(self, method: str, params: Mapping[str, object] | None = None) -> object:
        """Send request ``method`` and return its ``result`` (see the module docstring)."""
        if self._lost is not None:
            raise ConnectionLost(self._lost)
        request_id = self._next_id
        self._next_id += 1
        pending = _Pending(method)
        self._pending[request_id] = pending
        try:
            text = encode_request(request_id, method, params)
            await self._send(text, {"id": request_id, "method": method, "params": dict(params or {})})
            await pending.done.wait()
        finally:
            self._pending.pop(request_id, None)
        outcome = pending.outcome
        if isinstance(outcome, Response):
            return outcome.result
        if isinstance(outcome, ErrorResponse):
            raise RequestFailed(method, outcome.code, outcome.message, outcome.data)
        raise ConnectionLost(self._lost or "connection lost")

    async def notify(self, method: str, params: Mapping[str, object] | None = None) -> None:
        """Send notification ``method`` (``params`` None leaves the field out)."""
        message: dict[str, object] = {"method": method}
        if params is not None:
            message["params"] = dict(params)
        await self._send(encode_notification(method, params), message)

    async def respond(self, request_id: RequestId, result: object) -> None:
        """Answer server request ``request_id`` with ``result``."""
        await self._send(encode_response(request_id, result), {"id": request_id, "result": result})

    async def aclose(self) -> None:
        """Close the connection; ``run`` then ends and pending requests fail with :class:`ConnectionLost`."""
        self._lose("closed by us")
        await self._connection.aclose()


def _raw(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text
