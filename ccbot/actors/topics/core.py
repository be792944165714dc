"""The sessions layer's shared core: the topics' state (windows running, open dialogues, kept messages) and
the replies every part sends.

``Topics`` (``ccbot.actors.topics.routing``) is built in layers, each one idea: this core, the window pool
(``pool``: one supervised window actor per binding), the binding dialogue (``dialogue``: folder browser,
thread picker, window creation) and the routing of messages, commands and buttons (``routing``).
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Awaitable, Callable, Container
from dataclasses import dataclass
from typing import Any

import structlog
import trio

from ccbot.actors.appserver_links import AppServerLinks
from ccbot.actors.rollout_watch import RolloutWatch
from ccbot.actors.router import thread_kwargs
from ccbot.actors.sender import call
from ccbot.actors.window import WindowHooks
from ccbot.codex.sessions import SessionIndex
from ccbot.config import Config
from ccbot.features.ports import FileSource, Queued, TopicPort
from ccbot.messages import Lane, Outbound, UserText, WindowCommand
from ccbot.state.keeper import StateKeeper
from ccbot.state.model import Binding, TopicKey
from ccbot.telegram.errors import TelegramError
from ccbot.telegram.types import CallbackQuery, InlineKeyboard, Message
from ccbot.tmux.adapter import Tmux
from ccbot.tmux.control import ControlClient
from ccbot.ui import callbacks
from ccbot.ui.caps import IntakeCaps
from ccbot.ui.session import UiSession

log = structlog.get_logger("ccbot.topics")

BIND_RECHECK = 2.0
THREAD_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def new_owner_mark(key: TopicKey) -> str:
    """A window's owner mark: the full chat and topic ids and a random part, so that no two bindings (of
    any chat, of any ccbot sharing the tmux server) ever carry the same mark."""
    return f"{key[0]}:{key[1]}:{secrets.token_hex(8)}"

INBOX_SIZE = 32
CODEX_COMMANDS = ("clear", "compact", "diff", "init", "review", "status")
DIALOGUES = ("browser", "picker")  # the binding dialogue's UI kinds


@dataclass(slots=True)
class RunningWindow:
    """A bound topic's live window actor, as ``Topics`` holds it: its binding, the inbox the actor reads (its only
    sender is ``Topics``) and the cancel scope that stops the actor.
    """

    binding: Binding
    inbox: trio.MemorySendChannel[WindowCommand]
    scope: trio.CancelScope


CallbackHandler = Callable[[TopicPort, UiSession, callbacks.Callback, CallbackQuery], Awaitable[None]]
MessageConverter = Callable[[TopicPort, TopicKey, Message], Awaitable[WindowCommand | None]]


class TopicsCore:
    """State shared by the ``Topics`` layers; never instantiated alone."""

    def __init__(
        self,
        cfg: Config,
        keeper: StateKeeper,
        outbox: trio.MemorySendChannel[Outbound],
        tmux: Tmux,
        index: SessionIndex,
        *,
        files: FileSource,
        changes: ControlClient | None,
        rollouts: RolloutWatch | None,
        drafts_refused: Container[int] = frozenset(),
        appservers: AppServerLinks | None = None,
    ) -> None:
        """``files``: Telegram downloads for features; ``changes``: one tmux control-mode client (None: windows
        poll their panes); ``rollouts``: one watcher of every bound rollout (None: idle rollouts are polled);
        ``drafts_refused``: the chats where Telegram refused a draft (the sender's, read by window actors);
        ``appservers``: the app-server connections, run in the windows nursery (None: tmux plane only)."""
        self.cfg = cfg
        self.keeper = keeper
        self.outbox = outbox
        self.tmux = tmux
        self.index = index
        self.ui: dict[str, UiSession] = {}
        self.pending: dict[TopicKey, list[Message | UserText]] = {}
        self.running: dict[TopicKey, RunningWindow] = {}
        self.hooks = WindowHooks()
        self.files = files
        self.changes = changes
        self.rollouts = rollouts
        self.drafts_refused = drafts_refused
        self.appservers = appservers
        self.callback_handlers: dict[str, CallbackHandler] = {}
        self.converters: list[MessageConverter] = []
        self._nursery: trio.Nursery | None = None
        self._index_limiter = trio.CapacityLimiter(1)
        self.caps = IntakeCaps()


    def _gone_text(self, binding: Binding, head: str) -> str:
        if binding.thread_id:
            return head + f"\nResume it with <code>codex resume {html.escape(binding.thread_id)}</code>."
        return head

    # -- replies ------------------------------------------------------------------------------------
    # Replies to the user's own actions go in Lane.USER: first in their chat's queue.
    async def say(self, key: TopicKey, text: str, **extra: Any) -> None:
        """Queue a durable reply in ``key``'s topic in the user's lane (``extra``: more sendMessage arguments).
        Waits only for room in the outbox, not for Telegram.
        """
        await self.outbox.send(Outbound(key[0], "send_message",
                                        {"chat_id": key[0], "text": text, **thread_kwargs(key), **extra},
                                        lane=Lane.USER))

    async def ask(self, key: TopicKey, text: str, keyboard: InlineKeyboard, *, lane: Lane = Lane.USER) -> int | None:
        """Send a message with a keyboard and return its message id (None if Telegram refused)."""
        item = Outbound(key[0], "send_message",
                        {"chat_id": key[0], "text": text, "reply_markup": keyboard, **thread_kwargs(key)}, lane=lane)
        try:
            message = await call(self.outbox, item)
        except TelegramError as exc:
            log.warning("could not send keyboard", error=str(exc))
            return None
        return int(message.message_id)

    async def edit(self, key: TopicKey, message_id: int, text: str, keyboard: InlineKeyboard | None) -> None:
        """Queue an edit of ``message_id`` in ``key``'s chat (text and keyboard) in the user's lane; does not wait for
        Telegram.
        """
        await self.outbox.send(Outbound(key[0], "edit_message_text", {
            "chat_id": key[0], "message_id": message_id, "text": text, "reply_markup": keyboard}, lane=Lane.USER))

    async def answer(self, query: CallbackQuery, text: str | None = None) -> None:
        """Queue the answer to ``query`` (a toast when ``text``); answers skip the lanes and go out at once."""
        await self.outbox.send(Outbound(
            query.message.chat.id if query.message is not None else query.from_user.id,
            "answer_callback_query", {"callback_query_id": query.id, "text": text}, lane=Lane.USER))

    def open_ui(self, kind: str, key: TopicKey, state: object = None) -> UiSession:
        """Open and register a UI session of ``kind`` in ``key``'s topic holding ``state``; sends nothing."""
        session = UiSession(token=callbacks.new_token(), kind=kind, key=key, state=state)
        self.ui[session.token] = session
        return session

    def close_ui(self, session: UiSession) -> None:
        """Forget ``session`` (its buttons then answer "expired"); idempotent, sends nothing."""
        self.ui.pop(session.token, None)

    def session(self, token: str) -> UiSession | None:
        """The open UI session with ``token``, if any."""
        return self.ui.get(token)

    def sessions(self, kind: str, key: TopicKey) -> list[UiSession]:
        """The open UI sessions of ``kind`` in ``key``'s topic, oldest first."""
        return [s for s in self.ui.values() if s.kind == kind and s.key == key]

    def spawn(self, fn: Callable[..., Awaitable[None]], *args: Any) -> None:
        """Run a feature task beside the windows, e.g. a send that waits for Telegram's pacing, so that a
        window's screen loop or inbox is not held. ``fn`` must catch its own errors: one escaping would
        stop every window."""
        assert self._nursery is not None, "Topics.run has not started"
        self._nursery.start_soon(fn, *args)

    def command_window(self, key: TopicKey, window_id: str, command: WindowCommand) -> Queued:
        """Queue ``command`` for ``key``'s window actor, only if that topic is still bound to ``window_id``;
        never waits (a full inbox is ``Queued.BUSY``, a window gone or another one bound is ``Queued.GONE``).
        For commands that are not text (text goes through the journal, see ``Topics``)."""
        running = self.running.get(key)
        if running is None or running.binding.window_id != window_id:
            return Queued.GONE
        try:
            running.inbox.send_nowait(command)
        except trio.WouldBlock:
            return Queued.BUSY
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            return Queued.GONE
        return Queued.OK

    def owns(self, key: TopicKey) -> bool:
        """Whether this bot has a window bound to ``key`` or a UI session open in it."""
        return key in self.running or any(s.key == key for s in self.ui.values())

    def _dialogue_open(self, key: TopicKey) -> bool:
        return any(s.key == key and s.kind in DIALOGUES for s in self.ui.values())

    def _topic_label(self, key: TopicKey) -> str:
        return f"chat {key[0]}, topic {key[1]}" if key[1] else f"chat {key[0]}"

    def _take_kept(self, key: TopicKey) -> list[Message | UserText]:
        """The messages kept while the topic was unbound (caller saves the state)."""
        self.keeper.state.kept.pop(key, None)
        return self.pending.pop(key, [])


    # -- provided by the later layers ------------------------------------------------------------------
    async def _reopen_kept(self) -> None:
        """Reopen the binding dialogue of topics with kept messages (``BindingDialogue``)."""
        raise NotImplementedError

    async def _convert(self, key: TopicKey, message: Message) -> WindowCommand | None:
        """The window command for ``message`` (``Topics``)."""
        raise NotImplementedError

    async def _to_window(self, key: TopicKey, running: RunningWindow, command: WindowCommand) -> None:
        """Queue ``command`` for the window (``Topics``)."""
        raise NotImplementedError
