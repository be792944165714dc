"""The rollout dispatch tables are the one list of what is read: the type sets the fast path checks
come from them, every listed type reaches its reader, and every type the recordings hold is read or
deliberately unused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ccbot.codex.records import Ignored, Record
from ccbot.codex.rollout import parse_line
from ccbot.codex.rollout._events import EVENT_READERS
from ccbot.codex.rollout._items import ITEM_READERS
from ccbot.codex.rollout._lines import EVENT_TYPES, LINE_READERS, LINE_TYPES, MESSAGE_ROLES, known_kinds
from ccbot.codex.rollout._responses import MESSAGE_READERS, RESPONSE_READERS
from tests.conftest import DATA

# Kinds Codex writes that the bot has no use for; everything else in a recording must have a reader.
UNUSED = {
    "turn_context",
    "world_state",
    "event_msg/error",
    "event_msg/thread_settings_applied",
    "response_item/message/developer",
}


def _table_and_line(kind: str) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """The innermost table that reads `kind`, its key there, and the smallest line of that kind."""
    parts = kind.split("/")
    line: dict[str, Any] = {"timestamp": "2026-01-01T00:00:00Z", "type": parts[0], "payload": {}}
    if len(parts) == 1:
        return LINE_READERS, parts[0], line
    line["payload"] = {"type": parts[1]}
    if parts[0] == "event_msg":
        if len(parts) == 2:
            return EVENT_READERS, parts[1], line
        line["payload"]["item"] = {"type": parts[2]}
        return ITEM_READERS, parts[2], line
    if len(parts) == 2:
        return RESPONSE_READERS, parts[1], line
    line["payload"]["role"] = parts[2]
    return MESSAGE_READERS, parts[2], line


def _line_kind(obj: dict[str, Any]) -> str:
    """A recorded line's kind, read independently of the decoder: type[/payload type[/item type | role]]."""
    kind: str = obj["type"]
    payload = obj.get("payload")
    if kind in ("event_msg", "response_item") and isinstance(payload, dict):
        kind += f"/{payload.get('type')}"
        if payload.get("type") == "item_completed":
            kind += f"/{payload.get('item', {}).get('type')}"
        elif payload.get("type") == "message":
            kind += f"/{payload.get('role')}"
    return kind


def test_the_fast_path_type_sets_are_the_table_keys() -> None:
    assert set(LINE_TYPES) == set(LINE_READERS)
    assert set(EVENT_TYPES) == set(EVENT_READERS)
    assert set(MESSAGE_ROLES) == set(MESSAGE_READERS)
    tables = {"": LINE_READERS, "event_msg/": EVENT_READERS, "event_msg/item_completed/": ITEM_READERS}
    tables |= {"response_item/": RESPONSE_READERS, "response_item/message/": MESSAGE_READERS}
    assert known_kinds() == {prefix + key for prefix, table in tables.items() for key in table}


@pytest.mark.parametrize("kind", sorted(known_kinds()))
@pytest.mark.parametrize("as_bytes", [True, False], ids=["bytes", "str"])
def test_every_known_kind_reaches_its_reader(kind: str, as_bytes: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    table, key, line = _table_and_line(kind)
    reached = Ignored("reached the reader")

    def spy(*args: Any) -> Record:
        return reached

    monkeypatch.setitem(table, key, spy)
    text = json.dumps(line, separators=(",", ":"))  # Codex's own spelling, which the fast path reads
    assert parse_line(text.encode() if as_bytes else text) is reached


@pytest.mark.parametrize(
    "kind", ["made_up", "event_msg/made_up", "event_msg/item_completed/MadeUp", "response_item/made_up",
             "response_item/message/system"]
)
@pytest.mark.parametrize("as_bytes", [True, False], ids=["bytes", "str"])
def test_a_kind_without_a_table_entry_is_ignored(kind: str, as_bytes: bool) -> None:
    _, _, line = _table_and_line(kind)
    text = json.dumps(line, separators=(",", ":"))
    rec = parse_line(text.encode() if as_bytes else text)
    assert isinstance(rec, Ignored) and kind in (rec.type, rec.origin)


def test_every_kind_in_the_recordings_is_read_or_deliberately_unused() -> None:
    seen: set[str] = set()
    for path in sorted(DATA.rglob("*.jsonl")):
        for raw in path.read_bytes().splitlines():
            obj = json.loads(raw) if raw.strip() else None
            if isinstance(obj, dict) and isinstance(obj.get("type"), str):
                seen.add(_line_kind(obj))
    assert seen - UNUSED <= known_kinds(), f"no reader for {sorted(seen - UNUSED - known_kinds())}"
    assert not UNUSED & known_kinds()
    for kind in UNUSED:
        _, _, line = _table_and_line(kind)
        assert isinstance(parse_line(json.dumps(line, separators=(",", ":")).encode()), Ignored)
