"""Render a terminal screen (tmux ``capture-pane -e -p`` text or parsed cells) to PNG bytes.

:func:`render_png` is a pure function of its arguments: same input, same bytes. It is CPU-bound
(tens of milliseconds for a 120x40 pane); async callers run it with ``trio.to_thread.run_sync``.

How it draws:

* One fixed cell grid: the cell is as wide as DejaVu Sans Mono's advance and as tall as its ascent
  plus descent at ``font_size``; a padding of one cell width surrounds the grid.
* Default colours are a dark theme (:data:`DEFAULT_BG`, :data:`DEFAULT_FG`); palette and direct
  colours come from :mod:`ccbot.render.ansi`. Inverse swaps the resolved colours, dim blends the
  foreground halfway to the background, bold and italic pick the matching DejaVu face.
* Box drawing (U+2500-U+257F) and block elements (U+2580-U+259F) are drawn as shapes on the cell
  grid, so lines meet across cells at any size instead of depending on font metrics.
* Every other character is drawn with the first bundled font whose ``cmap`` covers it: the DejaVu
  face for the style, DejaVu regular, then GNU Unifont (plane 0, then plane 1). Characters none of
  them cover get an empty box. Wide characters are centred over their two cells.
* Fonts and rasterised glyphs are cached per process; the caches are guarded by a lock because
  callers run renders in worker threads.
"""

from __future__ import annotations

import functools
import io
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageFont

from ccbot import assets
from ccbot.render.ansi import Cell, Color, parse_ansi

DEFAULT_BG: tuple[int, int, int] = (24, 24, 27)
DEFAULT_FG: tuple[int, int, int] = (212, 212, 216)
MIN_FONT_SIZE = 6
MAX_FONT_SIZE = 72
MAX_SIDE_PX = 16384
PNG_COMPRESS_LEVEL = 6

RGB = tuple[int, int, int]

_LOCK = threading.RLock()
_LIGHT, _HEAVY, _DOUBLE = 1, 2, 3
_UP, _DOWN, _LEFT, _RIGHT = "up", "down", "left", "right"
_OPPOSITE = {_UP: _DOWN, _DOWN: _UP, _LEFT: _RIGHT, _RIGHT: _LEFT}
# Quadrant blocks as bit sets: 1 upper left, 2 upper right, 4 lower left, 8 lower right.
_QUADRANTS = {
    0x2596: 4,
    0x2597: 8,
    0x2598: 1,
    0x2599: 1 | 4 | 8,
    0x259A: 1 | 8,
    0x259B: 1 | 2 | 4,
    0x259C: 1 | 2 | 8,
    0x259D: 2,
    0x259E: 2 | 4,
    0x259F: 2 | 4 | 8,
}
_SHADES = {0x2591: 64, 0x2592: 128, 0x2593: 192}
_SUPERSAMPLE = 4


def render_png(
    cells_or_text: str | Sequence[Sequence[Cell]], *, cols: int | None = None, font_size: int = 16
) -> bytes:
    """Lossless PNG bytes of the screen.

    ``cells_or_text`` is capture-pane ``-e`` output (parsed with :func:`parse_ansi`) or rows of
    cells as it returns them. ``cols`` fixes the grid width (longer rows are cut); by default it is
    the widest row, so pass the pane width to keep trimmed trailing blanks. The grid is as tall as
    the number of rows (at least one row and one column). The file is 8-bit paletted when the image
    has at most 256 colours (about a third of the size), RGB otherwise.

    Raises ValueError when ``font_size`` is outside MIN_FONT_SIZE-MAX_FONT_SIZE, ``cols`` is
    negative, or the image would be wider or taller than MAX_SIDE_PX.
    """
    image = render_image(cells_or_text, cols=cols, font_size=font_size)
    out = io.BytesIO()
    _exact_palette(image).save(out, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return out.getvalue()


def _exact_palette(image: Image.Image) -> Image.Image:
    """``image`` as a paletted image if that loses nothing, else ``image`` itself."""
    if image.getcolors(256) is None:
        return image
    # Median cut returns every colour unchanged when there are at most 256 (a fixed-palette
    # quantize would not: Pillow maps colours through a reduced-precision cache). Checked anyway,
    # because a lossy screenshot would be a silent bug.
    paletted = image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    if ImageChops.difference(image, paletted.convert("RGB")).getbbox() is not None:
        return image
    return paletted


def render_image(
    cells_or_text: str | Sequence[Sequence[Cell]], *, cols: int | None = None, font_size: int = 16
) -> Image.Image:
    """The RGB image :func:`render_png` encodes; same arguments and errors."""
    if not MIN_FONT_SIZE <= font_size <= MAX_FONT_SIZE:
        raise ValueError(f"font_size must be {MIN_FONT_SIZE}..{MAX_FONT_SIZE}, got {font_size}")
    if cols is not None and cols < 0:
        raise ValueError(f"cols must be >= 0, got {cols}")
    rows = parse_ansi(cells_or_text) if isinstance(cells_or_text, str) else cells_or_text
    width = cols if cols is not None else max((len(row) for row in rows), default=0)
    width = max(width, 1)
    height = max(len(rows), 1)
    m = metrics(font_size)
    size = (2 * m.pad + width * m.cell_w, 2 * m.pad + height * m.cell_h)
    if max(size) > MAX_SIDE_PX:
        raise ValueError(f"a {width}x{height} grid at font_size {font_size} is {size[0]}x{size[1]} px")
    image = Image.new("RGB", size, DEFAULT_BG)
    draw = ImageDraw.Draw(image)
    for r, row in enumerate(rows):
        _draw_row(image, draw, row[:width], m.pad + r * m.cell_h, m, font_size)
    return image


@dataclass(frozen=True, slots=True)
class Metrics:
    """Cell geometry in pixels for one font size."""

    cell_w: int
    cell_h: int
    baseline: int  # from the cell's top
    pad: int


@functools.cache
def metrics(font_size: int) -> Metrics:
    """The cell grid for ``font_size`` (derived from DejaVu Sans Mono regular)."""
    font = _font(assets.MONO_REGULAR, font_size)
    with _LOCK:
        ascent, descent = font.getmetrics()
        cell_w = max(1, round(font.getlength("M")))
    return Metrics(cell_w=cell_w, cell_h=ascent + descent, baseline=ascent, pad=cell_w)


def cell_colors(cell: Cell) -> tuple[RGB, RGB]:
    """(foreground, background) RGB a cell is drawn with, after defaults, inverse and dim."""
    fg = _rgb(cell.fg, DEFAULT_FG)
    bg = _rgb(cell.bg, DEFAULT_BG)
    if cell.inverse:
        fg, bg = bg, fg
    if cell.dim:
        fg = (fg[0] + bg[0]) // 2, (fg[1] + bg[1]) // 2, (fg[2] + bg[2]) // 2
    return fg, bg


def font_for(char: str, *, bold: bool = False, italic: bool = False) -> str | None:
    """File name of the bundled font used for ``char`` (one code point), or None if none covers it."""
    cp = ord(char)
    for name in _font_chain(bold, italic):
        if cp in _coverage(name):
            return name
    return None


def _rgb(color: Color | None, default: RGB) -> RGB:
    return default if color is None else color.rgb_value


def _draw_row(
    image: Image.Image, draw: ImageDraw.ImageDraw, row: Sequence[Cell], y: int, m: Metrics, font_size: int
) -> None:
    x0 = m.pad
    run_start, run_bg = 0, DEFAULT_BG
    colors = [cell_colors(cell) for cell in row]
    # Backgrounds first, one rectangle per run of equal colour; glyph masks then go on top.
    for c in range(len(row) + 1):
        bg = colors[c][1] if c < len(row) else DEFAULT_BG
        if bg != run_bg or c == len(row):
            if run_bg != DEFAULT_BG and c > run_start:
                draw.rectangle(
                    (x0 + run_start * m.cell_w, y, x0 + c * m.cell_w - 1, y + m.cell_h - 1), run_bg
                )
            run_start, run_bg = c, bg
    for c, cell in enumerate(row):
        if cell.is_continuation:
            continue
        fg, _ = colors[c]
        span = 2 if c + 1 < len(row) and row[c + 1].is_continuation else 1
        x = x0 + c * m.cell_w
        if cell.char != " ":
            mask = glyph_mask(cell.char, cell.bold, cell.italic, span, font_size)
            if mask is not None:
                image.paste(fg, (x, y, x + mask.width, y + mask.height), mask)
        if cell.underline:
            uy = y + min(m.cell_h - 1, m.baseline + max(1, (m.cell_h - m.baseline) // 2))
            thickness = max(1, font_size // 16)
            draw.rectangle((x, uy, x + span * m.cell_w - 1, uy + thickness - 1), fg)


@functools.lru_cache(maxsize=8192)
def glyph_mask(text: str, bold: bool, italic: bool, span: int, font_size: int) -> Image.Image | None:
    """8-bit coverage mask (``span`` cells wide, one cell tall) of one cell's text, or None if blank.

    The returned image is shared by the cache: treat it as read-only.
    """
    with _LOCK:
        m = metrics(font_size)
        size = (span * m.cell_w, m.cell_h)
        shape = _shape_mask(text, size, font_size) if len(text) == 1 else None
        if shape is not None:
            return shape
        return _text_mask(text, bold, italic, size, font_size)


def _text_mask(
    text: str, bold: bool, italic: bool, size: tuple[int, int], font_size: int
) -> Image.Image | None:
    if not text.strip():
        return None
    m = metrics(font_size)
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    name = font_for(text[0], bold=bold, italic=italic)
    if name is None:
        _tofu(draw, size, m)
        return mask
    font = _font(name, font_size)
    coverage = _coverage(name)
    # Combining marks the chosen font lacks would draw as .notdef boxes; leave them out.
    marks = [ch for ch in text[1:] if ord(ch) in coverage]
    x = (size[0] - font.getlength(text[0])) / 2
    # Unifont has no bold face: emulate it by overstriking one pixel to the right.
    offsets = (0, 1) if bold and name not in (assets.MONO_BOLD, assets.MONO_BOLD_ITALIC) else (0,)
    for dx in offsets:
        # Monospace fonts give combining marks a full advance, drawn over the cell they share
        # with their base, so each mark is overlaid at the base's origin rather than laid out after it.
        for ch in (text[0], *marks):
            draw.text((x + dx, m.baseline), ch, font=font, fill=255, anchor="ls")
    return mask


def _tofu(draw: ImageDraw.ImageDraw, size: tuple[int, int], m: Metrics) -> None:
    top = max(0, m.baseline - round(m.cell_h * 0.6))
    draw.rectangle((1, top, size[0] - 2, m.baseline - 1), outline=255)


_FONT_CHAINS = {
    (False, False): (assets.MONO_REGULAR, assets.FALLBACK_BMP, assets.FALLBACK_UPPER),
    (True, False): (assets.MONO_BOLD, assets.MONO_REGULAR, assets.FALLBACK_BMP, assets.FALLBACK_UPPER),
    (False, True): (assets.MONO_ITALIC, assets.MONO_REGULAR, assets.FALLBACK_BMP, assets.FALLBACK_UPPER),
    (True, True): (
        assets.MONO_BOLD_ITALIC,
        assets.MONO_BOLD,
        assets.MONO_REGULAR,
        assets.FALLBACK_BMP,
        assets.FALLBACK_UPPER,
    ),
}


def _font_chain(bold: bool, italic: bool) -> tuple[str, ...]:
    return _FONT_CHAINS[(bold, italic)]


@functools.cache
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    with _LOCK:
        return ImageFont.truetype(str(assets.font_path(name)), size, layout_engine=ImageFont.Layout.BASIC)


@functools.cache
def _coverage(name: str) -> assets.Coverage:
    with _LOCK:
        return assets.covered_codepoints(assets.font_path(name))


# --- box drawing and block elements -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _BoxSpec:
    arms: dict[str, int]
    arc: bool = False
    dashes: int = 0
    diagonal: str = ""  # "/", "\\" or "x"


@functools.cache
def _box_spec(char: str) -> _BoxSpec | None:
    """Read which arms a box-drawing character has, and how heavy, from its Unicode name."""
    name = unicodedata.name(char, "")
    prefix = "BOX DRAWINGS "
    if not name.startswith(prefix):
        return None
    words = name[len(prefix) :].split()
    if "DIAGONAL" in words:
        if "CROSS" in words:
            return _BoxSpec({}, diagonal="x")
        return _BoxSpec({}, diagonal="/" if "UPPER RIGHT" in name else "\\")
    dashes = 0
    if "DASH" in words:
        at = words.index("DASH")
        dashes = {"DOUBLE": 2, "TRIPLE": 3, "QUADRUPLE": 4}.get(words[at - 1], 0)
        del words[at - 1 : at + 1]
    arc = "ARC" in words
    weights = {"LIGHT": _LIGHT, "SINGLE": _LIGHT, "HEAVY": _HEAVY, "DOUBLE": _DOUBLE}
    directions = {
        "UP": (_UP,),
        "DOWN": (_DOWN,),
        "LEFT": (_LEFT,),
        "RIGHT": (_RIGHT,),
        "VERTICAL": (_UP, _DOWN),
        "HORIZONTAL": (_LEFT, _RIGHT),
    }
    groups: list[tuple[list[str], int | None]] = []
    current: list[str] = []
    weight: int | None = None
    for word in [*words, "AND"]:
        if word == "AND":
            groups.append((current, weight))
            current, weight = [], None
        elif word in weights:
            weight = weights[word]
        elif word in directions:
            current.extend(directions[word])
    # "HEAVY VERTICAL AND LEFT": a group without its own weight takes the nearest earlier one.
    arms: dict[str, int] = {}
    last = next((w for _, w in groups if w is not None), _LIGHT)
    for dirs, w in groups:
        last = w if w is not None else last
        for d in dirs:
            arms[d] = last
    if not arms:
        return None
    return _BoxSpec(arms, arc=arc, dashes=dashes)


def _shape_mask(char: str, size: tuple[int, int], font_size: int) -> Image.Image | None:
    """Mask for a box-drawing or block-element character drawn as shapes; None for other chars."""
    cp = ord(char)
    if 0x2580 <= cp <= 0x259F:
        return _block_mask(cp, size)
    spec = _box_spec(char) if 0x2500 <= cp <= 0x257F else None
    if spec is None:
        return None
    light = max(1, round(font_size / 16))
    if spec.arc or spec.diagonal:
        return _smooth_mask(spec, size, light)
    mask = Image.new("L", size, 0)
    _draw_arms(ImageDraw.Draw(mask), spec, size, light)
    return mask


def _thickness(weight: int, light: int) -> int:
    return 2 * light + 1 if weight == _HEAVY else light


def _draw_arms(draw: ImageDraw.ImageDraw, spec: _BoxSpec, size: tuple[int, int], light: int) -> None:
    w, h = size
    cx, cy = w // 2, h // 2
    gap = max(2, round(w / 5))
    arms = spec.arms

    def band(center: int, t: int) -> tuple[int, int]:
        lo = center - t // 2
        return lo, lo + t - 1

    def span(direction: str, off: int, pull: int) -> tuple[int, int]:
        # Extent along the arm's axis: from `off` px beyond the centre (toward the arm's edge;
        # negative = past the centre) out to the edge, widened by `pull` to close corners.
        if direction == _UP:
            return 0, cy - off + pull
        if direction == _DOWN:
            return cy + off - pull, h - 1
        if direction == _LEFT:
            return 0, cx - off + pull
        return cx + off - pull, w - 1

    for direction, weight in arms.items():
        vertical = direction in (_UP, _DOWN)
        perp = (_LEFT, _RIGHT) if vertical else (_UP, _DOWN)
        center = cx if vertical else cy
        opposite = arms.get(_OPPOSITE[direction], 0)
        if weight == _DOUBLE:
            for side, sign in ((perp[0], -1), (perp[1], 1)):
                here, there = arms.get(side, 0), arms.get(_OPPOSITE[side], 0)
                if here == _DOUBLE:
                    off = gap
                elif here or there in (_LIGHT, _HEAVY):
                    off = 0
                else:
                    off = -gap
                a, b = span(direction, off, 0)
                lo, hi = band(center + sign * gap, light)
                _rect(draw, vertical, a, b, lo, hi)
            continue
        t = _thickness(weight, light)
        perp_weights = [arms.get(p, 0) for p in perp]
        if _DOUBLE in perp_weights:
            if all(p == _DOUBLE for p in perp_weights) and opposite not in (_LIGHT, _HEAVY):
                off = gap
            elif not opposite:
                off = -gap
            else:
                off = 0
            pull = 0
        else:
            off = 0
            pull = max((_thickness(p, light) for p in perp_weights if p), default=t) // 2
        a, b = span(direction, off, pull)
        lo, hi = band(center, t)
        if spec.dashes:
            _dashed(draw, vertical, a, b, lo, hi, spec.dashes)
        else:
            _rect(draw, vertical, a, b, lo, hi)


def _rect(draw: ImageDraw.ImageDraw, vertical: bool, a: int, b: int, lo: int, hi: int) -> None:
    if b < a:
        return
    draw.rectangle((lo, a, hi, b) if vertical else (a, lo, b, hi), fill=255)


def _dashed(draw: ImageDraw.ImageDraw, vertical: bool, a: int, b: int, lo: int, hi: int, n: int) -> None:
    length = (b - a + 1) / n
    for i in range(n):
        start = a + round(i * length)
        end = a + round((i + 1) * length - max(1.0, length / 3)) - 1
        _rect(draw, vertical, start, max(start, end), lo, hi)


def _smooth_mask(spec: _BoxSpec, size: tuple[int, int], light: int) -> Image.Image:
    """Arcs and diagonals, drawn four times larger and scaled down so curves are anti-aliased."""
    s = _SUPERSAMPLE
    w, h = size
    big = Image.new("L", (w * s, h * s), 0)
    draw = ImageDraw.Draw(big)
    lw = light * s
    if spec.diagonal:
        if spec.diagonal in "/x":
            draw.line((0, h * s, w * s, 0), fill=255, width=lw)
        if spec.diagonal in "\\x":
            draw.line((0, 0, w * s, h * s), fill=255, width=lw)
    else:
        # The arc's ends sit on the same centre lines the straight pieces use (pixel centres).
        cx, cy = (w // 2) * s + s // 2, (h // 2) * s + s // 2
        r = min(w * s - cx, h * s - cy, cx, cy)
        dx = 1 if _RIGHT in spec.arms else -1
        dy = 1 if _DOWN in spec.arms else -1
        ox, oy = cx + dx * r, cy + dy * r  # the circle's centre
        half = lw // 2
        box = (ox - r - half, oy - r - half, ox + r + half, oy + r + half)
        start = {(1, 1): 180, (-1, 1): 270, (-1, -1): 0, (1, -1): 90}[(dx, dy)]
        draw.arc(box, start, start + 90, fill=255, width=lw)
        x_edge = w * s if dx > 0 else 0
        y_edge = h * s if dy > 0 else 0
        draw.rectangle((min(ox, x_edge), cy - half, max(ox, x_edge), cy - half + lw - 1), fill=255)
        draw.rectangle((cx - half, min(oy, y_edge), cx - half + lw - 1, max(oy, y_edge)), fill=255)
    return big.resize(size, Image.Resampling.BOX)


def _block_mask(cp: int, size: tuple[int, int]) -> Image.Image:
    w, h = size
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)

    def fill(x0: float, y0: float, x1: float, y1: float, value: int = 255) -> None:
        a, b, c, d = round(x0 * w), round(y0 * h), round(x1 * w) - 1, round(y1 * h) - 1
        if c >= a and d >= b:
            draw.rectangle((a, b, c, d), fill=value)

    if cp == 0x2580:
        fill(0, 0, 1, 0.5)
    elif 0x2581 <= cp <= 0x2588:
        fill(0, 1 - (cp - 0x2580) / 8, 1, 1)
    elif 0x2589 <= cp <= 0x258F:
        fill(0, 0, (0x2590 - cp) / 8, 1)
    elif cp == 0x2590:
        fill(0.5, 0, 1, 1)
    elif cp in _SHADES:
        fill(0, 0, 1, 1, _SHADES[cp])
    elif cp == 0x2594:
        fill(0, 0, 1, 1 / 8)
    elif cp == 0x2595:
        fill(7 / 8, 0, 1, 1)
    else:
        quads = _QUADRANTS[cp]
        for bit, (qx, qy) in ((1, (0, 0)), (2, (0.5, 0)), (4, (0, 0.5)), (8, (0.5, 0.5))):
            if quads & bit:
                fill(qx, qy, qx + 0.5, qy + 0.5)
    return mask
