"""The sessions layer: topic ↔ tmux window bindings, the binding dialogue, and the window actors.

``Topics`` implements the router's ``TopicHandler``. It owns the windows nursery (one supervised
``WindowActor`` per binding, each in its own cancel scope) and each window's inbox channel.

Contracts:
- A message in an unbound topic is kept (never lost) and opens the directory browser; once a folder (and
  thread) is chosen a window is created and the kept messages are delivered to it in order.
- A callback acts only if its UI session belongs to the topic the button lives in; anything else
  (forged, stale, another topic's) is answered with a refusal and changes nothing.
- Closing a topic kills its window; a deleted topic (seen on send) does the same; /unbind keeps it.
"""

from __future__ import annotations

import functools
import html
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
import trio

from ccbot.actors.rollout_watch import RolloutWatch
from ccbot.actors.router import thread_kwargs
from ccbot.actors.sender import call
from ccbot.actors.window import WindowActor, WindowDeps, WindowHooks, not_sent_text
from ccbot.codex import identity, procfs
from ccbot.codex.sessions import SessionIndex, ThreadInfo, is_user_rollout
from ccbot.config import Config
from ccbot.messages import Lane, Outbound, PressKeys, TopicRequest, UserText, WindowCommand
from ccbot.state import ownership
from ccbot.state.keeper import StateKeeper
from ccbot.state.model import Binding, TopicKey
from ccbot.supervisor import GaveUp, RestartPolicy, supervise
from ccbot.telegram.errors import TelegramError
from ccbot.telegram.types import CallbackQuery, InlineKeyboard, Message
from ccbot.tmux.adapter import PLACEHOLDER_NAME, Tmux, TmuxError, WindowInfo
from ccbot.tmux.control import ControlClient
from ccbot.ui import Cancelled, browser, callbacks, picker
from ccbot.ui.caps import IntakeCaps

log = structlog.get_logger("ccbot.topics")

BIND_RECHECK = 2.0
_THREAD_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def new_owner_mark(key: TopicKey) -> str:
    """A window's owner mark: the full chat and topic ids and a random part, so that no two bindings (of
    any chat, of any ccbot sharing the tmux server) ever carry the same mark."""
    return f"{key[0]}:{key[1]}:{secrets.token_hex(8)}"

INBOX_SIZE = 32
CODEX_COMMANDS = ("clear", "compact", "diff", "init", "review", "status")
DIALOGUES = ("browser", "picker")  # the binding dialogue's UI kinds


@dataclass(slots=True)
class UiSession:
    """An open inline-keyboard dialogue; ``token`` is the id carried in its callback data."""

    token: str
    kind: str  # "browser", "picker", or a kind registered by a feature (history, screenshot, prompt)
    key: TopicKey
    message_id: int | None = None
    state: Any = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class RunningWindow:
    binding: Binding
    inbox: trio.MemorySendChannel[WindowCommand]
    scope: trio.CancelScope


CallbackHandler = Callable[["Topics", UiSession, callbacks.Callback, CallbackQuery], Awaitable[None]]
MessageConverter = Callable[["Topics", TopicKey, Message], Awaitable[WindowCommand | None]]


class Topics:
    def __init__(
        self,
        cfg: Config,
        keeper: StateKeeper,
        outbox: trio.MemorySendChannel[Outbound],
        tmux: Tmux,
        index: SessionIndex,
    ) -> None:
        self.cfg = cfg
        self.keeper = keeper
        self.outbox = outbox
        self.tmux = tmux
        self.index = index
        self.ui: dict[str, UiSession] = {}
        self.pending: dict[TopicKey, list[Message | UserText]] = {}
        self.running: dict[TopicKey, RunningWindow] = {}
        self.hooks = WindowHooks()
        self.changes: ControlClient | None = None  # set by the app: one tmux control-mode client
        self.rollouts: RolloutWatch | None = None  # set by the app: one watcher of all rollout files
        self.api: Any = None  # BotApi, for features that download files
        self.callback_handlers: dict[str, CallbackHandler] = {}
        self.converters: list[MessageConverter] = []
        self._nursery: trio.Nursery | None = None
        self._index_limiter = trio.CapacityLimiter(1)
        self.caps = IntakeCaps()

    # -- lifecycle ------------------------------------------------------------------------------------
    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Own the windows nursery: re-find windows of saved bindings, start their actors, then wait."""
        self.running.clear()
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            await self.tmux.ensure_session()
            if self.changes is not None:
                await nursery.start(self.changes.run)
            if self.rollouts is not None:
                await nursery.start(self.rollouts.run)
            await self._restore_bindings()
            await self._reopen_kept()
            task_status.started()
            await trio.sleep_forever()

    async def _restore_bindings(self) -> None:
        """Re-find each saved binding's window by its owner mark; a binding whose window is gone is dropped
        and its topic told. Bindings saved before owner marks existed adopt their window only when both its
        id and its name still match and no one else marked it."""
        try:
            windows = await self.tmux.list_windows()
        except TmuxError as exc:
            log.warning("cannot list tmux windows at start", error=str(exc))
            windows = []
        for key, binding in list(self.keeper.state.bindings.items()):
            found = await self._find_own_window(windows, binding)
            if found is None:
                log.warning("bound window is gone", window=binding.window_name)
                del self.keeper.state.bindings[key]
                await self.say(key, self._gone_text(binding, "⏹ The tmux window of this topic is gone "
                                                             "(tmux restarted?)."))
                continue
            if found.window_id != binding.window_id or found.pane_id != binding.pane_id:
                log.info("window re-found by its owner mark", old=binding.window_id, new=found.window_id)
                binding.window_id, binding.pane_id = found.window_id, found.pane_id
            self._start_actor(binding)
        await self.keeper.save()

    async def _find_own_window(self, windows: list[WindowInfo], binding: Binding) -> WindowInfo | None:
        if binding.owner_mark:
            return next((w for w in windows if w.owner == binding.owner_mark), None)
        legacy = next((w for w in windows if w.window_id == binding.window_id), None)
        if legacy is None or legacy.name != binding.window_name or legacy.owner:
            return None
        mark = new_owner_mark(binding.key)
        if not await self.tmux.claim_window(legacy.window_id, mark):
            return None
        binding.owner_mark = mark
        return legacy

    def _gone_text(self, binding: Binding, head: str) -> str:
        if binding.thread_id:
            return head + f"\nResume it with <code>codex resume {html.escape(binding.thread_id)}</code>."
        return head

    def _start_actor(self, binding: Binding) -> None:
        assert self._nursery is not None
        send, recv = trio.open_memory_channel[WindowCommand](INBOX_SIZE)
        scope = trio.CancelScope()
        self.running[binding.key] = RunningWindow(binding, send, scope)
        deps = WindowDeps(
            tmux=self.tmux, outbox=self.outbox, keeper=self.keeper,
            sessions_dir=self.cfg.codex_home / "sessions", poll_interval=self.cfg.monitor_poll_interval,
            on_gone=self._on_window_gone, hooks=self.hooks, hang_after=self.cfg.hang_after,
            changes=self.changes, rollouts=self.rollouts,
        )
        self._nursery.start_soon(self._run_window, binding, deps, recv, scope,
                                 name=f"window {binding.window_id}")

    async def _run_window(self, binding: Binding, deps: WindowDeps, recv: trio.MemoryReceiveChannel[WindowCommand],
                          scope: trio.CancelScope) -> None:
        with scope:
            async with recv:
                try:
                    await supervise(
                        f"window {binding.window_id}",
                        lambda task_status: WindowActor(binding, deps).run(recv.clone(), task_status=task_status),
                        RestartPolicy(initial_backoff=1.0, max_restarts=5, window=300.0),
                    )
                except GaveUp as exc:
                    log.error("window actor gave up", error=str(exc))
                    await self.say(binding.key, "⚠️ Lost track of this window after repeated errors; "
                                                "unbinding it (the window keeps running).")
                    await self._remove_binding(binding, kill=False)

    async def _on_window_gone(self, binding: Binding, why: str) -> None:
        """Called by a window actor: the window died, Codex exited, or the topic is gone."""
        await self._remove_binding(binding, kill=why in ("exited", "topic"))

    async def _remove_binding(self, binding: Binding, *, kill: bool) -> None:
        """Forget the binding, kill its window if asked, then stop its actor.

        The topic stops routing to the window before the first await, so no message can slip into an inbox
        that is about to close. The actor may be the caller (it reports its own window gone), so its cancel
        scope is cancelled last.
        """
        key = binding.key
        running = self.running.get(key)
        if running is not None and running.binding is binding:
            del self.running[key]
            running.inbox.close()
        else:
            running = None
        if self.keeper.state.bindings.get(key) is binding:
            del self.keeper.state.bindings[key]
            await self.keeper.save()
        try:
            if kill:
                await self.tmux.kill_window(binding.window_id)
            elif binding.owner_mark:
                await self.tmux.clear_owner(binding.window_id)  # free for another binding
        except TmuxError as exc:
            log.info("releasing the window failed", error=str(exc), kill=kill)
        if running is not None:
            running.scope.cancel()

    # -- replies ------------------------------------------------------------------------------------
    # Replies to the user's own actions go in Lane.USER: first in their chat's queue.
    async def say(self, key: TopicKey, text: str, **extra: Any) -> None:
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
        await self.outbox.send(Outbound(key[0], "edit_message_text", {
            "chat_id": key[0], "message_id": message_id, "text": text, "reply_markup": keyboard}, lane=Lane.USER))

    async def answer(self, query: CallbackQuery, text: str | None = None) -> None:
        await self.outbox.send(Outbound(
            query.message.chat.id if query.message is not None else query.from_user.id,
            "answer_callback_query", {"callback_query_id": query.id, "text": text}, lane=Lane.USER))

    def open_ui(self, kind: str, key: TopicKey, state: Any = None) -> UiSession:
        session = UiSession(token=callbacks.new_token(), kind=kind, key=key, state=state)
        self.ui[session.token] = session
        return session

    def close_ui(self, session: UiSession) -> None:
        self.ui.pop(session.token, None)

    def spawn(self, fn: Callable[..., Awaitable[None]], *args: Any) -> None:
        """Run a feature task beside the windows, e.g. a send that waits for Telegram's pacing, so that a
        window's screen loop or inbox is not held. ``fn`` must catch its own errors: one escaping would
        stop every window."""
        assert self._nursery is not None, "Topics.run has not started"
        self._nursery.start_soon(fn, *args)

    def owns(self, key: TopicKey) -> bool:
        return key in self.running or any(s.key == key for s in self.ui.values())

    # -- messages -------------------------------------------------------------------------------------
    async def on_message(self, key: TopicKey, message: Message) -> None:
        running = self.running.get(key)
        if running is not None:
            command = await self._convert(key, message)
            if command is not None:
                await self._to_window(key, running, command)
            return
        refusal = self.caps.keep_refusal(sum(len(v) for k, v in self.pending.items() if k[0] == key[0]))
        if refusal is not None:
            if self.caps.first_time(key, refusal):
                await self.say(key, refusal, reply_to_message_id=message.message_id)
            return
        waiting = self.pending.setdefault(key, [])
        waiting.append(message)
        if message.text:
            self.keeper.state.kept.setdefault(key, []).append({"text": message.text, "message_id": message.message_id})
            await self.keeper.save()
        if self._dialogue_open(key):
            await self.say(key, f"📥 Kept ({len(waiting)} waiting). Choose a folder above first.")
            return
        user = message.from_user.id if message.from_user is not None else 0
        now = trio.current_time()
        open_in_chat = sum(1 for s in self.ui.values() if s.key[0] == key[0] and s.kind in DIALOGUES)
        refusal = self.caps.open_refusal(user, open_in_chat, now)
        if refusal is not None:
            if self.caps.first_time(key, refusal):
                await self.say(key, refusal)
            return
        self.caps.opening(user, now)
        await self._open_browser(key)

    def _dialogue_open(self, key: TopicKey) -> bool:
        return any(s.key == key and s.kind in DIALOGUES for s in self.ui.values())

    async def _convert(self, key: TopicKey, message: Message) -> WindowCommand | None:
        for converter in self.converters:
            command = await converter(self, key, message)
            if command is not None:
                return command
        if message.text:
            return UserText(message.text, message.message_id)
        await self.say(key, "This kind of message can't be sent to Codex.")
        return None

    async def _to_window(self, key: TopicKey, running: RunningWindow, command: WindowCommand) -> None:
        """Queue ``command`` for the window. Text is also journaled in the binding (saved before the router
        confirms the update), so a kill before it was typed does not lose it: the next window actor types
        what is still pending. Text for a window that just went away is kept for the next binding."""
        entry = None
        if isinstance(command, UserText):
            entry = {"text": command.text, "message_id": command.message_id, "origin": command.origin}
            running.binding.pending_inputs.append(entry)
        try:
            running.inbox.send_nowait(command)
        except trio.WouldBlock:
            if entry is not None:
                running.binding.pending_inputs.remove(entry)
            await self.say(key, "⏳ Codex's window is still busy with earlier messages; nothing was typed. "
                                "Try again in a moment.")
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            if entry is not None and isinstance(command, UserText):
                running.binding.pending_inputs.remove(entry)
                await self._keep_for_next_binding(key, command)
                return
            await self.say(key, "This topic's window just went away; nothing was sent.")
        await self.keeper.save()

    async def _keep_for_next_binding(self, key: TopicKey, item: UserText) -> None:
        self.pending.setdefault(key, []).append(item)
        self.keeper.state.kept.setdefault(key, []).append({"text": item.text, "message_id": item.message_id})
        await self.keeper.save()
        if not self._dialogue_open(key):
            await self._open_browser(key, note="⏹ This topic's window went away; your message is kept.")

    async def on_command(self, key: TopicKey, message: Message, command: str, args: str) -> None:
        running = self.running.get(key)
        if command == "usage":
            await self.say(key, "Codex has no /usage; use /status for token usage and limits.")
            return
        if command == "new":
            if running is not None:
                await self.say(key, "This topic is already bound; /unbind it first.")
            elif not self._dialogue_open(key):
                await self._open_browser(key)
            return
        if running is None:
            if command in ("unbind", "esc", "screenshot", "history") or command in CODEX_COMMANDS:
                await self.say(key, "No Codex window is bound to this topic yet — send a message to start one.")
                return
            await self.on_message(key, message)
            return
        if command == "unbind":
            binding = running.binding
            # what the window had not started typing never will be (an entry being typed may be in the pane)
            unsent = [UserText(e["text"], int(e["message_id"])) for e in binding.pending_inputs
                      if not e.get("typing")]
            await self._remove_binding(binding, kill=False)
            await self.say(key, f"🔓 Unbound. The tmux window <code>{html.escape(binding.window_name)}"
                                "</code> keeps running; send a message to bind this topic again.")
            if unsent:
                await self.say(key, not_sent_text("the topic was unbound before Codex could take it", unsent))
            return
        if command == "esc":
            await self._to_window(key, running, PressKeys(("Escape",), reason="/esc"))
            return
        if command in ("screenshot", "history") or command in self.hooks.requests:
            await self._to_window(key, running, TopicRequest(command, args))
            return
        text = f"/{command} {args}".strip()
        await self._to_window(key, running, UserText(text, message.message_id, origin="command"))

    async def on_topic_closed(self, key: TopicKey) -> None:
        self._take_kept(key)
        await self.keeper.save()
        for session in [s for s in self.ui.values() if s.key == key]:
            self.close_ui(session)
        running = self.running.get(key)
        binding = running.binding if running else self.keeper.state.bindings.get(key)
        if binding is not None:
            log.info("topic closed; killing its window", window=binding.window_id)
            await self._remove_binding(binding, kill=True)

    # -- callbacks ------------------------------------------------------------------------------------
    async def on_callback(self, key: TopicKey | None, query: CallbackQuery) -> None:
        try:
            parsed = callbacks.decode(query.data or "")
        except callbacks.BadCallback as exc:
            log.warning("bad callback data refused", error=str(exc))
            await self.answer(query, "This button is not valid.")
            return
        session = self.ui.get(parsed.token)
        if session is None or key is None:  # key None: a message too old to say which topic it was in
            await self.answer(query, "This menu has expired.")
            return
        if session.key != key or (query.message is not None
                                  and session.message_id not in (None, query.message.message_id)):
            log.warning("callback for another topic refused", token=parsed.token, topic=key, owner=session.key)
            await self.answer(query, "This button belongs to another topic.")
            return
        try:
            if session.kind == "browser":
                await self._browser_callback(session, parsed, query)
            elif session.kind == "picker":
                await self._picker_callback(session, parsed, query)
            elif session.kind in self.callback_handlers:
                await self.callback_handlers[session.kind](self, session, parsed, query)
            else:
                await self.answer(query, "This menu has expired.")
        except callbacks.BadCallback as exc:
            log.warning("stale or forged button refused", error=str(exc))
            await self.answer(query, "This button is out of date.")

    # -- directory browser ----------------------------------------------------------------------------
    async def _list(self, state: browser.BrowserState) -> browser.Listing:
        return await trio.to_thread.run_sync(browser.list_subdirs, state.path, state.show_hidden)

    async def _open_browser(self, key: TopicKey, note: str = "🆕 This topic has no Codex session yet.") -> None:
        root = self.cfg.browse_root
        state = browser.BrowserState(root=Path("/"), path=root, show_hidden=self.cfg.show_hidden_dirs)
        session = self.open_ui("browser", key, state)
        self.caps.forget(key)
        listing = await self._list(state)
        session.data["entries"] = listing.names
        text, keyboard = browser.render_browser(state, listing.names, session.token, unreadable=listing.unreadable)
        text = note + "\n" + text
        session.message_id = await self.ask(key, text, keyboard)

    async def _browser_callback(self, session: UiSession, parsed: callbacks.Callback, query: CallbackQuery) -> None:
        if parsed.kind == callbacks.BROWSER_HIDDEN and not self.cfg.show_hidden_dirs:
            await self.answer(query, "Hidden folders are off (CCBOT_SHOW_HIDDEN_DIRS).")
            return
        outcome = browser.apply(session.state, parsed, session.data.get("entries", ()))
        await self.answer(query)
        if isinstance(outcome, Cancelled):
            self.close_ui(session)
            dropped = len(self._take_kept(session.key))
            await self.keeper.save()
            note = f" {dropped} kept message(s) discarded." if dropped else ""
            if session.message_id:
                await self.edit(session.key, session.message_id, "✖ Cancelled." + note, None)
            return
        if isinstance(outcome, browser.Selected):
            self.close_ui(session)
            await self._folder_chosen(session, outcome.path)
            return
        session.state = outcome
        listing = await self._list(outcome)
        session.data["entries"] = listing.names
        text, keyboard = browser.render_browser(outcome, listing.names, session.token, unreadable=listing.unreadable)
        if session.message_id:
            await self.edit(session.key, session.message_id, text, keyboard)

    async def _folder_chosen(self, session: UiSession, path: Path) -> None:
        await trio.to_thread.run_sync(self.index.refresh, limiter=self._index_limiter)
        threads = self.index.threads_for_cwd(path)
        unbound = await self._unbound_windows(session.key)
        if not threads and not unbound:
            if session.message_id:
                await self.edit(session.key, session.message_id,
                                f"📂 <code>{html.escape(str(path))}</code>\n✨ Starting a new Codex thread…", None)
            await self._create_window(session.key, path, resume=None, dialog=session.message_id)
            return
        picker_session = self.open_ui("picker", session.key, 0)
        picker_session.message_id = session.message_id
        picker_session.data.update(threads=threads, windows=unbound, cwd=path)
        text, keyboard = picker.render_picker(threads, unbound, 0, picker_session.token, time.time(), cwd=path)
        if session.message_id:
            await self.edit(session.key, session.message_id, text, keyboard)

    async def _unbound_windows(self, key: TopicKey) -> list[picker.WindowChoice]:
        """Live windows ``key`` may bind: no binding holds them and they carry no owner mark but, at most,
        one of ``key``'s own (left by a lost state file). Any other mark is another topic's binding, of
        this bot or of another ccbot sharing the tmux server."""
        try:
            windows = await self.tmux.list_windows()
        except TmuxError:
            return []
        return [picker.WindowChoice(w.window_id, w.name, w.cwd) for w in windows
                if self._may_take(key, w) and not w.pane_dead and w.name != PLACEHOLDER_NAME]

    def _may_take(self, key: TopicKey, window: WindowInfo) -> bool:
        mine = window.owner.startswith(f"{key[0]}:{key[1]}:")
        return (not window.owner or mine) and ownership.window_holder(
            self.keeper.state.bindings, key, window.window_id) is None

    async def _picker_callback(self, session: UiSession, parsed: callbacks.Callback, query: CallbackQuery) -> None:
        threads: list[ThreadInfo] = session.data["threads"]
        windows = session.data["windows"]
        cwd: Path = session.data["cwd"]
        outcome = picker.apply(threads, windows, session.state, parsed)
        await self.answer(query)
        if isinstance(outcome, picker.Page):
            session.state = outcome.n
            text, keyboard = picker.render_picker(threads, windows, outcome.n, session.token, time.time(), cwd=cwd)
            if session.message_id:
                await self.edit(session.key, session.message_id, text, keyboard)
            return
        self.close_ui(session)
        if isinstance(outcome, Cancelled):
            dropped = len(self._take_kept(session.key))
            await self.keeper.save()
            if session.message_id:
                await self.edit(session.key, session.message_id,
                                "✖ Cancelled." + (f" {dropped} kept message(s) discarded." if dropped else ""), None)
            return
        if session.message_id:
            label = {picker.Fresh: "✨ Starting a new Codex thread…",
                     picker.Resume: "⏯ Resuming the thread…",
                     picker.BindWindow: "🔗 Binding the window…"}[type(outcome)]
            await self.edit(session.key, session.message_id,
                            f"📂 <code>{html.escape(str(cwd))}</code>\n{label}", None)
        if isinstance(outcome, picker.BindWindow):
            await self._bind_existing(session.key, outcome.window_id, dialog=session.message_id)
        elif isinstance(outcome, picker.Resume):
            await self._create_window(session.key, cwd, resume=outcome.thread_id, dialog=session.message_id)
        else:
            await self._create_window(session.key, cwd, resume=None, dialog=session.message_id)

    # -- windows --------------------------------------------------------------------------------------
    def _window_name(self, key: TopicKey, cwd: Path) -> str:
        """A readable name; identity is the owner mark, so names may collide."""
        base = re.sub(r"[^A-Za-z0-9_.-]+", "-", cwd.name or "root").strip("-")[:24] or "codex"
        return f"{base}-{abs(key[0]) % 10000}-{key[1]}"

    def _codex_argv(self, resume: str | None) -> list[str]:
        """The configured command, always in-process (``--no-daemon``): only then does the window's own
        Codex process hold its thread, which is how ccbot proves the window's conversation (see
        ``ccbot.codex.identity``), whatever the user's ``daemon_auto_start`` setting is."""
        argv = list(self.cfg.codex_command)
        daemon = [] if "--no-daemon" in argv else ["--no-daemon"]
        if resume is not None:
            return [*argv, "resume", *daemon, resume]
        return [*argv, *daemon]

    async def _create_window(self, key: TopicKey, cwd: Path, *, resume: str | None,
                             dialog: int | None = None) -> None:
        """Start Codex for ``key`` in ``cwd`` (resuming ``resume``) and bind it; ``dialog`` is the binding
        dialogue's message, which the bound notice replaces."""
        if key in self.running:
            await self.say(key, "This topic is already bound.")
            return
        if resume is not None and not _THREAD_ID.fullmatch(resume):
            await self.say(key, "⛔ That is not a Codex thread id; nothing was started.")
            return
        if resume is not None and (holder := ownership.thread_holder(self.keeper.state.bindings, key, resume)):
            await self._refuse_bind(key, "that thread is already bound to another topic "
                                         f"({html.escape(self._topic_label(holder))}); /unbind it there first")
            return
        env = {"CODEX_HOME": str(self.cfg.codex_home)}
        name = self._window_name(key, cwd)
        mark = new_owner_mark(key)
        try:
            await self.tmux.ensure_session()  # the tmux server may have been restarted meanwhile
            window = await self.tmux.new_window(name, cwd, self._codex_argv(resume), env, owner=mark)
        except TmuxError as exc:
            await self.say(key, f"⚠️ Could not start Codex: <code>{html.escape(str(exc))}</code>")
            return
        binding = Binding(chat_id=key[0], topic_id=key[1], window_id=window.window_id, window_name=window.name,
                          cwd=str(window.cwd), pane_id=window.pane_id, owner_mark=mark, bound_at=time.time(),
                          thread_id=resume)
        await self._bind(binding, window, dialog)

    async def _bind_existing(self, key: TopicKey, window_id: str, *, dialog: int | None = None) -> None:
        """Bind a window started by hand, only when its thread can be proven to be its own (an in-process
        Codex, see ``ccbot.codex.identity``), the thread is not bound elsewhere, and nobody marked the
        window; otherwise refuse with one sentence and reopen the folder browser (kept messages stay)."""
        windows = {w.window_id: w for w in await self.tmux.list_windows()}
        window = windows.get(window_id)
        bindings = self.keeper.state.bindings
        if window is None or window.pane_dead or not self._may_take(key, window):
            await self._refuse_bind(key, "that window is gone or already bound")
            return
        verdict = await self._classify(window)
        if isinstance(verdict, identity.Unprovable) and verdict.code in ("daemon", "starting"):
            await trio.sleep(BIND_RECHECK)  # an in-process Codex that just started takes its thread lock soon
            verdict = await self._classify(window)
        if isinstance(verdict, identity.Unprovable):
            fix = f"; {identity.DAEMON_CLIENT_FIX}" if verdict.code == "daemon" else ""
            await self._refuse_bind(key, verdict.reason + fix)
            return
        thread = procfs.thread_id_from_path(verdict.rollout) if verdict.rollout is not None else None
        if thread is not None and (holder := ownership.thread_holder(bindings, key, thread)):
            await self._refuse_bind(key, "that window's thread is already bound to another topic "
                                         f"({html.escape(self._topic_label(holder))})")
            return
        mark = new_owner_mark(key)
        fresh = {w.window_id: w for w in await self.tmux.list_windows()}.get(window_id)
        if key in self.running or fresh is None or not self._may_take(key, fresh) \
                or not await self.tmux.claim_window(window_id, mark, replace=fresh.owner):
            await self._refuse_bind(key, "that window was just bound elsewhere")
            return
        binding = Binding(chat_id=key[0], topic_id=key[1], window_id=window.window_id, window_name=window.name,
                          cwd=str(window.cwd), pane_id=window.pane_id, owner_mark=mark, bound_at=time.time())
        await self._bind(binding, window, dialog)

    async def _classify(self, window: WindowInfo) -> identity.PaneVerdict:
        evidence = await trio.to_thread.run_sync(functools.partial(
            procfs.pane_evidence, window.pane_pid, self.cfg.codex_home, accept=is_user_rollout))
        return identity.classify_pane(evidence, settled=True)

    async def _refuse_bind(self, key: TopicKey, reason: str) -> None:
        """One sentence why nothing was bound; the browser opens again so kept messages can still go."""
        log.info("bind refused", reason=reason)
        await self._open_browser(key, note=f"⛔ Not bound: {reason}.")

    def _topic_label(self, key: TopicKey) -> str:
        return f"chat {key[0]}, topic {key[1]}" if key[1] else f"chat {key[0]}"

    async def _bind(self, binding: Binding, window: WindowInfo, dialog: int | None) -> None:
        """Record the binding, start its actor, say so (as the final edit of the dialogue message ``dialog``
        when there is one: no extra message) and hand it the kept messages in order."""
        key = binding.key
        self.keeper.state.bindings[key] = binding
        await self.keeper.save()
        self._start_actor(binding)
        log.info("topic bound", window=window.window_id, name=window.name, cwd=binding.cwd)
        notice = (f"🔗 Bound to tmux window <code>{html.escape(window.name)}</code> in "
                  f"<code>{html.escape(binding.cwd)}</code>. "
                  f"At the desk: <code>tmux attach -t {html.escape(self.cfg.tmux_session_name)}</code>")
        if dialog is not None:
            await self.edit(key, dialog, notice, None)
        else:
            await self.say(key, notice, disable_notification=True)
        running = self.running[key]
        for message in self._take_kept(key):
            command = message if isinstance(message, UserText) else await self._convert(key, message)
            if command is not None:
                await self._to_window(key, running, command)
        await self.keeper.save()

    def _take_kept(self, key: TopicKey) -> list[Message | UserText]:
        """The messages kept while the topic was unbound (caller saves the state)."""
        self.keeper.state.kept.pop(key, None)
        return self.pending.pop(key, [])

    async def _reopen_kept(self) -> None:
        """After a restart: topics that had kept messages get their folder browser again."""
        for key, entries in list(self.keeper.state.kept.items()):
            if key in self.running or not entries:
                self.keeper.state.kept.pop(key, None)
                continue
            self.pending[key] = [UserText(e["text"], int(e["message_id"])) for e in entries]
            await self._open_browser(key, note=f"♻️ ccbot restarted; {len(entries)} kept message(s) are waiting.")

