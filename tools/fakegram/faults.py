"""Fault injection of the fake Bot API: "the next N calls of method M fail like K".

Pure bookkeeping (no trio). Telegram's sending budget (flood control) lives in ``budget.py``; a
scripted 429 is taken before the budget is looked at and spends none of it.
"""

from __future__ import annotations

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
    limits the fault to one bot's calls (None: any bot's), ``chat_id`` to calls whose ``chat_id``
    parameter is that chat (None: any call).
    """

    method: str
    kind: FaultKind
    remaining: int
    retry_after: int = 1
    delay: float = 1.0
    bot_id: int | None = None
    chat_id: int | None = None
    description: str = "Bad Request: can't parse entities: Unsupported start tag \"x\" at byte offset 0"

    def matches(self, method: str, bot_id: int | None = None, chat_id: int | None = None) -> bool:
        return (
            self.remaining > 0
            and (self.method == "*" or self.method == method.lower())
            and (self.bot_id is None or self.bot_id == bot_id)
            and (self.chat_id is None or self.chat_id == chat_id)
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

    def take(self, method: str, bot_id: int | None = None, chat_id: int | None = None) -> Fault | None:
        """Consume one use of the first fault matching ``method`` called by ``bot_id`` for ``chat_id``
        (injection order)."""
        for fault in self.faults:
            if fault.matches(method, bot_id, chat_id):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self.faults.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self.faults.clear()
