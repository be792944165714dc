"""Tests for the PNG screen renderer and the bundled fonts' coverage tables.

Every rendering test decodes the PNG with Pillow and looks at pixels inside the box of a known cell;
cell geometry comes from ``metrics()`` so the tests hold at any font size.
"""

from __future__ import annotations

import io
import struct
import threading
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from ccbot import assets
from ccbot.render.ansi import Cell, palette_256, parse_ansi
from ccbot.render.screenshot import (
    DEFAULT_BG,
    DEFAULT_FG,
    MAX_FONT_SIZE,
    Metrics,
    font_for,
    glyph_mask,
    metrics,
    render_image,
    render_png,
)
from tests.conftest import DATA

PROMPT = "\u203a"  # Codex's composer / selection marker
SCREENS = DATA / "screens"
RED = palette_256(1)
GREEN = palette_256(2)
BLUE = palette_256(4)
RGB = tuple[int, int, int]


def decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return image.convert("RGB")


def render(text: str, *, cols: int | None = None, font_size: int = 16) -> Image.Image:
    return decode(render_png(text, cols=cols, font_size=font_size))


def pixels(image: Image.Image) -> list[RGB]:
    # Pillow 13 renamed getdata (deprecated there); older Pillow only has getdata.
    flat = getattr(image, "get_flattened_data", None) or image.getdata
    return list(flat())


def box(m: Metrics, row: int, col: int, span: int = 1) -> tuple[int, int, int, int]:
    x = m.pad + col * m.cell_w
    y = m.pad + row * m.cell_h
    return (x, y, x + span * m.cell_w, y + m.cell_h)


def colours(image: Image.Image, m: Metrics, row: int, col: int, span: int = 1) -> Counter[RGB]:
    region = image.crop(box(m, row, col, span))
    return Counter(pixels(region))


def ink(image: Image.Image, m: Metrics, row: int, col: int, bg: RGB = DEFAULT_BG) -> int:
    """How many pixels of the cell differ from ``bg``."""
    counts = colours(image, m, row, col)
    return sum(n for c, n in counts.items() if c != bg)


M16 = metrics(16)


# --- geometry --------------------------------------------------------------------------------------


def test_image_size_follows_the_grid() -> None:
    image = render("x", cols=120)
    assert image.size == (2 * M16.pad + 120 * M16.cell_w, 2 * M16.pad + M16.cell_h)


def test_120x40_pane_is_a_sensible_size() -> None:
    text = (SCREENS / "codex_slash_status.ansi.txt").read_text(encoding="utf-8")
    rows = parse_ansi(text, width=120)
    rows += [[Cell(" ")] * 120 for _ in range(40 - len(rows))]
    image = decode(render_png(rows, cols=120))
    assert image.size == (2 * M16.pad + 120 * M16.cell_w, 2 * M16.pad + 40 * M16.cell_h)
    assert 1000 <= image.width <= 1500 and 600 <= image.height <= 1000


def test_bigger_font_gives_bigger_cells() -> None:
    assert metrics(24).cell_w > M16.cell_w and metrics(24).cell_h > M16.cell_h
    assert render("ab", font_size=24).size > render("ab", font_size=16).size


def test_empty_input_renders_one_blank_cell() -> None:
    image = render("")
    assert image.size == (2 * M16.pad + M16.cell_w, 2 * M16.pad + M16.cell_h)
    assert set(pixels(image)) == {DEFAULT_BG}


@pytest.mark.parametrize("kwargs", [{"font_size": 2}, {"font_size": MAX_FONT_SIZE + 1}, {"cols": -1}])
def test_bad_arguments_raise(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        render_png("x", **kwargs)


def test_oversized_grid_raises() -> None:
    with pytest.raises(ValueError):
        render_png("x", cols=5000, font_size=16)


# --- colours and attributes ----------------------------------------------------------------------


def test_background_colour_fills_its_cells_only() -> None:
    image = render("a\x1b[41m  \x1b[0m", cols=5)
    assert colours(image, M16, 0, 1) == Counter({RED: M16.cell_w * M16.cell_h})
    assert colours(image, M16, 0, 2) == Counter({RED: M16.cell_w * M16.cell_h})
    assert set(colours(image, M16, 0, 3)) == {DEFAULT_BG}
    assert set(colours(image, M16, 0, 4)) == {DEFAULT_BG}
    # The padding around the grid stays the default background.
    assert image.getpixel((0, 0)) == DEFAULT_BG


def test_foreground_ink_lands_in_the_right_columns() -> None:
    image = render("\x1b[32mab  cd", cols=8)
    for col in (0, 1, 4, 5):
        assert colours(image, M16, 0, col)[GREEN] > 0, col  # fully covered glyph pixels are exactly fg
    for col in (2, 3, 6, 7):
        assert set(colours(image, M16, 0, col)) == {DEFAULT_BG}, col


def test_default_colours() -> None:
    image = render("█")  # full block: the whole cell is foreground
    assert colours(image, M16, 0, 0) == Counter({DEFAULT_FG: M16.cell_w * M16.cell_h})


def test_inverse_swaps_default_colours() -> None:
    image = render("\x1b[7m \x1b[0m ")
    assert set(colours(image, M16, 0, 0)) == {DEFAULT_FG}
    assert set(colours(image, M16, 0, 1)) == {DEFAULT_BG}


def test_inverse_swaps_given_colours() -> None:
    image = render("\x1b[7;31;42mH")
    counts = colours(image, M16, 0, 0)
    assert counts.most_common(1)[0][0] == RED  # red foreground became the background
    assert counts[GREEN] > 0  # and the green background became the glyph colour


def test_dim_blends_foreground_toward_background() -> None:
    blend = tuple((f + b) // 2 for f, b in zip(RED, DEFAULT_BG, strict=True))
    image = render("\x1b[2;31m█")
    assert set(colours(image, M16, 0, 0)) == {blend}


def test_bold_draws_heavier_strokes() -> None:
    normal = render("M")
    bold = render("\x1b[1mM")
    assert ink(bold, M16, 0, 0) > ink(normal, M16, 0, 0)


def test_underline_draws_a_line_under_a_blank() -> None:
    image = render("\x1b[4;34m \x1b[0m ")
    counts = colours(image, M16, 0, 0)
    assert counts[BLUE] >= M16.cell_w  # at least one full pixel row
    assert set(colours(image, M16, 0, 1)) == {DEFAULT_BG}
    region = image.crop(box(M16, 0, 0))
    rows_with_blue = {
        y for y in range(region.height) for x in range(region.width) if region.getpixel((x, y)) == BLUE
    }
    assert min(rows_with_blue) > M16.cell_h // 2  # it sits low in the cell


def test_true_colour_and_256_colour_foregrounds() -> None:
    image = render("\x1b[38;2;255;128;0m█\x1b[38;5;33m█")
    assert set(colours(image, M16, 0, 0)) == {(255, 128, 0)}
    assert set(colours(image, M16, 0, 1)) == {palette_256(33)}


# --- text is really drawn ------------------------------------------------------------------------


def test_different_text_gives_different_pixels_in_the_changed_cell_only() -> None:
    abc = render("abc")
    abd = render("abd")
    assert render_png("abc") == render_png("abc")  # deterministic
    assert render_png("abc") != render_png("abd")
    for col in (0, 1):
        assert abc.crop(box(M16, 0, col)).tobytes() == abd.crop(box(M16, 0, col)).tobytes()
    assert abc.crop(box(M16, 0, 2)).tobytes() != abd.crop(box(M16, 0, 2)).tobytes()


@pytest.mark.parametrize("pair", [("i", "W"), ("O", "0"), ("l", "1"), ("-", "_")])
def test_distinct_glyphs_have_distinct_ink(pair: tuple[str, str]) -> None:
    a, b = (render(ch) for ch in pair)
    assert ink(a, M16, 0, 0) > 0 and ink(b, M16, 0, 0) > 0
    assert a.tobytes() != b.tobytes()


def test_cjk_char_spans_two_cells() -> None:
    assert font_for("中") == assets.FALLBACK_BMP  # DejaVu has no CJK
    image = render("中x", cols=4)
    left = image.crop(box(M16, 0, 0))
    right = image.crop(box(M16, 0, 1))
    assert set(pixels(left)) != {DEFAULT_BG} and set(pixels(right)) != {DEFAULT_BG}
    assert ink(image, M16, 0, 2) > 0  # "x" is in the third column, not the second
    assert set(colours(image, M16, 0, 3)) == {DEFAULT_BG}


def test_emoji_uses_the_plane_1_fallback_and_two_cells() -> None:
    assert font_for("😀") == assets.FALLBACK_UPPER
    image = render("😀")
    assert image.width == 2 * M16.pad + 2 * M16.cell_w
    assert ink(image, M16, 0, 0) > 0 and ink(image, M16, 0, 1) > 0


def test_unknown_glyph_draws_a_box_instead_of_crashing() -> None:
    unknown = "\U000f0000"  # private use plane 15: in no bundled font
    assert font_for(unknown) is None
    image = render(f"a{unknown}b")
    assert ink(image, M16, 0, 1) > 0


def test_combining_mark_is_drawn_over_its_base_letter() -> None:
    plain = render("e", cols=2)
    accented = render("e\u0301", cols=2)
    x0, y0, x1, y1 = box(M16, 0, 0)
    lower = (x0, y0 + M16.cell_h // 2, x1, y1)  # the letter's body: the same as without the accent
    assert accented.crop(lower).tobytes() == plain.crop(lower).tobytes()
    assert accented.crop((x0, y0, x1, y1)).tobytes() != plain.crop((x0, y0, x1, y1)).tobytes()
    assert set(colours(accented, M16, 0, 1)) == {DEFAULT_BG}


def test_combining_mark_missing_from_font_is_dropped() -> None:
    # U+1AB0 (combining doubled circumflex) is not in DejaVu; the base letter must still be drawn
    # exactly like a lone "e" would be, without a .notdef box on top.
    assert font_for("\u1ab0") != assets.MONO_REGULAR
    assert render("e\u1ab0").tobytes() == render("e").tobytes()


# --- box drawing -----------------------------------------------------------------------------------


def test_horizontal_lines_connect_across_cells() -> None:
    image = render("───")
    y = M16.pad + M16.cell_h // 2
    line = [image.getpixel((x, y)) for x in range(M16.pad, M16.pad + 3 * M16.cell_w)]
    assert set(line) == {DEFAULT_FG}


def test_vertical_lines_connect_across_rows() -> None:
    image = render("│\n│\n│")
    x = M16.pad + M16.cell_w // 2
    column = [image.getpixel((x, y)) for y in range(M16.pad, M16.pad + 3 * M16.cell_h)]
    assert set(column) == {DEFAULT_FG}


def test_corner_meets_its_neighbours() -> None:
    # ┌─ / │ : the corner's arms reach the right and bottom edges of its cell, and nothing else.
    image = render("┌─\n│ ")
    x0, y0, x1, y1 = box(M16, 0, 0)
    cx, cy = x0 + M16.cell_w // 2, y0 + M16.cell_h // 2
    assert image.getpixel((x1 - 1, cy)) == DEFAULT_FG
    assert image.getpixel((cx, y1 - 1)) == DEFAULT_FG
    assert image.getpixel((x0, cy)) == DEFAULT_BG
    assert image.getpixel((cx, y0)) == DEFAULT_BG


def test_heavy_lines_are_thicker_than_light() -> None:
    assert ink(render("━"), M16, 0, 0) > ink(render("─"), M16, 0, 0)


def test_every_box_and_block_character_draws_something() -> None:
    chars = "".join(chr(cp) for cp in range(0x2500, 0x25A0))
    image = render(chars)
    empty = [ch for i, ch in enumerate(chars) if ink(image, M16, 0, i) == 0]
    assert empty == []


def test_rounded_corners_are_shapes_not_font_glyphs() -> None:
    # Drawn shapes reach the cell edges at any size; a font glyph would depend on its own metrics.
    for size in (12, 16, 23):
        m = metrics(size)
        image = render("╭╮\n╰╯", font_size=size)
        x0, y0, x1, y1 = box(m, 0, 0)
        assert image.getpixel((x1 - 1, y0 + m.cell_h // 2)) != DEFAULT_BG, size
        assert image.getpixel((x0 + m.cell_w // 2, y1 - 1)) != DEFAULT_BG, size


# --- recorded captures -----------------------------------------------------------------------------


def test_demo_capture_pixels() -> None:
    text = (SCREENS / "demo_N.ansi.txt").read_text(encoding="utf-8")
    rows = parse_ansi(text)
    image = render(text)
    # Row 1: " <k>" on 16-colour background k from column 7 (see demo_source.py).
    for k in (1, 4, 9, 15):
        assert colours(image, M16, 1, 7 + 2 * k).most_common(1)[0][0] == palette_256(k), k
    # Row 6: "TRUE ORANGE" in rgb(255,128,0), then "  RED BG  " on palette red.
    line = "".join(c.char for c in rows[6])
    assert colours(image, M16, 6, line.index("T"))[(255, 128, 0)] > 0
    red_at = line.index("  RED BG")
    assert set(colours(image, M16, 6, red_at)) == {RED}
    # The CJK row: 中 starts at column 5 and covers 5 and 6.
    assert "".join(c.char for c in rows[11][5:7]) == "中"
    assert ink(image, M16, 11, 5) > 0 and ink(image, M16, 11, 6) > 0


def test_codex_capture_selected_option_is_inverse() -> None:
    text = (SCREENS / "codex_approval_prompt.ansi.txt").read_text(encoding="utf-8")
    rows = parse_ansi(text)
    r = next(i for i, row in enumerate(rows) if "".join(c.char for c in row).startswith(PROMPT + " 1. Yes"))
    image = render(text, cols=120)
    # Bold + inverse on default colours: the cell behind the text is the default foreground.
    assert colours(image, M16, r, 1).most_common(1)[0][0] == DEFAULT_FG
    assert colours(image, M16, r, 2).most_common(1)[0][0] == DEFAULT_FG
    assert set(colours(image, M16, r, 100)) == {DEFAULT_BG}


@pytest.mark.parametrize(("name", "mode"), [("demo_N.ansi.txt", "RGB"), ("demo.txt", "P")])
def test_png_is_lossless(name: str, mode: str) -> None:
    text = (SCREENS / name).read_text(encoding="utf-8")
    png = render_png(text)
    assert Image.open(io.BytesIO(png)).mode == mode  # paletted only when that loses nothing
    assert decode(png).tobytes() == render_image(text).tobytes()


def test_render_accepts_cells_and_text_alike() -> None:
    text = "\x1b[1;33mhello\x1b[0m 中"
    assert render_png(text, cols=10) == render_png(parse_ansi(text), cols=10)


def test_concurrent_renders_agree() -> None:
    # Callers render in worker threads; filling the glyph cache from several threads at once must
    # give the same pixels as a sequential render.
    text = "\x1b[1mbold\x1b[0m 中文 😀 ╭─╮ ░ \x1b[3mital\x1b[0m"
    sizes = (13, 15, 17, 19)
    expected = {size: render_image(text, font_size=size).tobytes() for size in sizes}
    glyph_mask.cache_clear()
    results: dict[int, bytes] = {}

    def work(size: int) -> None:
        results[size] = render_image(text, font_size=size).tobytes()

    threads = [threading.Thread(target=work, args=(s,)) for s in sizes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results == expected


@settings(max_examples=40, deadline=None)
@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=40), st.integers(6, 20))
def test_render_never_raises(text: str, font_size: int) -> None:
    image = decode(render_png(text, font_size=font_size))
    assert image.width > 0 and image.height > 0


# --- font coverage tables ------------------------------------------------------------------------


def test_bundled_font_coverage() -> None:
    mono = assets.covered_codepoints(assets.font_path(assets.MONO_REGULAR))
    bmp = assets.covered_codepoints(assets.font_path(assets.FALLBACK_BMP))
    upper = assets.covered_codepoints(assets.font_path(assets.FALLBACK_UPPER))
    assert all(ord(ch) in mono for ch in "Az09│─•" + PROMPT)
    assert ord("中") not in mono and ord("中") in bmp and ord("한") in bmp
    assert 0x1F600 in upper and 0x1F600 not in bmp


def test_font_path_rejects_unknown_names() -> None:
    with pytest.raises(FileNotFoundError):
        assets.font_path("nope.ttf")
    with pytest.raises(FileNotFoundError):
        assets.font_path("../__init__.py")


def test_assets_stay_small() -> None:
    total = sum(p.stat().st_size for p in assets.ASSETS_DIR.iterdir() if p.is_file())
    assert total <= 10 * 1024 * 1024
    names = {p.name for p in assets.ASSETS_DIR.iterdir()}
    assert {"LICENSE-DejaVu.txt", "LICENSE-Unifont.txt"} <= names


def _sfnt(cmap: bytes) -> bytes:
    header = struct.pack(">IHHHH", 0x00010000, 1, 0, 0, 0)
    record = struct.pack(">4sIII", b"cmap", 0, 12 + 16, len(cmap))
    return header + record + cmap


def _format4() -> bytes:
    # Segments: 'A'..'C' by delta (glyphs 1..3); U+0100..U+0102 via glyphIdArray [5, 0, 7] (so
    # U+0101 maps to .notdef); the mandatory 0xFFFF end segment.
    ends, starts = [0x43, 0x102, 0xFFFF], [0x41, 0x100, 0xFFFF]
    deltas = [(1 - 0x41) % 65536, 0, 1]
    # idRangeOffset[1] points from its own position to glyphIdArray[0]: two entries further on.
    range_offsets = [0, 4, 0]
    glyphs = [5, 0, 7]
    segs = len(ends)
    body = struct.pack(f">{segs}H", *ends) + b"\0\0" + struct.pack(f">{segs}H", *starts)
    body += struct.pack(f">{segs}H", *deltas) + struct.pack(f">{segs}H", *range_offsets)
    body += struct.pack(f">{len(glyphs)}H", *glyphs)
    return struct.pack(">HHHHHHH", 4, 14 + len(body), 0, 2 * segs, 0, 0, 0) + body


def _format12() -> bytes:
    groups = [(0x20, 0x20, 0), (0x1F600, 0x1F602, 10)]  # the first maps U+0020 to .notdef
    body = b"".join(struct.pack(">III", *g) for g in groups)
    return struct.pack(">HHIII", 12, 0, 16 + len(body), 0, len(groups)) + body


def test_cmap_format_4(tmp_path: Path) -> None:
    sub = _format4()
    cmap = struct.pack(">HH", 0, 1) + struct.pack(">HHI", 3, 1, 12) + sub
    path = tmp_path / "f4.ttf"
    path.write_bytes(_sfnt(cmap))
    covered = assets.covered_codepoints(path)
    assert [cp for cp in range(0x30, 0x110) if cp in covered] == [0x41, 0x42, 0x43, 0x100, 0x102]
    assert 0xFFFF not in covered


def test_cmap_prefers_format_12(tmp_path: Path) -> None:
    f4, f12 = _format4(), _format12()
    records = struct.pack(">HHI", 3, 1, 20) + struct.pack(">HHI", 3, 10, 20 + len(f4))
    path = tmp_path / "f12.ttf"
    path.write_bytes(_sfnt(struct.pack(">HH", 0, 2) + records + f4 + f12))
    covered = assets.covered_codepoints(path)
    assert len(covered) == 3 and all(cp in covered for cp in (0x1F600, 0x1F601, 0x1F602))
    assert 0x20 not in covered and 0x41 not in covered


def test_cmap_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.ttf"
    path.write_bytes(b"\0\1\0\0\0\0")
    with pytest.raises(assets.FontFormatError):
        assets.covered_codepoints(path)
    path.write_bytes(_sfnt(struct.pack(">HH", 0, 1) + struct.pack(">HHI", 1, 0, 12) + _format4()))
    with pytest.raises(assets.FontFormatError):  # only a Macintosh-platform table
        assets.covered_codepoints(path)
