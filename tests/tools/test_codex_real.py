"""Real Codex 0.169 in a real tmux against the mock: the harness, the parser and the state machine.

Each test starts the in-process mock, writes an isolated CODEX_HOME (outside /tmp), and runs Codex in
a private tmux server (``-L`` socket) that is killed at the end. Real clock; every wait is bounded.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tomllib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import trio

from ccbot.codex.versions import TESTED_VERSIONS
from ccbot.screen.parse import ScreenModel, parse_screen
from ccbot.screen.prompt_state import (
    BecameReady,
    Effect,
    PromptShown,
    PromptStateMachine,
    State,
)
from tests.conftest import DATA
from tools.codex_harness import (
    PINNED_VERSION,
    TmuxCodex,
    codex_command,
    codex_env,
    scratch_dir,
    wait_turn_ends,
    write_codex_home,
)
from tools.mock_openai import RequestLog, serve_mock_openai

STARTUP_LIMIT = 30.0
TURN_LIMIT = 30.0


@dataclass
class Live:
    pane: TmuxCodex
    home: Path
    work: Path
    log: RequestLog
    machine: PromptStateMachine
    effects: list[Effect]

    async def screen_until(self, predicate: Callable[[ScreenModel], bool], within: float) -> ScreenModel:
        """Poll, parse and feed the state machine until ``predicate(model)`` holds."""
        with trio.fail_after(within):
            while True:
                model = parse_screen(await self.pane.capture())
                self.effects += self.machine.step(model)
                if predicate(model):
                    return model
                await trio.sleep(0.05)


@pytest.fixture
async def live(codex_bin: str, tmux_bin: str, nursery: trio.Nursery) -> AsyncIterator[Live]:
    log = RequestLog()
    port = await nursery.start(functools.partial(serve_mock_openai, log=log))
    scratch = scratch_dir("test-codex-")
    pane = TmuxCodex(tmux_bin, f"ccbot-test-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        work = scratch / "work"
        work.mkdir()
        home = scratch / "home"
        write_codex_home(home, port=port, workdirs=[work])
        await pane.start(codex_command(codex_bin, home), work, codex_env(home))
        yield Live(pane, home, work, log, PromptStateMachine(), [])
    finally:
        await pane.kill()
        shutil.rmtree(scratch, ignore_errors=True)


def state_of(live: Live) -> State:
    return live.machine.state


def rollout_events(path: Path) -> list[dict[str, object]]:
    payloads = []
    for line in path.read_text("utf-8").splitlines():
        record = json.loads(line)
        if record["type"] == "event_msg":
            payloads.append(record["payload"])
    return payloads


@pytest.mark.codex
@pytest.mark.tmux
async def test_startup_reaches_ready(live: Live) -> None:
    model = await live.screen_until(lambda m: m.footer_ready, STARTUP_LIMIT)
    assert model.footer is not None and model.footer.model == "mock-model"
    assert model.composer_visible and model.composer_text is None
    assert live.machine.state is State.READY
    assert BecameReady() in live.effects
    assert live.machine.can_accept_text().ok


@pytest.mark.codex
@pytest.mark.tmux
async def test_prompt_gets_mock_reply_and_task_complete(live: Live) -> None:
    await live.screen_until(lambda m: m.footer_ready, STARTUP_LIMIT)
    with trio.fail_after(TURN_LIMIT):
        await live.pane.submit("hello from the test")
    rollout = await wait_turn_ends(live.home, 1, TURN_LIMIT)
    model = await live.screen_until(
        lambda m: m.last_prompt == "hello from the test" and m.turn_ended_after_last_prompt, TURN_LIMIT
    )
    assert model.answer_after_last_prompt
    assert "MOCK_REPLY: you said: hello from the test" in await live.pane.capture()
    complete = [p for p in rollout_events(rollout) if p["type"] == "task_complete"]
    assert [p["last_agent_message"] for p in complete] == ["MOCK_REPLY: you said: hello from the test"]
    assert live.machine.state is State.READY
    assert any(r.get("prompt") == "hello from the test" and r.get("kind") == "turn" for r in live.log.records)


@pytest.mark.codex
@pytest.mark.tmux
async def test_escalated_command_shows_a_recognised_approval(live: Live) -> None:
    await live.screen_until(lambda m: m.footer_ready, STARTUP_LIMIT)
    target = live.work / "escalated.txt"
    with trio.fail_after(TURN_LIMIT):
        await live.pane.submit(f"run touch {target} escalate")
    model = await live.screen_until(lambda m: m.approval is not None, TURN_LIMIT)
    approval = model.approval
    assert approval is not None
    assert approval.title == "Would you like to run the following command?"
    assert approval.command == f"touch {target}"
    assert approval.reason == f"Mock model wants to run `touch {target}` outside the sandbox"
    assert [option.key for option in approval.options] == ["y", "p", "esc"]
    assert approval.selected == 0
    assert live.machine.state is State.BLOCKED
    assert PromptShown(approval) in live.effects
    verdict = live.machine.can_accept_text()
    assert not verdict.ok and verdict.reason == approval.title

    await live.pane.press("y")
    await wait_turn_ends(live.home, 1, TURN_LIMIT)
    await live.screen_until(lambda m: m.footer_ready and m.turn_ended_after_last_prompt, TURN_LIMIT)
    assert state_of(live) is State.READY
    assert target.exists()


def test_config_toml_matches_the_recipe(tmp_path: Path) -> None:
    work = tmp_path / 'odd "dir" \\ name'
    home = tmp_path / "home"
    write_codex_home(
        home, port=41939, workdirs=[work, work], approval_policy="never", sandbox_mode="read-only"
    )
    config = tomllib.loads((home / "config.toml").read_text("utf-8"))
    assert config["model"] == "mock-model" and config["model_provider"] == "mock"
    assert (config["approval_policy"], config["sandbox_mode"]) == ("never", "read-only")
    assert config["check_for_update_on_startup"] is False
    assert config["model_catalog_json"] == str((home / "mock_model_catalog.json").resolve())
    assert config["model_providers"]["mock"] == {
        "name": "Mock",
        "base_url": "http://127.0.0.1:41939/v1",
        "experimental_bearer_token": "mock-key",
        "wire_api": "responses",
        "request_max_retries": 0,
        "stream_max_retries": 0,
    }
    assert config["analytics"] == {"enabled": False}
    assert config["features"] == {"daemon_auto_start": False, "plugins": False}
    assert config["tui"] == {
        "screen_reader_detection_done": True,
        "animations": False,
        "show_tooltips": False,
        "disable_paste_burst": True,
    }
    assert config["projects"] == {str(work.resolve()): {"trust_level": "trusted"}}
    (model,) = json.loads((home / "mock_model_catalog.json").read_text("utf-8"))["models"]
    assert model["slug"] == "mock-model" and model["shell_type"] == "shell_command"


@pytest.mark.parametrize(("policy", "sandbox"), [("untrusted", "workspace-write"), ("on-request", "yolo")])
def test_config_rejects_settings_codex_refuses(tmp_path: Path, policy: str, sandbox: str) -> None:
    with pytest.raises(ValueError):
        write_codex_home(tmp_path / "h", port=1, workdirs=[], approval_policy=policy, sandbox_mode=sandbox)
    assert not (tmp_path / "h").exists()


def test_environment_and_command(tmp_path: Path) -> None:
    base = {"PATH": "/bin", "HTTPS_PROXY": "http://proxy:3128", "http_proxy": "http://p", "KEEP": "1"}
    env = codex_env(tmp_path, base)
    assert env == {
        "PATH": "/bin",
        "KEEP": "1",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "CODEX_HOME": str(tmp_path.resolve()),
    }
    argv = codex_command("/opt/codex", tmp_path)
    assert argv[0] == "env" and argv[-2:] == ["/opt/codex", "--no-daemon"]
    assert argv[argv.index("HTTPS_PROXY") - 1 : argv.index("HTTPS_PROXY") + 1] == ["-u", "HTTPS_PROXY"]
    assert f"CODEX_HOME={tmp_path.resolve()}" in argv
    assert codex_command("/opt/codex", tmp_path, "resume", "abc")[-4:] == [
        "/opt/codex",
        "resume",
        "--no-daemon",
        "abc",
    ]


def test_pinned_version_is_the_oldest_tested_and_recorded_one() -> None:
    """The recorded fixtures the parsers are tested on come from the release ``ensure_codex()`` defaults to."""
    manifest = json.loads((DATA / "codex-0.169" / "manifest.json").read_text())
    assert PINNED_VERSION == TESTED_VERSIONS[0] == manifest["codex_version"]
