"""Responses-API server-sent events for a :class:`ReplyPlan` (pure, no I/O).

Contract: :func:`build_events` turns a plan into a list of :class:`SseEvent` (delay before sending,
event type, data object) in the order Codex 0.169 expects (codex-cli.md §1): ``response.created``,
optional reasoning item, then a message, a function call or a custom (``apply_patch``) tool call,
then ``response.completed`` — or ``response.failed`` for :class:`Failure`.
:func:`encode` renders one event as SSE bytes.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from tools.mock_openai.script import (
    ASK_TOOL,
    AskCall,
    Failure,
    HttpError,
    PatchCall,
    ReplyPlan,
    TextAnswer,
    ToolCall,
)

_FAST_CHUNK = 64


@dataclass(frozen=True)
class SseEvent:
    """One event; ``delay`` seconds are waited before it is written."""

    event: str
    data: dict[str, Any]
    delay: float = 0.0


def encode(event: SseEvent) -> bytes:
    """``event: <type>\\ndata: <json>\\n\\n``."""
    return f"event: {event.event}\ndata: {json.dumps(event.data, ensure_ascii=False)}\n\n".encode()


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _chunks(text: str, slow_half: float) -> list[tuple[float, str]]:
    """Delta pieces with the delay before each: word by word over ``slow_half`` s, else fixed-size."""
    if not text:
        return []
    if slow_half <= 0:
        return [(0.0, text[i : i + _FAST_CHUNK]) for i in range(0, len(text), _FAST_CHUNK)]
    pieces: list[str] = []
    current = ""
    for char in text:
        current += char
        if char == " ":
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    step = slow_half / len(pieces)
    return [(step, piece) for piece in pieces]


class _Builder:
    def __init__(self, model: str, input_tokens: int) -> None:
        self.response_id = _new_id("resp")
        self.model = model
        self.input_tokens = input_tokens
        self.output_tokens = 0
        self.items: list[dict[str, Any]] = []
        self.events: list[SseEvent] = []
        self.sequence = 0

    def add(self, event: str, delay: float = 0.0, **data: Any) -> None:
        body = {"type": event, "sequence_number": self.sequence, **data}
        self.sequence += 1
        self.events.append(SseEvent(event, body, delay))

    def response(self, status: str, **extra: Any) -> dict[str, Any]:
        return {
            "id": self.response_id,
            "object": "response",
            "created_at": int(time.time()),
            "status": status,
            "model": self.model,
            "output": list(self.items),
            **extra,
        }

    def reasoning(self, summary: str) -> None:
        index = len(self.items)
        item_id = _new_id("rs")
        self.add(
            "response.output_item.added",
            output_index=index,
            item={"id": item_id, "type": "reasoning", "summary": []},
        )
        self.add(
            "response.reasoning_summary_part.added",
            item_id=item_id,
            output_index=index,
            summary_index=0,
            part={"type": "summary_text", "text": ""},
        )
        for delay, piece in _chunks(summary, 0.0):
            self.add(
                "response.reasoning_summary_text.delta",
                delay,
                item_id=item_id,
                output_index=index,
                summary_index=0,
                delta=piece,
            )
        self.add(
            "response.reasoning_summary_text.done",
            item_id=item_id,
            output_index=index,
            summary_index=0,
            text=summary,
        )
        item = {
            "id": item_id,
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": summary}],
            "encrypted_content": None,
        }
        self.add("response.output_item.done", output_index=index, item=item)
        self.items.append(item)
        self.output_tokens += len(summary) // 4 + 1

    def message(self, text: str, slow_seconds: float) -> None:
        index = len(self.items)
        item_id = _new_id("msg")
        self.add(
            "response.output_item.added",
            output_index=index,
            item={
                "id": item_id,
                "type": "message",
                "status": "in_progress",
                "role": "assistant",
                "content": [],
            },
        )
        self.add(
            "response.content_part.added",
            item_id=item_id,
            output_index=index,
            content_index=0,
            part={"type": "output_text", "text": "", "annotations": []},
        )
        # The first half of a slow answer is silence, so the TUI shows its Working… status line.
        silent = slow_seconds / 2
        for n, (delay, piece) in enumerate(_chunks(text, slow_seconds - silent)):
            self.add(
                "response.output_text.delta",
                delay + (silent if n == 0 else 0.0),
                item_id=item_id,
                output_index=index,
                content_index=0,
                delta=piece,
            )
        self.add("response.output_text.done", item_id=item_id, output_index=index, content_index=0, text=text)
        item = {
            "id": item_id,
            "type": "message",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }
        self.add("response.output_item.done", output_index=index, item=item)
        self.items.append(item)
        self.output_tokens += len(text) // 4 + 1

    def function_call(self, call: ToolCall | AskCall) -> None:
        """An ``exec_command`` call, or a ``request_user_input`` call for :class:`AskCall`."""
        name = ASK_TOOL if isinstance(call, AskCall) else "exec_command"
        index = len(self.items)
        item_id = _new_id("fc")
        call_id = _new_id("call")
        arguments = call.arguments
        self.add(
            "response.output_item.added",
            output_index=index,
            item={
                "id": item_id,
                "type": "function_call",
                "status": "in_progress",
                "name": name,
                "call_id": call_id,
                "arguments": "",
            },
        )
        self.add(
            "response.function_call_arguments.delta", item_id=item_id, output_index=index, delta=arguments
        )
        item = {
            "id": item_id,
            "type": "function_call",
            "status": "completed",
            "name": name,
            "call_id": call_id,
            "arguments": arguments,
        }
        self.add("response.output_item.done", output_index=index, item=item)
        self.items.append(item)
        self.output_tokens += len(arguments) // 4 + 1

    def custom_tool_call(self, call: PatchCall) -> None:
        """A freeform ``apply_patch`` call: ``custom_tool_call`` with the patch text as its ``input``."""
        index = len(self.items)
        item_id = _new_id("ctc")
        call_id = _new_id("call")
        patch = call.patch
        added = {"id": item_id, "type": "custom_tool_call", "status": "in_progress", "name": "apply_patch",
                 "call_id": call_id, "input": ""}
        self.add("response.output_item.added", output_index=index, item=added)
        self.add("response.custom_tool_call_input.delta", item_id=item_id, output_index=index, delta=patch)
        item = {**added, "status": "completed", "input": patch}
        self.add("response.output_item.done", output_index=index, item=item)
        self.items.append(item)
        self.output_tokens += len(patch) // 4 + 1

    def usage(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": self.input_tokens + self.output_tokens,
        }


def build_events(plan: ReplyPlan, *, model: str = "mock-model", input_tokens: int = 0) -> list[SseEvent]:
    """All events for ``plan``. Raises ValueError for :class:`HttpError` plans (they are not streams)."""
    if isinstance(plan.action, HttpError):
        raise ValueError("an HttpError plan is answered with a plain HTTP error, not a stream")
    builder = _Builder(model, input_tokens)
    builder.add("response.created", response=builder.response("in_progress"))
    if plan.reasoning:
        builder.reasoning(plan.reasoning)
    action = plan.action
    if isinstance(action, Failure):
        builder.add(
            "response.failed",
            plan.slow_seconds,
            response=builder.response("failed", error={"code": "server_error", "message": action.message}),
        )
        return builder.events
    if isinstance(action, (ToolCall, AskCall)):
        builder.function_call(action)
    elif isinstance(action, PatchCall):
        builder.custom_tool_call(action)
    elif isinstance(action, TextAnswer):
        builder.message(action.text, plan.slow_seconds)
    builder.add("response.completed", response=builder.response("completed", usage=builder.usage()))
    return builder.events
