"""Messages that flow between actors, and the one-shot reply used for durable sends.

``Outbound`` is what every actor puts into the sender's outbox: a Bot API method name, its keyword
arguments, which of its chat's lanes it waits in (``Lane``: the user's own replies, then answers, then
progress), and how much it matters (durable messages are retried until Telegram accepts or rejects them;
best-effort ones — typing, status edits — may be coalesced or dropped under rate limits).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import trio


class Priority(enum.IntEnum):
    DURABLE = 0
    BEST_EFFORT = 1


class Lane(enum.IntEnum):
    """Which of a chat's queues an item waits in; within a chat a lower lane always goes first, and within a
    lane items keep their order. Durability (``Priority``) is separate: it says whether an item may be
    dropped, not when it goes."""

    USER = 0  # replies to the user's own action: callback answers, /screenshot, /history, commands, dialogues
    ANSWER = 1  # what Codex says: answers, approval prompts, session notices
    PROGRESS = 2  # status/progress edits and chat actions


class Reply:
    """A one-shot result slot: the sender resolves it once; any number of tasks may wait on it."""

    __slots__ = ("_error", "_event", "_followers", "_value")

    def __init__(self) -> None:
        self._event = trio.Event()
        self._value: Any = None
        self._error: BaseException | None = None
        self._followers: list[Reply] = []

    def forward_to(self, other: Reply) -> None:
        """Resolve/fail ``other`` with whatever this reply gets (used when a queued item is coalesced), at once
        if this reply is already settled. A chain of any length (a storm of coalesced edits) settles without
        recursion."""
        if self.done:
            other._settle(self._value, self._error)
        else:
            self._followers.append(other)

    @property
    def done(self) -> bool:
        return self._event.is_set()

    def resolve(self, value: Any) -> None:
        self._settle(value, None)

    def fail(self, error: BaseException) -> None:
        self._settle(None, error)

    def _settle(self, value: Any, error: BaseException | None) -> None:
        pending = [self]
        while pending:
            reply = pending.pop()
            if reply._event.is_set():
                continue
            reply._value, reply._error = value, error
            reply._event.set()
            pending.extend(reply._followers)
            reply._followers = []

    async def wait(self) -> Any:
        """Return the value, or raise the error the sender recorded (a TelegramError subclass)."""
        await self._event.wait()
        if self._error is not None:
            raise self._error
        return self._value


@dataclass(slots=True, eq=False)
class Outbound:
    """One Bot API call to make. ``method`` is a ``BotApi`` method name such as ``"send_message"``.

    ``lane``: where it waits in its chat (see ``Lane``). ``priority``: whether it may be dropped: durable items
    are retried until Telegram accepts or rejects them; best-effort ones may expire, and fail on the first
    network or server error. Callback answers and chat actions skip the lanes and go out at once.

    Coalescing: a newer item replaces a queued (not yet in flight) one with the same key; the merged item has
    the newer payload, the more urgent lane of the two (keeping the older one's place when that is its lane)
    and is durable if either was; its reply also settles the replaced item's waiters. Edits
    (``edit_message_text`` / ``_reply_markup`` / ``_media``) are keyed by their target message automatically;
    for other methods ``coalesce_key`` names the key (same method only).
    ``expires_after``: best-effort items that waited longer than this many seconds are dropped unsent.
    """

    chat_id: int
    method: str
    kwargs: Mapping[str, Any]
    priority: Priority = Priority.DURABLE
    lane: Lane = Lane.ANSWER
    coalesce_key: str | None = None
    expires_after: float | None = None
    reply: Reply = field(default_factory=Reply)
    enqueued_at: float = 0.0
    attempts: int = 0

    @property
    def durable(self) -> bool:
        return self.priority is Priority.DURABLE


class Dropped(Exception):
    """A best-effort item was dropped (expired, or the queue was full)."""


# -- router -> window actor ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class UserText:
    """Text (typed, transcribed or a file path) to type into Codex, from message ``message_id``."""

    text: str
    message_id: int
    origin: str = "text"  # "text", "voice", "photo", "document", "command"


@dataclass(frozen=True, slots=True)
class PressKeys:
    """Named keys to press (validated against ccbot.tmux.keys), e.g. ("Escape",)."""

    keys: tuple[str, ...]
    reason: str = ""


@dataclass(frozen=True, slots=True)
class TopicRequest:
    """A topic-level request handled by the window actor: "screenshot", "history", "status"."""

    name: str
    args: str = ""


WindowCommand = UserText | PressKeys | TopicRequest
