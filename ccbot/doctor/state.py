"""Checks of the state file: what it holds (:func:`summarize_state`) and what that means (:func:`state_checks`).
Pure: the bytes are read by :func:`ccbot.doctor.gather.gather_state`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ccbot.doctor.result import Check, Level, plural
from ccbot.state.model import SCHEMA_VERSION, parse_topic_key


@dataclass(frozen=True, slots=True)
class StateSummary:
    """What a state file holds, as far as the doctor cares. ``problem`` set means it is not usable."""

    schema: int | None = None
    chats: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    offset: int = 0
    problem: str | None = None


def summarize_state(raw: bytes) -> StateSummary:
    """Read the schema, the offset and the bound (chat → topics) from state-file bytes. Never raises.

    Works for every schema so far (all key bindings as ``"<chat>:<topic>"``; v0 called them ``topics``);
    a file that is not JSON, not an object or has bad keys yields ``problem``.
    """
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        return StateSummary(problem=f"not valid JSON ({str(exc)[:80]})")
    if not isinstance(data, dict):
        return StateSummary(problem="top level is not a JSON object")
    try:
        schema = int(data.get("schema", 0))
        table = data.get("bindings", {}) if schema >= 1 else data.get("topics", {})
        if not isinstance(table, dict):
            raise TypeError("bindings is not an object")
        chats: dict[int, list[int]] = {}
        for key in table:
            chat, topic = parse_topic_key(str(key))
            chats.setdefault(chat, []).append(topic)
        offset = int(data.get("telegram_offset") or data.get("offset") or 0)
    except (ValueError, TypeError) as exc:
        return StateSummary(problem=f"unexpected content ({str(exc)[:80]})")
    return StateSummary(schema, {c: tuple(sorted(t)) for c, t in sorted(chats.items())}, offset)


@dataclass(frozen=True, slots=True)
class StateFacts:
    """What :func:`~ccbot.doctor.gather.gather_state` found at ``path``: the summary (None: no file), a read error,
    whether ``<name>.bak`` exists, and the names of ``<name>.corrupt-*`` leftovers."""

    path: Path
    summary: StateSummary | None  # None: no state file
    read_error: str | None = None
    backup_exists: bool = False
    leftovers: tuple[str, ...] = ()  # names of <file>.corrupt-* files


def state_checks(f: StateFacts) -> list[Check]:
    """The state-file line (✗ unreadable or newer than this ccbot, ! unusable or missing with a .bak, else ✓),
    plus a ! line for leftover ``.corrupt-*`` files."""
    name = "state"
    out: list[Check] = []
    s = f.summary
    if f.read_error is not None:
        out.append(Check(name, Level.FAIL, f"cannot read {f.path}: {f.read_error}",
                         "fix the file's owner/permissions (the bot refuses to start without it)"))
    elif s is None:
        if f.backup_exists:
            out.append(Check(name, Level.WARN, f"{f.path} is missing but {f.path.name}.bak exists",
                             "nothing to do: the bot restores the .bak at start; find out why it went away"))
        else:
            out.append(Check(name, Level.OK, f"no {f.path.name} yet (nothing is bound)"))
    elif s.problem is not None:
        fallback = "the .bak copy" if f.backup_exists else "an empty state (all bindings lost)"
        out.append(Check(name, Level.WARN, f"{f.path} is unusable: {s.problem}",
                         f"at start the bot keeps it as {f.path.name}.corrupt-<time> and uses {fallback}"))
    elif s.schema is not None and s.schema > SCHEMA_VERSION:
        out.append(Check(name, Level.FAIL,
                         f"{f.path} has schema {s.schema}, newer than this ccbot ({SCHEMA_VERSION})",
                         "upgrade ccbot, or restore the matching state.json.v<N>.bak"))
    else:
        bound = sum(len(t) for t in s.chats.values())
        text = f"schema {s.schema}, {plural(bound, 'topic')} bound in {plural(len(s.chats), 'chat')}"
        if s.schema is not None and s.schema < SCHEMA_VERSION:
            out.append(Check(name, Level.OK, f"{text}; migrated to schema {SCHEMA_VERSION} at the next start "
                             f"(the original is kept as {f.path.name}.v{s.schema}.bak)"))
        else:
            out.append(Check(name, Level.OK, text))
    if f.leftovers:
        out.append(Check("state", Level.WARN, f"earlier corrupt state kept as {', '.join(f.leftovers)}",
                         "look inside, recover what you need, then delete it"))
    return out
