"""Tests for ccbot.render.stream: every frame of a streamed answer is valid Telegram HTML within the
limit, and a complete answer's frame is its final rendering."""

from __future__ import annotations

import functools
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccbot.codex.records import AssistantMessage
from ccbot.codex.rollout import decode_lines
from ccbot.render.markdown import md_to_html
from ccbot.render.stream import ELLIPSIS, frame_html, settle_markdown
from ccbot.render.tg_html import parse_html
from tests.conftest import DATA

TRIM = "".join(chr(c) for c in range(0x21))
SURROGATE = re.compile("[\ud800-\udfff]")
LONG = DATA / "codex-0.169" / "rollouts" / "long.jsonl"


@functools.cache
def recorded_answers() -> tuple[str, ...]:
    """The text of every assistant message in the recorded rollouts, each once, shortest first."""
    found: set[str] = set()
    for folder in (DATA / "rollouts", DATA / "codex-0.169"):
        for path in sorted(folder.rglob("*.jsonl")):
            lines = [line for line in path.read_bytes().split(b"\n") if line.strip()]
            found.update(r.text for r in decode_lines(lines) if isinstance(r, AssistantMessage))
    return tuple(sorted(found, key=len))


def long_answer() -> str:
    lines = [line for line in LONG.read_bytes().split(b"\n") if line.strip()]
    (answer,) = [r.text for r in decode_lines(lines) if isinstance(r, AssistantMessage)]
    return answer


def visible(html: str) -> str:
    return parse_html(html).text


def check_frame(text: str, limit: int = 4096, *, newest: bool = True) -> str | None:
    """The contract of `frame_html`, checked with the TDLib-rule parser; returns the frame.

    `newest`: also check that a frame cut to fit ends with the newest words of the full rendering
    (true of Markdown the converter renders line by line; garbage it renders as a whole, or falls
    back to plain text for, may render differently once its head is cut off)."""
    frame = frame_html(text, limit=limit)
    settled = settle_markdown(SURROGATE.sub("", text))  # a stream may stop inside a surrogate pair
    if frame is None:
        assert not visible(md_to_html(settled)).strip(TRIM)
        return None
    shown = visible(frame)  # raises HtmlParseError if Telegram would refuse the frame
    assert shown.strip(TRIM)
    assert len(shown.rstrip(TRIM)) <= limit
    final = md_to_html(settled)
    final_text = visible(final).rstrip(TRIM)
    if len(final_text) <= limit:
        assert frame == final
        if settled == text:
            assert frame == md_to_html(text)  # complete and fits: the final message itself
    else:
        assert shown.startswith(ELLIPSIS)
    if newest and len(final_text) > limit:
        tail = shown.rstrip(TRIM)[len(ELLIPSIS) :]
        newest = min(len(final_text.split()[-1]), len(tail))  # a word longer than the limit is cut
        assert tail[-newest:] == final_text[-newest:]
    return frame


def test_recorded_answers_are_found() -> None:
    answers = recorded_answers()
    assert len(answers) >= 5
    assert len(long_answer()) == 10_000


@pytest.mark.parametrize("index", range(len(recorded_answers())))
def test_recorded_answer_is_complete_and_its_frame_is_the_final_rendering(index: int) -> None:
    answer = recorded_answers()[index]
    assert settle_markdown(answer) == answer
    frame = check_frame(answer)
    if len(visible(md_to_html(answer)).rstrip(TRIM)) <= 4096:
        assert frame == md_to_html(answer)


def test_every_prefix_of_the_short_recorded_answers() -> None:
    for answer in recorded_answers():
        if len(answer) <= 2000:
            for cut in range(len(answer) + 1):
                check_frame(answer[:cut])


def test_every_prefix_of_the_long_answer_with_a_small_limit() -> None:
    # A small limit makes most prefixes take the tail path; every line of the answer is a cut point
    # (the fence, list and quote lines among them), plus every 11th character in between.
    answer = long_answer()[:3000]
    cuts = set(range(0, len(answer) + 1, 11))
    cuts |= {m.start() + d for m in re.finditer("\n", answer) for d in (-1, 0, 1, 4)}
    for cut in sorted(c for c in cuts if 0 <= c <= len(answer)):
        check_frame(answer[:cut], limit=300)


def test_prefixes_of_the_long_answer_at_the_real_limit() -> None:
    answer = long_answer()
    for cut in range(3500, len(answer) + 1, 97):
        check_frame(answer[:cut])
    frame = check_frame(answer)
    assert frame is not None and frame.startswith(ELLIPSIS)
    assert visible(frame).rstrip().endswith(visible(md_to_html(answer)).rstrip()[-200:])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_prefix_of_the_long_answer(data: st.DataObject) -> None:
    answer = long_answer()
    cut = data.draw(st.integers(0, len(answer)))
    limit = data.draw(st.sampled_from([64, 200, 1000, 4096]))
    check_frame(answer[:cut], limit=limit)


PIECES = [
    "**", "*", "_", "__", "`", "``", "```", "```python\n", "~~~\n", "~~", "[", "]", "](", ")",
    "https://example.com/a_b", "\n", "\n\n", " ", "  ", "word", "snake_case", "é", "\U0001f600",
    "<b>", "&amp;", "&", "# ", "- ", "* ", "> ", "1. ", "||", "\u3010", "PLACEHOLDER", "\ud83d",
]  # fmt: skip
MARKDOWNISH = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=MARKDOWNISH, limit=st.sampled_from([64, 80, 4096]))
def test_random_markdownish_text(text: str, limit: int) -> None:
    check_frame(text, limit=limit, newest=False)


WORD = st.sampled_from(["alpha", "beta", "x", "snake_case", "é", "\U0001f600", "1 < 2", "a & b", "2 * 3"])
INLINE = st.one_of(
    WORD,
    WORD.map(lambda w: f"**{w}**"),
    WORD.map(lambda w: f"*{w}*"),
    WORD.map(lambda w: f"`{w}`"),
    WORD.map(lambda w: f"~~{w}~~"),
    WORD.map(lambda w: f"[{w}](https://example.com/{len(w)})"),
)
LINE = st.lists(INLINE, min_size=1, max_size=6).map(" ".join)
BLOCK = st.one_of(
    LINE,
    LINE.map(lambda line: f"- {line}"),
    LINE.map(lambda line: f"> {line}"),
    LINE.map(lambda line: f"## {line}"),
    st.lists(WORD, min_size=1, max_size=4).map(lambda ws: "```python\n" + "\n".join(ws) + "\n```"),
)
COMPLETE = st.lists(BLOCK, min_size=1, max_size=12).map("\n\n".join)


@settings(max_examples=150, deadline=None)
@given(text=COMPLETE, limit=st.sampled_from([64, 150, 4096]))
def test_complete_markdown_is_left_alone_and_rendered_as_final(text: str, limit: int) -> None:
    assert settle_markdown(text) == text
    check_frame(text, limit=limit)


@settings(max_examples=80, deadline=None)
@given(text=COMPLETE, data=st.data())
def test_every_prefix_of_complete_markdown_is_a_valid_frame(text: str, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(text)))
    check_frame(text[:cut], limit=data.draw(st.sampled_from([64, 4096])))


@pytest.mark.parametrize(
    ("partial", "frame"),
    [
        ("", None),
        (" \n\t", None),
        ("**", None),
        ("```pyth", None),
        ("```python\ndef f", '<pre><code class="language-python">def f\n</code></pre>'),
        ("```python\ndef f\n``", '<pre><code class="language-python">def f\n</code></pre>'),
        ("Text\n```py", "Text"),
        ("**bold", "<b>bold</b>"),
        ("**bold*", "<b>bold</b>"),
        ("so *it", "so <i>it</i>"),
        ("~~gone", "<s>gone</s>"),
        ("run `ls -l", "run <code>ls -l</code>"),
        ("run `", "run"),
        ("see [the docs](https://exa", "see the docs"),
        ("see [the do", "see the do"),
        ("**b** and *", "<b>b</b> and"),
        ("5 * x", "5 * x"),
        ("snake_case_", "snake_case"),
        ("**see `foo", "<b>see <code>foo</code></b>"),
        ("a\ud83d", "a"),
    ],
)
def test_unfinished_markup(partial: str, frame: str | None) -> None:
    assert frame_html(partial) == frame
    check_frame(partial)


def test_the_tail_reopens_a_code_block_cut_inside() -> None:
    code = "\n".join(f"line_{n} = {n}" for n in range(400))
    text = "Intro paragraph.\n\n```python\n" + code + "\n```\n\nDone."
    frame = frame_html(text, limit=500)
    assert frame is not None
    assert frame.startswith(f'{ELLIPSIS}\n<pre><code class="language-python">line_')
    assert visible(frame).rstrip().endswith("line_399 = 399\n\n\nDone.")
    assert visible(frame).rstrip().endswith(visible(md_to_html(text))[-300:])
    assert len(visible(frame).rstrip()) <= 500
    assert len(visible(frame).rstrip()) > 400  # the tail uses the room there is


def test_one_line_longer_than_the_limit_falls_back_to_the_split_tail() -> None:
    text = " ".join(f"**w{n}**" for n in range(3000))
    frame = check_frame(text, limit=256)
    assert frame is not None and frame.startswith(ELLIPSIS)
    assert visible(frame).endswith("w2999")


def test_limit_too_small() -> None:
    with pytest.raises(ValueError, match="limit"):
        frame_html("text", limit=10)


@pytest.mark.parametrize(
    ("partial", "settled"),
    [
        # The fence is closed by the guard itself, not left to the converter's leniency.
        ("```python\ndef f", "```python\ndef f\n```"),
        ("```python\ndef f\n", "```python\ndef f\n```"),
        ("~~~~\nx = 1\n~~", "~~~~\nx = 1\n~~~~"),
        ("```\na **b", "```\na **b\n```"),  # code is not markup
        ("```\nx\n```", "```\nx\n```"),
        ("2 * 3 *alpha*", "2 * 3 *alpha*"),
        ("**a** `b` [c](https://e.com/d)", "**a** `b` [c](https://e.com/d)"),
        ("* item *it", "* item *it*"),
        ("use ``a ` b", "use ``a ` b``"),
    ],
)
def test_settle_markdown(partial: str, settled: str) -> None:
    assert settle_markdown(partial) == settled
