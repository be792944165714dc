"""Codex rollout JSONL → typed records.

Two generations are understood:

* Codex 0.169: `{"timestamp", "ordinal", "type", "payload"}`; conversation items arrive as
  `event_msg/item_completed` (UserMessage, AgentMessage, Reasoning, CommandExecution, ...) and
  again as `response_item` (the model-input view, which also holds injected context).
* Older Codex: `{"timestamp", "type", "payload"}`; `event_msg` user_message / agent_message /
  agent_reasoning / exec_command_* / patch_apply_* next to `response_item` twins.

`parse_line` maps one line to one record and never raises. `RolloutDecoder` is the stateful
layer a tailer uses: it delivers twins once, pairs tool calls with their results, fills turn
durations and token totals, and attributes sub-agent records. Its whole state is a small
JSON-able dict (`snapshot()` / `restore()`), so decoding can resume at any line boundary.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from ccbot.codex.records import (
    AssistantMessage,
    CommandRun,
    Compacted,
    Ignored,
    Malformed,
    PatchApplied,
    PatchStats,
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

__all__ = [
    "RolloutDecoder",
    "command_display",
    "decode_lines",
    "is_injected_user_text",
    "parse_line",
    "parse_tool_output",
    "patch_stats_from_changes",
    "patch_stats_from_text",
]

# User-role texts Codex injects into the model input; none of them was typed by the user.
_INJECTED_PREFIXES = (
    "<environment_context>",
    "<user_instructions>",
    "# AGENTS.md instructions",
    "<turn_aborted>",
    "<user_action>",
    "<user_shell_command>",
    "<permissions instructions>",
    "<skills_instructions>",
    "<collaboration_mode>",
    "<subagent_notification>",
)

# The line types and event_msg payload types the decoder reads; every other line is Ignored.
_LINE_TYPES = frozenset({"session_meta", "event_msg", "response_item", "token_usage_record", "compacted"})
_EVENT_TYPES = frozenset(
    {
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
        "context_compacted",
        "entered_review_mode",
        "exited_review_mode",
    }
)
_MESSAGE_ROLES = frozenset({"user", "assistant"})
# How Codex (serde, fixed field order) starts every line; lets `parse_line` ignore a line of an
# unused type without decoding its JSON (turn_context, world_state, developer instructions, ...
# are about half of a rollout's bytes).
_LINE_HEAD = re.compile(
    rb"""\{"timestamp":"(?P<ts>[\x20\x21\x23-\x5b\x5d-\x7e]*)",
    (?:"ordinal":(?P<ordinal>[0-9]{1,18}),)?
    "type":"(?P<type>[a-z_]+)"
    (?:,"payload":\{"type":"(?P<payload>[a-z_]+)"
        (?:(?:,"[a-z_]+":"[\x20\x21\x23-\x5b\x5d-\x7e]*")*?,"role":"(?P<role>[a-z_]+)")?
    )?""",
    re.VERBOSE,
)
_SHELL_NAMES = frozenset({"bash", "sh", "zsh", "dash", "ksh", "fish"})
_SHELL_TOOLS = frozenset({"shell", "container.exec", "local_shell", "shell_command", "exec_command"})


def is_injected_user_text(text: str) -> bool:
    """True for context blocks Codex adds to the user role (environment, AGENTS.md, aborts, ...)."""
    return text.lstrip().startswith(_INJECTED_PREFIXES)


def command_display(command: object) -> str:
    """The command line a person would type: `["/bin/bash", "-lc", "ls"]` → `ls`.

    Accepts an argv list or a string; anything else yields "".
    """
    if isinstance(command, str):
        return command
    if not isinstance(command, list) or not all(isinstance(a, str) for a in command):
        return ""
    argv: list[str] = command
    if len(argv) == 3 and argv[0].rsplit("/", 1)[-1] in _SHELL_NAMES and argv[1] in ("-c", "-lc", "-cl"):
        return argv[2]
    return shlex.join(argv)


# --- small typed getters -------------------------------------------------------------------


def _str(d: Mapping[str, Any], key: str) -> str | None:
    v = d.get(key)
    return v if isinstance(v, str) else None


def _int(d: Mapping[str, Any], key: str) -> int | None:
    v = d.get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _dict(d: Mapping[str, Any], key: str) -> dict[str, Any]:
    v = d.get(key)
    return v if isinstance(v, dict) else {}


def _list(d: Mapping[str, Any], key: str) -> list[Any]:
    v = d.get(key)
    return v if isinstance(v, list) else []


def _duration_s(value: object) -> float | None:
    """Codex writes durations as {"secs", "nanos"}, as seconds, or as "1.2s"."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict):
        secs, nanos = value.get("secs"), value.get("nanos", 0)
        if isinstance(secs, int) and isinstance(nanos, int):
            return secs + nanos / 1e9
    if isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9.]+)\s*(ms|s)?\s*", value)
        if m:
            try:
                n = float(m.group(1))
            except ValueError:
                return None
            return n / 1000 if m.group(2) == "ms" else n
    return None


def _content_text(content: object) -> tuple[str, int]:
    """Join the text parts of a message `content` list; also count image parts."""
    if isinstance(content, str):
        return content, 0
    texts: list[str] = []
    images = 0
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text", "Text") and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif isinstance(kind, str) and "image" in kind.lower():
            images += 1
    return "\n".join(texts), images


# --- tool output and patch helpers -------------------------------------------------------------

_HEADER_LINE = re.compile(r"[A-Z][A-Za-z ]*:[^\n]*\n|Process exited with code -?\d+\n")
_EXIT_RE = re.compile(r"^(?:Process exited with code|Exit code:)\s*(-?\d+)\s*$", re.M)
_WALL_RE = re.compile(r"^Wall time:\s*([0-9.]+)\s*seconds?\s*$", re.M)


def parse_tool_output(raw: object) -> tuple[str, int | None, float | None]:
    """Split a function_call_output `output` into (text, exit_code, duration_s).

    Understands 0.169's `Chunk ID/Wall time/Process exited with code/.../Output:` header, the
    older `Exit code:/Wall time:/Output:` header and the older JSON `{"output", "metadata":
    {"exit_code", "duration_seconds"}}`. Unknown shapes come back as text with no exit code.
    """
    if isinstance(raw, list):
        raw, _ = _content_text(raw)
    if not isinstance(raw, str):
        return "", None, None
    text = raw
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("output"), str):
            meta = _dict(obj, "metadata")
            return obj["output"], _int(meta, "exit_code"), _duration_s(meta.get("duration_seconds"))
    pos = 0
    while (m := _HEADER_LINE.match(text, pos)) is not None and not text.startswith("Output:", pos):
        pos = m.end()
    if text.startswith("Output:\n", pos):
        header, body = text[:pos], text[pos + len("Output:\n") :]
    elif pos > 0:
        header, body = text[:pos], text[pos:]
    else:
        return text, None, None
    exit_m, wall_m = _EXIT_RE.search(header), _WALL_RE.search(header)
    exit_code = int(exit_m.group(1)) if exit_m else None
    duration = float(wall_m.group(1)) if wall_m else None
    return body, exit_code, duration


_PATCH_FILE = re.compile(r"^\*\*\* (Add|Update|Delete) File: (.+)$")


def patch_stats_from_text(patch: str) -> PatchStats:
    """Files and +/- line counts of an apply_patch envelope (`*** Begin Patch` ...)."""
    files: list[str] = []
    added = removed = 0
    for line in patch.splitlines():
        m = _PATCH_FILE.match(line)
        if m:
            if m.group(2).strip() not in files:
                files.append(m.group(2).strip())
        elif line.startswith("*** "):
            continue
        elif line.startswith("+"):
            added += 1
        elif line.startswith("-"):
            removed += 1
    return PatchStats(tuple(files), added, removed)


def _diff_counts(diff: str) -> tuple[int, int]:
    added = removed = 0
    for line in diff.splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return added, removed


def patch_stats_from_changes(changes: Mapping[str, Any]) -> PatchStats:
    """Stats of a `patch_apply_begin` `changes` map: {path: {add|delete|update: {...}}}."""
    files: list[str] = []
    added = removed = 0
    for path, change in changes.items():
        files.append(path)
        if not isinstance(change, dict):
            continue
        if isinstance(change.get("add"), dict):
            added += len(str(change["add"].get("content", "")).splitlines())
        elif isinstance(change.get("delete"), dict):
            removed += len(str(change["delete"].get("content", "")).splitlines())
        elif isinstance(change.get("update"), dict):
            a, r = _diff_counts(str(change["update"].get("unified_diff", "")))
            added += a
            removed += r
    return PatchStats(tuple(files), added, removed)


def _files_from_summary(stdout: str) -> tuple[str, ...]:
    """Paths from apply_patch's `Success. Updated the following files:\\nM path` summary."""
    return tuple(
        line[2:].strip()
        for line in stdout.splitlines()
        if len(line) > 2 and line[0] in "AMD" and line[1] == " "
    )


def _parsed_action(parsed: object) -> tuple[str | None, str | None]:
    """(action, target) from Codex's `parsed_cmd` list; mixed lists are "unknown"."""
    items = [p for p in parsed if isinstance(p, dict)] if isinstance(parsed, list) else []
    if not items:
        return None, None
    kinds = {p.get("type") for p in items}
    if len(kinds) != 1:
        return "unknown", None
    kind = items[0].get("type")
    if not isinstance(kind, str):
        return None, None
    targets = [t for p in items if isinstance(t := (p.get("name") or p.get("path") or p.get("query")), str)]
    return kind, (", ".join(targets) if targets else None)


# --- parse_line ----------------------------------------------------------------------------------


def parse_line(raw: bytes | str) -> Record:
    """Decode one rollout line into a record. Never raises.

    Broken input (not UTF-8, not JSON, not an object, a known type with a wrong shape) gives
    `Malformed(reason)`; well-formed lines the bot does not use give `Ignored(type)`. Injected
    user context and developer messages are `Ignored`, never `UserMessage`. Metadata fields
    are taken from the line only.
    """
    if isinstance(raw, bytes | bytearray) and (unused := _unused_line(raw)) is not None:
        return unused
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        loaded = _load_json(raw)
        if isinstance(loaded, Malformed):
            return loaded
        obj = loaded
    if not isinstance(obj, dict):
        return Malformed("not a JSON object")
    try:
        return _parse_obj(obj)
    except Exception as exc:  # a shape we did not foresee must not stop a tailer
        return Malformed(f"unexpected shape: {type(exc).__name__}: {str(exc)[:120]}")


def _load_json(raw: bytes | bytearray | str) -> Any:
    """The standard library's reading of a line orjson refused: the decoded value, or `Malformed`
    saying why (not UTF-8, empty, invalid JSON). It accepts a few things orjson does not (NaN,
    lone surrogate escapes, integers beyond 64 bits, deep nesting), so those lines still decode."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes | bytearray) else raw
    except UnicodeDecodeError as exc:
        return Malformed(f"not UTF-8: {exc.reason} at byte {exc.start}")
    text = text.strip()
    if not text:
        return Malformed("empty line")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        return Malformed(f"invalid JSON: {str(exc)[:120]}")


def _unused_line(raw: bytes | bytearray) -> Ignored | None:
    """`Ignored` for a line whose head names a type the decoder does not read; None otherwise.

    Only the head is looked at, so such a line is Ignored even if the rest of it is broken: it
    could not contribute anything either way. The record carries the ordinal and timestamp.
    """
    head = _LINE_HEAD.match(raw)
    if head is None:
        return None
    kind, payload, role = head["type"].decode(), head["payload"], head["role"]
    if kind == "event_msg" and payload is not None and payload.decode() not in _EVENT_TYPES:
        kind = f"event_msg/{payload.decode()}"
    elif kind == "response_item" and payload == b"message" and role is not None and role.decode() not in _MESSAGE_ROLES:
        kind = f"response_item/message/{role.decode()}"
    elif kind in _LINE_TYPES:
        return None
    ordinal = head["ordinal"]
    return Ignored(kind, ordinal=int(ordinal) if ordinal is not None else None, timestamp=head["ts"].decode())


def _parse_obj(obj: dict[str, Any]) -> Record:
    kind = obj.get("type")
    ordinal = _int(obj, "ordinal")
    ts = _str(obj, "timestamp")
    if not isinstance(kind, str):
        if "record_type" in obj or ("id" in obj and "instructions" in obj):
            return Ignored("legacy", ordinal=ordinal, timestamp=ts)
        return Malformed("line has no type")
    payload = obj.get("payload")
    if not isinstance(payload, dict):
        return Malformed(f"{kind} line has no payload object")
    meta: dict[str, Any] = {"ordinal": ordinal, "timestamp": ts}
    thread_id = _str(payload, "thread_id")
    if thread_id is not None:
        meta["thread_id"] = thread_id
    turn_id = _str(payload, "root_turn_id") or _str(payload, "turn_id")
    if turn_id is not None:
        meta["turn_id"] = turn_id

    if kind == "session_meta":
        return _session_meta(payload, meta)
    if kind == "event_msg":
        return _event(payload, meta)
    if kind == "response_item":
        passthrough = _dict(payload, "internal_chat_message_metadata_passthrough")
        if "turn_id" not in meta and isinstance(passthrough.get("turn_id"), str):
            meta["turn_id"] = passthrough["turn_id"]
        return _response_item(payload, _dict(obj, "metadata"), meta)
    if kind == "token_usage_record":
        return _token_usage_record(payload, meta)
    if kind == "compacted":
        return Compacted(_str(payload, "message") or "", origin="compacted", **meta)
    return Ignored(kind, **meta)


def _session_meta(p: dict[str, Any], meta: dict[str, Any]) -> Record:
    meta.pop("thread_id", None)
    tid = _str(p, "id")
    if tid is None:
        return Malformed("session_meta without id")
    source = p.get("source")
    subagent: str | None = None
    if isinstance(source, dict):
        sub = source.get("subagent")
        if isinstance(sub, str):
            subagent = sub
        elif isinstance(sub, dict) and sub:
            subagent = next(iter(sub))
        source_s: str | None = f"subagent:{subagent}" if subagent else json.dumps(source, sort_keys=True)
    else:
        source_s = source if isinstance(source, str) else None
    parent = _str(p, "parent_thread_id")
    return SessionMeta(
        tid,
        _str(p, "cwd"),
        source_s,
        _str(p, "thread_source"),
        _str(p, "originator"),
        parent,
        _str(p, "cli_version"),
        subagent,
        thread_id=tid,
        origin="session_meta",
        **meta,
    )


_Usage = tuple[int | None, int | None, int | None, int | None, int | None]


def _usage_numbers(u: Mapping[str, Any]) -> _Usage:
    """The five TokenUsage counts, in field order (input, cached, output, reasoning, total)."""
    return (
        _int(u, "input_tokens"),
        _int(u, "cached_input_tokens"),
        _int(u, "output_tokens"),
        _int(u, "reasoning_output_tokens"),
        _int(u, "total_tokens"),
    )


def _token_usage_record(p: dict[str, Any], meta: dict[str, Any]) -> Record:
    usage = _dict(p, "usage")
    return TokenUsage(
        *_usage_numbers(usage),
        turn_total_tokens=_int(_dict(p, "turn_token_usage"), "total_tokens"),
        thread_total_tokens=_int(_dict(p, "thread_token_usage"), "total_tokens"),
        origin="token_usage_record",
        **meta,
    )


def _event(p: dict[str, Any], meta: dict[str, Any]) -> Record:
    t = p.get("type")
    if not isinstance(t, str):
        return Malformed("event_msg without type")
    origin = f"event_msg/{t}"
    if t not in _EVENT_TYPES:
        return Ignored(origin, **meta)
    if t == "item_completed":
        return _item_completed(_dict(p, "item"), meta)
    if t == "user_message":
        message = _str(p, "message") or ""
        kind = _str(p, "kind")
        if (kind is not None and kind != "plain") or is_injected_user_text(message):
            return Ignored("injected", origin=origin, **meta)
        images = len(_list(p, "images")) + len(_list(p, "local_images"))
        return UserMessage(message, images, origin=origin, **meta)
    if t == "agent_message":
        return AssistantMessage(_str(p, "message") or "", origin=origin, **meta)
    if t == "agent_reasoning":
        return Reasoning(_str(p, "text") or "", origin=origin, **meta)
    if t == "exec_command_begin":
        call_id = _str(p, "call_id") or ""
        action, target = _parsed_action(p.get("parsed_cmd"))
        return ToolCall(
            call_id,
            "shell",
            command_display(p.get("command")),
            json.dumps(p.get("command")),
            action,
            target,
            origin=origin,
            **meta,
        )
    if t == "exec_command_end":
        exit_code = _int(p, "exit_code")
        output = _str(p, "aggregated_output")
        if output is None:
            output = (_str(p, "stdout") or "") + (_str(p, "stderr") or "")
        status = _str(p, "status") or ("completed" if exit_code == 0 else "failed")
        action, target = _parsed_action(p.get("parsed_cmd"))
        return CommandRun(
            _str(p, "call_id") or "",
            command_display(p.get("command")),
            exit_code,
            output,
            _duration_s(p.get("duration")),
            status,
            action,
            target,
            _str(p, "source"),
            origin=origin,
            **meta,
        )
    if t == "patch_apply_begin":
        changes = _dict(p, "changes")
        return ToolCall(
            _str(p, "call_id") or "",
            "apply_patch",
            None,
            json.dumps(changes, sort_keys=True),
            patch=patch_stats_from_changes(changes),
            origin=origin,
            **meta,
        )
    if t == "patch_apply_end":
        success = p.get("success") is True
        stdout, stderr = _str(p, "stdout") or "", _str(p, "stderr") or ""
        changes = _dict(p, "changes")
        stats = (
            patch_stats_from_changes(changes) if changes else PatchStats(_files_from_summary(stdout), 0, 0)
        )
        return PatchApplied(
            stats.files,
            stats.added,
            stats.removed,
            success,
            _str(p, "call_id"),
            "" if success else (stderr or stdout).strip(),
            origin=origin,
            **meta,
        )
    if t == "task_started":
        child = _str(p, "turn_id")
        return TurnStarted(
            child_turn_id=child if child != meta.get("turn_id") else None, origin=origin, **meta
        )
    if t == "task_complete":
        error = p.get("error")
        err_text: str | None = None
        if isinstance(error, dict):
            err_text = _str(error, "message") or json.dumps(error)
        elif isinstance(error, str):
            err_text = error
        return TurnComplete(
            _int(p, "duration_ms"),
            None,
            err_text,
            _str(p, "last_agent_message"),
            origin=origin,
            **meta,
        )
    if t == "turn_aborted":
        return TurnAborted(_str(p, "reason"), _int(p, "duration_ms"), origin=origin, **meta)
    if t == "token_count":
        info = p.get("info")
        if isinstance(info, dict):
            last = _dict(info, "last_token_usage")
            return TokenUsage(
                *_usage_numbers(last),
                thread_total_tokens=_int(_dict(info, "total_token_usage"), "total_tokens"),
                context_window=_int(info, "model_context_window"),
                origin=origin,
                **meta,
            )
        if _int(p, "total_tokens") is not None:  # the flat shape of early versions
            return TokenUsage(*_usage_numbers(p), origin=origin, **meta)
        return Ignored(origin, **meta)
    if t in ("context_compacted",):
        return Compacted(origin=origin, **meta)
    if t == "entered_review_mode":
        return ReviewStarted(_str(p, "user_facing_hint") or "", origin=origin, **meta)
    if t == "exited_review_mode":
        return _review_finished(_dict(p, "review_output"), origin, meta)
    return Ignored(origin, **meta)


def _review_finished(out: dict[str, Any], origin: str, meta: dict[str, Any]) -> Record:
    findings = [f for f in _list(out, "findings") if isinstance(f, dict)]
    lines = [_str(out, "overall_explanation") or ""]
    for f in findings:
        title = _str(f, "title") or "finding"
        loc = _dict(f, "code_location")
        path = _str(loc, "absolute_file_path")
        rng = _dict(loc, "line_range")
        where = f" — {path}:{rng.get('start')}-{rng.get('end')}" if path else ""
        lines.append(f"{title}{where}")
    text = "\n".join(line for line in lines if line)
    return ReviewFinished(text, len(findings), _str(out, "overall_correctness"), origin=origin, **meta)


def _item_completed(item: dict[str, Any], meta: dict[str, Any]) -> Record:
    t = item.get("type")
    if not isinstance(t, str):
        return Malformed("item_completed without item type")
    origin = f"event_msg/item_completed/{t}"
    if t == "UserMessage":
        text, images = _content_text(item.get("content"))
        if is_injected_user_text(text):
            return Ignored("injected", origin=origin, **meta)
        return UserMessage(text, images, origin=origin, **meta)
    if t == "AgentMessage":
        text, _ = _content_text(item.get("content"))
        return AssistantMessage(text, origin=origin, **meta)
    if t == "Reasoning":
        parts = tuple(s for s in _list(item, "summary_text") if isinstance(s, str))
        if not parts:
            parts = tuple(s for s in _list(item, "raw_content") if isinstance(s, str))
        if not parts:
            return Ignored(origin, **meta)
        return Reasoning("\n\n".join(parts), parts if len(parts) > 1 else (), origin=origin, **meta)
    if t == "CommandExecution":
        action, target = _parsed_action(item.get("parsed_cmd"))
        exit_code = _int(item, "exit_code")
        return CommandRun(
            _str(item, "id") or "",
            command_display(item.get("command")),
            exit_code,
            _str(item, "aggregated_output") or "",
            _duration_s(item.get("duration")),
            _str(item, "status") or ("completed" if exit_code == 0 else "failed"),
            action,
            target,
            _str(item, "source"),
            origin=origin,
            **meta,
        )
    if t == "ContextCompaction":
        return Compacted(origin=origin, **meta)
    if t == "EnteredReviewMode":
        return ReviewStarted(_str(item, "user_facing_hint") or "", origin=origin, **meta)
    if t == "ExitedReviewMode":
        return _review_finished(_dict(item, "review_output"), origin, meta)
    return Ignored(origin, **meta)


def _shell_command(name: str, arguments: str) -> str | None:
    """The command line of a shell-tool call, or None for other tools."""
    if name not in _SHELL_TOOLS:
        return None
    try:
        args = json.loads(arguments)
    except ValueError:
        return arguments
    if not isinstance(args, dict):
        return ""
    for key in ("cmd", "command"):
        if key in args:
            return command_display(args[key])
    return ""


def _response_item(p: dict[str, Any], line_meta: dict[str, Any], meta: dict[str, Any]) -> Record:
    t = p.get("type")
    if not isinstance(t, str):
        return Malformed("response_item without type")
    origin = f"response_item/{t}"
    if t == "message":
        role = p.get("role")
        text, images = _content_text(p.get("content"))
        origin = f"{origin}/{role}"
        if role == "user":
            if is_injected_user_text(text):
                return Ignored("injected", origin=origin, **meta)
            return UserMessage(text, images, origin=origin, **meta)
        if role == "assistant":
            if line_meta.get("compaction_output") is True:
                return Ignored("compaction_output", origin=origin, **meta)
            return AssistantMessage(text, origin=origin, **meta)
        return Ignored(origin, **meta)
    if t == "reasoning":
        parts = tuple(
            s["text"]
            for s in _list(p, "summary")
            if isinstance(s, dict) and isinstance(s.get("text"), str) and s["text"]
        )
        if not parts:
            return Ignored(origin, **meta)
        return Reasoning("\n\n".join(parts), parts if len(parts) > 1 else (), origin=origin, **meta)
    if t in ("function_call", "custom_tool_call"):
        name = _str(p, "name") or ""
        arguments = p.get("arguments") if t == "function_call" else p.get("input")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments)
        stats: PatchStats | None = None
        if name == "apply_patch":
            patch_text = arguments
            if t == "function_call":
                try:
                    parsed = json.loads(arguments)
                except ValueError:
                    parsed = None
                if isinstance(parsed, dict) and isinstance(parsed.get("input"), str):
                    patch_text = parsed["input"]
            stats = patch_stats_from_text(patch_text)
        return ToolCall(
            _str(p, "call_id") or "",
            name,
            _shell_command(name, arguments),
            arguments,
            patch=stats,
            origin=origin,
            **meta,
        )
    if t == "local_shell_call":
        action = _dict(p, "action")
        return ToolCall(
            _str(p, "call_id") or _str(p, "id") or "",
            "local_shell",
            command_display(action.get("command")),
            json.dumps(action),
            origin=origin,
            **meta,
        )
    if t in ("function_call_output", "custom_tool_call_output", "local_shell_call_output"):
        output, exit_code, duration = parse_tool_output(p.get("output"))
        return ToolOutput(_str(p, "call_id") or "", output, exit_code, duration, origin=origin, **meta)
    return Ignored(origin, **meta)


# --- the decoder ----------------------------------------------------------------------------------

_MAX_TWINS = 32
_MAX_CALLS = 64
_MAX_DONE = 128
_STATE_VERSION = 1


def _ts(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _twin_key(kind: str, text: str) -> str:
    return kind + ":" + " ".join(text.split())


@dataclass
class _State:
    thread: str | None = None
    agent: str | None = None
    parent: str | None = None
    turn: str | None = None
    turn_seq: int = 0
    child_turn: str | None = None
    turn_start_ts: str | None = None
    review: bool = False
    compacted: bool = False
    tok_base: int | None = None
    tok_last: int | None = None
    tok_turn: int | None = None
    twins: list[list[str]] = field(default_factory=list)
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    done: list[str] = field(default_factory=list)


class RolloutDecoder:
    """Turns rollout lines into the records the bot acts on, in file order.

    `feed(line)` returns the records that line contributes (often none):

    * `Ignored` lines and the twin copies are dropped. 0.169 writes user/agent/reasoning items
      both as `item_completed` and as `response_item`; the event is kept and the 0.169
      `response_item` copy is always dropped (its extra entries are injected context and the
      compaction summary). For older lines the first of the two copies is kept and the other,
      matched by text within the same turn, is dropped.
    * A tool call is announced once (`ToolCall`) and finished once: shell calls as
      `CommandRun`, apply_patch as `PatchApplied`, other tools as `ToolOutput` (with `name`).
      Whichever of the event/output twins comes first wins.
    * `TurnComplete.duration_ms` is filled from timestamps and `.tokens` from the turn's token
      records when the line lacks them; `turn_id` (root turn) and `thread_id` are filled in.
    * Records of another thread inside this rollout (a review sub-agent's prompt) and all
      records of a sub-agent rollout carry `agent` ("review", ...).
    * `Malformed` records are returned so the caller can report them; nothing else is raised.

    `snapshot()` returns the complete state as a small JSON-able dict; a new decoder given it
    via `restore()` continues exactly as the original would, from the next line.
    """

    def __init__(self) -> None:
        self._s = _State()

    # -- persistence --

    def snapshot(self) -> dict[str, Any]:
        """The decoder state as plain JSON data (a deep copy)."""
        s = self._s
        data: dict[str, Any] = {
            "v": _STATE_VERSION,
            "thread": s.thread,
            "agent": s.agent,
            "parent": s.parent,
            "turn": s.turn,
            "turn_seq": s.turn_seq,
            "child_turn": s.child_turn,
            "turn_start_ts": s.turn_start_ts,
            "review": s.review,
            "compacted": s.compacted,
            "tok_base": s.tok_base,
            "tok_last": s.tok_last,
            "tok_turn": s.tok_turn,
            "twins": s.twins,
            "calls": s.calls,
            "done": s.done,
        }
        result: dict[str, Any] = json.loads(json.dumps(data))
        return result

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Replace the state with one from `snapshot()`. Raises ValueError if it is not one."""
        if not isinstance(snapshot, Mapping) or snapshot.get("v") != _STATE_VERSION:
            raise ValueError("not a RolloutDecoder snapshot of this version")
        data = json.loads(json.dumps(dict(snapshot)))
        try:
            self._s = _State(
                thread=data["thread"],
                agent=data["agent"],
                parent=data["parent"],
                turn=data["turn"],
                turn_seq=int(data["turn_seq"]),
                child_turn=data["child_turn"],
                turn_start_ts=data["turn_start_ts"],
                review=bool(data["review"]),
                compacted=bool(data["compacted"]),
                tok_base=data["tok_base"],
                tok_last=data["tok_last"],
                tok_turn=data["tok_turn"],
                twins=[list(t) for t in data["twins"]],
                calls=dict(data["calls"]),
                done=list(data["done"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"bad RolloutDecoder snapshot: {exc}") from exc

    @property
    def thread_id(self) -> str | None:
        """The rollout's own thread id, once its session_meta was seen (or restored)."""
        return self._s.thread

    @property
    def in_turn(self) -> bool:
        """True between a turn's start and its end."""
        return self._s.turn is not None

    # -- decoding --

    def feed(self, raw_line: bytes | str) -> list[Record]:
        """Decode one line (without or with its newline) and return what it contributes."""
        rec = parse_line(raw_line)
        if isinstance(rec, Ignored):
            return []
        if isinstance(rec, Malformed):
            return [rec]
        out = self._route(self._attribute(rec))
        return [] if out is None else [out]

    def _attribute(self, rec: Record) -> Record:
        s = self._s
        changes: dict[str, Any] = {}
        if isinstance(rec, SessionMeta):
            return rec
        if rec.thread_id is None and s.thread is not None:
            changes["thread_id"] = s.thread
        if s.agent is not None:
            changes["agent"] = s.agent
        elif rec.thread_id is not None and s.thread is not None and rec.thread_id != s.thread:
            changes["agent"] = "review" if s.review else "subagent"
        if not isinstance(rec, TurnStarted):
            unknown = rec.turn_id is None and s.turn is not None
            if unknown or (rec.turn_id is not None and rec.turn_id == s.child_turn):
                changes["turn_id"] = s.turn
        return amend(rec, **changes) if changes else rec

    def _route(self, rec: Record) -> Record | None:
        if isinstance(rec, SessionMeta):
            return self._session(rec)
        if isinstance(rec, TurnStarted):
            return self._turn_started(rec)
        if isinstance(rec, TurnComplete | TurnAborted):
            return self._turn_ended(rec)
        if isinstance(rec, TokenUsage):
            if rec.thread_total_tokens is not None:
                self._s.tok_last = rec.thread_total_tokens
            if rec.turn_total_tokens is not None:
                self._s.tok_turn = rec.turn_total_tokens
            return rec
        if isinstance(rec, UserMessage | AssistantMessage | Reasoning):
            return self._message(rec)
        if isinstance(rec, ToolCall):
            return self._tool_call(rec)
        if isinstance(rec, CommandRun | PatchApplied):
            return self._finished_call(rec)
        if isinstance(rec, ToolOutput):
            return self._tool_output(rec)
        if isinstance(rec, Compacted):
            if self._s.compacted:
                return None
            self._s.compacted = True
            return rec
        if isinstance(rec, ReviewStarted):
            self._s.review = True
        elif isinstance(rec, ReviewFinished):
            self._s.review = False
        return rec

    def _session(self, rec: SessionMeta) -> Record:
        s = self._s
        if s.thread is None:
            s.thread, s.agent, s.parent = rec.id, rec.subagent, rec.parent_thread_id
        return amend(rec, agent=rec.subagent)

    def _turn_started(self, rec: TurnStarted) -> Record:
        s = self._s
        s.turn_seq += 1
        turn = rec.turn_id or f"turn-{s.turn_seq}"
        s.turn, s.child_turn, s.turn_start_ts = turn, rec.child_turn_id, rec.timestamp
        s.tok_base, s.tok_turn, s.compacted = s.tok_last, None, False
        s.twins.clear()
        return amend(rec, turn_id=turn)

    def _turn_ended(self, rec: TurnComplete | TurnAborted) -> Record:
        s = self._s
        changes: dict[str, Any] = {}
        if rec.duration_ms is None:
            start, end = _ts(s.turn_start_ts), _ts(rec.timestamp)
            if start is not None and end is not None and end >= start:
                changes["duration_ms"] = round((end - start).total_seconds() * 1000)
        if isinstance(rec, TurnComplete) and rec.tokens is None:
            if s.tok_turn is not None:
                changes["tokens"] = s.tok_turn
            elif s.tok_last is not None and s.tok_last != s.tok_base:
                changes["tokens"] = s.tok_last - (s.tok_base or 0)
        s.turn = s.child_turn = s.turn_start_ts = None
        s.tok_turn, s.compacted = None, False
        s.tok_base = s.tok_last
        s.twins.clear()
        return amend(rec, **changes) if changes else rec

    def _message(self, rec: UserMessage | AssistantMessage | Reasoning) -> Record | None:
        from_item = rec.origin.startswith("response_item")
        if from_item and rec.ordinal is not None:
            return None  # 0.169 always writes the item_completed twin
        kind = type(rec).__name__
        side, other = ("item", "event") if from_item else ("event", "item")
        parts = rec.parts if isinstance(rec, Reasoning) and rec.parts else (rec.text,)
        twins = self._s.twins
        fresh: list[str] = []
        for part in parts:
            key = _twin_key(kind, part)
            match = next((i for i, (k, sd) in enumerate(twins) if k == key and sd == other), None)
            if match is None:
                fresh.append(part)
                twins.append([key, side])
            else:
                del twins[match]
        del twins[:-_MAX_TWINS]
        if not fresh:
            return None
        if len(fresh) == len(parts):
            return rec
        assert isinstance(rec, Reasoning)
        return amend(rec, text="\n\n".join(fresh), parts=tuple(fresh) if len(fresh) > 1 else ())

    def _tool_call(self, rec: ToolCall) -> Record | None:
        s = self._s
        if rec.call_id in s.done:
            return None
        known = s.calls.get(rec.call_id)
        info = {
            "name": rec.name,
            "command": rec.command,
            "action": rec.action,
            "target": rec.target,
            "patch": None
            if rec.patch is None
            else [list(rec.patch.files), rec.patch.added, rec.patch.removed],
        }
        if known is not None:
            for k, v in info.items():
                if known.get(k) is None:
                    known[k] = v
            return None
        s.calls[rec.call_id] = info
        while len(s.calls) > _MAX_CALLS:
            del s.calls[next(iter(s.calls))]
        return rec

    def _mark_done(self, call_id: str) -> dict[str, Any]:
        s = self._s
        s.done.append(call_id)
        del s.done[:-_MAX_DONE]
        return s.calls.pop(call_id, None) or {}

    def _finished_call(self, rec: CommandRun | PatchApplied) -> Record | None:
        call_id = rec.call_id or ""
        if call_id and call_id in self._s.done:
            return None
        info = self._mark_done(call_id) if call_id else {}
        if isinstance(rec, CommandRun):
            return amend(
                rec,
                command=rec.command or info.get("command") or "",
                action=rec.action or info.get("action"),
                target=rec.target or info.get("target"),
            )
        patch = info.get("patch")
        if patch is not None and not (rec.added or rec.removed):
            files = rec.files or tuple(patch[0])
            return amend(rec, files=files, added=patch[1], removed=patch[2])
        return rec

    def _tool_output(self, rec: ToolOutput) -> Record | None:
        if rec.call_id in self._s.done:
            return None
        info = self._mark_done(rec.call_id) if rec.call_id else {}
        name = info.get("name")
        if info.get("patch") is not None or name == "apply_patch":
            files, added, removed = info.get("patch") or [[], 0, 0]
            ok = (
                rec.exit_code == 0 if rec.exit_code is not None else rec.output.lstrip().startswith("Success")
            )
            return PatchApplied(
                tuple(files) or _files_from_summary(rec.output),
                added,
                removed,
                ok,
                rec.call_id,
                "" if ok else rec.output.strip(),
                **_meta_of(rec),
            )
        if info.get("command") is not None:
            aborted = rec.output.strip().endswith("aborted by user")
            status = "aborted" if aborted else ("completed" if rec.exit_code == 0 else "failed")
            return CommandRun(
                rec.call_id,
                info["command"],
                rec.exit_code,
                rec.output,
                rec.duration_s,
                status,
                info.get("action"),
                info.get("target"),
                **_meta_of(rec),
            )
        return amend(rec, name=name)


def _meta_of(rec: Record) -> dict[str, Any]:
    return {
        "thread_id": rec.thread_id,
        "turn_id": rec.turn_id,
        "ordinal": rec.ordinal,
        "timestamp": rec.timestamp,
        "agent": rec.agent,
        "origin": rec.origin,
    }


def decode_lines(lines: Iterable[bytes | str], decoder: RolloutDecoder | None = None) -> list[Record]:
    """Feed every line through one decoder (a fresh one by default) and collect the records."""
    dec = decoder if decoder is not None else RolloutDecoder()
    out: list[Record] = []
    for line in lines:
        out.extend(dec.feed(line))
    return out
