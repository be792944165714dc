"""The single outbound sender: every Bot API call the bot makes (besides getUpdates) goes through here.

In: ``Outbound`` items from the ``outbox`` channel. Out: Bot API calls, paced per chat (≈1/s), per group
(≤20/min) and overall (≤30/s) by ``ccbot.telegram.pacing.Pacer`` (a chat's calls counted from their
responses, so arrival jitter never puts two closer than Telegram allows); each item's ``Reply`` is resolved with the
method's result or failed with the final ``TelegramError``.

Rules:
- At most one call in flight per chat, so a chat's messages arrive in the order they are sent; at most
  ``max_inflight`` chats in flight. Chats take turns for those slots (a chat back from idle first, then the
  one served longest ago), so no chat's backlog, pacing or rate limit holds up another chat.
- Within a chat, items wait in lanes (``Lane``): a lower lane always goes first; each lane is FIFO. In a
  group, only ``Lane.USER`` items may spend the last ``USER_RESERVE`` messages of its minute.
- Coalescing: a newer edit of a message replaces a queued (not in flight) edit of the same message: latest
  payload, the older one's place, both waiters settled by the one call. ``coalesce_key`` does the same for
  other items of one method. An edit merges only with edits of its own message, and its message id exists
  only once the send that made it succeeded, so no edit ever goes before that send.
- Durable items are never dropped. Best-effort items expire (``expires_after``) and fail on the first
  network or server error.
- ``RetryAfter``: that chat waits ``retry_after``, then the same item is retried from the head of its lane
  (after any more urgent lane's items); other chats are untouched. Network and 5xx errors: durable items
  are retried with backoff, the same way.
- Callback answers and chat actions (``UNPACED_METHODS``) go out at once, whatever their chat's queue,
  pacing, in-flight call or penalty; their retries wait in their own task and never touch the chat.
- "message is not modified" counts as success.
- Queues live on the ``Sender`` object, not in ``run``: a supervised restart resumes them.
- ``drafts_refused``: the chats where Telegram rejected a ``sendMessageDraft`` (not a 429, network or server
  error). The sender is its only writer; window actors read it and stream there by edits from then on.
- ``calls`` / ``rate_limited`` / ``coalesced`` count, per (chat id, method), the calls made, the 429s seen
  and the items merged into a queued one (for benchmarks and diagnostics).
"""

from __future__ import annotations

import collections
import dataclasses
import math
from collections.abc import Callable, Hashable
from typing import Any

import structlog
import trio

from ccbot.messages import Dropped, Lane, Outbound, Priority
from ccbot.telegram.errors import MessageNotModified, NetworkError, RetryAfter, ServerError, TelegramError
from ccbot.telegram.pacing import Pacer

log = structlog.get_logger("ccbot.sender")

# Of a group's 20 messages a minute, this many are kept for replies to the user's own actions (Lane.USER):
# topics conversing at full speed cannot make a /screenshot wait for the next minute.
USER_RESERVE = 3
MAX_TRANSIENT_BACKOFF = 30.0
# Callback answers expire after ~15 s and chat actions are best-effort hints: neither is a message, so
# neither spends a chat's or group's message budget, nor waits for one.
UNPACED_METHODS = frozenset({"answer_callback_query", "send_chat_action"})
EDIT_TEXT = "edit_message_text"
EDIT_MARKUP = "edit_message_reply_markup"
EDIT_MEDIA = "edit_message_media"
EDIT_METHODS = frozenset({EDIT_TEXT, EDIT_MARKUP, EDIT_MEDIA})
DRAFT = "send_message_draft"
# These set a message's whole content, inline keyboard included: one without ``reply_markup`` removes it.
_FULL_EDITS = frozenset({EDIT_TEXT, EDIT_MEDIA})

CallKey = tuple[int, str]  # (chat id, method)


def coalesce_key_of(item: Outbound) -> Hashable | None:
    """The key under which ``item`` replaces a queued item of its chat, or None if it never coalesces.

    An edit's key is its target message (``coalesce_key`` is ignored: an edit may only ever merge with
    edits of the same message); another item's is its method plus ``coalesce_key``.
    """
    if item.method in EDIT_METHODS:
        message_id = item.kwargs.get("message_id")
        if message_id is None:
            return None
        return ("edit", item.kwargs.get("chat_id", item.chat_id), message_id)
    if item.coalesce_key is not None:
        return ("key", item.method, item.coalesce_key)
    return None


def merge(older: Outbound, newer: Outbound) -> Outbound | None:
    """One item that leaves the message as ``older`` then ``newer`` would, carrying ``newer``'s reply; None
    when no single call can.

    Same method: ``newer``'s payload. A text or media edit after a keyboard edit: ``newer`` (it sets the
    keyboard too). A keyboard edit after a text or media edit: ``older`` with ``newer``'s keyboard. A text
    and a media edit of one message cannot both succeed, so they are never merged. The result waits in the
    more urgent lane of the two, is durable if either was, and expires only if it is best-effort.
    """
    if older.method == newer.method or (older.method == EDIT_MARKUP and newer.method in _FULL_EDITS):
        method, kwargs = newer.method, newer.kwargs
    elif newer.method == EDIT_MARKUP and older.method in _FULL_EDITS:
        method, kwargs = older.method, {**older.kwargs, "reply_markup": newer.kwargs.get("reply_markup")}
    else:
        return None
    durable = older.durable or newer.durable
    return dataclasses.replace(
        newer,
        method=method,
        kwargs=kwargs,
        lane=min(older.lane, newer.lane),
        priority=Priority.DURABLE if durable else Priority.BEST_EFFORT,
        expires_after=None if durable else newer.expires_after,
    )


class ChatQueue:
    """One chat's waiting items: a FIFO per lane, and which queued item holds each coalescing key.

    ``turn``: when the chat last got a call started (the sender's turn counter; -1: not since it was idle).
    """

    __slots__ = ("keyed", "lanes", "turn")

    def __init__(self) -> None:
        self.lanes: tuple[collections.deque[Outbound], ...] = tuple(collections.deque() for _ in Lane)
        self.keyed: dict[Hashable, Outbound] = {}
        self.turn = -1

    def __len__(self) -> int:
        return sum(len(lane) for lane in self.lanes)

    def add(self, item: Outbound, *, front: bool = False) -> bool:
        """Queue ``item`` at the back of its lane, or (``front``: a retry of the item just taken) at the head.

        If an item with the same key is queued, the two become one (see ``merge``) and True is returned. The
        merged item takes the older one's place if that is in the merged lane, else the newer one's: a new
        item's place is the back of its lane, a retried one is older than anything queued.
        """
        key = coalesce_key_of(item)
        queued = self.keyed.get(key) if key is not None else None
        if queued is not None:
            older, newer = (item, queued) if front else (queued, item)
            merged = merge(older, newer)
            if merged is not None:
                in_older_lane = merged.lane == older.lane
                lane = self.lanes[queued.lane]
                if in_older_lane if older is queued else not in_older_lane:
                    lane[lane.index(queued)] = merged
                else:
                    lane.remove(queued)
                    self._place(merged, front=front)
                merged.reply.forward_to(older.reply)
                self.keyed[key] = merged
                return True
        self._place(item, front=front)
        if key is not None and (queued is None or not front):
            self.keyed[key] = item
        return False

    def head(self) -> Outbound | None:
        """The item to send next: the oldest of the most urgent non-empty lane."""
        return next((lane[0] for lane in self.lanes if lane), None)

    def pop(self) -> Outbound:
        """Remove and return ``head()``; the queue must not be empty."""
        item = next(lane for lane in self.lanes if lane).popleft()
        self._unindex(item)
        return item

    def drop_expired(self, now: float) -> list[Outbound]:
        """Remove and return the best-effort items that waited longer than their ``expires_after``."""
        dropped: list[Outbound] = []
        for lane in self.lanes:
            for item in [i for i in lane if _expired(i, now)]:
                lane.remove(item)
                self._unindex(item)
                dropped.append(item)
        return dropped

    def _place(self, item: Outbound, *, front: bool) -> None:
        lane = self.lanes[item.lane]
        if front:
            lane.appendleft(item)
        else:
            lane.append(item)

    def _unindex(self, item: Outbound) -> None:
        key = coalesce_key_of(item)
        if key is not None and self.keyed.get(key) is item:
            del self.keyed[key]


def _expired(item: Outbound, now: float) -> bool:
    return (
        item.priority is Priority.BEST_EFFORT
        and item.expires_after is not None
        and now - item.enqueued_at > item.expires_after
    )


class Sender:
    """The outbound actor: ``enqueue`` items (or feed ``run``'s outbox), and each one's reply settles once.

    ``max_inflight`` bounds the chats with a call in flight; unpaced calls do not count against it.
    """

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
        # A chat's queue exists while it has items or a call in flight; an idle chat's is dropped, so it
        # comes back with turn -1, ahead of the chats being served.
        self.queues: dict[int, ChatQueue] = {}
        self._turns = 0
        self.busy: set[int] = set()
        self.immediate: collections.deque[Outbound] = collections.deque()
        self.unpaced_inflight = 0
        self.sent = 0
        self.calls: collections.Counter[CallKey] = collections.Counter()
        self.rate_limited: collections.Counter[CallKey] = collections.Counter()
        self.coalesced: collections.Counter[CallKey] = collections.Counter()
        self.drafts_refused: set[int] = set()
        self._wake = trio.Event()

    # -- queueing -------------------------------------------------------------------------------------
    def enqueue(self, item: Outbound) -> None:
        """Queue ``item`` in its chat's lane, coalescing it with a queued item of the same key (see
        ``ChatQueue.add``). Unpaced methods (``UNPACED_METHODS``) skip the queues and go out at once."""
        item.enqueued_at = self.clock()
        if item.method in UNPACED_METHODS:
            self.immediate.append(item)
        elif self.queues.setdefault(item.chat_id, ChatQueue()).add(item):
            self.coalesced[(item.chat_id, item.method)] += 1
        self._poke()

    def pending(self) -> int:
        """Items not yet settled: queued, in flight, or waiting to retry."""
        queued = sum(len(q) for q in self.queues.values())
        return queued + len(self.busy) + len(self.immediate) + self.unpaced_inflight

    def _poke(self) -> None:
        self._wake.set()

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
                self.unpaced_inflight += 1
                nursery.start_soon(self._deliver_unpaced, self.immediate.popleft())
            soonest = self._start_ready(nursery, self.clock())
            self._wake = trio.Event()
            with trio.move_on_at(soonest):
                await self._wake.wait()

    def _start_ready(self, nursery: trio.Nursery, now: float) -> float:
        """Start a call for every chat without one in flight whose head item the pacer allows now, while
        slots last; return when the earliest paced-out chat becomes ready (inf: none).

        Chats are taken in turn order: chats back from idle first (in arrival order), then the one served
        longest ago. So when slots are short, a chat with a backlog takes its turn behind every other ready
        chat instead of taking the slot again, and a light chat never waits behind heavy ones.
        """
        soonest = math.inf
        for chat_id in sorted(self.queues, key=lambda c: self.queues[c].turn):
            if len(self.busy) >= self.max_inflight:
                break  # a finishing call pokes us; the chats not reached keep their turn
            if chat_id in self.busy:
                continue
            queue = self.queues[chat_id]
            for item in queue.drop_expired(now):
                item.reply.fail(Dropped("expired"))
            head = queue.head()
            if head is None:
                del self.queues[chat_id]
                continue
            ready = self.pacer.ready_at(chat_id, now, reserved=0 if head.lane is Lane.USER else USER_RESERVE)
            if ready > now:
                soonest = min(soonest, ready)
                continue
            item = queue.pop()
            self._turns += 1
            queue.turn = self._turns
            self.busy.add(chat_id)
            self.pacer.dispatched(now)
            nursery.start_soon(self._deliver, item)
        return soonest

    async def _deliver(self, item: Outbound) -> None:
        """Make one paced call; to retry, the chat is held off until then and the item goes back to the head
        of its lane (merging with a newer edit of the same message queued meanwhile)."""
        try:
            try:
                retry_at = await self._attempt(item)
            finally:
                # counted from its response, which Telegram's count of its arrival never follows (see Pacer)
                self.pacer.answered(item.chat_id, self.clock())
            if retry_at is not None:
                self.pacer.penalize(item.chat_id, retry_at)
                if self.queues.setdefault(item.chat_id, ChatQueue()).add(item, front=True):
                    self.coalesced[(item.chat_id, item.method)] += 1
        finally:
            self.busy.discard(item.chat_id)
            self._poke()

    async def _deliver_unpaced(self, item: Outbound) -> None:
        """Make an unpaced call now; its retries wait in this task and never touch its chat's state."""
        try:
            retry_at = await self._attempt(item)
            while retry_at is not None:
                await trio.sleep_until(retry_at)
                retry_at = await self._attempt(item)
        finally:
            self.unpaced_inflight -= 1

    async def _attempt(self, item: Outbound) -> float | None:
        """Make ``item``'s call once and settle its reply, or leave the reply open and return when to retry."""
        item.attempts += 1
        self.calls[(item.chat_id, item.method)] += 1
        try:
            result = await getattr(self.api, item.method)(**item.kwargs)
        except MessageNotModified:
            item.reply.resolve(None)
        except RetryAfter as exc:
            self.rate_limited[(item.chat_id, item.method)] += 1
            log.warning("telegram rate limit", chat=item.chat_id, method=item.method, retry_after=exc.retry_after)
            if item.method in UNPACED_METHODS and not item.durable:
                item.reply.fail(exc)  # a stale hint is worth nothing after the wait
                return None
            return self.clock() + exc.retry_after
        except (NetworkError, ServerError) as exc:
            if not item.durable:
                item.reply.fail(exc)
                return None
            delay = min(2.0 ** min(item.attempts, 6) / 4, MAX_TRANSIENT_BACKOFF)
            log.warning("telegram call failed; will retry", chat=item.chat_id, method=item.method,
                        error=str(exc), retry_in=delay)
            return self.clock() + delay
        except TelegramError as exc:
            log.warning("telegram call rejected", chat=item.chat_id, method=item.method, error=exc.description)
            if item.method == DRAFT:
                self.drafts_refused.add(item.chat_id)
            item.reply.fail(exc)
        except Exception as exc:  # a bug in an argument must not kill the sender for everyone
            log.error("telegram call raised", chat=item.chat_id, method=item.method, exc_info=exc)
            item.reply.fail(exc)
        else:
            self.sent += 1
            item.reply.resolve(result)
        return None


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
