"""`response_item` lines: the model-input view of a turn, written by both dialects.

`RESPONSE_READERS` maps a payload's `type` to its reader and `MESSAGE_READERS` a message's `role`
to its reader. These readers also get the line's own `metadata` object: Codex flags the
compaction summary there (`compaction_output`), not in the payload.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ccbot.codex.jsonfields import get_dict, get_list, get_str
from ccbot.codex.records import Ignored, Malformed, PatchStats, Record, ToolOutput
from ccbot.codex.rollout._build import Meta, assistant_message, reasoning, tool_call, user_message
from ccbot.codex.rollout._fields import content_text
from ccbot.codex.rollout._tools import command_display, parse_tool_output, patch_stats_from_text, shell_command

ResponseReader = Callable[[dict[str, Any], str, Meta, dict[str, Any]], Record]
"""A `_table.Reader` that also gets the line's `metadata` object."""


def _user(p: dict[str, Any], origin: str, meta: Meta, line_meta: dict[str, Any]) -> Record:
    text, images = content_text(p.get("content"))
    return user_message(text, images, origin, meta)


def _assistant(p: dict[str, Any], origin: str, meta: Meta, line_meta: dict[str, Any]) -> Record:
    if line_meta.get("compaction_output") is True:
        return Ignored("compaction_output", origin=origin, **meta)
    return assistant_message(content_text(p.get("content"))[0], origin, meta)


MESSAGE_READERS: dict[str, ResponseReader] = {"user": _user, "assistant": _assistant}
"""message `role` → reader (origin `response_item/message/<role>`); other roles (developer, system) are Ignored."""


def _message(p: dict[str, Any], origin: str, meta: Meta, line_meta: dict[str, Any]) -> Record:
    role = p.get("role")
    origin = f"{origin}/{role}"
    reader = MESSAGE_READERS.get(role) if isinstance(role, str) else None
    if reader is None:
        return Ignored(origin, **meta)
    return reader(p, origin, meta, line_meta)


def _reasoning(p: dict[str, Any], origin: str, meta: Meta, line_meta: dict[str, Any]) -> Record:
    parts = tuple(
        s["text"]
        for s in get_list(p, "summary")
        if isinstance(s, dict) and isinstance(s.get("text"), str) and s["text"]
    )
    return reasoning(parts, origin, meta)


def _patch_text(kind: str, arguments: str) -> str:
    """The patch envelope of an apply_patch call: a function_call wraps it as JSON `{"input": ...}`."""
    if kind == "function_call":
        try:
            parsed = json.loads(arguments)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and isinstance(text := parsed.get("input"), str):
            return text
    return arguments


def _function_call(p: dict[str, Any], origin: str, meta: Meta, line_meta: dict[str, Any]) -> Record:
    kind = p["type"]
    name = get_str(p, "name") or ""
    arguments = p.get("arguments") if kind == "function_call" else p.get("input")
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments)
    stats: PatchStats | None = None
    if name == "apply_patch":
        stats = patch_stats_from_text(_patch_text(kind, arguments))
    return tool_call(
        get_str(p, "call_id") or "", name, shell_command(name, arguments), arguments, origin, meta, patch=stats
    )


def _local_shell_call(p: dict[str, Any], origin: str, meta: Meta, line_meta: dict[str, Any]) -> Record:
    action = get_dict(p, "action")
    return tool_call(
        get_str(p, "call_id") or get_str(p, "id") or "",
        "local_shell",
        command_display(action.get("command")),
        json.dumps(action),
        origin,
        meta,
    )


def _tool_output(p: dict[str, Any], origin: str, meta: Meta, line_meta: dict[str, Any]) -> Record:
    output, exit_code, duration = parse_tool_output(p.get("output"))
    return ToolOutput(get_str(p, "call_id") or "", output, exit_code, duration, origin=origin, **meta)


RESPONSE_READERS: dict[str, ResponseReader] = {
    "message": _message,
    "reasoning": _reasoning,
    "function_call": _function_call,
    "custom_tool_call": _function_call,
    "local_shell_call": _local_shell_call,
    "function_call_output": _tool_output,
    "custom_tool_call_output": _tool_output,
    "local_shell_call_output": _tool_output,
}
"""response_item `payload.type` → reader (origin `response_item/<type>`)."""


def read_response_item(p: dict[str, Any], line: dict[str, Any], meta: Meta) -> Record:
    """A `response_item` line's record. Its turn may be named only in Codex's chat passthrough metadata."""
    passthrough = get_dict(p, "internal_chat_message_metadata_passthrough")
    if "turn_id" not in meta and isinstance(passthrough.get("turn_id"), str):
        meta["turn_id"] = passthrough["turn_id"]
    kind = p.get("type")
    if not isinstance(kind, str):
        return Malformed("response_item without type")
    origin = f"response_item/{kind}"
    reader = RESPONSE_READERS.get(kind)
    if reader is None:
        return Ignored(origin, **meta)
    return reader(p, origin, meta, get_dict(line, "metadata"))
