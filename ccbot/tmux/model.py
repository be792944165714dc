"""What the tmux adapter reports about windows and panes, and the owner check made before typing into a pane.

Plain values with no tmux behind them, so code that only reads them (and test fakes standing in for
:class:`ccbot.tmux.adapter.Tmux`) need not import the adapter. ``ccbot.tmux.adapter`` re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ccbot.tmux.errors import TmuxNoTarget


@dataclass(frozen=True, slots=True)
class WindowInfo:
    """One window of the session, described by its active pane."""

    window_id: str  # "@N", stable for the window's life
    name: str
    index: int
    pane_id: str  # "%N"
    pane_pid: int  # the process tmux started in the pane
    cwd: Path  # pane_current_path: the foreground process's cwd
    current_command: str
    pane_dead: bool  # the command exited and remain-on-exit kept the window
    is_ccbot: bool  # carries @ccbot=1, i.e. ccbot created it for Codex
    owner: str = ""  # the @ccbot-owner mark; "" when unset


@dataclass(frozen=True, slots=True)
class PaneState:
    """The cheap per-poll facts about a pane."""

    cursor_x: int
    cursor_y: int
    width: int
    height: int
    in_mode: bool  # copy-mode or another tmux mode is showing
    dead: bool  # the pane's process exited (remain-on-exit kept the pane)
    dead_status: int | None  # exit status once dead; None while alive, if a signal killed it, or unknown
    dead_signal: int | None  # the signal that killed the pane's process, if one did
    pid: int
    current_command: str
    owner: str = ""  # the pane's window's @ccbot-owner mark; "" when unset


class PaneStates(Protocol):
    """Anything that reports a pane's state (the adapter, or a test's fake)."""

    async def pane_state(self, pane_id: str) -> PaneState:
        """The pane's current state; raises ``TmuxNoTarget`` if the pane is gone."""


async def ensure_owned(tmux: PaneStates, pane_id: str, owner: str | None) -> None:
    """Raise ``TmuxNoTarget`` unless ``pane_id``'s window still carries the owner mark ``owner`` (no check for a
    binding without a mark): after a tmux restart another window can get a pane's old id. Call it right before
    typing or pressing keys. Asks ``tmux.pane_state`` once when ``owner`` is set; its errors pass through."""
    if owner and (await tmux.pane_state(pane_id)).owner != owner:
        raise TmuxNoTarget(f"pane {pane_id} no longer belongs to this topic's window; nothing was typed")
