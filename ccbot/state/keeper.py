"""Async access to the state file for actors: one in-memory ``State``, saves serialized off the trio thread.

``save()`` never raises: a failed write (read-only ``$CCBOT_DIR``, full disk) is logged once per distinct
error and the in-memory state stays authoritative, so the bot keeps working and retries on the next save.
"""

from __future__ import annotations

import structlog
import trio

from ccbot.state.model import State
from ccbot.state.store import StateError, StateStore

log = structlog.get_logger("ccbot.state")


class StateKeeper:
    """Owner of the one in-memory ``State`` every actor shares, and the only caller of ``StateStore.save`` while
    the bot runs: saves are serialized (one at a time, in a worker thread) and never raise.
    """

    def __init__(self, store: StateStore, state: State) -> None:
        self.store = store
        self.state = state
        self.saves = 0
        self._lock = trio.Lock()
        self._limiter = trio.CapacityLimiter(1)
        self._last_error: str | None = None

    async def save(self) -> bool:
        """Write the current state. Returns False (after logging) when the write failed."""
        async with self._lock:
            try:
                snapshot = self.state.to_json()
                await trio.to_thread.run_sync(self._write, snapshot, limiter=self._limiter)
            except (StateError, TypeError, ValueError) as exc:  # TypeError/ValueError: a bug in the state
                if str(exc) != self._last_error:
                    log.error("state not saved", error=str(exc))
                    self._last_error = str(exc)
                return False
            if self._last_error is not None:
                log.info("state saved again")
                self._last_error = None
            self.saves += 1
            return True

    def _write(self, snapshot: dict[str, object]) -> None:
        self.store.save(State.from_json(snapshot))

    async def flush(self) -> None:
        """Final save at shutdown, fsynced. Shielded by the caller."""
        if await self.save():
            await trio.to_thread.run_sync(self.store.fsync, limiter=self._limiter)
