"""`parse_line`: one rollout line → one record, through the line-type table `LINE_READERS`.

The line's `type` picks a reader from `LINE_READERS`; `event_msg` and `response_item` readers look
their payload up in the next table (`_events`, `_items`, `_responses`). The type sets the fast path
uses to skip unused lines unparsed are derived from those tables, so a table entry is all it takes
to read a new type.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import orjson

from ccbot.codex.jsonfields import get_dict, get_int, get_str
from ccbot.codex.records import Ignored, Malformed, Record, SessionMeta
from ccbot.codex.rollout._build import Meta, compacted, token_usage
from ccbot.codex.rollout._events import EVENT_READERS
from ccbot.codex.rollout._items import ITEM_READERS
from ccbot.codex.rollout._responses import MESSAGE_READERS, RESPONSE_READERS, read_response_item
from ccbot.codex.rollout._table import dispatch

LineReader = Callable[[dict[str, Any], dict[str, Any], Meta], Record]
"""Reads a line's `payload` (the whole line object is second) into a record, given the line's `meta`."""


def _session_meta(p: dict[str, Any], line: dict[str, Any], meta: Meta) -> Record:
    meta.pop("thread_id", None)
    tid = get_str(p, "id")
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
    return SessionMeta(
        tid,
        get_str(p, "cwd"),
        source_s,
        get_str(p, "thread_source"),
        get_str(p, "originator"),
        get_str(p, "parent_thread_id"),
        get_str(p, "cli_version"),
        subagent,
        thread_id=tid,
        origin="session_meta",
        **meta,
    )


def _event_msg(p: dict[str, Any], line: dict[str, Any], meta: Meta) -> Record:
    return dispatch(EVENT_READERS, p, "event_msg without type", "event_msg", meta)


def _token_usage_record(p: dict[str, Any], line: dict[str, Any], meta: Meta) -> Record:
    return token_usage(
        get_dict(p, "usage"),
        "token_usage_record",
        meta,
        turn_total=get_int(get_dict(p, "turn_token_usage"), "total_tokens"),
        thread_total=get_int(get_dict(p, "thread_token_usage"), "total_tokens"),
    )


def _compacted(p: dict[str, Any], line: dict[str, Any], meta: Meta) -> Record:
    return compacted(get_str(p, "message") or "", "compacted", meta)


LINE_READERS: dict[str, LineReader] = {
    "session_meta": _session_meta,
    "event_msg": _event_msg,
    "response_item": read_response_item,
    "token_usage_record": _token_usage_record,
    "compacted": _compacted,
}
"""Line `type` → reader (turn_context, world_state, ... have none and are Ignored)."""

# What the tables read, for the fast path: every other line is Ignored without decoding its JSON.
LINE_TYPES = frozenset(LINE_READERS)
EVENT_TYPES = frozenset(EVENT_READERS)
MESSAGE_ROLES = frozenset(MESSAGE_READERS)


def known_kinds() -> frozenset[str]:
    """Every line kind a table has a reader for, spelled as record origins: "session_meta",
    "event_msg/user_message", "event_msg/item_completed/UserMessage", "response_item/message/user", ..."""
    kinds = set(LINE_TYPES)
    kinds.update(f"event_msg/{t}" for t in EVENT_READERS)
    kinds.update(f"event_msg/item_completed/{t}" for t in ITEM_READERS)
    kinds.update(f"response_item/{t}" for t in RESPONSE_READERS)
    kinds.update(f"response_item/message/{r}" for r in MESSAGE_READERS)
    return frozenset(kinds)


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
    if kind == "event_msg" and payload is not None and payload.decode() not in EVENT_TYPES:
        kind = f"event_msg/{payload.decode()}"
    elif kind == "response_item" and payload == b"message" and role is not None and role.decode() not in MESSAGE_ROLES:
        kind = f"response_item/message/{role.decode()}"
    elif kind in LINE_TYPES:
        return None
    ordinal = head["ordinal"]
    return Ignored(kind, ordinal=int(ordinal) if ordinal is not None else None, timestamp=head["ts"].decode())


def _parse_obj(obj: dict[str, Any]) -> Record:
    kind = obj.get("type")
    ordinal = get_int(obj, "ordinal")
    ts = get_str(obj, "timestamp")
    if not isinstance(kind, str):
        if "record_type" in obj or ("id" in obj and "instructions" in obj):
            return Ignored("legacy", ordinal=ordinal, timestamp=ts)
        return Malformed("line has no type")
    payload = obj.get("payload")
    if not isinstance(payload, dict):
        return Malformed(f"{kind} line has no payload object")
    meta: Meta = {"ordinal": ordinal, "timestamp": ts}
    thread_id = get_str(payload, "thread_id")
    if thread_id is not None:
        meta["thread_id"] = thread_id
    turn_id = get_str(payload, "root_turn_id") or get_str(payload, "turn_id")
    if turn_id is not None:
        meta["turn_id"] = turn_id
    reader = LINE_READERS.get(kind)
    if reader is None:
        return Ignored(kind, **meta)
    return reader(payload, obj, meta)
