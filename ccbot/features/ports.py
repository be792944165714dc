"""The two narrow ports a feature is given, one each way, and the typed requests it queues.

* ``WindowPort``: what a feature may ask of one window. Implemented by the window actor and handed to a
  feature only inside that actor's own task (request handlers, screen-effect hooks), so every pane action
  goes through the actor that owns the pane (owner mark checked, never between a text's keys).
* ``TopicPort``: what a feature may ask of the sessions layer (replies in a topic, UI sessions, its
  config and file downloads, a spawned task, a command queued to a topic's window). Implemented by
  ``Topics``; used from the router's task (callbacks, converters) and from spawned tasks.
* ``FeatureRequest``: base of the typed requests a feature queues to a window (``TopicPort.command_window``
  or a converter's result) and handles there (``WindowHooks.on_request``).

Types only: nothing here runs or does I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ccbot.messages import FeatureRequest, Outbound, UserText, WindowCommand
from ccbot.state.model import TopicKey

if TYPE_CHECKING:
    from ccbot.codex.appserver.views import PendingRequest
    from ccbot.codex.plane import Plane
    from ccbot.config import Config
    from ccbot.messages import Lane
    from ccbot.screen.prompt_state import State, Verdict
    from ccbot.telegram.types import CallbackQuery, File, InlineKeyboard
    from ccbot.ui.session import UiSession

__all__ = [
    "FeatureRequest", "FileSource", "PaneSize", "PlaneApprovalGone", "PlaneApprovalShown", "Queued", "TopicPort",
    "WindowPort",
]


@dataclass(frozen=True, slots=True)
class PaneSize:
    """A pane's size in character cells."""

    width: int
    height: int


@dataclass(frozen=True, slots=True)
class PlaneApprovalShown:
    """Effect: the window's app-server asks to approve ``request`` (answer it with ``AnswerApproval``)."""

    request: PendingRequest  # a command's, a file change's (with the changes of the item it names), or a
    # request_user_input question (answered like an approval: one decision per option)


@dataclass(frozen=True, slots=True)
class PlaneApprovalGone:
    """Effect: approval request ``request_id`` is no longer pending: answered from this topic
    (``decision`` names what was chosen), at the terminal (``decision`` None), or the connection or turn
    that carried it ended (``decision`` None, ``lost`` True)."""

    request_id: int | str
    decision: str | None
    lost: bool = False


class WindowPort(Protocol):
    """One bound window, as a feature running inside its actor sees it."""

    @property
    def key(self) -> TopicKey:
        """The topic the window is bound to."""

    @property
    def window_id(self) -> str:
        """The bound tmux window's id (``@N``)."""

    @property
    def window_name(self) -> str:
        """The bound tmux window's name, as recorded in the binding."""

    @property
    def rollout_path(self) -> str | None:
        """The proven rollout of the window's thread; None until one is proven."""

    @property
    def plane(self) -> Plane:
        """The window's control plane: APPSERVER (attached to its pane's own app-server) or TMUX."""

    def plane_approval_pending(self) -> bool:
        """Whether an approval request from the window's app-server is waiting for an answer (its buttons
        come from the request, so the screen's copy of that prompt needs none)."""

    @property
    def prompt_state(self) -> State:
        """The prompt-state machine's current state of the pane (updated by the actor's screen loop)."""

    def can_accept_text(self) -> Verdict:
        """Whether text may be typed now (the prompt-state machine's verdict)."""

    async def wait_state(self, accept: Callable[[State], bool], seconds: float) -> bool:
        """Wait until the prompt state satisfies ``accept``; False after ``seconds``."""

    async def say(self, html_text: str, **extra: Any) -> object:
        """Post a durable message in the topic (``extra``: more sendMessage arguments)."""

    async def call(self, item: Outbound) -> Any:
        """Send ``item`` through the outbox and wait for Telegram's answer (raises its TelegramError)."""

    async def capture(self, *, ansi: bool = False) -> str:
        """The pane's visible text (with colours when ``ansi``). Raises TmuxError."""

    async def pane_size(self) -> PaneSize:
        """The pane's size in cells. Raises TmuxError."""

    async def press_keys(self, *keys: str) -> None:
        """Press named keys (tmux's allowlist applies) after checking the owner mark. Raises TmuxError."""

    async def type_text(self, text: str) -> None:
        """Type cleaned ``text`` then Enter (no prompt-state check: the caller made it). Raises TmuxError."""

    async def deliver_text(self, item: UserText) -> None:
        """Type ``item`` exactly as a typed Telegram message would be (prompt-safe, journaled, confirmed)."""


class FileSource(Protocol):
    """Telegram file downloads (``BotApi``)."""

    async def get_file(self, file_id: str) -> File:
        """Resolve ``file_id`` to a downloadable ``File``; raises TelegramError (``FileTooBig`` over 20 MB)."""

    async def download_file(self, file_path: str) -> bytes:
        """The bytes at ``file_path`` (from ``get_file``).

        Raises ``FileTooBig`` over the download cap, another TelegramError (``NetworkError``) otherwise.
        """


class Queued(enum.Enum):
    """What became of a command handed to a window (``TopicPort.command_window``)."""

    OK = "queued"
    BUSY = "the window's inbox is full"
    GONE = "the window is gone or no longer bound here"


class TopicPort(Protocol):
    """The sessions layer, as a feature sees it."""

    @property
    def cfg(self) -> Config:
        """The bot's configuration (read-only for features)."""

    @property
    def files(self) -> FileSource:
        """Telegram file downloads, for features that fetch what the user sent."""

    async def say(self, key: TopicKey, text: str, **extra: Any) -> None:
        """A reply in ``key``'s topic, in the user's lane."""

    async def ask(self, key: TopicKey, text: str, keyboard: InlineKeyboard, *, lane: Lane = ...) -> int | None:
        """A message with a keyboard; its id, or None when Telegram refused it."""

    async def edit(self, key: TopicKey, message_id: int, text: str, keyboard: InlineKeyboard | None) -> None:
        """Queue an edit of message ``message_id`` in ``key``'s chat (user's lane); does not wait for Telegram."""

    async def answer(self, query: CallbackQuery, text: str | None = None) -> None:
        """Answer a callback query (exactly once per press)."""

    def open_ui(self, kind: str, key: TopicKey, state: object = None) -> UiSession:
        """Open and return a UI session of ``kind`` in ``key``'s topic holding ``state`` (new token, no message)."""

    def close_ui(self, session: UiSession) -> None:
        """Close ``session`` (its buttons stop resolving); idempotent, sends nothing."""

    def session(self, token: str) -> UiSession | None:
        """The open UI session with ``token``, if any."""

    def sessions(self, kind: str, key: TopicKey) -> list[UiSession]:
        """The open UI sessions of ``kind`` in ``key``'s topic, oldest first."""

    def spawn(self, fn: Callable[..., Awaitable[None]], *args: Any) -> None:
        """Run ``fn`` beside the windows (it must catch its own errors)."""

    def command_window(self, key: TopicKey, window_id: str, command: WindowCommand) -> Queued:
        """Queue ``command`` for ``key``'s window if it is still ``window_id``; never waits."""
