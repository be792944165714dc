"""History pager (pure): already-rendered Telegram-HTML messages → pages → one page + keyboard.

:func:`paginate` packs consecutive messages (joined by a blank line, kept in chronological order)
into pages of at most ``limit`` visible characters. Packing starts at the newest message, so the
newest page is the fullest, and the result lists pages **newest first**: index 0 is what the user
sees first. A single message longer than ``limit`` gets a page of its own (it is never cut here: the
render splitter already keeps messages under Telegram's 4096).

:func:`render_history_page` numbers pages chronologically, so with 9 pages index 0 shows ``[9/9]``
and ``◀ Older`` moves to ``[8/9]``::

    |◀ Older| |[8/9]| |Newer ▶|
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from ccbot.telegram.types import InlineButton, InlineKeyboard
from ccbot.ui.callbacks import HISTORY_PAGE, NOOP, BadCallback, encode

__all__ = ["EMPTY_HTML", "PAGE_CHARS", "SEPARATOR", "paginate", "render_history_page", "visible_length"]

PAGE_CHARS: Final = 3500
SEPARATOR: Final = "\n\n"
EMPTY_HTML: Final = "<i>No messages yet.</i>"

_TAG: Final = re.compile(r"<[^>]*>")
# The entities Telegram decodes (telegram-bot-api.md §2.9); the ``;`` is optional there.
_ENTITY: Final = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#[xX][0-9a-fA-F]+);?")


def visible_length(html_text: str) -> int:
    """Code points Telegram counts for ``html_text``: tags removed, known entities as one character.

    Leading/trailing whitespace is not trimmed, so this may over-count slightly (the safe side).
    """
    return len(_ENTITY.sub("x", _TAG.sub("", html_text)))


def paginate(messages: Sequence[str], limit: int = PAGE_CHARS) -> list[str]:
    """Pages of ``messages`` (given oldest first), newest page first; blank messages are dropped."""
    if limit < 1:
        raise ValueError("limit must be >= 1")
    sep_len = len(SEPARATOR)
    pages: list[str] = []
    current: list[str] = []
    size = 0
    for message in reversed(messages):
        if not _TAG.sub("", message).strip():
            continue
        length = visible_length(message)
        if current and size + sep_len + length > limit:
            pages.append(SEPARATOR.join(reversed(current)))
            current, size = [], 0
        size += length + (sep_len if current else 0)
        current.append(message)
    if current:
        pages.append(SEPARATOR.join(reversed(current)))
    return pages


def render_history_page(pages: Sequence[str], index: int, token: str) -> tuple[str, InlineKeyboard]:
    """HTML and keyboard for ``pages[index]`` (``pages`` newest first, as :func:`paginate` gives).

    No pages → :data:`EMPTY_HTML` and an empty keyboard; one page → no buttons. Raises
    :class:`BadCallback` when ``index`` is not a page (it usually comes from a button press).
    """
    if not pages:
        if index != 0:
            raise BadCallback(f"no history page {index}")
        return EMPTY_HTML, InlineKeyboard(())
    if not 0 <= index < len(pages):
        raise BadCallback(f"no history page {index}")
    total = len(pages)
    if total == 1:
        return pages[0], InlineKeyboard(())
    row: list[InlineButton] = []
    if index < total - 1:
        row.append(InlineButton("◀ Older", encode(HISTORY_PAGE, token, index + 1)))
    row.append(InlineButton(f"[{total - index}/{total}]", encode(NOOP, token)))
    if index > 0:
        row.append(InlineButton("Newer ▶", encode(HISTORY_PAGE, token, index - 1)))
    return pages[index], InlineKeyboard((tuple(row),))
