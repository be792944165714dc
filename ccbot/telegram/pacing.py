"""Outbound rate-limit maths for the sender (pure: no trio, no clock of its own).

Telegram's Bot FAQ limits, as enforced by :class:`Pacer` for a caller that sends at ``ready_at``:

* **per chat**: a token bucket refilled every ``per_chat_interval`` seconds holding ``burst``
  tokens, so over any span of ``d`` seconds a chat gets at most ``burst + d / per_chat_interval``
  sends;
* **per group** (negative chat ids: groups, supergroups, channels): at most ``group_per_minute``
  sends in any 60-second window;
* **global**: at most ``global_per_second`` sends in any 1-second window;
* **penalties** from a 429's ``retry_after``: nothing to that chat (or, for a global penalty, to any
  chat) before the given time, and no burst right after it.

Each limit is kept only for the scope it names: one chat's or group's spent budget or penalty never moves
another chat's ``ready_at``; only the global window (≤ ``global_per_second`` sends in total) is shared.

**Arrival time.** Telegram counts a message when it arrives, a moment after it was sent, and that moment
varies: spacing sends exactly one interval apart can still put two arrivals closer. A sender that has at most
one call in flight per chat therefore notes a call twice: ``dispatched(now)`` when it starts (the global
window, shared by chats in flight at once) and ``answered(chat_id, now)`` when its response came back (the
chat's bucket and group window). A response never comes before its request arrived, so spacing counted from
responses is never shorter at Telegram's end. ``record`` does both at one time.

Windows are half-open: ``N`` sends per ``P`` seconds means the ``k``-th and ``(k+N)``-th send are at
least ``P`` apart. Times are the caller's clock (e.g. ``trio.current_time()``) and must not go
backwards.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

GROUP_WINDOW = 60.0
GLOBAL_WINDOW = 1.0


@dataclass(slots=True)
class _Window:
    """The last ``limit`` send times under an ``limit`` per ``period`` rule."""

    limit: int
    period: float
    times: deque[float] = field(default_factory=deque)

    def ready_at(self, now: float, reserved: int = 0) -> float:
        """When a send may go that must leave the window's last ``reserved`` sends unspent."""
        allowed = self.limit - reserved
        if len(self.times) < allowed:
            return now
        return max(now, self.times[len(self.times) - allowed] + self.period)

    def record(self, now: float) -> None:
        self.times.append(now)
        while len(self.times) > self.limit:
            self.times.popleft()


class Pacer:
    """When may the next message to a chat go out?

    Use: ``t = pacer.ready_at(chat_id, now)``; wait until ``t``; send; ``pacer.record(chat_id, t)``.
    After a ``RetryAfter``: ``pacer.penalize(chat_id, now + retry_after)`` (``chat_id=None`` for a
    flood wait that applies to the whole bot).
    """

    def __init__(
        self,
        per_chat_interval: float = 1.0,
        group_per_minute: int = 20,
        global_per_second: int = 30,
        burst: int = 3,
    ) -> None:
        if per_chat_interval < 0 or group_per_minute < 1 or global_per_second < 1 or burst < 1:
            raise ValueError("pacing limits must be positive")
        self.per_chat_interval = per_chat_interval
        self.group_per_minute = group_per_minute
        self.global_per_second = global_per_second
        self.burst = burst
        # Per-chat token bucket as GCRA: the theoretical arrival time of the next send.
        self._chat_tat: dict[int, float] = {}
        self._groups: dict[int, _Window] = {}
        self._global = _Window(global_per_second, GLOBAL_WINDOW)
        self._chat_penalty: dict[int, float] = {}
        self._global_penalty = float("-inf")

    def ready_at(self, chat_id: int, now: float, *, reserved: int = 0) -> float:
        """Earliest time ``>= now`` at which a send to ``chat_id`` respects every limit and, in a group, leaves
        the last ``reserved`` sends of its minute unspent (kept for more urgent sends, which pass 0)."""
        if not 0 <= reserved < self.group_per_minute:
            raise ValueError("reserved must leave a group at least one send a minute")
        ready = max(now, self._global_penalty, self._chat_penalty.get(chat_id, now))
        ready = max(ready, self._global.ready_at(now))
        tat = self._chat_tat.get(chat_id)
        if tat is not None:
            ready = max(ready, tat - (self.burst - 1) * self.per_chat_interval)
        group = self._groups.get(chat_id)
        if group is not None:
            ready = max(ready, group.ready_at(now, reserved))
        return ready

    def record(self, chat_id: int, now: float) -> None:
        """Note a send to ``chat_id`` at ``now`` (``dispatched`` and ``answered`` at one time)."""
        self.dispatched(now)
        self.answered(chat_id, now)

    def dispatched(self, now: float) -> None:
        """Note that a call started at ``now``: it counts against the global window from then on."""
        self._global.record(now)

    def answered(self, chat_id: int, now: float) -> None:
        """Note that the response to a send to ``chat_id`` came back at ``now``: the chat's bucket and group
        window count it from then on (see "Arrival time" above)."""
        tat = self._chat_tat.get(chat_id, now)
        self._chat_tat[chat_id] = max(tat, now) + self.per_chat_interval
        if chat_id < 0:
            group = self._groups.get(chat_id)
            if group is None:
                group = self._groups[chat_id] = _Window(self.group_per_minute, GROUP_WINDOW)
            group.record(now)
        self._forget_idle(now)

    def penalize(self, chat_id: int | None, until: float) -> None:
        """No sends to ``chat_id`` (None: to any chat) before ``until``.

        A chat's penalty also empties its bucket: from ``until`` on it gets one send per interval, no burst.
        Nothing else changes: other chats' buckets, groups' windows and the global window are untouched.
        """
        if chat_id is None:
            self._global_penalty = max(self._global_penalty, until)
        else:
            self._chat_penalty[chat_id] = max(self._chat_penalty.get(chat_id, until), until)
            # Telegram just said this chat is over its limit: a fresh burst right after the wait would
            # likely earn the next 429.
            drained = until + (self.burst - 1) * self.per_chat_interval
            self._chat_tat[chat_id] = max(self._chat_tat.get(chat_id, drained), drained)

    def _forget_idle(self, now: float) -> None:
        # Bound memory. Each deletion is exact: a full bucket, a window whose sends all lie a whole
        # period back, or an expired penalty constrain nothing from ``now`` on.
        for chat_id in [c for c, tat in self._chat_tat.items() if tat <= now]:
            del self._chat_tat[chat_id]
        for chat_id in [c for c, w in self._groups.items() if w.times[-1] + w.period <= now]:
            del self._groups[chat_id]
        for chat_id in [c for c, until in self._chat_penalty.items() if until <= now]:
            del self._chat_penalty[chat_id]
