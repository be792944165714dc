"""Split Telegram HTML into messages that each fit Telegram's length limit.

Telegram counts the limit (4096) in Unicode code points of the *parsed* text, so the splitter
works on the visible text, not on the markup: it never cuts inside a tag or a character
reference, prefers paragraph breaks, then line breaks, then other whitespace, cuts a word only
when one word alone is longer than the limit, and closes the open tags at the end of a chunk and
reopens them (with their original attributes) at the start of the next.

The source is read once into the visible text plus, for every visible code point, where it
starts and ends in the source; text runs are mapped in bulk, so long answers cost little more
than one `parse_html`.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from ccbot.render.tg_html import parse_html

__all__ = ["MIN_LIMIT", "Chunk", "split_html", "split_html_chunks"]

MIN_LIMIT = 32

# Telegram turns C0 controls into spaces and trims trailing spaces/newlines, so trailing
# characters from this set never count against the limit.
_TRIM = "".join(chr(c) for c in range(0x21))
_CONTENT = re.compile(r"[^\x00-\x20]")
_SPECIAL = re.compile(r"[<&]")
# A tag whose attribute values, if any, are quoted right after "=" or a space: the only shape
# valid HTML has. Group 1 is the name. Anything else is read by `_tag_end`.
_TAG = re.compile(r"""</?([^ \t\r\n\x00\x0b>"'=]*)(?:[^>"']|(?<=[= \t\r\n\x00\x0b])"[^"]*"|(?<=[= \t\r\n\x00\x0b])'[^']*')*>""")
_TAG_SPACE = " \t\r\n\x00\x0b"
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HEX = frozenset("0123456789abcdefABCDEF")
_DECIMAL = frozenset("0123456789")
_NO_BREAK_SPACES = frozenset("\u00a0\u2007\u202f\ufeff")
# TDLib reads at most "&#" + 8 digits (or "&quot") before deciding; 11 covers it with the ';'.
_REFERENCE_REACH = 11


@dataclass(frozen=True, slots=True)
class Chunk:
    """One message: `html` to send and `text`, exactly what `parse_html(html).text` gives."""

    html: str
    text: str


@dataclass(frozen=True, slots=True)
class _Tag:
    start: int  # index of '<' in the source
    stop: int  # index after '>'
    name: str
    closing: bool


@dataclass(slots=True)
class _Layout:
    """The source read once. Visible code point `v` comes from `source[starts[v]:stops[v]]`;
    a cut before `v` is unsafe when `v in unsafe`; `tags` are in source order."""

    visible: str
    starts: list[int]
    stops: list[int]
    unsafe: set[int]
    tags: list[_Tag]
    tag_starts: list[int]


def split_html(html: str, limit: int = 4096) -> list[str]:
    """`split_html_chunks(html, limit)` without the texts: the HTML of each chunk."""
    return [chunk.html for chunk in split_html_chunks(html, limit)]


def split_html_chunks(html: str, limit: int = 4096) -> list[Chunk]:
    """Split valid Telegram HTML into chunks of at most `limit` visible code points each.

    Guarantees, for input that `parse_html` accepts:

    * every chunk parses, its parsed text is `Chunk.text`, and that text, without trailing
      whitespace, has at most `limit` code points and contains something other than whitespace;
    * the chunks' texts joined equal the input's parsed text, except that a run of whitespace
      longer than `limit // 2` at a cut (or at the very start) may be dropped;
    * every character keeps its formatting: tags open at a cut are closed at the end of one
      chunk and reopened, with the same attributes, at the start of the next.

    Input that fits is returned unchanged as one chunk; input with no visible text is returned
    as one chunk of `html` (or no chunks when empty). Raises `HtmlParseError` (a `ValueError`)
    for invalid HTML and `ValueError` for a limit below `MIN_LIMIT`.
    """
    if limit < MIN_LIMIT:
        raise ValueError(f"limit must be at least {MIN_LIMIT}")
    if not html:
        return []
    parsed = parse_html(html)  # validates: the layout below assumes well-formed input
    content_end = len(parsed.text.rstrip(_TRIM))
    if content_end <= limit:
        return [Chunk(html, parsed.text)]  # fits as Telegram counts it (parsed, trimmed)
    layout = _layout(html)
    visible = layout.visible
    bounds: list[tuple[int, int]] = []  # visible ranges [a, c)
    start = origin = 0
    first = _first_content(visible, 0)
    if first is not None and first >= limit // 2:
        origin = first  # Telegram trims leading whitespace anyway: drop the run
    while content_end - origin > limit:
        first = _first_content(visible, origin)
        assert first is not None  # content remains beyond the limit
        cut = _choose_cut(visible, layout.unsafe, origin, first, limit)
        following = _first_content(visible, cut)
        if following is not None and following - cut >= limit // 2:
            cut = following  # a huge blank run becomes trailing whitespace, which is trimmed
        bounds.append((origin if not bounds else start, cut))
        start = origin = cut
    bounds.append((origin if not bounds else start, len(visible)))
    return _serialize(html, layout, bounds)


def _layout(html: str) -> _Layout:
    """Read well-formed Telegram HTML into a `_Layout`."""
    visible: list[str] = []
    starts: list[int] = []
    stops: list[int] = []
    unsafe: set[int] = set()
    tags: list[_Tag] = []
    i, n = 0, len(html)
    while i < n:
        match = _SPECIAL.search(html, i)
        stop = match.start() if match else n
        if stop > i:  # a run of plain text: one visible code point per source character
            visible.append(html[i:stop])
            starts.extend(range(i, stop))
            stops.extend(range(i + 1, stop + 1))
            i = stop
            if match is None:
                break
        if html[i] == "<":
            tag = _TAG.match(html, i)
            end = tag.end() if tag is not None else _tag_end(html, i) + 1
            closing = html[i + 1] == "/"
            name = tag.group(1) if tag is not None else _tag_name(html, i + 1 + closing, end)
            tags.append(_Tag(i, end, name.lower(), closing))
            i = end
            continue
        end, text = _reference(html, i)
        if text is None:
            # A literal '&': a cut a few characters after it could turn a prefix into a
            # reference ("&ltx" → "&lt" | "x"), so no cut within TDLib's reach of it.
            here = len(starts)
            unsafe.update(range(here + 1, here + min(end - i, _REFERENCE_REACH + 1)))
            visible.append(html[i:end])
            starts.extend(range(i, end))
            stops.extend(range(i + 1, end + 1))
        else:
            visible.append(text)
            starts.append(i)
            stops.append(end)
        i = end
    return _Layout("".join(visible), starts, stops, unsafe, tags, [t.start for t in tags])


def _tag_name(html: str, start: int, end: int) -> str:
    j = start
    while j < end and html[j] not in _TAG_SPACE:
        j += 1
    return html[start:j]


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
        digits = _HEX if j < n and html[j] == "x" else _DECIMAL
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


def _first_content(visible: str, start: int) -> int | None:
    """Index of the first visible code point at or after `start` that is not trimmed whitespace."""
    match = _CONTENT.search(visible, start)
    return match.start() if match else None


def _is_break_space(ch: str) -> bool:
    return ch.isspace() and ch not in _NO_BREAK_SPACES


def _choose_cut(visible: str, unsafe: set[int], origin: int, first: int, limit: int) -> int:
    """The visible index to cut before: the chunk is [origin, cut), cut in (first, hard]."""
    hard = min(origin + limit, len(visible))
    half = origin + limit // 2

    def after_separator(separator: str, lowest: int) -> int | None:
        # The highest safe j in [lowest, hard] right after `separator` (which must lie in the chunk).
        end = hard
        while True:
            found = visible.rfind(separator, max(lowest - len(separator), origin), end)
            if found < 0:
                return None
            j = found + len(separator)
            if j not in unsafe:
                return j
            end = j - 1

    def at_space(lowest: int) -> int | None:
        for j in range(hard, lowest - 1, -1):
            if j in unsafe:
                continue
            prev, nxt = visible[j - 1], visible[j] if j < len(visible) else ""
            if _is_break_space(prev) != (nxt != "" and _is_break_space(nxt)):
                return j
        return None

    for lower in (half, origin):
        lowest = max(lower, first + 1)
        for found in (after_separator("\n\n", lowest), after_separator("\n", lowest), at_space(lowest)):
            if found is not None:
                return found
    for j in range(hard, first, -1):
        if j not in unsafe:
            return j
    raise ValueError("no safe cut point within the limit")


def _serialize(html: str, layout: _Layout, bounds: list[tuple[int, int]]) -> list[Chunk]:
    """Render visible ranges back to HTML, closing and reopening the open tags at each cut."""
    tags, tag_starts = layout.tags, layout.tag_starts
    chunks: list[Chunk] = []
    stack: list[_Tag] = []
    source_start = 0
    next_tag = 0
    for number, (a, c) in enumerate(bounds):
        if number == len(bounds) - 1:
            source_stop = len(html)
        else:
            source_stop = layout.stops[c - 1]
            k = bisect.bisect_left(tag_starts, source_stop)
            while k < len(tags) and tags[k].start == source_stop and tags[k].closing:
                source_stop = tags[k].stop  # end tags right after the cut stay in this chunk
                k += 1
        parts = [html[t.start : t.stop] for t in stack]
        if number == 0 and a > 0:
            # The dropped leading blank run: keep only its tags.
            content_start = layout.starts[a]
            while next_tag < len(tags) and tags[next_tag].start < content_start:
                tag = tags[next_tag]
                _track(stack, tag)
                parts.append(html[tag.start : tag.stop])
                next_tag += 1
            source_start = content_start
        parts.append(html[source_start:source_stop])
        while next_tag < len(tags) and tags[next_tag].start < source_stop:
            _track(stack, tags[next_tag])
            next_tag += 1
        parts.extend(f"</{t.name}>" for t in reversed(stack))
        chunks.append(Chunk("".join(parts), layout.visible[a:c]))
        source_start = source_stop
    return chunks


def _track(stack: list[_Tag], tag: _Tag) -> None:
    """Keep `stack` as the tags open after `tag`."""
    if not tag.closing:
        stack.append(tag)
    elif stack:
        stack.pop()
