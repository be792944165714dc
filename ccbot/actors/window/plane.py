"""The app-server plane: the window's attachment to its Codex's app-server (``ccbot.codex.plane``).

``_plane_loop`` (windows with ``Binding.appserver_socket`` only) connects to the socket as a second client,
subscribes to the user threads there and turns Codex's events *of the followed thread only* into the
window's state:

* **Identity.** On the pane's own server (windows ccbot starts) a user thread (``threadSource`` "user",
  with a rollout ``path``) is this pane's thread: the newest one started or running a turn is followed
  (``RolloutPart._follow_thread``, under the ownership rule). On Codex's shared daemon
  (``Binding.appserver_shared``: a window bound by hand) the daemon serves other panes too, so a thread is
  followed only by **echo**: the one thread whose ``userMessage`` is exactly the text this window is
  typing, alone within ``ECHO_SETTLE``. No /proc proof is needed or made.
* **Submits.** A ``userMessage`` item is a typed text Codex took: it confirms the submit like the rollout does.
* **Streamed answers.** ``item/agentMessage/delta`` text goes to the frames part; the answer's
  ``item/completed`` and the turn's end stop its frames.
* **Approvals.** ``item/commandExecution/requestApproval`` and ``item/fileChange/requestApproval`` (with the
  changes of the ``fileChange`` item it names, remembered from that item's ``item/started``) are kept as
  pending and shown (effect ``PlaneApprovalShown``); a button press (``AnswerApproval``) answers it by the
  protocol exactly once; an answer at the terminal (``serverRequest/resolved``), the turn's end or a lost
  connection makes it gone (``PlaneApprovalGone``). ``item/tool/requestUserInput`` (a Plan-mode question,
  ``UserInputRequest``) goes the same way, its options as decisions. Other server requests are left to the
  terminal.
* **Interrupt.** ``/esc`` (``Interrupt``) is ``turn/interrupt`` while a turn runs here.

A lost connection is retried with backoff for as long as the window lives; meanwhile the rollout still
delivers every finished answer, only frames and protocol approvals pause.
"""

from __future__ import annotations

import math
from pathlib import Path

import structlog
import trio

from ccbot.actors.appserver_links import LINK_ERRORS, LinkView
from ccbot.actors.window.core import WindowCore, norm
from ccbot.codex.appserver import protocol
from ccbot.codex.appserver.client import AppServerError, RequestFailed
from ccbot.codex.appserver.protocol import Incoming
from ccbot.codex.appserver.views import (
    AgentMessageDelta,
    AgentMessageItem,
    CommandApprovalRequest,
    FileChangeApprovalRequest,
    FileChangeItem,
    ItemCompleted,
    ItemStarted,
    ServerRequestResolved,
    ThreadInfo,
    ThreadStarted,
    ThreadStatusChanged,
    TurnCompleted,
    TurnStarted,
    UserInputRequest,
    UserMessageItem,
)
from ccbot.codex.plane import Plane, daemon_socket, is_socket_name
from ccbot.features.ports import PlaneApprovalGone, PlaneApprovalShown
from ccbot.messages import PROMPT_GONE, AnswerApproval, Interrupt

log = structlog.get_logger("ccbot.window")

CONNECT_RETRY = 0.25  # first retry; doubles up to CONNECT_RETRY_MAX (the pane's server may still be starting)
CONNECT_RETRY_MAX = 5.0
REQUEST_TIMEOUT = 10.0
ECHO_SETTLE = 0.5  # shared daemon: how long other threads may still show the same text before one is followed
CHANGES_KEPT = 64  # fileChange items remembered at most (each is dropped at its item/completed anyway)


class PlanePart(WindowCore):
    """The window's app-server client (see the module docstring)."""

    @property
    def plane(self) -> Plane:
        """The window's control plane (``WindowPort.plane``)."""
        return Plane.APPSERVER if self.binding.appserver_socket is not None else Plane.TMUX

    def plane_approval_pending(self) -> bool:
        """Whether an app-server approval request waits for an answer (``WindowPort.plane_approval_pending``)."""
        return bool(self.plane_pending)

    async def _plane_loop(self) -> None:
        socket = self.binding.appserver_socket
        if socket is None or self.deps.appservers is None:
            return
        shared = self.binding.appserver_shared and Path(socket) == daemon_socket(self.deps.sessions_dir.parent)
        if not (shared or is_socket_name(socket)):  # a saved state edited by hand: never connect elsewhere
            log.warning("not a pane app-server socket ccbot made; not attaching", socket=socket)
            await self.say("⛔ This window's app-server socket is not one ccbot made; nothing from it is posted "
                           "here. /unbind and start the window again.")
            return
        retry = CONNECT_RETRY
        told = False
        while True:
            try:
                # The daemon's socket is a symlink in CODEX_HOME to a short path in /tmp (a unix socket
                # address is limited to 107 bytes, and CODEX_HOME can be deep); a restarted daemon may move it.
                address = str(await trio.Path(socket).resolve()) if shared else socket
                await self._plane_session(address)
                retry = CONNECT_RETRY
            except LINK_ERRORS as exc:
                if not told:
                    log.info("app-server not reachable yet", error=str(exc) or type(exc).__name__)
                    told = True
            await self._plane_lost()
            await trio.sleep(retry)
            retry = min(retry * 2, CONNECT_RETRY_MAX)

    async def _plane_session(self, address: str) -> None:
        """One attachment to the server's shared link (``AppServerLinks``): list and subscribe to its threads,
        then handle incoming messages until the link ends."""
        assert self.deps.appservers is not None
        async with self.deps.appservers.attach(address) as link:
            with trio.fail_after(REQUEST_TIMEOUT):
                listed = protocol.loaded_threads(
                    await link.request(protocol.THREAD_LOADED_LIST, protocol.thread_loaded_list_params()))
            self.plane_client = link
            try:
                log.info("attached to the window's app-server", loaded=len(listed.ids) if listed else 0,
                         shared=self.binding.appserver_shared)
                self.plane_candidates.update(listed.ids if listed else ())
                for thread_id in list(self.plane_candidates):
                    await self._plane_subscribe(link, thread_id)
                while True:
                    with trio.move_on_at(self.echo_due if self.echo_due is not None else math.inf) as waited:
                        try:
                            message = await link.incoming.receive()
                        except trio.EndOfChannel:
                            return
                    if waited.cancelled_caught:
                        await self._settle_echo()
                    else:
                        await self._on_plane(link, message)
            finally:
                self.plane_client = None

    async def _plane_lost(self) -> None:
        """The connection ended: its pending approvals are gone and the answer being streamed stops."""
        self.plane_subscribed.clear()
        self.plane_turn = None
        await self._drop_pending(lost=True)
        await self._close_stream()

    async def _drop_pending(self, *, lost: bool) -> None:
        pending, self.plane_pending = self.plane_pending, {}
        for request_id in pending:
            await self._plane_effect(PlaneApprovalGone(request_id, None, lost=lost))

    async def _plane_subscribe(self, client: LinkView, thread_id: str) -> None:
        """``thread/resume`` ``thread_id`` (its turn and item events then reach us) and follow it when it is a
        user thread. A thread without a rollout yet cannot be resumed: it is tried again at its next status."""
        if thread_id in self.plane_subscribed:
            return
        try:
            with trio.fail_after(REQUEST_TIMEOUT):
                result = await client.resume(thread_id)
        except RequestFailed as exc:
            log.debug("thread not resumable yet", thread=thread_id, error=exc.message)
            return
        info = protocol.resumed_thread(result)
        self.plane_subscribed.add(thread_id)
        if info is not None and _is_user_thread(info):
            self.plane_paths[info.id] = info.path or ""
            if not self.binding.appserver_shared:  # the pane's own server: its user threads are the pane's
                await self._plane_follow(info.id, info.path)
        else:
            self.plane_candidates.discard(thread_id)

    async def _plane_follow(self, thread_id: str, path: str | None) -> None:
        if path:
            await self._follow_thread(thread_id, Path(path))

    async def _on_plane(self, client: LinkView, message: Incoming) -> None:
        seen = protocol.view(message)
        match seen:
            case ThreadStarted(thread=info) if _is_user_thread(info):
                self.plane_candidates.add(info.id)
                if not self.binding.appserver_shared:
                    await self._plane_follow(info.id, info.path)  # a new thread (/new): the pane's from now on
            case ThreadStatusChanged(thread_id=thread_id):
                # A thread the TUI resumed announces itself only by its status; a user thread of ours before
                # its first turn cannot be resumed yet and is tried again at each status; others once.
                if thread_id not in self.plane_subscribed and (
                        thread_id in self.plane_candidates or thread_id not in self.plane_tried):
                    self.plane_tried.add(thread_id)
                    await self._plane_subscribe(client, thread_id)
            case TurnStarted(thread_id=thread_id, turn=turn) if thread_id in self.plane_subscribed:
                if thread_id != self.binding.thread_id and not self.binding.appserver_shared:
                    # the pane went back to another of its threads
                    await self._plane_follow(thread_id, self.plane_paths.get(thread_id))
                if thread_id == self.binding.thread_id:  # on the shared daemon, other windows' turns are not ours
                    self.plane_turn = (thread_id, turn.id)
                    self._bump_activity()
            case ItemStarted(thread_id=thread_id, item=UserMessageItem(text=text)):
                if thread_id == self.binding.thread_id:
                    self.seen_user_texts.append(text)
                    self._poke()
                if self.binding.appserver_shared:
                    self._note_echo(thread_id, text)
            case AgentMessageDelta(thread_id=thread_id, item_id=item_id, delta=delta):
                if thread_id == self.binding.thread_id:
                    self._stream_feed(item_id, delta)
            case ItemCompleted(item=AgentMessageItem(id=item_id)):
                self._stream_end(item_id)
            case ItemStarted(thread_id=thread_id, item=FileChangeItem(id=item_id, changes=changes)):
                if thread_id in self.plane_subscribed:  # its approval request, if any, follows
                    self.plane_changes[item_id] = changes
                    for old in list(self.plane_changes)[:-CHANGES_KEPT]:
                        del self.plane_changes[old]
            case ItemCompleted(item=FileChangeItem(id=item_id)):
                self.plane_changes.pop(item_id, None)
            case TurnCompleted(thread_id=thread_id) if thread_id == self.binding.thread_id:
                self.plane_turn = None
                await self._close_stream()
                await self._drop_pending(lost=False)
                self._poke()
            case CommandApprovalRequest() | FileChangeApprovalRequest() | UserInputRequest() \
                    if seen.thread_id == self.binding.thread_id:
                request = seen.with_changes(self.plane_changes.get(seen.item_id, ())) \
                    if isinstance(seen, FileChangeApprovalRequest) else seen
                self.plane_pending[seen.request_id] = request
                await self._plane_effect(PlaneApprovalShown(request))
            case ServerRequestResolved(request_id=request_id):
                if self.plane_pending.pop(request_id, None) is not None:
                    log.info("approval answered at the terminal", request=request_id)
                    await self._plane_effect(PlaneApprovalGone(request_id, None))
            case _:
                pass
        if isinstance(seen, ThreadStarted) and seen.thread.path:
            self.plane_paths[seen.thread.id] = seen.thread.path

    def _note_echo(self, thread_id: str, text: str) -> None:
        """Shared daemon: thread ``thread_id`` received ``text``; if it is what this window is typing, the
        thread is a candidate for this window's (settled ``ECHO_SETTLE`` seconds later, see ``_settle_echo``)."""
        wanted = self.echo_wanted
        if wanted is None or norm(text) != wanted[0]:
            return
        now = trio.current_time()
        self.echo_seen[thread_id] = now
        if self.echo_due is None:
            self.echo_due = now + ECHO_SETTLE

    async def _settle_echo(self) -> None:
        """Follow the one thread that echoed this window's text (unless the followed thread echoed it too); two
        new threads echoing it at once (the same text typed into two windows on the daemon) prove nothing:
        refused, said, nothing followed."""
        seen, self.echo_seen, self.echo_due = self.echo_seen, {}, None
        wanted = self.echo_wanted
        if self.binding.thread_id in seen:
            return  # the followed thread got it: still this window's (another window typed the same)
        if len(seen) != 1 or wanted is None:
            if len(seen) > 1:
                log.warning("echo proof ambiguous", threads=sorted(seen))
                await self.say("⛔ Two conversations on Codex's shared app-server received that same text at "
                               "once, so ccbot cannot tell which one is this window's; nothing from either is "
                               "posted here. Send a different message to try again.")
            return
        (thread_id,) = seen
        log.info("thread proven by echo", thread=thread_id)
        await self._plane_follow(thread_id, self.plane_paths.get(thread_id))
        if self.binding.thread_id == thread_id:
            self.seen_user_texts.append(wanted[0])
            self._poke()

    async def _plane_effect(self, effect: object) -> None:
        for hook in self.deps.hooks.effects:
            await hook(self._port(), effect)

    async def _answer_approval(self, command: AnswerApproval) -> None:
        """Handle ``command`` (see ``AnswerApproval``); always sets its reply."""
        refusal = await self._try_answer(command)
        command.reply.set(refusal)

    async def _try_answer(self, command: AnswerApproval) -> str | None:
        if command.window_id != self.binding.window_id:
            return "That window is no longer bound here; nothing was answered."
        if trio.current_time() > command.deadline:
            return "Too late; nothing was answered. Try again."
        request = self.plane_pending.get(command.request_id)
        if request is None:
            return PROMPT_GONE
        decision = request.decision(command.decision)
        client = self.plane_client
        if decision is None:
            return "Codex does not offer that answer here."
        if client is None:
            return "The connection to Codex is being restored; nothing was answered. Answer at the terminal."
        del self.plane_pending[command.request_id]  # before the await: a request is never answered twice
        try:
            await client.respond(request.request_id, protocol.answer_result(request, decision.value))
        except AppServerError as exc:
            log.warning("approval answer not sent", error=str(exc))
            return "The connection to Codex was lost; nothing was answered. Answer at the terminal."
        log.info("approval answered from Telegram", request=request.request_id, decision=decision.name)
        self._bump_activity()
        await self._plane_effect(PlaneApprovalGone(request.request_id, decision.name))
        return None

    async def _interrupt(self, command: Interrupt) -> None:
        """``turn/interrupt`` while a turn runs on the pane's app-server; otherwise Escape in the pane."""
        client, turn = self.plane_client, self.plane_turn
        if client is not None and turn is not None:
            try:
                with trio.fail_after(REQUEST_TIMEOUT):
                    await client.request(protocol.TURN_INTERRUPT, protocol.turn_interrupt_params(*turn))
                log.info("turn interrupted through the app-server", turn=turn[1])
                return
            except (AppServerError, trio.TooSlowError) as exc:
                log.warning("turn/interrupt failed; pressing Escape", error=str(exc) or type(exc).__name__)
        await self.press_keys("Escape")


def _is_user_thread(info: ThreadInfo) -> bool:
    """The pane's own conversation, not a side thread (title generation has no path)."""
    return bool(info.path) and info.thread_source in (None, "user")
