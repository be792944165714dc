"""Restart policy and the ``supervise`` loop used by every long-lived actor.

``supervise(name, actor, policy)`` runs ``actor`` until it returns (and the policy says not to restart) or
until the restart budget is spent, in which case :class:`GaveUp` escalates to the parent nursery.
Cancellation is never a crash: it propagates untouched.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
import trio

log = structlog.get_logger("ccbot.supervisor")


class Restart(enum.Enum):
    """OTP-style restart kinds."""

    PERMANENT = "permanent"  # always restart
    TRANSIENT = "transient"  # restart only after a crash
    TEMPORARY = "temporary"  # never restart


class GaveUp(Exception):
    """Raised when an actor crashed more often than its policy allows within the window."""

    def __init__(self, name: str, crashes: int) -> None:
        super().__init__(f"actor {name!r} crashed {crashes} times; giving up")
        self.name = name
        self.crashes = crashes


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """How ``supervise`` restarts an actor: when (``restart``), the exponential backoff between runs (reset after a
    run of ``healthy_after`` s), and the budget (more than ``max_restarts`` exits within ``window`` s: GaveUp).
    """

    restart: Restart = Restart.PERMANENT
    initial_backoff: float = 1.0
    max_backoff: float = 60.0
    factor: float = 2.0
    healthy_after: float = 30.0
    max_restarts: float = math.inf
    window: float = 300.0

    def next_backoff(self, current: float) -> float:
        """The delay after ``current``: multiplied by ``factor``, capped at ``max_backoff``."""
        return min(current * self.factor, self.max_backoff)


class CrashLedger:
    """Pure bookkeeping of crash times and backoff for one supervised actor."""

    def __init__(self, policy: RestartPolicy) -> None:
        self.policy = policy
        self.backoff = policy.initial_backoff
        self.crashes: list[float] = []

    def record(self, started: float, now: float) -> float:
        """Record an exit at ``now`` of a run that began at ``started``; return the delay before restarting.

        Raises GaveUp once more than ``max_restarts`` exits fall within ``window`` seconds.
        """
        if now - started >= self.policy.healthy_after:
            self.backoff = self.policy.initial_backoff
        self.crashes = [t for t in self.crashes if now - t < self.policy.window] + [now]
        if len(self.crashes) > self.policy.max_restarts:
            raise GaveUp("?", len(self.crashes))
        delay = self.backoff
        self.backoff = self.policy.next_backoff(self.backoff)
        return delay


async def supervise(
    name: str,
    actor: Callable[..., Awaitable[Any]],
    policy: RestartPolicy = RestartPolicy(),
    *,
    task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run ``actor(task_status=...)`` under ``policy``.

    The first incarnation receives our ``task_status`` so ``nursery.start(supervise, ...)`` waits for the
    actor's readiness; a failure before ``started()`` on that first run propagates (bad configuration must
    fail start-up). Later incarnations get ``TASK_STATUS_IGNORED``.
    """
    ledger = CrashLedger(policy)
    first = True
    while True:
        started = trio.current_time()
        status = _ReadyStatus(task_status if first else trio.TASK_STATUS_IGNORED)
        try:
            await actor(task_status=status)
        except Exception as exc:  # ExceptionGroup included; Cancelled and KeyboardInterrupt are BaseException
            if first and not status.ready and task_status is not trio.TASK_STATUS_IGNORED:
                raise
            crashed = True
            log.error("actor crashed", actor=name, error=f"{type(exc).__name__}: {exc}", exc_info=exc)
        else:
            crashed = False
            log.info("actor exited", actor=name)
        first = False
        if policy.restart is Restart.TEMPORARY or (policy.restart is Restart.TRANSIENT and not crashed):
            return
        try:
            delay = ledger.record(started, trio.current_time())
        except GaveUp as exc:
            raise GaveUp(name, exc.crashes) from None
        log.info("actor restarting", actor=name, delay=delay)
        await trio.sleep(delay)


class _ReadyStatus:
    """Forwards ``started()`` to the real task status and remembers that it happened."""

    def __init__(self, inner: trio.TaskStatus[Any]) -> None:
        self.inner = inner
        self.ready = False

    def started(self, value: Any = None) -> None:
        self.ready = True
        self.inner.started(value)
