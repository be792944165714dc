"""Protocol parsing on real recorded app-server traffic (tests/data/appserver-<minor>/*.jsonl, made by
tools.record_appserver against Codex 0.169 and 0.171)."""

from __future__ import annotations

import json

import pytest

from ccbot.codex.appserver import protocol
from ccbot.codex.appserver.protocol import Notification, Response, ServerRequest, Unknown
from ccbot.codex.appserver.views import (
    AgentMessageDelta,
    AgentMessageItem,
    CommandApprovalRequest,
    CommandExecutionItem,
    FileChange,
    FileChangeApprovalRequest,
    FileChangeItem,
    ItemCompleted,
    ItemStarted,
    ServerRequestResolved,
    ThreadStatusChanged,
    TurnCompleted,
    TurnStarted,
    UserInputOption,
    UserInputQuestion,
    UserInputRequest,
    UserMessageItem,
    user_input_request,
)
from tests.conftest import DATA

VERSIONS = ["appserver-0.169", "appserver-0.171"]


def frames(folder: str, scenario: str) -> list[tuple[str, protocol.Message]]:
    lines = (DATA / folder / f"{scenario}.jsonl").read_text("utf-8").splitlines()
    out = []
    for line in lines:
        frame = json.loads(line)
        assert "jsonrpc" not in frame["msg"]
        out.append((frame["dir"], protocol.classify(frame["msg"])))
    return out


def incoming_views(folder: str, scenario: str) -> list[protocol.View]:
    views = []
    for way, message in frames(folder, scenario):
        if way == "in" and isinstance(message, Notification | ServerRequest):
            seen = protocol.view(message)
            if seen is not None:
                views.append(seen)
    return views


@pytest.mark.parametrize("folder", VERSIONS)
@pytest.mark.parametrize("scenario", ["plain", "approve_client", "approve_tui", "interrupt", "approve_patch",
                                      "approve_patch_tui", "ask_client", "ask_tui"])
def test_every_message_classifies_and_every_used_method_has_a_view(folder: str, scenario: str) -> None:
    for way, message in frames(folder, scenario):
        assert not isinstance(message, Unknown), message
        if way == "in" and isinstance(message, Notification | ServerRequest):
            used = protocol.NOTIFICATION_METHODS | protocol.SERVER_REQUEST_METHODS
            assert (protocol.view(message) is not None) == (message.method in used), message


@pytest.mark.parametrize("folder", VERSIONS)
def test_handshake_results(folder: str) -> None:
    results = {m.id: m.result for way, m in frames(folder, "plain") if way == "in" and isinstance(m, Response)}
    init = protocol.initialize_result(results[1])
    assert init is not None and init.user_agent.startswith(f"codex-tui/{folder.split('-')[1]}.")
    loaded = protocol.loaded_threads(results[2])
    assert loaded is not None and len(loaded.ids) <= 1
    sent = [m for way, m in frames(folder, "plain") if way == "out" and isinstance(m, ServerRequest)]
    resume = next(m for m in sent if m.method == protocol.THREAD_RESUME)
    thread = protocol.resumed_thread(results[resume.id])
    assert thread is not None and thread.id == resume.params["threadId"]
    assert thread.path is not None and thread.path.endswith(".jsonl") and thread.thread_source == "user"


@pytest.mark.parametrize("folder", VERSIONS)
def test_deltas_concatenate_to_the_completed_agent_message(folder: str) -> None:
    views = incoming_views(folder, "plain")
    deltas = [v for v in views if isinstance(v, AgentMessageDelta)]
    completed = [v.item for v in views if isinstance(v, ItemCompleted) and isinstance(v.item, AgentMessageItem)]
    assert len(completed) == 1 and len(deltas) > 3  # "slow 3" streams word by word
    assert {d.item_id for d in deltas} == {completed[0].id}
    assert "".join(d.delta for d in deltas) == completed[0].text == "MOCK_REPLY: you said: slow 3 hello from the tui"
    users = [v.item for v in views if isinstance(v, ItemCompleted) and isinstance(v.item, UserMessageItem)]
    assert [u.text for u in users] == ["slow 3 hello from the tui"]
    kinds = [type(v) for v in views if isinstance(v, TurnStarted | TurnCompleted)]
    assert kinds == [TurnStarted, TurnCompleted]
    assert next(v for v in views if isinstance(v, TurnCompleted)).turn.status == "completed"


@pytest.mark.parametrize("folder", VERSIONS)
@pytest.mark.parametrize("scenario", ["approve_client", "approve_tui"])
def test_approval_request_and_its_resolution(folder: str, scenario: str) -> None:
    views = incoming_views(folder, scenario)
    requests = [v for v in views if isinstance(v, CommandApprovalRequest)]
    assert len(requests) == 1
    request = requests[0]
    assert request.command is not None and request.command.startswith("/bin/bash -c 'touch ")
    assert len(request.actions) == 1 and request.actions[0].startswith("touch ")
    assert request.actions[0] in request.command
    assert request.cwd is not None and request.cwd.endswith(f"work-{scenario}")
    assert request.reason and "outside the sandbox" in request.reason
    assert [d.name for d in request.decisions] == ["accept", "acceptWithExecpolicyAmendment", "cancel"]
    amendment = request.decision("acceptWithExecpolicyAmendment")
    assert amendment is not None and amendment.value == {
        "acceptWithExecpolicyAmendment": {"execpolicy_amendment": list(request.execpolicy_amendment)}
    }
    resolved = [v for v in views if isinstance(v, ServerRequestResolved)]
    assert resolved == [ServerRequestResolved(request.thread_id, request.request_id)]
    flags = [v.status.active_flags for v in views if isinstance(v, ThreadStatusChanged)]
    assert ("waitingOnApproval",) in flags
    commands = [v.item for v in views if isinstance(v, ItemCompleted) and isinstance(v.item, CommandExecutionItem)]
    assert [(c.id, c.status, c.exit_code) for c in commands] == [(request.item_id, "completed", 0)]


@pytest.mark.parametrize("folder", VERSIONS)
def test_client_answer_names_the_request(folder: str) -> None:
    sent = [m for way, m in frames(folder, "approve_client") if way == "out" and isinstance(m, Response)]
    request = next(v for v in incoming_views(folder, "approve_client") if isinstance(v, CommandApprovalRequest))
    assert sent == [Response(request.request_id, {"decision": "accept"})]


@pytest.mark.parametrize("folder", VERSIONS)
def test_interrupt_from_the_client_ends_the_turn_as_interrupted(folder: str) -> None:
    messages = frames(folder, "interrupt")
    views = incoming_views(folder, "interrupt")
    started = next(v for v in views if isinstance(v, TurnStarted))
    sent = [m for way, m in messages if way == "out" and isinstance(m, Notification | ServerRequest)]
    interrupt = next(m for m in sent if m.method == protocol.TURN_INTERRUPT)
    assert interrupt.params == protocol.turn_interrupt_params(started.thread_id, started.turn.id)
    assert isinstance(interrupt, ServerRequest)  # an outgoing request classifies as one: it has an id
    answer = next(m for way, m in messages if way == "in" and isinstance(m, Response) and m.id == interrupt.id)
    assert answer.result == {}
    completed = [v for v in views if isinstance(v, TurnCompleted)]
    assert [(c.turn.id, c.turn.status) for c in completed] == [(started.turn.id, "interrupted")]
    # The partly streamed answer gets no item/completed: a draft must be closed on turn/completed.
    assert any(isinstance(v, AgentMessageDelta) for v in views)
    assert not any(isinstance(v, ItemCompleted) and isinstance(v.item, AgentMessageItem) for v in views)


@pytest.mark.parametrize("folder", VERSIONS)
@pytest.mark.parametrize(("scenario", "name"), [("approve_patch", "client.txt"), ("approve_patch_tui", "tui.txt")])
def test_file_change_request_names_the_started_file_change_item(folder: str, scenario: str, name: str) -> None:
    views = incoming_views(folder, scenario)
    (request,) = [v for v in views if isinstance(v, FileChangeApprovalRequest)]
    # The request carries no changes and no availableDecisions: the schema's four decisions, in its order.
    assert request.changes == () and request.reason is None and request.grant_root is None
    assert [d.name for d in request.decisions] == ["accept", "acceptForSession", "decline", "cancel"]
    assert [d.value for d in request.decisions] == [d.name for d in request.decisions]
    index = views.index(request)
    started = [v for v in views[:index] if isinstance(v, ItemStarted) and isinstance(v.item, FileChangeItem)]
    assert len(started) == 1 and started[0].item.id == request.item_id and started[0].turn_id == request.turn_id
    item = started[0].item
    assert isinstance(item, FileChangeItem) and item.status == "inProgress"
    (change,) = item.changes
    assert change.path.endswith(f"work-{scenario}/{name}") and change.kind == "add" and change.move_path is None
    assert change.diff == "written by the mock model's apply_patch\nfrom the recorder\n"  # add: the file's text
    assert request.with_changes(item.changes).changes == (FileChange(change.path, "add", change.diff),)
    resolved = [v for v in views if isinstance(v, ServerRequestResolved)]
    assert resolved == [ServerRequestResolved(request.thread_id, request.request_id)]
    done = [v.item for v in views[index:] if isinstance(v, ItemCompleted) and isinstance(v.item, FileChangeItem)]
    assert [(d.id, d.status) for d in done] == [(request.item_id, "completed")]


@pytest.mark.parametrize("folder", VERSIONS)
def test_client_answer_to_a_file_change(folder: str) -> None:
    sent = [m for way, m in frames(folder, "approve_patch") if way == "out" and isinstance(m, Response)]
    request = next(v for v in incoming_views(folder, "approve_patch") if isinstance(v, FileChangeApprovalRequest))
    accept = request.decision("accept")
    assert accept is not None
    assert sent == [Response(request.request_id, protocol.approval_result(accept.value))]


COLOUR = UserInputQuestion(
    id="colour", header="Colour", question="Which colour should the mock use?",
    options=(UserInputOption("Red (Recommended)", "The mock's first choice."),
             UserInputOption("Green", "A calmer colour."), UserInputOption("Blue", "The colour of the sky.")),
    is_other=True, is_secret=False,
)


@pytest.mark.parametrize("folder", VERSIONS)
@pytest.mark.parametrize("scenario", ["ask_client", "ask_tui"])
def test_user_input_request_and_its_resolution(folder: str, scenario: str) -> None:
    views = incoming_views(folder, scenario)
    (request,) = [v for v in views if isinstance(v, UserInputRequest)]
    index = views.index(request)
    waiting = [v for v in views[:index] if isinstance(v, ThreadStatusChanged)][-1]
    assert waiting.status.active_flags == ("waitingOnUserInput",)
    started = next(v for v in views if isinstance(v, TurnStarted))
    assert (request.thread_id, request.turn_id) == (started.thread_id, started.turn.id)
    assert request.item_id.startswith("call_") and request.is_blocking
    assert request.questions == (COLOUR,)
    assert [(d.name, d.value) for d in request.decisions] == [(o.label, o.label) for o in COLOUR.options]
    assert ServerRequestResolved(request.thread_id, request.request_id) in views[index:]
    assert any(isinstance(v, TurnCompleted) for v in views[index:])
    answer = "Green" if scenario == "ask_client" else "Red (Recommended)"  # the TUI's Enter: the first option
    final = [v.item.text for v in views[index:]
             if isinstance(v, ItemCompleted) and isinstance(v.item, AgentMessageItem)]
    assert final == [f'MOCK_ASKED: the user answered: {{"answers":{{"colour":{{"answers":["{answer}"]}}}}}}']


@pytest.mark.parametrize("folder", VERSIONS)
def test_client_answer_to_a_user_input_request(folder: str) -> None:
    sent = [m for way, m in frames(folder, "ask_client") if way == "out" and isinstance(m, Response)]
    request = next(v for v in incoming_views(folder, "ask_client") if isinstance(v, UserInputRequest))
    green = request.decision("Green")
    assert green is not None
    assert sent == [Response(request.request_id, protocol.answer_result(request, green.value))]
    assert sent[0].result == {"answers": {"colour": {"answers": ["Green"]}}}


def test_user_input_request_shapes() -> None:
    base = {"threadId": "t", "turnId": "u", "itemId": "call_1", "isBlocking": True}
    two = user_input_request(7, {**base, "questions": [
        {"id": "a", "header": "A", "question": "A?", "options": [{"label": "x", "description": "d"}]},
        {"id": "b", "header": "B", "question": "B?", "options": None, "isSecret": True}]})
    assert two.decisions == ()  # several questions: left to the terminal
    assert two.questions[1].options == () and two.questions[1].is_secret and not two.questions[1].is_other
    free = user_input_request(8, {**base, "questions": [{"id": "a", "header": "A", "question": "A?"}]})
    assert free.decisions == () and free.questions[0].options == ()
    odd = user_input_request(9, {**base, "questions": [
        {"id": "a", "header": "A", "question": "A?", "options": [{"label": 3}, "x", {"label": "ok"}]}]})
    assert [d.name for d in odd.decisions] == ["ok"] and odd.questions[0].options[0].description == ""
    for bad in ({**base, "questions": []}, {**base, "questions": [{"id": "a", "header": "A"}]},
                {**base, "questions": ["x"]}, {"turnId": "u", "itemId": "i", "questions": [{}]}):
        assert protocol.view(ServerRequest(1, "item/tool/requestUserInput", bad)) is None
