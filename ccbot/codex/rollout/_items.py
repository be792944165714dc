"""The Codex 0.169 dialect: conversation items written as `event_msg/item_completed`.

`ITEM_READERS` maps an item's `type` to its reader. Commands, reasoning, compaction and review
are built by the same builders (`_build`) the older `event_msg` events use.
"""

from __future__ import annotations

from typing import Any

from ccbot.codex.jsonfields import get_list, get_str
from ccbot.codex.records import Record
from ccbot.codex.rollout._build import (
    Meta,
    assistant_message,
    command_run,
    compaction_marker,
    reasoning,
    review_finished,
    review_started,
    user_message,
)
from ccbot.codex.rollout._fields import content_text
from ccbot.codex.rollout._table import Reader


def _user(item: dict[str, Any], origin: str, meta: Meta) -> Record:
    text, images = content_text(item.get("content"))
    return user_message(text, images, origin, meta)


def _agent(item: dict[str, Any], origin: str, meta: Meta) -> Record:
    return assistant_message(content_text(item.get("content"))[0], origin, meta)


def _reasoning(item: dict[str, Any], origin: str, meta: Meta) -> Record:
    parts = tuple(s for s in get_list(item, "summary_text") if isinstance(s, str))
    if not parts:
        parts = tuple(s for s in get_list(item, "raw_content") if isinstance(s, str))
    return reasoning(parts, origin, meta)


def _command(item: dict[str, Any], origin: str, meta: Meta) -> Record:
    return command_run(item, get_str(item, "id") or "", get_str(item, "aggregated_output") or "", origin, meta)


ITEM_READERS: dict[str, Reader] = {
    "UserMessage": _user,
    "AgentMessage": _agent,
    "Reasoning": _reasoning,
    "CommandExecution": _command,
    "ContextCompaction": compaction_marker,
    "EnteredReviewMode": review_started,
    "ExitedReviewMode": review_finished,
}
"""item_completed `item.type` → reader (origin `event_msg/item_completed/<type>`)."""
