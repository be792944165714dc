"""Combine consecutive small rendered messages into fewer Telegram messages.

Several tool summaries, status lines and the turn's closing line are more readable (and
cheaper against rate limits) as one message. Merging is bounded and conservative:

* only the kinds in `MERGEABLE` merge; an assistant answer, a user line and an error always
  stay their own message, so a final answer is never folded into a status/tool message;
* pieces merge only within one turn (equal `turn_id`), and nothing is appended after a piece
  that ends a turn ("turn_done", "interrupted");
* a merged message has at most `max_pieces` pieces and at most `limit` visible characters.
"""

from __future__ import annotations

from collections.abc import Sequence

from ccbot.render.messages import Rendered

__all__ = ["MERGEABLE", "TURN_END_KINDS", "join_rendered", "merge_groups", "merge_rendered"]

MERGEABLE = frozenset({"tool", "status", "thinking", "turn_done", "interrupted"})
TURN_END_KINDS = frozenset({"turn_done", "interrupted", "error"})
_SEPARATOR = "\n"


def merge_rendered(pieces: Sequence[Rendered], *, limit: int = 4096, max_pieces: int = 8) -> list[Rendered]:
    """Merge runs of adjacent mergeable pieces; order and content are preserved.

    A merged message joins the pieces' HTML (and plain text) with a newline; its kind is the
    kind of its last piece (so a group ending a turn reads as "turn_done"). Pieces that cannot
    merge are returned unchanged. Raises ValueError if `max_pieces` < 1.
    """
    return [join_rendered(group) for group in merge_groups(pieces, limit=limit, max_pieces=max_pieces)]


def merge_groups(pieces: Sequence[Rendered], *, limit: int = 4096, max_pieces: int = 8) -> list[list[Rendered]]:
    """The runs `merge_rendered` joins: `pieces` cut into consecutive groups, in order, each of which
    becomes one message (`join_rendered`). Raises ValueError if `max_pieces` < 1."""
    if max_pieces < 1:
        raise ValueError("max_pieces must be at least 1")
    out: list[list[Rendered]] = []
    group: list[Rendered] = []
    for piece in pieces:
        if piece.kind not in MERGEABLE:
            if group:
                out.append(group)
                group = []
            out.append([piece])
            continue
        if group and not _fits(group, piece, limit, max_pieces):
            out.append(group)
            group = []
        group.append(piece)
    if group:
        out.append(group)
    return out


def _fits(group: list[Rendered], piece: Rendered, limit: int, max_pieces: int) -> bool:
    last = group[-1]
    if piece.turn_id != last.turn_id or last.kind in TURN_END_KINDS or len(group) >= max_pieces:
        return False
    joined = _SEPARATOR.join([*(p.plain for p in group), piece.plain])
    return len(joined.rstrip(" \n")) <= limit


def join_rendered(group: Sequence[Rendered]) -> Rendered:
    """One message of a group from `merge_groups`: the group's only piece, or the pieces joined."""
    if len(group) == 1:
        return group[0]
    return Rendered(
        group[-1].kind,
        _SEPARATOR.join(p.html for p in group),
        _SEPARATOR.join(p.plain for p in group),
        group[-1].turn_id,
    )
