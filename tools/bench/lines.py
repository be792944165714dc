"""Synthetic Codex 0.169 rollout lines (pure: no I/O, no clock of its own).

The shapes follow the real 0.169 rollout in ``tests/data/rollouts/codex-0.169-main.jsonl``: every line is
``{"timestamp", "ordinal", "type", "payload"}``; conversation items arrive as ``event_msg/item_completed``
(``UserMessage``, ``AgentMessage``, ``CommandExecution``) with a ``response_item`` twin that ccbot's decoder
drops. Every builder returns complete lines, each ending in ``"\\n"``, ready to be appended to a rollout.

Times are passed in (``now``: Unix seconds) so the same inputs always give the same bytes.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "LineMaker",
    "burst_lines",
    "iso_timestamp",
    "prose_pool",
    "rollout_relpath",
    "synthetic_corpus",
    "uuid7",
]


def uuid7(unix_ms: int, rand: bytes) -> str:
    """A UUIDv7 string: 48-bit millisecond timestamp, version 7, RFC 4122 variant, 74 random bits.

    ``rand`` must hold at least 10 bytes (only 74 bits are used). Raises ``ValueError`` otherwise or for a
    timestamp outside 0 .. 2**48-1.
    """
    if len(rand) < 10:
        raise ValueError("uuid7 needs 10 random bytes")
    if not 0 <= unix_ms < 1 << 48:
        raise ValueError("timestamp out of range")
    rnd = int.from_bytes(rand[:10], "big")
    rand_a = rnd >> 68 & 0xFFF  # 12 bits
    rand_b = rnd & ((1 << 62) - 1)  # 62 bits
    value = unix_ms << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def iso_timestamp(now: float) -> str:
    """``2026-11-23T21:40:01.026Z`` (UTC, milliseconds), as Codex writes line timestamps."""
    moment = datetime.fromtimestamp(now, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def rollout_relpath(now: float, thread_id: str) -> str:
    """Where Codex puts a new thread's rollout, relative to ``CODEX_HOME``:
    ``sessions/YYYY/MM/DD/rollout-YYYY-MM-DDThh-mm-ss-<thread id>.jsonl`` (local time, like Codex)."""
    local = datetime.fromtimestamp(now)
    return f"sessions/{local:%Y}/{local:%m}/{local:%d}/rollout-{local:%Y-%m-%dT%H-%M-%S}-{thread_id}.jsonl"


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


@dataclass
class LineMaker:
    """Builds the lines of one thread; keeps the running ``ordinal`` like Codex does.

    ``rng`` only feeds ids (seed it for reproducible output).
    """

    thread_id: str
    cwd: str = "/tmp/work"
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    ordinal: int = 0

    def _id(self, now: float) -> str:
        return uuid7(int(now * 1000), self.rng.randbytes(10))

    def _line(self, now: float, kind: str, payload: dict[str, Any]) -> str:
        line = _dump({"timestamp": iso_timestamp(now), "ordinal": self.ordinal, "type": kind, "payload": payload})
        self.ordinal += 1
        return line

    def _item(self, now: float, turn_id: str, item: dict[str, Any]) -> str:
        ms = int(now * 1000)
        return self._line(
            now,
            "event_msg",
            {
                "type": "item_completed",
                "thread_id": self.thread_id,
                "turn_id": turn_id,
                "item": item,
                "started_at_ms": ms,
                "completed_at_ms": ms,
            },
        )

    def new_turn_id(self, now: float) -> str:
        return self._id(now)

    def session_meta(self, now: float) -> str:
        return self._line(
            now,
            "session_meta",
            {
                "account_scoped": True,
                "session_id": self.thread_id,
                "id": self.thread_id,
                "timestamp": iso_timestamp(now),
                "cwd": self.cwd,
                "runtime_workspace_roots": [self.cwd],
                "originator": "codex-tui",
                "cli_version": "0.169.0",
                "source": "cli",
                "thread_source": "user",
                "model_provider": "mock",
                "base_instructions": {"text": "You are Codex, a coding agent running in the Codex CLI. (bench)"},
                "history_mode": "paginated",
            },
        )

    def task_started(self, now: float, turn_id: str) -> str:
        return self._line(
            now,
            "event_msg",
            {
                "type": "task_started",
                "turn_id": turn_id,
                "root_turn_id": turn_id,
                "started_at": int(now),
                "model_context_window": 190000,
                "collaboration_mode_kind": "default",
            },
        )

    def user_message(self, now: float, turn_id: str, text: str) -> list[str]:
        """The user's prompt: the ``item_completed`` event and its ``response_item`` twin."""
        return [
            self._line(
                now,
                "response_item",
                {
                    "type": "message",
                    "id": "msg_" + self._id(now),
                    "role": "user",
                    "content": [{"type": "input_text", "text": text}],
                },
            ),
            self._item(
                now,
                turn_id,
                {
                    "type": "UserMessage",
                    "id": self._id(now),
                    "content": [{"type": "text", "text": text, "text_elements": []}],
                },
            ),
        ]

    def agent_message(self, now: float, turn_id: str, text: str) -> list[str]:
        """An assistant message: ``item_completed/AgentMessage`` first, then its twin (as 0.169 writes)."""
        mid = "msg_" + self._id(now).replace("-", "")[:24]
        return [
            self._item(now, turn_id, {"type": "AgentMessage", "id": mid, "content": [{"type": "Text", "text": text}]}),
            self._line(
                now,
                "response_item",
                {
                    "type": "message",
                    "status": "completed",
                    "id": mid,
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": text, "annotations": []}],
                },
            ),
        ]

    def command(self, now: float, turn_id: str, cmd: str, output: str, exit_code: int = 0) -> list[str]:
        """One shell tool step: the ``function_call``, the ``CommandExecution`` item, the call's output."""
        call_id = "call_" + self._id(now).replace("-", "")[:20]
        return [
            self._line(
                now,
                "response_item",
                {
                    "type": "function_call",
                    "status": "completed",
                    "id": "fc_" + call_id[5:],
                    "name": "exec_command",
                    "arguments": json.dumps({"cmd": cmd, "yield_time_ms": 5000}),
                    "call_id": call_id,
                },
            ),
            self._item(
                now,
                turn_id,
                {
                    "type": "CommandExecution",
                    "id": call_id,
                    "process_id": "4242",
                    "command": ["/bin/bash", "-lc", cmd],
                    "cwd": "file://" + self.cwd,
                    "parsed_cmd": [{"type": "unknown", "cmd": cmd}],
                    "source": "unified_exec_startup",
                    "status": "completed" if exit_code == 0 else "failed",
                    "aggregated_output": output,
                    "exit_code": exit_code,
                    "duration": {"secs": 0, "nanos": 19949},
                },
            ),
            self._line(
                now,
                "response_item",
                {
                    "type": "function_call_output",
                    "id": "fco_" + self._id(now),
                    "call_id": call_id,
                    "output": "Chunk ID: 97c758\nWall time: 0.0000 seconds\n"
                    f"Process exited with code {exit_code}\nOutput:\n{output}",
                },
            ),
        ]

    def token_count(self, now: float, total: int) -> str:
        usage = {
            "input_tokens": total,
            "cached_input_tokens": 0,
            "output_tokens": 8,
            "reasoning_output_tokens": 0,
            "total_tokens": total + 8,
        }
        return self._line(
            now,
            "event_msg",
            {
                "type": "token_count",
                "info": {
                    "total_token_usage": usage,
                    "last_token_usage": usage,
                    "model_context_window": 190000,
                },
                "rate_limits": {"limit_id": "codex", "primary": None, "secondary": None},
            },
        )

    def task_complete(self, now: float, turn_id: str, last_message: str | None, duration_ms: int) -> str:
        return self._line(
            now,
            "event_msg",
            {
                "type": "task_complete",
                "root_turn_id": turn_id,
                "turn_id": turn_id,
                "last_agent_message": last_message,
                "started_at": int(now - duration_ms / 1000),
                "completed_at": int(now),
                "duration_ms": duration_ms,
                "time_to_first_token_ms": 100,
            },
        )


def burst_lines(maker: LineMaker, now: float, total: int, agent_messages: int, marker: str) -> list[str]:
    """Exactly ``total`` lines of one busy turn: ``task_started``, the prompt, shell steps (3 lines each) with
    a ``token_count`` after each, ``agent_messages`` commentary messages spread evenly (the last one is the
    final answer, ``f"{marker} final"``), and ``task_complete`` last. Filler ``token_count`` lines make up the
    exact count. Raises ``ValueError`` when ``total`` cannot hold the fixed lines.

    Every agent message contains ``marker`` (so the bench can find its deliveries).
    """
    fixed = 1 + 2 + 2 * agent_messages + 1
    if agent_messages < 1 or total < fixed + 4:
        raise ValueError("burst too small for its fixed lines")
    turn = maker.new_turn_id(now)
    head = [maker.task_started(now, turn), *maker.user_message(now, turn, f"{marker} go")]
    steps = (total - fixed) // 4
    every = max(1, steps // agent_messages)
    body: list[str] = []
    said = 0
    for step in range(steps):
        body += maker.command(now, turn, f"grep -n item src/module_{step}.py", f"{step}: match line\n" * (1 + step % 5))
        body.append(maker.token_count(now, 1000 + step))
        if said < agent_messages - 1 and (step + 1) % every == 0:
            body += maker.agent_message(now, turn, f"{marker} note {said}: checked module {step}.")
            said += 1
    while said < agent_messages - 1:
        body += maker.agent_message(now, turn, f"{marker} note {said}.")
        said += 1
    final = f"{marker} final"
    tail = [*maker.agent_message(now, turn, final), maker.task_complete(now, turn, final, 5000)]
    while len(head) + len(body) + len(tail) < total:
        body.append(maker.token_count(now, 99))
    return head + body + tail


_WORDS = (
    "the",
    "module",
    "parser",
    "returns",
    "a",
    "list",
    "of",
    "records",
    "and",
    "tests",
    "cover",
    "edge",
    "cases",
    "with",
    "hypothesis",
    "so",
    "failures",
    "shrink",
    "quickly",
    "into",
    "examples",
)


def prose_pool(rng: random.Random, count: int = 400, words: int = 12) -> list[str]:
    """``count`` lines of ``words`` random words each, to draw tool output and answers from cheaply."""
    return [" ".join(rng.choice(_WORDS) for _ in range(words)) for _ in range(count)]


def synthetic_corpus(
    rng: random.Random, now: float, thread_id: str, turns: int, sizes: Sequence[int] = (200, 2_000, 20_000)
) -> list[str]:
    """A plausible long thread for throughput tests: ``session_meta``, then per turn a prompt, 4-12 shell
    steps whose outputs are about ``sizes`` bytes (picked at random), a Markdown answer (heading, list,
    inline code, a code block) and the token counts; ``task_complete`` closes each turn."""
    maker = LineMaker(thread_id, rng=rng)
    pool = prose_pool(rng)
    out = [maker.session_meta(now)]
    for n in range(turns):
        turn = maker.new_turn_id(now)
        out.append(maker.task_started(now, turn))
        out += maker.user_message(now, turn, f"turn {n}: {rng.choice(pool)}")
        for step in range(rng.randint(4, 12)):
            size = rng.choice(sizes)
            output = "\n".join(rng.choices(pool, k=max(1, size // 80)))
            out += maker.command(now, turn, f"rg -n {rng.choice(_WORDS)} src/{step}", output)
            out.append(maker.token_count(now, 1000 * (n + 1) + step))
        answer = (
            f"## Result {n}\n\n{' '.join(rng.choices(pool, k=5))}\n\n- **{rng.choice(_WORDS)}**: "
            f"`{rng.choice(pool)}`\n- {rng.choice(pool)}\n\n"
            f"```python\ndef f_{n}(x):\n    return x + {n}\n```\n"
        )
        out += maker.agent_message(now, turn, answer)
        out.append(maker.task_complete(now, turn, answer, 12_000))
    return out
