"""Typed views of the app-server payloads ccbot uses (pure), checked against Codex 0.169/0.171's schema.

Each ``parse`` function takes a message's ``params`` object and returns a frozen dataclass, or raises
:class:`ShapeError` when a field the view needs is missing or has the wrong type. Fields the schema marks
optional become None / empty; unknown extra fields are ignored (Codex adds fields often).
:func:`ccbot.codex.appserver.protocol.view` catches :class:`ShapeError` and gives None.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeAlias

from ccbot.codex.jsonfields import get_int, get_str

RequestId: TypeAlias = int | str

# Offered when a request carries no ``availableDecisions``. Codex 0.169/0.171 send that list on the wire for
# commands (e.g. accept, acceptWithExecpolicyAmendment, cancel) although their generated schema does not declare
# it; file-change requests come without it (measured). The values and order of both decision enums.
FALLBACK_DECISIONS = ("accept", "acceptForSession", "decline", "cancel")
EXECPOLICY_DECISION = "acceptWithExecpolicyAmendment"


class ShapeError(ValueError):
    """A payload lacks a field a view needs, or has it with another type."""


def _str(params: Mapping[str, Any], key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str):
        raise ShapeError(f"{key} is not a string")
    return value


def _obj(params: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = params.get(key)
    if not isinstance(value, dict):
        raise ShapeError(f"{key} is not an object")
    return value


def _request_id(params: Mapping[str, Any], key: str) -> RequestId:
    value = params.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ShapeError(f"{key} is not a request id")
    return value


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str))


@dataclass(frozen=True, slots=True)
class ThreadStatus:
    """``type``: notLoaded | idle | systemError | active; ``active_flags`` e.g. ``waitingOnApproval``."""

    type: str
    active_flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ThreadInfo:
    """The parts of a ``Thread`` ccbot uses. The user's thread has a ``path`` and ``thread_source`` "user"
    (a title-generation side thread may be loaded too)."""

    id: str
    cwd: str
    path: str | None
    thread_source: str | None
    status: ThreadStatus
    name: str | None
    preview: str


@dataclass(frozen=True, slots=True)
class TurnInfo:
    """A ``Turn``: ``status`` is completed | interrupted | failed | inProgress."""

    id: str
    status: str
    error_message: str | None


@dataclass(frozen=True, slots=True)
class UserMessageItem:
    """A ``userMessage`` item: what the user sent, as text."""

    id: str
    text: str  # the text parts joined by newlines; images and other inputs are left out


@dataclass(frozen=True, slots=True)
class AgentMessageItem:
    """An ``agentMessage`` item: Codex's text; ``phase`` as the server gives it (None when absent)."""

    id: str
    text: str
    phase: str | None


@dataclass(frozen=True, slots=True)
class CommandExecutionItem:
    """``status`` is inProgress | completed | failed | declined."""

    id: str
    command: str
    cwd: str
    status: str
    exit_code: int | None
    output: str | None


@dataclass(frozen=True, slots=True)
class FileChange:
    """One file of a ``fileChange`` item. ``kind``: add | delete | update (``move_path`` set when an update
    also renames). ``diff`` as Codex gives it: the new file's text for add (measured), a unified diff for
    update."""

    path: str
    kind: str
    diff: str
    move_path: str | None = None


@dataclass(frozen=True, slots=True)
class FileChangeItem:
    """A ``fileChange`` item (an ``apply_patch``): ``status`` inProgress | completed | failed | declined."""

    id: str
    status: str
    changes: tuple[FileChange, ...]


@dataclass(frozen=True, slots=True)
class OtherItem:
    """Any other item type (reasoning, webSearch, …), kept by type and id only."""

    id: str
    type: str


Item: TypeAlias = UserMessageItem | AgentMessageItem | CommandExecutionItem | FileChangeItem | OtherItem


@dataclass(frozen=True, slots=True)
class ThreadStarted:
    """``thread/started``: a thread was started or loaded."""

    thread: ThreadInfo


@dataclass(frozen=True, slots=True)
class ThreadStatusChanged:
    """``thread/status/changed``: thread ``thread_id`` has a new status."""

    thread_id: str
    status: ThreadStatus


@dataclass(frozen=True, slots=True)
class TurnStarted:
    """``turn/started`` in thread ``thread_id``."""

    thread_id: str
    turn: TurnInfo


@dataclass(frozen=True, slots=True)
class TurnCompleted:
    """``turn/completed`` in thread ``thread_id`` (``turn.status`` says how it ended)."""

    thread_id: str
    turn: TurnInfo


@dataclass(frozen=True, slots=True)
class ItemStarted:
    """``item/started``: an item of turn ``turn_id`` began."""

    thread_id: str
    turn_id: str
    item: Item


@dataclass(frozen=True, slots=True)
class ItemCompleted:
    """``item/completed``: an item of turn ``turn_id`` is final."""

    thread_id: str
    turn_id: str
    item: Item


@dataclass(frozen=True, slots=True)
class AgentMessageDelta:
    """A piece of an agent message's text; the pieces of one ``item_id`` concatenate to its final text."""

    thread_id: str
    turn_id: str
    item_id: str
    delta: str


@dataclass(frozen=True, slots=True)
class ApprovalDecision:
    """One decision offered: ``name`` (``accept``, ``acceptForSession``, ``acceptWithExecpolicyAmendment``,
    ``decline``, ``cancel``, …) and ``value``, the exact JSON to send back as ``decision``."""

    name: str
    value: str | Mapping[str, Any]


class _Offers:
    """What every approval request view shares: ``request_id``, ``thread_id``, the offered ``decisions`` (in
    Codex's order) and :meth:`decision`. Answer with ``{"decision": decision(name).value}``."""

    __slots__ = ()
    request_id: RequestId
    thread_id: str
    decisions: tuple[ApprovalDecision, ...]

    def decision(self, name: str) -> ApprovalDecision | None:
        """The offered decision called ``name``, or None when it is not offered."""
        return next((d for d in self.decisions if d.name == name), None)


@dataclass(frozen=True, slots=True)
class CommandApprovalRequest(_Offers):
    """``item/commandExecution/requestApproval``: answer with ``{"decision": decisions[i].value}``.

    ``decisions`` are the request's ``availableDecisions`` in order; when it has none, the schema's plain
    decisions (:data:`FALLBACK_DECISIONS`, with ``acceptWithExecpolicyAmendment`` carrying the proposed
    ``execpolicy_amendment`` after ``acceptForSession`` when there is one). The "always" variants are
    ``acceptForSession`` and ``acceptWithExecpolicyAmendment``.
    """

    request_id: RequestId
    thread_id: str
    turn_id: str
    item_id: str
    command: str | None  # as run, e.g. "/bin/bash -c 'touch x'" (measured)
    cwd: str | None
    reason: str | None
    decisions: tuple[ApprovalDecision, ...]
    actions: tuple[str, ...]  # commandActions[].command, the parsed commands for display ("touch x")
    execpolicy_amendment: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FileChangeApprovalRequest(_Offers):
    """``item/fileChange/requestApproval``: answer with ``{"decision": decisions[i].value}``.

    The request names the ``fileChange`` item (``item_id``) but carries no changes (measured, 0.169/0.171):
    those come from that item's ``item/started``, which arrives first; :meth:`with_changes` adds them
    (``changes`` is empty until then). ``decisions``: ``availableDecisions`` when sent, else the schema's
    ``FileChangeApprovalDecision`` values in order (:data:`FALLBACK_DECISIONS`). ``grant_root``: a folder
    Codex asks to be allowed to write under for the session (schema: unstable).
    """

    request_id: RequestId
    thread_id: str
    turn_id: str
    item_id: str
    reason: str | None
    grant_root: str | None
    decisions: tuple[ApprovalDecision, ...]
    changes: tuple[FileChange, ...] = ()

    def with_changes(self, changes: tuple[FileChange, ...]) -> FileChangeApprovalRequest:
        """The same request showing ``changes`` (those of the item it names)."""
        return replace(self, changes=changes)


ApprovalRequest: TypeAlias = CommandApprovalRequest | FileChangeApprovalRequest


@dataclass(frozen=True, slots=True)
class UserInputOption:
    """One choice of a ``request_user_input`` question."""

    label: str
    description: str


@dataclass(frozen=True, slots=True)
class UserInputQuestion:
    """One question: ``is_other`` means Codex's own UI adds a free-form "None of the above" choice (set by
    Codex on every question, measured 0.169/0.171); ``is_secret`` asks for a hidden answer."""

    id: str
    header: str
    question: str
    options: tuple[UserInputOption, ...]
    is_other: bool = False
    is_secret: bool = False


@dataclass(frozen=True, slots=True)
class UserInputRequest(_Offers):
    """``item/tool/requestUserInput`` (experimental; Codex sends it only in Plan mode, measured 0.169/0.171):
    the model's ``request_user_input`` call (``item_id`` is its call id) asks one to three questions.

    ``decisions``: one per option of the *single* question, named and valued by the option's label (what the
    TUI sends back too, measured); none when there are several questions or the question has no options (those
    are left to the terminal). Answer with ``{"answers": {questions[0].id: {"answers": [decision.value]}}}``.
    """

    request_id: RequestId
    thread_id: str
    turn_id: str
    item_id: str
    questions: tuple[UserInputQuestion, ...]
    is_blocking: bool
    decisions: tuple[ApprovalDecision, ...]


PendingRequest: TypeAlias = ApprovalRequest | UserInputRequest


@dataclass(frozen=True, slots=True)
class ServerRequestResolved:
    """Another client (or the server) answered server request ``request_id`` first."""

    thread_id: str
    request_id: RequestId


def thread_status(value: object) -> ThreadStatus:
    """The ``ThreadStatus`` of a status object. Raises ShapeError."""
    if not isinstance(value, dict):
        raise ShapeError("status is not an object")
    return ThreadStatus(_str(value, "type"), _strings(value.get("activeFlags")))


def thread_info(value: Mapping[str, Any]) -> ThreadInfo:
    """The ``ThreadInfo`` of a ``Thread`` object. Raises ShapeError."""
    return ThreadInfo(
        id=_str(value, "id"),
        cwd=_str(value, "cwd"),
        path=get_str(value, "path"),
        thread_source=get_str(value, "threadSource"),
        status=thread_status(value.get("status")),
        name=get_str(value, "name"),
        preview=get_str(value, "preview") or "",
    )


def turn_info(value: Mapping[str, Any]) -> TurnInfo:
    """The ``TurnInfo`` of a ``Turn`` object (its error's message, if any). Raises ShapeError."""
    error = value.get("error")
    message = get_str(error, "message") if isinstance(error, dict) else None
    return TurnInfo(_str(value, "id"), _str(value, "status"), message)


def item(value: Mapping[str, Any]) -> Item:
    """The typed thread item (``userMessage``, ``agentMessage``, ``commandExecution``, else OtherItem)."""
    kind, item_id = _str(value, "type"), _str(value, "id")
    if kind == "userMessage":
        content = value.get("content")
        parts = content if isinstance(content, list) else []
        texts = [p["text"] for p in parts if isinstance(p, dict) and p.get("type") == "text" and "text" in p]
        return UserMessageItem(item_id, "\n".join(t for t in texts if isinstance(t, str)))
    if kind == "agentMessage":
        return AgentMessageItem(item_id, _str(value, "text"), get_str(value, "phase"))
    if kind == "commandExecution":
        return CommandExecutionItem(
            id=item_id,
            command=_str(value, "command"),
            cwd=_str(value, "cwd"),
            status=_str(value, "status"),
            exit_code=get_int(value, "exitCode"),
            output=get_str(value, "aggregatedOutput"),
        )
    if kind == "fileChange":
        return FileChangeItem(item_id, _str(value, "status"), _changes(value.get("changes")))
    return OtherItem(item_id, kind)


def _changes(value: object) -> tuple[FileChange, ...]:
    """``FileUpdateChange`` objects; an entry without a string path, kind type or diff is left out."""
    if not isinstance(value, list):
        return ()
    found: list[FileChange] = []
    for entry in value:
        kind = entry.get("kind") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or not isinstance(kind, dict):
            continue
        path, kind_type, diff = entry.get("path"), kind.get("type"), entry.get("diff")
        if isinstance(path, str) and isinstance(kind_type, str) and isinstance(diff, str):
            found.append(FileChange(path, kind_type, diff, get_str(kind, "move_path")))
    return tuple(found)


def thread_started(params: Mapping[str, Any]) -> ThreadStarted:
    """The view of a ``thread/started`` notification's params. Raises ShapeError."""
    return ThreadStarted(thread_info(_obj(params, "thread")))


def thread_status_changed(params: Mapping[str, Any]) -> ThreadStatusChanged:
    """The view of a ``thread/status/changed`` notification's params. Raises ShapeError."""
    return ThreadStatusChanged(_str(params, "threadId"), thread_status(params.get("status")))


def turn_started(params: Mapping[str, Any]) -> TurnStarted:
    """The view of a ``turn/started`` notification's params. Raises ShapeError."""
    return TurnStarted(_str(params, "threadId"), turn_info(_obj(params, "turn")))


def turn_completed(params: Mapping[str, Any]) -> TurnCompleted:
    """The view of a ``turn/completed`` notification's params. Raises ShapeError."""
    return TurnCompleted(_str(params, "threadId"), turn_info(_obj(params, "turn")))


def item_started(params: Mapping[str, Any]) -> ItemStarted:
    """The view of an ``item/started`` notification's params. Raises ShapeError."""
    return ItemStarted(_str(params, "threadId"), _str(params, "turnId"), item(_obj(params, "item")))


def item_completed(params: Mapping[str, Any]) -> ItemCompleted:
    """The view of an ``item/completed`` notification's params. Raises ShapeError."""
    return ItemCompleted(_str(params, "threadId"), _str(params, "turnId"), item(_obj(params, "item")))


def agent_message_delta(params: Mapping[str, Any]) -> AgentMessageDelta:
    """The view of an ``item/agentMessage/delta`` notification's params. Raises ShapeError."""
    return AgentMessageDelta(
        _str(params, "threadId"), _str(params, "turnId"), _str(params, "itemId"), _str(params, "delta")
    )


def command_approval_request(request_id: RequestId, params: Mapping[str, Any]) -> CommandApprovalRequest:
    """The view of server request ``request_id`` (``item/commandExecution/requestApproval``). Raises ShapeError."""
    amendment = _strings(params.get("proposedExecpolicyAmendment"))
    decisions = _offered(params.get("availableDecisions"))
    if not decisions:
        names = list(FALLBACK_DECISIONS)
        decisions = tuple(ApprovalDecision(name, name) for name in names)
        if amendment:
            extra = ApprovalDecision(
                EXECPOLICY_DECISION, {EXECPOLICY_DECISION: {"execpolicy_amendment": list(amendment)}}
            )
            decisions = (*decisions[:2], extra, *decisions[2:])
    return CommandApprovalRequest(
        request_id=request_id,
        thread_id=_str(params, "threadId"),
        turn_id=_str(params, "turnId"),
        item_id=_str(params, "itemId"),
        command=get_str(params, "command"),
        cwd=get_str(params, "cwd"),
        reason=get_str(params, "reason"),
        decisions=decisions,
        actions=_action_commands(params.get("commandActions")),
        execpolicy_amendment=amendment,
    )


def file_change_approval_request(request_id: RequestId, params: Mapping[str, Any]) -> FileChangeApprovalRequest:
    """The view of server request ``request_id`` (``item/fileChange/requestApproval``), without changes (see
    :class:`FileChangeApprovalRequest`). Raises ShapeError."""
    decisions = _offered(params.get("availableDecisions")) or tuple(
        ApprovalDecision(name, name) for name in FALLBACK_DECISIONS)
    return FileChangeApprovalRequest(
        request_id=request_id,
        thread_id=_str(params, "threadId"),
        turn_id=_str(params, "turnId"),
        item_id=_str(params, "itemId"),
        reason=get_str(params, "reason"),
        grant_root=get_str(params, "grantRoot"),
        decisions=decisions,
    )


def user_input_request(request_id: RequestId, params: Mapping[str, Any]) -> UserInputRequest:
    """The view of server request ``request_id`` (``item/tool/requestUserInput``). A question without a string
    id, header or question text makes it a ShapeError; an option without a string label is left out."""
    raw = params.get("questions")
    if not isinstance(raw, list) or not raw:
        raise ShapeError("questions is not a non-empty array")
    questions = tuple(_question(entry) for entry in raw)
    only = questions[0] if len(questions) == 1 else None
    decisions = tuple(ApprovalDecision(o.label, o.label) for o in only.options) if only is not None else ()
    return UserInputRequest(
        request_id=request_id,
        thread_id=_str(params, "threadId"),
        turn_id=_str(params, "turnId"),
        item_id=_str(params, "itemId"),
        questions=questions,
        is_blocking=params.get("isBlocking") is not False,
        decisions=decisions,
    )


def _question(value: object) -> UserInputQuestion:
    if not isinstance(value, dict):
        raise ShapeError("a question is not an object")
    options = value.get("options")
    return UserInputQuestion(
        id=_str(value, "id"),
        header=_str(value, "header"),
        question=_str(value, "question"),
        options=tuple(
            UserInputOption(o["label"], get_str(o, "description") or "")
            for o in (options if isinstance(options, list) else ())
            if isinstance(o, dict) and isinstance(o.get("label"), str)
        ),
        is_other=value.get("isOther") is True,
        is_secret=value.get("isSecret") is True,
    )


def _action_commands(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(a["command"] for a in value if isinstance(a, dict) and isinstance(a.get("command"), str))


def _offered(value: object) -> tuple[ApprovalDecision, ...]:
    """``availableDecisions``: strings, or objects with exactly one key naming the decision."""
    if not isinstance(value, list):
        return ()
    offered: list[ApprovalDecision] = []
    for entry in value:
        if isinstance(entry, str):
            offered.append(ApprovalDecision(entry, entry))
        elif isinstance(entry, dict) and len(entry) == 1:
            name = next(iter(entry))
            if isinstance(name, str):
                offered.append(ApprovalDecision(name, entry))
    return tuple(offered)


def server_request_resolved(params: Mapping[str, Any]) -> ServerRequestResolved:
    """The view of a ``serverRequest/resolved`` notification's params. Raises ShapeError."""
    return ServerRequestResolved(_str(params, "threadId"), _request_id(params, "requestId"))
