"""Thread picker shown after a folder is chosen (pure).

Lists what a topic can be bound to in that folder: running tmux windows that no topic owns yet
(first, they are live) and persisted Codex threads (newest first, as
``SessionIndex.threads_for_cwd`` returns them), 6 per page, one per row::

    [1. 🖥 api-server · running]
    [2. Mock hello mock · 5m]
    ...
    [◀] [▶]                        (only with more than one page)
    [✨ New thread] [✖ Cancel]

Buttons carry indexes into the ``threads`` / ``unbound_windows`` lists given to
:func:`render_picker`; pass the same lists to :func:`apply` (keep them in the UI session).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, NamedTuple

from ccbot.codex.sessions import ThreadInfo
from ccbot.telegram.types import InlineButton, InlineKeyboard
from ccbot.ui import Cancelled, shorten
from ccbot.ui.callbacks import (
    PICKER_CANCEL,
    PICKER_FRESH,
    PICKER_PAGE,
    PICKER_RESUME,
    PICKER_WINDOW,
    BadCallback,
    Callback,
    encode,
)

__all__ = [
    "PER_PAGE",
    "BindWindow",
    "Cancelled",
    "Fresh",
    "Page",
    "Resume",
    "WindowChoice",
    "apply",
    "format_age",
    "page_count",
    "render_picker",
    "thread_label",
]

PER_PAGE: Final = 6
BUTTON_CHARS: Final = 40
LINE_CHARS: Final = 80


class WindowChoice(NamedTuple):
    """A running tmux window not bound to any topic (a plain 3-tuple works too)."""

    window_id: str
    name: str
    cwd: Path | str


@dataclass(frozen=True, slots=True)
class Resume:
    """Resume the persisted thread ``thread_id`` in a new window."""

    thread_id: str


@dataclass(frozen=True, slots=True)
class Fresh:
    """Start a new Codex thread."""


@dataclass(frozen=True, slots=True)
class BindWindow:
    """Bind the topic to the already running window ``window_id``."""

    window_id: str


@dataclass(frozen=True, slots=True)
class Page:
    """Show page ``n`` of the picker."""

    n: int


def format_age(seconds: float) -> str:
    """Compact age: ``now`` (under a minute or in the future), ``5m``, ``3h``, ``2d``."""
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"


def thread_label(thread: ThreadInfo) -> str:
    """What a thread is called: its generated name, else its first prompt, else its short id."""
    for text in (thread.name, thread.preview):
        if text and text.strip():
            return " ".join(text.split())
    return f"thread {thread.id[:8]}"


def page_count(n_items: int) -> int:
    """Pages needed for ``n_items`` (at least 1)."""
    return max(1, -(-n_items // PER_PAGE))


def _clamp(page: int, n_items: int) -> int:
    return min(max(page, 0), page_count(n_items) - 1)


def _window_parts(window: Sequence[object]) -> tuple[str, str]:
    window_id, name = window[0], window[1]
    return str(window_id), str(name)


def render_picker(
    threads: Sequence[ThreadInfo],
    unbound_windows: Sequence[WindowChoice | tuple[str, str, Path | str]],
    page: int,
    token: str,
    now: float,
    *,
    cwd: Path | None = None,
) -> tuple[str, InlineKeyboard]:
    """HTML text and keyboard for ``page`` (clamped to the existing pages); ``now`` is epoch seconds."""
    n_windows = len(unbound_windows)
    total = n_windows + len(threads)
    page = _clamp(page, total)
    pages = page_count(total)
    start = page * PER_PAGE

    lines = ["🧵 <b>Pick a Codex thread</b>"]
    if cwd is not None:
        lines.append(f"<code>{html.escape(str(cwd), quote=False)}</code>")
    if pages > 1:
        lines.append(f"Page {page + 1}/{pages}")
    lines.append("")

    rows: list[tuple[InlineButton, ...]] = []
    for pos in range(start, min(start + PER_PAGE, total)):
        number = f"{pos + 1}."
        if pos < n_windows:
            window_id, name = _window_parts(unbound_windows[pos])
            label = shorten(name, BUTTON_CHARS - len(number) - len(" 🖥  · running"))
            rows.append((InlineButton(f"{number} 🖥 {label} · running", encode(PICKER_WINDOW, token, pos)),))
            lines.append(
                f"{number} 🖥 <b>{html.escape(shorten(name, LINE_CHARS), quote=False)}</b>"
                f" · running window {html.escape(window_id, quote=False)}"
            )
            continue
        index = pos - n_windows
        thread = threads[index]
        age = format_age(now - thread.updated)
        title = thread_label(thread)
        label = shorten(title, BUTTON_CHARS - len(number) - len(f"  · {age}"))
        rows.append((InlineButton(f"{number} {label} · {age}", encode(PICKER_RESUME, token, index)),))
        line = f"{number} <b>{html.escape(shorten(title, LINE_CHARS), quote=False)}</b> · {age}"
        if thread.name and thread.preview:
            line += f"\n    <i>{html.escape(shorten(thread.preview, LINE_CHARS), quote=False)}</i>"
        lines.append(line)
    if total == 0:
        lines.append("<i>No earlier threads here.</i>")

    nav: list[InlineButton] = []
    if page > 0:
        nav.append(InlineButton("◀", encode(PICKER_PAGE, token, page - 1)))
    if page < pages - 1:
        nav.append(InlineButton("▶", encode(PICKER_PAGE, token, page + 1)))
    if nav:
        rows.append(tuple(nav))
    rows.append(
        (
            InlineButton("✨ New thread", encode(PICKER_FRESH, token)),
            InlineButton("✖ Cancel", encode(PICKER_CANCEL, token)),
        )
    )
    return "\n".join(lines), InlineKeyboard(tuple(rows))


def apply(
    threads: Sequence[ThreadInfo],
    unbound_windows: Sequence[WindowChoice | tuple[str, str, Path | str]],
    page: int,
    callback: Callback,
) -> Resume | Fresh | BindWindow | Page | Cancelled:
    """The outcome of pressing ``callback`` on the picker rendered with these arguments.

    Raises :class:`BadCallback` for a non-picker kind or a button the rendered page did not show.
    """
    n_windows = len(unbound_windows)
    total = n_windows + len(threads)
    start = _clamp(page, total) * PER_PAGE
    shown = range(start, min(start + PER_PAGE, total))
    kind = callback.kind
    if kind == PICKER_RESUME:
        index = callback.int_arg()
        if index + n_windows not in shown or index >= len(threads):
            raise BadCallback(f"thread {index} is not on this page")
        return Resume(threads[index].id)
    if kind == PICKER_WINDOW:
        index = callback.int_arg()
        if index not in shown or index >= n_windows:
            raise BadCallback(f"window {index} is not on this page")
        return BindWindow(_window_parts(unbound_windows[index])[0])
    if kind == PICKER_PAGE:
        target = callback.int_arg()
        if target >= page_count(total):
            raise BadCallback(f"no page {target}")
        return Page(target)
    if kind == PICKER_FRESH:
        return Fresh()
    if kind == PICKER_CANCEL:
        return Cancelled()
    raise BadCallback(f"not a picker button: {kind}")
