"""The `RolloutDecoder`'s state and its persisted form (the dict saved in state.json).

The snapshot is the state's dataclass fields by name, plus `"v"`; restoring reads the same
fields back, each through the loader its field declares (or one derived from its default). A
field added here is saved and restored with no other change; renaming or removing one is a
format change and needs a new `STATE_VERSION`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any

STATE_VERSION = 1


def _load_twins(value: Any) -> list[list[str]]:
    return [list(t) for t in value]


@dataclass
class DecoderState:
    """Everything a `RolloutDecoder` remembers between lines.

    thread/agent/parent: the rollout's own thread, its sub-agent kind and parent (from session_meta).
    turn/turn_seq/child_turn/turn_start_ts: the open turn (root id), turns seen, the id its items
    carry when it differs, and when it started. review/compacted: inside /review; compaction
    already delivered this turn. tok_base/tok_last/tok_turn: thread total at turn start, the
    latest thread total, the turn's own total. twins: [twin key, side] of messages waiting for
    their copy. calls: announced tool calls by id. done: ids of finished calls (most recent last).
    """

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
    twins: list[list[str]] = field(default_factory=list, metadata={"load": _load_twins})
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    done: list[str] = field(default_factory=list)


def _loader(f: Field[Any]) -> Callable[[Any], Any]:
    """How a snapshot value becomes field `f`'s value: its declared `load`, else the type of its default
    (bool, int, or the list/dict its factory makes); None-defaulted fields take the value as saved."""
    load = f.metadata.get("load")
    if load is not None:
        return load  # type: ignore[no-any-return]
    if f.default_factory is not MISSING:
        return type(f.default_factory())
    if isinstance(f.default, bool | int):
        return type(f.default)
    return lambda value: value


_LOADERS = tuple((f.name, _loader(f)) for f in fields(DecoderState))


def to_snapshot(state: DecoderState) -> dict[str, Any]:
    """The state as plain JSON data (a deep copy): `{"v": STATE_VERSION, <field>: <value>, ...}`."""
    data = {"v": STATE_VERSION, **{name: getattr(state, name) for name, _ in _LOADERS}}
    result: dict[str, Any] = json.loads(json.dumps(data))
    return result


def from_snapshot(snapshot: Mapping[str, Any]) -> DecoderState:
    """The state a `to_snapshot` result (possibly read back from JSON) describes; keys it does not know
    are ignored. Raises ValueError if `snapshot` is of another version or lacks a field."""
    if not isinstance(snapshot, Mapping) or snapshot.get("v") != STATE_VERSION:
        raise ValueError("not a RolloutDecoder snapshot of this version")
    data = json.loads(json.dumps(dict(snapshot)))
    try:
        return DecoderState(**{name: load(data[name]) for name, load in _LOADERS})
    except (KeyError, TypeError) as exc:
        raise ValueError(f"bad RolloutDecoder snapshot: {exc}") from exc
