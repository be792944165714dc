"""Folder browser for choosing a topic's working directory.

Pure: the caller lists the folder (a :data:`Lister`, e.g. ``ccbot.actors.topics.folders.list_subdirs``)
and passes the ``Listing`` to :func:`render_browser` and :func:`apply`. Pass :func:`apply` the same entries
that were rendered (keep them in the server-side UI session): button indexes refer to the page the user saw.

Layout (8 folders per page, 2 per row)::

    [📁 alpha] [📁 beta]
    ...
    [⬆ ..] [◀] [▶]              (each only when it applies; row omitted when empty)
    [✅ Select this folder]
    [👁 Show hidden] [✖ Cancel]
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final, NamedTuple

from ccbot.telegram.types import InlineButton, InlineKeyboard
from ccbot.ui import Cancelled, shorten
from ccbot.ui.callbacks import (
    BROWSER_CANCEL,
    BROWSER_HIDDEN,
    BROWSER_OPEN,
    BROWSER_PAGE,
    BROWSER_SELECT,
    BROWSER_UP,
    BadCallback,
    Callback,
    encode,
)

__all__ = [
    "PER_PAGE",
    "PER_ROW",
    "BrowserState",
    "Cancelled",
    "Lister",
    "Listing",
    "Selected",
    "apply",
    "can_go_up",
    "page_count",
    "render_browser",
]

PER_PAGE: Final = 8
PER_ROW: Final = 2
NAME_CHARS: Final = 28


@dataclass(frozen=True, slots=True)
class BrowserState:
    """Where the browser is. ``root`` is the highest folder ``..`` may reach (``/`` for no limit)."""

    root: Path
    path: Path
    page: int = 0
    show_hidden: bool = False


@dataclass(frozen=True, slots=True)
class Selected:
    """The user chose ``path`` (lexical: symlinks in it are not resolved)."""

    path: Path


class Listing(NamedTuple):
    """Sub-folder names of one folder; ``unreadable`` means the folder could not be listed."""

    names: tuple[str, ...]
    unreadable: bool = False


Lister = Callable[[Path, bool], Listing]


def page_count(n_entries: int) -> int:
    """Pages needed for ``n_entries`` folders (at least 1, an empty folder still has a page)."""
    return max(1, -(-n_entries // PER_PAGE))


def _page(state: BrowserState, entries: Sequence[str]) -> int:
    # The folder may have shrunk since the state was made; show its last page rather than nothing.
    return min(max(state.page, 0), page_count(len(entries)) - 1)


def can_go_up(state: BrowserState) -> bool:
    """Whether ``..`` is offered: not at ``root`` and not at the file system root."""
    return state.path != state.path.parent and state.root in state.path.parents


def render_browser(
    state: BrowserState, entries: Sequence[str], token: str, *, unreadable: bool = False
) -> tuple[str, InlineKeyboard]:
    """HTML text and keyboard for ``state`` showing ``entries`` (the current folder's listing)."""
    page = _page(state, entries)
    pages = page_count(len(entries))
    start = page * PER_PAGE
    visible = entries[start : start + PER_PAGE]

    lines = ["📂 <b>Choose a folder</b>", f"<code>{html.escape(str(state.path), quote=False)}</code>"]
    if unreadable:
        lines.append("⚠️ This folder cannot be read.")
    elif not entries:
        lines.append("<i>No sub-folders.</i>")
    elif pages > 1:
        lines.append(f"Page {page + 1}/{pages} · {len(entries)} folders")

    rows: list[list[InlineButton]] = []
    for i, name in enumerate(visible):
        button = InlineButton(f"📁 {shorten(name, NAME_CHARS)}", encode(BROWSER_OPEN, token, i))
        if i % PER_ROW == 0:
            rows.append([button])
        else:
            rows[-1].append(button)
    nav: list[InlineButton] = []
    if can_go_up(state):
        nav.append(InlineButton("⬆ ..", encode(BROWSER_UP, token)))
    if page > 0:
        nav.append(InlineButton("◀", encode(BROWSER_PAGE, token, page - 1)))
    if page < pages - 1:
        nav.append(InlineButton("▶", encode(BROWSER_PAGE, token, page + 1)))
    if nav:
        rows.append(nav)
    rows.append([InlineButton("✅ Select this folder", encode(BROWSER_SELECT, token))])
    rows.append(
        [
            InlineButton(
                "🙈 Hide hidden" if state.show_hidden else "👁 Show hidden", encode(BROWSER_HIDDEN, token)
            ),
            InlineButton("✖ Cancel", encode(BROWSER_CANCEL, token)),
        ]
    )
    return "\n".join(lines), InlineKeyboard(tuple(tuple(r) for r in rows))


def apply(
    state: BrowserState, callback: Callback, entries: Sequence[str]
) -> BrowserState | Selected | Cancelled:
    """The outcome of pressing ``callback`` on the page rendered from ``state`` and ``entries``.

    A new state means "re-list ``state.path`` and render again". Raises :class:`BadCallback` for a
    non-browser kind or a button that the rendered page did not show (index or page out of range,
    ``..`` at the top).
    """
    kind = callback.kind
    if kind == BROWSER_OPEN:
        page = _page(state, entries)
        visible = entries[page * PER_PAGE : (page + 1) * PER_PAGE]
        index = callback.int_arg()
        if index >= len(visible):
            raise BadCallback(f"folder index {index} not on this page")
        name = visible[index]
        if name in ("", ".", "..") or "/" in name:
            raise BadCallback(f"not a folder name: {name!r}")
        return replace(state, path=state.path / name, page=0)
    if kind == BROWSER_UP:
        if not can_go_up(state):
            raise BadCallback("already at the top")
        return replace(state, path=state.path.parent, page=0)
    if kind == BROWSER_PAGE:
        target = callback.int_arg()
        if target >= page_count(len(entries)):
            raise BadCallback(f"no page {target}")
        return replace(state, page=target)
    if kind == BROWSER_HIDDEN:
        return replace(state, show_hidden=not state.show_hidden, page=0)
    if kind == BROWSER_SELECT:
        return Selected(state.path)
    if kind == BROWSER_CANCEL:
        return Cancelled()
    raise BadCallback(f"not a browser button: {kind}")
