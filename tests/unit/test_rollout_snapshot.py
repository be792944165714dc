"""RolloutDecoder snapshots saved in state.json by earlier versions still restore and decode on.

The literal snapshots below were produced by the decoder as it was before the rollout module was
split into a package (ccbot/codex/rollout.py at commit feedb47), each after `cut` lines of a recorded
rollout. They are the persisted format: changing how snapshots are made must keep reading them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ccbot.codex.rollout import RolloutDecoder, decode_lines
from tests.conftest import DATA

ROLLOUTS = DATA / "rollouts"

SAVED: list[tuple[str, int, dict[str, Any]]] = [
    (
        "codex-0.169-main.jsonl",
        66,
        {
            "v": 1,
            "thread": "01a20a5a-009b-7f71-8ca7-536926fbd324",
            "agent": None,
            "parent": None,
            "turn": "01a20a5a-3b52-7f22-9781-231b0c44ee11",
            "turn_seq": 6,
            "child_turn": None,
            "turn_start_ts": "2026-11-23T21:40:15.323Z",
            "review": False,
            "compacted": False,
            "tok_base": 45213,
            "tok_last": 54832,
            "tok_turn": 9619,
            "twins": [["UserMessage:run touch /home/dev/demo/work/escalated.txt escalate", "event"]],
            "calls": {
                "call_a3ba7fbe287a45fabb41": {
                    "name": "exec_command",
                    "command": "touch /home/dev/demo/work/escalated.txt",
                    "action": None,
                    "target": None,
                    "patch": None,
                }
            },
            "done": ["call_eeb1d36403c545638af1"],
        },
    ),
    (
        "codex-old-basic.migrated-0.169.jsonl",
        16,
        {
            "v": 1,
            "thread": "0199f1c2-7a10-7c33-9d61-3b2f1e0a5c01",
            "agent": None,
            "parent": None,
            "turn": "rollout-4",
            "turn_seq": 1,
            "child_turn": None,
            "turn_start_ts": "2025-10-20T10:00:00.121Z",
            "review": False,
            "compacted": False,
            "tok_base": None,
            "tok_last": 12000,
            "tok_turn": None,
            "twins": [
                ["UserMessage:fix the failing test", "event"],
                ["Reasoning:**Looking at the tests**", "event"],
                ["AssistantMessage:The test expects `add(2, 2) == 4`; fixing `add`.", "event"],
            ],
            "calls": {
                "call_2": {
                    "name": "apply_patch",
                    "command": None,
                    "action": None,
                    "target": None,
                    "patch": [["calc.py"], 1, 1],
                }
            },
            "done": ["call_1"],
        },
    ),
    (
        "codex-old-basic.jsonl",
        29,
        {
            "v": 1,
            "thread": "0199f1c2-7a10-7c33-9d61-3b2f1e0a5c01",
            "agent": None,
            "parent": None,
            "turn": "turn-2",
            "turn_seq": 2,
            "child_turn": None,
            "turn_start_ts": "2025-10-20T10:01:00.000Z",
            "review": False,
            "compacted": False,
            "tok_base": 30000,
            "tok_last": 30000,
            "tok_turn": None,
            "twins": [["UserMessage:now refactor everything", "item"]],
            "calls": {},
            "done": ["call_1", "call_2", "call_3"],
        },
    ),
]

# Every field away from its default, as a review sub-agent's decoder mid-turn would save it.
REVIEW_AGENT: dict[str, Any] = {
    "v": 1,
    "thread": "t-child",
    "agent": "review",
    "parent": "t-parent",
    "turn": "turn-root",
    "turn_seq": 3,
    "child_turn": "turn-child",
    "turn_start_ts": "2026-01-01T00:00:00Z",
    "review": True,
    "compacted": True,
    "tok_base": 1,
    "tok_last": 2,
    "tok_turn": 3,
    "twins": [["AssistantMessage:hi", "item"]],
    "calls": {"c1": {"name": "shell", "command": "ls", "action": "list_files", "target": ".", "patch": None}},
    "done": ["c0"],
}


def _lines(name: str) -> list[bytes]:
    return [line for line in (ROLLOUTS / name).read_bytes().split(b"\n") if line.strip()]


@pytest.mark.parametrize(("name", "cut", "saved"), SAVED, ids=[c[0] for c in SAVED])
def test_a_saved_snapshot_restores_and_decodes_the_rest_as_before(name: str, cut: int, saved: dict[str, Any]) -> None:
    lines = _lines(name)
    straight = RolloutDecoder()
    head = decode_lines(lines[:cut], straight)
    assert straight.snapshot() == saved  # the format written to state.json is unchanged
    restored = RolloutDecoder()
    restored.restore(json.loads(json.dumps(saved)))
    assert restored.snapshot() == saved
    assert head + decode_lines(lines[cut:], restored) == decode_lines(lines)


def test_a_snapshot_with_every_field_set_round_trips() -> None:
    dec = RolloutDecoder()
    dec.restore(REVIEW_AGENT)
    assert dec.snapshot() == REVIEW_AGENT
    assert dec.thread_id == "t-child" and dec.in_turn
    again = RolloutDecoder()
    again.restore(json.loads(json.dumps(dec.snapshot())))
    assert again.snapshot() == REVIEW_AGENT


def test_restore_rejects_a_snapshot_missing_a_field_or_of_another_version() -> None:
    for key in REVIEW_AGENT:
        broken = {k: v for k, v in REVIEW_AGENT.items() if k != key}
        with pytest.raises(ValueError):
            RolloutDecoder().restore(broken)
    with pytest.raises(ValueError):
        RolloutDecoder().restore({**REVIEW_AGENT, "v": 2})
