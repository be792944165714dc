"""Split Telegram HTML into messages that each fit Telegram's length limit.

Telegram counts the limit (4096) in Unicode code points of the *parsed* text, so the splitter
works on the visible text, not on the markup: it never cuts inside a tag or a character
reference, prefers paragraph breaks, then line breaks, then other whitespace, cuts a word only
when one word alone is longer than the limit, and closes the open tags at the end of a chunk and
reopens them (with their original attributes) at the start of the next.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from ccbot.render.tg_html import parse_html

__all__ = ["MIN_LIMIT", "split_html"]

MIN_LIMIT = 32

# Telegram turns C0 controls into spaces and trims trailing spaces/newlines, so trailing
# characters from this set never count against the limit.
_TRIM = "".join(chr(c) for c in range(0x21))
_TAG_SPACE = " \t\r\n\x00\x0b"
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HEX = frozenset("0123456789abcdefABCDEF")
_NO_BREAK_SPACES = frozenset("\u00a0\u2007\u202f\ufeff")
# TDLib reads at most "&#" + 8 digits (or "&quot") before deciding; 11 covers it with the ';'.
_REFERENCE_REACH = 11


@dataclass(frozen=True, slots=True)
class _Tag:
    raw: str
    name: str
    closing: bool


@dataclass(frozen=True, slots=True)
class _Unit:
    raw: str
    text: str


def split_html(html: str, limit: int = 4096) -> list[str]:
    """Split valid Telegram HTML into chunks of at most `limit` visible code points each.

    Guarantees, for input that `parse_html` accepts:

    * every chunk parses, and its parsed text, without trailing whitespace, has at most
      `limit` code points and contains something other than whitespace;
    * the chunks' parsed texts joined equal the input's parsed text, except that a run of
      whitespace longer than `limit // 2` at a cut (or at the very start) may be dropped;
    * every character keeps its formatting: tags open at a cut are closed at the end of one
      chunk and reopened, with the same attributes, at the start of the next.

    Input that fits is returned unchanged as a one-element list; input with no visible text
    is returned as `[html]` (or `[]` when empty). Raises `HtmlParseError` (a `ValueError`) for
    invalid HTML and `ValueError` for a limit below `MIN_LIMIT`.
    """
    if limit < MIN_LIMIT:
        raise ValueError(f"limit must be at least {MIN_LIMIT}")
    if not html:
        return []
    parsed = parse_html(html)  # validate first: the lexer below assumes well-formed input
    if len(parsed.text.rstrip(_TRIM)) <= limit:
        return [html]  # fits as Telegram counts it (parsed, trimmed): skip the lexer
    items, units, breakable = _lex(html)
    offsets = [0]
    for unit in units:
        offsets.append(offsets[-1] + len(unit.text))
    visible = "".join(u.text for u in units)
    content_end = len(visible.rstrip(_TRIM))
    if content_end <= limit:
        return [html]

    unit_item = [i for i, it in enumerate(items) if isinstance(it, _Unit)]
    dropped: set[int] = set()
    bounds: list[tuple[int, int]] = []  # unit ranges [a, c)
    start, origin = 0, 0
    first = _first_content(units, 0)
    if first is not None and offsets[first] >= limit // 2:
        dropped.update(range(first))  # Telegram trims leading whitespace anyway
        origin = first
    while content_end - offsets[origin] > limit:
        first = _first_content(units, origin)
        assert first is not None  # content remains beyond the limit
        cut = _choose_cut(visible, offsets, breakable, origin, first, limit)
        following = _first_content(units, cut)
        if following is not None and offsets[following] - offsets[cut] >= limit // 2:
            cut = following  # a huge blank run becomes trailing whitespace, which is trimmed
        bounds.append((start, cut))
        start = origin = cut
    bounds.append((start, len(units)))
    return _serialize(items, unit_item, bounds, dropped)


def _lex(html: str) -> tuple[list[_Tag | _Unit], list[_Unit], list[bool]]:
    """Tags and visible units in source order; `breakable[j]`: a cut before unit j is safe."""
    items: list[_Tag | _Unit] = []
    units: list[_Unit] = []
    breakable: list[bool] = []
    i, n = 0, len(html)
    while i < n:
        ch = html[i]
        if ch == "<":
            end = _tag_end(html, i)
            raw = html[i : end + 1]
            closing = raw.startswith("</")
            name_start = i + (2 if closing else 1)
            j = name_start
            while j < end and html[j] not in _TAG_SPACE:
                j += 1
            items.append(_Tag(raw, html[name_start:j].lower(), closing))
            i = end + 1
        elif ch == "&":
            end, text = _reference(html, i)
            if text is None:
                # A literal '&': a cut a few characters after it could turn a prefix into a
                # reference ("&ltx" → "&lt" | "x"), so no cut within TDLib's reach of it.
                for k in range(i, end):
                    unit = _Unit(html[k], html[k])
                    items.append(unit)
                    units.append(unit)
                    breakable.append(k == i or k - i > _REFERENCE_REACH)
            else:
                unit = _Unit(html[i:end], text)
                items.append(unit)
                units.append(unit)
                breakable.append(True)
            i = end
        else:
            unit = _Unit(ch, ch)
            items.append(unit)
            units.append(unit)
            breakable.append(True)
            i += 1
    breakable.append(True)  # after the last unit
    return items, units, breakable


def _tag_end(html: str, i: int) -> int:
    """Index of the '>' closing the tag that starts at `i` (quotes in attribute values skipped)."""
    j, n = i + 1, len(html)
    quote = ""
    while j < n:
        c = html[j]
        if quote:
            if c == quote:
                quote = ""
        elif c in "\"'" and html[j - 1] in "=" + _TAG_SPACE:
            quote = c
        elif c == ">":
            return j
        j += 1
    raise ValueError(f"unclosed tag at {i}")


def _reference(html: str, i: int) -> tuple[int, str | None]:
    """TDLib's character reference rules at `i` ('&'): (end, decoded text or None if literal).

    For a literal '&' the end covers the run TDLib scanned, so the caller can keep it whole.
    """
    n = len(html)
    j = i + 1
    code = 0
    if j < n and html[j] == "#":
        j += 1
        digits = _HEX if j < n and html[j] == "x" else frozenset("0123456789")
        base = 16 if digits is _HEX else 10
        if base == 16:
            j += 1
        while j < n and html[j] in digits:
            code = code * base + int(html[j], base)
            j += 1
        valid = 0 < code < 0x10FFFF and j - i < 10
        text = chr(code) if valid else None
    else:
        while j < n and html[j].isascii() and html[j].isalpha():
            j += 1
        text = _NAMED.get(html[i + 1 : j])
    if j < n and html[j] == ";":
        j += 1
    return j, text


def _first_content(units: list[_Unit], start: int) -> int | None:
    for j in range(start, len(units)):
        if units[j].text.strip(_TRIM):
            return j
    return None


def _is_break_space(ch: str) -> bool:
    return ch.isspace() and ch not in _NO_BREAK_SPACES


def _choose_cut(
    visible: str, offsets: list[int], breakable: list[bool], origin: int, first: int, limit: int
) -> int:
    """The unit index to cut before: the chunk is units [origin, cut), cut in (first, hard]."""
    base = offsets[origin]
    hard = bisect.bisect_right(offsets, base + limit) - 1
    half = base + limit // 2
    candidates = [j for j in range(hard, first, -1) if breakable[j]]
    if not candidates:
        raise ValueError("no safe cut point within the limit")

    def before(j: int, back: int) -> str:
        pos = offsets[j] - back
        return visible[pos] if pos >= base else ""

    def after(j: int) -> str:
        return visible[offsets[j]] if offsets[j] < len(visible) else ""

    def paragraph(j: int) -> bool:
        return before(j, 1) == "\n" and before(j, 2) == "\n"

    def line(j: int) -> bool:
        return before(j, 1) == "\n"

    def space(j: int) -> bool:
        prev, nxt = before(j, 1), after(j)
        return (prev != "" and _is_break_space(prev) and not (nxt and _is_break_space(nxt))) or (
            prev != "" and not _is_break_space(prev) and nxt != "" and _is_break_space(nxt)
        )

    for lower in (half, base):
        for test in (paragraph, line, space):
            for j in candidates:
                if offsets[j] < lower:
                    break
                if test(j):
                    return j
    return candidates[0]


def _is_end_tag(item: _Tag | _Unit) -> bool:
    return isinstance(item, _Tag) and item.closing


def _serialize(
    items: list[_Tag | _Unit], unit_item: list[int], bounds: list[tuple[int, int]], dropped: set[int]
) -> list[str]:
    """Render unit ranges back to HTML, closing and reopening the open tags at each cut."""
    dropped_items = {unit_item[j] for j in dropped}
    chunks: list[str] = []
    stack: list[_Tag] = []
    item_start = 0
    for number, (_, stop) in enumerate(bounds):
        last = number == len(bounds) - 1
        if last:
            item_stop = len(items)
        else:
            item_stop = unit_item[stop - 1] + 1
            while item_stop < len(items) and _is_end_tag(items[item_stop]):
                item_stop += 1
        parts = [t.raw for t in stack]
        for k in range(item_start, item_stop):
            item = items[k]
            if isinstance(item, _Tag):
                if item.closing:
                    if stack:
                        stack.pop()
                else:
                    stack.append(item)
            elif k in dropped_items:
                continue
            parts.append(item.raw)
        parts.extend(f"</{t.name}>" for t in reversed(stack))
        chunks.append("".join(parts))
        item_start = item_stop
    return chunks
