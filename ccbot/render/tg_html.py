"""Telegram's HTML parse mode, following the rules of TDLib's ``parse_html``.

Pure: no I/O, no trio. Two entry points:

* :func:`parse_html` turns Telegram HTML into plain text plus entities, or raises
  :class:`HtmlParseError` whose ``str()`` is exactly the message TDLib puts after
  ``Bad Request: can't parse entities:`` (offsets are UTF-8 byte offsets into the source).
* :func:`telegram_length` counts what Telegram's 4096/1024 limits count: code points.

Entity offsets and lengths are in UTF-16 code units, as in the Bot API.

Deliberate simplifications (the real server knows more than a parser can):

* ``<a href="tg://user?id=N">`` yields a ``text_link`` with that URL, not a ``text_mention``.
* ``<tg-time>`` is accepted but produces no entity.
* Link URLs are normalised and validated with a re-implementation of TDLib's URL rules
  (scheme http/https/tg, host with a dot, port range; ``tg_links.py``); an invalid URL drops the
  entity silently, as Telegram does.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ccbot.render.tg_links import check_link

__all__ = [
    "ENTITY_TYPES",
    "Entity",
    "HtmlParseError",
    "ParsedText",
    "entity_sort_key",
    "parse_html",
    "telegram_length",
    "utf16_length",
]

ENTITY_TYPES = frozenset(
    {
        "bold", "italic", "underline", "strikethrough", "spoiler", "text_link",
        "code", "pre", "blockquote", "expandable_blockquote", "custom_emoji",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Entity:
    """One formatting entity; ``offset``/``length`` count UTF-16 code units.

    ``url`` is set for ``text_link``, ``language`` for a ``pre`` with a language and
    ``custom_emoji_id`` for ``custom_emoji``.
    """

    type: str
    offset: int
    length: int
    url: str | None = None
    language: str | None = None
    custom_emoji_id: str | None = None

    @property
    def end(self) -> int:
        """The offset just past the entity (UTF-16 code units)."""
        return self.offset + self.length

    def to_api(self) -> dict[str, object]:
        """The Bot API ``MessageEntity`` JSON object."""
        out: dict[str, object] = {"type": self.type, "offset": self.offset, "length": self.length}
        if self.url is not None:
            out["url"] = self.url
        if self.language is not None:
            out["language"] = self.language
        if self.custom_emoji_id is not None:
            out["custom_emoji_id"] = self.custom_emoji_id
        return out

    @classmethod
    def from_api(cls, obj: Mapping[str, object]) -> Entity:
        """Build from a Bot API ``MessageEntity`` object; raises ``ValueError`` when malformed."""
        kind, offset, length = obj.get("type"), obj.get("offset"), obj.get("length")
        if not isinstance(kind, str) or not isinstance(offset, int) or not isinstance(length, int):
            raise ValueError(f"malformed MessageEntity: {obj!r}")

        def opt(key: str) -> str | None:
            value = obj.get(key)
            return value if isinstance(value, str) else None

        return cls(kind, offset, length, opt("url"), opt("language"), opt("custom_emoji_id"))


@dataclass(frozen=True, slots=True)
class ParsedText:
    """Plain text plus its entities, sorted the way TDLib sorts them."""

    text: str
    entities: tuple[Entity, ...]


class HtmlParseError(ValueError):
    """Raised by :func:`parse_html`; ``str(exc)`` is TDLib's exact message.

    ``byte_offset`` is the UTF-8 offset named in the message, when the message names one.
    """

    def __init__(self, message: str, byte_offset: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.byte_offset = byte_offset

    def __str__(self) -> str:
        return self.message


def telegram_length(text: str) -> int:
    """Length as Telegram's message/caption limits count it: Unicode code points."""
    return len(text)


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units (the unit of entity offsets)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# --- parse_html ---------------------------------------------------------------------------------

# TDLib's is_space(): note that NUL counts, which is how the end of the C string stops scans.
_SPACE = frozenset(b" \t\r\n\x00\x0b")
_LT, _GT, _AMP, _SLASH, _EQ, _QUOT, _APOS, _SEMI, _HASH = b"<>&/=\"';#"
# Attribute names end at one of these (besides whitespace).
_ATTR_NAME_END = frozenset(b"=>/\"'")
_ALPHA = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGIT = frozenset(b"0123456789")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_NAME_TOKEN = _ALPHA | _DIGIT | frozenset(b".-")
_NAMED_REFERENCES = {b"lt": ord("<"), b"gt": ord(">"), b"amp": ord("&"), b"quot": ord('"')}
_SUPPORTED_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u",
        "ins", "tg-spoiler", "tg-emoji", "tg-time", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip
_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_INVALID_UNICODE = (
    "Text contains invalid Unicode characters after decoding HTML entities, "
    "check for unmatched surrogate code units"
)
_SPECIAL = re.compile(rb"[&<]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# A tag with no attributes and no spaces: the common case, read without the general tag reader.
_BARE_TAG = re.compile(rb"<(/?)([A-Za-z][A-Za-z-]*)>")
# A start tag with one attribute whose value, if any, is double-quoted with nothing to decode.
_ONE_ATTRIBUTE_TAG = re.compile(rb'<([A-Za-z][A-Za-z-]*) ([A-Za-z-]+)(?:="([^"&\x00]*)")?>')
_MAX_INT64 = 2**63 - 1


@dataclass(slots=True)
class _Open:
    tag: str
    argument: str
    offset: int  # UTF-16 offset in the output where the tag opened
    out_pos: int  # byte position in the output where the tag opened


@dataclass(slots=True)
class _Draft:
    type: str
    offset: int
    length: int
    argument: str = ""


class _Reader:
    """The source as UTF-8 bytes; reading past the end yields NUL, like TDLib's C string."""

    __slots__ = ("data", "size")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)

    def at(self, index: int) -> int:
        return self.data[index] if index < self.size else 0

    def text(self, start: int, stop: int) -> str:
        return self.data[start:stop].decode("utf-8", "surrogatepass")

    def decode_reference(self, pos: int) -> tuple[int, int]:
        """Decode ``&...`` at ``pos``: (code point, position after it), or (0, pos) if not one."""
        end = pos + 1
        code = 0
        if self.at(pos + 1) == _HASH:
            end += 1
            if self.at(pos + 2) == ord("x"):
                end += 1
                while self.at(end) in _HEX:
                    code = code * 16 + int(chr(self.at(end)), 16)
                    end += 1
            else:
                while self.at(end) in _DIGIT:
                    code = code * 10 + self.at(end) - ord("0")
                    end += 1
            # TDLib's bounds, including its exclusion of U+10FFFF itself.
            if code == 0 or code >= 0x10FFFF or end - pos >= 10:
                return 0, pos
        else:
            while self.at(end) in _ALPHA:
                end += 1
            named = _NAMED_REFERENCES.get(self.data[pos + 1 : end])
            if named is None:
                return 0, pos
            code = named
        if self.at(end) == _SEMI:
            end += 1
        return code, end


@functools.lru_cache(maxsize=8)
def parse_html(source: str) -> ParsedText:
    """Parse Telegram HTML into plain text and entities.

    The result is immutable and cached for the last few sources (callers that validate and then
    split the same text parse it once).

    Raises :class:`HtmlParseError` with TDLib's message for malformed markup, an invalid
    custom emoji id, or text that decodes to invalid Unicode (lone surrogates). Unknown or bare
    ``&`` sequences are kept literally, as Telegram does. The result is not trimmed (what the
    server stores is emulated by ``tools.fakegram.trim.strip_and_trim``).
    """
    if "<" not in source and "&" not in source and not _SURROGATE.search(source):
        return ParsedText(source, ())  # no markup: the text is the source
    common = _parse_common(source)
    return common if common is not None else _parse_general(source)


# The markup ccbot's renderers and chatgpt-md-converter write, spelled exactly as they write it. Any
# other "<" or "&" (the last alternative, no group) hands the whole text to the general reader.
_COMMON = re.compile(
    r"<(/?)(b|i|u|s|code|pre|blockquote|tg-spoiler)>"
    r"|</(a)>"
    r'|<a href="([^"&<>\x00]+)">'
    r'|<code class="language-([^"&<>\x00]*)">'
    r"|<(blockquote) expandable>"
    r"|&(lt|gt|amp|quot);"
    r"|[<&]"
)
_COMMON_REFERENCES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _parse_common(source: str) -> ParsedText | None:
    """``parse_html(source)`` read with one tokenizer over the ``str``, or None when ``source`` holds
    anything outside ``_COMMON`` or would be an error (then only the general reader knows the result).

    Same result as :func:`_parse_general` whenever it returns one; it is several times faster on
    long rendered messages because it never goes through UTF-8 bytes or the per-byte tag reader.
    """
    parts: list[str] = []
    drafts: list[_Draft] = []
    stack: list[_Open] = []
    utf16 = pos = 0
    for match in _COMMON.finditer(source):
        start = match.start()
        if start > pos:
            chunk = source[pos:start]
            if not chunk.isascii():
                if _SURROGATE.search(chunk):
                    return None
                utf16 += utf16_length(chunk) - len(chunk)
            parts.append(chunk)
            utf16 += len(chunk)
        pos = match.end()
        group = match.lastindex
        if group == 2:  # a bare simple tag; group 1 is its optional "/"
            tag = match[2]
            if not match[1]:
                stack.append(_Open(tag, "", utf16, 0))
                continue
        elif group == 3:
            tag = "a"
        elif group == 4:
            stack.append(_Open("a", match[4], utf16, 0))
            continue
        elif group == 5:
            stack.append(_Open("code", match[5], utf16, 0))
            continue
        elif group == 6:
            stack.append(_Open("blockquote", "1", utf16, 0))
            continue
        elif group == 7:
            parts.append(_COMMON_REFERENCES[match[7]])
            utf16 += 1
            continue
        else:
            return None
        if not stack or stack[-1].tag != tag:
            return None
        top = stack.pop()
        if utf16 > top.offset:
            _close(drafts, top, utf16 - top.offset, None)
    if stack:
        return None
    if pos < len(source):
        tail = source[pos:]
        if not tail.isascii() and _SURROGATE.search(tail):
            return None
        parts.append(tail)
    entities = [_finish(d) for d in drafts]
    entities.sort(key=entity_sort_key)
    return ParsedText("".join(parts), tuple(entities))


def _parse_general(source: str) -> ParsedText:
    """``parse_html`` for any source: TDLib's reader over the UTF-8 bytes, with its error messages."""
    src = _Reader(source.encode("utf-8", "surrogatepass"))
    data, size, search = src.data, src.size, _SPECIAL.search
    out = bytearray()
    utf16 = 0
    drafts: list[_Draft] = []
    stack: list[_Open] = []
    i = 0
    while i < size:
        match = search(data, i)
        stop = match.start() if match else size
        if stop > i:
            chunk = data[i:stop]
            out += chunk
            utf16 += len(chunk) if chunk.isascii() else utf16_length(chunk.decode("utf-8", "surrogatepass"))
            i = stop
            if match is None:
                break
        c = data[i]
        if c == _AMP:
            code, end = src.decode_reference(i)
            if code:
                out += chr(code).encode("utf-8", "surrogatepass")
                utf16 += 2 if code > 0xFFFF else 1
                i = end
            else:
                out.append(c)
                utf16 += 1
                i += 1
            continue
        one = _ONE_ATTRIBUTE_TAG.match(data, i)
        if one is not None and (tag := one[1].lower().decode("ascii")) in _SUPPORTED_TAGS:
            value = one[3].decode("utf-8", "surrogatepass") if one[3] is not None else None
            argument = _attribute_argument(tag, one[2].decode("ascii"), value, "")
            if tag != "span" or argument == "spoiler":  # otherwise the general reader says why not
                stack.append(_Open(tag, argument, utf16, len(out)))
                i = one.end()
                continue
        bare = _BARE_TAG.match(data, i)
        if bare is not None:
            name = bare.group(2).lower().decode("ascii")
            if not bare.group(1):
                if name in _SUPPORTED_TAGS and name != "span":  # a bare <span> is an error: see below
                    stack.append(_Open(name, "", utf16, len(out)))
                    i = bare.end()
                    continue
            elif stack and stack[-1].tag == name:
                top = stack.pop()
                if utf16 > top.offset:
                    _close(drafts, top, utf16 - top.offset, out)
                i = bare.end()
                continue
        begin = i
        i += 1
        if src.at(i) != _SLASH:
            i, opened = _read_start_tag(src, begin, i)
            stack.append(_Open(opened[0], opened[1], utf16, len(out)))
        else:
            i = _read_end_tag(src, begin, i, stack)
            top = stack.pop()
            if utf16 > top.offset:
                _close(drafts, top, utf16 - top.offset, out)
        i += 1  # past the '>'
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError:
        raise HtmlParseError(_INVALID_UNICODE) from None
    entities = [_finish(d) for d in drafts]
    entities.sort(key=entity_sort_key)
    return ParsedText(text, tuple(entities))


def _read_start_tag(src: _Reader, begin: int, i: int) -> tuple[int, tuple[str, str]]:
    """Read ``<tag attr=...>`` from just after ``<``; return (index of ``>``, (tag, argument))."""
    while src.at(i) not in _SPACE and src.at(i) != _GT:
        i += 1
    if src.at(i) == 0:
        raise HtmlParseError(f"Unclosed start tag at byte offset {begin}", begin)
    tag = src.data[begin + 1 : i].lower().decode("utf-8", "surrogatepass")
    if tag not in _SUPPORTED_TAGS:
        raise HtmlParseError(f'Unsupported start tag "{tag}" at byte offset {begin}', begin)
    argument = ""
    while src.at(i) != _GT:
        while src.at(i) != 0 and src.at(i) in _SPACE:
            i += 1
        if src.at(i) == _GT:
            break
        name_begin = i
        while src.at(i) not in _SPACE and src.at(i) not in _ATTR_NAME_END:
            i += 1
        name = src.text(name_begin, i)
        if not name:
            raise HtmlParseError(f'Empty attribute name in the tag "{tag}" at byte offset {begin}', begin)
        while src.at(i) != 0 and src.at(i) in _SPACE:
            i += 1
        if src.at(i) != _EQ:
            if src.at(i) == 0:
                raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {begin}', begin)
            argument = _attribute_argument(tag, name, None, argument)
            continue
        i += 1
        while src.at(i) != 0 and src.at(i) in _SPACE:
            i += 1
        if src.at(i) == 0:
            raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {begin}', begin)
        i, value = _read_attribute_value(src, i)
        if src.at(i) == 0:
            raise HtmlParseError(f"Unclosed start tag at byte offset {begin}", begin)
        argument = _attribute_argument(tag, name, value, argument)
    if tag == "span" and argument != "spoiler":
        raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}', begin)
    return i, (tag, argument)


def _attribute_argument(tag: str, name: str, value: str | None, argument: str) -> str:
    """The tag's argument once attribute ``name`` is read (``value`` None: no ``=value``)."""
    if value is None:
        return "1" if tag == "blockquote" and name == "expandable" else argument
    if tag == "a" and name == "href":
        return value
    if tag == "code" and name == "class" and value.startswith("language-"):
        return value[len("language-") :]
    if tag == "span" and name == "class" and value.startswith("tg-"):
        return value[len("tg-") :]
    if tag == "tg-emoji" and name == "emoji-id":
        return value
    if tag == "blockquote" and name == "expandable":
        return "1"
    return argument


def _read_attribute_value(src: _Reader, i: int) -> tuple[int, str]:
    """Read a bare name token (lowercased) or a quoted string (references decoded)."""
    quote = src.at(i)
    if quote not in (_QUOT, _APOS):
        start = i
        while src.at(i) in _NAME_TOKEN:
            i += 1
        if src.at(i) not in _SPACE and src.at(i) != _GT:
            raise HtmlParseError(f"Unexpected end of name token at byte offset {start}", start)
        return i, src.data[start:i].lower().decode("ascii")
    i += 1
    close = src.data.find(quote, i)
    stop = close if close >= 0 else src.size
    if src.data.find(_AMP, i, stop) < 0 and src.data.find(0, i, stop) < 0:  # nothing to decode
        return (stop + 1 if close >= 0 else stop), src.data[i:stop].decode("utf-8", "surrogatepass")
    value = bytearray()
    while src.at(i) != quote and src.at(i) != 0:
        if src.at(i) == _AMP:
            code, end = src.decode_reference(i)
            if code:
                value += chr(code).encode("utf-8", "surrogatepass")
                i = end
                continue
        value.append(src.at(i))
        i += 1
    if src.at(i) == quote:
        i += 1
    return i, value.decode("utf-8", "surrogatepass")


def _read_end_tag(src: _Reader, begin: int, i: int, stack: list[_Open]) -> int:
    """Validate ``</tag>`` from the ``/``; return the index of ``>``. The caller pops the stack."""
    if not stack:
        raise HtmlParseError(f"Unexpected end tag at byte offset {begin}", begin)
    while src.at(i) not in _SPACE and src.at(i) != _GT:
        i += 1
    end_name = src.data[begin + 2 : i].lower().decode("utf-8", "surrogatepass")
    while src.at(i) in _SPACE and src.at(i) != 0:
        i += 1
    if src.at(i) != _GT:
        raise HtmlParseError(f"Unclosed end tag at byte offset {begin}", begin)
    expected = stack[-1].tag
    if end_name and end_name != expected:
        raise HtmlParseError(
            f'Unmatched end tag at byte offset {begin}, expected "</{expected}>", found "</{end_name}>"',
            begin,
        )
    return i


def _close(drafts: list[_Draft], top: _Open, length: int, out: bytearray | None) -> None:
    """Turn a closed, non-empty tag into a draft entity (TDLib's pre/code merging included).

    ``out`` is the output so far, read only for a link without ``href`` (its text is its URL); a
    caller that never opens such a link passes None.
    """
    offset = top.offset
    last = drafts[-1] if drafts else None
    same_span = last is not None and last.offset == offset and last.length == length
    tag = top.tag
    if tag in _SIMPLE_TAGS:
        drafts.append(_Draft(_SIMPLE_TAGS[tag], offset, length))
    elif tag == "a":
        if top.argument:
            url = top.argument
        else:
            assert out is not None, "a link without href needs the output"
            url = bytes(out[top.out_pos :]).decode("utf-8", "replace")
        checked = check_link(url)
        if checked is not None:
            drafts.append(_Draft("text_link", offset, length, checked))
    elif tag == "pre":
        if last is not None and same_span and last.type == "code" and last.argument:
            last.type = "pre"
        else:
            drafts.append(_Draft("pre", offset, length))
    elif tag == "code":
        if last is not None and same_span and last.type == "pre" and not last.argument and top.argument:
            last.argument = top.argument
        else:
            drafts.append(_Draft("code", offset, length, top.argument))
    elif tag == "blockquote":
        drafts.append(_Draft("expandable_blockquote" if top.argument else "blockquote", offset, length))
    elif tag == "tg-emoji":
        if not _is_custom_emoji_id(top.argument):
            raise HtmlParseError("Invalid custom emoji identifier specified")
        drafts.append(_Draft("custom_emoji", offset, length, top.argument))
    # tg-time: accepted, no entity (see module docstring).


def _is_custom_emoji_id(text: str) -> bool:
    # A positive int64 written canonically (TDLib's to_integer_safe round-trips the string).
    if not (text.isascii() and text.isdigit()):
        return False
    value = int(text)
    return str(value) == text and 0 < value <= _MAX_INT64


def _finish(draft: _Draft) -> Entity:
    if draft.type == "text_link":
        return Entity("text_link", draft.offset, draft.length, url=draft.argument)
    if draft.type == "pre":
        return Entity("pre", draft.offset, draft.length, language=draft.argument or None)
    if draft.type == "custom_emoji":
        return Entity("custom_emoji", draft.offset, draft.length, custom_emoji_id=draft.argument)
    # A language on a standalone <code> is dropped.
    return Entity(draft.type, draft.offset, draft.length)


# TDLib's sort order: offset ascending, longer first, then a fixed type priority.
_PRIORITY = {
    "blockquote": 0,
    "expandable_blockquote": 0,
    "code": 20,
    "text_link": 49,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}


def _priority(entity: Entity) -> int:
    if entity.type == "pre":
        return 10 if entity.language else 11
    return _PRIORITY.get(entity.type, 50)


def entity_sort_key(entity: Entity) -> tuple[int, int, int]:
    """TDLib's order of entities: by offset, longer first, then by a fixed type priority."""
    return (entity.offset, -entity.length, _priority(entity))
