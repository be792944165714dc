"""tools.record_appserver: its argv helpers, and one real recording per tested Codex release.

The real test starts Codex's app-server on a unix socket in a temp dir, the TUI in a private tmux server, and the
in-process mock model on 127.0.0.1; all of them are stopped when the recording ends. Real clock; bounded waits.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import trio

from ccbot.codex.appserver import protocol
from ccbot.codex.appserver.views import CommandApprovalRequest, ServerRequestResolved
from tools.codex_harness import scratch_dir
from tools.mock_openai import serve_mock_openai
from tools.record_appserver import out_dir, record_one, remote_tui_command


def test_out_dir_is_per_minor_release() -> None:
    assert out_dir("0.171.0").name == "appserver-0.171"
    assert out_dir("0.169.3").parent.name == "data"


def test_remote_tui_command_has_no_daemon_flag() -> None:
    argv = remote_tui_command(Path("/bin/codex"), Path("/h"), Path("/s/app.sock"), Path("/w"))
    assert "--no-daemon" not in argv
    assert argv[-5:] == ["/bin/codex", "--remote", "unix:///s/app.sock", "-C", "/w"]
    assert "CODEX_HOME=/h" in argv


@pytest.mark.codex
async def test_record_approval_answered_in_the_tui(codex_bin: str, tmp_path: Path) -> None:
    scratch = scratch_dir("test-appserver-")
    try:
        with trio.fail_after(120):
            async with trio.open_nursery() as nursery:
                port = await nursery.start(serve_mock_openai)
                path = await record_one("approve_tui", Path(codex_bin), port, tmp_path, scratch)
                nursery.cancel_scope.cancel()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    views = []
    for line in path.read_text("utf-8").splitlines():
        message = protocol.classify(json.loads(line)["msg"])
        if isinstance(message, protocol.Notification | protocol.ServerRequest):
            views.append(protocol.view(message))
    request = next(v for v in views if isinstance(v, CommandApprovalRequest))
    assert ServerRequestResolved(request.thread_id, request.request_id) in views
