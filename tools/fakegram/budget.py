"""Telegram's sending budget (flood control), as the fake enforces it. Pure: no trio, no clock.

Callers pass the time in seconds (the fake passes :meth:`FakeState.now`, i.e. the trio clock, so a
test under ``MockClock``/``autojump_clock`` drives it). Nothing here knows about HTTP.

**What the real server counts** (reference §2.10, the Bots FAQ; "not contractual", "undocumented
and dynamic"): messages a bot sends, **edits included**, at about 1 message/s within one chat with
short bursts allowed, at most 20 messages/minute to the same group, about 30 messages/s overall.
The budget is per bot (each token has its own). The fake therefore budgets the calls that put
content into a chat or change it, :data:`BUDGETED_METHODS`:

* sends: ``sendMessage``, ``sendPhoto``, ``sendDocument``, ``sendVoice``;
* edits ("edits count too"): ``editMessageText``, ``editMessageCaption``,
  ``editMessageReplyMarkup``, ``editMessageMedia``;
* ``sendMessageDraft``: the reference is silent; each frame is a request Telegram delivers to the
  user's client, and a fake stricter than the server is safer than a laxer one (a streaming bot
  must pace its frames anyway);
* ``copyMessage``/``forwardMessage`` would count too, but the fake does not implement them.

Not budgeted: ``getUpdates``, ``getMe``, ``getChat``, ``getFile``, ``answerCallbackQuery``,
``sendChatAction`` (an ephemeral status, not a message), ``deleteMessage`` (removes content),
the command and webhook methods, and topic management (``createForumTopic`` & co.: their service
messages are not what the FAQ numbers are about, and the real limits there are unknown).

**The model** (:class:`BudgetLimits` holds the numbers, the FAQ's by default), per bot:

* per chat (private chats *and* groups, since the FAQ says "within one chat"; the topics of a chat
  share it): a token bucket of ``chat_burst`` messages refilled at ``chat_rate`` per second, so
  over any closed span of ``d`` seconds a chat gets at most ``chat_burst + d * chat_rate``;
* per group/supergroup (every topic together): at most ``group_per_minute`` in any 60 s window;
* overall: at most ``global_per_second`` in any 1 s window, all chats together.

Windows are half-open: with ``N`` per ``P`` seconds, the ``k``-th and ``(k+N)``-th accepted
messages are at least ``P`` apart. A refused call spends nothing. Its ``retry_after`` is the
honest whole number of seconds until every limit has room, ``max(1, ceil(wait))``: retrying the
same call after exactly that long (with no other budgeted call of the bot in between) succeeds,
retrying one second sooner does not.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

BUDGETED_METHODS: frozenset[str] = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendVoice",
        "sendMessageDraft",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
        "editMessageMedia",
    }
)
"""Canonical names of the bot methods that spend the budget (see the module docstring)."""

GROUP_WINDOW = 60.0
GLOBAL_WINDOW = 1.0
EPSILON = 1e-6
"""Float slack: a slot that frees at ``t`` is free when asked at ``t`` computed another way."""

Scope = Literal["chat", "group", "global", "injected"]
"""Which limit refused a call; ``injected`` marks a 429 scripted with ``FakeTelegram.inject``."""


@dataclass(frozen=True, slots=True)
class BudgetLimits:
    """The numbers of the model, per bot; the defaults are the Bots FAQ's.

    ``chat_rate``: messages per second a chat's bucket refills; ``chat_burst``: the bucket size;
    ``group_per_minute``: messages in any 60 s window per group; ``global_per_second``: messages
    in any 1 s window over all chats. Every value must be positive (``ValueError`` otherwise).
    """

    chat_rate: float = 1.0
    chat_burst: int = 3
    group_per_minute: int = 20
    global_per_second: int = 30

    def __post_init__(self) -> None:
        if not (self.chat_rate > 0 and self.chat_burst >= 1):
            raise ValueError("chat_rate must be > 0 and chat_burst >= 1")
        if self.group_per_minute < 1 or self.global_per_second < 1:
            raise ValueError("group_per_minute and global_per_second must be >= 1")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a call may not go now: ``wait`` exact seconds, ``retry_after`` what the 429 says."""

    retry_after: int
    wait: float
    scope: Scope


@dataclass(frozen=True, slots=True)
class Throttle:
    """One 429 the fake answered: when (fake clock), to which bot, for which chat and topic."""

    time: float
    bot_id: int | None
    chat_id: int | None
    thread_id: int | None
    method: str
    retry_after: int
    scope: Scope

    def to_json(self) -> dict[str, object]:
        return {
            "time": self.time,
            "bot_id": self.bot_id,
            "chat_id": self.chat_id,
            "thread_id": self.thread_id,
            "method": self.method,
            "retry_after": self.retry_after,
            "scope": self.scope,
        }


def retry_after_for(wait: float) -> int:
    """The whole seconds a 429 announces for an exact ``wait``: at least 1, never short."""
    return max(1, math.ceil(wait - EPSILON))


@dataclass(slots=True)
class _Window:
    """At most ``limit`` accepted calls in any half-open window of ``period`` seconds."""

    limit: int
    period: float
    times: deque[float] = field(default_factory=deque)

    def wait(self, now: float) -> float:
        if len(self.times) < self.limit:
            return 0.0
        return self.times[0] + self.period - now

    def spend(self, now: float) -> None:
        self.times.append(now)
        while len(self.times) > self.limit:
            self.times.popleft()


class RateLimiter:
    """One bot's budget under ``limits``; :meth:`check` admits or refuses a budgeted call.

    The per-chat bucket is kept as GCRA (a "theoretical arrival time" per chat), which is exactly
    a token bucket of ``chat_burst`` tokens refilled at ``chat_rate``, without float drift from
    repeated refills. Times passed in must not go backwards.
    """

    def __init__(self, limits: BudgetLimits | None = None) -> None:
        self.limits = limits or BudgetLimits()
        self._interval = 1.0 / self.limits.chat_rate
        self._tolerance = (self.limits.chat_burst - 1) * self._interval
        self._chat_tat: dict[int, float] = {}
        self._groups: dict[int, _Window] = {}
        self._global = _Window(self.limits.global_per_second, GLOBAL_WINDOW)

    def wait(self, chat_id: int, is_group: bool, now: float) -> tuple[float, Scope]:
        """Seconds until a call to ``chat_id`` fits every limit (<= 0: now) and the binding limit."""
        waits: list[tuple[float, Scope]] = [(self._chat_tat.get(chat_id, now) - self._tolerance - now, "chat")]
        if is_group:
            group = self._groups.get(chat_id)
            waits.append((group.wait(now) if group else 0.0, "group"))
        waits.append((self._global.wait(now), "global"))
        return max(waits, key=lambda item: item[0])

    def check(self, chat_id: int, is_group: bool, now: float) -> Refusal | None:
        """None after spending one message of every limit; else a :class:`Refusal` (nothing spent)."""
        wait, scope = self.wait(chat_id, is_group, now)
        if wait > EPSILON:
            return Refusal(retry_after_for(wait), wait, scope)
        self._chat_tat[chat_id] = max(self._chat_tat.get(chat_id, now), now) + self._interval
        if is_group:
            self._groups.setdefault(chat_id, _Window(self.limits.group_per_minute, GROUP_WINDOW)).spend(now)
        self._global.spend(now)
        return None
