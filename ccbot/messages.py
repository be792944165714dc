"""Messages that flow between actors, and the one-shot reply used for durable sends.

``Outbound`` is what every actor puts into the sender's outbox: a Bot API method name, its keyword
arguments, and how much it matters (durable messages are retried until Telegram accepts or rejects them;
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


class Reply:
    """A one-shot result slot: the sender resolves it once; any number of tasks may wait on it."""

    __slots__ = ("_error", "_event", "_followers", "_value")

    def __init__(self) -> None:
        self._event = trio.Event()
        self._value: Any = None
        self._error: BaseException | None = None
        self._followers: list[Reply] = []

    def forward_to(self, other: Reply) -> None:
        """Resolve/fail ``other`` with whatever this reply gets (used when a queued item is coalesced)."""
        self._followers.append(other)

    @property
    def done(self) -> bool:
        return self._event.is_set()

    def resolve(self, value: Any) -> None:
        if not self._event.is_set():
            self._value = value
            self._event.set()
            for other in self._followers:
                other.resolve(value)

    def fail(self, error: BaseException) -> None:
        if not self._event.is_set():
            self._error = error
            self._event.set()
            for other in self._followers:
                other.fail(error)

    async def wait(self) -> Any:
        """Return the value, or raise the error the sender recorded (a TelegramError subclass)."""
        await self._event.wait()
        if self._error is not None:
            raise self._error
        return self._value


@dataclass(slots=True, eq=False)
class Outbound:
    """One Bot API call to make. ``method`` is a ``BotApi`` method name such as ``"send_message"``.

    ``coalesce_key``: a queued (not yet in flight) item with the same key is replaced by the newer one, whose
    reply also resolves the replaced item's waiters. ``expires_after``: best-effort items older than this many
    seconds are dropped instead of sent.
    """

    chat_id: int
    method: str
    kwargs: Mapping[str, Any]
    priority: Priority = Priority.DURABLE
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
