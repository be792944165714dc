"""Inline-keyboard ``callback_data`` codec (pure).

Wire form: ``<kind>:<token>[:<arg>...]``, ASCII only, at most 64 bytes (Bot API limit,
telegram-bot-api.md §2.7). ``token`` names a server-side UI session (4-12 base62 characters, see
:func:`new_token`); the data never carries paths or other user content, only small non-negative
integers (indexes, pages) and key names from a fixed alphabet. Every kind has a fixed argument
signature (:data:`SIGNATURES`), so a valid value always fits in 64 bytes.

:func:`decode` accepts exactly what :func:`encode` produces and raises :class:`BadCallback` for
anything else (forged, stale-format or oversized data); :func:`encode` raises ``ValueError`` for
arguments it cannot represent (a programming error, not user input).
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from typing import Final

__all__ = [
    "BROWSER_CANCEL",
    "BROWSER_HIDDEN",
    "BROWSER_OPEN",
    "BROWSER_PAGE",
    "BROWSER_SELECT",
    "BROWSER_UP",
    "HISTORY_PAGE",
    "MAX_BYTES",
    "MAX_INT",
    "NOOP",
    "PICKER_CANCEL",
    "PICKER_FRESH",
    "PICKER_PAGE",
    "PICKER_RESUME",
    "PICKER_WINDOW",
    "PROMPT_OPT",
    "SCREENSHOT_KEY",
    "SCREENSHOT_REFRESH",
    "SIGNATURES",
    "BadCallback",
    "Callback",
    "decode",
    "encode",
    "new_token",
]

MAX_BYTES: Final = 64
MAX_INT: Final = 999_999
TOKEN_ALPHABET: Final = string.digits + string.ascii_letters
TOKEN_LEN: Final = 6
MAX_KEY_LEN: Final = 16

BROWSER_OPEN: Final = "br.open"
BROWSER_UP: Final = "br.up"
BROWSER_PAGE: Final = "br.page"
BROWSER_SELECT: Final = "br.select"
BROWSER_CANCEL: Final = "br.cancel"
BROWSER_HIDDEN: Final = "br.hidden"
PICKER_RESUME: Final = "pk.resume"
PICKER_FRESH: Final = "pk.fresh"
PICKER_PAGE: Final = "pk.page"
PICKER_CANCEL: Final = "pk.cancel"
PICKER_WINDOW: Final = "pk.window"
HISTORY_PAGE: Final = "hi.page"
PROMPT_OPT: Final = "pr.opt"
SCREENSHOT_KEY: Final = "ss.key"
SCREENSHOT_REFRESH: Final = "ss.refresh"
NOOP: Final = "noop"  # for labels that must be buttons (e.g. a page counter) but do nothing

# "i": integer 0..MAX_INT, "k": key name ([A-Za-z0-9_+-], 1..16 characters).
SIGNATURES: Final[dict[str, str]] = {
    BROWSER_OPEN: "i",
    BROWSER_UP: "",
    BROWSER_PAGE: "i",
    BROWSER_SELECT: "",
    BROWSER_CANCEL: "",
    BROWSER_HIDDEN: "",
    PICKER_RESUME: "i",
    PICKER_FRESH: "",
    PICKER_PAGE: "i",
    PICKER_CANCEL: "",
    PICKER_WINDOW: "i",
    HISTORY_PAGE: "i",
    PROMPT_OPT: "i",
    SCREENSHOT_KEY: "k",
    SCREENSHOT_REFRESH: "",
    NOOP: "",
}

_TOKEN_RE: Final = re.compile(r"[0-9A-Za-z]{4,12}")
_INT_RE: Final = re.compile(r"0|[1-9][0-9]{0,5}")
_KEY_RE: Final = re.compile(r"[A-Za-z0-9_+-]{1,16}")


class BadCallback(ValueError):
    """``callback_data`` that this codec did not produce, or that does not fit the UI it targets."""


@dataclass(frozen=True, slots=True)
class Callback:
    """A decoded button press: ``kind`` is one of :data:`SIGNATURES`, ``args`` match its signature."""

    kind: str
    token: str
    args: tuple[str | int, ...] = ()

    def int_arg(self, i: int = 0) -> int:
        """The ``i``-th argument as an int; ``BadCallback`` if it is not one."""
        try:
            value = self.args[i]
        except IndexError:
            raise BadCallback(f"{self.kind}: missing argument {i}") from None
        if not isinstance(value, int):
            raise BadCallback(f"{self.kind}: argument {i} is not an integer")
        return value


def new_token() -> str:
    """A fresh random UI-session token (6 base62 characters, about 35 bits)."""
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LEN))


def encode(kind: str, token: str, *args: str | int) -> str:
    """Build ``callback_data`` for ``kind``; ``ValueError`` if kind, token or args do not fit."""
    sig = SIGNATURES.get(kind)
    if sig is None:
        raise ValueError(f"unknown callback kind {kind!r}")
    if not _TOKEN_RE.fullmatch(token):
        raise ValueError(f"bad token {token!r}")
    if len(args) != len(sig):
        raise ValueError(f"{kind} takes {len(sig)} argument(s), got {len(args)}")
    parts = [kind, token]
    for code, arg in zip(sig, args, strict=True):
        if code == "i":
            if isinstance(arg, bool) or not isinstance(arg, int) or not 0 <= arg <= MAX_INT:
                raise ValueError(f"{kind}: {arg!r} is not an integer in 0..{MAX_INT}")
            parts.append(str(arg))
        else:
            if not isinstance(arg, str) or not _KEY_RE.fullmatch(arg):
                raise ValueError(f"{kind}: {arg!r} is not a key name")
            parts.append(arg)
    data = ":".join(parts)
    # Holds by construction (longest kind + 12 + 16 + separators < 64); kept as a guard for new kinds.
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data too long: {data!r}")
    return data


def decode(data: str) -> Callback:
    """Parse ``callback_data``; ``BadCallback`` for anything :func:`encode` would not produce."""
    if not isinstance(data, str) or not data:
        raise BadCallback("empty callback data")
    if not data.isascii():
        raise BadCallback("non-ASCII callback data")
    if len(data) > MAX_BYTES:
        raise BadCallback("callback data longer than 64 bytes")
    parts = data.split(":")
    if len(parts) < 2:
        raise BadCallback("callback data without token")
    kind, token, raw_args = parts[0], parts[1], parts[2:]
    sig = SIGNATURES.get(kind)
    if sig is None:
        raise BadCallback(f"unknown callback kind {kind!r}")
    if not _TOKEN_RE.fullmatch(token):
        raise BadCallback("bad token")
    if len(raw_args) != len(sig):
        raise BadCallback(f"{kind} takes {len(sig)} argument(s), got {len(raw_args)}")
    args: list[str | int] = []
    for code, raw in zip(sig, raw_args, strict=True):
        if code == "i":
            if not _INT_RE.fullmatch(raw):
                raise BadCallback(f"{kind}: bad integer {raw!r}")
            args.append(int(raw))
        else:
            if not _KEY_RE.fullmatch(raw):
                raise BadCallback(f"{kind}: bad key name {raw!r}")
            args.append(raw)
    return Callback(kind, token, tuple(args))
