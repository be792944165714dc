"""ccbot.tmux.control: the parser (pure) and the control-mode client against a real tmux server on a private
socket (one per test, killed afterwards)."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio

from ccbot.tmux.control import (
    SUBSCRIPTION,
    ControlClient,
    ControlParser,
    Notice,
    PaneVersions,
    parse_notification,
)

SESSION = "ccbot-ctl"
WAIT = 10.0

# -- pure ---------------------------------------------------------------------------------------------------


def test_parse_notifications() -> None:
    assert parse_notification(b"%output %12 hello\\015\\012") == Notice("output", "%12")
    assert parse_notification(b"%extended-output %3 120 : x") == Notice("output", "%3")
    assert parse_notification(b"%pane-mode-changed %4") == Notice("pane", "%4")
    line = f"%subscription-changed {SUBSCRIPTION} $0 @7 1 %9 : 1".encode()
    assert parse_notification(line) == Notice("pane", "%9", "@7")
    assert parse_notification(b"%subscription-changed other $0 @7 1 %9 : 1") is None
    assert parse_notification(b"%window-close @5") == Notice("window-closed", window="@5")
    assert parse_notification(b"%unlinked-window-close @6") == Notice("window-closed", window="@6")
    assert parse_notification(b"%session-changed $0 ccbot") == Notice("attached")
    assert parse_notification(b"%exit") == Notice("exit")
    assert parse_notification(b"%exit server exited") == Notice("exit")
    for ignored in (
        b"%layout-change @1 abc",
        b"%sessions-changed",
        b"",
        b"garbage",
        b"%output",
        b"%output x y",
    ):
        assert parse_notification(ignored) is None


def test_parser_splits_lines_across_reads_and_skips_command_replies() -> None:
    parser = ControlParser()
    assert parser.feed(b"%begin 1 2 0\n%output %1 inside a reply\n%end 1 2 0\n%out") == []
    assert parser.feed(b"put %2 a\\012\n%begin 1 3 1\nerr\n%error 1 3 1\n%output %3 b\r\n") == [
        Notice("output", "%2"),
        Notice("output", "%3"),
    ]


def test_versions_bump_per_pane_window_and_reconnect() -> None:
    state = PaneVersions()
    assert state.apply(Notice("output", "%1")) == ["%1"]
    assert state.apply(Notice("pane", "%2", "@9")) == ["%2"]
    assert state.versions == {"%1": 1, "%2": 1}
    assert state.apply(Notice("window-closed", window="@9")) == ["%2"]  # its window is known
    assert state.apply(Notice("window-closed", window="@8")) == []
    assert sorted(state.apply(Notice("exit"))) == ["%1", "%2"]
    assert state.versions == {"%1": 2, "%2": 3}


# -- real tmux ---------------------------------------------------------------------------------------------


def _tmux(tmux_bin: str, socket: str, *args: str) -> str:
    proc = subprocess.run(
        [tmux_bin, "-L", socket, "-f", "/dev/null", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=WAIT,
    )
    return proc.stdout


@asynccontextmanager
async def control_for(tmux_bin: str, *, start_server: bool = True) -> AsyncIterator[tuple[ControlClient, str]]:
    socket = f"ccbot-ctl-{secrets.token_hex(4)}"
    if start_server:
        _tmux(tmux_bin, socket, "new-session", "-d", "-s", SESSION, "-n", "placeholder", "-x", "120", "-y", "30")
    client = ControlClient(SESSION, socket_name=socket, tmux_bin=tmux_bin)
    try:
        async with trio.open_nursery() as nursery:
            with trio.fail_after(WAIT):
                await nursery.start(client.run)
            yield client, socket
            nursery.cancel_scope.cancel()
    finally:
        _tmux(tmux_bin, socket, "kill-server")
        with contextlib.suppress(OSError):  # tmux can leave the socket file behind
            (Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / socket).unlink()


def _new_window(tmux_bin: str, socket: str, command: str) -> tuple[str, str]:
    out = _tmux(
        tmux_bin,
        socket,
        "new-window",
        "-d",
        "-t",
        f"={SESSION}:",
        "-P",
        "-F",
        "#{window_id} #{pane_id}",
        "sh",
        "-c",
        command,
    )
    window, pane = out.split()
    return window, pane


async def test_output_in_a_background_window_wakes_only_its_pane(tmux_bin: str) -> None:
    async with control_for(tmux_bin) as (client, socket):
        assert client.connected
        _, quiet = _new_window(tmux_bin, socket, "sleep 30")
        _, busy = _new_window(tmux_bin, socket, "read x; echo got-$x; sleep 30")
        seen_quiet, seen_busy = client.version(quiet), client.version(busy)
        await trio.sleep(0.3)  # the shells' start-up output (if any) has been counted by now
        seen_quiet, seen_busy = client.version(quiet), client.version(busy)
        _tmux(tmux_bin, socket, "send-keys", "-t", busy, "hello", "Enter")
        with trio.fail_after(WAIT):
            new = await client.wait_changed(busy, seen_busy)
        assert new > seen_busy
        await trio.sleep(0.3)
        assert client.version(quiet) == seen_quiet  # nothing was written there
        # a second wait with the latest version blocks until the next change
        with trio.move_on_after(0.3) as scope:
            await client.wait_changed(busy, client.version(busy))
        assert scope.cancelled_caught


async def test_wait_returns_at_once_when_already_newer(tmux_bin: str) -> None:
    async with control_for(tmux_bin) as (client, socket):
        _, pane = _new_window(tmux_bin, socket, "sleep 0.2; echo x; sleep 30")
        with trio.fail_after(WAIT):
            await client.wait_changed(pane, client.version(pane))
        with trio.fail_after(0.1):
            assert await client.wait_changed(pane, 0) >= 1


async def test_reconnects_after_the_server_comes_back(tmux_bin: str) -> None:
    async with control_for(tmux_bin, start_server=False) as (client, socket):
        assert not client.connected  # no server: run() reported started anyway
        pane_seen = client.version("%0")
        _tmux(tmux_bin, socket, "new-session", "-d", "-s", SESSION, "-x", "80", "-y", "24")
        with trio.fail_after(WAIT):
            await client.wait_changed("%0", pane_seen)  # attaching bumps every known pane
        assert client.connected and client.attaches == 1
        seen = client.version("%0")
        _tmux(tmux_bin, socket, "kill-server")
        with trio.fail_after(WAIT):
            await client.wait_changed("%0", seen)  # detaching too
        assert not client.connected


@pytest.mark.parametrize("size", [(120, 30)])
async def test_client_does_not_resize_windows(tmux_bin: str, size: tuple[int, int]) -> None:
    async with control_for(tmux_bin) as (client, socket):
        window, _ = _new_window(tmux_bin, socket, "sleep 30")
        await trio.sleep(0.2)
        out = _tmux(tmux_bin, socket, "display-message", "-p", "-t", window, "#{window_width}x#{window_height}")
        assert out.strip() == f"{size[0]}x{size[1]}"
        assert client.connected
