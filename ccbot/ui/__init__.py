"""Inline-keyboard UIs (pure): callback codec, folder browser, thread picker, history pager.

This package module holds the two things the UIs share: the :class:`Cancelled` outcome and
:func:`shorten` for button labels.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Cancelled", "shorten"]


@dataclass(frozen=True, slots=True)
class Cancelled:
    """The user pressed a UI's cancel button."""


def shorten(text: str, limit: int) -> str:
    """``text`` with whitespace runs collapsed to one space, cut to ``limit`` code points with ``…``.

    ``limit`` must be at least 1 (``ValueError`` otherwise).
    """
    if limit < 1:
        raise ValueError("limit must be >= 1")
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[: limit - 1].rstrip() + "…"
