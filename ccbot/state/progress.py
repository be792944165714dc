"""Which Telegram updates are done, when they finish out of order (pure).

The router hands each chat's updates to that chat's own worker, so a later update of one chat can finish
before an earlier update of another (which may be waiting for its chat's Telegram budget). The offset
saved for ``getUpdates`` must never pass an update that is not done (a crash would lose it), and an update
done above that offset must not be handled again after a restart. ``UpdateProgress`` keeps both: the
offset is the lowest update still in hand (or one past the highest seen), and ``done_above`` the ids
finished above it — bounded by how many updates are in hand at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class UpdateProgress:
    """``offset``: every update below it is done. ``done_above``: ids ≥ ``offset`` already done."""

    offset: int = 0
    done_above: set[int] = field(default_factory=set)
    in_hand: set[int] = field(default_factory=set)
    highest: int = -1

    def wanted(self, update_id: int) -> bool:
        """False for an update that is done, or already in hand (a restarted poller may repeat it)."""
        return update_id >= self.offset and update_id not in self.done_above and update_id not in self.in_hand

    def take(self, update_id: int) -> None:
        """``update_id`` is being handled from now on."""
        self.in_hand.add(update_id)
        self.highest = max(self.highest, update_id)

    def finish(self, update_id: int) -> None:
        """``update_id`` is done: move the offset past every done update below the lowest one in hand."""
        self.in_hand.discard(update_id)
        self.done_above.add(update_id)
        floor = min(self.in_hand) if self.in_hand else self.highest + 1
        self.offset = max(self.offset, floor)
        while self.offset in self.done_above:  # done before a restart, above what was in hand
            self.offset += 1
        self.done_above = {u for u in self.done_above if u >= self.offset}
