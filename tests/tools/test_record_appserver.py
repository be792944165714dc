"""tools.record_appserver: its argv helpers, one real recording per tested Codex release, and the TCP transport
against the real app-server.

The real test starts Codex's app-server on a unix socket in a temp dir, the TUI in a private tmux server, and the
in-process mock model on 127.0.0.1; all of them are stopped when the recording ends. Real clock; bounded waits.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import trio

from ccbot.codex.appserver import protocol
from ccbot.codex.appserver.client import AppServerClient, RequestFailed
from ccbot.codex.appserver.protocol import Incoming
from ccbot.codex.appserver.transport import connect_tcp
from ccbot.codex.appserver.views import (
    CommandApprovalRequest,
    FileChangeApprovalRequest,
    FileChangeItem,
    ItemStarted,
    ServerRequestResolved,
)
from tools.codex_harness import codex_env, scratch_dir, stop_codex_daemon, write_codex_home
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


async def recorded_views(scenario: str, codex_bin: str, tmp_path: Path) -> list[object]:
    """Record ``scenario`` with the real Codex and the mock model; the views of what reached the client."""
    scratch = scratch_dir("test-appserver-")
    try:
        with trio.fail_after(120):
            async with trio.open_nursery() as nursery:
                port = await nursery.start(serve_mock_openai)
                path = await record_one(scenario, Path(codex_bin), port, tmp_path, scratch)
                nursery.cancel_scope.cancel()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    views: list[object] = []
    for line in path.read_text("utf-8").splitlines():
        message = protocol.classify(json.loads(line)["msg"])
        if isinstance(message, protocol.Notification | protocol.ServerRequest):
            views.append(protocol.view(message))
    return views


@pytest.mark.codex
async def test_record_approval_answered_in_the_tui(codex_bin: str, tmp_path: Path) -> None:
    views = await recorded_views("approve_tui", codex_bin, tmp_path)
    request = next(v for v in views if isinstance(v, CommandApprovalRequest))
    assert ServerRequestResolved(request.thread_id, request.request_id) in views


@pytest.mark.codex
async def test_record_patch_approved_by_the_client(codex_bin: str, tmp_path: Path) -> None:
    views = await recorded_views("approve_patch", codex_bin, tmp_path)
    (request,) = [v for v in views if isinstance(v, FileChangeApprovalRequest)]
    items = [v.item for v in views if isinstance(v, ItemStarted) and isinstance(v.item, FileChangeItem)]
    assert [i.id for i in items] == [request.item_id] and items[0].changes[0].path.endswith("/client.txt")
    assert "Would you like to make the following edits?" in (tmp_path / "approve_patch.screen.txt").read_text()


_LISTENING = re.compile(rb"listening on: ws://127\.0\.0\.1:(\d+)")


async def _listening_port(process: trio.Process) -> int:
    """The port ``codex app-server --listen ws://127.0.0.1:0`` prints on stderr."""
    assert process.stderr is not None
    seen = b""
    while (match := _LISTENING.search(seen)) is None:
        chunk = await process.stderr.receive_some(4096)
        assert chunk, f"app-server exited before listening: {seen!r}"
        seen += chunk
    return int(match.group(1))


@pytest.mark.codex
async def test_tcp_transport_against_the_real_app_server(codex_bin: str) -> None:
    """connect_tcp + the client against ``--listen ws://127.0.0.1:0``; the server refuses an Origin header (403),
    which is why the transport never sends one; an unknown method is -32600, not JSON-RPC's -32601."""
    scratch = scratch_dir("test-appserver-")
    home = scratch / "home"
    write_codex_home(home, port=9, workdirs=[scratch])
    argv = [codex_bin, "app-server", "--listen", "ws://127.0.0.1:0"]
    try:
        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                process = await nursery.start(
                    functools.partial(
                        trio.run_process, argv, env=codex_env(home), cwd=scratch, stderr=subprocess.PIPE, check=False
                    )
                )
                port = await _listening_port(process)
                nursery.start_soon(_drain, process)

                raw = await trio.open_tcp_stream("127.0.0.1", port)
                await raw.send_all(
                    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                    b"Origin: http://example.invalid\r\n\r\n"
                )
                assert (await raw.receive_some(64)).startswith(b"HTTP/1.1 403")
                await raw.aclose()

                incoming_send, _incoming_recv = trio.open_memory_channel[Incoming](100)
                client = AppServerClient(await connect_tcp("127.0.0.1", port), incoming_send)
                await nursery.start(client.run)
                init = protocol.initialize_result(
                    await client.request(protocol.INITIALIZE, protocol.initialize_params("ccbot-test", "0"))
                )
                assert init is not None and init.user_agent.startswith("ccbot-test/")
                await client.notify(protocol.INITIALIZED)
                with pytest.raises(RequestFailed) as caught:
                    await client.request("no/such/method")
                assert caught.value.code == -32600
                assert protocol.loaded_threads(await client.request(protocol.THREAD_LOADED_LIST)) == (
                    protocol.LoadedThreads((), None)
                )
                await client.aclose()
                nursery.cancel_scope.cancel()
    finally:
        stop_codex_daemon(home)
        shutil.rmtree(scratch, ignore_errors=True)


async def _drain(process: trio.Process) -> None:
    assert process.stderr is not None
    while await process.stderr.receive_some(4096):
        pass
