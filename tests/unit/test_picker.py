"""Thread picker (golden keyboards, paging, forged presses) and the history pager.

The history pager (ccbot/ui/history.py) is tested here too: no separate test file was allotted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccbot.codex.sessions import ThreadInfo
from ccbot.telegram.types import InlineKeyboard
from ccbot.ui import Cancelled
from ccbot.ui.callbacks import BadCallback, decode
from ccbot.ui.history import EMPTY_HTML, paginate, render_history_page, visible_length
from ccbot.ui.picker import (
    BUTTON_CHARS,
    BindWindow,
    Fresh,
    Page,
    Resume,
    WindowChoice,
    apply,
    format_age,
    render_picker,
    thread_label,
)

TOKEN = "Tok123"
NOW = 1_795_480_000.0
CWD = Path("/home/dev/demo/work")


def layout(keyboard: InlineKeyboard) -> list[list[tuple[str, str]]]:
    return [[(b.text, b.callback_data) for b in row] for row in keyboard.rows]


def thread(n: int, *, name: str | None = None, preview: str | None = None, age: float = 60.0) -> ThreadInfo:
    tid = f"01a20a5a-{n:04x}-7000-8000-000000000000"
    return ThreadInfo(
        id=tid,
        path=Path(f"/ch/sessions/2026/11/23/rollout-2026-11-23T21-40-00-{tid}.jsonl"),
        cwd=CWD,
        created=datetime(2026, 11, 23, 21, 40, tzinfo=UTC),
        updated=NOW - age,
        name=name,
        preview=preview,
        source="cli",
        originator="codex-tui",
        is_subagent=False,
        is_exec=False,
    )


def threads(n: int) -> list[ThreadInfo]:
    return [thread(i, name=f"t{i}", age=60.0 * (i + 1)) for i in range(n)]


def windows(n: int) -> list[WindowChoice]:
    return [WindowChoice(f"@{i + 1}", f"w{i}", CWD) for i in range(n)]


# ---------------------------------------------------------------- picker


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(-5, "now"), (0, "now"), (59.9, "now"), (60, "1m"), (300, "5m"), (3599, "59m"), (3600, "1h"),
     (3 * 3600 + 59, "3h"), (86399, "23h"), (86400, "1d"), (2 * 86400 + 5, "2d"), (400 * 86400, "400d")],
)  # fmt: skip
def test_format_age(seconds: float, text: str) -> None:
    assert format_age(seconds) == text


def test_thread_label_fallbacks() -> None:
    assert thread_label(thread(1, name="Named", preview="p")) == "Named"
    assert thread_label(thread(1, name="  ", preview="first\nprompt")) == "first prompt"
    assert thread_label(thread(1)) == "thread 01a20a5a"


def test_golden_picker() -> None:
    items = [
        thread(1, name="Mock hello mock", preview="hello mock", age=300),
        thread(2, preview="run touch /home/dev/demo/work/never.txt", age=3 * 3600),
    ]
    html, kb = render_picker(items, [("@3", "api-server", "/w")], 0, TOKEN, NOW, cwd=CWD)
    assert layout(kb) == [
        [("1. 🖥 api-server · running", "pk.window:Tok123:0")],
        [("2. Mock hello mock · 5m", "pk.resume:Tok123:0")],
        # 40 characters: the 39-character preview is cut to 31 + "…".
        [("3. run touch /home/dev/demo/work/n… · 3h", "pk.resume:Tok123:1")],
        [("✨ New thread", "pk.fresh:Tok123"), ("✖ Cancel", "pk.cancel:Tok123")],
    ]
    assert html == (
        "🧵 <b>Pick a Codex thread</b>\n"
        "<code>/home/dev/demo/work</code>\n"
        "\n"
        "1. 🖥 <b>api-server</b> · running window @3\n"
        "2. <b>Mock hello mock</b> · 5m\n"
        "    <i>hello mock</i>\n"
        "3. <b>run touch /home/dev/demo/work/never.txt</b> · 3h"
    )


def test_button_text_never_exceeds_limit() -> None:
    items = [thread(i, name="x" * 200, age=400 * 86400) for i in range(3)]
    _, kb = render_picker(items, [("@1", "y" * 200, "/w")], 0, TOKEN, NOW)
    for row in kb.rows[:-1]:
        assert len(row[0].text) <= BUTTON_CHARS


def test_html_is_escaped() -> None:
    html, _ = render_picker([thread(1, name="<b>&")], [("@1", "<i>", "/")], 0, TOKEN, NOW, cwd=Path("/a<b"))
    assert "<code>/a&lt;b</code>" in html
    assert "<b>&lt;b&gt;&amp;</b>" in html
    assert "<b>&lt;i&gt;</b>" in html


def test_empty_picker() -> None:
    html, kb = render_picker([], [], 0, TOKEN, NOW)
    assert "No earlier threads here." in html
    assert layout(kb) == [[("✨ New thread", "pk.fresh:Tok123"), ("✖ Cancel", "pk.cancel:Tok123")]]


def test_paging_edges() -> None:
    items = threads(14)  # 6 + 6 + 2
    html0, kb0 = render_picker(items, [], 0, TOKEN, NOW)
    assert "Page 1/3" in html0
    rows0 = layout(kb0)
    assert rows0[0] == [("1. t0 · 1m", "pk.resume:Tok123:0")]
    assert rows0[6] == [("▶", "pk.page:Tok123:1")]
    rows1 = layout(render_picker(items, [], 1, TOKEN, NOW)[1])
    assert rows1[0] == [("7. t6 · 7m", "pk.resume:Tok123:6")]
    assert rows1[6] == [("◀", "pk.page:Tok123:0"), ("▶", "pk.page:Tok123:2")]
    html2, kb2 = render_picker(items, [], 2, TOKEN, NOW)
    assert "Page 3/3" in html2
    assert layout(kb2) == [
        [("13. t12 · 13m", "pk.resume:Tok123:12")],
        [("14. t13 · 14m", "pk.resume:Tok123:13")],
        [("◀", "pk.page:Tok123:1")],
        [("✨ New thread", "pk.fresh:Tok123"), ("✖ Cancel", "pk.cancel:Tok123")],
    ]
    # Exactly one full page: no paging row.
    assert len(layout(render_picker(threads(6), [], 0, TOKEN, NOW)[1])) == 7


def test_windows_come_first_and_spill_into_thread_pages() -> None:
    items, wins = threads(5), windows(4)
    rows0 = layout(render_picker(items, wins, 0, TOKEN, NOW)[1])
    assert [r[0][1] for r in rows0[:6]] == [
        "pk.window:Tok123:0", "pk.window:Tok123:1", "pk.window:Tok123:2", "pk.window:Tok123:3",
        "pk.resume:Tok123:0", "pk.resume:Tok123:1",
    ]  # fmt: skip
    rows1 = layout(render_picker(items, wins, 1, TOKEN, NOW)[1])
    assert [r[0][1] for r in rows1[:3]] == ["pk.resume:Tok123:2", "pk.resume:Tok123:3", "pk.resume:Tok123:4"]


def test_apply_outcomes() -> None:
    items, wins = threads(5), windows(4)
    assert apply(items, wins, 0, decode("pk.resume:Tok123:1")) == Resume(items[1].id)
    assert apply(items, wins, 1, decode("pk.resume:Tok123:4")) == Resume(items[4].id)
    assert apply(items, wins, 0, decode("pk.window:Tok123:3")) == BindWindow("@4")
    assert apply(items, [("@9", "n", "/")], 0, decode("pk.window:Tok123:0")) == BindWindow("@9")
    assert apply(items, wins, 0, decode("pk.page:Tok123:1")) == Page(1)
    assert apply(items, wins, 0, decode("pk.fresh:Tok123")) == Fresh()
    assert apply(items, wins, 0, decode("pk.cancel:Tok123")) == Cancelled()


@pytest.mark.parametrize(
    ("page", "data"),
    [
        (0, "pk.resume:Tok123:2"),  # thread 2 is on page 1
        (1, "pk.resume:Tok123:1"),  # thread 1 is on page 0
        (0, "pk.resume:Tok123:5"),  # no such thread
        (1, "pk.window:Tok123:0"),  # window 0 is on page 0
        (0, "pk.window:Tok123:4"),  # no such window (position 4 is thread 0)
        (0, "pk.page:Tok123:2"),
        (0, "br.select:Tok123"),
        (0, "hi.page:Tok123:0"),
    ],
)
def test_apply_rejects_buttons_that_were_not_shown(page: int, data: str) -> None:
    with pytest.raises(BadCallback):
        apply(threads(5), windows(4), page, decode(data))


@given(
    n_threads=st.integers(min_value=0, max_value=20),
    n_windows=st.integers(min_value=0, max_value=8),
    page=st.integers(min_value=0, max_value=6),
)
def test_every_shown_picker_button_is_accepted(n_threads: int, n_windows: int, page: int) -> None:
    items, wins = threads(n_threads), windows(n_windows)
    _, kb = render_picker(items, wins, page, TOKEN, NOW)
    seen: set[str] = set()
    for row in kb.rows:
        for button in row:
            outcome = apply(items, wins, page, decode(button.callback_data))
            if isinstance(outcome, Resume):
                seen.add(outcome.thread_id)
            elif isinstance(outcome, BindWindow):
                seen.add(outcome.window_id)
    start = min(page, max(0, (n_threads + n_windows - 1) // 6)) * 6
    everything = [w.window_id for w in wins] + [t.id for t in items]
    assert seen == set(everything[start : start + 6])


# ---------------------------------------------------------------- history pager


@pytest.mark.parametrize(
    ("html", "n"),
    [("<b>a&amp;b</b>", 3), ("&lt;x&gt;", 3), ("&#128512;", 1), ("&#x1F600", 1), ("&nbsp;", 6),
     ("&amp", 1), ('<a href="https://x.y/">link</a>', 4), ("plain", 5), ("", 0)],
)  # fmt: skip
def test_visible_length(html: str, n: int) -> None:
    assert visible_length(html) == n


def test_paginate_packs_from_the_newest() -> None:
    msgs = [f"<b>{i}</b>" + "x" * 999 for i in range(7)]  # 1000 visible each
    pages = paginate(msgs)
    # 3 messages = 3000 + 2 separators of 2 = 3004 <= 3500; a 4th would make 4006.
    assert pages == ["\n\n".join(msgs[4:7]), "\n\n".join(msgs[1:4]), msgs[0]]


def test_paginate_edges() -> None:
    assert paginate([]) == []
    assert paginate(["", "<b> </b>", "ok"]) == ["ok"]
    big = "y" * 5000
    assert paginate(["a", big, "b"]) == ["b", big, "a"]
    assert paginate(["a" * 1749, "b" * 1749]) == ["a" * 1749 + "\n\n" + "b" * 1749]  # exactly 3500
    assert paginate(["a" * 1749, "b" * 1750]) == ["b" * 1750, "a" * 1749]
    with pytest.raises(ValueError):
        paginate(["a"], limit=0)


@given(
    st.lists(st.integers(min_value=0, max_value=4000), max_size=30), st.integers(min_value=50, max_value=3500)
)
def test_paginate_properties(lengths: list[int], limit: int) -> None:
    msgs = [f"<i>{i}</i>" + "z" * n for i, n in enumerate(lengths)]
    pages = paginate(msgs, limit)
    # Newest first, every message once, in order.
    assert "\n\n".join(reversed(pages)) == "\n\n".join(msgs)
    for page in pages:
        assert visible_length(page) <= limit or "\n\n" not in page
    # Greedy: no page (except the oldest) could have taken the next older message.
    for newer, older in pairwise(pages):
        last_older = older.split("\n\n")[-1]
        assert visible_length(newer) + 2 + visible_length(last_older) > limit


def test_render_history_page_golden() -> None:
    pages = ["newest", "middle", "oldest"]
    html, kb = render_history_page(pages, 0, TOKEN)
    assert html == "newest"
    assert layout(kb) == [[("◀ Older", "hi.page:Tok123:1"), ("[3/3]", "noop:Tok123")]]
    html, kb = render_history_page(pages, 1, TOKEN)
    assert html == "middle"
    assert layout(kb) == [
        [("◀ Older", "hi.page:Tok123:2"), ("[2/3]", "noop:Tok123"), ("Newer ▶", "hi.page:Tok123:0")]
    ]
    assert layout(render_history_page(pages, 2, TOKEN)[1]) == [
        [("[1/3]", "noop:Tok123"), ("Newer ▶", "hi.page:Tok123:1")]
    ]
    assert render_history_page(["only"], 0, TOKEN) == ("only", InlineKeyboard(()))
    assert render_history_page([], 0, TOKEN) == (EMPTY_HTML, InlineKeyboard(()))


@pytest.mark.parametrize(("pages", "index"), [(["a"], 1), (["a", "b"], -1), ([], 1), (["a", "b"], 2)])
def test_render_history_page_rejects_missing_pages(pages: list[str], index: int) -> None:
    with pytest.raises(BadCallback):
        render_history_page(pages, index, TOKEN)
