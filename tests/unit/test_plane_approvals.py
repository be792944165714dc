"""The app-server approval messages (pure), on the requests recorded from real Codex 0.169 and 0.171."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccbot.codex.appserver import protocol
from ccbot.codex.appserver.protocol import Notification, ServerRequest
from ccbot.codex.appserver.views import (
    ApprovalDecision,
    CommandApprovalRequest,
    FileChange,
    FileChangeApprovalRequest,
    FileChangeItem,
    ItemStarted,
    UserInputOption,
    UserInputQuestion,
    UserInputRequest,
)
from ccbot.features.approvals import describe_prompt
from ccbot.features.plane_approvals import decision_label, decision_labels, describe_request
from ccbot.render.tg_html import parse_html
from ccbot.screen.parse import parse_screen
from tests.conftest import DATA


def recorded_request() -> CommandApprovalRequest:
    for line in (DATA / "appserver-0.169" / "approve_client.jsonl").read_text("utf-8").splitlines():
        msg = json.loads(line)["msg"]
        if msg.get("method") == "item/commandExecution/requestApproval":
            seen = protocol.view(ServerRequest(msg["id"], msg["method"], msg["params"]))
            assert isinstance(seen, CommandApprovalRequest)
            return seen
    raise AssertionError("no recorded request")


def test_the_message_shows_the_command_folder_reason_and_codexs_own_decisions() -> None:
    request = recorded_request()
    view = describe_request(request)
    text = parse_html(view.html).text
    assert "Would you like to run the following command?" in text and "client.txt" in text
    assert request.cwd and request.cwd in text and request.reason and request.reason in text
    assert view.labels == tuple(f"{n}. {decision_label(d.name)}" for n, d in enumerate(request.decisions, 1))
    assert view.labels[0] == "1. Yes, once"


def test_hostile_request_text_is_escaped_and_cut() -> None:
    request = replace(recorded_request(), actions=("echo <b>&amp; #{pane_id} $(rm -rf /)" + "x" * 5000,),
                      reason="</code><i>", cwd="/tmp/<dir>")
    view = describe_request(request)
    text = parse_html(view.html).text  # valid Telegram HTML
    assert "<b>&amp; #{pane_id}" in text and "</code><i>" in text and "/tmp/<dir>" in text
    assert len(text) < 4096 and "…" in text


def recorded_patch(version: str = "0.169") -> FileChangeApprovalRequest:
    """The recorded file-change request with the changes of the fileChange item started before it."""
    changes: dict[str, tuple[FileChange, ...]] = {}
    for line in (DATA / f"appserver-{version}" / "approve_patch.jsonl").read_text("utf-8").splitlines():
        msg = json.loads(line)["msg"]
        message = protocol.classify(msg)
        seen = protocol.view(message) if isinstance(message, Notification | ServerRequest) else None
        if isinstance(seen, ItemStarted) and isinstance(seen.item, FileChangeItem):
            changes[seen.item.id] = seen.item.changes
        if isinstance(seen, FileChangeApprovalRequest):
            return seen.with_changes(changes[seen.item_id])
    raise AssertionError("no recorded request")


@pytest.mark.parametrize("version", ["0.169", "0.171"])
def test_a_file_change_shows_codexs_title_the_file_its_lines_and_the_screens_buttons(version: str) -> None:
    request = recorded_patch(version)
    view = describe_request(request)
    text = parse_html(view.html).text
    screen = parse_screen((DATA / f"appserver-{version}" / "approve_patch.screen.txt").read_text("utf-8"))
    assert screen.approval is not None and screen.approval.title in text  # "Would you like to make the …"
    assert request.changes[0].path in text and "(new file)" in text
    assert "+written by the mock model's apply_patch\n+from the recorder" in text
    assert view.labels == ("1. Yes, once", "2. Yes, and don't ask again for these files",
                           "3. No, continue without it", "4. No, tell Codex")
    # The same answers read the same as the screen's buttons: y = accept, a = acceptForSession, esc = cancel.
    screen_view = describe_prompt(screen.approval)
    assert screen_view is not None
    by_key = dict(zip((o.key for o in screen.approval.options), screen_view.labels, strict=True))
    ours = dict(zip((d.name for d in request.decisions), view.labels, strict=True))
    for key, name in (("y", "accept"), ("a", "acceptForSession"), ("esc", "cancel")):
        assert by_key[key].split(". ", 1)[1] == ours[name].split(". ", 1)[1]
    assert decision_labels(request)[1] == decision_label("acceptForSession", files=True)


def test_hostile_file_changes_are_escaped_and_cut_to_fit() -> None:
    hostile = "</code></pre><b>&amp; #{pane_id} $(rm -rf /)"
    many = tuple(FileChange(f"/w/{hostile}{n}" + "d/" * 200, "update", f"@@ -1 +1 @@\n-{hostile}\n+" + "x" * 3000,
                            move_path=f"/w/<moved>{n}" + "m/" * 200) for n in range(30))
    request = replace(recorded_patch(), changes=many, reason=hostile * 30, grant_root=f"/w/{hostile}")
    view = describe_request(request)
    text = parse_html(view.html).text  # valid Telegram HTML
    assert len(text) < 4096 and "…" in text and "more files" in text
    assert hostile in text and "(changed)" in text
    few = describe_request(replace(request, changes=tuple(replace(c, path=f"/w/{n}{hostile}", move_path=f"/w/<m>{n}")
                                                          for n, c in enumerate(many[:12]))))
    few_text = parse_html(few.html).text
    assert f"/w/0{hostile} → /w/<m>0 (changed)" in few_text and "… and 2 more files" in few_text
    deleted = describe_request(replace(request, changes=(FileChange("/w/gone.txt", "delete", ""),), reason=None))
    assert "/w/gone.txt (deleted)" in parse_html(deleted.html).text


def test_a_request_whose_changes_were_not_seen_still_reads_well() -> None:
    request = replace(recorded_patch(), changes=())
    text = parse_html(describe_request(request).html).text
    assert "not seen here" in text and "Would you like to make the following edits?" in text


@settings(max_examples=200, deadline=None)
@given(st.lists(st.builds(FileChange, st.text(min_size=150, max_size=300), st.sampled_from(["add", "delete", "x"]),
                          st.text(max_size=3000), st.none() | st.text(min_size=150, max_size=300)), max_size=15),
       st.none() | st.text(max_size=2000), st.none() | st.text(max_size=400))
def test_any_file_change_message_is_valid_html_under_telegrams_limit(
        changes: list[FileChange], reason: str | None, root: str | None) -> None:
    request = replace(recorded_patch(), changes=tuple(changes), reason=reason, grant_root=root)
    view = describe_request(request)
    assert len(parse_html(view.html).text) < 4096
    assert len(view.labels) == len(request.decisions)


_text = st.text(max_size=3000)
_option = st.builds(UserInputOption, _text, _text)
_question = st.builds(UserInputQuestion, _text, _text, _text, st.lists(_option, max_size=8).map(tuple),
                      st.booleans(), st.booleans())


@settings(max_examples=200, deadline=None)
@given(st.lists(_question, min_size=1, max_size=3))
def test_any_question_message_is_valid_html_under_telegrams_limit(questions: list[UserInputQuestion]) -> None:
    decisions = tuple(ApprovalDecision(o.label, o.label) for o in questions[0].options) if len(questions) == 1 \
        else ()
    request = UserInputRequest(1, "t", "u", "call_1", tuple(questions), True, decisions)
    view = describe_request(request)
    assert len(parse_html(view.html).text) < 4096
    assert len(view.labels) == len(request.decisions) == len(decision_labels(request))
    assert all(len(label) <= 70 for label in view.labels)


def test_a_question_message_escapes_codexs_text() -> None:
    question = UserInputQuestion("q", "<b>H</b>", "Pick <one> & go", (UserInputOption("a<b", "c&d"),), True)
    view = describe_request(UserInputRequest(1, "t", "u", "i", (question,), True, (ApprovalDecision("a<b", "a<b"),)))
    assert "&lt;b&gt;H&lt;/b&gt;" in view.html and "Pick &lt;one&gt; &amp; go" in view.html
    assert "a&lt;b" in view.html and "c&amp;d" in view.html and view.labels == ("1. a<b",)
    parse_html(view.html)
