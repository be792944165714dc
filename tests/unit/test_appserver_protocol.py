"""ccbot.codex.appserver.protocol / views: classification, encoders and typed views (pure)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ccbot.codex.appserver import protocol
from ccbot.codex.appserver.protocol import (
    ErrorResponse,
    Notification,
    Response,
    ServerRequest,
    Unknown,
    classify,
    decode,
)
from ccbot.codex.appserver.views import (
    AgentMessageItem,
    ApprovalDecision,
    CommandApprovalRequest,
    CommandExecutionItem,
    FileChange,
    FileChangeApprovalRequest,
    FileChangeItem,
    ItemCompleted,
    ItemStarted,
    OtherItem,
    ServerRequestResolved,
    ThreadStarted,
    ThreadStatusChanged,
    TurnCompleted,
    UserMessageItem,
)
from tests.conftest import DATA

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
message_like = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values,
        "method": st.sampled_from(["item/started", "turn/completed", "x"]) | json_values,
        "params": json_values,
        "result": json_values,
        "error": json_values
        | st.fixed_dictionaries({}, optional={"code": json_values, "message": json_values, "data": json_values}),
    },
)


@given(json_values | message_like)
def test_classify_never_raises(raw: object) -> None:
    message = classify(raw)
    assert isinstance(message, Response | ErrorResponse | Notification | ServerRequest | Unknown)


@given(st.text() | st.binary())
def test_decode_never_raises(text: str | bytes) -> None:
    assert isinstance(decode(text), Response | ErrorResponse | Notification | ServerRequest | Unknown)


@given(message_like.filter(lambda m: isinstance(m.get("method"), str)))
def test_view_never_raises(raw: dict[str, object]) -> None:
    message = classify(raw)
    if isinstance(message, Notification | ServerRequest):
        protocol.view(message)


def _recorded() -> list[dict[str, Any]]:
    data = DATA
    messages = []
    for path in sorted(data.glob("appserver-*/*.jsonl")):
        for line in path.read_text("utf-8").splitlines():
            message = json.loads(line)["msg"]
            if message.get("method") in protocol.NOTIFICATION_METHODS | protocol.SERVER_REQUEST_METHODS:
                messages.append(message)
    return messages


RECORDED = _recorded()


def _mutate(value: Any, draw: st.DrawFn, depth: int = 0) -> Any:
    """``value`` with one subtree replaced by an arbitrary JSON value (or dropped from its object)."""
    if depth > 6 or not isinstance(value, dict | list) or not value or draw(st.integers(0, 4)) == 0:
        return draw(json_values)
    if isinstance(value, list):
        index = draw(st.integers(0, len(value) - 1))
        return [*value[:index], _mutate(value[index], draw, depth + 1), *value[index + 1 :]]
    key = draw(st.sampled_from(sorted(value)))
    if draw(st.integers(0, 5)) == 0:
        return {k: v for k, v in value.items() if k != key}
    return {**value, key: _mutate(value[key], draw, depth + 1)}


@st.composite
def mutated_recorded(draw: st.DrawFn) -> Any:
    return _mutate(draw(st.sampled_from(RECORDED)), draw)


@given(mutated_recorded())
def test_view_never_raises_on_damaged_real_messages(raw: Any) -> None:
    message = classify(raw)
    if isinstance(message, Notification | ServerRequest):
        protocol.view(message)


def test_every_recorded_used_message_has_a_view() -> None:
    assert len(RECORDED) > 50
    for raw in RECORDED:
        message = classify(raw)
        assert isinstance(message, Notification | ServerRequest)
        assert protocol.view(message) is not None, raw


def test_messages_without_jsonrpc_field() -> None:
    assert classify({"id": 1, "result": {"a": 1}}) == Response(1, {"a": 1})
    assert classify({"id": 0, "method": "m", "params": {"x": 1}}) == ServerRequest(0, "m", {"x": 1})
    assert classify({"method": "initialized"}) == Notification("initialized", {})
    assert classify({"method": "n", "params": {}, "emittedAtMs": 5}) == Notification("n", {})
    assert classify({"id": "a", "error": {"code": -32600, "message": "no"}}) == ErrorResponse("a", -32600, "no")
    assert classify({"id": None, "error": {"code": 1, "message": "x", "data": 2}}) == ErrorResponse(None, 1, "x", 2)


def test_odd_messages_are_unknown_with_a_reason() -> None:
    cases = [
        [],
        {"id": True, "result": 1},
        {"id": 1.5, "result": 1},
        {"method": 3},
        {"method": "m", "params": [1]},
        {"id": [1], "method": "m"},
        {"id": 1, "error": "boom"},
        {"id": 1, "error": {"code": "x", "message": "m"}},
        {"id": {}, "error": {"code": 1, "message": "m"}},
        {"id": 1},
    ]
    for raw in cases:
        message = classify(raw)
        assert isinstance(message, Unknown), raw
        assert message.reason
    assert isinstance(decode("{not json"), Unknown)
    assert isinstance(decode("[" * 100_000), Unknown)


def test_encoders_have_no_jsonrpc_field() -> None:
    assert json.loads(protocol.encode_request(7, "thread/loaded/list")) == {
        "id": 7, "method": "thread/loaded/list", "params": {}
    }
    assert protocol.encode_notification("initialized") == '{"method":"initialized"}'
    assert json.loads(protocol.encode_notification("n", {"a": 1})) == {"method": "n", "params": {"a": 1}}
    assert json.loads(protocol.encode_response(0, {"decision": "accept"})) == {
        "id": 0, "result": {"decision": "accept"}
    }
    assert json.loads(protocol.encode_error_response("x", -32601, "nope")) == {
        "id": "x", "error": {"code": -32601, "message": "nope"}
    }
    assert protocol.encode_request(1, "m", {"t": "é"}) == '{"id":1,"method":"m","params":{"t":"é"}}'


def test_request_params() -> None:
    assert protocol.initialize_params("ccbot", "1") == {"clientInfo": {"name": "ccbot", "version": "1"}}
    assert protocol.thread_resume_params("t") == {"threadId": "t", "excludeTurns": True}
    assert protocol.turn_interrupt_params("t", "u") == {"threadId": "t", "turnId": "u"}
    assert protocol.thread_loaded_list_params() == {}
    assert protocol.thread_loaded_list_params("c") == {"cursor": "c"}
    assert protocol.approval_result("accept") == {"decision": "accept"}
    assert protocol.approval_result({"acceptWithExecpolicyAmendment": {"execpolicy_amendment": ["ls"]}}) == {
        "decision": {"acceptWithExecpolicyAmendment": {"execpolicy_amendment": ["ls"]}}
    }


def test_result_views() -> None:
    result = {"userAgent": "codex-tui/0.169.0", "codexHome": "/h", "platformFamily": "unix", "platformOs": "linux"}
    assert protocol.initialize_result(result) == protocol.InitializeResult("codex-tui/0.169.0", "/h", "unix", "linux")
    assert protocol.initialize_result({"userAgent": 1}) is None
    assert protocol.initialize_result(None) is None
    assert protocol.loaded_threads({"data": ["a", "b"], "nextCursor": None}) == protocol.LoadedThreads(("a", "b"), None)
    assert protocol.loaded_threads({"data": [1]}) is None
    assert protocol.loaded_threads([]) is None
    thread = {"id": "t", "cwd": "/w", "path": "/r.jsonl", "status": {"type": "idle"}}
    resumed = protocol.resumed_thread({"thread": thread, "model": "m"})
    assert resumed is not None and (resumed.id, resumed.path, resumed.thread_source) == ("t", "/r.jsonl", None)
    assert protocol.resumed_thread({"thread": {"id": "t"}}) is None
    assert protocol.resumed_thread(None) is None


def test_thread_and_turn_views() -> None:
    started = protocol.view(Notification("thread/started", {"thread": {
        "id": "t", "cwd": "/w", "path": "/r.jsonl", "threadSource": "user", "status": {"type": "idle"},
        "name": None, "preview": "hi", "extra": 1,
    }}))
    assert isinstance(started, ThreadStarted)
    assert (started.thread.id, started.thread.path, started.thread.thread_source) == ("t", "/r.jsonl", "user")
    changed = protocol.view(Notification("thread/status/changed", {
        "threadId": "t", "status": {"type": "active", "activeFlags": ["waitingOnApproval"]}}))
    assert isinstance(changed, ThreadStatusChanged)
    assert changed.status.active_flags == ("waitingOnApproval",)
    done = protocol.view(Notification("turn/completed", {"threadId": "t", "turn": {
        "id": "u", "status": "failed", "items": [], "error": {"message": "boom"}}}))
    assert isinstance(done, TurnCompleted)
    assert (done.turn.status, done.turn.error_message) == ("failed", "boom")
    assert protocol.view(Notification("turn/completed", {"threadId": "t"})) is None
    assert protocol.view(Notification("thread/name/updated", {"threadId": "t"})) is None


def test_item_views() -> None:
    def completed(item: dict[str, object]) -> object:
        seen = protocol.view(Notification("item/completed", {"threadId": "t", "turnId": "u", "item": item}))
        assert isinstance(seen, ItemCompleted)
        return seen.item

    user = {"type": "userMessage", "id": "1", "content": [
        {"type": "text", "text": "a"}, {"type": "image", "url": "x"}, {"type": "text", "text": "b"}]}
    assert completed(user) == UserMessageItem("1", "a\nb")
    agent = {"type": "agentMessage", "id": "2", "text": "hi", "phase": None}
    assert completed(agent) == AgentMessageItem("2", "hi", None)
    command = {"type": "commandExecution", "id": "3", "command": "ls", "cwd": "/w", "status": "completed",
               "exitCode": 0, "aggregatedOutput": "x\n", "commandActions": []}
    assert completed(command) == CommandExecutionItem("3", "ls", "/w", "completed", 0, "x\n")
    assert completed({"type": "reasoning", "id": "4"}) == OtherItem("4", "reasoning")


def test_approval_request_uses_available_decisions() -> None:
    amendment = {"acceptWithExecpolicyAmendment": {"execpolicy_amendment": ["touch", "x"]}}
    request = ServerRequest(0, "item/commandExecution/requestApproval", {
        "threadId": "t", "turnId": "u", "itemId": "i", "command": "touch x", "cwd": "/w", "reason": "why",
        "proposedExecpolicyAmendment": ["touch", "x"], "availableDecisions": ["accept", amendment, "cancel", 3],
        "commandActions": [{"type": "unknown", "command": "touch x"}, {"type": "read"}, 7],
    })
    seen = protocol.view(request)
    assert isinstance(seen, CommandApprovalRequest)
    assert (seen.request_id, seen.command, seen.cwd, seen.reason) == (0, "touch x", "/w", "why")
    assert [d.name for d in seen.decisions] == ["accept", "acceptWithExecpolicyAmendment", "cancel"]
    expected = ApprovalDecision("acceptWithExecpolicyAmendment", amendment)
    assert seen.decision("acceptWithExecpolicyAmendment") == expected
    assert seen.decision("decline") is None
    assert seen.actions == ("touch x",)


def test_approval_request_without_available_decisions_falls_back_to_the_schema() -> None:
    params = {"threadId": "t", "turnId": "u", "itemId": "i", "proposedExecpolicyAmendment": ["ls"]}
    seen = protocol.view(ServerRequest("r", "item/commandExecution/requestApproval", params))
    assert isinstance(seen, CommandApprovalRequest)
    assert [d.name for d in seen.decisions] == [
        "accept", "acceptForSession", "acceptWithExecpolicyAmendment", "decline", "cancel"]
    assert seen.command is None and seen.execpolicy_amendment == ("ls",)
    no_amendment = {**params, "proposedExecpolicyAmendment": None}
    plain = protocol.view(ServerRequest("r", "item/commandExecution/requestApproval", no_amendment))
    assert isinstance(plain, CommandApprovalRequest)
    assert [d.value for d in plain.decisions] == ["accept", "acceptForSession", "decline", "cancel"]


def test_file_change_item_view() -> None:
    item = {"type": "fileChange", "id": "c", "status": "inProgress", "changes": [
        {"path": "/w/a.txt", "kind": {"type": "add"}, "diff": "new\n"},
        {"path": "/w/b.txt", "kind": {"type": "update", "move_path": "/w/c.txt"}, "diff": "@@ -1 +1 @@\n-x\n+y\n"},
        {"path": "/w/d.txt", "kind": {"type": "delete"}, "diff": ""},
        {"path": 3, "kind": {"type": "add"}, "diff": ""}, {"path": "/w/e", "kind": "add", "diff": ""}, "junk"]}
    seen = protocol.view(Notification("item/started", {"threadId": "t", "turnId": "u", "item": item}))
    assert isinstance(seen, ItemStarted)
    assert seen.item == FileChangeItem("c", "inProgress", (
        FileChange("/w/a.txt", "add", "new\n"), FileChange("/w/b.txt", "update", "@@ -1 +1 @@\n-x\n+y\n", "/w/c.txt"),
        FileChange("/w/d.txt", "delete", "")))
    no_status = {k: v for k, v in item.items() if k != "status"}
    assert protocol.view(Notification("item/started", {"threadId": "t", "turnId": "u", "item": no_status})) is None


def test_file_change_request_view() -> None:
    params = {"threadId": "t", "turnId": "u", "itemId": "c", "startedAtMs": 1, "reason": "why", "grantRoot": "/w"}
    seen = protocol.view(ServerRequest(5, "item/fileChange/requestApproval", params))
    assert seen == FileChangeApprovalRequest(5, "t", "u", "c", "why", "/w", tuple(
        ApprovalDecision(n, n) for n in ("accept", "acceptForSession", "decline", "cancel")))
    assert seen.decision("acceptWithExecpolicyAmendment") is None
    offered = protocol.view(ServerRequest(5, "item/fileChange/requestApproval",
                                          {**params, "availableDecisions": ["accept", "cancel"]}))
    assert isinstance(offered, FileChangeApprovalRequest)
    assert [d.name for d in offered.decisions] == ["accept", "cancel"]
    changes = (FileChange("/w/a", "add", "x\n"),)
    assert offered.with_changes(changes).changes == changes and offered.changes == ()
    assert protocol.view(ServerRequest(5, "item/fileChange/requestApproval", {"threadId": "t"})) is None


_change_kinds = st.sampled_from(["add", "delete", "update", "other"])
_good_change = st.builds(
    lambda path, kind, diff, move: {"path": path, "kind": {"type": kind, **({"move_path": move} if move else {})},
                                    "diff": diff},
    st.text(max_size=20), _change_kinds, st.text(max_size=40), st.none() | st.text(min_size=1, max_size=10))


@given(st.lists(_good_change | json_values, max_size=6))
def test_file_change_item_keeps_exactly_the_well_formed_changes_in_order(entries: list[Any]) -> None:
    item = {"type": "fileChange", "id": "c", "status": "completed", "changes": entries}
    seen = protocol.view(Notification("item/completed", {"threadId": "t", "turnId": "u", "item": item}))
    assert isinstance(seen, ItemCompleted) and isinstance(seen.item, FileChangeItem)
    expected = [FileChange(e["path"], e["kind"]["type"], e["diff"], e["kind"].get("move_path"))
                for e in entries if isinstance(e, dict) and isinstance(e.get("path"), str)
                and isinstance(e.get("kind"), dict) and isinstance(e["kind"].get("type"), str)
                and isinstance(e.get("diff"), str)]
    assert list(seen.item.changes) == expected


def test_resolved_view() -> None:
    seen = protocol.view(Notification("serverRequest/resolved", {"threadId": "t", "requestId": 0}))
    assert seen == ServerRequestResolved("t", 0)
    assert protocol.view(Notification("serverRequest/resolved", {"threadId": "t", "requestId": False})) is None
    # The same method as a server request is not a view ccbot has.
    assert protocol.view(ServerRequest(1, "serverRequest/resolved", {"threadId": "t", "requestId": 0})) is None
