"""Delivery pieces (pure): what one rollout line produced, where reading may resume after it, and how runs
of small answers merge into one message."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ccbot.render.markdown import html_to_plain
from ccbot.render.merge import join_rendered, merge_groups
from ccbot.render.messages import Rendered


@dataclass(frozen=True, slots=True)
class Mark:
    """Where a rollout's reading stands after a line: byte offset, decoder snapshot, and the line's stamp
    (``stamp_of``)."""

    end: int
    snapshot: dict[str, Any]
    ts: str = ""
    run: int = 0


@dataclass(frozen=True, slots=True)
class Piece:
    """One delivery action and the ``mark`` that is safe to commit once it was done.

    ``action``: "send" (a new message), "status_start" / "status_step" / "status_end" (the turn's single
    editable status message).
    """

    action: str
    rendered: Rendered | None
    mark: Mark


ACTION_BY_KIND = {"tool": "status_step", "turn_done": "status_end", "interrupted": "status_end"}
STATUS_WORKING = "⏳ <i>Working…</i>"
STATUS_LIMIT = 3500
TELEGRAM_TEXT_LIMIT = 4096
MAX_STATUS_STEPS = 60


_TIMESTAMP = re.compile(rb'^\{"timestamp":\s*"([^"]{1,40})"')


def line_timestamp(raw: bytes) -> str:
    """A rollout line's own ``timestamp`` (Codex writes it first on every line), or "" when it has none."""
    found = _TIMESTAMP.match(raw)
    return found.group(1).decode("ascii", "replace") if found else ""


def stamp_of(ts: str, prev: Mark) -> tuple[str, int]:
    """A line's place in its rollout that survives a rewrite: its timestamp, and how many lines in a row
    (this one included) carry that timestamp. A line without one keeps the previous line's stamp. Codex
    writes several lines in one millisecond (a turn's end and the next one's start), so the timestamp alone
    cannot say which of them were delivered."""
    if not ts:
        return prev.ts, prev.run
    return ts, prev.run + 1 if ts == prev.ts else 1


def is_answer(piece: Piece) -> bool:
    """Whether ``piece`` sends an assistant answer (what a turn's end line may be edited in under)."""
    return piece.action == "send" and piece.rendered is not None and piece.rendered.kind == "assistant"


def with_end_line(answer_html: str, end_line: str) -> str:
    """An answer part with the turn's end line under it, as the topic shows it."""
    return f"{answer_html}\n\n<i>{end_line}</i>"


def fits(html_text: str) -> bool:
    """Whether ``html_text`` fits in one Telegram message (its plain text within ``TELEGRAM_TEXT_LIMIT``)."""
    return len(html_to_plain(html_text)) <= TELEGRAM_TEXT_LIMIT


def merge_pieces(pieces: list[Piece]) -> list[Piece]:
    """Merge runs of adjacent "send" pieces (bounded, see ccbot.render.merge); a merged piece commits its
    last member's offset."""
    out: list[Piece] = []
    run: list[Piece] = []

    def flush() -> None:
        index = 0
        for group in merge_groups([p.rendered for p in run if p.rendered is not None]):
            index += len(group)
            last = run[index - 1]
            out.append(Piece("send", join_rendered(group), last.mark))
        run.clear()

    for piece in pieces:
        if piece.action == "send" and piece.rendered is not None:
            run.append(piece)
            continue
        flush()
        out.append(piece)
    flush()
    return out

