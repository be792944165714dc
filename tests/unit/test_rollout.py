"""Tests for ccbot.codex.rollout: parse_line and RolloutDecoder on real and hand-written rollouts."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccbot.codex.records import (
    AssistantMessage,
    CommandRun,
    Compacted,
    Ignored,
    Malformed,
    PatchApplied,
    Reasoning,
    Record,
    ReviewFinished,
    ReviewStarted,
    SessionMeta,
    TokenUsage,
    ToolCall,
    ToolOutput,
    TurnAborted,
    TurnComplete,
    TurnStarted,
    UserMessage,
    amend,
)
from ccbot.codex.rollout import (
    RolloutDecoder,
    command_display,
    decode_lines,
    parse_line,
    parse_tool_output,
    patch_stats_from_text,
)
from tests.conftest import DATA

MAIN_0169 = DATA / "rollouts" / "codex-0.169-main.jsonl"
OLD_BASIC = DATA / "rollouts" / "codex-old-basic.jsonl"
OLD_EVENTS_FIRST = DATA / "rollouts" / "codex-old-events-first.jsonl"


def all_rollouts() -> list[Path]:
    """Every recorded or hand-written rollout, including ones recorded later into codex-0.169/."""
    found: list[Path] = []
    for folder in (DATA / "rollouts", DATA / "codex-0.169"):
        if folder.is_dir():
            found.extend(sorted(folder.rglob("*.jsonl")))
    return found


def raw_lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().split(b"\n") if line.strip()]


def decode(path: Path) -> list[Record]:
    return decode_lines(raw_lines(path))


def of(records: list[Record], kind: type[Any]) -> list[Any]:
    return [r for r in records if isinstance(r, kind)]


def line_kinds(path: Path) -> Counter[str]:
    """Independent census of a rollout: "type/payload.type/item.type" per line."""
    counts: Counter[str] = Counter()
    for line in raw_lines(path):
        obj = json.loads(line)
        payload = obj.get("payload", {})
        key = obj["type"]
        if isinstance(payload, dict) and "type" in payload:
            key += "/" + str(payload["type"])
            if payload["type"] == "item_completed":
                key += "/" + str(payload["item"]["type"])
        counts[key] += 1
    return counts


def shell_call_ids(path: Path) -> set[str]:
    """Call ids of CommandExecution items plus exec_command calls that got an output."""
    executed: set[str] = set()
    shell_calls: set[str] = set()
    outputs: set[str] = set()
    for line in raw_lines(path):
        obj = json.loads(line)
        p = obj["payload"]
        if (
            obj["type"] == "event_msg"
            and p["type"] == "item_completed"
            and p["item"]["type"] == "CommandExecution"
        ):
            executed.add(p["item"]["id"])
        # "shell": an older Codex's name for it, kept by ``codex migrate-rollouts`` in the lines it converts
        elif obj["type"] == "response_item" and p["type"] == "function_call" and p["name"] in ("exec_command",
                                                                                               "shell"):
            shell_calls.add(p["call_id"])
        elif obj["type"] == "response_item" and p["type"] == "function_call_output":
            outputs.add(p["call_id"])
    return executed | (shell_calls & outputs)


# --- the real 0.169 rollout -----------------------------------------------------------------------


def test_real_rollout_record_counts() -> None:
    # Expected numbers from rollout_summary.txt (line kinds of this file):
    #   9 item_completed/UserMessage (the 12 response_item user messages are 8 twins + 4 injected
    #   blocks), 8 AgentMessage (the 9th response_item assistant message is the compaction summary),
    #   1 Reasoning, 3 CommandExecution (+3 function_call, +3 function_call_output twins),
    #   10 task_started, 9 task_complete, 1 turn_aborted, 14 token_count + 11 token_usage_record,
    #   1 compacted + 1 ContextCompaction (one compaction), 1 Entered/ExitedReviewMode.
    records = decode(MAIN_0169)
    counts = Counter(type(r).__name__ for r in records)
    assert counts == {
        "SessionMeta": 1,
        "UserMessage": 9,
        "AssistantMessage": 8,
        "Reasoning": 1,
        "ToolCall": 3,
        "CommandRun": 3,
        "TurnStarted": 10,
        "TurnComplete": 9,
        "TurnAborted": 1,
        "TokenUsage": 25,
        "Compacted": 1,
        "ReviewStarted": 1,
        "ReviewFinished": 1,
    }


def test_real_rollout_user_and_assistant_texts_in_order() -> None:
    records = decode(MAIN_0169)
    users = of(records, UserMessage)
    assert [u.text for u in users[:6]] == [
        "hello mock",
        "think about the plan",
        "slow 8 tell me a story",
        "slow 10 please get interrupted",
        "run ls -la",
        "run touch /home/dev/demo/work/escalated.txt escalate",
    ]
    assert users[6].text.startswith("Review the current code changes")
    assert users[6].agent == "review"  # the review sub-agent's prompt, written into the main rollout
    assert users[6].thread_id == "01a20a5a-4d6c-7f40-a810-8aff38ebfcf7"
    assert users[7].text.startswith("Generate a file named AGENTS.md")
    assert users[8].text == "hello after resume"
    assert all(u.agent is None for i, u in enumerate(users) if i != 6)
    assert all(u.origin == "event_msg/item_completed/UserMessage" for u in users)
    texts = [a.text for a in of(records, AssistantMessage)]
    assert texts[0] == "MOCK_REPLY: you said: hello mock"
    assert texts[-1] == "MOCK_REPLY: you said: hello after resume"
    assert not any("compaction summary" in t for t in texts)
    assert not any(t.lstrip().startswith(("<environment_context>", "# AGENTS.md")) for t in texts)


def test_real_rollout_turns_durations_and_tokens_match_the_raw_lines() -> None:
    # Derive the expectations independently from the raw JSON: duration_ms of each task_complete,
    # and the turn_token_usage of the last token_usage_record before it.
    expected: list[tuple[int, int | None]] = []
    last_turn_total: int | None = None
    for line in raw_lines(MAIN_0169):
        obj = json.loads(line)
        p = obj["payload"]
        if obj["type"] == "token_usage_record":
            last_turn_total = p["turn_token_usage"]["total_tokens"]
        elif obj["type"] == "event_msg" and p["type"] == "task_started":
            last_turn_total = None
        elif obj["type"] == "event_msg" and p["type"] == "task_complete":
            expected.append((p["duration_ms"], last_turn_total))
    done = of(decode(MAIN_0169), TurnComplete)
    assert [(t.duration_ms, t.tokens) for t in done] == expected
    assert expected[0] == (202, 8739)  # spot check against rollout_summary.txt
    assert all(t.error is None for t in done)
    aborted = of(decode(MAIN_0169), TurnAborted)
    assert [(a.reason, a.duration_ms) for a in aborted] == [("interrupted", 1516)]


def test_real_rollout_commands() -> None:
    runs = of(decode(MAIN_0169), CommandRun)
    assert [r.command for r in runs] == [
        "ls -la",
        "touch /home/dev/demo/work/escalated.txt",
        "printf '# Repository Guidelines\\n\\nWritten by the mock model for /init.\\n' > AGENTS.md"
        " && echo wrote AGENTS.md",
    ]
    assert [r.exit_code for r in runs] == [0, 0, 0]
    assert runs[0].action == "list_files"
    assert runs[0].output.startswith("total 16\n")
    assert len(runs[0].output.splitlines()) == 8
    assert runs[2].output.strip() == "wrote AGENTS.md"
    calls = of(decode(MAIN_0169), ToolCall)
    assert [c.call_id for c in calls] == [r.call_id for r in runs]
    assert all(c.name == "exec_command" for c in calls)
    assert [c.command for c in calls] == [r.command for r in runs]


def test_real_rollout_turn_ids_group_the_review_turn() -> None:
    records = decode(MAIN_0169)
    review_root = "01a20a5a-4d62-7830-a7c4-3e8397d940e2"
    in_review = [r for r in records if r.turn_id == review_root]
    kinds = [type(r).__name__ for r in in_review]
    assert kinds == [
        "ReviewStarted",
        "TurnStarted",
        "UserMessage",
        "ReviewFinished",
        "AssistantMessage",
        "TurnComplete",
    ]
    finished = of(records, ReviewFinished)[0]
    assert finished.findings == 1
    assert finished.verdict == "patch is correct"
    assert "[P3] Mock finding" in finished.text
    assert of(records, ReviewStarted)[0].hint == "current changes"


def test_real_rollout_session_meta_and_thread_attribution() -> None:
    records = decode(MAIN_0169)
    meta = of(records, SessionMeta)[0]
    assert meta.id == "01a20a5a-009b-7f71-8ca7-536926fbd324"
    assert (meta.source, meta.thread_source, meta.originator, meta.cli_version) == (
        "cli",
        "user",
        "codex-tui",
        "0.169.0",
    )
    assert meta.parent_thread_id is None and meta.subagent is None
    foreign = [r for r in records if r.thread_id != meta.id]
    assert [type(r).__name__ for r in foreign] == ["UserMessage"]
    assert all(r.ordinal is not None and r.timestamp for r in records)


# --- every rollout we have (real 0.169 recordings and hand-written older ones) ----------------------


@pytest.mark.parametrize("path", all_rollouts(), ids=lambda p: p.name)
def test_every_rollout_decodes_cleanly_and_twins_come_once(path: Path) -> None:
    records = decode(path)
    kinds = line_kinds(path)
    assert not of(records, Malformed)
    assert len(of(records, TurnStarted)) == kinds["event_msg/task_started"]
    assert len(of(records, TurnComplete)) == kinds["event_msg/task_complete"]
    assert len(of(records, TurnAborted)) == kinds["event_msg/turn_aborted"]
    assert len(of(records, SessionMeta)) == kinds["session_meta"]
    if kinds["event_msg/item_completed/AgentMessage"] or kinds["event_msg/item_completed/UserMessage"]:
        # 0.169: exactly one record per item_completed; the response_item copies are twins.
        assert len(of(records, UserMessage)) == kinds["event_msg/item_completed/UserMessage"]
        assert len(of(records, AssistantMessage)) == kinds["event_msg/item_completed/AgentMessage"]
        assert len(of(records, Reasoning)) == kinds["event_msg/item_completed/Reasoning"]
        # A command finishes as its CommandExecution item, or (denied/aborted: no item) as the
        # output of its exec_command call.
        assert {r.call_id for r in of(records, CommandRun)} == shell_call_ids(path)
    # A call is finished at most once, and never both as a command and as a raw output.
    finished = [r.call_id for r in records if isinstance(r, CommandRun | PatchApplied | ToolOutput)]
    assert len(finished) == len(set(finished))
    started = [r.call_id for r in of(records, ToolCall)]
    assert len(started) == len(set(started))


@pytest.mark.parametrize("path", all_rollouts(), ids=lambda p: p.name)
def test_decoding_can_restart_at_every_line_boundary(path: Path) -> None:
    lines = raw_lines(path)
    whole = decode_lines(lines)
    for cut in range(len(lines) + 1):
        first = RolloutDecoder()
        head = decode_lines(lines[:cut], first)
        snapshot = json.loads(json.dumps(first.snapshot()))  # must survive a JSON state file
        second = RolloutDecoder()
        second.restore(snapshot)
        tail = decode_lines(lines[cut:], second)
        assert head + tail == whole, f"restart after line {cut}"


def test_restart_from_a_byte_offset_in_the_middle_of_the_file() -> None:
    data = MAIN_0169.read_bytes()
    offset = data.index(b'"ordinal":50,')
    offset = data.rindex(b"\n", 0, offset) + 1  # the start of the line with ordinal 50
    first = RolloutDecoder()
    head = decode_lines(data[:offset].splitlines(), first)
    second = RolloutDecoder()
    second.restore(first.snapshot())
    tail = decode_lines(data[offset:].splitlines(), second)
    assert head + tail == decode(MAIN_0169)
    # The line at the offset is a token_usage_record; the CommandRun after it is delivered once.
    assert len(of(tail, CommandRun)) == 3 - len(of(head, CommandRun))


def test_snapshot_is_small_and_restore_rejects_garbage() -> None:
    dec = RolloutDecoder()
    decode_lines(raw_lines(MAIN_0169), dec)
    assert len(json.dumps(dec.snapshot())) < 4096
    with pytest.raises(ValueError):
        RolloutDecoder().restore({"v": 999})
    with pytest.raises(ValueError):
        RolloutDecoder().restore({"v": 1})


# --- older Codex samples (hand-written from the documented shapes) -------------------------------


def test_old_rollout_basic_sequence() -> None:
    records = decode(OLD_BASIC)
    summary = [
        (
            type(r).__name__,
            getattr(r, "text", None) or getattr(r, "command", None) or getattr(r, "call_id", None),
        )
        for r in records
        if not isinstance(r, TokenUsage)
    ]
    assert summary == [
        ("SessionMeta", None),
        ("TurnStarted", None),
        ("UserMessage", "fix the failing test"),
        ("Reasoning", "**Looking at the tests**"),
        ("ToolCall", "pytest -q"),
        ("CommandRun", "pytest -q"),
        ("AssistantMessage", "The test expects `add(2, 2) == 4`; fixing `add`."),
        ("ToolCall", "call_2"),
        ("PatchApplied", "call_2"),
        ("ToolCall", "pytest -q"),
        ("CommandRun", "pytest -q"),
        ("AssistantMessage", "Fixed: `add` now adds.\n\n**Tests pass.**"),
        ("TurnComplete", None),
        ("TurnStarted", None),
        ("UserMessage", "now refactor everything"),
        ("TurnAborted", None),
    ]
    run1, run2 = of(records, CommandRun)
    assert (run1.call_id, run1.exit_code, run1.status, run1.duration_s) == ("call_1", 1, "failed", 1.2)
    assert run1.output == "F.\n1 failed, 1 passed\n"
    # call_3 had no exec events: the CommandRun is built from function_call + its output.
    assert (run2.call_id, run2.exit_code, run2.status, run2.duration_s) == ("call_3", 0, "completed", 0.9)
    assert run2.output == "..\n2 passed\n"
    (patch,) = of(records, PatchApplied)
    assert (patch.files, patch.added, patch.removed, patch.success) == (("calc.py",), 1, 1, True)
    done, aborted = of(records, TurnComplete)[0], of(records, TurnAborted)[0]
    # No duration on old task_complete: from the timestamps 10:00:00.100 → 10:00:12.500.
    assert done.duration_ms == 12_400
    # Thread total went 0 → 30000 during the turn (token_count total_token_usage).
    assert done.tokens == 30_000
    assert (aborted.reason, aborted.duration_ms) == ("interrupted", 3250)
    assert [r.turn_id for r in of(records, TurnStarted)] == ["turn-1", "turn-2"]
    meta = of(records, SessionMeta)[0]
    assert (meta.cli_version, meta.source, meta.originator) == ("0.46.0", "cli", "codex_cli_rs")
    assert all(r.thread_id == meta.id for r in records)


def test_old_rollout_events_first_and_patch_events() -> None:
    records = decode(OLD_EVENTS_FIRST)
    users = of(records, UserMessage)
    assert [(u.text, u.origin) for u in users] == [("add a greeting file", "event_msg/user_message")]
    # Two agent_reasoning events; the one response_item with both parts is their twin.
    assert [r.text for r in of(records, Reasoning)] == [
        "**Planning**\n\nA file is needed.",
        "**Writing**\n\nUse apply_patch.",
    ]
    assistants = of(records, AssistantMessage)
    assert [a.text for a in assistants] == ["Created `hello.txt`."]
    ok, failed = of(records, PatchApplied)
    assert (ok.files, ok.added, ok.removed, ok.success) == (("hello.txt", "calc.py"), 5, 1, True)
    assert (failed.success, failed.removed, failed.detail) == (False, 2, "Failed to delete file missing.py")
    (run,) = of(records, CommandRun)
    assert (run.command, run.action, run.target, run.exit_code) == ("cat hello.txt", "read", "hello.txt", 0)
    assert run.duration_s == pytest.approx(0.005)
    assert of(records, TurnComplete)[0].duration_ms == 8100


def test_old_reasoning_response_item_first_then_partial_events() -> None:
    lines = [
        json.dumps({"timestamp": "t", "type": "event_msg", "payload": {"type": "task_started"}}),
        json.dumps(
            {
                "timestamp": "t",
                "type": "response_item",
                "payload": {
                    "type": "reasoning",
                    "summary": [{"type": "summary_text", "text": "A"}, {"type": "summary_text", "text": "B"}],
                },
            }
        ),
        json.dumps(
            {"timestamp": "t", "type": "event_msg", "payload": {"type": "agent_reasoning", "text": "A"}}
        ),
        json.dumps(
            {"timestamp": "t", "type": "event_msg", "payload": {"type": "agent_reasoning", "text": "C"}}
        ),
    ]
    texts = [r.text for r in decode_lines(lines) if isinstance(r, Reasoning)]
    assert texts == ["A\n\nB", "C"]


# --- single lines ---------------------------------------------------------------------------------


def ev(payload: dict[str, Any], **extra: Any) -> str:
    return json.dumps({"timestamp": "2026-01-01T00:00:00Z", "type": "event_msg", "payload": payload, **extra})


def ri(payload: dict[str, Any]) -> str:
    return json.dumps({"timestamp": "2026-01-01T00:00:00Z", "type": "response_item", "payload": payload})


@pytest.mark.parametrize(
    "text",
    [
        "<environment_context>\n  <cwd>/x</cwd>\n</environment_context>",
        "# AGENTS.md instructions for /x\n\n<INSTRUCTIONS>hi</INSTRUCTIONS>",
        "<turn_aborted>\nThe user interrupted\n</turn_aborted>",
        "<user_instructions>be nice</user_instructions>",
        "<user_action>\n  <action>review</action>\n</user_action>",
    ],
)
def test_injected_user_blocks_are_ignored(text: str) -> None:
    line = ri({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
    assert isinstance(parse_line(line), Ignored)
    assert RolloutDecoder().feed(line) == []


def test_developer_messages_and_compaction_summary_are_ignored() -> None:
    dev = ri({"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "rules"}]})
    assert isinstance(parse_line(dev), Ignored)
    summary = json.dumps(
        {
            "timestamp": "t",
            "ordinal": 9,
            "type": "response_item",
            "payload": {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "sum"}],
            },
            "metadata": {"compaction_output": True},
        }
    )
    assert isinstance(parse_line(summary), Ignored)


def test_task_complete_with_error() -> None:
    line = ev(
        {
            "type": "task_complete",
            "turn_id": "t1",
            "last_agent_message": None,
            "duration_ms": 1100,
            "error": {
                "message": "stream disconnected before completion: mock: simulated failure",
                "codex_error_info": "other",
            },
        }
    )
    rec = parse_line(line)
    assert isinstance(rec, TurnComplete)
    assert rec.error == "stream disconnected before completion: mock: simulated failure"
    assert (rec.duration_ms, rec.turn_id) == (1100, "t1")


def test_subagent_rollout_records_carry_the_agent() -> None:
    meta = json.dumps(
        {
            "timestamp": "t",
            "ordinal": 0,
            "type": "session_meta",
            "payload": {
                "id": "child",
                "session_id": "parent",
                "source": {"subagent": "review"},
                "thread_source": "subagent",
                "parent_thread_id": "parent",
                "cli_version": "0.169.0",
            },
        }
    )
    msg = ev(
        {
            "type": "item_completed",
            "thread_id": "child",
            "turn_id": "t",
            "item": {"type": "AgentMessage", "content": [{"type": "Text", "text": "ok"}]},
        },
        ordinal=1,
    )
    records = decode_lines([meta, msg])
    first, second = records
    assert isinstance(first, SessionMeta)
    assert (first.source, first.subagent, first.parent_thread_id, first.agent) == (
        "subagent:review",
        "review",
        "parent",
        "review",
    )
    assert isinstance(second, AssistantMessage) and second.agent == "review"


def test_command_display_unwraps_shell_wrappers() -> None:
    assert command_display(["/bin/bash", "-lc", "ls -la"]) == "ls -la"
    assert command_display(["bash", "-c", "echo hi"]) == "echo hi"
    assert command_display(["git", "commit", "-m", "two words"]) == "git commit -m 'two words'"
    assert command_display("make test") == "make test"
    assert command_display(None) == ""


def test_parse_tool_output_shapes() -> None:
    new = (
        "Chunk ID: d01740\nWall time: 0.2500 seconds\nProcess exited with code 2\n"
        "Original token count: 84\nOutput:\nboom\n"
    )
    assert parse_tool_output(new) == ("boom\n", 2, 0.25)
    old = json.dumps({"output": "ok\n", "metadata": {"exit_code": 0, "duration_seconds": 1.5}})
    assert parse_tool_output(old) == ("ok\n", 0, 1.5)
    assert parse_tool_output("Exit code: 1\nWall time: 3 seconds\nOutput:\nno\n") == ("no\n", 1, 3.0)
    assert parse_tool_output("Wall time: 5.7 seconds\naborted by user") == ("aborted by user", None, 5.7)
    assert parse_tool_output("just text") == ("just text", None, None)
    assert parse_tool_output(None) == ("", None, None)


def test_denied_command_output_becomes_an_aborted_command_run() -> None:
    call = ri(
        {"type": "function_call", "name": "exec_command", "arguments": '{"cmd": "rm -rf x"}', "call_id": "c1"}
    )
    out = ri(
        {"type": "function_call_output", "call_id": "c1", "output": "Wall time: 5.7 seconds\naborted by user"}
    )
    records = decode_lines([call, out])
    assert isinstance(records[0], ToolCall) and records[0].command == "rm -rf x"
    run = records[1]
    assert isinstance(run, CommandRun)
    assert (run.command, run.status, run.exit_code) == ("rm -rf x", "aborted", None)


def test_non_shell_tool_output_keeps_the_tool_name() -> None:
    call = ri(
        {"type": "function_call", "name": "view_image", "arguments": '{"path": "a.png"}', "call_id": "c9"}
    )
    out = ri({"type": "function_call_output", "call_id": "c9", "output": "attached"})
    records = decode_lines([call, out])
    assert isinstance(records[0], ToolCall) and records[0].command is None
    assert isinstance(records[1], ToolOutput)
    assert (records[1].name, records[1].output) == ("view_image", "attached")


def test_patch_stats_from_text() -> None:
    patch = (
        "*** Begin Patch\n*** Add File: a.txt\n+one\n+two\n*** Update File: b.py\n@@\n-x\n+y\n"
        "*** Delete File: c.py\n*** End Patch\n"
    )
    stats = patch_stats_from_text(patch)
    assert (stats.files, stats.added, stats.removed) == (("a.txt", "b.py", "c.py"), 3, 1)


@pytest.mark.parametrize(
    ("raw", "reason_start"),
    [
        (b"", "empty line"),
        (b'{"timestamp": "t", "type": "event_msg", "payload": {"type": "agent_mes', "invalid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"payload": {}}', "line has no type"),
        (b'{"type": "event_msg", "payload": 3}', "event_msg line has no payload"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"type": "event_msg", "payload": {"type": 5}}', "event_msg without type"),
        (b'{"type": "session_meta", "payload": {"cwd": "/x"}}', "session_meta without id"),
    ],
)
def test_malformed_lines(raw: bytes, reason_start: str) -> None:
    rec = parse_line(raw)
    assert isinstance(rec, Malformed)
    assert rec.reason.startswith(reason_start)
    assert RolloutDecoder().feed(raw) == [rec]


def test_unknown_types_are_ignored_not_malformed() -> None:
    assert isinstance(parse_line('{"type": "brand_new", "payload": {}}'), Ignored)
    assert isinstance(parse_line(ev({"type": "thread_settings_applied"})), Ignored)
    assert isinstance(parse_line(ev({"type": "item_completed", "item": {"type": "WebSearch"}})), Ignored)
    assert RolloutDecoder().feed(ev({"type": "item_completed", "item": {"type": "FileChange"}})) == []


def test_compaction_is_delivered_once() -> None:
    lines = [
        ev({"type": "task_started", "turn_id": "t"}),
        json.dumps({"timestamp": "t", "type": "compacted", "payload": {"message": "summary"}}),
        ev({"type": "item_completed", "turn_id": "t", "item": {"type": "ContextCompaction", "id": "x"}}),
    ]
    assert [type(r) for r in decode_lines(lines)] == [TurnStarted, Compacted]


# --- Hypothesis: the parser never raises -------------------------------------------------------

_json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
_json = st.recursive(
    _json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=8,
)
_known_type = st.sampled_from(
    [
        "session_meta",
        "event_msg",
        "response_item",
        "token_usage_record",
        "compacted",
        "turn_context",
        "world_state",
    ]
)
_payload_type = st.sampled_from(
    [
        "item_completed",
        "user_message",
        "agent_message",
        "agent_reasoning",
        "exec_command_begin",
        "exec_command_end",
        "patch_apply_begin",
        "patch_apply_end",
        "task_started",
        "task_complete",
        "turn_aborted",
        "token_count",
        "message",
        "reasoning",
        "function_call",
        "function_call_output",
        "custom_tool_call",
        "custom_tool_call_output",
        "local_shell_call",
        "exited_review_mode",
    ]
)
_item_type = st.sampled_from(
    [
        "UserMessage",
        "AgentMessage",
        "Reasoning",
        "CommandExecution",
        "ContextCompaction",
        "EnteredReviewMode",
        "ExitedReviewMode",
    ]
)
_field = st.sampled_from(
    [
        "text",
        "message",
        "content",
        "summary",
        "summary_text",
        "command",
        "call_id",
        "arguments",
        "input",
        "output",
        "exit_code",
        "duration",
        "changes",
        "success",
        "stdout",
        "info",
        "error",
        "duration_ms",
        "id",
        "source",
        "parsed_cmd",
        "review_output",
        "role",
        "turn_id",
        "thread_id",
        "name",
    ]
)


@st.composite
def rollout_like_lines(draw: st.DrawFn) -> str:
    item = draw(st.dictionaries(_field, _json, max_size=6))
    item["type"] = draw(_item_type)
    payload = draw(st.dictionaries(_field, _json | st.just(item), max_size=6))
    payload["type"] = draw(_payload_type | _json)
    if draw(st.booleans()):
        payload["item"] = item
    obj: dict[str, Any] = {
        "timestamp": draw(st.text(max_size=5)),
        "type": draw(_known_type),
        "payload": payload,
    }
    if draw(st.booleans()):
        obj["ordinal"] = draw(_json)
    return json.dumps(obj)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rollout_like_lines(), max_size=8))
def test_parse_line_and_decoder_never_raise_on_rollout_like_lines(lines: list[str]) -> None:
    dec = RolloutDecoder()
    for line in lines:
        assert isinstance(parse_line(line), Record.__args__)
        dec.feed(line)
        restored = RolloutDecoder()
        restored.restore(json.loads(json.dumps(dec.snapshot())))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_parse_line_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    rec = parse_line(raw)
    assert isinstance(rec, Record.__args__)
    RolloutDecoder().feed(raw)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=5000))
def test_truncated_real_lines_are_malformed_or_decoded(cut: int) -> None:
    line = raw_lines(MAIN_0169)[51]  # the CommandExecution item_completed line
    rec = parse_line(line[:cut])
    if cut < len(line):
        assert isinstance(rec, Malformed)
    else:
        assert isinstance(rec, CommandRun)


# --- lines of unused types are skipped by their head; orjson with the standard library behind it ---


@pytest.mark.parametrize("path", all_rollouts(), ids=lambda p: p.name)
def test_skipping_by_the_head_agrees_with_full_decoding(path: Path) -> None:
    skipped = 0
    for raw in raw_lines(path):
        fast = parse_line(raw)
        full = parse_line(raw.decode())  # str input: always decoded in full
        assert type(fast) is type(full), raw[:120]
        if isinstance(fast, Ignored):
            assert isinstance(full, Ignored)
            assert fast.type in (full.type, full.origin)
            skipped += fast.origin == ""  # the head path sets no origin
    if path == MAIN_0169:
        assert skipped > 0  # turn_context, world_state, developer messages are skipped


def test_a_broken_line_of_an_unused_type_is_ignored_and_a_broken_used_one_is_malformed() -> None:
    head = b'{"timestamp":"2026-01-01T00:00:00.000Z","ordinal":7,"type":'
    ignored = parse_line(head + b'"turn_context","payload":{"cwd":"/x", BROKEN')
    assert ignored == Ignored("turn_context", ordinal=7, timestamp="2026-01-01T00:00:00.000Z")
    developer = parse_line(head + b'"response_item","payload":{"type":"message","id":"m","role":"developer",[')
    assert isinstance(developer, Ignored) and developer.type == "response_item/message/developer"
    event = parse_line(head + b'"event_msg","payload":{"type":"thread_settings_applied",')
    assert isinstance(event, Ignored) and event.type == "event_msg/thread_settings_applied"
    used = parse_line(head + b'"event_msg","payload":{"type":"agent_message","message":"hi"')
    assert isinstance(used, Malformed) and used.reason.startswith("invalid JSON")


@pytest.mark.parametrize(
    ("payload_json", "text"),
    [
        ('{"type":"agent_message","message":"lone \\ud83d surrogate"}', "lone \ud83d surrogate"),
        ('{"type":"agent_message","message":"not a number","x":NaN}', "not a number"),
    ],
)
def test_lines_orjson_refuses_are_decoded_by_the_standard_library(payload_json: str, text: str) -> None:
    line = ('{"timestamp":"t","type":"event_msg","payload":' + payload_json + "}").encode()
    record = parse_line(line)
    assert isinstance(record, AssistantMessage)
    assert record.text == text


def test_amend_is_replace_for_records() -> None:
    record = AssistantMessage("hi", ordinal=3, timestamp="t")
    amended = amend(record, thread_id="th", turn_id="tu")
    assert amended == replace(record, thread_id="th", turn_id="tu")
    assert record.thread_id is None  # the original is untouched
    with pytest.raises(TypeError, match="no field"):
        amend(record, colour="red")
