"""Split Telegram HTML into messages that each fit Telegram's length limit.

Telegram counts the limit (4096) in Unicode code points of the *parsed* text, so the splitter
works on what `parse_html` returns, the visible text and its entities: it prefers paragraph
breaks, then line breaks, then other whitespace, cuts a word only when one word alone is longer
than the limit, and writes each piece back as HTML with the formatting that covers it, so tags
open at a cut are closed at the end of one chunk and reopened at the start of the next.

A message that fits is sent exactly as given. A split message is written back in a canonical
form (`<b>` for `<strong>`, `&lt;` for `&#60;`, normalised link URLs): the same text and
formatting as Telegram would show for the original.
"""

from __future__ import annotations

import bisect
import html as html_lib
import re
from dataclasses import dataclass

from ccbot.render.tg_html import Entity, ParsedText, parse_html

__all__ = ["MIN_LIMIT", "TRIM_CHARS", "Chunk", "split_html", "split_html_chunks", "split_parsed_chunks"]

MIN_LIMIT = 32

# Telegram turns C0 controls into spaces and trims trailing spaces/newlines, so trailing
# characters from this set never count against the limit.
TRIM_CHARS = "".join(chr(c) for c in range(0x21))
_CONTENT = re.compile(r"[^\x00-\x20]")
_ASTRAL = re.compile(r"[\U00010000-\U0010ffff]")
_NO_BREAK_SPACES = frozenset("\u00a0\u2007\u202f\ufeff")
_SIMPLE_TAGS = {
    "bold": "b",
    "italic": "i",
    "underline": "u",
    "strikethrough": "s",
    "spoiler": "tg-spoiler",
    "code": "code",
    "blockquote": "blockquote",
}


@dataclass(frozen=True, slots=True)
class Chunk:
    """One message: `html` to send and `text`, exactly what `parse_html(html).text` gives."""

    html: str
    text: str


@dataclass(frozen=True, slots=True)
class _Span:
    """An entity in code point indices of the text: [start, stop)."""

    start: int
    stop: int
    entity: Entity


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
    * every character keeps its formatting (the entities `parse_html` finds over it).

    Input that fits is returned unchanged as one chunk; input with no visible text is returned
    as one chunk of `html` (or no chunks when empty). Raises `HtmlParseError` (a `ValueError`)
    for invalid HTML and `ValueError` for a limit below `MIN_LIMIT`.
    """
    if limit < MIN_LIMIT:
        raise ValueError(f"limit must be at least {MIN_LIMIT}")
    if not html:
        return []
    return split_parsed_chunks(html, parse_html(html), limit)


def split_parsed_chunks(html: str, parsed: ParsedText, limit: int = 4096) -> list[Chunk]:
    """`split_html_chunks(html, limit)` for a caller that already holds `parsed == parse_html(html)`
    (not checked); same guarantees and result, without parsing `html` again."""
    if limit < MIN_LIMIT:
        raise ValueError(f"limit must be at least {MIN_LIMIT}")
    if not html:
        return []
    text = parsed.text
    content_end = len(text.rstrip(TRIM_CHARS))
    if content_end <= limit:
        return [Chunk(html, text)]  # fits as Telegram counts it (parsed, trimmed)
    bounds: list[tuple[int, int]] = []  # text ranges [a, c)
    origin = 0
    first = _first_content(text, 0)
    if first is not None and first >= limit // 2:
        origin = first  # Telegram trims leading whitespace anyway: drop the run
    while content_end - origin > limit:
        first = _first_content(text, origin)
        assert first is not None  # content remains beyond the limit
        cut = _choose_cut(text, origin, first, limit)
        following = _first_content(text, cut)
        if following is not None and following - cut >= limit // 2:
            cut = following  # a huge blank run becomes trailing whitespace, which is trimmed
        bounds.append((origin, cut))
        origin = cut
    bounds.append((origin, len(text)))
    spans = _spans(text, parsed.entities)
    return [Chunk(_write(text, spans, a, c), text[a:c]) for a, c in bounds]


def _first_content(text: str, start: int) -> int | None:
    """Index of the first code point at or after `start` that is not trimmed whitespace."""
    match = _CONTENT.search(text, start)
    return match.start() if match else None


def _is_break_space(ch: str) -> bool:
    return ch.isspace() and ch not in _NO_BREAK_SPACES


def _choose_cut(text: str, origin: int, first: int, limit: int) -> int:
    """The index to cut before: the chunk is [origin, cut), cut in (first, origin + limit]."""
    hard = min(origin + limit, len(text))
    half = origin + limit // 2

    def after(separator: str, lowest: int) -> int | None:
        # The highest j in [lowest, hard] right after `separator`, which must lie in the chunk.
        found = text.rfind(separator, max(lowest - len(separator), origin), hard)
        return found + len(separator) if found >= 0 else None

    def at_space(lowest: int) -> int | None:
        for j in range(hard, lowest - 1, -1):
            nxt = text[j] if j < len(text) else ""
            if _is_break_space(text[j - 1]) != (nxt != "" and _is_break_space(nxt)):
                return j
        return None

    def paragraph(lowest: int) -> int | None:
        return after("\n\n", lowest)

    def line(lowest: int) -> int | None:
        return after("\n", lowest)

    for lower in (half, origin):
        for find in (paragraph, line, at_space):
            found = find(max(lower, first + 1))
            if found is not None:
                return found
    return hard  # one word longer than the limit


def _spans(text: str, entities: tuple[Entity, ...]) -> list[_Span]:
    """The entities with their UTF-16 offsets turned into code point indices, in the same order."""
    astral = [m.start() + n for n, m in enumerate(_ASTRAL.finditer(text))]  # their UTF-16 offsets

    def index(unit: int) -> int:
        return unit - bisect.bisect_left(astral, unit)

    return [_Span(index(e.offset), index(e.end), e) for e in entities]


def _write(text: str, spans: list[_Span], a: int, c: int) -> str:
    """HTML for text[a:c] with every entity that covers part of it, clipped to it."""
    parts: list[str] = []
    open_: list[tuple[int, str]] = []  # (stop, closing tags), innermost last
    position = a
    for span in spans:  # sorted by start, outer before inner
        if span.start >= c:
            break
        if span.stop <= a:
            continue
        start = max(span.start, a)
        while open_ and open_[-1][0] <= start:
            position = _close(parts, text, open_, position)
        if start > position:
            parts.append(html_lib.escape(text[position:start], quote=False))
            position = start
        opening, closing = _tags(span.entity)
        parts.append(opening)
        open_.append((min(span.stop, c), closing))
    while open_:
        position = _close(parts, text, open_, position)
    parts.append(html_lib.escape(text[position:c], quote=False))
    return "".join(parts)


def _close(parts: list[str], text: str, open_: list[tuple[int, str]], position: int) -> int:
    """Write the text up to where the innermost open entity stops, then its closing tags."""
    stop, closing = open_.pop()
    if stop > position:
        parts.append(html_lib.escape(text[position:stop], quote=False))
        position = stop
    parts.append(closing)
    return position


def _tags(entity: Entity) -> tuple[str, str]:
    """(opening, closing) tags that make `parse_html` produce `entity`."""
    kind = entity.type
    if kind in _SIMPLE_TAGS:
        tag = _SIMPLE_TAGS[kind]
        return f"<{tag}>", f"</{tag}>"
    if kind == "pre":
        if entity.language:
            return f'<pre><code class="language-{html_lib.escape(entity.language)}">', "</code></pre>"
        return "<pre>", "</pre>"
    if kind == "text_link":
        return f'<a href="{html_lib.escape(entity.url or "")}">', "</a>"
    if kind == "expandable_blockquote":
        return "<blockquote expandable>", "</blockquote>"
    if kind == "custom_emoji":
        return f'<tg-emoji emoji-id="{entity.custom_emoji_id}">', "</tg-emoji>"
    raise ValueError(f"no tag for entity type {kind!r}")
