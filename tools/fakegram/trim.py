"""What the Telegram server does to a parsed text before it stores it (``strip_and_trim``).

Only the fake server needs this: the bot sends HTML and lets Telegram clean it. Pure: no I/O, no trio.
Entity offsets and lengths are in UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

from dataclasses import replace

from ccbot.render.tg_html import Entity, ParsedText, entity_sort_key, utf16_length

__all__ = ["strip_and_trim"]

# Removed by the server: \r, the line/paragraph separators and bidi controls U+2028..U+202E, and
# three combining marks TDLib strips.
_REMOVED = frozenset({0x0D, 0x0333, 0x033F, 0x030A, *range(0x2028, 0x202F)})
_CODE_LIKE = frozenset({"code", "pre"})
_QUOTES = frozenset({"blockquote", "expandable_blockquote"})


def strip_and_trim(parsed: ParsedText) -> ParsedText:
    """What the server stores for a parsed text: cleaned, trimmed, entities adjusted.

    * C0 control characters other than ``\\n`` (tab included) become spaces; ``\\r``, U+2028..U+202E
      and U+030A/U+0333/U+033F are removed.
    * Entities nested where Telegram forbids it are dropped: anything inside ``code``/``pre`` that is
      itself code/pre, a blockquote inside a blockquote, a link inside a link.
    * Entities covering only spaces and newlines are dropped (links survive on spaces).
    * Trailing spaces/newlines are trimmed; leading ones only up to the first entity.
    * A text with nothing but spaces/newlines becomes ``ParsedText("", ())``; callers decide whether
      that is an error (it is for messages, not for captions).
    """
    text, mapping = _clean(parsed.text)
    entities: list[Entity] = []
    for entity in parsed.entities:
        start, stop = (
            mapping[min(entity.offset, len(mapping) - 1)],
            mapping[min(entity.end, len(mapping) - 1)],
        )
        if stop > start:
            entities.append(replace(entity, offset=start, length=stop - start))
    entities.sort(key=entity_sort_key)
    entities = _drop_forbidden_nesting(entities)
    units = text.encode("utf-16-le", "surrogatepass")
    entities = [e for e in entities if _has_content(units, e)]
    content = text.rstrip(" \n")
    if not content:
        return ParsedText("", ())
    last = utf16_length(content)
    trimmed: list[Entity] = []
    for entity in entities:
        if entity.end > last:
            entity = replace(entity, length=last - entity.offset)
        if entity.length > 0:
            trimmed.append(entity)
    first = trimmed[0].offset if trimmed else last
    lead = 0
    while lead < first and content[lead] in " \n":
        lead += 1
    shifted = tuple(replace(e, offset=e.offset - lead) for e in trimmed)
    return ParsedText(content[lead:], shifted)


def _clean(text: str) -> tuple[str, list[int]]:
    """Cleaned text and a map from every old UTF-16 boundary to the new one."""
    out: list[str] = []
    mapping: list[int] = []
    new = 0
    for ch in text:
        code = ord(ch)
        width = 2 if code > 0xFFFF else 1
        mapping.extend([new] * width)
        if code in _REMOVED:
            continue
        if code < 0x20 and code != 0x0A:
            out.append(" ")
        else:
            out.append(ch)
        new += width
    mapping.append(new)
    return "".join(out), mapping


def _has_content(units: bytes, entity: Entity) -> bool:
    inner = units[2 * entity.offset : 2 * entity.end].decode("utf-16-le", "surrogatepass")
    blank = "\n" if entity.type == "text_link" else " \n"
    return bool(inner.strip(blank))


def _drop_forbidden_nesting(entities: list[Entity]) -> list[Entity]:
    """Drop entities Telegram cannot nest; input and output are sorted by :func:`entity_sort_key`."""
    kept: list[Entity] = []
    open_: list[Entity] = []
    for entity in entities:
        while open_ and open_[-1].end <= entity.offset:
            open_.pop()
        if any(_forbidden(outer, entity) for outer in open_):
            continue
        kept.append(entity)
        open_.append(entity)
    return kept


def _forbidden(outer: Entity, inner: Entity) -> bool:
    if inner.end > outer.end:
        return False  # not nested: parse_html never produces crossing spans
    if outer.type in _CODE_LIKE and inner.type in _CODE_LIKE:
        return True
    if outer.type in _QUOTES and inner.type in _QUOTES:
        return True
    return outer.type == "text_link" and inner.type == "text_link"
