"""Record the app-server traffic a second client sees while a Codex TUI runs a thread (issue 13).

``uv run python -m tools.record_appserver [--version 0.169.0] [--only [NAME …]] [--schema]`` for each scenario
(``plain``, ``approve_client``, ``approve_tui``, ``interrupt``, ``approve_patch``, ``approve_patch_tui``,
``ask_client``, ``ask_tui``; see their functions):

* writes an isolated ``CODEX_HOME`` for the in-process mock model (``tools/mock_openai``) and a git work dir,
* starts ``codex app-server --listen unix://PATH`` (socket in a private temp dir) and the TUI in a private
  tmux server as ``codex --remote unix://PATH -C WORKDIR``,
* connects as a second client with :mod:`ccbot.codex.appserver.client`: ``initialize``, ``initialized``,
  ``thread/loaded/list``; a warm-up turn ("warm up") runs in the TUI (a thread without a rollout cannot be
  resumed); then ``thread/resume`` of the TUI's thread,
* types the scenario's prompt into the TUI and records every message both ways as JSONL
  (``{"dir": "in"|"out", "msg": {...}}``) into ``tests/data/appserver-<minor>/<scenario>.jsonl``.

``--schema`` also writes ``schema.json`` there: the trimmed extract of ``codex app-server
generate-json-schema`` that :func:`ccbot.codex.appserver.schema.trim_schema` keeps.

Everything started here stops by itself: the tmux server is killed, the app-server is cancelled (SIGTERM,
then SIGKILL), and any daemon of the scratch ``CODEX_HOME`` is stopped. Only unix sockets in temp dirs and the
mock's 127.0.0.1 port are bound. Every wait is bounded (``trio.TooSlowError``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import trio

from ccbot.codex.appserver import protocol
from ccbot.codex.appserver.client import AppServerClient
from ccbot.codex.appserver.protocol import Incoming
from ccbot.codex.appserver.schema import trim_schema
from ccbot.codex.appserver.transport import connect_unix
from ccbot.codex.appserver.views import CommandApprovalRequest, ThreadStarted, TurnStarted
from tools.codex_harness import (
    PINNED_VERSION,
    TmuxCodex,
    codex_command,
    codex_env,
    ensure_codex,
    scratch_dir,
    stop_codex_daemon,
    wait_turn_ends,
    write_codex_home,
)
from tools.mock_openai import serve_mock_openai
from tools.record_codex import make_git_workdir, wait_ready

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
STEP = 30.0
CLIENT_NAME = "ccbot-recorder"


def out_dir(version: str) -> Path:
    """``tests/data/appserver-<major.minor>``."""
    return DATA / f"appserver-{'.'.join(version.split('.')[:2])}"


def remote_tui_command(binary: Path, home: Path, socket: Path, workdir: Path) -> list[str]:
    """The harness's argv for the TUI, attached to the app-server (``--no-daemon`` has no place here)."""
    argv = codex_command(binary, home, "--remote", f"unix://{socket}", "-C", str(workdir))
    return [arg for arg in argv if arg != "--no-daemon"]


@dataclass
class Session:
    """One recording: the client, its incoming messages, and the frames seen both ways."""

    client: AppServerClient
    incoming: trio.MemoryReceiveChannel[Incoming]
    pane: TmuxCodex
    workdir: Path
    frames: list[dict[str, object]] = field(default_factory=list)
    thread_id: str = ""
    screen: str | None = None  # the TUI's screen a scenario chose to keep (written as <scenario>.screen.txt)

    async def next(self, predicate: Callable[[Incoming], bool], within: float = STEP) -> Incoming:
        """The next incoming message satisfying ``predicate`` (earlier ones are only recorded)."""
        with trio.fail_after(within):
            async for message in self.incoming:
                if predicate(message):
                    return message
        raise RuntimeError("the app-server connection ended")


def is_method(method: str) -> Callable[[Incoming], bool]:
    return lambda message: message.method == method


async def find_thread(session: Session, loaded: protocol.LoadedThreads | None) -> str:
    """The TUI's thread: the only loaded thread, else the next ``thread/started`` with a path and
    ``threadSource`` "user" (a title-generation side thread is loaded for a moment after each first turn)."""
    if loaded is not None and len(loaded.ids) == 1:
        return loaded.ids[0]
    while True:
        seen = protocol.view(await session.next(is_method("thread/started")))
        if isinstance(seen, ThreadStarted) and seen.thread.path and seen.thread.thread_source == "user":
            return seen.thread.id


async def scenario_plain(session: Session) -> None:
    """A plain answer, streamed slowly as ``item/agentMessage/delta`` pieces."""
    await session.pane.submit("slow 3 hello from the tui")
    await session.next(is_method("turn/completed"))


async def scenario_approve_client(session: Session) -> None:
    """An escalated command approved from the second client (``accept``)."""
    await session.pane.submit(f"run touch {session.workdir}/client.txt escalate")
    request = await session.next(is_method("item/commandExecution/requestApproval"))
    await session.pane.wait_for(lambda s: "Press enter to confirm or esc to cancel" in s, STEP)
    seen = protocol.view(request)
    if not isinstance(seen, CommandApprovalRequest) or seen.decision("accept") is None:
        raise RuntimeError(f"unexpected approval request: {request}")
    accept = seen.decision("accept")
    assert accept is not None
    await session.client.respond(seen.request_id, protocol.approval_result(accept.value))
    await session.next(is_method("turn/completed"))
    await session.pane.wait_for(lambda s: "MOCK_TOOL_DONE" in s, STEP)


async def scenario_approve_tui(session: Session) -> None:
    """An escalated command approved in the TUI (``y``): the client gets ``serverRequest/resolved``."""
    await session.pane.submit(f"run touch {session.workdir}/tui.txt escalate")
    await session.next(is_method("item/commandExecution/requestApproval"))
    await session.pane.wait_for(lambda s: "Press enter to confirm or esc to cancel" in s, STEP)
    await session.pane.press("y")
    await session.next(is_method("serverRequest/resolved"))
    await session.next(is_method("turn/completed"))


PATCH_PROMPT_SHOWN = "Would you like to make the following edits?"


async def _patch_requested(session: Session, name: str) -> protocol.ServerRequest:
    """Ask for ``name`` to be written by ``apply_patch`` (the read-only sandbox makes Codex ask first); the
    TUI's prompt text is kept as ``patch_prompt.txt`` next to the recording."""
    await session.pane.submit(f"patch {name} from the recorder")
    request = await session.next(is_method("item/fileChange/requestApproval"))
    if not isinstance(request, protocol.ServerRequest):
        raise RuntimeError(f"unexpected approval request: {request}")
    screen = await session.pane.wait_for(lambda s: PATCH_PROMPT_SHOWN in s, STEP)
    session.screen = screen
    return request


async def scenario_approve_patch(session: Session) -> None:
    """A file written by ``apply_patch``, approved from the second client (``accept``)."""
    request = await _patch_requested(session, "client.txt")
    await session.client.respond(request.id, protocol.approval_result("accept"))
    await session.next(is_method("turn/completed"))
    if not (session.workdir / "client.txt").exists():
        raise RuntimeError("the approved patch wrote no file")


async def scenario_approve_patch_tui(session: Session) -> None:
    """The same patch approved in the TUI (``y``): the client gets ``serverRequest/resolved``."""
    await _patch_requested(session, "tui.txt")
    await session.pane.press("y")
    await session.next(is_method("serverRequest/resolved"))
    await session.next(is_method("turn/completed"))


QUESTION_SHOWN = "enter to submit answer"  # the TUI's question overlay footer (measured, 0.169)


async def _question_asked(session: Session) -> protocol.ServerRequest:
    """Switch the TUI to Plan mode (``/plan``; ``request_user_input`` fails with "unavailable in Default
    mode" otherwise) and make the mock call the tool (``ask``); the TUI's question screen is kept."""
    await session.pane.submit("/plan")
    await session.pane.wait_for(lambda s: "Plan mode" in s, STEP)
    await session.pane.submit("ask which colour")
    request = await session.next(is_method("item/tool/requestUserInput"))
    if not isinstance(request, protocol.ServerRequest):
        raise RuntimeError(f"unexpected user input request: {request}")
    session.screen = await session.pane.wait_for(lambda s: QUESTION_SHOWN in s, STEP)
    return request


async def scenario_ask_client(session: Session) -> None:
    """A ``request_user_input`` question (Plan mode) answered from the second client with its 2nd option."""
    request = await _question_asked(session)
    question = request.params["questions"][0]
    answer = question["options"][1]["label"]
    await session.client.respond(request.id, protocol.user_input_result(question["id"], answer))
    await session.next(is_method("turn/completed"))
    await session.pane.wait_for(lambda s: "MOCK_ASKED" in s, STEP)


async def scenario_ask_tui(session: Session) -> None:
    """The same question answered in the TUI (Enter on the first option): ``serverRequest/resolved``."""
    await _question_asked(session)
    await session.pane.press("Enter")
    await session.next(is_method("serverRequest/resolved"))
    await session.next(is_method("turn/completed"))


async def scenario_interrupt(session: Session) -> None:
    """A slow answer interrupted from the second client with ``turn/interrupt``."""
    await session.pane.submit("slow 20 please get interrupted")
    started = protocol.view(await session.next(is_method("turn/started")))
    if not isinstance(started, TurnStarted):
        raise RuntimeError(f"unexpected turn/started: {started}")
    await session.next(is_method("item/agentMessage/delta"))
    await session.client.request(
        protocol.TURN_INTERRUPT, protocol.turn_interrupt_params(started.thread_id, started.turn.id)
    )
    await session.next(is_method("turn/completed"))


SCENARIOS: dict[str, Callable[[Session], Awaitable[None]]] = {
    "plain": scenario_plain,
    "approve_client": scenario_approve_client,
    "approve_tui": scenario_approve_tui,
    "interrupt": scenario_interrupt,
    "approve_patch": scenario_approve_patch,
    "approve_patch_tui": scenario_approve_patch_tui,
    "ask_client": scenario_ask_client,
    "ask_tui": scenario_ask_tui,
}
# Scenarios that need another sandbox: under "read-only" every apply_patch asks for approval (a write in the
# workspace is allowed without asking under "workspace-write").
SANDBOX = {"approve_patch": "read-only", "approve_patch_tui": "read-only"}


async def wait_for_socket(path: Path, within: float = STEP) -> None:
    with trio.fail_after(within):
        while True:  # a file appearing has no event to wait on; poll
            if await trio.Path(path).exists():
                return
            await trio.sleep(0.05)


async def record_one(name: str, binary: Path, port: int, out: Path, scratch: Path) -> Path:
    """Run scenario ``name`` against a fresh app-server and TUI; returns the JSONL written."""
    home, workdir = scratch / f"home-{name}", make_git_workdir(scratch / f"work-{name}")
    write_codex_home(home, port=port, workdirs=[workdir], sandbox_mode=SANDBOX.get(name, "workspace-write"))
    sockdir = Path(tempfile.mkdtemp(prefix="ccbot-as-"))  # short path: unix socket paths are limited
    socket = sockdir / "app.sock"
    pane = TmuxCodex(shutil.which("tmux") or "tmux", f"ccbot-as-{os.getpid()}-{name}")
    frames: list[dict[str, object]] = []
    server_log = (scratch / f"app-server-{name}.log").open("wb")
    try:
        async with trio.open_nursery() as nursery:
            server_argv = [str(binary), "app-server", "--listen", f"unix://{socket}"]
            nursery.start_soon(
                _run_server, server_argv, workdir, codex_env(home), server_log, name="app-server"
            )
            await wait_for_socket(socket)
            await pane.start(remote_tui_command(binary, home, socket, workdir), workdir, codex_env(home))
            await wait_ready(pane)
            connection = await connect_unix(str(socket))
            incoming_send, incoming_recv = trio.open_memory_channel[Incoming](1000)
            client = AppServerClient(
                connection, incoming_send, tap=lambda way, msg: frames.append({"dir": way, "msg": msg})
            )
            await nursery.start(client.run)
            session = Session(client, incoming_recv, pane, workdir, frames)
            with trio.fail_after(STEP):
                await client.request(protocol.INITIALIZE, protocol.initialize_params(CLIENT_NAME, "0"))
                await client.notify(protocol.INITIALIZED)
                listed = await client.request(protocol.THREAD_LOADED_LIST, protocol.thread_loaded_list_params())
            session.thread_id = await find_thread(session, protocol.loaded_threads(listed))
            # Before its first turn a thread has no rollout and thread/resume fails (-32600 "no rollout
            # found"), so one warm-up turn runs in the TUI first.
            await pane.submit("warm up")
            await wait_turn_ends(home, 1, STEP)
            with trio.fail_after(STEP):
                await client.request(protocol.THREAD_RESUME, protocol.thread_resume_params(session.thread_id))
            await SCENARIOS[name](session)
            if session.screen is not None:
                (out / f"{name}.screen.txt").write_text(session.screen, "utf-8")
            await trio.sleep(0.5)  # let trailing notifications (status, token usage) arrive
            await client.aclose()
            nursery.cancel_scope.cancel()
    finally:
        await pane.kill()
        server_log.close()
        stop_codex_daemon(home)
        shutil.rmtree(sockdir, ignore_errors=True)
    target = out / f"{name}.jsonl"
    target.write_text("".join(json.dumps(frame, ensure_ascii=False) + "\n" for frame in frames), "utf-8")
    return target


async def _run_server(argv: list[str], cwd: Path, env: dict[str, str], log: IO[bytes]) -> None:
    await trio.run_process(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)


def write_schema(binary: Path, out: Path) -> Path:
    """Generate the schema with ``binary`` into a temp dir and keep the trimmed extract as ``schema.json``."""
    with tempfile.TemporaryDirectory(prefix="ccbot-schema-") as tmp:
        subprocess.run(
            [str(binary), "app-server", "generate-json-schema", "--out", tmp],
            check=True, capture_output=True, timeout=60, env=codex_env(Path(tmp) / "home"),
        )
        full = json.loads((Path(tmp) / "codex_app_server_protocol.schemas.json").read_text("utf-8"))
    target = out / "schema.json"
    target.write_text(json.dumps(trim_schema(full), indent=1, sort_keys=True) + "\n", "utf-8")
    return target


async def record(version: str, names: list[str], schema: bool) -> int:
    binary = ensure_codex(version)
    out = out_dir(version)
    out.mkdir(parents=True, exist_ok=True)
    if schema:
        print(f"wrote {write_schema(binary, out)}")
    if not names:
        return 0
    scratch = scratch_dir("appserver-")
    try:
        async with trio.open_nursery() as nursery:
            port = await nursery.start(serve_mock_openai)
            for name in names:
                print(f"wrote {await record_one(name, binary, port, out, scratch)}")
            nursery.cancel_scope.cancel()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.record_appserver", description=__doc__)
    parser.add_argument("--version", default=PINNED_VERSION, help="Codex release (installed side by side)")
    parser.add_argument("--only", nargs="*", choices=list(SCENARIOS), default=list(SCENARIOS), metavar="NAME",
                        help="record just these scenarios (none: with --schema, only the schema)")
    parser.add_argument("--schema", action="store_true", help="also write the trimmed generated schema")
    args = parser.parse_args(argv)
    return trio.run(record, args.version, args.only, args.schema)


if __name__ == "__main__":
    sys.exit(main())
