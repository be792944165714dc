"""The Telegram long-polling actor.

Out: every ``Update`` from getUpdates, in order, into ``updates_send``. The offset it asks for starts at the
persisted ``State.telegram_offset`` (which the router advances only after it handled an update), so a restart
neither replays handled updates nor skips unhandled ones.

Errors: ``Conflict`` (409, another poller for this token) is logged and backed off for long — never spun
on; network and 5xx errors back off exponentially (reset on success); ``RetryAfter`` waits as told;
``Unauthorized`` escalates (the token is wrong, restarting cannot help).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog
import trio

from ccbot.state.keeper import StateKeeper
from ccbot.telegram.errors import Conflict, NetworkError, RetryAfter, ServerError, TelegramError, Unauthorized
from ccbot.telegram.types import Update

log = structlog.get_logger("ccbot.poller")

ALLOWED_UPDATES: Sequence[str] = ("message", "edited_message", "callback_query")
CONFLICT_BACKOFF = (5.0, 60.0)
ERROR_BACKOFF = (1.0, 30.0)
MIN_POLL_INTERVAL = 0.2  # a server that ignores `timeout` must not turn us into a busy loop


async def run_poller(
    api: Any,
    keeper: StateKeeper,
    updates_send: trio.MemorySendChannel[Update],
    *,
    poll_timeout: int = 50,
    on_round_trip: Callable[[], Awaitable[None]] | None = None,
    task_status: Any = trio.TASK_STATUS_IGNORED,
) -> None:
    """Long-poll forever. ``updates_send`` is this incarnation's clone; it is closed on exit.

    ``on_round_trip`` runs after every getUpdates that came back (with updates, empty, or an error answer):
    the systemd watchdog's heartbeat, so a poll that hangs beyond ``WatchdogSec`` restarts the service.
    """
    offset = keeper.state.telegram_offset
    conflict_delay, error_delay = CONFLICT_BACKOFF[0], ERROR_BACKOFF[0]
    async with updates_send:
        task_status.started()
        while True:
            started = trio.current_time()
            if on_round_trip is not None:
                await on_round_trip()
            try:
                updates = await api.get_updates(offset or None, poll_timeout, ALLOWED_UPDATES)
            except Conflict as exc:
                log.error("another bot instance is polling this token; backing off",
                          error=exc.description, retry_in=conflict_delay)
                await trio.sleep(conflict_delay)
                conflict_delay = min(conflict_delay * 2, CONFLICT_BACKOFF[1])
                continue
            except RetryAfter as exc:
                await trio.sleep(exc.retry_after)
                continue
            except Unauthorized:
                raise
            except (NetworkError, ServerError, TelegramError) as exc:
                log.warning("getUpdates failed", error=str(exc), retry_in=error_delay)
                await trio.sleep(error_delay)
                error_delay = min(error_delay * 2, ERROR_BACKOFF[1])
                continue
            conflict_delay, error_delay = CONFLICT_BACKOFF[0], ERROR_BACKOFF[0]
            for update in updates:
                if update.update_id < offset:
                    continue
                await updates_send.send(update)
                offset = update.update_id + 1
            if not updates:
                await trio.sleep_until(started + MIN_POLL_INTERVAL)
