"""`event_msg` lines: the older dialect's conversation events, and the turn and token events both write.

`EVENT_READERS` maps a payload's `type` to its reader. Codex before 0.169 writes the conversation
as events (user_message, agent_message, agent_reasoning, exec_command_*, patch_apply_*, ...);
0.169 writes it as `item_completed` items, whose own table is `_items.ITEM_READERS`. Turn start and
end, token counts, compaction and review are events in both.
"""

from __future__ import annotations

import json
from typing import Any

from ccbot.codex.jsonfields import get_dict, get_int, get_list, get_str
from ccbot.codex.records import Ignored, PatchApplied, PatchStats, Record, TurnAborted, TurnComplete, TurnStarted
from ccbot.codex.rollout._build import (
    Meta,
    assistant_message,
    command_run,
    compaction_marker,
    reasoning,
    review_finished,
    review_started,
    token_usage,
    tool_call,
    user_message,
)
from ccbot.codex.rollout._items import ITEM_READERS
from ccbot.codex.rollout._table import Reader, dispatch
from ccbot.codex.rollout._tools import (
    command_display,
    files_from_summary,
    parsed_action,
    patch_stats_from_changes,
)


def _item_completed(p: dict[str, Any], origin: str, meta: Meta) -> Record:
    return dispatch(
        ITEM_READERS, get_dict(p, "item"), "item_completed without item type", "event_msg/item_completed", meta
    )


def _user(p: dict[str, Any], origin: str, meta: Meta) -> Record:
    kind = get_str(p, "kind")
    images = len(get_list(p, "images")) + len(get_list(p, "local_images"))
    return user_message(get_str(p, "message") or "", images, origin, meta, injected=kind not in (None, "plain"))


def _agent(p: dict[str, Any], origin: str, meta: Meta) -> Record:
    return assistant_message(get_str(p, "message") or "", origin, meta)


def _reasoning(p: dict[str, Any], origin: str, meta: Meta) -> Record:
    # One event per summary part: even an empty one is a (one-part) Reasoning, never Ignored.
    return reasoning((get_str(p, "text") or "",), origin, meta)


def _exec_begin(p: dict[str, Any], origin: str, meta: Meta) -> Record:
    action, target = parsed_action(p.get("parsed_cmd"))
    command = p.get("command")
    return tool_call(
        get_str(p, "call_id") or "",
        "shell",
        command_display(command),
        json.dumps(command),
        origin,
        meta,
        action=action,
        target=target,
    )


def _exec_end(p: dict[str, Any], origin: str, meta: Meta) -> Record:
    output = get_str(p, "aggregated_output")
    if output is None:
        output = (get_str(p, "stdout") or "") + (get_str(p, "stderr") or "")
    return command_run(p, get_str(p, "call_id") or "", output, origin, meta)


def _patch_begin(p: dict[str, Any], origin: str, meta: Meta) -> Record:
    changes = get_dict(p, "changes")
    return tool_call(
        get_str(p, "call_id") or "",
        "apply_patch",
        None,
        json.dumps(changes, sort_keys=True),
        origin,
        meta,
        patch=patch_stats_from_changes(changes),
    )


def _patch_end(p: dict[str, Any], origin: str, meta: Meta) -> Record:
    success = p.get("success") is True
    stdout, stderr = get_str(p, "stdout") or "", get_str(p, "stderr") or ""
    changes = get_dict(p, "changes")
    stats = patch_stats_from_changes(changes) if changes else PatchStats(files_from_summary(stdout), 0, 0)
    return PatchApplied(
        stats.files,
        stats.added,
        stats.removed,
        success,
        get_str(p, "call_id"),
        "" if success else (stderr or stdout).strip(),
        origin=origin,
        **meta,
    )


def _task_started(p: dict[str, Any], origin: str, meta: Meta) -> Record:
    child = get_str(p, "turn_id")
    return TurnStarted(child_turn_id=child if child != meta.get("turn_id") else None, origin=origin, **meta)


def _task_complete(p: dict[str, Any], origin: str, meta: Meta) -> Record:
    error = p.get("error")
    err_text: str | None = None
    if isinstance(error, dict):
        err_text = get_str(error, "message") or json.dumps(error)
    elif isinstance(error, str):
        err_text = error
    return TurnComplete(
        get_int(p, "duration_ms"), None, err_text, get_str(p, "last_agent_message"), origin=origin, **meta
    )


def _turn_aborted(p: dict[str, Any], origin: str, meta: Meta) -> Record:
    return TurnAborted(get_str(p, "reason"), get_int(p, "duration_ms"), origin=origin, **meta)


def _token_count(p: dict[str, Any], origin: str, meta: Meta) -> Record:
    info = p.get("info")
    if isinstance(info, dict):
        return token_usage(
            get_dict(info, "last_token_usage"),
            origin,
            meta,
            thread_total=get_int(get_dict(info, "total_token_usage"), "total_tokens"),
            context_window=get_int(info, "model_context_window"),
        )
    if get_int(p, "total_tokens") is not None:  # the flat shape of early versions
        return token_usage(p, origin, meta)
    return Ignored(origin, **meta)


EVENT_READERS: dict[str, Reader] = {
    "item_completed": _item_completed,
    "user_message": _user,
    "agent_message": _agent,
    "agent_reasoning": _reasoning,
    "exec_command_begin": _exec_begin,
    "exec_command_end": _exec_end,
    "patch_apply_begin": _patch_begin,
    "patch_apply_end": _patch_end,
    "task_started": _task_started,
    "task_complete": _task_complete,
    "turn_aborted": _turn_aborted,
    "token_count": _token_count,
    "context_compacted": compaction_marker,
    "entered_review_mode": review_started,
    "exited_review_mode": review_finished,
}
"""event_msg `payload.type` → reader (origin `event_msg/<type>`)."""
