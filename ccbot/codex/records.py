"""Typed records decoded from Codex rollout lines.

Every record is a frozen dataclass. The keyword-only metadata shared by all of them
(`thread_id`, `turn_id`, `ordinal`, `timestamp`, `agent`, `origin`) says where the line
came from; the positional fields are the record's content.

`ccbot.codex.rollout.parse_line` fills the metadata only from what the line itself says;
`ccbot.codex.rollout.RolloutDecoder` may fill in `thread_id`, `turn_id` and `agent` from
earlier lines (and its snapshot).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar


@dataclass(frozen=True, kw_only=True)
class RecordBase:
    """Metadata common to every record.

    thread_id: the Codex thread the line belongs to, when known.
    turn_id: the turn (the *root* turn when Codex names one) the line belongs to.
    ordinal: the 0.169 line sequence number (None on older Codex).
    timestamp: the line's ISO timestamp string, as written.
    agent: sub-agent kind ("review", ...) when the record comes from a sub-agent thread.
    origin: the line kind it was decoded from, e.g. "event_msg/item_completed/AgentMessage".
    """

    thread_id: str | None = None
    turn_id: str | None = None
    ordinal: int | None = None
    timestamp: str | None = None
    agent: str | None = None
    origin: str = ""


@dataclass(frozen=True)
class SessionMeta(RecordBase):
    """The thread header (`session_meta`). `source` is "cli", "exec", "subagent:review", ..."""

    id: str
    cwd: str | None
    source: str | None
    thread_source: str | None
    originator: str | None
    parent_thread_id: str | None
    cli_version: str | None
    subagent: str | None = None


@dataclass(frozen=True)
class UserMessage(RecordBase):
    """A prompt the user (or a sub-agent harness) submitted. Injected context is not a UserMessage."""

    text: str
    images: int = 0


@dataclass(frozen=True)
class AssistantMessage(RecordBase):
    """A complete assistant message (Markdown)."""

    text: str


@dataclass(frozen=True)
class Reasoning(RecordBase):
    """A reasoning summary (Markdown). `parts` are the summary parts `text` joins, when several."""

    text: str
    parts: tuple[str, ...] = ()


@dataclass(frozen=True)
class PatchStats:
    """What a patch touches: file paths and changed-line counts."""

    files: tuple[str, ...]
    added: int
    removed: int


@dataclass(frozen=True)
class ToolCall(RecordBase):
    """The model asked for a tool. `command` is the shell command line for shell tools, else None.

    `arguments` is the raw argument string (JSON for function calls, patch text for apply_patch).
    `action`/`target` are Codex's parse of a shell command when the line has it; `patch` is
    set for apply_patch calls.
    """

    call_id: str
    name: str
    command: str | None
    arguments: str
    action: str | None = None
    target: str | None = None
    patch: PatchStats | None = None


@dataclass(frozen=True)
class ToolOutput(RecordBase):
    """Output of a non-shell tool call (shell calls become CommandRun). `name` is filled by the decoder."""

    call_id: str
    output: str
    exit_code: int | None
    duration_s: float | None
    name: str | None = None


@dataclass(frozen=True)
class CommandRun(RecordBase):
    """A finished shell command.

    status: "completed", "failed", "declined", "aborted", ... as Codex says (or derived).
    action/target: what Codex's command parser made of it ("read" + path, "list_files",
    "search" + query, "unknown"), when known.
    source: who started it, as Codex says ("unified_exec_startup", "user_shell", ...).
    """

    call_id: str
    command: str
    exit_code: int | None
    output: str
    duration_s: float | None
    status: str
    action: str | None = None
    target: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class PatchApplied(RecordBase):
    """A finished apply_patch. `added`/`removed` count changed lines; `detail` is the failure text."""

    files: tuple[str, ...]
    added: int
    removed: int
    success: bool
    call_id: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class TurnStarted(RecordBase):
    """A turn started; its id is `turn_id` (the root turn).

    `child_turn_id` is the id Codex gives the items of this turn when it differs from the root
    (review turns).
    """

    child_turn_id: str | None = None


@dataclass(frozen=True)
class TurnComplete(RecordBase):
    """A turn ended normally or with a model/HTTP error (`error` is its message).

    duration_ms and tokens (the turn's total token count) are filled by the decoder when the
    line does not carry them.
    """

    duration_ms: int | None
    tokens: int | None
    error: str | None
    last_message: str | None = None


@dataclass(frozen=True)
class TurnAborted(RecordBase):
    """A turn was interrupted (Esc, denied approval, ...)."""

    reason: str | None
    duration_ms: int | None = None


@dataclass(frozen=True)
class TokenUsage(RecordBase):
    """Token counts from `token_count` or `token_usage_record`.

    input/cached/output/reasoning/total describe the last model response; turn_total_tokens and
    thread_total_tokens are running totals when the line carries them.
    """

    input_tokens: int | None
    cached_input_tokens: int | None
    output_tokens: int | None
    reasoning_output_tokens: int | None
    total_tokens: int | None
    turn_total_tokens: int | None = None
    thread_total_tokens: int | None = None
    context_window: int | None = None


@dataclass(frozen=True)
class Compacted(RecordBase):
    """The context was compacted (`/compact` or automatic)."""

    message: str = ""


@dataclass(frozen=True)
class ReviewStarted(RecordBase):
    """`/review` started; `hint` is Codex's user-facing description ("current changes")."""

    hint: str


@dataclass(frozen=True)
class ReviewFinished(RecordBase):
    """`/review` ended. `text` is the overall explanation plus the findings, one per line."""

    text: str
    findings: int = 0
    verdict: str | None = None


@dataclass(frozen=True)
class Ignored(RecordBase):
    """A well-formed line the bot has no use for; `type` names it."""

    type: str


@dataclass(frozen=True)
class Malformed(RecordBase):
    """A line that could not be decoded; `reason` says why (one line)."""

    reason: str


Record = (
    SessionMeta
    | UserMessage
    | AssistantMessage
    | Reasoning
    | ToolCall
    | ToolOutput
    | CommandRun
    | PatchApplied
    | TurnStarted
    | TurnComplete
    | TurnAborted
    | TokenUsage
    | Compacted
    | ReviewStarted
    | ReviewFinished
    | Ignored
    | Malformed
)

_R = TypeVar("_R", bound=RecordBase)


def amend(record: _R, **changes: Any) -> _R:
    """A copy of `record` with `changes` applied: `dataclasses.replace` for records.

    Several times faster than `replace`, which matters because the decoder amends nearly every
    record: the copy takes the instance dict as is instead of re-running `__init__` (records
    have no `__post_init__`). Raises TypeError when a name in `changes` is not a field.
    """
    if not changes.keys() <= record.__dataclass_fields__.keys():
        unknown = sorted(changes.keys() - record.__dataclass_fields__.keys())
        raise TypeError(f"{type(record).__name__} has no field(s) {', '.join(unknown)}")
    copy = object.__new__(type(record))
    copy.__dict__.update(record.__dict__, **changes)  # frozen guards only __setattr__
    return copy
