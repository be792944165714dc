"""The app-server approval message (pure), on the request recorded from real Codex 0.169."""

from __future__ import annotations

import json
from dataclasses import replace

from ccbot.codex.appserver import protocol
from ccbot.codex.appserver.protocol import ServerRequest
from ccbot.codex.appserver.views import CommandApprovalRequest
from ccbot.features.plane_approvals import decision_label, describe_request
from ccbot.render.tg_html import parse_html
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
