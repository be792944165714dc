"""One builder per record kind, shared by both rollout dialects.

A dialect reader (`_dialects`) only finds where a line keeps its values; the record is made here,
so a kind that both dialects write (a command run, reasoning, compaction, review, a user prompt)
is built the same way whichever line it came from. Every builder takes the `origin` (the line
kind, as `Record.origin`) and the line's `meta` (ordinal, timestamp and, when the line names
them, thread_id and turn_id) and returns a record; none raises for odd field types.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ccbot.codex.jsonfields import get_dict, get_int, get_list, get_str
from ccbot.codex.records import (
    AssistantMessage,
    CommandRun,
    Compacted,
    Ignored,
    PatchStats,
    Reasoning,
    Record,
    ReviewFinished,
    ReviewStarted,
    TokenUsage,
    ToolCall,
    UserMessage,
)
from ccbot.codex.rollout._fields import duration_s, is_injected_user_text
from ccbot.codex.rollout._tools import command_display, parsed_action

Meta = dict[str, Any]
"""Keyword metadata for a record: ordinal and timestamp, plus thread_id/turn_id when the line names them."""


def user_message(text: str, images: int, origin: str, meta: Meta, *, injected: bool = False) -> Record:
    """A prompt the user typed; `Ignored("injected")` when the line says (`injected`) or the text shows
    (`is_injected_user_text`) that Codex added it."""
    if injected or is_injected_user_text(text):
        return Ignored("injected", origin=origin, **meta)
    return UserMessage(text, images, origin=origin, **meta)


def assistant_message(text: str, origin: str, meta: Meta) -> Record:
    """A complete assistant message."""
    return AssistantMessage(text, origin=origin, **meta)


def reasoning(parts: tuple[str, ...], origin: str, meta: Meta) -> Record:
    """A reasoning summary made of `parts` (joined by blank lines); `Ignored` when there are none."""
    if not parts:
        return Ignored(origin, **meta)
    return Reasoning("\n\n".join(parts), parts if len(parts) > 1 else (), origin=origin, **meta)


def command_run(src: Mapping[str, Any], call_id: str, output: str, origin: str, meta: Meta) -> CommandRun:
    """A finished shell command from an object holding `command`, `exit_code`, `duration`, `status`,
    `parsed_cmd` and `source` (both dialects name them alike); the dialect supplies id and output.

    A missing status is "completed" for exit code 0, else "failed"."""
    exit_code = get_int(src, "exit_code")
    action, target = parsed_action(src.get("parsed_cmd"))
    return CommandRun(
        call_id,
        command_display(src.get("command")),
        exit_code,
        output,
        duration_s(src.get("duration")),
        get_str(src, "status") or ("completed" if exit_code == 0 else "failed"),
        action,
        target,
        get_str(src, "source"),
        origin=origin,
        **meta,
    )


def tool_call(
    call_id: str,
    name: str,
    command: str | None,
    arguments: str,
    origin: str,
    meta: Meta,
    *,
    action: str | None = None,
    target: str | None = None,
    patch: PatchStats | None = None,
) -> ToolCall:
    """The model's request for tool `name` (`command` set for shell tools, `patch` for apply_patch)."""
    return ToolCall(call_id, name, command, arguments, action, target, patch, origin=origin, **meta)


def compacted(message: str, origin: str, meta: Meta) -> Compacted:
    """The context was compacted; `message` is the summary when the line carries one."""
    return Compacted(message, origin=origin, **meta)


def compaction_marker(src: Mapping[str, Any], origin: str, meta: Meta) -> Compacted:
    """The context was compacted, said by an event or item that carries no summary."""
    return compacted("", origin, meta)


def review_started(src: Mapping[str, Any], origin: str, meta: Meta) -> ReviewStarted:
    """`/review` began, from an object with `user_facing_hint`."""
    return ReviewStarted(get_str(src, "user_facing_hint") or "", origin=origin, **meta)


def review_finished(src: Mapping[str, Any], origin: str, meta: Meta) -> ReviewFinished:
    """`/review` ended, from an object with `review_output` (explanation, findings, correctness)."""
    out = get_dict(src, "review_output")
    findings = [f for f in get_list(out, "findings") if isinstance(f, dict)]
    lines = [get_str(out, "overall_explanation") or ""]
    for f in findings:
        title = get_str(f, "title") or "finding"
        loc = get_dict(f, "code_location")
        path = get_str(loc, "absolute_file_path")
        rng = get_dict(loc, "line_range")
        where = f" — {path}:{rng.get('start')}-{rng.get('end')}" if path else ""
        lines.append(f"{title}{where}")
    text = "\n".join(line for line in lines if line)
    return ReviewFinished(text, len(findings), get_str(out, "overall_correctness"), origin=origin, **meta)


def token_usage(
    usage: Mapping[str, Any],
    origin: str,
    meta: Meta,
    *,
    turn_total: int | None = None,
    thread_total: int | None = None,
    context_window: int | None = None,
) -> TokenUsage:
    """Token counts of the last model response from a `usage` object (input_tokens, cached_input_tokens,
    output_tokens, reasoning_output_tokens, total_tokens), with the running totals the line has."""
    return TokenUsage(
        get_int(usage, "input_tokens"),
        get_int(usage, "cached_input_tokens"),
        get_int(usage, "output_tokens"),
        get_int(usage, "reasoning_output_tokens"),
        get_int(usage, "total_tokens"),
        turn_total,
        thread_total,
        context_window,
        origin=origin,
        **meta,
    )

