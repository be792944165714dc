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
  (scheme http/https/tg, host with a dot, port range); an invalid URL drops the entity silently,
  as Telegram does.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

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
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "text_link",
        "code",
        "pre",
        "blockquote",
        "expandable_blockquote",
        "custom_emoji",
    }
)


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
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "tg-time",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
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

    The result is immutable and cached for the last few sources: rendering validates a message
    and then splits it, which would otherwise parse the same text twice.

    Raises :class:`HtmlParseError` with TDLib's message for malformed markup, an invalid
    custom emoji id, or text that decodes to invalid Unicode (lone surrogates). Unknown or bare
    ``&`` sequences are kept literally, as Telegram does. The result is not trimmed (what the
    server stores is emulated by ``tools.fakegram.trim.strip_and_trim``).
    """
    if "<" not in source and "&" not in source and not _SURROGATE.search(source):
        return ParsedText(source, ())  # no markup: the text is the source
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


def _close(drafts: list[_Draft], top: _Open, length: int, out: bytearray) -> None:
    """Turn a closed, non-empty tag into a draft entity (TDLib's pre/code merging included)."""
    offset = top.offset
    last = drafts[-1] if drafts else None
    same_span = last is not None and last.offset == offset and last.length == length
    tag = top.tag
    if tag in _SIMPLE_TAGS:
        drafts.append(_Draft(_SIMPLE_TAGS[tag], offset, length))
    elif tag == "a":
        url = top.argument or bytes(out[top.out_pos :]).decode("utf-8", "replace")
        checked = _check_link(url)
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


# --- URL checks (TDLib LinkManager::check_link / parse_url, re-implemented) -------------------

_TG_USER = re.compile(r"tg:(?://)?user\?id=(\d+)", re.IGNORECASE)
_URL_PART_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_!$,~*'();&+=")


def _url_part_ok(part: str, allow_colon: bool) -> bool:
    k = 0
    while k < len(part):
        ch = part[k]
        if ch in _URL_PART_OK or (allow_colon and ch == ":") or ord(ch) >= 128:
            k += 1
        elif (
            ch == "%"
            and k + 2 < len(part)
            and all(c in "0123456789abcdefABCDEF" for c in part[k + 1 : k + 3])
        ):
            k += 3
        else:
            return False
    return True


def _ascii_lower(text: str) -> str:
    return "".join(ch.lower() if ch.isascii() else ch for ch in text)


def _check_link(url: str) -> str | None:
    """The normalised URL Telegram stores for a link, or None if Telegram would drop the link."""
    user = _TG_USER.fullmatch(url)
    if user:
        return f"tg://user?id={int(user.group(1))}"
    is_tg = url[:3].lower() == "tg:"
    rest = url[3:] if is_tg else url
    if is_tg and rest.startswith("//"):
        rest = rest[2:]
    parsed = _parse_url(rest)
    if parsed is None:
        return None
    scheme, userinfo, host, port, query = parsed
    if userinfo:
        return None
    if is_tg:
        if scheme == "https" or port or not all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in host):
            return None
        if len(query) > 1 and query[1] == "?":
            query = query[1:]
        return f"tg://{host}{query}"
    if "." not in host:
        return None
    return f"{scheme}://{host}{f':{port}' if port else ''}{query}"


def _parse_url(url: str) -> tuple[str, str, str, int, str] | None:
    """(scheme, userinfo, host, explicit port or 0, path+query+fragment) or None when invalid."""
    head = re.match(r"[^:/?#@\[\]]*", url)
    scheme_text = _ascii_lower(head.group(0) if head else "")
    scheme = "http"
    rest = url
    if url[len(scheme_text) :].startswith("://"):
        if scheme_text not in ("http", "https"):
            return None
        scheme = scheme_text
        rest = url[len(scheme_text) + 3 :]
    split = re.search(r"[/?#]", rest)
    authority, query = (rest[: split.start()], rest[split.start() :]) if split else (rest, "")
    port = 0
    colon = max(authority.rfind(":"), authority.rfind("]"), authority.rfind("@"))
    if colon > 0 and authority[colon] == ":":
        digits = authority[colon + 1 :]
        # A missing, zero, malformed or out-of-range port makes the URL invalid.
        if not (digits.isascii() and digits.isdigit()) or not 0 < int(digits) <= 65535:
            return None
        port = int(digits)
        authority = authority[:colon]
    at = authority.rfind("@")
    userinfo, host = (authority[:at], authority[at + 1 :]) if at >= 0 else ("", authority)
    if not host or host == "." or host.startswith("["):
        return None
    query = query.rstrip(" \t\r\n\x0b")
    if not query:
        query = "/"
    if not query.startswith("/"):
        query = "/" + query
    query = "".join(f"%{ord(ch):02x}" if ord(ch) <= 0x20 else ch for ch in query)
    host = _ascii_lower(host)
    if not _url_part_ok(host, allow_colon=False) or not _url_part_ok(userinfo, allow_colon=True):
        return None
    return scheme, userinfo, host, port, query
