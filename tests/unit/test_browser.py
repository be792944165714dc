"""Folder browser: listing, golden keyboards, paging edges, forged presses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccbot.actors.topics.folders import list_subdirs
from ccbot.telegram.types import InlineKeyboard
from ccbot.ui import Cancelled
from ccbot.ui.browser import (
    NAME_CHARS,
    BrowserState,
    Listing,
    Selected,
    apply,
    render_browser,
)
from ccbot.ui.callbacks import BadCallback, decode, encode

TOKEN = "Tok123"
ROOT = Path("/")
HOME = Path("/home/dev")


def layout(keyboard: InlineKeyboard) -> list[list[tuple[str, str]]]:
    return [[(b.text, b.callback_data) for b in row] for row in keyboard.rows]


def names(n: int) -> list[str]:
    return [f"d{i:02d}" for i in range(n)]


# ---------------------------------------------------------------- listing (the only I/O)


def test_list_subdirs_sorts_filters_and_follows_links(tmp_path: Path) -> None:
    for d in ["beta", "Alpha", ".hidden", "gamma", "_under"]:
        (tmp_path / d).mkdir()
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "beta")
    (tmp_path / "file-link").symlink_to(tmp_path / "file.txt")
    (tmp_path / "dead").symlink_to(tmp_path / "missing")
    assert list_subdirs(tmp_path, False) == Listing(("_under", "Alpha", "beta", "gamma", "link"), False)
    assert list_subdirs(tmp_path, True).names == (".hidden", "_under", "Alpha", "beta", "gamma", "link")


def test_list_subdirs_case_insensitive_order_is_stable(tmp_path: Path) -> None:
    for d in ["b", "B", "a", "A"]:
        (tmp_path / d).mkdir()
    assert list_subdirs(tmp_path, False).names == ("A", "a", "B", "b")


def test_list_subdirs_unreadable(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert list_subdirs(tmp_path / "file", False) == Listing((), True)
    assert list_subdirs(tmp_path / "missing", False) == Listing((), True)
    if os.geteuid() != 0:  # root reads everything
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0)
        try:
            assert list_subdirs(locked, False) == Listing((), True)
        finally:
            locked.chmod(0o700)


# ---------------------------------------------------------------- rendering


def test_golden_small_folder() -> None:
    html, kb = render_browser(BrowserState(ROOT, HOME), ["Alpha", "beta", "gamma"], TOKEN)
    assert html == "📂 <b>Choose a folder</b>\n<code>/home/dev</code>"
    assert layout(kb) == [
        [("📁 Alpha", "br.open:Tok123:0"), ("📁 beta", "br.open:Tok123:1")],
        [("📁 gamma", "br.open:Tok123:2")],
        [("⬆ ..", "br.up:Tok123")],
        [("✅ Select this folder", "br.select:Tok123")],
        [("👁 Show hidden", "br.hidden:Tok123"), ("✖ Cancel", "br.cancel:Tok123")],
    ]


def test_golden_paging_edges() -> None:
    entries = names(20)  # 8 + 8 + 4
    html0, kb0 = render_browser(BrowserState(ROOT, HOME, page=0), entries, TOKEN)
    assert "Page 1/3 · 20 folders" in html0
    rows0 = layout(kb0)
    assert [len(r) for r in rows0] == [2, 2, 2, 2, 2, 1, 2]
    assert rows0[0] == [("📁 d00", "br.open:Tok123:0"), ("📁 d01", "br.open:Tok123:1")]
    assert rows0[4] == [("⬆ ..", "br.up:Tok123"), ("▶", "br.page:Tok123:1")]

    _, kb1 = render_browser(BrowserState(ROOT, HOME, page=1), entries, TOKEN)
    rows1 = layout(kb1)
    assert rows1[0] == [("📁 d08", "br.open:Tok123:0"), ("📁 d09", "br.open:Tok123:1")]
    assert rows1[4] == [("⬆ ..", "br.up:Tok123"), ("◀", "br.page:Tok123:0"), ("▶", "br.page:Tok123:2")]

    html2, kb2 = render_browser(BrowserState(ROOT, HOME, page=2), entries, TOKEN)
    assert "Page 3/3" in html2
    rows2 = layout(kb2)
    assert rows2[:3] == [
        [("📁 d16", "br.open:Tok123:0"), ("📁 d17", "br.open:Tok123:1")],
        [("📁 d18", "br.open:Tok123:2"), ("📁 d19", "br.open:Tok123:3")],
        [("⬆ ..", "br.up:Tok123"), ("◀", "br.page:Tok123:1")],
    ]


def test_exactly_one_full_page_has_no_paging() -> None:
    html, kb = render_browser(BrowserState(ROOT, HOME), names(8), TOKEN)
    assert "Page" not in html
    assert layout(kb)[4] == [("⬆ ..", "br.up:Tok123")]
    _, kb9 = render_browser(BrowserState(ROOT, HOME), names(9), TOKEN)
    assert layout(kb9)[4] == [("⬆ ..", "br.up:Tok123"), ("▶", "br.page:Tok123:1")]


def test_no_up_at_filesystem_root_or_at_the_configured_root() -> None:
    _, kb = render_browser(BrowserState(ROOT, ROOT), [], TOKEN)
    assert layout(kb) == [
        [("✅ Select this folder", "br.select:Tok123")],
        [("👁 Show hidden", "br.hidden:Tok123"), ("✖ Cancel", "br.cancel:Tok123")],
    ]
    _, kb = render_browser(BrowserState(HOME, HOME), [], TOKEN)
    assert all(b[0] != "⬆ .." for row in layout(kb) for b in row)
    _, kb = render_browser(BrowserState(HOME, HOME / "x"), [], TOKEN)
    assert layout(kb)[0] == [("⬆ ..", "br.up:Tok123")]


def test_html_escapes_path_and_reports_state() -> None:
    html, _ = render_browser(BrowserState(ROOT, Path("/tmp/<b>&co")), [], TOKEN)
    assert "<code>/tmp/&lt;b&gt;&amp;co</code>" in html
    assert "<i>No sub-folders.</i>" in html
    html, _ = render_browser(BrowserState(ROOT, HOME), [], TOKEN, unreadable=True)
    assert "cannot be read" in html


def test_hidden_toggle_label() -> None:
    _, kb = render_browser(BrowserState(ROOT, HOME, show_hidden=True), [], TOKEN)
    assert layout(kb)[-1][0] == ("🙈 Hide hidden", "br.hidden:Tok123")


def test_long_and_odd_names_are_shortened_in_buttons() -> None:
    long = "a-very-long-folder-name-that-goes-on-and-on-forever"
    _, kb = render_browser(BrowserState(ROOT, HOME), [long, "two\nlines"], TOKEN)
    first, second = kb.rows[0]
    assert first.text == "📁 " + long[: NAME_CHARS - 1] + "…"
    assert second.text == "📁 two lines"


def test_page_beyond_the_end_is_clamped() -> None:
    state = BrowserState(ROOT, HOME, page=5)  # the folder shrank since
    html, kb = render_browser(state, names(10), TOKEN)
    assert "Page 2/2" in html
    assert layout(kb)[0] == [("📁 d08", "br.open:Tok123:0"), ("📁 d09", "br.open:Tok123:1")]
    assert apply(state, decode("br.open:Tok123:1"), names(10)) == BrowserState(ROOT, HOME / "d09")


# ---------------------------------------------------------------- apply


def test_apply_open_uses_the_page_the_user_saw() -> None:
    state = BrowserState(ROOT, HOME, page=1, show_hidden=True)
    assert apply(state, decode("br.open:Tok123:1"), names(20)) == BrowserState(ROOT, HOME / "d09", 0, True)


def test_apply_navigation_and_outcomes() -> None:
    state = BrowserState(ROOT, HOME, page=1)
    entries = names(20)
    assert apply(state, decode("br.up:Tok123"), entries) == BrowserState(ROOT, Path("/home"))
    assert apply(state, decode("br.page:Tok123:2"), entries) == BrowserState(ROOT, HOME, page=2)
    assert apply(state, decode("br.hidden:Tok123"), entries) == BrowserState(ROOT, HOME, 0, True)
    assert apply(state, decode("br.select:Tok123"), entries) == Selected(HOME)
    assert apply(state, decode("br.cancel:Tok123"), entries) == Cancelled()


@pytest.mark.parametrize(
    ("state", "data"),
    [
        (BrowserState(ROOT, HOME, page=2), "br.open:Tok123:4"),  # last page holds 4 (0..3)
        (BrowserState(ROOT, HOME), "br.open:Tok123:8"),
        (BrowserState(ROOT, HOME), "br.page:Tok123:3"),
        (BrowserState(ROOT, ROOT), "br.up:Tok123"),
        (BrowserState(HOME, HOME), "br.up:Tok123"),
        (BrowserState(ROOT, HOME), "pk.fresh:Tok123"),
        (BrowserState(ROOT, HOME), "noop:Tok123"),
    ],
)
def test_apply_rejects_buttons_that_were_not_shown(state: BrowserState, data: str) -> None:
    with pytest.raises(BadCallback):
        apply(state, decode(data), names(20))


def test_apply_rejects_path_tricks_in_entries() -> None:
    state = BrowserState(ROOT, HOME)
    for bad in ["..", "a/b", ""]:
        with pytest.raises(BadCallback):
            apply(state, decode("br.open:Tok123:0"), [bad])


@given(
    n=st.integers(min_value=0, max_value=40),
    page=st.integers(min_value=0, max_value=6),
    depth=st.integers(min_value=0, max_value=3),
    hidden=st.booleans(),
)
def test_every_shown_button_is_accepted(n: int, page: int, depth: int, hidden: bool) -> None:
    path = Path("/", *[f"p{i}" for i in range(depth)])
    state = BrowserState(ROOT, path, page, hidden)
    entries = names(n)
    _, kb = render_browser(state, entries, TOKEN)
    for row in kb.rows:
        assert 1 <= len(row) <= 3
        for button in row:
            assert len(button.callback_data.encode()) <= 64
            result = apply(state, decode(button.callback_data), entries)
            if isinstance(result, BrowserState):
                render_browser(result, entries, TOKEN)
    opened = [b for row in kb.rows for b in row if b.callback_data.startswith("br.open")]
    assert len(opened) == min(8, max(0, n - min(page, max(0, (n - 1) // 8)) * 8))
    assert encode("br.select", TOKEN) in {b.callback_data for row in kb.rows for b in row}
