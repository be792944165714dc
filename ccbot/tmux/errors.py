"""The errors of the tmux adapter (:class:`ccbot.tmux.adapter.Tmux`), which callers catch by kind.

All are ``TmuxError``s; each message names the tmux command and what went wrong (tmux's stderr where there
is one). ``ccbot.tmux.adapter`` re-exports them, and its docstring says which call raises which.
"""

from __future__ import annotations


class TmuxError(Exception):
    """A tmux command failed; the message holds the command name and tmux's stderr."""


class TmuxServerDown(TmuxError):
    """No tmux server is listening on the socket, or ccbot's session does not exist."""


class TmuxNoTarget(TmuxError):
    """The window or pane id named in the command does not exist (any more)."""


class TmuxTimeout(TmuxError):
    """The tmux client did not finish within ``call_timeout``; it was killed."""


class TmuxWrongDirectory(TmuxError):
    """``new_window``'s pane was not in the requested directory; the window has been killed.

    ``asked`` is the requested directory (``os.path.realpath``); ``used`` is the pane's
    ``pane_current_path`` as tmux reported it, or ``None`` if tmux reported none (the pane exited
    first, typically because its own check refused to start the program elsewhere).
    """

    def __init__(self, asked: str, used: str | None) -> None:
        where = repr(used) if used is not None else "a directory it did not report (the pane exited first)"
        super().__init__(f"tmux new-window: asked for directory {asked!r}, tmux used {where}")
        self.asked = asked
        self.used = used
