"""The mock OpenAI HTTP server: trio + h11, bound to 127.0.0.1 only.

Routes (a leading ``/v1`` is optional):

* ``POST /responses`` — SSE stream chosen by :func:`tools.mock_openai.script.plan_reply`.
* ``POST /audio/transcriptions`` — multipart ``model`` + ``file``; needs ``Authorization: Bearer …``.
* ``POST /responses/compact``, ``GET /models``, ``GET /health`` — served, unused by Codex 0.169.
* ``GET /__requests`` — the request log as a JSON array.

:func:`serve_mock_openai` runs until cancelled. A connection that breaks mid-stream (Codex interrupts
a turn by dropping it) is closed quietly; a bug in a handler answers 500 and is recorded in the log,
it never takes the server down.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h11
import trio

from tools.mock_openai.multipart import MultipartError, parse_multipart
from tools.mock_openai.script import HttpError, plan_reply
from tools.mock_openai.sse import build_events, encode

MAX_BODY = 64 * 1024 * 1024
IDLE_TIMEOUT = 300.0
REQUEST_TIMEOUT = 60.0
_SERVER_HEADER = ("server", "mock-openai")


class RequestLog:
    """Every request the server saw, oldest first, as JSON-able dicts; optionally mirrored to JSONL."""

    def __init__(self, path: Path | None = None) -> None:
        self.records: list[dict[str, Any]] = []
        self._path = path

    def add(self, record: dict[str, Any]) -> None:
        """Append a request as soon as it arrives; its dict is filled in while it is answered."""
        record["seq"] = len(self.records)
        self.records.append(record)

    def finish(self, record: dict[str, Any]) -> None:
        """The request is answered (or aborted): mirror it to the JSONL file."""
        if self._path is not None:
            with self._path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("kind") == kind]


class _Closed(Exception):
    """The client went away or broke the protocol; drop the connection."""


class _Connection:
    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)

    async def next_event(self) -> Any:
        while True:
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            try:
                data = await self.stream.receive_some(65536)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise _Closed from exc
            self.conn.receive_data(data)

    async def send(self, event: Any) -> None:
        data = self.conn.send(event)
        if data:
            try:
                await self.stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise _Closed from exc

    async def send_json(self, status: int, payload: Any, extra: list[tuple[str, str]] | None = None) -> None:
        body = json.dumps(payload).encode()
        headers = [("content-type", "application/json"), ("content-length", str(len(body))), _SERVER_HEADER]
        await self.send(h11.Response(status_code=status, headers=headers + (extra or [])))
        await self.send(h11.Data(data=body))
        await self.send(h11.EndOfMessage())


def _error_body(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _decode_json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


class MockOpenAI:
    """Request handling state: just the log (replies are stateless)."""

    def __init__(self, log: RequestLog) -> None:
        self.log = log

    async def handle(self, stream: trio.SocketStream) -> None:
        connection = _Connection(stream)
        try:
            while True:
                event: Any = None
                with trio.move_on_after(IDLE_TIMEOUT):
                    event = await connection.next_event()
                if not isinstance(event, h11.Request):
                    return
                with trio.fail_after(REQUEST_TIMEOUT):
                    body = await self._read_body(connection)
                await self._dispatch(connection, event, body)
                if connection.conn.our_state is not h11.DONE or connection.conn.their_state is not h11.DONE:
                    return
                connection.conn.start_next_cycle()
        except (_Closed, h11.RemoteProtocolError, h11.LocalProtocolError, trio.TooSlowError):
            pass
        finally:
            await stream.aclose()

    async def _read_body(self, connection: _Connection) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            event = await connection.next_event()
            if isinstance(event, h11.Data):
                size += len(event.data)
                if size > MAX_BODY:
                    raise _Closed
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return b"".join(chunks)
            else:
                raise _Closed

    async def _dispatch(self, connection: _Connection, request: h11.Request, body: bytes) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers}
        method = request.method.decode("ascii", "replace")
        target = request.target.decode("latin-1", "replace").split("?", 1)[0]
        path = target.removeprefix("/v1") or "/"
        record: dict[str, Any] = {"time": time.time(), "method": method, "path": target, "headers": headers}
        # Logged before answering, so a client that has read the whole answer always finds it.
        self.log.add(record)
        try:
            if method == "POST" and path == "/responses":
                await self._responses(connection, headers, body, record)
            elif method == "POST" and path == "/audio/transcriptions":
                await self._transcription(connection, headers, body, record)
            else:
                await self._simple(connection, method, path, body, record)
        except _Closed:
            record["aborted"] = True
            raise
        except Exception:
            # A mock bug must be visible in the log and as a 500, not kill every other connection.
            record["error"] = traceback.format_exc()
            record["status"] = 500
            if connection.conn.our_state is h11.SEND_RESPONSE:
                await connection.send_json(500, _error_body("mock server bug", "server_error"))
            else:
                raise _Closed from None
        finally:
            self.log.finish(record)

    async def _responses(
        self, connection: _Connection, headers: Mapping[str, str], raw: bytes, record: dict[str, Any]
    ) -> None:
        body = _decode_json(raw)
        record["body"] = body
        if not isinstance(body, dict):
            record["status"] = 400
            await connection.send_json(
                400, _error_body("body must be a JSON object", "invalid_request_error")
            )
            return
        plan = plan_reply(body, headers)
        record["kind"] = plan.kind
        record["prompt"] = plan.prompt
        record["reply"] = type(plan.action).__name__
        if isinstance(plan.action, HttpError):
            record["status"] = plan.action.status
            await connection.send_json(plan.action.status, _error_body(plan.action.message, "server_error"))
            return
        raw_model = body.get("model")
        model = raw_model if isinstance(raw_model, str) else "mock-model"
        events = build_events(plan, model=model, input_tokens=len(raw) // 4)
        record["status"] = 200
        await connection.send(
            h11.Response(
                status_code=200,
                headers=[
                    ("content-type", "text/event-stream"),
                    ("cache-control", "no-cache"),
                    ("transfer-encoding", "chunked"),
                    _SERVER_HEADER,
                ],
            )
        )
        streamed = 0
        deltas: list[tuple[float, int]] = record.setdefault("deltas", [])  # (trio time written, chars so far)
        for event in events:
            if event.delay > 0:
                await trio.sleep(event.delay)
            await connection.send(h11.Data(data=encode(event)))
            if event.event == "response.output_text.delta":
                streamed += len(str(event.data.get("delta", "")))
                deltas.append((trio.current_time(), streamed))
        await connection.send(h11.EndOfMessage())

    async def _transcription(
        self, connection: _Connection, headers: Mapping[str, str], body: bytes, record: dict[str, Any]
    ) -> None:
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth[len("Bearer ") :].strip():
            record["status"] = 401
            await connection.send_json(
                401,
                _error_body("Missing or invalid bearer token.", "invalid_request_error", "invalid_api_key"),
                [("www-authenticate", "Bearer")],
            )
            return
        try:
            fields = parse_multipart(body, headers.get("content-type", ""))
        except MultipartError as exc:
            record["status"] = 400
            await connection.send_json(400, _error_body(str(exc), "invalid_request_error"))
            return
        record["body"] = {
            name: {"filename": part.filename, "content_type": part.content_type, "size": len(part.data)}
            if part.filename is not None
            else part.data.decode("utf-8", "replace")
            for name, part in fields.items()
        }
        missing = [name for name in ("model", "file") if name not in fields]
        if missing:
            record["status"] = 400
            message = f"missing form field(s): {', '.join(missing)}"
            await connection.send_json(400, _error_body(message, "invalid_request_error"))
            return
        audio = fields["file"].data
        if audio.startswith(b"TRANSCRIPT:"):
            text = audio[len(b"TRANSCRIPT:") :].decode("utf-8", "replace").strip()
        else:
            text = f"mock transcript of {len(audio)} bytes"
        record["kind"] = "transcription"
        record["status"] = 200
        fmt = fields.get("response_format")
        if fmt is not None and fmt.data.decode("utf-8", "replace") == "text":
            payload = text.encode()
            await connection.send(
                h11.Response(
                    status_code=200,
                    headers=[
                        ("content-type", "text/plain; charset=utf-8"),
                        ("content-length", str(len(payload))),
                        _SERVER_HEADER,
                    ],
                )
            )
            await connection.send(h11.Data(data=payload))
            await connection.send(h11.EndOfMessage())
            return
        await connection.send_json(200, {"text": text})

    async def _simple(
        self, connection: _Connection, method: str, path: str, body: bytes, record: dict[str, Any]
    ) -> None:
        status = 200
        payload: Any = None
        if method == "GET" and path == "/__requests":
            payload = [r for r in self.log.records if r is not record]
        elif method == "GET" and path == "/health":
            payload = {"status": "ok"}
        elif method == "GET" and path == "/models":
            payload = {
                "object": "list",
                "data": [{"id": "mock-model", "object": "model", "owned_by": "mock"}],
            }
        elif method == "POST" and path == "/responses/compact":
            record["body"] = _decode_json(body)
            record["kind"] = "compact_endpoint"
            summary = {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Mock compaction summary."}],
            }
            payload = {"output": [summary]}
        else:
            status, payload = (
                404,
                _error_body(f"no route for {method} {record['path']}", "invalid_request_error"),
            )
        record["status"] = status
        await connection.send_json(status, payload)


async def serve_mock_openai(
    *,
    port: int = 0,
    log: RequestLog | None = None,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve on ``127.0.0.1:port`` (0 = any free port) until cancelled.

    ``task_status.started(port)`` reports the bound port. Pass ``log`` to inspect requests in-process.
    """
    server = MockOpenAI(log if log is not None else RequestLog())
    listeners = await trio.open_tcp_listeners(port, host="127.0.0.1")
    bound = listeners[0].socket.getsockname()[1]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.serve_listeners, server.handle, listeners)
        task_status.started(bound)
