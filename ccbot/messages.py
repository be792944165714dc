"""Messages that flow between actors, and the one-shot reply used for durable sends.

``Outbound`` is what every actor puts into the sender's outbox: a Bot API method name, its keyword
arguments, which of its chat's lanes it waits in (``Lane``: the user's own replies, then answers, then
progress), and how much it matters (durable messages are retried until Telegram accepts or rejects them;
best-effort ones — typing, status edits — may be coalesced or dropped under rate limits).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import trio

if TYPE_CHECKING:
    from ccbot.screen.parse import ScreenModel

T = TypeVar("T")


class Priority(enum.IntEnum):
    """Whether an ``Outbound`` may be dropped: DURABLE items are retried until Telegram accepts or rejects them;
    BEST_EFFORT ones may expire, be dropped, and fail on the first network or server error."""

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
        """Whether the reply is settled (resolved or failed)."""
        return self._event.is_set()

    def resolve(self, value: Any) -> None:
        """Settle with ``value`` (and every forwarded reply); ignored when already settled."""
        self._settle(value, None)

    def fail(self, error: BaseException) -> None:
        """Settle with ``error``, raised to every waiter (and forwarded reply); ignored when already settled."""
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
        """Whether the item is durable (``Priority.DURABLE``): retried, never dropped."""
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
class FeatureRequest:
    """Base of a feature's typed request to a window actor (e.g. /screenshot, /history, /status, a media
    job); the actor runs the handler the feature registered for the request's type, in inbox order."""


class OneShot(Generic[T]):
    """One answer from the task that executes a command to the task that asked: ``set`` once (later calls
    are ignored), ``wait`` any number of times. The asker bounds its wait; the executor never waits."""

    __slots__ = ("_event", "_value")

    def __init__(self) -> None:
        self._event = trio.Event()
        self._value: T | None = None

    def set(self, value: T) -> None:
        """Record ``value`` and wake the waiters; a no-op after the first call. Never waits."""
        if not self._event.is_set():
            self._value = value
            self._event.set()

    async def wait(self) -> T:
        """Wait for the value set by the executor (unbounded: the caller puts its own timeout around it)."""
        await self._event.wait()
        return self._value  # type: ignore[return-value]  # set before the event: a T


@dataclass(frozen=True, slots=True)
class Pressed:
    """The pane showed what the asker expected and ``keys`` were pressed."""

    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NotPressed:
    """Nothing was pressed: ``reason`` is the asker's own refusal (from ``choose``), or says the request
    came too late or for a window that is not this actor's."""

    reason: str


@dataclass(frozen=True, slots=True)
class PaneFailed:
    """tmux failed while reading the pane (``stage`` "read": also a pane without this binding's owner mark)
    or while pressing (``stage`` "press"); ``error`` is tmux's message."""

    stage: str
    error: str


PressResult = Pressed | NotPressed | PaneFailed


@dataclass(frozen=True, slots=True, eq=False)
class PressForScreen:
    """Press keys chosen for what the pane shows right now, e.g. an approval prompt's option.

    The window actor handles it in its inbox order: if it still runs ``window_id`` and the trio clock is not
    past ``not_after`` (the asker stopped waiting), it checks the pane's owner mark, captures and parses the
    pane, calls ``choose`` (pure: the keys to press, or a refusal text) and presses those keys, never
    interleaved with text being typed. The outcome is set on ``reply``.
    """

    window_id: str
    choose: Callable[[ScreenModel], tuple[str, ...] | str]
    not_after: float
    reply: OneShot[PressResult] = field(default_factory=OneShot)


PROMPT_GONE = "This prompt is gone."  # the answer to a button whose prompt or approval request has ended


@dataclass(frozen=True, slots=True, eq=False)
class AnswerApproval:
    """Answer the window's app-server approval request ``request_id`` with its offered decision ``decision``
    (by name). The window actor answers only if it still runs ``window_id``, the request is still pending
    (never twice: a request answered at the terminal or here before is gone) and the trio clock is before
    ``deadline``; it sets ``reply`` to None when the answer was sent, else to the reason it was not."""

    window_id: str
    request_id: int | str
    decision: str
    deadline: float
    reply: OneShot[str | None]


@dataclass(frozen=True, slots=True)
class Interrupt:
    """Stop what Codex is doing (``/esc``): ``turn/interrupt`` through the window's app-server while a turn
    runs there, otherwise the Escape key in the pane."""


WindowCommand = UserText | PressKeys | PressForScreen | AnswerApproval | Interrupt | FeatureRequest
