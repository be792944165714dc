"""`RolloutDecoder`: the stateful layer over `parse_line` that a tailer feeds line by line.

It delivers twins once, pairs tool calls with their results, fills turn durations and token
totals, and attributes sub-agent records. Its whole state is a small JSON-able dict
(`snapshot()` / `restore()`), so decoding can resume at any line boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from ccbot.codex.records import (
    AssistantMessage,
    CommandRun,
    Compacted,
    Ignored,
    Malformed,
    PatchApplied,
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
from ccbot.codex.rollout._lines import parse_line
from ccbot.codex.rollout._state import DecoderState, from_snapshot, to_snapshot
from ccbot.codex.rollout._tools import files_from_summary

_MAX_TWINS = 32
_MAX_CALLS = 64
_MAX_DONE = 128


def _ts(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _twin_key(kind: str, text: str) -> str:
    return kind + ":" + " ".join(text.split())


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
        self._s = DecoderState()

    # -- persistence --

    def snapshot(self) -> dict[str, Any]:
        """The decoder state as plain JSON data (a deep copy)."""
        return to_snapshot(self._s)

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Replace the state with one from `snapshot()`. Raises ValueError if it is not one."""
        self._s = from_snapshot(snapshot)

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
        step = _STEPS.get(type(rec))
        return rec if step is None else step(self, rec)

    def _tokens(self, rec: TokenUsage) -> Record:
        if rec.thread_total_tokens is not None:
            self._s.tok_last = rec.thread_total_tokens
        if rec.turn_total_tokens is not None:
            self._s.tok_turn = rec.turn_total_tokens
        return rec

    def _compacted(self, rec: Compacted) -> Record | None:
        if self._s.compacted:
            return None  # one compaction is written twice: as an event or item, and as a `compacted` line
        self._s.compacted = True
        return rec

    def _review_started(self, rec: ReviewStarted) -> Record:
        self._s.review = True
        return rec

    def _review_finished(self, rec: ReviewFinished) -> Record:
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
                tuple(files) or files_from_summary(rec.output),
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



# The decoder's step for each record kind (what it does to the state, what it delivers); a kind
# without one is delivered as it is.
_STEPS: dict[type[Record], Callable[[RolloutDecoder, Any], Record | None]] = {
    SessionMeta: RolloutDecoder._session,
    TurnStarted: RolloutDecoder._turn_started,
    TurnComplete: RolloutDecoder._turn_ended,
    TurnAborted: RolloutDecoder._turn_ended,
    TokenUsage: RolloutDecoder._tokens,
    UserMessage: RolloutDecoder._message,
    AssistantMessage: RolloutDecoder._message,
    Reasoning: RolloutDecoder._message,
    ToolCall: RolloutDecoder._tool_call,
    CommandRun: RolloutDecoder._finished_call,
    PatchApplied: RolloutDecoder._finished_call,
    ToolOutput: RolloutDecoder._tool_output,
    Compacted: RolloutDecoder._compacted,
    ReviewStarted: RolloutDecoder._review_started,
    ReviewFinished: RolloutDecoder._review_finished,
}

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
