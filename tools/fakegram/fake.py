"""``FakeTelegram``: the fake Bot API's state and behaviour, independent of any transport.

Entry points:

* :meth:`FakeTelegram.handle_http` answers one HTTP request (used by the h11 server in
  ``server.py`` and by :meth:`FakeTelegram.mock_transport` for in-process httpx clients).
* :meth:`FakeTelegram.call` calls a bot method directly from Python (raises ApiError on failure).
* The control API (``control.py``) drives the user side; :meth:`wait_for` waits on any change.

Routes: ``/bot<token>/<method>`` (method case-insensitive), ``/file/bot<token>/<file_path>``,
``/_control/<name>`` (JSON kwargs in, JSON out; see ``control_http.py``). The token picks which of
the fake's bots (the constructor's one, or one added with ``add_bot``) makes the call.
"""

from __future__ import annotations

import inspect
import json
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import unquote, urlsplit

import httpx
import trio

from . import errors as E
from .budget import Throttle
from .control import Control
from .errors import ApiError, too_many_requests
from .faults import Fault, FaultKind
from .methods import BOT_METHODS, BotMethods
from .model import BotAccount, CallRecord
from .params import Params, UploadedFile, parse_params

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    body: bytes
    content_type: str = "application/json"


def _chat_param(params: Params) -> int | None:
    """The call's ``chat_id`` as an int, when it has a numeric one (for chat-scoped faults)."""
    raw = params.raw("chat_id")
    try:
        return int(str(raw)) if raw is not None else None
    except ValueError:
        return None


def json_response(status: int, body: object) -> HttpResponse:
    return HttpResponse(status, json.dumps(body, ensure_ascii=False).encode())


def _error_response(exc: ApiError) -> HttpResponse:
    return json_response(exc.error_code, exc.envelope())


NOT_FOUND = {"ok": False, "error_code": 404, "description": "Not Found"}


class FakeTelegram(BotMethods, Control):
    """A fake Telegram Bot API server for one or more bots; see the package docstring for the model."""

    # --- HTTP ------------------------------------------------------------------------------------

    async def handle_http(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> HttpResponse | None:
        """Answer one request; None means "close the connection without answering"."""
        split = urlsplit(target)
        path = unquote(split.path)
        if path.startswith("/bot"):
            token, _, name = path[len("/bot") :].partition("/")
            params = parse_params(split.query, headers.get("content-type"), body)
            bot = self.bot_for_token(token)
            if bot is None:
                self._record(name, params, 401, "Unauthorized", self.now(), None)
                return json_response(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            return await self.call_bot(name, params, bot)
        if path.startswith("/file/bot"):
            token, _, file_path = path[len("/file/bot") :].partition("/")
            if self.bot_for_token(token) is None:
                return json_response(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            stored = self.files_by_path.get(file_path)
            if stored is None:
                return json_response(404, NOT_FOUND)
            return HttpResponse(200, stored.data, stored.mime_type or "application/octet-stream")
        if path.startswith("/_control/"):
            from .control_http import handle_control

            return await handle_control(self, path[len("/_control/") :], body)
        return json_response(404, NOT_FOUND)

    async def call_bot(self, name: str, params: Params, bot: BotAccount | None = None) -> HttpResponse | None:
        """Run one bot method as ``bot`` (None: the default bot) with fault injection and call logging."""
        bot = bot or self.default_bot
        started = self.now()
        entry = BOT_METHODS.get(name.lower())
        if entry is None:
            self._record(name, params, 404, E.METHOD_NOT_FOUND, started, bot.id)
            return json_response(404, {"ok": False, "error_code": 404, "description": E.METHOD_NOT_FOUND})
        canonical, handler = entry
        fault = self.faults.take(canonical, bot.id, _chat_param(params))
        if fault is not None:
            if fault.kind == "drop":
                self._record(canonical, params, 0, "dropped before handling", started, bot.id)
                return None
            if fault.kind == "slow":
                await trio.sleep(fault.delay)
            elif fault.kind != "drop_after":
                exc = _fault_error(fault)
                if fault.kind == "429":
                    self.record_throttle(Throttle(
                        started, bot.id, params.get_int("chat_id"), params.get_int("message_thread_id"),
                        canonical, fault.retry_after, "injected",
                    ))
                self._record(canonical, params, exc.error_code, exc.description, started, bot.id)
                return _error_response(exc)
        try:
            result = handler(self, bot, params)
            if inspect.isawaitable(result):
                result = await result
        except ApiError as exc:
            response = _error_response(exc)
            description: str | None = exc.description
        except Exception:
            self.internal_errors.append(traceback.format_exc())
            response = json_response(
                500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
            )
            description = "Internal Server Error"
        else:
            response = json_response(200, {"ok": True, "result": result})
            description = None
        if fault is not None and fault.kind == "drop_after":
            self._record(canonical, params, 0, "dropped after handling", started, bot.id)
            return None
        self._record(canonical, params, response.status, description, started, bot.id)
        return response

    def _record(
        self,
        method: str,
        params: Params,
        status: int,
        description: str | None,
        started: float,
        bot_id: int | None,
    ) -> None:
        self.calls.append(
            CallRecord(method, params.summary(), status, description, started, self.now(), bot_id)
        )
        self.notify()

    # --- in-process use --------------------------------------------------------------------------

    async def call(self, method: str, /, **params: object) -> object:
        """Call a bot method as the default bot without HTTP; uploads are ``UploadedFile`` values.

        Returns the ``result``; raises :class:`ApiError` for an error response and
        ``ConnectionError`` for an injected drop.
        """
        return await self.call_as(self.default_bot.id, method, **params)

    async def call_as(self, bot_id: int, method: str, /, **params: object) -> object:
        """Like :meth:`call`, as the bot ``bot_id`` (``ControlError`` if there is no such bot)."""
        bot = self.bot_account(bot_id)
        values = {k: v for k, v in params.items() if not isinstance(v, UploadedFile) and v is not None}
        files = {k: v for k, v in params.items() if isinstance(v, UploadedFile)}
        response = await self.call_bot(method, Params(values, files), bot)
        if response is None:
            raise ConnectionError("fakegram dropped the connection")
        body = json.loads(response.body)
        if not body["ok"]:
            raise ApiError(body["error_code"], body["description"], body.get("parameters"))
        return body["result"]

    def mock_transport(self) -> httpx.MockTransport:
        """An httpx transport answering from this fake in-process (works under autojump_clock)."""

        async def handler(request: httpx.Request) -> httpx.Response:
            body = await request.aread()
            target = request.url.raw_path.decode("ascii")
            response = await self.handle_http(request.method, target, request.headers, body)
            if response is None:
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response.", request=request
                )
            return httpx.Response(
                response.status, headers={"content-type": response.content_type}, content=response.body
            )

        return httpx.MockTransport(handler)

    # --- faults and waiting ----------------------------------------------------------------------

    def inject(
        self,
        method: str = "*",
        kind: FaultKind = "429",
        count: int = 1,
        retry_after: int = 1,
        delay: float = 1.0,
        bot_id: int | None = None,
        description: str | None = None,
        chat_id: int | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``method`` (or any, ``"*"``) fail as ``kind``.

        ``bot_id`` limits the fault to one bot's calls (None: any bot's), ``chat_id`` to calls for
        that chat. A scripted fault is
        taken before the sending budget is looked at (it spends none); an injected 429 is kept in
        ``throttles`` with scope ``"injected"``.

        Kinds: 429 (``Too Many Requests: retry after N``), 500, 409, slow (answer after ``delay``
        seconds), drop (close without answering, request not handled), drop_after (handled, then
        closed without answering), 400 (Bad Request with ``description``).
        """
        fault = Fault(method.lower(), kind, count, retry_after, delay, bot_id, chat_id)
        if description is not None:
            fault.description = description
        self.faults.add(fault)
        self.notify()

    def clear_faults(self) -> None:
        self.faults.clear()
        self.notify()

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:  # noqa: ASYNC109
        """Re-check ``predicate`` after every change until it returns a truthy value.

        Returns that value; raises ``trio.TooSlowError`` after ``timeout`` seconds.
        """
        with trio.fail_after(timeout):
            while True:
                changed = self.change_event()
                result = predicate()
                if result:
                    return result
                await changed.wait()


def _fault_error(fault: Fault) -> ApiError:
    if fault.kind == "429":
        return too_many_requests(fault.retry_after)
    if fault.kind == "409":
        return ApiError(409, E.CONFLICT_POLL)
    if fault.kind == "400":
        return ApiError(400, fault.description)
    return ApiError(500, "Internal Server Error")
