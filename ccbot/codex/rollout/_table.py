"""What a dialect table is: `{record type → reader}`, and the one way a line's object is looked up in one.

Every level of a rollout line names its shape in a `type` field (the line, an `event_msg` payload,
an `item_completed` item, a `response_item` payload). Each level has a literal table from that
type to a reader; a type missing from its table is a line the bot does not use (`Ignored`). The
tables are the single list of what is understood: the type sets the fast path in `_lines` checks
are derived from them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ccbot.codex.records import Ignored, Malformed, Record
from ccbot.codex.rollout._build import Meta

Reader = Callable[[dict[str, Any], str, Meta], Record]
"""Reads one object (`src`) of a known type into a record, given its `origin` and the line's `meta`."""


def dispatch(table: Mapping[str, Reader], src: dict[str, Any], untyped: str, prefix: str, meta: Meta) -> Record:
    """Hand `src` to the reader its `type` names in `table`, with origin `prefix/type`.

    `Malformed(untyped)` when `src` has no string type; `Ignored(origin)` when the table has no reader for it.
    """
    kind = src.get("type")
    if not isinstance(kind, str):
        return Malformed(untyped)
    origin = f"{prefix}/{kind}"
    reader = table.get(kind)
    if reader is None:
        return Ignored(origin, **meta)
    return reader(src, origin, meta)
