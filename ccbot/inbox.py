"""Safe names for files users send to the bot (pure).

Files land in ``$CCBOT_DIR/inbox/<topic_dir_name(chat, topic)>/<name>``. Names come from Telegram
(``Document.file_name`` is whatever the sender's client put there), so :func:`safe_file_name` turns any
string into one path component that:

* cannot traverse: no ``/``, ``\\``, NUL; never ``.``/``..``; no leading dot (hidden) or dash (option-like);
* has no control or format characters (C0/C1, bidi overrides, zero-width), no whitespace;
* keeps letters and digits of any script (NFC-normalised) plus ``-_.+``; everything else becomes ``_``;
* is at most :data:`MAX_NAME_BYTES` bytes of UTF-8, cut between code points, extension kept;
* keeps a sane extension (1-10 ASCII letters/digits, lower-cased) or gets ``default_ext``.

:func:`unique_name` then picks ``stem-2.ext``, ``stem-3.ext`` … when the name is taken, so nothing is
overwritten (the caller still creates the file exclusively, because the directory may change between
listing and creating).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container

MAX_NAME_BYTES = 120  # well under the usual 255-byte limit, leaving room for a uniqueness suffix
_EXT_RE = re.compile(r"[A-Za-z0-9]{1,10}")
_KEEP = frozenset("-_.+")
_STRIP = "._-+"


def topic_dir_name(chat_id: int, topic_id: int) -> str:
    """The inbox folder of one topic, e.g. ``chat-1001234567890-topic42`` (unique per chat and topic)."""
    return f"chat{chat_id}-topic{topic_id}"


def _clean(text: str) -> str:
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        category = unicodedata.category(ch)
        # A combining mark is kept only on a kept letter, digit or mark, so no name starts with one.
        if ch in _KEEP or category[0] in "LN" or (
            category[0] == "M" and out and unicodedata.category(out[-1])[0] in "LNM"
        ):
            out.append(ch)
        else:
            out.append("_")
    return re.sub(r"_+", "_", "".join(out))


def _split_ext(name: str) -> tuple[str, str]:
    """(stem, ".ext") when ``name`` ends in a sane extension after a non-empty stem, else (name, "")."""
    stem, dot, ext = name.rpartition(".")
    if dot and stem.strip(_STRIP) and _EXT_RE.fullmatch(ext):
        return stem, "." + ext.lower()
    return name, ""


def _fit(stem: str, ext: str, limit: int) -> str:
    """``stem`` cut (between code points) so that ``stem + ext`` is at most ``limit`` UTF-8 bytes."""
    room = limit - len(ext.encode())
    encoded = stem.encode()
    if len(encoded) > room:
        stem = encoded[: max(room, 0)].decode("utf-8", "ignore")
    return stem


def safe_file_name(name: str | None, *, default_stem: str = "file", default_ext: str = "") -> str:
    """One safe path component for ``name`` (see the module docstring).

    ``name`` may be None or anything; only its last path component is used. When nothing usable is left
    the (also sanitised) ``default_stem`` is used; ``default_ext`` (e.g. ``".jpg"``, from the MIME type or
    Telegram's file path) is used when ``name`` has no sane extension. Never raises; never returns "".
    """
    base = re.split(r"[/\\]", name or "")[-1]
    stem, ext = _split_ext(_clean(base).strip(_STRIP))
    stem = stem.strip(_STRIP)
    if not ext:
        ext = _safe_ext(default_ext)
    if not stem:
        stem = _clean(default_stem).strip(_STRIP) or "file"
    stem = _fit(stem, ext, MAX_NAME_BYTES).rstrip(_STRIP) or "file"
    return stem + ext


def _safe_ext(ext: str) -> str:
    bare = ext.lstrip(".")
    return "." + bare.lower() if _EXT_RE.fullmatch(bare) else ""


def extension_of(path: str | None) -> str:
    """The sane extension (``".jpg"``) of a path such as Telegram's ``photos/file_2.jpg``, else ""."""
    if not path:
        return ""
    return _split_ext(re.split(r"[/\\]", path)[-1])[1]


def unique_name(name: str, taken: Container[str]) -> str:
    """``name`` if it is not in ``taken``, else the first free ``<stem>-<n><ext>`` for n = 2, 3, ….

    ``name`` should come from :func:`safe_file_name`; the result stays within :data:`MAX_NAME_BYTES`.
    """
    if name not in taken:
        return name
    stem, ext = _split_ext(name)
    n = 2
    while True:
        suffix = f"-{n}"
        candidate = _fit(stem, suffix + ext, MAX_NAME_BYTES) + suffix + ext
        if candidate not in taken:
            return candidate
        n += 1
