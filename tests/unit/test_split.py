"""Tests for ccbot.render.split.split_html: Telegram-valid chunks within the visible-length limit."""

from __future__ import annotations

import bisect
import html as html_lib
import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ccbot.render.split import MIN_LIMIT, split_html, split_html_chunks
from ccbot.render.tg_html import HtmlParseError, ParsedText, parse_html
from tools.fakegram.trim import strip_and_trim

TRIM = "".join(chr(c) for c in range(0x21))
NO_BREAK = "\u00a0\u2007\u202f\ufeff"  # spaces that join words; the splitter does not cut there
WORD_END = re.compile(rf"(?:[^\s]|[{NO_BREAK}])*$")
WORD_START = re.compile(rf"^(?:[^\s]|[{NO_BREAK}])*")


def breaks(ch: str) -> bool:
    return ch.isspace() and ch not in NO_BREAK


def formats(parsed: ParsedText) -> list[frozenset[tuple[str, str | None, str | None]]]:
    """Per code point of the parsed text: the set of entities (type, url, language) covering it."""
    # Entity offsets are UTF-16 units; map every code point to its UTF-16 start.
    starts: list[int] = []
    unit = 0
    for ch in parsed.text:
        starts.append(unit)
        unit += 2 if ord(ch) > 0xFFFF else 1
    out: list[set[tuple[str, str | None, str | None]]] = [set() for _ in parsed.text]
    for e in parsed.entities:
        first = bisect.bisect_left(starts, e.offset)
        last = bisect.bisect_left(starts, e.offset + e.length)
        for i in range(first, last):
            out[i].add((e.type, e.url, e.language))
    return [frozenset(s) for s in out]


def check_chunks(source: str, chunks: list[str], limit: int) -> None:
    """The splitter's contract, checked with the independent TDLib-rule parser."""
    original = parse_html(source)
    parsed = [parse_html(c) for c in chunks]  # every chunk is valid Telegram HTML
    assert [c.text for c in split_html_chunks(source, limit)] == [p.text for p in parsed]
    for p in parsed:
        stored = strip_and_trim(p)  # what Telegram stores and counts
        assert 0 < len(stored.text) <= limit
        assert len(p.text.rstrip(TRIM)) <= limit
    joined = "".join(p.text for p in parsed)
    assert re.sub(r"\s", "", joined) == re.sub(r"\s", "", original.text)
    long_blank = re.search(f"[{re.escape(TRIM)}]{{{limit // 2},}}", original.text)
    if long_blank is None:
        assert joined == original.text
        assert [f for p in parsed for f in formats(p)] == formats(original)


# --- examples -----------------------------------------------------------------------------------


def test_fitting_input_is_returned_unchanged() -> None:
    source = "<b>short</b> &amp; sweet"
    assert split_html(source) == [source]
    assert split_html("") == []


def test_prefers_paragraph_then_line_then_space() -> None:
    para = "alpha beta gamma\nline two here\n\nsecond paragraph words go on and on"
    chunks = split_html(para, limit=50)
    assert chunks[0] == "alpha beta gamma\nline two here\n\n"
    lines = "one two three four five six\nseven eight nine ten eleven twelve"
    assert split_html(lines, limit=40)[0] == "one two three four five six\n"
    words = "word " * 20
    first = split_html(words, limit=32)[0]
    assert first == "word " * 6  # 30 visible characters; a 7th word would not fit
    check_chunks(words, split_html(words, limit=32), 32)


def test_a_paragraph_break_early_in_the_window_loses_to_a_later_line_break() -> None:
    source = "aa\n\n" + "b " * 20 + "\n" + "c " * 20
    first = split_html(source, limit=60)[0]
    assert first.endswith("\n") and not first.endswith("\n\n")
    assert len(first) > 30


def test_only_a_word_longer_than_the_limit_is_cut() -> None:
    source = "short " + "x" * 100 + " tail"
    chunks = split_html(source, limit=40)
    assert chunks[0] == "short "
    # "short" | 40 x | 40 x | the last 20 x plus " tail" (25 fit in one chunk)
    assert [len(parse_html(c).text.strip()) for c in chunks] == [5, 40, 40, 25]
    check_chunks(source, chunks, 40)


def test_never_cuts_inside_a_character_reference() -> None:
    source = "a" * 38 + "&lt;" * 30
    chunks = split_html(source, limit=40)
    check_chunks(source, chunks, 40)
    for chunk in chunks:
        assert re.search(r"&[a-z#0-9]*$", chunk) is None or chunk.endswith(";")
    # A literal '&' run must not be cut into something that decodes ("&ltx" → "&lt" | "x",
    # "&#1114112" → "&#111411" | "2"): try every position of the run against the limit.
    for literal in ("&ltxyz", "&ampere", "&quotation", "&#1114112;", "&#x110000;"):
        for before in range(25, 41):
            source = "b" * before + literal + "c" * 20
            check_chunks(source, split_html(source, limit=40), 40)


def test_pre_code_with_language_is_reopened_in_every_chunk() -> None:
    code = "\n".join(f"    line_{i} = {i}  # &lt;tag&gt;" for i in range(40))
    source = f'<pre><code class="language-python">{code}</code></pre>'
    chunks = split_html(source, limit=200)
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.startswith('<pre><code class="language-python">')
        assert chunk.endswith("</code></pre>")
        assert parse_html(chunk).entities[0].language == "python"
    # Cuts fall after newlines, so each continuation keeps its leading indentation.
    for chunk in chunks[1:]:
        assert parse_html(chunk).text.startswith("    line_")
    check_chunks(source, chunks, 200)


def test_expandable_blockquote_and_nested_tags_are_reopened() -> None:
    body = " ".join(f"<b>w{i}</b> <i>it <u>{i}</u></i>" for i in range(30))
    source = f"<blockquote expandable>{body}</blockquote> after"
    chunks = split_html(source, limit=60)
    assert all(c.startswith("<blockquote expandable>") for c in chunks[:-1])
    assert [parse_html(c).entities[0].type for c in chunks[:-1]] == ["expandable_blockquote"] * (
        len(chunks) - 1
    )
    check_chunks(source, chunks, 60)


def test_links_keep_their_href_across_a_cut() -> None:
    source = '<a href="https://example.com/a?b=1&amp;c=%222%22">' + "link text " * 10 + "</a>"
    chunks = split_html(source, limit=40)
    assert len(chunks) >= 3
    for chunk in chunks:
        (entity,) = parse_html(chunk).entities
        assert entity.url == "https://example.com/a?b=1&c=%222%22"
    check_chunks(source, chunks, 40)


def test_default_limit_is_telegrams_4096_code_points() -> None:
    source = "\n\n".join(f"Paragraph {i}: " + "ünïcødé 😀 text " * 20 for i in range(60))
    chunks = split_html(source)
    assert len(chunks) >= 3
    assert all(len(parse_html(c).text.rstrip()) <= 4096 for c in chunks)
    assert all(parse_html(c).text.endswith("\n\n") for c in chunks[:-1])  # whole paragraphs
    check_chunks(source, chunks, 4096)


def test_formatting_over_astral_characters_survives_a_cut() -> None:
    # Entity offsets count UTF-16 units; the emoji take two each, so a wrong mapping shifts the bold.
    source = "😀" * 30 + " <b>" + "😀x " * 20 + "</b> tail <i>é😀</i>"
    chunks = split_html(source, limit=40)
    assert len(chunks) >= 2
    check_chunks(source, chunks, 40)
    assert chunks[1].startswith("<b>")


def test_split_chunks_are_written_canonically() -> None:
    source = "<strong>" + "bold &#60;words&#62; " * 10 + "</strong> and &ltx &amp; <a href='https://t.me/x'>a link</a>"
    chunks = split_html(source, limit=60)
    assert len(chunks) >= 3
    assert "<strong>" not in "".join(chunks) and chunks[0].startswith("<b>bold &lt;words&gt;")
    assert chunks[-1].endswith('&amp;ltx &amp; <a href="https://t.me/x">a link</a>')
    check_chunks(source, chunks, 60)


def test_huge_whitespace_runs_do_not_make_blank_chunks() -> None:
    source = "start" + " " * 100 + "end" + "\n" * 90 + "x"
    chunks = split_html(source, limit=40)
    check_chunks(source, chunks, 40)
    assert [parse_html(c).text.strip() for c in chunks] == ["start", "end", "x"]
    leading = "\n" * 50 + "<b>bold</b> " + "word " * 10
    check_chunks(leading, split_html(leading, limit=40), 40)


def test_rejects_invalid_html_and_tiny_limits() -> None:
    with pytest.raises(HtmlParseError):
        split_html("<b>unclosed", limit=100)
    with pytest.raises(ValueError):
        split_html("text", limit=MIN_LIMIT - 1)


# --- Hypothesis ------------------------------------------------------------------------------------

_alphabet = st.sampled_from(list("abcdefghij XYZ0123456789\n\t.,;:-_<>&\"'é日\u00a0\u3000😀"))
_raw_references = st.sampled_from(
    [
        "&amp;",
        "&lt;",
        "&gt;",
        "&quot;",
        "&#10;",
        "&#x41;",
        "&#128512;",
        "&amp",
        "&lt",
        "&ltx",
        "&copy;",
        "&#0;",
        "& ",
        "&#1114112;",
    ]
)


@st.composite
def text_html(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(_raw_references)
    if kind == 1:
        return "w" * draw(st.integers(1, 300))  # possibly a word longer than the limit
    if kind == 2:
        return draw(st.sampled_from([" ", "\n", "\n\n", "  \n", "\t"])) * draw(st.integers(1, 80))
    return html_lib.escape(draw(st.text(_alphabet, max_size=60)), quote=False)


_SIMPLE = ["b", "i", "u", "s", "strong", "em", "del", "tg-spoiler"]


@st.composite
def element_html(draw: st.DrawFn, depth: int, in_quote: bool) -> str:
    if depth <= 0:
        return draw(text_html())
    choice = draw(st.integers(0, 9))
    if choice <= 3:
        return draw(text_html())
    if choice == 4:
        language = draw(st.sampled_from(["", "python", "c"]))
        code = draw(text_html())
        if language:
            return f'<pre><code class="language-{language}">{code}</code></pre>'
        return f"<pre>{code}</pre>" if draw(st.booleans()) else f"<code>{code}</code>"
    children = "".join(draw(st.lists(element_html(depth - 1, in_quote or choice == 5), max_size=4)))
    if choice == 5 and not in_quote:
        attr = " expandable" if draw(st.booleans()) else ""
        return f"<blockquote{attr}>{children}</blockquote>"
    if choice == 6:
        return f'<a href="https://example.com/{draw(st.integers(0, 9))}">{children}</a>'
    if choice == 7:
        return f'<span class="tg-spoiler">{children}</span>'
    tag = draw(st.sampled_from(_SIMPLE))
    return f"<{tag}>{children}</{tag}>"


@st.composite
def documents(draw: st.DrawFn) -> str:
    return "".join(draw(st.lists(element_html(3, False), min_size=1, max_size=8)))


@settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(documents(), st.integers(MIN_LIMIT, 120))
def test_split_properties(source: str, limit: int) -> None:
    try:
        original = parse_html(source)
    except HtmlParseError:
        assume(False)
        raise
    chunks = split_html(source, limit)
    if not original.text.strip(TRIM):
        return
    check_chunks(source, chunks, limit)
    # Words are cut only when one word alone does not fit.
    texts = [parse_html(c).text for c in chunks]
    if "".join(texts) != original.text:
        return  # a long blank run was dropped (checked above); positions no longer line up
    position = 0
    for left in texts[:-1]:
        position += len(left)
        before, after = original.text[:position], original.text[position:]
        if before and after and not breaks(before[-1]) and not breaks(after[0]):
            word = WORD_END.search(before).group(0) + WORD_START.search(after).group(0)  # type: ignore[union-attr]
            assert len(word) >= limit // 2 - 12, (word, limit)
