"""Tests for the TDLib-compatible HTML parser.

Golden rows come from TDLib's own parse_html / fix_formatted_text test expectations (re-expressed
here) and from the Bot API facts in doc references; the rest are properties checked with Hypothesis.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccbot.render import tg_html, tg_links
from ccbot.render.tg_html import (
    Entity,
    HtmlParseError,
    ParsedText,
    parse_html,
    telegram_length,
    utf16_length,
)
from tools.fakegram.trim import strip_and_trim

STADIUM = "🏟"  # 4 UTF-8 bytes, 2 UTF-16 units
PREFIX = "🏟 🏟&lt;"  # 13 bytes of source, 6 UTF-16 units of text ("🏟 🏟<")

INVALID_UNICODE = (
    "Text contains invalid Unicode characters after decoding HTML entities, "
    "check for unmatched surrogate code units"
)

ERRORS = [
    ("&#57311;", INVALID_UNICODE),
    ("&#xDFDF;", INVALID_UNICODE),
    ("&#xDFDF", INVALID_UNICODE),
    (PREFIX + "<abacaba", "Unclosed start tag at byte offset 13"),
    (PREFIX + "<abac aba>", 'Unsupported start tag "abac" at byte offset 13'),
    (PREFIX + "<abac>", 'Unsupported start tag "abac" at byte offset 13'),
    (PREFIX + "<i   =aba>", 'Empty attribute name in the tag "i" at byte offset 13'),
    (PREFIX + "<i    aba  =  ", 'Unclosed start tag "i" at byte offset 13'),
    (PREFIX + "<i    aba  =  190azAz-.,", "Unexpected end of name token at byte offset 27"),
    (PREFIX + '<i    aba  =  "&lt;&gt;&quot;>', "Unclosed start tag at byte offset 13"),
    (PREFIX + "<i    aba  =  '&lt;&gt;&quot;>", "Unclosed start tag at byte offset 13"),
    (PREFIX + "</", "Unexpected end tag at byte offset 13"),
    (PREFIX + "<b></b></", "Unexpected end tag at byte offset 20"),
    (PREFIX + "<i>a</i   ", "Unclosed end tag at byte offset 17"),
    (PREFIX + "<i>a</em   >", 'Unmatched end tag at byte offset 17, expected "</i>", found "</em>"'),
    ("<br>", 'Unsupported start tag "br" at byte offset 0'),
    ("a < b", 'Unsupported start tag "" at byte offset 2'),
    ("x <b", "Unclosed start tag at byte offset 2"),
    ("<a href", 'Unclosed start tag "a" at byte offset 0'),
    ('<a href="x"', "Unclosed start tag at byte offset 0"),
    ('<a ="x">y</a>', 'Empty attribute name in the tag "a" at byte offset 0'),
    ('<a href="x"y">z</a>', 'Empty attribute name in the tag "a" at byte offset 0'),
    ("<a href=x/>y</a>", "Unexpected end of name token at byte offset 8"),
    ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ('<span class="spoiler">x</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ("x</b>", "Unexpected end tag at byte offset 1"),
    ("<b>x</b", "Unclosed end tag at byte offset 4"),
    ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
    ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
    ("<b><i>x</i>", 'Can\'t find end tag corresponding to start tag "b"'),
    ('<tg-emoji emoji-id="x">y</tg-emoji>', "Invalid custom emoji identifier specified"),
    ('<tg-emoji emoji-id="-5">y</tg-emoji>', "Invalid custom emoji identifier specified"),
    ('<tg-emoji emoji-id="0">y</tg-emoji>', "Invalid custom emoji identifier specified"),
    # Byte offsets count UTF-8 bytes: "é" is 2 bytes, so the tag starts at 2.
    ("é<x>", 'Unsupported start tag "x" at byte offset 2'),
    # The prose-tag hazard from chatgpt-md-converter: a real <blockquote> closed by </span>.
    (
        "Use the <blockquote> tag or </span>",
        'Unmatched end tag at byte offset 28, expected "</blockquote>", found "</span>"',
    ),
]


@pytest.mark.parametrize(("source", "message"), ERRORS)
def test_errors_match_tdlib(source: str, message: str) -> None:
    with pytest.raises(HtmlParseError) as caught:
        parse_html(source)
    assert str(caught.value) == message


def test_error_carries_byte_offset() -> None:
    with pytest.raises(HtmlParseError) as caught:
        parse_html("ab<zz>")
    assert caught.value.byte_offset == 2
    assert isinstance(caught.value, ValueError)


def E(kind: str, offset: int, length: int, **extra: str) -> Entity:
    return Entity(kind, offset, length, **extra)


ARROWS = "➡️ ➡️"  # each arrow is U+27A1 U+FE0F: 2 UTF-16 units; the whole string is 5 units

GOLDEN = [
    ("", "", []),
    (ARROWS, ARROWS, []),
    ("&lt;&gt;&amp;&quot;&laquo;&raquo;&#12345678;", '<>&"&laquo;&raquo;&#12345678;', []),
    (f"{ARROWS}<i>{ARROWS}</i>", ARROWS * 2, [E("italic", 5, 5)]),
    (f"{ARROWS}<em>{ARROWS}</em>", ARROWS * 2, [E("italic", 5, 5)]),
    (f"{ARROWS}<b>{ARROWS}</b>", ARROWS * 2, [E("bold", 5, 5)]),
    (f"{ARROWS}<strong>{ARROWS}</strong>", ARROWS * 2, [E("bold", 5, 5)]),
    (f"{ARROWS}<u>{ARROWS}</u>", ARROWS * 2, [E("underline", 5, 5)]),
    (f"{ARROWS}<ins>{ARROWS}</ins>", ARROWS * 2, [E("underline", 5, 5)]),
    (f"{ARROWS}<s>{ARROWS}</s>", ARROWS * 2, [E("strikethrough", 5, 5)]),
    (f"{ARROWS}<strike>{ARROWS}</strike>", ARROWS * 2, [E("strikethrough", 5, 5)]),
    (f"{ARROWS}<del>{ARROWS}</del>", ARROWS * 2, [E("strikethrough", 5, 5)]),
    (f"{ARROWS}<i>{ARROWS}</i><b>{ARROWS}</b>", ARROWS * 3, [E("italic", 5, 5), E("bold", 10, 5)]),
    ("🏟 🏟<i>🏟 &lt🏟</i>", "🏟 🏟🏟 <🏟", [E("italic", 5, 6)]),
    ("🏟 🏟<i>🏟 &gt;<b aba   =   caba>&lt🏟</b></i>", "🏟 🏟🏟 ><🏟", [E("italic", 5, 7), E("bold", 9, 3)]),
    (PREFIX + "<i    aba  =  190azAz-.   >a</i>", "🏟 🏟<a", [E("italic", 6, 1)]),
    (PREFIX + "<i    aba  =  190azAz-.>a</i>", "🏟 🏟<a", [E("italic", 6, 1)]),
    (PREFIX + '<i    aba  =  "&lt;&gt;&quot;">a</i>', "🏟 🏟<a", [E("italic", 6, 1)]),
    (PREFIX + "<i    aba  =  '&lt;&gt;&quot;'>a</i>", "🏟 🏟<a", [E("italic", 6, 1)]),
    (PREFIX + "<i    aba  =  '&lt;&gt;&quot;'>a</>", "🏟 🏟<a", [E("italic", 6, 1)]),
    (PREFIX + "<i>🏟 🏟&lt;</>", "🏟 🏟<🏟 🏟<", [E("italic", 6, 6)]),
    (PREFIX + "<i>a</    >", "🏟 🏟<a", [E("italic", 6, 1)]),
    (PREFIX + "<i>a</i   >", "🏟 🏟<a", [E("italic", 6, 1)]),
    (PREFIX + "<b></b>", "🏟 🏟<", []),
    ("<i>\t</i>", "\t", [E("italic", 0, 1)]),
    ("<i>\n</i>", "\n", [E("italic", 0, 1)]),
    ("<a href=telegram.org>\t</a>", "\t", [E("text_link", 0, 1, url="http://telegram.org/")]),
    (
        "<code><i><b> </b></i></code><i><b><code> </code></b></i>",
        "  ",
        [
            E("code", 0, 1),
            E("bold", 0, 1),
            E("italic", 0, 1),
            E("code", 1, 1),
            E("bold", 1, 1),
            E("italic", 1, 1),
        ],
    ),
    ("<i><b> </b> <code> </code></i>", "   ", [E("italic", 0, 3), E("bold", 0, 1), E("code", 2, 1)]),
    ("<a href=telegram.org> </a>", " ", [E("text_link", 0, 1, url="http://telegram.org/")]),
    ('<a href  ="telegram.org"   > </a>', " ", [E("text_link", 0, 1, url="http://telegram.org/")]),
    ("<a   href=  'telegram.org'   > </a>", " ", [E("text_link", 0, 1, url="http://telegram.org/")]),
    ("<a   href=  'telegram.org?&lt;'   > </a>", " ", [E("text_link", 0, 1, url="http://telegram.org/?<")]),
    ("<a> </a>", " ", []),
    ("<a>telegram.org </a>", "telegram.org ", []),
    ("<a>telegram.org</a>", "telegram.org", [E("text_link", 0, 12, url="http://telegram.org/")]),
    (
        "<a>https://telegram.org/asdsa?asdasdwe#12e3we</a>",
        "https://telegram.org/asdsa?asdasdwe#12e3we",
        [E("text_link", 0, 42, url="https://telegram.org/asdsa?asdasdwe#12e3we")],
    ),
    (PREFIX + "<pre  >🏟 🏟&lt;</>", "🏟 🏟<🏟 🏟<", [E("pre", 6, 6)]),
    (PREFIX + "<code >🏟 🏟&lt;</>", "🏟 🏟<🏟 🏟<", [E("code", 6, 6)]),
    (PREFIX + "<pre><code>🏟 🏟&lt;</code></>", "🏟 🏟<🏟 🏟<", [E("pre", 6, 6), E("code", 6, 6)]),
    (
        PREFIX + '<pre><code class="language-">🏟 🏟&lt;</code></>',
        "🏟 🏟<🏟 🏟<",
        [E("pre", 6, 6), E("code", 6, 6)],
    ),
    (
        PREFIX + '<pre><code class="language-fift">🏟 🏟&lt;</></>',
        "🏟 🏟<🏟 🏟<",
        [E("pre", 6, 6, language="fift")],
    ),
    (
        PREFIX + '<code class="language-fift"><pre>🏟 🏟&lt;</></>',
        "🏟 🏟<🏟 🏟<",
        [E("pre", 6, 6, language="fift")],
    ),
    (
        PREFIX + '<pre><code class="language-fift">🏟 🏟&lt;</> </>',
        "🏟 🏟<🏟 🏟< ",
        [E("pre", 6, 7), E("code", 6, 6)],
    ),
    (
        PREFIX + '<pre> <code class="language-fift">🏟 🏟&lt;</></>',
        "🏟 🏟< 🏟 🏟<",
        [E("pre", 6, 7), E("code", 7, 6)],
    ),
    # A language on a standalone <code> is dropped.
    ('<code class="language-py">x</code>', "x", [E("code", 0, 1)]),
    # Tag names are case-insensitive; bare attribute values are lowercased.
    ("<B>x</B>", "x", [E("bold", 0, 1)]),
    ("<span class=TG-SPOILER>x</span>", "x", [E("spoiler", 0, 1)]),
    (
        '<span class="tg-spoiler">x</span><tg-spoiler>y</tg-spoiler>',
        "xy",
        [E("spoiler", 0, 1), E("spoiler", 1, 1)],
    ),
    ("<blockquote>q</blockquote>", "q", [E("blockquote", 0, 1)]),
    ("<blockquote expandable>q</blockquote>", "q", [E("expandable_blockquote", 0, 1)]),
    ('<blockquote expandable="None">q</blockquote>', "q", [E("expandable_blockquote", 0, 1)]),
    (
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
        "👍",
        [E("custom_emoji", 0, 2, custom_emoji_id="5368324170671202286")],
    ),
    # An empty tg-emoji makes no entity, so its id is never checked.
    ('<tg-emoji emoji-id="x"></tg-emoji>', "", []),
    ('<tg-time unix="1700000000" format="wDT">x</tg-time>', "x", []),
    # A bare or unknown & stays literal; the trailing ';' is optional.
    ("AT&T &copy; &amp &#65 &#x41; &#X41;", "AT&T &copy; & A A &#X41;", []),
    # '>' in text is tolerated.
    ("a > b", "a > b", []),
    # Unknown attributes are ignored; links are normalised; invalid links are dropped.
    (
        '<a title="t" href="HTTPS://Example.COM">x</a>',
        "x",
        [E("text_link", 0, 1, url="https://example.com/")],
    ),
    ('<a href="https://x.org/a b">x</a>', "x", [E("text_link", 0, 1, url="https://x.org/a%20b")]),
    ('<a href="ftp://x.org">x</a>', "x", []),
    ('<a href="localhost">x</a>', "x", []),
    ('<a href="https://user@x.org">x</a>', "x", []),
    ('<a href="x.org:99999">x</a>', "x", []),
    ('<a href="x.org:8080/p">x</a>', "x", [E("text_link", 0, 1, url="http://x.org:8080/p")]),
    (
        '<a href="tg://resolve?domain=durov">x</a>',
        "x",
        [E("text_link", 0, 1, url="tg://resolve?domain=durov")],
    ),
    ('<a href="tg://user?id=123">x</a>', "x", [E("text_link", 0, 1, url="tg://user?id=123")]),
    # Offsets are UTF-16: the astral emoji before the bold counts 2.
    ("😀<b>x</b>", "😀x", [E("bold", 2, 1)]),
    ("&#128512;<b>x</b>", "😀x", [E("bold", 2, 1)]),
]


@pytest.mark.parametrize(("source", "text", "entities"), GOLDEN)
def test_golden(source: str, text: str, entities: list[Entity]) -> None:
    assert parse_html(source) == ParsedText(text, tuple(entities))


def test_entity_to_api_round_trip() -> None:
    entity = Entity("text_link", 3, 4, url="https://x.org/")
    api = entity.to_api()
    assert api == {"type": "text_link", "offset": 3, "length": 4, "url": "https://x.org/"}
    assert Entity.from_api(api) == entity
    with pytest.raises(ValueError, match="malformed"):
        Entity.from_api({"type": "bold", "offset": "0", "length": 1})


def test_lengths() -> None:
    assert telegram_length("😀a") == 2
    assert utf16_length("😀a") == 3
    assert telegram_length("é") == 1


# --- strip_and_trim -------------------------------------------------------------------------------

CONTROL = "".join(chr(i) for i in range(33))  # NUL..space: 33 characters, \r is one of them


def trimmed(source: str) -> ParsedText:
    return strip_and_trim(parse_html(source))


TRIM = [
    # Controls (tab included) become spaces, \r vanishes, the rest is trimmed away.
    (CONTROL + "a  \r\n  ", "a", []),
    ("aba \r\n caba ", "aba \n caba", []),
    ("  /test @abaca  telegram.org ", "/test @abaca  telegram.org", []),
    ("  <b>x</b>", "x", [E("bold", 0, 1)]),
    # Leading whitespace is trimmed only up to the first entity.
    ("<b>  x</b>", "  x", [E("bold", 0, 3)]),
    (" \n <i>a</i> ", "a", [E("italic", 0, 1)]),
    # Trailing whitespace is cut out of entities too.
    ("<b>x  </b>\n", "x", [E("bold", 0, 1)]),
    # Entities with only whitespace are dropped; links survive on a space.
    ("<b> </b>x", "x", []),
    ("<a href='https://t.me/x'> </a>x", " x", [E("text_link", 0, 1, url="https://t.me/x")]),
    ("<a href='https://t.me/x'>\n</a>x", "x", []),
    # Tabs inside code become spaces too.
    ("<code>a\tb</code>", "a b", [E("code", 0, 3)]),
    # Removed characters shift entity offsets.
    ("a\u2028<b>b</b>", "ab", [E("bold", 1, 1)]),
    ("<b>a\u202eb</b>", "ab", [E("bold", 0, 2)]),
    # Forbidden nesting: code inside pre goes, the pre stays.
    ("<pre><code>x</code></pre>", "x", [E("pre", 0, 1)]),
    ("<pre>a <code>b</code></pre>", "a b", [E("pre", 0, 3)]),
    ("<blockquote>a<blockquote>b</blockquote></blockquote>", "ab", [E("blockquote", 0, 2)]),
    ("<b><code>x</code></b>", "x", [E("code", 0, 1), E("bold", 0, 1)]),
    ("   ", "", []),
    ("<b> \n </b>", "", []),
    ("", "", []),
]


@pytest.mark.parametrize(("source", "text", "entities"), TRIM)
def test_strip_and_trim(source: str, text: str, entities: list[Entity]) -> None:
    assert trimmed(source) == ParsedText(text, tuple(entities))


# --- properties -----------------------------------------------------------------------------------

plain_text = st.text(st.characters(codec="utf-8"), max_size=80)


@given(plain_text)
def test_escaped_text_round_trips(text: str) -> None:
    parsed = parse_html("<b>" + html.escape(text, quote=False) + "</b>")
    assert parsed.text == text
    expected = (Entity("bold", 0, utf16_length(text)),) if text else ()
    assert parsed.entities == expected


@given(plain_text)
def test_full_escape_round_trips(text: str) -> None:
    assert parse_html(html.escape(text, quote=True)) == ParsedText(text, ())


@given(plain_text, st.sampled_from(["foo", "br", "p", "div", "img"]))
def test_unsupported_tag_offset_is_utf8_bytes(prefix: str, tag: str) -> None:
    escaped = html.escape(prefix, quote=False)
    with pytest.raises(HtmlParseError) as caught:
        parse_html(f"{escaped}<{tag}>x")
    assert str(caught.value) == f'Unsupported start tag "{tag}" at byte offset {len(escaped.encode())}'


@dataclass(frozen=True)
class Node:
    """A well-formed markup tree; rendering it and predicting the parse are independent."""

    tag: str | None  # None: a text leaf
    text: str = ""
    children: tuple[Node, ...] = ()


SIMPLE_TAGS = {
    "b": "bold",
    "i": "italic",
    "u": "underline",
    "s": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "blockquote": "blockquote",
}

leaves = st.builds(lambda t: Node(None, t), st.text(st.characters(codec="utf-8"), max_size=6))
trees = st.recursive(
    leaves,
    lambda inner: st.builds(
        lambda tag, kids: Node(tag, children=tuple(kids)),
        st.sampled_from([*SIMPLE_TAGS, "a"]),
        st.lists(inner, max_size=3),
    ),
    max_leaves=12,
)


def render(node: Node) -> str:
    if node.tag is None:
        return html.escape(node.text, quote=False)
    inner = "".join(render(child) for child in node.children)
    if node.tag == "a":
        return f'<a href="https://example.org/p">{inner}</a>'
    return f"<{node.tag}>{inner}</{node.tag}>"


def predict(node: Node, offset: int, out: list[Entity]) -> str:
    if node.tag is None:
        return node.text
    text = ""
    for child in node.children:
        text += predict(child, offset + utf16_length(text), out)
    length = utf16_length(text)
    if length:
        if node.tag == "a":
            out.append(Entity("text_link", offset, length, url="https://example.org/p"))
        else:
            out.append(Entity(SIMPLE_TAGS[node.tag], offset, length))
    return text


@settings(max_examples=200)
@given(st.lists(trees, max_size=4))
def test_well_formed_trees_parse_as_predicted(roots: list[Node]) -> None:
    source = "".join(render(root) for root in roots)
    expected: list[Entity] = []
    text = ""
    for root in roots:
        text += predict(root, utf16_length(text), expected)
    parsed = parse_html(source)
    assert parsed.text == text
    assert sorted(parsed.entities, key=repr) == sorted(expected, key=repr)


FRAGMENTS = [
    "<b>",
    "</b>",
    "<i>",
    "</i>",
    "<a href='http://x.org'>",
    "</a>",
    "<pre>",
    "</pre>",
    '<code class="language-py">',
    "</code>",
    "&amp;",
    "&lt;",
    "&#128512;",
    "&",
    "<",
    ">",
    " ",
    "\n",
    "x",
    "🏟",
    "</>",
    "<span class=tg-spoiler>",
    "</span>",
    "<blockquote expandable>",
    "</blockquote>",
    "<tg-emoji emoji-id=5>",
    "</tg-emoji>",
    "<a",
    "=",
    "'",
    '"',
    "\t",
    "\r",
]


@settings(max_examples=300)
@given(st.lists(st.sampled_from(FRAGMENTS) | plain_text, max_size=25))
def test_arbitrary_input_parses_or_raises_cleanly(parts: list[str]) -> None:
    source = "".join(parts)
    try:
        parsed = parse_html(source)
    except HtmlParseError as exc:
        assert str(exc)
        if exc.byte_offset is not None:
            assert 0 <= exc.byte_offset < len(source.encode())
        return
    total = utf16_length(parsed.text)
    for entity in parsed.entities:
        assert entity.length > 0
        assert entity.offset >= 0 and entity.end <= total
    # Entities come from a tag stack: any two are disjoint or nested.
    for a in parsed.entities:
        for b in parsed.entities:
            assert (
                a.end <= b.offset
                or b.end <= a.offset
                or (a.offset <= b.offset and b.end <= a.end)
                or (b.offset <= a.offset and a.end <= b.end)
            )
    check_trimmed(strip_and_trim(parsed))


def check_trimmed(result: ParsedText) -> None:
    assert result.text == result.text.rstrip(" \n")
    assert "\r" not in result.text
    total = utf16_length(result.text)
    for entity in result.entities:
        assert entity.length > 0 and entity.offset >= 0 and entity.end <= total
    assert strip_and_trim(result) == result


@given(plain_text)
def test_trimmed_text_is_idempotent_and_clean(text: str) -> None:
    result = strip_and_trim(ParsedText(text, ()))
    check_trimmed(result)
    assert result.text == result.text.lstrip(" \n")
    assert telegram_length(result.text) <= telegram_length(text)


# --- the shortcuts for common tags agree with the general tag reader ----------------------------

_TAG_SOUP = st.sampled_from(
    [
        "<b>", "</b>", "<B>", "</B >", "<i>", "</i>", "<i z>", "<s\t>", "</s>",
        '<a href="https://x.io/a">', "<a href=x.io>", '<a HREF="y">', '<a href="&amp;x">', '<a href="a\x00b">',
        "</a>", '<code class="language-py">', '<code class="x">', "</code>", "<pre>", "</pre>",
        '<span class="tg-spoiler">', '<span class="x">', "<span>", "</span>", "<blockquote expandable>",
        '<blockquote expandable="">', "<blockquote x>", "</blockquote>", '<tg-emoji emoji-id="5368324170671202286">',
        '<tg-emoji emoji-id="x">', "</tg-emoji>", "<foo>", "</foo>", '<u a="b" c="d">', "</u>",
        "text", " ", "&amp;", "&lt", "<", ">", '"', "😀",
    ]
)  # fmt: skip


def _outcome(source: str) -> ParsedText | str:
    try:
        return parse_html.__wrapped__(source)  # not the cache: both readers must really run
    except HtmlParseError as exc:
        return f"error: {exc}"


@settings(max_examples=400)
@given(st.lists(_TAG_SOUP, max_size=12).map("".join))
def test_tag_shortcuts_match_the_general_reader(source: str) -> None:
    fast = _outcome(source)
    with pytest.MonkeyPatch.context() as patch:
        never = re.compile(rb"(?!)")
        patch.setattr(tg_html, "_ONE_ATTRIBUTE_TAG", never)
        patch.setattr(tg_html, "_BARE_TAG", never)
        general = _outcome(source)
    assert fast == general


def test_markup_free_text_is_its_own_parse_and_lone_surrogates_still_fail() -> None:
    assert parse_html("plain > text 😀") == ParsedText("plain > text 😀", ())
    with pytest.raises(HtmlParseError, match="invalid Unicode"):
        parse_html("broken \ud800 text")


# --- the reader for common markup agrees with the general reader ---------------------------------

_COMMON_TEXT = st.sampled_from(
    ["text", " ", "\n", "\x00", ">", "😀", "é", "&lt;", "&gt;", "&amp;", "&quot;", "&lt", "&#60;", "&", "<", "\ud800"]
)
_COMMON_PAIRS = st.sampled_from(
    [
        ("<b>", "</b>"), ("<i>", "</i>"), ("<u>", "</u>"), ("<s>", "</s>"), ("<tg-spoiler>", "</tg-spoiler>"),
        ("<code>", "</code>"), ('<code class="language-py">', "</code>"), ('<code class="language-">', "</code>"),
        ("<pre>", "</pre>"), ("<blockquote>", "</blockquote>"), ("<blockquote expandable>", "</blockquote>"),
        ('<a href="https://x.io/a">', "</a>"), ('<a href="x">', "</a>"), ('<a href="tg://user?id=5">', "</a>"),
        ("<a>", "</a>"), ("<B>", "</B>"), ("<b>", "</i>"), ("<b>", ""), ("", "</b>"), ('<a href="&amp;">', "</a>"),
    ]
)  # fmt: skip
# Mostly well-formed nestings (what the common reader takes), with the odd piece it must hand over.
_COMMON_MARKUP = st.recursive(
    st.lists(_COMMON_TEXT, max_size=4).map("".join),
    lambda inner: st.one_of(
        st.tuples(_COMMON_PAIRS, inner).map(lambda t: t[0][0] + t[1] + t[0][1]),
        st.lists(inner, min_size=2, max_size=3).map("".join),
    ),
    max_leaves=10,
)


@settings(max_examples=600)
@given(_COMMON_MARKUP)
def test_common_markup_reader_matches_the_general_reader(source: str) -> None:
    fast = _outcome(source)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tg_html, "_parse_common", lambda _source: None)
        general = _outcome(source)
    assert fast == general


def test_common_markup_reader_reads_rendered_messages() -> None:
    source = '<b>x</b> &lt;y&gt; <a href="https://e.io/">l</a>\n<pre><code class="language-py">😀 z</code></pre>'
    parsed = tg_html._parse_common(source)
    assert parsed is not None and parsed == parse_html.__wrapped__(source)
    assert [e.type for e in parsed.entities] == ["bold", "text_link", "pre"]
    assert tg_html._parse_common("<B>x</B>") is None  # not in the common spelling: the general reader


# --- link URL parts: the regex agrees with TDLib's character loop ------------------------------


def _url_part_ok_by_loop(part: str, allow_colon: bool) -> bool:
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_!$,~*'();&+=")
    k = 0
    while k < len(part):
        ch = part[k]
        if ch in allowed or (allow_colon and ch == ":") or ord(ch) >= 128:
            k += 1
        elif ch == "%" and k + 2 < len(part) and all(c in "0123456789abcdefABCDEF" for c in part[k + 1 : k + 3]):
            k += 3
        else:
            return False
    return True


_URL_PIECES = st.sampled_from([*"aZ9.-_!$,~*'();&+=:%/?#@ \n\x7f", "é", "%4", "%4g", "%aF"])


@settings(max_examples=500)
@given(st.lists(_URL_PIECES, max_size=8).map("".join))
def test_url_part_check_matches_the_character_loop(part: str) -> None:
    for allow_colon in (False, True):
        assert tg_links._url_part_ok(part, allow_colon) == _url_part_ok_by_loop(part, allow_colon)
