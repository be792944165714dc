"""Which Codex thread a tmux pane runs, decided from what its processes hold open (pure).

Evidence is gathered by ``ccbot.codex.procfs.pane_evidence``: for each process of the pane's tree, its
argv, the (user-thread) rollouts it holds open and the thread-writer locks it holds. This module turns
that into a verdict and never guesses:

* An **in-process** Codex TUI (``--no-daemon``, or ``[features] daemon_auto_start = false``) writes its
  own rollout and holds ``CODEX_HOME/thread-writer-locks/<thread>.lock`` from start-up on, so a pane
  whose tree has exactly one such Codex process proves its thread: the newest user rollout that
  process holds (after ``/clear`` the old one stays open too).
* An **app-server** (Codex's default background daemon, ``codex app-server …``) holds the rollouts of
  *every* thread any client runs through it, and it is a child of whichever TUI started it first. Its
  files are never evidence for the pane it happens to sit in (measured: the first window "proved" the
  second window's thread).
* A TUI that talks to an app-server (Codex's default daemon mode, or ``--remote``) holds no lock and no
  rollout of its own: its pane cannot be tied to a thread from /proc, so it is refused with one
  sentence that says what to do (``DAEMON_CLIENT_TEXT`` + ``DAEMON_CLIENT_FIX``, plain text that is also
  valid Telegram HTML; ``doctor`` says the same).
* Two Codex processes in one pane that both hold threads are ambiguous and refused.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ccbot.codex.procfs import ProcEvidence, newest_rollout

DAEMON_CLIENT_TEXT = (
    "this window's Codex runs through Codex's background app-server (its default daemon mode), which "
    "serves every window's conversation, so ccbot cannot prove which conversation is this window's"
)
DAEMON_CLIENT_FIX = (
    "start Codex there as `codex --no-daemon` (or `codex resume --no-daemon ID`), or set "
    "`[features] daemon_auto_start = false` in CODEX_HOME/config.toml, or let ccbot start the window "
    "(each window it starts gets an app-server of its own)"
)
REMOTE_CLIENT_TEXT = (
    "this window's Codex is a client of an app-server named with --remote, which can serve other windows "
    "too and which ccbot does not attach to, so ccbot cannot prove which conversation is this window's"
)
AMBIGUOUS_TEXT = (
    "more than one Codex process in this window holds a conversation, so ccbot cannot tell which one is meant"
)
NO_CODEX_TEXT = "no Codex is running in this window"


@dataclass(frozen=True, slots=True)
class InProcess:
    """The pane runs one in-process Codex (``pid``); ``rollout`` is its current user rollout, ``None``
    before Codex created the file (a fresh thread before its first prompt)."""

    pid: int
    rollout: Path | None


@dataclass(frozen=True, slots=True)
class Unprovable:
    """The pane's thread cannot be proven; ``reason`` is a sentence fragment for the user, ``code`` one of
    ``daemon`` (a client of Codex's shared daemon), ``remote`` (a client of a server named with ``--remote``),
    ``ambiguous``, ``no-codex``, ``starting`` (Codex has not taken its thread yet)."""

    code: str
    reason: str


PaneVerdict = InProcess | Unprovable


def is_codex(argv: Sequence[str]) -> bool:
    """A Codex binary itself (not its npm ``node`` wrapper): argv[0]'s base name starts with ``codex``."""
    return bool(argv) and os.path.basename(argv[0]).startswith("codex")


def is_app_server(argv: Sequence[str]) -> bool:
    """A Codex app-server process (the default daemon, its updater, or a server started by hand)."""
    return is_codex(argv) and "app-server" in argv[1:]


def is_remote_client(argv: Sequence[str]) -> bool:
    """A Codex TUI told to use an app-server explicitly (``--remote ADDR`` / ``--remote=ADDR``)."""
    return is_codex(argv) and any(a == "--remote" or a.startswith("--remote=") for a in argv[1:])


def classify_pane(evidence: Sequence[ProcEvidence], *, settled: bool) -> PaneVerdict:
    """The verdict for one pane's process tree.

    ``settled`` says Codex had time to start (its screen is up): an in-process TUI then already holds
    its thread lock, so a Codex TUI holding nothing is a daemon client. Before that, holding nothing
    is only ``starting``. App-server processes are ignored as evidence whatever they hold.
    """
    tuis = [e for e in evidence if is_codex(e.argv) and not is_app_server(e.argv)]
    if not tuis:
        return Unprovable("no-codex", NO_CODEX_TEXT)
    if any(is_remote_client(e.argv) for e in tuis):
        return Unprovable("remote", REMOTE_CLIENT_TEXT)
    holders = [e for e in tuis if e.rollouts] or [e for e in tuis if e.locks]
    if len(holders) > 1:
        return Unprovable("ambiguous", AMBIGUOUS_TEXT)
    if holders:
        return InProcess(holders[0].pid, newest_rollout(holders[0].rollouts))
    if settled:
        return Unprovable("daemon", DAEMON_CLIENT_TEXT)
    return Unprovable("starting", "Codex is still starting")
