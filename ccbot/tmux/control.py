"""Which panes changed, from one tmux control-mode client instead of polling every pane.

One ``tmux -C attach-session -f ignore-size,read-only -t =<session>`` client stays attached to ccbot's
session. tmux sends it a ``%output %<pane> <data>`` line whenever a pane of the session writes to its
terminal (any window, not only the current one), and, for the subscription this module sets up
(``refresh-client -B``), a ``%subscription-changed`` line when a pane dies (checked by tmux once a
second). ``ignore-size`` keeps the client out of window sizing; ``read-only`` means it can type nothing.

State: every pane has a **version**, a counter that goes up whenever something may have changed on its
screen: output, death, a mode change (copy-mode), its window closing, and — for every known pane — a
(re)connection of the client (what happened while it was away is unknown). ``version`` and
``wait_changed`` are the whole interface a window actor needs::

    seen = control.version(pane)            # read *before* capturing: nothing can be missed
    text = await tmux.capture(pane)
    with trio.move_on_after(safety_interval):   # a slow safety poll covers a disconnected client
        seen = await control.wait_changed(pane, seen)

Output notifications are reliable; death and window-close notices ride on the once-a-second subscription
and tmux 3.3a sometimes reports them late or not at all, so callers keep a slow safety poll (the window
actor captures an idle pane at least every minute).

Parsing (``parse_notification``, ``ControlParser``) is pure; ``ControlClient.run`` is the only part that
starts a process. It never raises for tmux trouble: when the client cannot attach (no server, no session)
or gets detached, it retries with backoff, and waiters simply keep waiting (hence the caller's timeout).
Needs tmux ≥ 3.2 (``attach-session -f``, ``refresh-client -B``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import trio

from ccbot.tmux.env import scrubbed_environ, secret_values

SUBSCRIPTION = "ccbot-dead"
_SUBSCRIBE = f"refresh-client -B '{SUBSCRIPTION}:%*:#{{pane_dead}}'\n".encode()
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 5.0


# ---------------------------------------------------------------------------------------------- pure


@dataclass(frozen=True, slots=True)
class Notice:
    """One control-mode notification reduced to what matters here.

    ``kind``: ``"output"`` (``pane`` wrote), ``"pane"`` (``pane`` changed otherwise: mode change, death
    seen by the subscription; ``window`` is set when known), ``"window-closed"`` (``window`` is gone),
    ``"attached"`` (the client is attached to its session), ``"exit"`` (the client is detached).
    """

    kind: str
    pane: str | None = None
    window: str | None = None


def _word(line: bytes, index: int) -> str | None:
    parts = line.split(b" ", index + 1)
    return parts[index].decode("ascii", "replace") if len(parts) > index else None


def parse_notification(line: bytes) -> Notice | None:
    """Classify one line tmux sent outside a ``%begin``…``%end`` block (no trailing newline).

    Returns ``None`` for lines that do not concern pane contents (``%sessions-changed``, ``%layout-change``,
    unknown notifications, garbage). Never raises.
    """
    if line.startswith(b"%output "):
        pane = _word(line, 1)
        return Notice("output", pane) if pane and pane.startswith("%") else None
    if line.startswith(b"%extended-output "):
        pane = _word(line, 1)
        return Notice("output", pane) if pane and pane.startswith("%") else None
    if line.startswith(b"%pane-mode-changed "):
        pane = _word(line, 1)
        return Notice("pane", pane) if pane and pane.startswith("%") else None
    if line.startswith(b"%subscription-changed "):
        # %subscription-changed <name> $<session> @<window> <index> %<pane> ... : <value>
        head = line.split(b" : ", 1)[0].split(b" ")
        if len(head) >= 6 and head[1].decode("ascii", "replace") == SUBSCRIPTION:
            window, pane = head[3].decode("ascii", "replace"), head[5].decode("ascii", "replace")
            if pane.startswith("%"):
                return Notice("pane", pane, window if window.startswith("@") else None)
        return None
    if line.startswith((b"%window-close ", b"%unlinked-window-close ")):
        closed = _word(line, 1)
        return Notice("window-closed", window=closed) if closed and closed.startswith("@") else None
    if line.startswith(b"%session-changed "):
        return Notice("attached")
    if line == b"%exit" or line.startswith(b"%exit "):
        return Notice("exit")
    return None


class ControlParser:
    """Splits the client's byte stream into lines and skips command replies (``%begin``…``%end``/``%error``
    blocks, whose lines are command output, not notifications). ``feed(data)`` returns the notices found."""

    def __init__(self) -> None:
        self._buffer = b""
        self._in_block = False

    def feed(self, data: bytes) -> list[Notice]:
        """Add ``data`` (any slice of the stream) and return the notices of the lines it completed, in order;
        an unfinished last line waits for the next call. Never raises."""
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        notices = []
        for raw in lines:
            line = raw.removesuffix(b"\r")
            if self._in_block:
                if line.startswith((b"%end ", b"%error ")):
                    self._in_block = False
                continue
            if line.startswith(b"%begin "):
                self._in_block = True
                continue
            notice = parse_notification(line)
            if notice is not None:
                notices.append(notice)
        return notices


class PaneVersions:
    """The per-pane version counters and the window of each pane (as far as it is known). Pure."""

    def __init__(self) -> None:
        self.versions: dict[str, int] = {}
        self.window_of: dict[str, str] = {}

    def bump(self, pane: str) -> None:
        """Raise ``pane``'s version by one (from 0 for a pane not seen before)."""
        self.versions[pane] = self.versions.get(pane, 0) + 1

    def bump_all(self) -> None:
        """Raise the version of every pane seen so far by one."""
        for pane in list(self.versions):
            self.bump(pane)

    def apply(self, notice: Notice) -> list[str]:
        """Update for one notice; returns the panes whose version went up."""
        if notice.kind in ("output", "pane") and notice.pane is not None:
            if notice.window is not None:
                self.window_of[notice.pane] = notice.window
            self.bump(notice.pane)
            return [notice.pane]
        if notice.kind == "window-closed":
            panes = [p for p, w in self.window_of.items() if w == notice.window]
            for pane in panes:
                self.bump(pane)
                del self.window_of[pane]
            return panes
        if notice.kind in ("attached", "exit"):
            changed = list(self.versions)
            self.bump_all()
            return changed
        return []


# ---------------------------------------------------------------------------------------------- client


class ControlClient:
    """Keeps one control-mode client attached to ``session_name`` and tracks pane versions.

    Server selection (``socket_name`` → ``-L``, ``socket_path`` → ``-S``), ``env``/``secrets`` (scrubbed
    as in ``ccbot.tmux.adapter.Tmux``) and ``tmux_bin`` mean what they mean for ``Tmux``. Start ``run`` in a
    nursery (``await nursery.start(client.run)``; it reports started after the first attach attempt, so a
    missing server does not hold up start-up); ``version`` / ``wait_changed`` work before, during and after.
    """

    def __init__(
        self,
        session_name: str,
        *,
        socket_name: str | None = None,
        socket_path: str | None = None,
        env: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
        tmux_bin: str = "tmux",
    ) -> None:
        if socket_name is not None and socket_path is not None:
            raise ValueError("give socket_name or socket_path, not both")
        base = dict(os.environ if env is None else env)
        self._environ = scrubbed_environ(base, secret_values(base, secrets))
        argv = [tmux_bin]
        if socket_name is not None:
            argv += ["-L", socket_name]
        if socket_path is not None:
            argv += ["-S", socket_path]
        self._argv = [*argv, "-C", "attach-session", "-f", "ignore-size,read-only", "-t", f"={session_name}"]
        self._state = PaneVersions()
        self._events: dict[str, trio.Event] = {}
        self.connected = False
        self.attaches = 0  # how many times the client attached (for tests and diagnostics)

    # -- the interface --------------------------------------------------------------------------------
    def version(self, pane_id: str) -> int:
        """The pane's current version (0 for a pane nothing was heard about yet). Registers the pane, so
        a reconnection bumps it too."""
        return self._state.versions.setdefault(pane_id, 0)

    async def wait_changed(self, pane_id: str, since_version: int) -> int:
        """Wait until the pane's version is above ``since_version``; return the new version.

        Returns at once if it already is. Waits indefinitely otherwise (bound it with a timeout: while the
        client is disconnected nothing arrives). Cancellable.
        """
        while True:
            current = self.version(pane_id)
            if current > since_version:
                return current
            event = self._events.get(pane_id)
            if event is None:
                event = self._events[pane_id] = trio.Event()
            await event.wait()

    # -- running ----------------------------------------------------------------------------------------
    def _changed(self, panes: Sequence[str]) -> None:
        for pane in panes:
            event = self._events.pop(pane, None)
            if event is not None:
                event.set()

    def _apply(self, notice: Notice) -> None:
        if notice.kind == "attached":
            self.connected = True
            self.attaches += 1
        elif notice.kind == "exit":
            self.connected = False
        self._changed(self._state.apply(notice))

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Attach, read notifications, re-attach after a detach (backoff 0.5 s doubling to 5 s; back to 0.5 s
        after a successful attach). Runs until cancelled; the client process is killed on the way out."""
        backoff = BACKOFF_FIRST
        pending: Any = task_status
        while True:
            before = self.attaches
            # OSError: tmux missing or not executable; keep trying, waiters fall back to their timeouts
            with contextlib.suppress(OSError):
                pending = await self._attach_once(pending)
            if self.connected:
                self._apply(Notice("exit"))
            if pending is not None:
                pending.started()
                pending = None
            if self.attaches > before:
                backoff = BACKOFF_FIRST
            await trio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)

    async def _attach_once(self, task_status: Any) -> Any:
        """One client's life. Returns ``task_status`` if it was not used (the client never attached)."""
        proc = await trio.lowlevel.open_process(
            self._argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=self._environ,
        )
        assert proc.stdin is not None and proc.stdout is not None
        try:
            await proc.stdin.send_all(_SUBSCRIBE)
            parser = ControlParser()
            while True:
                data = await proc.stdout.receive_some(65536)
                if not data:
                    return task_status
                for notice in parser.feed(bytes(data)):
                    self._apply(notice)
                    if notice.kind == "attached" and task_status is not None:
                        task_status.started()
                        task_status = None
                    if notice.kind == "exit":
                        return task_status
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return task_status
        finally:
            with contextlib.suppress(OSError):
                proc.kill()
            with trio.CancelScope(shield=True):
                for stream in (proc.stdin, proc.stdout):
                    with contextlib.suppress(trio.ClosedResourceError, OSError):
                        await stream.aclose()
                await proc.wait()
