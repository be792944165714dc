"""Tests for the ANSI SGR parser (ccbot.render.ansi).

Expected values come from the SGR definitions (ECMA-48 / xterm ctlseqs) and from what the recorded
captures were produced with (tests/data/screens/demo_source.py), not from the parser's output.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccbot.render.ansi import Cell, Color, char_width, palette_256, parse_ansi
from tests.conftest import DATA

PROMPT = "\u203a"  # Codex's composer / selection marker
SCREENS = DATA / "screens"


def text_of(row: list[Cell]) -> str:
    return "".join(c.char for c in row)


def one_row(text: str) -> list[Cell]:
    rows = parse_ansi(text)
    assert len(rows) == 1
    return rows[0]


def lines_of(text: str) -> list[str]:
    """The lines a parse must give back for escape-free text (one trailing newline ends the text)."""
    if text.endswith("\n"):
        text = text[:-1]
    return text.split("\n")


# --- palette -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "rgb"),
    [
        (0, (0, 0, 0)),
        (1, (205, 0, 0)),
        (4, (0, 0, 238)),
        (7, (229, 229, 229)),
        (8, (127, 127, 127)),
        (9, (255, 0, 0)),
        (12, (92, 92, 255)),
        (15, (255, 255, 255)),
        (16, (0, 0, 0)),  # cube origin
        (21, (0, 0, 255)),  # 16 + 5
        (46, (0, 255, 0)),  # 16 + 6*5
        (196, (255, 0, 0)),  # 16 + 36*5
        (202, (255, 95, 0)),  # 16 + 36*5 + 6*1
        (231, (255, 255, 255)),
        (232, (8, 8, 8)),
        (244, (128, 128, 128)),
        (255, (238, 238, 238)),
    ],
)
def test_palette_256_known_entries(n: int, rgb: tuple[int, int, int]) -> None:
    assert palette_256(n) == rgb


@given(st.integers(0, 5), st.integers(0, 5), st.integers(0, 5))
def test_palette_cube_follows_xterm_levels(r: int, g: int, b: int) -> None:
    levels = [0] + [55 + 40 * i for i in range(1, 6)]
    assert palette_256(16 + 36 * r + 6 * g + b) == (levels[r], levels[g], levels[b])


@pytest.mark.parametrize("n", [-1, 256, 10**6])
def test_palette_out_of_range_raises(n: int) -> None:
    with pytest.raises(ValueError):
        palette_256(n)


def test_color_needs_exactly_one_form() -> None:
    with pytest.raises(ValueError):
        Color()
    with pytest.raises(ValueError):
        Color(index=1, rgb=(1, 2, 3))
    with pytest.raises(ValueError):
        Color(rgb=(0, 0, 256))
    assert Color(index=196).rgb_value == (255, 0, 0)
    assert Color(rgb=(1, 2, 3)).rgb_value == (1, 2, 3)


# --- SGR -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sgr", "attr"),
    [
        ("1", "bold"),
        ("2", "dim"),
        ("3", "italic"),
        ("4", "underline"),
        ("7", "inverse"),
        ("4:3", "underline"),
    ],
)
def test_attribute_on(sgr: str, attr: str) -> None:
    plain, styled = one_row(f"a\x1b[{sgr}mb")
    assert getattr(plain, attr) is False
    assert getattr(styled, attr) is True


@pytest.mark.parametrize(
    ("on", "off", "attr"),
    [
        ("1", "22", "bold"),
        ("2", "22", "dim"),
        ("3", "23", "italic"),
        ("4", "24", "underline"),
        ("4", "4:0", "underline"),
        ("7", "27", "inverse"),
        ("1", "0", "bold"),
        ("7", "", "inverse"),  # ESC [ m is SGR 0
    ],
)
def test_attribute_off(on: str, off: str, attr: str) -> None:
    on_cell, off_cell = one_row(f"\x1b[{on}ma\x1b[{off}mb")
    assert getattr(on_cell, attr) is True
    assert getattr(off_cell, attr) is False


def test_22_clears_both_bold_and_dim() -> None:
    (cell,) = one_row("\x1b[1;2m\x1b[22mx")
    assert not cell.bold and not cell.dim


@pytest.mark.parametrize(
    ("sgr", "fg", "bg"),
    [
        ("31", Color(index=1), None),
        ("37", Color(index=7), None),
        ("90", Color(index=8), None),
        ("97", Color(index=15), None),
        ("40", None, Color(index=0)),
        ("46", None, Color(index=6)),
        ("100", None, Color(index=8)),
        ("107", None, Color(index=15)),
        ("38;5;196", Color(index=196), None),
        ("48;5;17", None, Color(index=17)),
        ("38;2;255;128;0", Color(rgb=(255, 128, 0)), None),
        ("48;2;1;2;3", None, Color(rgb=(1, 2, 3))),
        ("38:5:42", Color(index=42), None),
        ("38:2::10:20:30", Color(rgb=(10, 20, 30)), None),  # T.416: empty colour-space id
        ("38:2:0:10:20:30", Color(rgb=(10, 20, 30)), None),  # T.416: colour-space id 0
        ("48:2:10:20:30", None, Color(rgb=(10, 20, 30))),  # common short colon form
        ("1;31;44", Color(index=1), Color(index=4)),
        ("38;5;9;48;2;7;8;9", Color(index=9), Color(rgb=(7, 8, 9))),
        ("31;39", None, None),
        ("41;49", None, None),
        ("31;41;0", None, None),
        ("38;5;300", None, None),  # out of range: ignored
        ("38;2;1;2;999", None, None),
        ("38;5", None, None),  # cut short
        ("58;2;1;2;3;31", Color(index=1), None),  # underline colour is skipped, not misread as fg
    ],
)
def test_colors(sgr: str, fg: Color | None, bg: Color | None) -> None:
    (cell,) = one_row(f"\x1b[{sgr}mx")
    assert (cell.fg, cell.bg) == (fg, bg)


def test_extended_color_arguments_are_not_reread_as_codes() -> None:
    # 38;5;1 must not also set bold (1); 48;2;4;7;1 must not set underline/inverse/bold.
    (cell,) = one_row("\x1b[38;5;1;48;2;4;7;1mx")
    assert cell.fg == Color(index=1) and cell.bg == Color(rgb=(4, 7, 1))
    assert not (cell.bold or cell.underline or cell.inverse)


def test_style_carries_across_lines_like_a_terminal() -> None:
    rows = parse_ansi("\x1b[31ma\nb\x1b[39m\nc")
    assert [r[0].fg for r in rows] == [Color(index=1), Color(index=1), None]


# --- other sequences -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "seq",
    [
        "\x1b[2J",
        "\x1b[1;1H",
        "\x1b[?25l",
        "\x1b[>4;1m",  # xterm modifyOtherKeys: ends in m but is not SGR
        "\x1b[?1m",
        "\x1b[1$m",  # intermediate byte: not SGR
        "\x1b]8;;https://example.com\x1b\\",
        "\x1b]0;title\x07",
        "\x1bP1$r0m\x1b\\",
        "\x1b(B",
        "\x1b=",
        "\x1b_apc\x1b\\",
    ],
)
def test_non_sgr_sequences_are_ignored(seq: str) -> None:
    row = one_row(f"a{seq}b")
    assert text_of(row) == "ab"
    assert all(c.fg is None and not c.bold for c in row)


def test_osc_hyperlink_keeps_link_text() -> None:
    row = one_row("\x1b]8;;http://x/\x1b\\link\x1b]8;;\x1b\\ end")
    assert text_of(row) == "link end"


def test_unterminated_sequences_stop_at_end_of_line() -> None:
    rows = parse_ansi("a\x1b]0;never ends\nb\x1b[12\nc\x1b")
    assert [text_of(r) for r in rows] == ["a", "b", "c"]


def test_controls_dropped_tab_expanded() -> None:
    assert text_of(one_row("a\x07b\x00c\x85d")) == "abcd"
    assert text_of(one_row("ab\tc")) == "ab      c"  # next stop at column 8
    assert text_of(one_row("12345678\tx")) == "12345678        x"


def test_line_endings() -> None:
    assert [text_of(r) for r in parse_ansi("a\r\nb\n")] == ["a", "b"]
    assert [text_of(r) for r in parse_ansi("a\n\n")] == ["a", ""]
    assert parse_ansi("") == [[]]


# --- widths ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ch", "width"),
    [
        ("a", 1),
        ("é", 1),
        ("│", 1),
        (PROMPT, 1),
        ("中", 2),
        ("한", 2),
        ("Ａ", 2),  # FULLWIDTH LATIN CAPITAL LETTER A
        ("😀", 2),
        ("🚀", 2),
        ("✅", 2),
        ("\u0301", 0),  # combining acute
        ("\u200d", 0),  # ZWJ
        ("\ufe0f", 0),  # VS16
        ("\x1b", 0),
    ],
)
def test_char_width(ch: str, width: int) -> None:
    assert char_width(ch) == width


def test_emoji_newer_than_the_unicode_database_is_wide() -> None:
    shaking_face = "\U0001fae8"  # Unicode 15; unknown (Cn) to Python 3.11's Unicode 14 database
    assert unicodedata.category(shaking_face) in ("Cn", "So")
    assert char_width(shaking_face) == 2


def test_wide_char_is_followed_by_continuation() -> None:
    row = one_row("中a😀")
    assert [c.char for c in row] == ["中", "", "a", "😀", ""]
    assert [c.is_continuation for c in row] == [False, True, False, False, True]


def test_zero_width_attaches_to_previous_cell() -> None:
    row = one_row("e\u0301x中\u0301")
    assert [c.char for c in row] == ["e\u0301", "x", "中\u0301", ""]


def test_width_pads_and_cuts() -> None:
    (row,) = parse_ansi("\x1b[41mab", width=4)
    assert [c.char for c in row] == ["a", "b", " ", " "]
    assert row[1].bg == Color(index=1) and row[2].bg is None
    (row,) = parse_ansi("abcdef", width=3)
    assert text_of(row) == "abc"
    (row,) = parse_ansi("ab中", width=3)  # 中 would straddle the edge
    assert [c.char for c in row] == ["a", "b", " "]
    (row,) = parse_ansi("a中", width=3)
    assert [c.char for c in row] == ["a", "中", ""]
    assert parse_ansi("abc", width=0) == [[]]


# --- recorded captures -----------------------------------------------------------------------------


def read(name: str) -> str:
    return (SCREENS / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("ansi", "plain"),
    [
        ("demo.ansi.txt", "demo.txt"),
        ("codex_approval_prompt.ansi.txt", "codex_approval_prompt.txt"),
        ("codex_slash_status.ansi.txt", "codex_slash_status.txt"),
    ],
)
def test_capture_text_matches_plain_capture(ansi: str, plain: str) -> None:
    # capture-pane without -e trims trailing blanks even where they carry a background colour.
    rows = parse_ansi(read(ansi))
    assert [text_of(r).rstrip(" ") for r in rows] == [line.rstrip(" ") for line in lines_of(read(plain))]


def test_demo_capture_16_colour_backgrounds() -> None:
    rows = parse_ansi(read("demo.ansi.txt"))
    row = rows[1]
    assert text_of(row).startswith("16 bg: ")
    for k in range(16):  # demo_source.py writes " <k in hex>" on background k, from column 7
        pair = row[7 + 2 * k : 9 + 2 * k]
        assert [c.char for c in pair] == [" ", f"{k:x}"]
        assert all(c.bg == Color(index=k) for c in pair), k


def test_demo_capture_256_and_true_colour() -> None:
    rows = parse_ansi(read("demo.ansi.txt"))
    assert [c.bg for c in rows[2][7:10]] == [Color(index=16), Color(index=17), Color(index=18)]
    # Without -N tmux 3.3a also drops the last coloured blank of a line, so read the -N capture.
    true_row = parse_ansi(read("demo_N.ansi.txt"))[4]
    for x in (0, 1, 31, 63):
        assert true_row[7 + x].bg == Color(rgb=(4 * x, 255 - 4 * x, 128))


def test_demo_capture_attributes() -> None:
    rows = parse_ansi(read("demo.ansi.txt"))
    attrs = rows[5]
    text = text_of(attrs)

    def cells(word: str) -> list[Cell]:
        start = text.index(word)
        return attrs[start : start + len(word)]

    assert all(c.bold and not c.dim for c in cells("bold "[:-1]))
    assert all(c.dim for c in cells("dim"))
    assert all(c.italic for c in cells("italic"))
    assert all(c.underline for c in cells("under"))
    assert all(c.inverse and c.fg is None for c in cells("inverse"))
    red_on_blue = cells("bold red on blue")
    assert all(c.bold and c.fg == Color(index=1) and c.bg == Color(index=4) for c in red_on_blue)
    assert all(c.inverse and c.fg == Color(index=2) for c in cells("green inv"))
    assert not any(c.bold or c.fg or c.bg for c in cells("attrs: "))

    colours = rows[6]
    text = text_of(colours)
    assert colours[text.index("TRUE")].fg == Color(rgb=(255, 128, 0))
    assert colours[text.index("IDX196")].fg == Color(index=196)
    assert colours[text.index("RED BG") - 2].bg == Color(index=1)


def test_demo_capture_cjk_and_emoji_columns() -> None:
    rows = parse_ansi(read("demo.ansi.txt"))
    cjk = next(r for r in rows if text_of(r).startswith("CJK: "))
    assert [c.char for c in cjk[5:9]] == ["中", "", "文", ""]
    # Column positions agree with tmux's own layout: the plain capture's "|" sits in the same column
    # when counted with East Asian widths.
    plain_line = next(line for line in lines_of(read("demo.txt")) if line.startswith("CJK: "))
    bar = plain_line.index("|")
    expected_col = sum(char_width(ch) for ch in plain_line[:bar])
    assert cjk[expected_col].char == "|"


def test_codex_selected_option_is_bold_inverse() -> None:
    rows = parse_ansi(read("codex_approval_prompt.ansi.txt"))
    row = next(r for r in rows if text_of(r).startswith(PROMPT + " 1. Yes"))
    assert all(c.bold and c.inverse for c in row[: len(PROMPT + " 1. Yes, proceed (y)")])


# --- properties ------------------------------------------------------------------------------------

ESCAPES = st.sampled_from(
    [
        "\x1b[0m",
        "\x1b[m",
        "\x1b[1;31m",
        "\x1b[38;5;200m",
        "\x1b[48;2;1;2;3m",
        "\x1b[38:2::4:5:6m",
        "\x1b[7m",
        "\x1b[K",
        "\x1b[2J",
        "\x1b[?25h",
        "\x1b]8;;http://x/\x1b\\",
        "\x1b]2;t\x07",
        "\x1b(B",
    ]
)
PLAIN = st.text(st.characters(exclude_categories=("Cc", "Cs")))
NASTY = st.text(
    st.one_of(
        st.sampled_from(list("\x1b[];:?m0123456789\x07\\\n\r\t ")),
        st.characters(exclude_categories=["Cs"]),
    )
)


@settings(max_examples=300)
@given(NASTY, st.one_of(st.none(), st.integers(0, 30)))
def test_never_raises_and_rows_are_well_formed(text: str, width: int | None) -> None:
    rows = parse_ansi(text, width)
    for row in rows:
        if width is not None:
            assert len(row) == width
        for i, cell in enumerate(row):
            assert "\x1b" not in cell.char
            if cell.is_continuation:
                assert i > 0 and not row[i - 1].is_continuation


@given(st.lists(PLAIN.filter(lambda s: "\n" not in s), min_size=1, max_size=5))
def test_plain_text_round_trips(lines: list[str]) -> None:
    text = "\n".join(lines)
    rows = parse_ansi(text)
    assert [text_of(r) for r in rows] == lines_of(text)
    assert all(c.fg is None and c.bg is None and not c.bold for r in rows for c in r)


@given(st.lists(st.one_of(PLAIN.filter(lambda s: "\n" not in s), ESCAPES), max_size=12))
def test_escapes_vanish_from_text(parts: list[str]) -> None:
    text = "".join(parts)
    plain = "".join(p for p in parts if not p.startswith("\x1b"))
    assert "".join(text_of(r) for r in parse_ansi(text)) == plain


@given(PLAIN.filter(lambda s: "\n" not in s))
def test_columns_are_the_sum_of_widths(line: str) -> None:
    (row,) = parse_ansi(line)
    widths = [char_width(ch) for ch in line]
    # A zero-width character with nothing before it keeps a column of its own.
    leading = next((i for i, w in enumerate(widths) if w), len(widths))
    assert len(row) == sum(widths) + leading
