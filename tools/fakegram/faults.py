"""Fault injection and the optional flood-control model of the fake Bot API.

Pure bookkeeping (no trio): callers pass the current time in seconds.

* :class:`FaultPlan` holds scripted faults: "the next N calls of method M fail like K".
* :class:`RateLimiter` models the Bots FAQ numbers with token buckets: about 1 message/s per chat
  (small burst allowed), 20 messages/minute per group, 30 messages/s overall. ``check`` answers the
  ``retry_after`` seconds a 429 would carry, or 0 when the message may go.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, get_args

FaultKind = Literal["429", "500", "slow", "drop", "drop_after", "409", "400"]
FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))


@dataclass(slots=True)
class Fault:
    """``method`` is a lowercased method name or ``"*"``; ``remaining`` counts down to 0.

    Kinds: ``429`` (Too Many Requests with ``retry_after``), ``500``, ``409`` (poll conflict text),
    ``slow`` (wait ``delay`` seconds, then handle normally), ``drop`` (close the connection without
    handling the request), ``drop_after`` (handle it, then close without answering), ``400`` (a Bad
    Request with ``description``, e.g. the parser's "can't parse entities"). ``bot_id``
    limits the fault to one bot's calls (None: any bot's).
    """

    method: str
    kind: FaultKind
    remaining: int
    retry_after: int = 1
    delay: float = 1.0
    bot_id: int | None = None
    description: str = "Bad Request: can't parse entities: Unsupported start tag \"x\" at byte offset 0"

    def matches(self, method: str, bot_id: int | None = None) -> bool:
        return (
            self.remaining > 0
            and (self.method == "*" or self.method == method.lower())
            and (self.bot_id is None or self.bot_id == bot_id)
        )


@dataclass(slots=True)
class FaultPlan:
    faults: list[Fault] = field(default_factory=list)

    def add(self, fault: Fault) -> None:
        if fault.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {fault.kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if fault.remaining < 1:
            raise ValueError("count must be >= 1")
        self.faults.append(fault)

    def take(self, method: str, bot_id: int | None = None) -> Fault | None:
        """Consume one use of the first fault matching ``method`` called by ``bot_id`` (injection order)."""
        for fault in self.faults:
            if fault.matches(method, bot_id):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self.faults.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self.faults.clear()


@dataclass(slots=True)
class TokenBucket:
    capacity: float
    rate: float  # tokens per second
    tokens: float
    last: float

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now

    def wait_for_one(self) -> float:
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate


@dataclass(slots=True)
class RateLimiter:
    """Per-chat, per-group and global buckets; a message must find a token in each."""

    per_chat_rate: float = 1.0
    per_chat_burst: float = 3.0
    per_group_per_minute: float = 20.0
    global_per_second: float = 30.0
    chats: dict[int, TokenBucket] = field(default_factory=dict)
    groups: dict[int, TokenBucket] = field(default_factory=dict)
    overall: TokenBucket | None = None

    def check(self, chat_id: int, is_group: bool, now: float) -> int:
        """0 and consume tokens when allowed; else the whole seconds to wait (nothing consumed)."""
        buckets = [self._chat(chat_id, now), self._global(now)]
        if is_group:
            buckets.append(self._group(chat_id, now))
        for bucket in buckets:
            bucket.refill(now)
        wait = max(bucket.wait_for_one() for bucket in buckets)
        if wait > 0:
            return max(1, math.ceil(wait))
        for bucket in buckets:
            bucket.tokens -= 1.0
        return 0

    def _chat(self, chat_id: int, now: float) -> TokenBucket:
        if chat_id not in self.chats:
            self.chats[chat_id] = TokenBucket(
                self.per_chat_burst, self.per_chat_rate, self.per_chat_burst, now
            )
        return self.chats[chat_id]

    def _group(self, chat_id: int, now: float) -> TokenBucket:
        if chat_id not in self.groups:
            cap = self.per_group_per_minute
            self.groups[chat_id] = TokenBucket(cap, cap / 60.0, cap, now)
        return self.groups[chat_id]

    def _global(self, now: float) -> TokenBucket:
        if self.overall is None:
            cap = self.global_per_second
            self.overall = TokenBucket(cap, cap, cap, now)
        return self.overall
