"""The window actor (one per bound tmux window), split into its parts; see ``actor`` for its contracts."""

from ccbot.actors.window.actor import WindowActor
from ccbot.actors.window.core import WindowCore, WindowDeps, WindowHooks, not_sent_text, thread_start_time
from ccbot.actors.window.inputs import hand_text
from ccbot.actors.window.pieces import Piece, merge_pieces, stamp_of

__all__ = [
    "Piece",
    "WindowActor",
    "WindowCore",
    "WindowDeps",
    "WindowHooks",
    "hand_text",
    "merge_pieces",
    "not_sent_text",
    "stamp_of",
    "thread_start_time",
]
