"""Record real Codex 0.169 pane captures and rollouts against the mock, for the test suite.

``uv run python -m tools.record_codex [--out tests/data/codex-0.169]`` runs the pinned Codex in a
private tmux server (120x40, ``-L`` socket, killed at the end) against an in-process mock OpenAI
server, walks through the scenarios below, and writes:

* ``captures/<name>.txt`` (``capture-pane -p``) and ``captures/<name>.ansi.txt`` (``-e``),
* ``rollouts/<name>.jsonl`` (the session's rollout file),
* ``manifest.json`` describing every file, the prompts sent, and the work directories used
  (captures and rollouts contain those absolute paths).

``--only NAME [NAME …]`` records just those scenarios into an existing data directory: their old
files and manifest entries are replaced, everything else is kept.

Each capture is taken when plain substring checks on the pane say the scenario reached that point;
the screen parser under test is deliberately not used here. Every wait is bounded; a stuck
scenario raises ``trio.TooSlowError``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from tools.codex_harness import (
    PINNED_VERSION,
    TmuxCodex,
    codex_command,
    codex_env,
    codex_version,
    ensure_codex,
    rollout_files,
    scratch_dir,
    wait_turn_ends,
    write_codex_home,
)
from tools.mock_openai import RequestLog, serve_mock_openai

_MINOR = ".".join(PINNED_VERSION.split(".")[:2])
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / f"codex-{_MINOR}"
GLYPH = "\u203a"
_SGR = re.compile(r"\x1b\[[0-9;:]*m")
STEP = 20.0  # bound for one ordinary wait
SLOW_STEP = 40.0  # bound for waits that span a slow answer
SETTLE = 0.5  # a screen must hold still this long before keys are pressed on it (SettlingPane)
SETTLE_LIMIT = 5.0


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=rec", "-c", "user.email=rec@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def make_git_workdir(path: Path) -> Path:
    """A fresh git repository with one committed README.md."""
    path.mkdir(parents=True)
    _git("init", "-q", "-b", "main", cwd=path)
    (path / "README.md").write_text("hello\n", "utf-8")
    _git("add", "README.md", cwd=path)
    _git("commit", "-q", "-m", "init", cwd=path)
    return path


def worked_for_count(screen: str) -> int:
    return sum(1 for line in screen.splitlines() if line.lstrip().startswith("Worked for "))


def bottom_composer_is_placeholder(screen: str) -> bool:
    lines = [line for line in screen.splitlines() if line.startswith(GLYPH)]
    return bool(lines) and lines[-1].rstrip() == f"{GLYPH} Ask Codex to do anything"


class SettlingPane(TmuxCodex):
    """A pane whose key presses wait for a still screen to hold still first (two captures ``SETTLE`` apart
    alike, for at most ``SETTLE_LIMIT``); a busy screen (``esc to interrupt``) is pressed at once, since its
    keys are timed against the running turn. Measured on 0.171.0: an Enter on the trust screen, or a Ctrl-C
    on the composer, pressed within moments of the screen appearing was sometimes dropped and the scenario
    stalled; after 0.5 s none was (15 of 15 runs)."""

    async def press(self, *keys: str) -> None:
        with trio.move_on_after(SETTLE_LIMIT):
            before = await self.capture()
            while "esc to interrupt" not in before:
                await trio.sleep(SETTLE)
                now = await self.capture()
                if now == before:
                    break
                before = now
        await super().press(*keys)


@dataclass
class Recorder:
    """Shared state of one recording run."""

    out: Path
    tmux_bin: str
    codex_bin: Path
    port: int
    scratch: Path
    files: list[dict[str, Any]] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def capture(
        self,
        pane: TmuxCodex,
        session: str,
        name: str,
        description: str,
        *,
        until: Callable[[str], bool] | None = None,
    ) -> str:
        """Save the plain and coloured capture; with ``until``, only a pair where both satisfy it."""
        with trio.fail_after(STEP):
            while True:
                text = await pane.capture()
                ansi = await pane.capture(ansi=True)
                if until is None or (until(text) and until(_SGR.sub("", ansi))):
                    break
                await trio.sleep(0.005)
        (self.out / "captures" / f"{name}.txt").write_text(text, "utf-8")
        (self.out / "captures" / f"{name}.ansi.txt").write_text(ansi, "utf-8")
        self.files.append(
            {
                "path": f"captures/{name}.txt",
                "ansi_path": f"captures/{name}.ansi.txt",
                "kind": "capture",
                "session": session,
                "description": description,
            }
        )
        return text

    def keep_rollout(self, home: Path, session: str, name: str, description: str) -> None:
        files = rollout_files(home)
        if not files:
            raise RuntimeError(f"session {session} wrote no rollout")
        target = self.out / "rollouts" / f"{name}.jsonl"
        shutil.copyfile(files[-1], target)
        self.files.append(
            {
                "path": f"rollouts/{name}.jsonl",
                "kind": "rollout",
                "session": session,
                "description": description,
                "original_name": files[-1].name,
                "thread_id": files[-1].name[-42:-6],
            }
        )

    async def session(
        self,
        name: str,
        body: Callable[[TmuxCodex, Path, Path], Awaitable[None]],
        *,
        workdir: Path,
        trusted: bool = True,
        approval_policy: str = "on-request",
        sandbox_mode: str = "workspace-write",
        hooks: dict[str, Any] | None = None,
    ) -> None:
        """Run ``body`` against a fresh ``CODEX_HOME``; ``hooks`` is written there as ``hooks.json``."""
        home = self.scratch / f"home-{name}"
        write_codex_home(
            home,
            port=self.port,
            workdirs=[workdir] if trusted else [],
            approval_policy=approval_policy,
            sandbox_mode=sandbox_mode,
        )
        if hooks is not None:
            (home / "hooks.json").write_text(json.dumps(hooks, indent=1) + "\n", "utf-8")
        self.sessions[name] = {
            "workdir": str(workdir),
            "codex_home": str(home),
            "approval_policy": approval_policy,
            "sandbox_mode": sandbox_mode,
            "trusted": trusted,
            "prompts": [],
            **({"hooks": hooks} if hooks is not None else {}),
        }
        pane = SettlingPane(self.tmux_bin, f"ccbot-rec-{os.getpid()}-{name}")
        try:
            await pane.start(codex_command(self.codex_bin, home), workdir, codex_env(home))
            await body(pane, home, workdir)
        finally:
            await pane.kill()

    def prompt(self, session: str, text: str) -> str:
        self.sessions[session]["prompts"].append(text)
        return text


async def wait_ready(pane: TmuxCodex) -> str:
    return await pane.wait_for(
        lambda s: "mock-model default · " in s and bottom_composer_is_placeholder(s), STEP
    )


async def quit_codex(pane: TmuxCodex) -> str:
    await pane.press("C-c")
    return await pane.wait_for(lambda s: "[codex exited rc=" in s, STEP)


async def scenario_plain(rec: Recorder, pane: TmuxCodex, home: Path, workdir: Path) -> None:
    # Startup: the composer is drawn but the footer (the ready signal) is not there yet.
    await rec.capture(
        pane,
        "plain",
        "startup",
        "composer drawn, footer not yet shown",
        until=lambda s: f"{GLYPH} Ask Codex to do anything" in s and "mock-model default" not in s,
    )
    await wait_ready(pane)
    await rec.capture(pane, "plain", "idle", "fresh session, footer shown, placeholder in composer")
    text = rec.prompt("plain", "hello mock")
    await pane.send_text(text)
    await pane.wait_for(lambda s: f"{GLYPH} {text}" in s, STEP)
    await rec.capture(pane, "plain", "typed_not_submitted", "'hello mock' typed into the composer, no Enter")
    await pane.press("Enter")
    await pane.wait_for(lambda s: "MOCK_REPLY: you said: hello mock" in s and worked_for_count(s) == 1, STEP)
    await wait_turn_ends(home, 1, STEP)
    await pane.wait_for(lambda s: "· Mock hello mock" in s, STEP)
    await rec.capture(pane, "plain", "plain_reply", "answer shown, turn finished")
    rec.keep_rollout(home, "plain", "plain", "one plain turn: 'hello mock' -> MOCK_REPLY")
    await quit_codex(pane)
    await rec.capture(pane, "plain", "exited", "after Ctrl-C on the idle composer (wrapper marker below)")


async def scenario_busy(rec: Recorder, pane: TmuxCodex, home: Path, workdir: Path) -> None:
    await wait_ready(pane)
    await pane.submit(rec.prompt("busy", "slow 8 tell me a story"))
    await pane.wait_for(lambda s: "esc to interrupt" in s, STEP)
    await trio.sleep(1.0)
    await rec.capture(pane, "busy", "busy_working", "waiting for the model: Working (… esc to interrupt)")
    await pane.wait_for(
        lambda s: "• MOCK_REPLY: you said:" in s and "esc to interrupt" not in s and worked_for_count(s) == 0,
        SLOW_STEP,
        interval=0.02,
    )
    await rec.capture(pane, "busy", "busy_streaming", "answer streaming: no busy marker, no Worked for yet")
    await wait_turn_ends(home, 1, SLOW_STEP)
    await pane.wait_for(lambda s: worked_for_count(s) == 1, STEP)
    await rec.capture(pane, "busy", "after_completion", "slow answer finished")

    await pane.submit(rec.prompt("busy", "slow 6 second story"))
    await pane.wait_for(lambda s: "esc to interrupt" in s, STEP)
    queued = rec.prompt("busy", "queued follow-up")
    await pane.send_text(queued)
    await pane.wait_for(lambda s: "tab to queue message" in s and f"{GLYPH} {queued}" in s, STEP)
    await rec.capture(pane, "busy", "busy_steer_hint", "text typed while busy: 'tab to queue message' hint")
    await pane.press("Tab")
    await pane.wait_for(lambda s: "Queued follow-up inputs" in s, STEP)
    await rec.capture(pane, "busy", "busy_queued", "after Tab: the message is queued as a follow-up")
    await wait_turn_ends(home, 3, SLOW_STEP)
    await pane.wait_for(
        lambda s: "MOCK_REPLY: you said: queued follow-up" in s and worked_for_count(s) >= 3, STEP
    )
    await rec.capture(pane, "busy", "after_queued", "queued follow-up ran as its own turn")

    await pane.submit(rec.prompt("busy", "slow 10 please get interrupted"))
    await pane.wait_for(lambda s: "esc to interrupt" in s, STEP)
    await trio.sleep(0.5)
    await pane.press("Escape")
    await pane.wait_for(lambda s: "■ Conversation interrupted" in s, STEP)
    await wait_turn_ends(home, 4, STEP)
    await rec.capture(pane, "busy", "interrupted", "Esc during a slow turn")
    rec.keep_rollout(home, "busy", "busy", "slow turn, queued follow-up turn, interrupted turn")


async def scenario_reasoning(rec: Recorder, pane: TmuxCodex, home: Path, workdir: Path) -> None:
    await wait_ready(pane)
    await pane.submit(rec.prompt("reasoning", "think slow 6 about the plan"))
    await pane.wait_for(lambda s: "pretending to think about" in s and "esc to interrupt" in s, STEP)
    await rec.capture(pane, "reasoning", "reasoning", "reasoning summary shown as the busy status line")
    await wait_turn_ends(home, 1, SLOW_STEP)
    await pane.wait_for(lambda s: worked_for_count(s) == 1, STEP)
    await rec.capture(pane, "reasoning", "reasoning_done", "reasoning turn finished")
    rec.keep_rollout(home, "reasoning", "reasoning", "reasoning item then answer")


async def scenario_tool(rec: Recorder, pane: TmuxCodex, home: Path, workdir: Path) -> None:
    await wait_ready(pane)
    await pane.submit(rec.prompt("tool", "run echo tool-output-line"))
    await wait_turn_ends(home, 1, STEP)
    await pane.wait_for(lambda s: "MOCK_TOOL_DONE" in s and worked_for_count(s) == 1, STEP)
    await rec.capture(pane, "tool", "tool_run", "sandboxed command ran without approval, then the answer")
    rec.keep_rollout(home, "tool", "tool", "exec_command in the sandbox, no approval")


async def scenario_approve(rec: Recorder, pane: TmuxCodex, home: Path, workdir: Path) -> None:
    await wait_ready(pane)
    await pane.submit(rec.prompt("approve", f"run touch {workdir}/escalated.txt escalate"))
    await pane.wait_for(lambda s: "Press enter to confirm or esc to cancel" in s, STEP)
    await rec.capture(pane, "approve", "approval_prompt", "escalated command waits for approval")
    await pane.press("Down")
    await pane.wait_for(lambda s: f"{GLYPH} 2. Yes, and don't ask again" in s, STEP)
    await rec.capture(pane, "approve", "approval_second_selected", "Down moved the selection to option 2")
    await pane.press("Up")
    await pane.wait_for(lambda s: f"{GLYPH} 1. Yes, proceed" in s, STEP)
    await pane.press("y")
    await wait_turn_ends(home, 1, STEP)
    await pane.wait_for(lambda s: "You approved codex" in s and worked_for_count(s) == 1, STEP)
    await rec.capture(pane, "approve", "after_approval", "approved with y; command ran; answer")
    rec.keep_rollout(home, "approve", "approved", "escalated exec_command approved with y")

    await pane.send_text("/status")
    await trio.sleep(0.4)
    await pane.press("Enter")
    await pane.wait_for(lambda s: "Session:" in s and bottom_composer_is_placeholder(s), STEP)
    await rec.capture(pane, "approve", "slash_status", "/status output")

    await pane.send_text("/diff")
    await trio.sleep(0.4)
    await rec.capture(pane, "approve", "slash_popup", "'/diff' typed: slash-command popup above the composer")
    await pane.press("Enter")
    await pane.wait_for(lambda s: "q close" in s, STEP)
    await rec.capture(pane, "approve", "diff_pager", "/diff pager")
    await pane.press("q")
    await wait_ready(pane)

    await pane.send_text("/review")
    await trio.sleep(0.4)
    await pane.press("Enter")
    await pane.wait_for(lambda s: "Select a review preset" in s, STEP)
    await rec.capture(pane, "approve", "review_menu", "/review preset menu")
    await pane.press("Escape")
    await wait_ready(pane)

    await pane.press("F2")
    await pane.wait_for(lambda s: "esc dismiss & close" in s, STEP)
    await rec.capture(pane, "approve", "warnings", "F2 warnings overlay")
    await pane.press("Escape")
    await wait_ready(pane)


async def scenario_deny(rec: Recorder, pane: TmuxCodex, home: Path, workdir: Path) -> None:
    await wait_ready(pane)
    await pane.submit(rec.prompt("deny", f"run touch {workdir}/denied.txt escalate"))
    await pane.wait_for(lambda s: "Press enter to confirm or esc to cancel" in s, STEP)
    await pane.press("Escape")
    await wait_turn_ends(home, 1, STEP)
    await pane.wait_for(
        lambda s: "■ Conversation interrupted" in s and bottom_composer_is_placeholder(s), STEP
    )
    await rec.capture(pane, "deny", "approval_denied", "approval cancelled with Esc; turn aborted")
    rec.keep_rollout(home, "deny", "denied", "escalated exec_command denied with Esc (turn_aborted)")


async def scenario_fail(rec: Recorder, pane: TmuxCodex, home: Path, workdir: Path) -> None:
    await wait_ready(pane)
    await pane.submit(rec.prompt("fail", "mock:fail please"))
    await wait_turn_ends(home, 1, STEP)
    await pane.wait_for(lambda s: "■ stream disconnected" in s and bottom_composer_is_placeholder(s), STEP)
    await rec.capture(pane, "fail", "mock_fail", "response.failed from the model")
    rec.keep_rollout(home, "fail", "fail", "response.failed -> task_complete with error")


async def scenario_long(rec: Recorder, pane: TmuxCodex, home: Path, workdir: Path) -> None:
    await wait_ready(pane)
    await pane.submit(rec.prompt("long", "long 10000"))
    await wait_turn_ends(home, 1, STEP)
    await pane.wait_for(lambda s: worked_for_count(s) == 1 and bottom_composer_is_placeholder(s), STEP)
    await rec.capture(pane, "long", "long_answer", "10,000-character markdown answer; prompt scrolled away")
    rec.keep_rollout(home, "long", "long", "one 10,000-character markdown answer")


async def scenario_trust(rec: Recorder, pane: TmuxCodex, home: Path, workdir: Path) -> None:
    await pane.wait_for(lambda s: "Trust this folder?" in s and "enter continue" in s, STEP)
    await rec.capture(pane, "trust", "trust", "folder-trust screen (git repo not in config)")
    await pane.press("Enter")
    await wait_ready(pane)
    await rec.capture(pane, "trust", "after_trust", "idle after trusting the folder")
    await quit_codex(pane)
    await rec.capture(pane, "trust", "exited_no_turns", "Ctrl-C in a thread without turns: Session ID only")


async def scenario_trust_declined(rec: Recorder, pane: TmuxCodex, home: Path, workdir: Path) -> None:
    await pane.wait_for(lambda s: "Trust this folder?" in s and "enter continue" in s, STEP)
    await pane.press("Escape")  # "esc back": Codex does not exit, it opens its Agent command center
    await pane.wait_for(lambda s: "Agent command center" in s and "enter open" in s, STEP)
    await rec.capture(pane, "trust_declined", "agent_center", "trust screen declined with Esc: Agent command center")
    await pane.press("C-c")
    await pane.wait_for(lambda s: "[codex exited rc=" in s, STEP)
    await rec.capture(pane, "trust_declined", "exited_from_agent_center", "Ctrl-C in the Agent command center")


HOOKS = {"hooks": {"SessionStart": [{"hooks": [{"type": "command", "command": "true"}]}]}}


async def scenario_hooks(rec: Recorder, pane: TmuxCodex, home: Path, workdir: Path) -> None:
    await pane.wait_for(lambda s: "Hooks need review" in s and "enter confirm" in s, STEP)
    await rec.capture(pane, "hooks", "hooks_review", "'Hooks need review' startup screen (untrusted hooks.json)")
    await pane.press("Enter")  # 1. Review hooks
    await pane.wait_for(lambda s: "enter review" in s and "esc close" in s, STEP)
    await rec.capture(pane, "hooks", "hooks_list", "'Review hooks' chosen: the hooks list")
    await pane.press("Escape")
    await wait_ready(pane)
    await rec.capture(pane, "hooks", "after_hooks_review", "idle after closing the hooks list")


async def scenario_resume_cwd(rec: Recorder, pane: TmuxCodex, home: Path, workdir: Path) -> None:
    await wait_ready(pane)
    await pane.submit(rec.prompt("resume_cwd", "hello mock"))
    await wait_turn_ends(home, 1, STEP)
    await quit_codex(pane)
    thread = rollout_files(home)[-1].name[-42:-6]
    other = rec.scratch / "other"
    other.mkdir(exist_ok=True)  # not a git repository: no trust screen there
    rec.sessions["resume_cwd"]["resumed_from"] = str(other)
    second = TmuxCodex(rec.tmux_bin, f"ccbot-rec-{os.getpid()}-resume-cwd-2")
    try:
        await second.start(codex_command(rec.codex_bin, home, "resume", thread), other, codex_env(home))
        await second.wait_for(lambda s: "Working directory · resume" in s and "enter continue" in s, STEP)
        await rec.capture(second, "resume_cwd", "resume_cwd", "'codex resume <id>' from another directory")
        await second.press("Enter")  # 1. Use session directory
        await wait_ready(second)
        await rec.capture(second, "resume_cwd", "after_resume_cwd", "idle after choosing the session directory")
    finally:
        await second.kill()


async def scenario_open_elsewhere(rec: Recorder, pane: TmuxCodex, home: Path, workdir: Path) -> None:
    """``codex resume <id>`` while the first pane's Codex still runs that thread."""
    await wait_ready(pane)
    await pane.submit(rec.prompt("open_elsewhere", "hello mock"))
    await wait_turn_ends(home, 1, STEP)
    thread = rollout_files(home)[-1].name[-42:-6]
    second = TmuxCodex(rec.tmux_bin, f"ccbot-rec-{os.getpid()}-open-elsewhere-2")
    try:
        await second.start(codex_command(rec.codex_bin, home, "resume", thread), workdir, codex_env(home))
        await second.wait_for(lambda s: "open in another app" in s, STEP)
        await rec.capture(second, "open_elsewhere", "open_elsewhere",
                          "'codex resume <id>' while another Codex runs the thread")
    finally:
        await second.kill()


SCENARIOS: list[tuple[str, Callable[..., Awaitable[None]], dict[str, Any]]] = [
    ("plain", scenario_plain, {}),
    ("busy", scenario_busy, {}),
    ("reasoning", scenario_reasoning, {}),
    ("tool", scenario_tool, {}),
    ("approve", scenario_approve, {}),
    ("deny", scenario_deny, {}),
    ("fail", scenario_fail, {}),
    ("long", scenario_long, {}),
    ("trust", scenario_trust, {"trusted": False}),
    ("trust_declined", scenario_trust_declined, {"trusted": False}),
    ("hooks", scenario_hooks, {"hooks": HOOKS}),
    ("resume_cwd", scenario_resume_cwd, {}),
    ("open_elsewhere", scenario_open_elsewhere, {}),
]


async def record(
    out: Path,
    tmux_bin: str,
    codex_bin: Path,
    tmux_version: str,
    only: frozenset[str] | None = None,
    *,
    codex_version: str = PINNED_VERSION,
    keep_going: bool = False,
) -> None:
    """Record every scenario (``only=None``: the data directory is rewritten) or just ``only``.

    ``keep_going`` (for ``tools.codex_drift`` on a new Codex): a scenario that fails or never reaches its
    checkpoint is listed under ``failed`` in the manifest with its reason, and the next one still runs.
    """
    kept_files: list[dict[str, Any]] = []
    kept_sessions: dict[str, Any] = {}
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    recorded_at = now
    if only is None:
        for sub in ("captures", "rollouts"):
            if (out / sub).exists():
                shutil.rmtree(out / sub)
            (out / sub).mkdir(parents=True)
    else:
        old = json.loads((out / "manifest.json").read_text("utf-8"))
        for entry in old["files"]:
            if entry["session"] in only:
                for key in ("path", "ansi_path"):
                    if key in entry:
                        (out / entry[key]).unlink(missing_ok=True)
            else:
                kept_files.append(entry)
        kept_sessions = {name: value for name, value in old["sessions"].items() if name not in only}
        recorded_at = old["recorded_at"]  # of the full run; sessions recorded later carry their own
    scratch = scratch_dir("record-")
    log = RequestLog()
    failed: dict[str, str] = {}
    try:
        async with trio.open_nursery() as nursery:
            port = await nursery.start(functools.partial(serve_mock_openai, log=log))
            rec = Recorder(out, tmux_bin, codex_bin, port, scratch, kept_files, kept_sessions)
            work = make_git_workdir(scratch / "work")
            for name, body, options in SCENARIOS:
                if only is not None and name not in only:
                    continue
                print(f"recording {name} …", flush=True)
                try:
                    await rec.session(name, functools.partial(body, rec), workdir=work, **options)
                except Exception as exc:  # a new Codex may break any scenario: report them all
                    if not keep_going:
                        raise
                    failed[name] = f"{type(exc).__name__}: {exc}"
                    print(f"  {name} failed: {failed[name]}", flush=True)
                    continue
                if only is not None:
                    rec.sessions[name]["recorded_at"] = now
            nursery.cancel_scope.cancel()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    manifest = {
        "codex_version": codex_version,
        "tmux_version": tmux_version,
        "pane_size": [120, 40],
        "recorded_at": recorded_at,
        "recorded_by": "uv run python -m tools.record_codex",
        "note": "Paths inside captures and rollouts are the recording run's scratch directories "
        "(see sessions[*].workdir / codex_home); they no longer exist.",
        "sessions": rec.sessions,
        "files": rec.files,
        **({"failed": failed} if failed else {}),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", "utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.record_codex", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--only", nargs="+", choices=[name for name, _, _ in SCENARIOS], metavar="NAME",
                        help="record only these scenarios into the existing data directory")
    parser.add_argument("--codex", type=Path, default=None,
                        help=f"the codex binary to record (default: the pinned {PINNED_VERSION})")
    parser.add_argument("--keep-going", action="store_true",
                        help="list a failing scenario in the manifest and go on (for a new Codex)")
    args = parser.parse_args(argv)
    tmux_bin = shutil.which("tmux")
    if tmux_bin is None:
        print("tmux is required", file=sys.stderr)
        return 2
    try:
        codex_bin = args.codex.resolve() if args.codex is not None else ensure_codex()
    except RuntimeError as exc:
        print(f"codex {PINNED_VERSION} unavailable: {exc}", file=sys.stderr)
        return 2
    codex_version_text = codex_version(codex_bin)
    if codex_version_text is None:
        print(f"{codex_bin} --version does not run", file=sys.stderr)
        return 2
    version = subprocess.run([tmux_bin, "-V"], capture_output=True, text=True, check=False).stdout.strip()
    only = frozenset(args.only) if args.only else None
    trio.run(functools.partial(record, args.out.resolve(), tmux_bin, codex_bin, version, only,
                               codex_version=codex_version_text, keep_going=args.keep_going))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
