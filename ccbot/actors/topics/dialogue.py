"""The binding dialogue: the folder browser, the thread/window picker, and the window it creates or
binds (a hand-started window only once its thread is proven its own); kept messages go to it in order.
"""

from __future__ import annotations

import functools
import html
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog
import trio

from ccbot.actors.topics.core import BIND_RECHECK, THREAD_ID, new_owner_mark
from ccbot.actors.topics.folders import list_subdirs
from ccbot.actors.topics.pool import WindowPool
from ccbot.codex import identity, procfs
from ccbot.codex.plane import (
    SHARED_NOTE,
    Plane,
    configured_plane,
    daemon_socket,
    ensure_socket_dir,
    launch_argv,
    new_socket_path,
    plane_note,
    socket_dir,
)
from ccbot.codex.sessions import ThreadInfo, is_user_rollout
from ccbot.messages import UserText
from ccbot.state import ownership
from ccbot.state.model import Binding, TopicKey
from ccbot.telegram.types import CallbackQuery
from ccbot.tmux.adapter import PLACEHOLDER_NAME, TmuxError, WindowInfo
from ccbot.ui import Cancelled, browser, callbacks, picker
from ccbot.ui.session import UiSession

log = structlog.get_logger("ccbot.topics")


@dataclass(slots=True)
class BrowserDialog:
    """The folder browser's UI state: where it is and the folder names its buttons index."""

    state: browser.BrowserState
    entries: Sequence[str] = ()


@dataclass(slots=True)
class PickerDialog:
    """The thread/window picker's UI state: its choices for folder ``cwd`` and the page shown."""

    threads: list[ThreadInfo]
    windows: list[picker.WindowChoice]
    cwd: Path
    page: int = 0


class BindingDialogue(WindowPool):
    """The folder browser and picker that end in a window created or bound for the topic."""

    # -- directory browser ----------------------------------------------------------------------------
    async def _list(self, state: browser.BrowserState) -> browser.Listing:
        return await trio.to_thread.run_sync(list_subdirs, state.path, state.show_hidden)

    async def _open_browser(self, key: TopicKey, note: str = "🆕 This topic has no Codex session yet.") -> None:
        root = self.cfg.browse_root
        state = browser.BrowserState(root=Path("/"), path=root, show_hidden=self.cfg.show_hidden_dirs)
        session = self.open_ui("browser", key, BrowserDialog(state))
        self.caps.forget(key)
        listing = await self._list(state)
        session.state_as(BrowserDialog).entries = listing.names
        text, keyboard = browser.render_browser(state, listing.names, session.token, unreadable=listing.unreadable)
        text = note + "\n" + text
        session.message_id = await self.ask(key, text, keyboard)

    async def _browser_callback(self, session: UiSession, parsed: callbacks.Callback, query: CallbackQuery) -> None:
        if parsed.kind == callbacks.BROWSER_HIDDEN and not self.cfg.show_hidden_dirs:
            await self.answer(query, "Hidden folders are off (CCBOT_SHOW_HIDDEN_DIRS).")
            return
        dialog = session.state_as(BrowserDialog)
        outcome = browser.apply(dialog.state, parsed, dialog.entries)
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
        dialog.state = outcome
        listing = await self._list(outcome)
        dialog.entries = listing.names
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
        picker_session = self.open_ui("picker", session.key, PickerDialog(threads, unbound, path))
        picker_session.message_id = session.message_id
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
        dialog = session.state_as(PickerDialog)
        threads, windows, cwd = dialog.threads, dialog.windows, dialog.cwd
        outcome = picker.apply(threads, windows, dialog.page, parsed)
        await self.answer(query)
        if isinstance(outcome, picker.Page):
            dialog.page = outcome.n
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

    def _codex_argv(self, resume: str | None) -> tuple[list[str], str | None]:
        """The pane's argv and its app-server socket (None on the tmux plane).

        On the app-server plane (Codex's defaults; ``ccbot.codex.plane``) the pane gets its own app-server
        and the TUI joins it with ``--remote``: the server names the pane's thread exactly. On the tmux plane
        (the user runs Codex in-process on purpose) the command is run with ``--no-daemon``: only then does
        the window's own Codex process hold its thread, which is how ccbot proves the window's conversation
        (``ccbot.codex.identity``). Raises OSError when the private socket directory is unsafe."""
        argv = list(self.cfg.codex_command)
        if configured_plane(argv, self.cfg.codex_home) is Plane.APPSERVER:
            socket = new_socket_path(ensure_socket_dir(socket_dir()))
            return launch_argv(argv, socket, resume), str(socket)
        daemon = [] if "--no-daemon" in argv else ["--no-daemon"]
        if resume is not None:
            return [*argv, "resume", *daemon, resume], None
        return [*argv, *daemon], None

    async def _create_window(self, key: TopicKey, cwd: Path, *, resume: str | None,
                             dialog: int | None = None) -> None:
        """Start Codex for ``key`` in ``cwd`` (resuming ``resume``) and bind it; ``dialog`` is the binding
        dialogue's message, which the bound notice replaces."""
        if key in self.running:
            await self.say(key, "This topic is already bound.")
            return
        if resume is not None and not THREAD_ID.fullmatch(resume):
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
            argv, socket = self._codex_argv(resume)
            await self.tmux.ensure_session()  # the tmux server may have been restarted meanwhile
            window = await self.tmux.new_window(name, cwd, argv, env, owner=mark)
        except (TmuxError, OSError) as exc:
            await self.say(key, f"⚠️ Could not start Codex: <code>{html.escape(str(exc))}</code>")
            return
        binding = Binding(chat_id=key[0], topic_id=key[1], window_id=window.window_id, window_name=window.name,
                          cwd=str(window.cwd), pane_id=window.pane_id, owner_mark=mark, bound_at=time.time(),
                          thread_id=resume, appserver_socket=socket)
        await self._bind(binding, window, dialog)

    async def _bind_existing(self, key: TopicKey, window_id: str, *, dialog: int | None = None) -> None:
        """Bind a window started by hand, only when its thread can be proven to be its own (an in-process
        Codex, see ``ccbot.codex.identity``; or a client of Codex's shared daemon, whose thread the window
        actor proves by echo once bound), the thread is not bound elsewhere, and nobody marked the window;
        otherwise refuse with one sentence and reopen the folder browser (kept messages stay)."""
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
        shared: str | None = None  # Codex's shared daemon: the window's thread is proven by echo once bound
        if isinstance(verdict, identity.Unprovable) and verdict.code == "daemon" \
                and await trio.Path(daemon_socket(self.cfg.codex_home)).is_socket():
            shared = str(daemon_socket(self.cfg.codex_home))
        elif isinstance(verdict, identity.Unprovable):
            fix = f"; {identity.DAEMON_CLIENT_FIX}" if verdict.code in ("daemon", "remote") else ""
            await self._refuse_bind(key, verdict.reason + fix)
            return
        rollout = verdict.rollout if isinstance(verdict, identity.InProcess) else None
        thread = procfs.thread_id_from_path(rollout) if rollout is not None else None
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
                          cwd=str(window.cwd), pane_id=window.pane_id, owner_mark=mark, bound_at=time.time(),
                          appserver_socket=shared, appserver_shared=shared is not None)
        await self._bind(binding, window, dialog)

    async def _classify(self, window: WindowInfo) -> identity.PaneVerdict:
        evidence = await trio.to_thread.run_sync(functools.partial(
            procfs.pane_evidence, window.pane_pid, self.cfg.codex_home, accept=is_user_rollout))
        return identity.classify_pane(evidence, settled=True)

    async def _refuse_bind(self, key: TopicKey, reason: str) -> None:
        """One sentence why nothing was bound; the browser opens again so kept messages can still go."""
        log.info("bind refused", reason=reason)
        await self._open_browser(key, note=f"⛔ Not bound: {reason}.")


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
                  f"At the desk: <code>tmux attach -t {html.escape(self.cfg.tmux_session_name)}</code>\n"
                  f"{plane_note(Plane.APPSERVER if binding.appserver_socket else Plane.TMUX)}"
                  + (f"\n{SHARED_NOTE}" if binding.appserver_shared else ""))
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


    async def _reopen_kept(self) -> None:
        """After a restart: topics that had kept messages get their folder browser again."""
        for key, entries in list(self.keeper.state.kept.items()):
            if key in self.running or not entries:
                self.keeper.state.kept.pop(key, None)
                continue
            self.pending[key] = [UserText(e["text"], int(e["message_id"])) for e in entries]
            await self._open_browser(key, note=f"♻️ ccbot restarted; {len(entries)} kept message(s) are waiting.")
