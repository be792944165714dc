"""The window pool: one supervised window actor per binding, each in its own cancel scope, in the windows
nursery; bindings re-found by their owner mark at start; a binding removed (and its window killed or
released) when its window, Codex or topic goes away.
"""

from __future__ import annotations

from typing import Any

import structlog
import trio

from ccbot.actors.topics.core import INBOX_SIZE, RunningWindow, TopicsCore, new_owner_mark
from ccbot.actors.window import WindowActor, WindowDeps
from ccbot.messages import WindowCommand
from ccbot.state.model import Binding
from ccbot.supervisor import GaveUp, RestartPolicy, supervise
from ccbot.tmux.adapter import TmuxError, WindowInfo

log = structlog.get_logger("ccbot.topics")


class WindowPool(TopicsCore):
    """One supervised window actor per binding, in the windows nursery Topics owns."""

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
            if self.appservers is not None:
                await nursery.start(self.appservers.run)
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
            self._start_actor(binding, found)  # the actor adopts the window's ids (tmux may have renumbered)
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


    def _start_actor(self, binding: Binding, found: WindowInfo | None = None) -> None:
        """Start ``binding``'s supervised window actor; ``found``: its window as re-found by the owner mark,
        whose ids the first incarnation adopts (the binding's window and pane ids are the actor's to write)."""
        assert self._nursery is not None
        send, recv = trio.open_memory_channel[WindowCommand](INBOX_SIZE)
        scope = trio.CancelScope()
        self.running[binding.key] = RunningWindow(binding, send, scope)
        deps = WindowDeps(
            tmux=self.tmux, outbox=self.outbox, keeper=self.keeper,
            sessions_dir=self.cfg.codex_home / "sessions", poll_interval=self.cfg.monitor_poll_interval,
            on_gone=self._on_window_gone, hooks=self.hooks, hang_after=self.cfg.hang_after,
            changes=self.changes, rollouts=self.rollouts, drafts_refused=self.drafts_refused,
            appservers=self.appservers,
        )
        window_id = found.window_id if found is not None else binding.window_id
        self._nursery.start_soon(self._run_window, binding, deps, recv, scope, found,
                                 name=f"window {window_id}")

    async def _run_window(self, binding: Binding, deps: WindowDeps, recv: trio.MemoryReceiveChannel[WindowCommand],
                          scope: trio.CancelScope, found: WindowInfo | None) -> None:
        adopt = [found] if found is not None else []  # the first incarnation only: later ones follow the mark
        with scope:
            async with recv:
                try:
                    await supervise(
                        f"window {found.window_id if found is not None else binding.window_id}",
                        lambda task_status: WindowActor(binding, deps, adopt=adopt.pop() if adopt else None).run(
                            recv.clone(), task_status=task_status),
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

