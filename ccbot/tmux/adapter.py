"""The only code in ccbot that runs tmux.

``Tmux`` talks to one tmux server (a dedicated ``-L`` socket name, an ``-S`` path, or the default
server) and one session in it. Every call is one ``tmux`` client process started with
``trio.run_process`` (cancellable; about 3 ms each), run with the scrubbed environment of
``ccbot.tmux.env`` and bounded by ``trio.fail_after(call_timeout)``. Multi-step operations are sent as
one tmux command sequence (``a ; b``) so tmux runs them back to back with no event-loop turn between,
which is what makes ``new_window``'s ``remain-on-exit`` race-free and keeps ``copy-mode -q`` directly
before the keystrokes it clears the way for.

Errors: ``TmuxServerDown`` (no server, or the session is gone), ``TmuxNoTarget`` (window/pane id not
found), ``TmuxTimeout`` (``call_timeout`` elapsed; the client is killed), ``TmuxWrongDirectory``
(``new_window`` could not start in the requested directory), otherwise ``TmuxError`` (all defined in
``ccbot.tmux.errors``). All but the last carry tmux's stderr in the message.

Untrusted strings (folder names, window names, owner marks, environment values, typed text) never
reach tmux's format expander: the few arguments tmux expands (``new-window -c``/``-n``,
``rename-window``, ``new-session -s``) go through ``keys.escape_format``; everything else is passed
where tmux takes it literally (measured on 3.3a, listed in ``escape_format``). tmux's ``-t`` targets
are not expanded either; the owner-mark methods accept only ``@N`` window ids.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

import trio

from ccbot.tmux.env import scrub_window_env, scrubbed_environ, secret_values
from ccbot.tmux.errors import TmuxError, TmuxNoTarget, TmuxServerDown, TmuxTimeout, TmuxWrongDirectory
from ccbot.tmux.keys import escape_argument, escape_format, resolve_key, split_for_send
from ccbot.tmux.model import PaneState, PaneStates, WindowInfo, ensure_owned

__all__ = [  # the errors and the values live in ccbot.tmux.errors and .model; importable from here too
    "CCBOT_OPTION", "LINGER_SECONDS", "OWNER_OPTION", "PLACEHOLDER_NAME", "SESSION_HEIGHT", "SESSION_WIDTH",
    "WRONG_DIRECTORY_STATUS", "PaneState", "PaneStates", "Tmux", "TmuxError", "TmuxNoTarget", "TmuxServerDown",
    "TmuxTimeout", "TmuxWrongDirectory", "WindowInfo", "ensure_owned",
]

# The marker option on windows ccbot created for Codex; the placeholder window does not carry it.
CCBOT_OPTION = "@ccbot"
# The window user option naming which binding owns the window (an opaque string chosen by the caller).
OWNER_OPTION = "@ccbot-owner"
PLACEHOLDER_NAME = "ccbot-placeholder"
SESSION_WIDTH = 200
SESSION_HEIGHT = 50
LINGER_SECONDS = 0.2
# Codex (0.169 and 0.171, measured) reads an Escape followed within ~20 ms by a character as one Alt+character
# key, so "/esc" then text lost the text's first letter; 0.1 s leaves a 5x margin and costs only after Escape.
ESCAPE_GAP = 0.1
# $1 is the requested directory: the program is never started unless the pane really is there
# (tmux silently starts a pane elsewhere when it cannot enter -c; -ef compares device and inode).
# set -m: the program runs as its own foreground process group, so pane_current_command names it
# (tmux reports the terminal's foreground group) and keys like C-c reach it, not this shell.
WRONG_DIRECTORY_STATUS = 126
_WINDOW_SCRIPT = (
    '[ . -ef "$1" ] || { printf "ccbot: not started, this pane is not in %s\\n" "$1"; '
    f"exit {WRONG_DIRECTORY_STATUS}; }}; shift; "
    f'set -m; "$@"; status=$?; sleep {LINGER_SECONDS}; exit "$status"'
)

_SERVER_DOWN_MARKERS = ("no server running", "error connecting to", "server exited", "can't find session")
_NO_TARGET_MARKERS = ("can't find window", "can't find pane", "no such window")  # the last: set-option
_WINDOW_ID = re.compile(r"@[0-9]+")

_WINDOW_FIELDS = (
    "#{window_id}",
    "#{window_name}",
    "#{window_index}",
    "#{pane_id}",
    "#{pane_pid}",
    "#{pane_current_path}",
    "#{pane_current_command}",
    "#{pane_dead}",
    "#{pane_dead_status}",
    "#{pane_dead_signal}",
    "#{" + CCBOT_OPTION + "}",
    "#{" + OWNER_OPTION + "}",
)
_WINDOW_CWD_AT = 5  # index of #{pane_current_path} in _WINDOW_FIELDS
_WINDOW_DEAD_AT = 7  # index of #{pane_dead} in _WINDOW_FIELDS (see _query)
_PANE_FIELDS = (
    "#{pane_id}",
    "#{cursor_x}",
    "#{cursor_y}",
    "#{pane_width}",
    "#{pane_height}",
    "#{pane_in_mode}",
    "#{pane_dead}",
    "#{pane_dead_status}",
    "#{pane_dead_signal}",
    "#{pane_pid}",
    "#{pane_current_command}",
    "#{" + OWNER_OPTION + "}",
)


def _int_or_none(text: str) -> int | None:
    return int(text) if text.strip().lstrip("-").isdigit() else None


def _check_window_id(window_id: str) -> None:
    # The mark-writing commands must hit exactly that window, not whatever a target like "{last}"
    # or "sess:1" resolves to.
    if not _WINDOW_ID.fullmatch(window_id):
        raise ValueError(f"not a tmux window id: {window_id!r}")


def _check_owner(owner: str) -> None:
    if not owner or "\x00" in owner:  # NUL cannot travel in a command-line argument
        raise ValueError(f"invalid owner mark: {owner!r}")


def _real_directory(cwd: Path) -> str:
    """``os.path.realpath(cwd)``, or ``NotADirectoryError`` (tmux would silently fall back)."""
    if not Path(cwd).is_dir():
        raise NotADirectoryError(str(cwd))
    return os.path.realpath(cwd)


def _unreaped(pane_dead: str, status: str, signal: str) -> bool:
    # tmux 3.3a sometimes misses the SIGCHLD of a pane's process (measured: about 1 fresh server
    # in 10, with a bash loop as well): the pane is dead (pty closed) but the process stays a zombie
    # and pane_dead_status stays empty until some other child of the server exits.
    return pane_dead == "1" and status == "" and signal == ""


class Tmux:
    """Async adapter over one tmux server and one session in it.

    ``socket_name`` selects ``-L name``, ``socket_path`` ``-S path`` (at most one); neither means the
    user's default server. ``env`` (default ``os.environ``) is the environment tmux clients are
    started from, after scrubbing with ``scrubbed_environ(env, secrets)``; the tmux server started by
    ``ensure_session`` inherits exactly that. ``config_file`` is passed as ``-f`` (tests use
    ``/dev/null``); it only matters when this adapter starts the server. Raises ``ValueError`` for an empty
    session name or one with ``:`` or ``.``, or when both sockets are given. Starts no process by itself.
    """

    def __init__(
        self,
        session_name: str,
        *,
        socket_name: str | None = None,
        socket_path: str | None = None,
        call_timeout: float = 10.0,
        env: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
        tmux_bin: str = "tmux",
        config_file: str | None = None,
        max_concurrent: int = 4,
    ) -> None:
        if not session_name or any(c in session_name for c in ":."):
            # tmux silently rewrites ':' and '.' in session names, which would break targeting.
            raise ValueError(f"invalid tmux session name: {session_name!r}")
        if socket_name is not None and socket_path is not None:
            raise ValueError("give socket_name or socket_path, not both")
        self.session_name = session_name
        self.call_timeout = call_timeout
        base = dict(os.environ if env is None else env)
        self._secrets = secret_values(base, secrets)
        self._environ = scrubbed_environ(base, self._secrets)
        prefix = [tmux_bin, "-u"]  # -u: UTF-8 output even when the scrubbed env has no UTF-8 locale
        if socket_name is not None:
            prefix += ["-L", socket_name]
        if socket_path is not None:
            prefix += ["-S", socket_path]
        if config_file is not None:
            prefix += ["-f", config_file]
        self._prefix = prefix
        self._limiter = trio.CapacityLimiter(max_concurrent)
        self._input_locks: dict[str, trio.Lock] = {}
        self._escaped_at: dict[str, float] = {}  # pane → trio time of its last lone Escape
        self._claim_lock = trio.Lock()
        self._session_target = f"={session_name}"

    # ---------------------------------------------------------------- plumbing

    async def _run(self, *commands: Sequence[str], stdin: bytes = b"") -> str:
        """Run one tmux client with ``commands`` joined by ``;``; return stdout (UTF-8, replaced).

        Raises the ``TmuxError`` family (see the module docstring).
        """
        argv = list(self._prefix)
        for i, command in enumerate(commands):
            if i:
                argv.append(";")
            argv.extend(escape_argument(a) for a in command)
        what = " ; ".join(c[0] for c in commands)
        try:
            with trio.fail_after(self.call_timeout):
                async with self._limiter:
                    result = await trio.run_process(
                        argv,
                        stdin=stdin,
                        capture_stdout=True,
                        capture_stderr=True,
                        check=False,
                        env=self._environ,
                    )
        except trio.TooSlowError:
            raise TmuxTimeout(f"tmux {what}: no answer within {self.call_timeout}s") from None
        except OSError as exc:
            raise TmuxError(f"tmux {what}: cannot start {self._prefix[0]!r}: {exc}") from exc
        if result.returncode != 0:
            stderr = result.stderr.decode("utf-8", "replace").strip()
            message = f"tmux {what} failed ({result.returncode}): {stderr}"
            if any(m in stderr for m in _SERVER_DOWN_MARKERS):
                raise TmuxServerDown(message)
            if any(m in stderr for m in _NO_TARGET_MARKERS):
                raise TmuxNoTarget(message)
            raise TmuxError(message)
        return result.stdout.decode("utf-8", "replace")

    async def _after_escape(self, pane_id: str) -> None:
        # Call with the pane's input lock held, before sending anything to it.
        at = self._escaped_at.pop(pane_id, None)
        if at is not None:
            await trio.sleep_until(at + ESCAPE_GAP)

    def _input_lock(self, pane_id: str) -> trio.Lock:
        # Chunks of one send must not interleave with another send to the same pane.
        lock = self._input_locks.get(pane_id)
        if lock is None:
            lock = self._input_locks[pane_id] = trio.Lock()
        return lock

    @staticmethod
    def _separators() -> tuple[str, str]:
        # Random per call, so names, paths or commands cannot contain them by accident.
        nonce = uuid.uuid4().hex[:12]
        return f"<ccbot-f-{nonce}>", f"<ccbot-r-{nonce}>"

    @staticmethod
    def _parse_window(fields: list[str]) -> WindowInfo:
        wid, name, index, pane_id, pane_pid, cwd, command, dead, _status, _signal, mark, owner = fields
        return WindowInfo(
            window_id=wid,
            name=name,
            index=int(index),
            pane_id=pane_id,
            pane_pid=int(pane_pid) if pane_pid.isdigit() else 0,
            cwd=Path(cwd),
            current_command=command,
            pane_dead=dead == "1",
            is_ccbot=mark == "1",
            owner=owner,
        )

    async def _query(self, command: list[str], fields: Sequence[str], dead_at: int) -> list[list[str]]:
        """Run a ``-F`` format query; fields ``dead_at`` .. ``dead_at+2`` are dead, status, signal.

        If a dead pane has no exit status yet (see ``_unreaped``), have the server run a trivial
        job: the SIGCHLD of that job makes it reap every exited child, then ask again once.
        """
        fsep, rsep = self._separators()
        command = [*command, "-F", rsep + fsep.join(fields)]
        records = self._records(await self._run(command), fsep, rsep, len(fields))
        if any(_unreaped(*r[dead_at : dead_at + 3]) for r in records):
            await self._run(["run-shell", "true"])
            records = self._records(await self._run(command), fsep, rsep, len(fields))
        return records

    def _records(self, output: str, field_sep: str, record_sep: str, nfields: int) -> list[list[str]]:
        records = []
        for chunk in output.split(record_sep)[1:]:
            fields = chunk.removesuffix("\n").split(field_sep)
            if len(fields) != nfields:
                raise TmuxError(f"tmux: unexpected format output: {chunk!r}")
            records.append(fields)
        return records

    # ---------------------------------------------------------------- session and windows

    async def ensure_session(self) -> None:
        """Create the session (detached, 200x50) unless it exists; start the server if needed.

        The session's first window is a placeholder shell named ``ccbot-placeholder``; it keeps the
        session alive and is never marked ``@ccbot``. Concurrent callers are fine. The session name is
        format-escaped for ``-s`` (tmux expands it there; ``-t =name`` targets are literal). Raises
        ``TmuxError`` if tmux cannot start the server or the session.
        """
        try:
            await self._run(["has-session", "-t", self._session_target])
            return
        except TmuxServerDown:
            pass
        command = ["new-session", "-d", "-s", escape_format(self.session_name), "-n", PLACEHOLDER_NAME]
        try:
            await self._run([*command, "-x", str(SESSION_WIDTH), "-y", str(SESSION_HEIGHT)])
        except TmuxError as exc:
            if "duplicate session" not in str(exc):
                raise

    async def list_windows(self) -> list[WindowInfo]:
        """All windows of the session, in index order. Raises ``TmuxServerDown`` if it is gone."""
        records = await self._query(["list-windows", "-t", self._session_target], _WINDOW_FIELDS, _WINDOW_DEAD_AT)
        return [self._parse_window(r) for r in records]

    async def window_info(self, window_id: str) -> WindowInfo:
        """Describe one window by its id (``@N``). Raises ``TmuxNoTarget`` if it does not exist."""
        return self._parse_window(await self._window_record(window_id))

    async def _window_record(self, window_id: str) -> list[str]:
        """The raw ``_WINDOW_FIELDS`` of one window; raises ``TmuxNoTarget`` if it does not exist."""
        records = await self._query(["display-message", "-p", "-t", window_id], _WINDOW_FIELDS, _WINDOW_DEAD_AT)
        # display-message does not fail on a missing target (it may even describe another window),
        # so the id in the answer is what proves the window exists.
        if len(records) != 1 or records[0][0] != window_id:
            raise TmuxNoTarget(f"tmux display-message: can't find window: {window_id}")
        return records[0]

    async def new_window(
        self, name: str, cwd: Path, argv: Sequence[str], env: Mapping[str, str], *, owner: str
    ) -> WindowInfo:
        """Start ``argv`` in a new window of the session, in directory ``cwd``; mark it as ``owner``'s.

        ``cwd`` (resolved with ``os.path.realpath``) and ``name`` go to ``new-window -c``/``-n``
        format-escaped; ``env`` goes to ``-e`` (literal) after dropping secrets (``scrub_window_env``).
        ``argv`` is handed to ``/bin/sh -c '…' ccbot-window <cwd> <argv…>`` as positional parameters
        (literal; no user ``default-shell`` involved). That ``sh``, the pane's process, refuses to
        start the program (exit ``WRONG_DIRECTORY_STATUS``) unless it is in ``cwd``: tmux silently
        falls back to another directory when it cannot enter ``-c``. The program runs as its child in
        its own foreground process group (so ``current_command`` names it). After the program exits,
        ``sh`` keeps the pty open for ``LINGER_SECONDS`` and exits with its status (``128+N`` for
        signal ``N``): tmux 3.3a loses the last output about 1 time in 13 when its writer closes the
        pty at once (measured), which would swallow Codex's exit message.

        ``remain-on-exit on``, ``@ccbot=1`` and ``@ccbot-owner=owner`` are set in the same tmux
        command sequence, before tmux can notice the program exiting: even an instant exit leaves a
        dead pane whose exit message can be captured (tmux scrolls the screen up one line to print
        ``Pane is dead (status N, …)``, so read it with ``capture(start=-N)``), and no ccbot window
        exists without its owner mark. ``-d`` at an explicit free index: a person attached at the
        desk keeps seeing (and typing into) the window they were in.

        Then the pane's ``pane_current_path`` must be exactly ``cwd``; otherwise (also when the pane
        exits before tmux reports one) ``TmuxWrongDirectory`` is raised. Whenever this method does
        not return the window (any error, cancellation), it has killed it.

        Raises ``ValueError`` (empty ``argv``; empty ``owner`` or one with NUL), ``NotADirectoryError``,
        ``TmuxWrongDirectory`` (above), ``TmuxServerDown`` if the session is gone.
        """
        if not argv:
            raise ValueError("argv must not be empty")
        _check_owner(owner)
        wanted = await trio.to_thread.run_sync(_real_directory, cwd, limiter=self._limiter)
        taken = {w.index for w in await self.list_windows()}
        index = max(taken, default=0) + 1
        target = f"{self._session_target}:{index}"
        command = ["new-window", "-d", "-P", "-F", "#{window_id}", "-t", target]
        command += ["-n", escape_format(name), "-c", escape_format(wanted)]
        for key, value in scrub_window_env(env, self._secrets).items():
            command += ["-e", f"{key}={value}"]
        command += ["/bin/sh", "-c", _WINDOW_SCRIPT, "ccbot-window", wanted, *argv]
        # One command sequence: the options are set before tmux can notice an instant exit. An owner
        # starting with "-" is safe: tmux stops reading flags at the option name.
        output = await self._run(
            command,
            ["set-option", "-w", "-t", target, "remain-on-exit", "on"],
            ["set-option", "-w", "-t", target, CCBOT_OPTION, "1"],
            ["set-option", "-w", "-t", target, OWNER_OPTION, owner],
        )
        window_id = output.strip()
        if not _WINDOW_ID.fullmatch(window_id):
            raise TmuxError(f"tmux new-window: unexpected output {output!r}")
        try:
            return await self._verify_directory(window_id, wanted)
        except BaseException:
            with trio.CancelScope(shield=True), trio.move_on_after(self.call_timeout):
                await self.kill_window(window_id)
            raise

    async def _verify_directory(self, window_id: str, wanted: str) -> WindowInfo:
        """The window's info once its pane reports ``wanted`` as ``pane_current_path``.

        tmux reports no directory for a moment after the pane starts (its process has not set up
        the terminal yet), so an empty answer is asked again until the pane dies or ``call_timeout``
        passes. The first directory reported decides: tmux enters ``-c`` before starting ``sh``.
        Raises ``TmuxWrongDirectory``; the caller kills the window.
        """
        deadline = trio.current_time() + self.call_timeout
        while True:
            record = await self._window_record(window_id)
            used, dead = record[_WINDOW_CWD_AT], record[_WINDOW_DEAD_AT] == "1"
            if used or dead or trio.current_time() >= deadline:
                break
            await trio.sleep(0.005)
        if used != wanted:
            raise TmuxWrongDirectory(wanted, used or None)
        return self._parse_window(record)

    async def kill_window(self, window_id: str) -> bool:
        """Kill a window; ``False`` (no error) if it did not exist or the server is gone."""
        try:
            await self._run(["kill-window", "-t", window_id])
        except (TmuxNoTarget, TmuxServerDown):
            return False
        return True

    async def rename_window(self, window_id: str, name: str) -> None:
        """Rename a window (and stop tmux renaming it automatically). Raises ``TmuxNoTarget``.

        ``name`` is format-escaped (tmux expands ``rename-window``'s argument), but tmux 3.3a stores a
        renamed window's name vis(3)-encoded (measured): ``\\`` becomes ``\\\\``, a newline ``\\n``,
        ESC ``\\033``; ``#``, ``;``, spaces and printable Unicode stay as given.
        """
        await self._run(
            ["rename-window", "-t", window_id, "--", escape_format(name)],
            ["set-option", "-w", "-t", window_id, "automatic-rename", "off"],
        )

    async def claim_window(self, window_id: str, owner: str, *, replace: str = "") -> bool:
        """Mark an existing window (e.g. one started by hand) as ``owner``'s.

        Sets ``@ccbot-owner`` to ``owner`` if the window has no owner, already has ``owner``, or has
        ``replace`` (an older mark the caller may take over; ``""`` adds nothing) and returns True;
        returns False, changing nothing, if another owner holds it. ``@ccbot`` is not touched.

        tmux has no compare-and-set, so this reads the mark, then sets it. Claims through this object
        hold one lock across both steps and cannot interleave; a write by another tmux client in
        between (a person at the desk, a second bot on the same server) would be overwritten, which
        is acceptable because ccbot's marks are written by its one bot process.

        Raises ``ValueError`` for a window id that is not ``@N`` or an empty owner (or one with NUL),
        ``TmuxNoTarget`` if the window does not exist.
        """
        _check_window_id(window_id)
        _check_owner(owner)
        async with self._claim_lock:
            current = (await self.window_info(window_id)).owner
            if current not in ("", owner, replace):
                return False
            await self._run(["set-option", "-w", "-t", window_id, OWNER_OPTION, owner])
            return True

    async def clear_owner(self, window_id: str) -> None:
        """Remove the window's ``@ccbot-owner`` mark. No error if the window or the server is gone.

        Raises ``ValueError`` for a window id that is not ``@N``.
        """
        _check_window_id(window_id)
        with contextlib.suppress(TmuxNoTarget, TmuxServerDown):
            await self._run(["set-option", "-w", "-u", "-t", window_id, OWNER_OPTION])

    async def window_exists(self, window_id: str) -> bool:
        """True if the window id exists on the server; ``False`` if it or the server is gone."""
        try:
            output = await self._run(["display-message", "-p", "-t", window_id, "#{window_id}"])
        except (TmuxNoTarget, TmuxServerDown):
            return False
        return output.strip() == window_id

    async def kill_server(self) -> None:
        """Kill the whole tmux server (tests only). No error if it is not running."""
        with contextlib.suppress(TmuxServerDown):
            await self._run(["kill-server"])

    # ---------------------------------------------------------------- reading a pane

    async def capture(self, pane_id: str, *, ansi: bool = False, start: int | None = None) -> str:
        """The pane's text, one ``\\n``-terminated line per row (``capture-pane -p``).

        ``ansi`` keeps colours/attributes as escape sequences (``-e``); ``start`` is the first line
        (``-S``; negative numbers reach into scrollback, ``0`` is the top visible row). Wrapped lines
        are not joined, so row ``n`` of the visible screen is line ``n`` of the result. Raises
        ``TmuxNoTarget`` if the pane is gone.
        """
        command = ["capture-pane", "-p", "-t", pane_id]
        if ansi:
            command.append("-e")
        if start is not None:
            command += ["-S", str(start)]
        return await self._run(command)

    async def pane_state(self, pane_id: str) -> PaneState:
        """Cursor, size, mode and liveness of a pane in one call. Raises ``TmuxNoTarget``."""
        records = await self._query(["display-message", "-p", "-t", pane_id], _PANE_FIELDS, 6)
        if len(records) != 1 or records[0][0] != pane_id:  # see window_info
            raise TmuxNoTarget(f"tmux display-message: can't find pane: {pane_id}")
        _, cx, cy, width, height, in_mode, dead, status, signal, pid, command, owner = records[0]
        exited = dead == "1"
        return PaneState(
            cursor_x=int(cx),
            cursor_y=int(cy),
            width=int(width),
            height=int(height),
            in_mode=in_mode == "1",
            dead=exited,
            dead_status=_int_or_none(status) if exited else None,
            dead_signal=_int_or_none(signal) if exited else None,
            pid=int(pid) if pid.isdigit() else 0,
            current_command=command,
            owner=owner,
        )

    # ---------------------------------------------------------------- typing into a pane

    async def send_text(self, pane_id: str, text: str) -> None:
        """Type ``text`` literally (``send-keys -l``): key names such as ``Enter`` or ``C-c`` in it
        are typed as letters, and nothing is submitted. Any tmux mode (copy-mode, …) is left first.

        Large text goes out in ``split_for_send`` chunks; NUL characters are dropped. Raises
        ``TmuxNoTarget`` if the pane is gone.
        """
        chunks = split_for_send(text)
        async with self._input_lock(pane_id):
            await self._after_escape(pane_id)
            for i, chunk in enumerate(chunks):
                send = ["send-keys", "-t", pane_id, "-l", "--", chunk]
                if i == 0:
                    # copy-mode -q leaves copy-mode and every other mode, and is a no-op otherwise.
                    await self._run(["copy-mode", "-q", "-t", pane_id], send)
                else:
                    await self._run(send)

    async def paste_text(self, pane_id: str, text: str) -> None:
        """Paste ``text`` as one bracketed paste (``load-buffer`` from stdin, ``paste-buffer -p``).

        Line ends are normalised to LF and pasted as LF (``-r``; without it tmux turns LF into CR,
        which an application that has not enabled bracketed paste reads as Enter after every line).
        The paste markers ``ESC[200~``/``ESC[201~`` are removed from the text so it cannot end the
        paste early. tmux adds the markers only if the application asked for bracketed paste. Modes
        are left first; the uniquely named buffer is deleted after pasting (also on failure). Empty text does
        nothing. Raises ``TmuxNoTarget`` if the pane is gone.
        """
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = text.replace("\x1b[200~", "").replace("\x1b[201~", "")
        if not text:
            return
        buffer = f"ccbot-{uuid.uuid4().hex}"
        async with self._input_lock(pane_id):
            await self._after_escape(pane_id)
            pasted = False
            try:
                await self._run(
                    ["load-buffer", "-b", buffer, "-"],
                    ["copy-mode", "-q", "-t", pane_id],
                    ["paste-buffer", "-p", "-d", "-r", "-b", buffer, "-t", pane_id],
                    stdin=text.encode("utf-8"),
                )
                pasted = True
            finally:
                if not pasted:
                    # tmux stops a sequence at the first error, which can leave the buffer behind.
                    with (
                        trio.CancelScope(shield=True),
                        trio.move_on_after(self.call_timeout),
                        contextlib.suppress(TmuxError),
                    ):
                        await self._run(["delete-buffer", "-b", buffer])

    async def send_keys(self, pane_id: str, *keys: str) -> None:
        """Press named keys, each checked by ``keys.resolve_key`` (allowlist + friendly spellings)
        before anything is sent. Modes are left first. Raises ``UnknownKeyError`` (a ``ValueError``; nothing
        is sent), ``TmuxNoTarget`` if the pane is gone.

        Nothing reaches the pane within ``ESCAPE_GAP`` after an Escape (from this call or an earlier one), so
        Codex cannot read Escape and the next character as one Alt+character key.
        """
        names = [resolve_key(k) for k in keys]
        if not names:
            return
        groups: list[list[str]] = [[]]
        for name in names:
            groups[-1].append(name)
            if name == "Escape":
                groups.append([])
        async with self._input_lock(pane_id):
            for group in (g for g in groups if g):
                await self._after_escape(pane_id)
                await self._run(["copy-mode", "-q", "-t", pane_id], ["send-keys", "-t", pane_id, *group])
                if group[-1] == "Escape":
                    self._escaped_at[pane_id] = trio.current_time()
