"""The window actor's shared core: its dependencies, timings, and the state every part reads.

``WindowActor`` (``ccbot.actors.window.actor``) is composed of parts, each one idea: input and its journal
(``inputs``), the tmux control plane that watches the screen (``screen``), and the rollout's proof, pump and
status delivery (``rollout``). They share one ``WindowCore``: the binding, the prompt-state machine, the
``changed`` event every part waits on, and ``say``. A part calls another only through the methods declared
here, so a second control plane (Codex's app-server client) can replace ``screen`` without touching the rest.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Awaitable, Callable, Container
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import structlog
import trio

from ccbot.actors.appserver_links import AppServerLinks, LinkView
from ccbot.actors.rollout_watch import RolloutWatch
from ccbot.actors.sender import call
from ccbot.codex import rollout as rec
from ccbot.features.ports import PaneSize, WindowPort
from ccbot.messages import FeatureRequest, Outbound, UserText
from ccbot.screen.parse import ApprovalPrompt, Popup, ScreenModel
from ccbot.screen.prompt_state import PromptStateMachine, State, Verdict
from ccbot.state.keeper import StateKeeper
from ccbot.state.model import Binding, TopicKey
from ccbot.tmux.adapter import Tmux, WindowInfo, ensure_owned
from ccbot.tmux.control import ControlClient

if TYPE_CHECKING:
    from ccbot.actors.window.frames import AnswerStream
    from ccbot.codex.appserver.views import FileChange, PendingRequest, RequestId

log = structlog.get_logger("ccbot.window")

HELD_QUOTE = 60  # characters of a kept text quoted when it is reported not sent
PROOF_WINDOW = 6.0


def thread_start_time(thread_id: str) -> float | None:
    """Unix time encoded in a UUIDv7 thread id (its first 48 bits are milliseconds), or None."""
    digits = thread_id.replace("-", "")
    if len(digits) != 32 or digits[12] != "7":
        return None
    try:
        return int(digits[:12], 16) / 1000.0
    except ValueError:
        return None


R = TypeVar("R", bound=FeatureRequest)
EffectHook = Callable[[WindowPort, object], Awaitable[None]]
_Handler = Callable[[WindowPort, FeatureRequest], Awaitable[None]]


@dataclass(slots=True)
class WindowHooks:
    """Feature plug-ins (see ccbot.features): shared by every window actor, registered at start-up.

    ``on_request(kind, handler)``: the window actor runs ``handler`` for each request of type ``kind`` in its
    inbox; ``commands[name]`` makes ``/name args`` in a bound topic such a request; ``effects`` see every
    prompt-state effect (e.g. PromptShown → approval buttons), in the screen loop's task.
    """

    effects: list[EffectHook] = field(default_factory=list)
    commands: dict[str, Callable[[str], FeatureRequest]] = field(default_factory=dict)
    _requests: dict[type[FeatureRequest], _Handler] = field(default_factory=dict)

    def on_request(self, kind: type[R], handler: Callable[[WindowPort, R], Awaitable[None]]) -> None:
        """Register ``handler`` for requests of type ``kind`` (replacing an earlier one); start-up only."""
        async def run(port: WindowPort, request: FeatureRequest) -> None:
            assert isinstance(request, kind)
            await handler(port, request)

        self._requests[kind] = run

    def handler_for(self, request: FeatureRequest) -> _Handler | None:
        """The handler registered for ``request``'s type, if any."""
        return self._requests.get(type(request))


@dataclass(slots=True)
class WindowDeps:
    """What ``Topics`` gives each window actor: the shared tmux adapter, outbox, state keeper and feature hooks,
    where rollouts live, timings, the ``on_gone(binding, why)`` callback and the optional change notifiers.
    """

    tmux: Tmux
    outbox: trio.MemorySendChannel[Outbound]
    keeper: StateKeeper
    sessions_dir: Path
    poll_interval: float
    on_gone: Callable[[Binding, str], Awaitable[None]]
    hooks: WindowHooks = field(default_factory=WindowHooks)
    hang_after: float = 600.0
    changes: ControlClient | None = None  # pane-change notifications; None: poll every poll_interval
    rollouts: RolloutWatch | None = None  # rollout-change notifications; None: idle rollouts polled
    appservers: AppServerLinks | None = None  # the shared app-server connections; None: tmux plane only
    drafts_refused: Container[int] = frozenset()  # chats where a draft was refused (``Sender.drafts_refused``)


def norm(text: str) -> str:
    """``text`` with every whitespace run made one space and the ends stripped (to compare typed with seen text)."""
    return re.sub(r"\s+", " ", text).strip()


def file_size(path: str | None) -> int | None:
    """The size in bytes of the file at ``path``; None when ``path`` is None or the file cannot be stat'ed."""
    if path is None:
        return None
    try:
        return os.stat(path).st_size
    except OSError:
        return None


class WindowCore:
    """State shared by the window actor's parts; never instantiated alone (see ``WindowActor``)."""

    def __init__(self, binding: Binding, deps: WindowDeps, *, adopt: WindowInfo | None = None) -> None:
        """``adopt``: the window as Topics re-found it by the owner mark at start; ``run`` takes its ids."""
        self.binding = binding
        self.adopt = adopt
        self.deps = deps
        self.machine = PromptStateMachine()
        self.model: ScreenModel | None = None
        self.pane_pid: int | None = None
        self.changed = trio.Event()
        self.decoder = rec.RolloutDecoder()
        if binding.decoder:
            self.decoder.restore(binding.decoder)
        self.seen_user_texts: list[str] = []
        self.turn_active = False
        self.active_until = 0.0
        self.last_progress = trio.current_time()
        self.hang_reported = False
        self.proof_until = 0.0  # re-prove (follow /clear, a new thread) until this time
        self.pump_lock = trio.Lock()
        self.gone = False
        # Input kept behind a startup screen (or queued behind such input), oldest first; typed by _held_loop.
        self.held: list[UserText] = []
        self.releasing: UserText | None = None  # the held text _held_loop is typing right now
        self.held_told: tuple[object, ...] | None = None  # the startup screen the topic was told about
        self.type_lock = trio.Lock()  # one text's keys at a time (the held loop and features type too)
        self.refused: set[str] = set()  # proof refusals already told to the topic
        self.unprovable_since: float | None = None
        # The app-server plane (PlanePart): the live client, the user threads seen on the pane's server, those
        # subscribed (thread/resume), their rollouts, the turn running there, approval requests not answered.
        self.plane_client: LinkView | None = None
        self.plane_candidates: set[str] = set()
        self.plane_subscribed: set[str] = set()
        self.plane_tried: set[str] = set()  # threads whose first resume was tried (side threads are tried once)
        self.plane_paths: dict[str, str] = {}
        self.plane_turn: tuple[str, str] | None = None  # (thread id, turn id)
        self.plane_pending: dict[RequestId, PendingRequest] = {}
        # fileChange items started and not yet completed, by item id: the changes a file-change approval
        # request names (the request itself carries none). Written by PlanePart only.
        self.plane_changes: dict[str, tuple[FileChange, ...]] = {}
        # Shared daemon only: the text being typed here (normalized, since when) and the threads that showed it.
        self.echo_wanted: tuple[str, float] | None = None
        self.echo_seen: dict[str, float] = {}  # thread id -> when it showed the wanted text
        self.echo_due: float | None = None
        # Streamed frames (FramesPart): the answer being streamed.
        self.stream: AnswerStream | None = None
        self.stale_frames: list[int] = []  # frame messages of earlier answers of the turn, deleted with the stream
        self.frames_changed = trio.Event()

    # -- helpers ------------------------------------------------------------------------------------
    @property
    def chat_id(self) -> int:
        """The bound topic's chat id."""
        return self.binding.chat_id

    def _thread_kwargs(self) -> dict[str, Any]:
        return {"message_thread_id": self.binding.topic_id} if self.binding.topic_id else {}

    def _poke(self) -> None:
        self.changed.set()
        self.changed = trio.Event()

    def _reprove_for(self, seconds: float) -> None:
        """Look for a new rollout for a while: after input, /clear or a turn start (a new thread may begin)."""
        self.proof_until = max(self.proof_until, trio.current_time() + seconds)

    def _bump_activity(self, seconds: float = 15.0) -> None:
        self.active_until = max(self.active_until, trio.current_time() + seconds)

    async def say(self, html_text: str, *, wait: bool = False, **extra: Any) -> Any:
        """Post a durable message in this topic; with ``wait`` return the Message (or raise)."""
        item = Outbound(self.chat_id, "send_message",
                        {"chat_id": self.chat_id, "text": html_text, **self._thread_kwargs(), **extra})
        if wait:
            return await call(self.deps.outbox, item)
        await self.deps.outbox.send(item)
        return None


    # -- the feature port (``WindowPort``) ---------------------------------------------------------------
    @property
    def key(self) -> TopicKey:
        """The topic the window is bound to (``WindowPort.key``)."""
        return self.binding.key

    @property
    def window_id(self) -> str:
        """The bound tmux window's id (``WindowPort.window_id``)."""
        return self.binding.window_id

    @property
    def window_name(self) -> str:
        """The bound tmux window's name (``WindowPort.window_name``)."""
        return self.binding.window_name

    @property
    def rollout_path(self) -> str | None:
        """The proven rollout of the window's thread, None until proven (``WindowPort.rollout_path``)."""
        return self.binding.rollout_path

    @property
    def prompt_state(self) -> State:
        """The prompt-state machine's current state (``WindowPort.prompt_state``)."""
        return self.machine.state

    def can_accept_text(self) -> Verdict:
        """Whether text may be typed now, and if not why (``WindowPort.can_accept_text``)."""
        return self.machine.can_accept_text()

    async def call(self, item: Outbound) -> Any:
        """Send ``item`` and wait for Telegram's answer (raises its TelegramError)."""
        return await call(self.deps.outbox, item)

    async def capture(self, *, ansi: bool = False) -> str:
        """The pane's visible text (with colours when ``ansi``). Raises TmuxError."""
        return await self.deps.tmux.capture(self.binding.pane_id, ansi=ansi)

    async def pane_size(self) -> PaneSize:
        """The pane's size in cells. Raises TmuxError."""
        state = await self.deps.tmux.pane_state(self.binding.pane_id)
        return PaneSize(state.width, state.height)

    def _port(self) -> WindowPort:
        return cast("WindowPort", self)  # the composed WindowActor; its parts are never instantiated alone

    async def wait_state(self, accept: Callable[[State], bool], seconds: float) -> bool:
        """Wait until the prompt state satisfies ``accept``; False after ``seconds``."""
        with trio.move_on_after(seconds):
            while not accept(self.machine.state):
                await self.changed.wait()
            return True
        return False

    async def _ensure_own_pane(self) -> None:
        await ensure_owned(self.deps.tmux, self.binding.pane_id, self.binding.owner_mark)

    # -- provided by the other parts ------------------------------------------------------------------
    async def _pump(self) -> None:
        """Deliver what the rollout holds now (``RolloutPart``)."""
        raise NotImplementedError

    async def _close_stream(self) -> None:
        """Stop the streamed frames of the answer being written; none is left as the last word (``FramesPart``)."""
        raise NotImplementedError

    def _stream_feed(self, item_id: str, delta: str) -> None:
        """Add streamed text to answer ``item_id`` (``FramesPart``)."""
        raise NotImplementedError

    def _stream_end(self, item_id: str | None = None) -> None:
        """Answer ``item_id`` (any when None) is complete (``FramesPart``)."""
        raise NotImplementedError

    async def _follow_thread(self, thread_id: str, path: Path) -> None:
        """Deliver from thread ``thread_id``'s rollout ``path`` from now on (``RolloutPart``)."""
        raise NotImplementedError

    async def press_keys(self, *keys: str) -> None:
        """Press named keys in the pane (``ScreenPart``)."""
        raise NotImplementedError

    async def _report_held(self, reason: str) -> None:
        """Report every kept text not sent (``InputPart``)."""
        raise NotImplementedError

    async def _tell_held(self, screen: ApprovalPrompt | Popup, item: UserText, *, quiet: bool = False) -> None:
        """Tell the topic kept text waits for ``screen`` (``InputPart``)."""
        raise NotImplementedError


def not_sent_text(reason: str, items: list[UserText]) -> str:
    """The topic message for texts that will never be typed: why, and each text quoted briefly."""
    quotes = ", ".join(
        f"“{html.escape(t if len(t) <= HELD_QUOTE else t[: HELD_QUOTE - 1] + '…')}”"
        for t in (norm(item.text) for item in items))
    return f"⛔ Not sent: {html.escape(reason)}. Nothing was typed for {quotes}."
