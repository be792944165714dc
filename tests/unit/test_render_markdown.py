"""Tests for ccbot.render.markdown: md_to_html guarded against chatgpt-md-converter 0.3.12 defects."""

from __future__ import annotations

import pytest
from chatgpt_md_converter import telegram_format
from hypothesis import given, settings
from hypothesis import strategies as st

from ccbot.render import markdown
from ccbot.render.markdown import escape, html_to_plain, md_to_html
from ccbot.render.tg_html import HtmlParseError, ParsedText, parse_html


def entities(html: str) -> list[tuple[str, str, str | None]]:
    """(type, covered text, url or language) for each entity, in order."""
    parsed = parse_html(html)
    units = parsed.text.encode("utf-16-le")
    out = []
    for e in parsed.entities:
        covered = units[2 * e.offset : 2 * (e.offset + e.length)].decode("utf-16-le")
        out.append((e.type, covered, e.url or e.language))
    return out


# --- the known defects (telegram-bot-api.md §3.2) ------------------------------------------------


def test_literal_blockquote_and_span_tags_in_prose_stay_text() -> None:
    md = "Use the <blockquote> tag or </span>"
    with pytest.raises(HtmlParseError):  # the defect this guards against
        parse_html(telegram_format(md))
    assert md_to_html(md) == "Use the &lt;blockquote&gt; tag or &lt;/span&gt;"


def test_literal_tags_inside_inline_code_stay_text() -> None:
    out = md_to_html('`<blockquote>` and `</span>` and `<span class="tg-spoiler">`')
    assert entities(out) == [
        ("code", "<blockquote>", None),
        ("code", "</span>", None),
        ("code", '<span class="tg-spoiler">', None),
    ]


def test_quotes_in_link_urls_are_percent_encoded() -> None:
    md = '[the "docs"](https://x.org/a?b=1&c="2")'
    with pytest.raises(HtmlParseError):
        parse_html(telegram_format(md))
    out = md_to_html(md)
    assert entities(out) == [("text_link", 'the "docs"', "https://x.org/a?b=1&c=%222%22")]


def test_parentheses_in_link_urls_are_kept() -> None:
    out = md_to_html("[wiki](https://en.wikipedia.org/wiki/Foo_(bar)) after")
    assert entities(out) == [("text_link", "wiki", "https://en.wikipedia.org/wiki/Foo%5F%28bar%29")]
    assert parse_html(out).text == "wiki after"


def test_emphasis_markers_in_urls_do_not_become_tags() -> None:
    out = md_to_html("see [here](https://x.org/a_b_/c*d*) now")
    assert entities(out) == [("text_link", "here", "https://x.org/a%5Fb%5F/c%2Ad%2A")]


def test_fence_language_with_symbols() -> None:
    out = md_to_html("```c++\nint main() { return a<b; }\n```")
    assert entities(out) == [("pre", "int main() { return a<b; }\n", "cpp")]


def test_tilde_fences_are_code() -> None:
    out = md_to_html("~~~python\nx = 1\n~~~")
    assert entities(out) == [("pre", "x = 1\n", "python")]


def test_placeholder_lookalikes_are_not_replaced() -> None:
    md = "literal INLINECODEPLACEHOLDER_0_ and `code`"
    assert "INLINECODEPLACEHOLDER_0_" not in parse_html(telegram_format(md)).text  # the defect
    assert parse_html(md_to_html(md)).text == "literal INLINECODEPLACEHOLDER_0_ and code"
    md2 = "CODEBLOCKPLACEHOLDER_0_ then\n```\nblock\n```"
    assert parse_html(md_to_html(md2)).text == "CODEBLOCKPLACEHOLDER_0_ then\nblock\n"


def test_invalid_converter_output_falls_back_to_escaped_text() -> None:
    md = "**bold _crossing** italic_ <x> & y"
    with pytest.raises(HtmlParseError):
        parse_html(telegram_format(md))  # <b>…<i>…</b>…</i>
    assert md_to_html(md) == "**bold _crossing** italic_ &lt;x&gt; &amp; y"


# --- ordinary Markdown ---------------------------------------------------------------------------


def test_common_markdown() -> None:
    md = "# Title\n\nSome **bold**, *italic* and `code`.\n\n- one\n- two\n\n> quoted\n\n```bash\nls -la\n```"
    out = md_to_html(md)
    assert (
        parse_html(out).text == "Title\n\nSome bold, italic and code.\n\n• one\n• two\n\nquoted\n\nls -la\n"
    )
    assert [(t, s) for t, s, _ in entities(out)] == [
        ("bold", "Title"),
        ("bold", "bold"),
        ("italic", "italic"),
        ("code", "code"),
        ("blockquote", "quoted"),
        ("pre", "ls -la\n"),
    ]


def test_html_in_markdown_is_shown_literally() -> None:
    assert md_to_html("<b>already html</b> & AT&T &copy;") == (
        "&lt;b&gt;already html&lt;/b&gt; &amp; AT&amp;T &amp;copy;"
    )


def test_blank_input() -> None:
    assert md_to_html("") == ""
    assert md_to_html("  \n\n ") == ""


def test_mock_long_answer_converts() -> None:
    md = (
        "# Mock long answer\n\n## Section 1\n\nThis paragraph has **bold words**, *italic words*, "
        "`inline code` and a [link](https://example.com/docs?a=1&b=2).\n\n```python\nprint('x < y')\n```"
    )
    out = md_to_html(md)
    assert ("text_link", "link", "https://example.com/docs?a=1&b=2") in entities(out)


def test_html_to_plain() -> None:
    assert html_to_plain("<b>a</b> &lt;b&gt; <code>x &amp; y</code>") == "a <b> x & y"
    assert html_to_plain("<b>broken") == "broken"
    assert html_to_plain("<nope>x &amp; y</nope>") == "x & y"


def test_escape_leaves_quotes() -> None:
    assert escape('a < b & "c"') == 'a &lt; b &amp; "c"'


# --- Hypothesis -----------------------------------------------------------------------------------

_md_alphabet = st.sampled_from([*"ab c\n*_~|`#>-[]()!.:<>&\"'\\", "**", "```", "~~~", "](", "http://x.y/"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_md_alphabet, max_size=60).map("".join))
def test_md_to_html_output_is_always_valid_telegram_html(md: str) -> None:
    parse_html(md_to_html(md))


_plain_alphabet = st.sampled_from([*"abcXYZ 0123.,;:!?<>&'\"/=%", "é", "日本", "😀"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_plain_alphabet, max_size=60).map(lambda parts: "w" + "".join(parts)))
def test_text_without_markdown_survives_verbatim(text: str) -> None:
    # One line starting with a letter: no heading, list or quote syntax can appear.
    assert html_to_plain(md_to_html(text)) == text.strip()


# Text near the edge of "no markup": words with inner underscores, signs that only count at a line
# start, blank-line runs, whitespace the converter strips, "](" without "[", and the odd real marker.
_edge_alphabet = st.sampled_from(
    [
        *"ab Z9\n\t_-#>.()]<&", "\n\n\n", "MOCK_REPLY", "a__b", "x___y", "\u00a0", "\u2028", "\x1c",
        "\u3010", "\u3011", "](", "*", "`", "~", "|", "[", "PLACEHOLDER", "é", "😀", "&lt;",
    ]
)  # fmt: skip


def _md_general(md: str) -> tuple[str, object]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(markdown, "_plain_html", lambda _md: None)
        return markdown.md_to_html_parsed(md)


@settings(max_examples=600, deadline=None)
@given(st.lists(_edge_alphabet, max_size=30).map("".join))
def test_markup_free_shortcut_matches_the_converter(md: str) -> None:
    assert markdown.md_to_html_parsed(md) == _md_general(md)


def test_markup_free_shortcut_is_taken_for_plain_answers() -> None:
    md = "MOCK_REPLY: you said: a <b> & c\n\n\n\nsnake_case - done #1 > 0 "
    assert markdown._plain_html(md) == (
        "MOCK_REPLY: you said: a &lt;b&gt; &amp; c\n\nsnake_case - done #1 &gt; 0",
        ParsedText("MOCK_REPLY: you said: a <b> & c\n\nsnake_case - done #1 > 0", ()),
    )
    assert markdown.md_to_html_parsed(md) == _md_general(md)
    for marked in ("a *b*", "_a_", "x\n- item", "# head", "> quote", "see ](x_y)", "`c`", "\u3010a\u3011"):
        assert markdown._plain_html(marked) is None
