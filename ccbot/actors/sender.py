"""The single outbound sender: every Bot API call the bot makes (besides getUpdates) goes through here.

In: ``Outbound`` items from the ``outbox`` channel. Out: Bot API calls, paced per chat (≈1/s), per group
(≤20/min) and overall (≤30/s) by ``ccbot.telegram.pacing.Pacer``; each item's ``Reply`` is resolved with the
method's result or failed with the final ``TelegramError``.

Rules:
- At most one call in flight per chat, so a chat's messages arrive in the order they were queued.
- Durable items go before best-effort ones of the same chat; best-effort items coalesce by key and expire.
- ``RetryAfter``: the chat (or everything, for a global flood) waits ``retry_after`` and the same item is
  retried — nothing durable is dropped. Network and 5xx errors are retried with backoff (durable only).
- "message is not modified" counts as success.
- Queues live on the ``Sender`` object, not in ``run``: a supervised restart resumes them.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Callable
from typing import Any

import structlog
import trio

from ccbot.messages import Dropped, Outbound, Priority
from ccbot.telegram.errors import MessageNotModified, NetworkError, RetryAfter, ServerError, TelegramError
from ccbot.telegram.pacing import Pacer

log = structlog.get_logger("ccbot.sender")

MAX_TRANSIENT_BACKOFF = 30.0
# Callback answers expire after ~15 s and chat actions are best-effort hints: neither is a message, so
# neither spends a chat's or group's message budget.
UNPACED_METHODS = frozenset({"answer_callback_query", "send_chat_action"})


class Sender:
    def __init__(
        self,
        api: Any,
        *,
        pacer: Pacer | None = None,
        max_inflight: int = 8,
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        self.api = api
        self.pacer = pacer or Pacer()
        self.max_inflight = max_inflight
        self.clock = clock
        self.queues: dict[int, collections.deque[Outbound]] = {}
        self.busy: set[int] = set()
        self.immediate: list[Outbound] = []
        self.sent = 0
        self._wake = trio.Event()

    # -- queueing -------------------------------------------------------------------------------------
    def enqueue(self, item: Outbound) -> None:
        """Add ``item`` to its chat's queue, replacing a queued item with the same coalesce key.

        Unpaced methods (``UNPACED_METHODS``) skip the queues and go out at once.
        """
        item.enqueued_at = self.clock()
        if item.method in UNPACED_METHODS:
            self.immediate.append(item)
            self._poke()
            return
        queue = self.queues.setdefault(item.chat_id, collections.deque())
        if item.coalesce_key is not None:
            for index, queued in enumerate(queue):
                if queued.coalesce_key == item.coalesce_key:
                    queue[index] = item
                    item.reply.forward_to(queued.reply)
                    self._poke()
                    return
        queue.append(item)
        self._poke()

    def pending(self) -> int:
        return sum(len(q) for q in self.queues.values()) + len(self.busy) + len(self.immediate)

    def _poke(self) -> None:
        self._wake.set()

    def _next_for_chat(self, chat_id: int, now: float) -> Outbound | None:
        """Pop expired best-effort items and return (without removing) the item to send next, if any."""
        queue = self.queues.get(chat_id)
        if not queue:
            return None
        for item in list(queue):
            if item.expires_after is not None and now - item.enqueued_at > item.expires_after:
                queue.remove(item)
                item.reply.fail(Dropped("expired"))
        durable = next((i for i in queue if i.priority is Priority.DURABLE), None)
        return durable or (queue[0] if queue else None)

    # -- running --------------------------------------------------------------------------------------
    async def run(
        self, outbox_recv: trio.MemoryReceiveChannel[Outbound], *, task_status: Any = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Consume the outbox and dispatch until cancelled. ``outbox_recv`` is this incarnation's clone."""
        async with outbox_recv, trio.open_nursery() as nursery:
            nursery.start_soon(self._intake, outbox_recv)
            task_status.started()
            await self._dispatch(nursery)

    async def _intake(self, outbox_recv: trio.MemoryReceiveChannel[Outbound]) -> None:
        async for item in outbox_recv:
            self.enqueue(item)

    async def _dispatch(self, nursery: trio.Nursery) -> None:
        while True:
            while self.immediate:
                nursery.start_soon(self._deliver, self.immediate.pop(0), False)
            now = self.clock()
            soonest = math.inf
            for chat_id in list(self.queues):
                if chat_id in self.busy:
                    continue
                if len(self.busy) >= self.max_inflight:
                    break
                item = self._next_for_chat(chat_id, now)
                if item is None:
                    if not self.queues.get(chat_id):
                        self.queues.pop(chat_id, None)
                    continue
                ready = self.pacer.ready_at(chat_id, now)
                if ready <= now:
                    self.queues[chat_id].remove(item)
                    self.busy.add(chat_id)
                    self.pacer.record(chat_id, now)
                    nursery.start_soon(self._deliver, item)
                else:
                    soonest = min(soonest, ready)
            self._wake = trio.Event()
            with trio.move_on_at(soonest):
                await self._wake.wait()

    async def _deliver(self, item: Outbound, paced: bool = True) -> None:
        """Make one call; on a retryable failure put the item back at the head of its chat's queue."""
        item.attempts += 1
        try:
            result = await getattr(self.api, item.method)(**item.kwargs)
        except MessageNotModified:
            item.reply.resolve(None)
        except RetryAfter as exc:
            until = self.clock() + exc.retry_after
            self.pacer.penalize(item.chat_id, until)
            log.warning("telegram rate limit", chat=item.chat_id, method=item.method, retry_after=exc.retry_after)
            self._requeue(item)
        except (NetworkError, ServerError) as exc:
            if item.priority is Priority.BEST_EFFORT:
                item.reply.fail(exc)
            else:
                delay = min(2.0 ** min(item.attempts, 6) / 4, MAX_TRANSIENT_BACKOFF)
                log.warning("telegram call failed; will retry", chat=item.chat_id, method=item.method,
                            error=str(exc), retry_in=delay)
                self.pacer.penalize(item.chat_id, self.clock() + delay)
                self._requeue(item)
        except TelegramError as exc:
            log.warning("telegram call rejected", chat=item.chat_id, method=item.method, error=exc.description)
            item.reply.fail(exc)
        except Exception as exc:  # a bug in an argument must not kill the sender for everyone
            log.error("telegram call raised", chat=item.chat_id, method=item.method, exc_info=exc)
            item.reply.fail(exc)
        else:
            self.sent += 1
            item.reply.resolve(result)
        finally:
            if paced:
                self.busy.discard(item.chat_id)
            self._poke()

    def _requeue(self, item: Outbound) -> None:
        self.queues.setdefault(item.chat_id, collections.deque()).appendleft(item)


async def call(outbox: trio.MemorySendChannel[Outbound], item: Outbound) -> Any:
    """Queue ``item`` and wait for its outcome (the API result, or the TelegramError raised)."""
    await outbox.send(item)
    return await item.reply.wait()


def post(outbox: trio.MemorySendChannel[Outbound], item: Outbound) -> None:
    """Queue a best-effort item without waiting; dropped (reply failed) if the outbox is full."""
    try:
        outbox.send_nowait(item)
    except trio.WouldBlock:
        item.reply.fail(Dropped("outbox full"))
