"""Codex rollout JSONL → typed records (`ccbot.codex.records`).

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

This package's public API is what is imported here; its modules are private, one idea each:

* `_fields`: message content, durations, injected context (typed getters: `ccbot.codex.jsonfields`);
  `_tools`: shell commands, tool output and patch text;
* `_build`: one builder per record kind, shared by both dialects;
* `_table`: what a `{type → reader}` dispatch table is; `_items` (0.169 items), `_events`
  (event_msg), `_responses` (response_item) and `_lines` (line types, `parse_line`) hold the
  tables, from which the set of known types is derived;
* `_decoder`: `RolloutDecoder` (twins, tool-call pairing, turn state).
"""

from ccbot.codex.rollout._decoder import RolloutDecoder, decode_lines
from ccbot.codex.rollout._fields import is_injected_user_text
from ccbot.codex.rollout._lines import parse_line
from ccbot.codex.rollout._tools import (
    command_display,
    parse_tool_output,
    patch_stats_from_changes,
    patch_stats_from_text,
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
