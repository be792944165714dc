"""Codex app-server JSON-RPC messages: classification, encoders, typed payload views (pure: no trio, no I/O).

Codex's messages carry **no** ``"jsonrpc"`` field (measured, codex-app-server.md §2); otherwise they are
JSON-RPC 2.0 shaped. Contracts:

* :func:`classify` turns one decoded JSON value into exactly one of :class:`Response`,
  :class:`ErrorResponse`, :class:`Notification`, :class:`ServerRequest` or :class:`Unknown`; it never
  raises, whatever the input. :func:`decode` does the same for raw text (bad JSON → :class:`Unknown`).
* ``encode_*`` return the text of one outgoing message (compact JSON, no ``"jsonrpc"`` field).
* :func:`view` gives the typed view (:mod:`.views`) of a notification or server request ccbot uses, or
  None for a method it does not use or a payload whose shape does not match (never raises).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from ccbot.codex.appserver.views import (
    AgentMessageDelta,
    CommandApprovalRequest,
    FileChangeApprovalRequest,
    ItemCompleted,
    ItemStarted,
    PendingRequest,
    RequestId,
    ServerRequestResolved,
    ShapeError,
    ThreadInfo,
    ThreadStarted,
    ThreadStatusChanged,
    TurnCompleted,
    TurnStarted,
    UserInputRequest,
    agent_message_delta,
    command_approval_request,
    file_change_approval_request,
    item_completed,
    item_started,
    server_request_resolved,
    thread_info,
    thread_started,
    thread_status_changed,
    turn_completed,
    turn_started,
    user_input_request,
)

JsonObject: TypeAlias = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Response:
    """The successful answer to our request ``id``."""

    id: RequestId
    result: object


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    """The error answer to our request ``id`` (None when the server could not tell which request)."""

    id: RequestId | None
    code: int
    message: str
    data: object = None


@dataclass(frozen=True, slots=True)
class Notification:
    """A server notification (no id, no answer expected)."""

    method: str
    params: JsonObject


@dataclass(frozen=True, slots=True)
class ServerRequest:
    """A server → client request: answer it with :func:`encode_response` carrying the same ``id``."""

    id: RequestId
    method: str
    params: JsonObject


@dataclass(frozen=True, slots=True)
class Unknown:
    """Anything else; ``reason`` says what did not fit. Log and ignore it."""

    raw: object
    reason: str


Message: TypeAlias = Response | ErrorResponse | Notification | ServerRequest | Unknown
Incoming: TypeAlias = Notification | ServerRequest
View: TypeAlias = (
    ThreadStarted
    | ThreadStatusChanged
    | TurnStarted
    | TurnCompleted
    | ItemStarted
    | ItemCompleted
    | AgentMessageDelta
    | CommandApprovalRequest
    | FileChangeApprovalRequest
    | UserInputRequest
    | ServerRequestResolved
)


def _request_id(value: object) -> RequestId | None:
    # bool is an int subclass, but true/false are not ids.
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    return value


def classify(raw: object) -> Message:
    """Classify one decoded JSON message (see the module docstring); never raises."""
    if not isinstance(raw, dict):
        return Unknown(raw, "not a JSON object")
    method = raw.get("method")
    has_id = "id" in raw
    if method is not None:
        if not isinstance(method, str):
            return Unknown(raw, "method is not a string")
        params = raw.get("params", {})
        if params is None:
            params = {}
        if not isinstance(params, dict):
            return Unknown(raw, "params is not an object")
        if not has_id:
            return Notification(method, params)
        request_id = _request_id(raw["id"])
        if request_id is None:
            return Unknown(raw, "request id is neither an integer nor a string")
        return ServerRequest(request_id, method, params)
    if "result" in raw:
        request_id = _request_id(raw.get("id"))
        if request_id is None:
            return Unknown(raw, "response id is neither an integer nor a string")
        return Response(request_id, raw["result"])
    if "error" in raw:
        error = raw["error"]
        if not isinstance(error, dict):
            return Unknown(raw, "error is not an object")
        code, message = error.get("code"), error.get("message")
        if isinstance(code, bool) or not isinstance(code, int) or not isinstance(message, str):
            return Unknown(raw, "error lacks an integer code or a string message")
        raw_id = raw.get("id")
        request_id = _request_id(raw_id)
        if request_id is None and raw_id is not None:
            return Unknown(raw, "error id is neither an integer, a string nor null")
        return ErrorResponse(request_id, code, message, error.get("data"))
    return Unknown(raw, "neither a request, a notification nor a response")


def decode(text: str | bytes) -> Message:
    """Parse one message's text and :func:`classify` it; invalid JSON gives :class:`Unknown`."""
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return Unknown(text, f"invalid JSON: {exc}")
    return classify(raw)


def _dump(message: Mapping[str, object]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def encode_request(request_id: RequestId, method: str, params: Mapping[str, object] | None = None) -> str:
    """A client request; ``params`` None sends ``{}`` (Codex requires ``params`` on requests)."""
    return _dump({"id": request_id, "method": method, "params": dict(params or {})})


def encode_notification(method: str, params: Mapping[str, object] | None = None) -> str:
    """A client notification; with ``params`` None the field is left out (``{"method":"initialized"}``)."""
    message: dict[str, object] = {"method": method}
    if params is not None:
        message["params"] = dict(params)
    return _dump(message)


def encode_response(request_id: RequestId, result: object) -> str:
    """Our answer to server request ``request_id``."""
    return _dump({"id": request_id, "result": result})


def encode_error_response(request_id: RequestId, code: int, message: str) -> str:
    """An error answer to server request ``request_id`` (e.g. -32601 for a method we do not handle)."""
    return _dump({"id": request_id, "error": {"code": code, "message": message}})


# -- requests ccbot sends: method names and their params -----------------------------------------------

INITIALIZE = "initialize"
INITIALIZED = "initialized"
THREAD_LOADED_LIST = "thread/loaded/list"
THREAD_RESUME = "thread/resume"
TURN_INTERRUPT = "turn/interrupt"
METHOD_NOT_FOUND = -32601


def initialize_params(name: str, version: str) -> JsonObject:
    """``initialize`` params naming this client."""
    return {"clientInfo": {"name": name, "version": version}}


def thread_loaded_list_params(cursor: str | None = None) -> JsonObject:
    """``thread/loaded/list`` params (one page after ``cursor``)."""
    return {} if cursor is None else {"cursor": cursor}


def thread_resume_params(thread_id: str, *, exclude_turns: bool = True) -> JsonObject:
    """``thread/resume`` params: rejoin a running thread (subscribes to its turn and item events).

    ``exclude_turns`` leaves the history out of the answer; without it Codex sends the whole history and a
    ``deprecationNotice`` ("Full-history hydration is deprecated", measured on 0.169).
    """
    return {"threadId": thread_id, "excludeTurns": exclude_turns}


def turn_interrupt_params(thread_id: str, turn_id: str) -> JsonObject:
    """``turn/interrupt`` params."""
    return {"threadId": thread_id, "turnId": turn_id}


def approval_result(decision: str | Mapping[str, object]) -> JsonObject:
    """The result answering ``item/commandExecution/requestApproval`` or ``item/fileChange/requestApproval``:
    ``{"decision": decision}`` (``decision`` is an offered ``ApprovalDecision.value``)."""
    return {"decision": decision if isinstance(decision, str) else dict(decision)}


def user_input_result(question_id: str, answer: str) -> JsonObject:
    """The result answering ``item/tool/requestUserInput`` for one question: ``{"answers": {question_id:
    {"answers": [answer]}}}`` (``ToolRequestUserInputResponse``; ``answer`` is the chosen option's label)."""
    return {"answers": {question_id: {"answers": [answer]}}}


def answer_result(request: PendingRequest, value: str | Mapping[str, object]) -> JsonObject:
    """The result answering ``request`` with one of its offered decisions' ``value``: a user-input request's
    single question gets ``value`` (an option's label) as its answer; an approval gets ``{"decision": value}``."""
    if isinstance(request, UserInputRequest):
        return user_input_result(request.questions[0].id, str(value))
    return approval_result(value)


# -- results ccbot reads -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InitializeResult:
    """``initialize`` result."""

    user_agent: str
    codex_home: str
    platform_family: str | None
    platform_os: str | None


@dataclass(frozen=True, slots=True)
class LoadedThreads:
    """``thread/loaded/list`` result: one page of loaded thread ids."""

    ids: tuple[str, ...]
    next_cursor: str | None


def initialize_result(result: object) -> InitializeResult | None:
    """The typed ``initialize`` result, or None when its shape does not match."""
    if not isinstance(result, dict):
        return None
    user_agent, home = result.get("userAgent"), result.get("codexHome")
    if not isinstance(user_agent, str) or not isinstance(home, str):
        return None
    family, system = result.get("platformFamily"), result.get("platformOs")
    return InitializeResult(
        user_agent, home, family if isinstance(family, str) else None, system if isinstance(system, str) else None
    )


def loaded_threads(result: object) -> LoadedThreads | None:
    """The typed ``thread/loaded/list`` result, or None when its shape does not match."""
    if not isinstance(result, dict):
        return None
    data, cursor = result.get("data"), result.get("nextCursor")
    if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
        return None
    return LoadedThreads(tuple(data), cursor if isinstance(cursor, str) else None)


def resumed_thread(result: object) -> ThreadInfo | None:
    """The thread in a ``thread/resume`` result (its ``path`` is the rollout), or None when its shape does
    not match."""
    thread = result.get("thread") if isinstance(result, dict) else None
    if not isinstance(thread, dict):
        return None
    try:
        return thread_info(thread)
    except ShapeError:
        return None


# -- notifications and server requests ccbot reads -----------------------------------------------------

_NOTIFICATION_VIEWS: dict[str, Callable[[Mapping[str, Any]], View]] = {
    "thread/started": thread_started,
    "thread/status/changed": thread_status_changed,
    "turn/started": turn_started,
    "turn/completed": turn_completed,
    "item/started": item_started,
    "item/completed": item_completed,
    "item/agentMessage/delta": agent_message_delta,
    "serverRequest/resolved": server_request_resolved,
}
_REQUEST_VIEWS: dict[str, Callable[[RequestId, Mapping[str, Any]], View]] = {
    "item/commandExecution/requestApproval": command_approval_request,
    "item/fileChange/requestApproval": file_change_approval_request,
    "item/tool/requestUserInput": user_input_request,
}
NOTIFICATION_METHODS = frozenset(_NOTIFICATION_VIEWS)
SERVER_REQUEST_METHODS = frozenset(_REQUEST_VIEWS)


def view(message: Incoming) -> View | None:
    """The typed view of a notification or server request (see the module docstring)."""
    try:
        if isinstance(message, ServerRequest):
            parse_request = _REQUEST_VIEWS.get(message.method)
            return None if parse_request is None else parse_request(message.id, message.params)
        parse = _NOTIFICATION_VIEWS.get(message.method)
        return None if parse is None else parse(message.params)
    except ShapeError:
        return None
