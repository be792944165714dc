"""ANSI SGR parser: ``tmux capture-pane -e -p`` output → rows of styled terminal cells.

Contract of :func:`parse_ansi`:

* In: any ``str``. Lines are separated by ``"\\n"``; one trailing ``"\\n"`` ends the last line and
  does not start another; a ``"\\r"`` right before ``"\\n"`` is dropped.
* SGR sequences (``ESC [ … m``) change the current style, which carries across lines as it does in a
  terminal. Every other escape sequence (CSI, OSC, DCS, APC, PM, SOS, two-byte ``ESC x``) is
  consumed and ignored; a sequence cut short by a newline, an ESC or the end of the text is
  dropped. Other C0/C1 control characters are dropped, except TAB, which expands to spaces up to
  the next multiple of 8 columns.
* Out: one list of :class:`Cell` per line. A character of width 2 (East Asian wide/fullwidth,
  emoji) is followed by a continuation cell whose ``char`` is ``""``; zero-width characters
  (combining marks, ZWJ, variation selectors) are appended to the previous cell's ``char``. So
  for text without escapes or control characters, ``"".join(c.char for c in row)`` gives the line
  back exactly.
* ``width``: when given, each row is cut or padded with default blank cells to exactly ``width``
  columns; a wide character that would straddle the edge becomes a single space.
* Never raises on any ``str`` input.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

ESC = "\x1b"
TAB_STOP = 8

_CUBE_LEVELS = (0, 95, 135, 175, 215, 255)
_XTERM_16 = (
    (0, 0, 0),
    (205, 0, 0),
    (0, 205, 0),
    (205, 205, 0),
    (0, 0, 238),
    (205, 0, 205),
    (0, 205, 205),
    (229, 229, 229),
    (127, 127, 127),
    (255, 0, 0),
    (0, 255, 0),
    (255, 255, 0),
    (92, 92, 255),
    (255, 0, 255),
    (0, 255, 255),
    (255, 255, 255),
)
# Emoji blocks: a code point here that this Python's Unicode database does not know yet (newer
# emoji) is still drawn two columns wide by current terminals.
_EMOJI_BLOCKS = ((0x1F300, 0x1F64F), (0x1F680, 0x1F6FF), (0x1F900, 0x1F9FF), (0x1FA70, 0x1FAFF))
# Longer parameters are junk; int() on huge digit strings is slow or raises.
_MAX_PARAM_DIGITS = 9


def palette_256(n: int) -> tuple[int, int, int]:
    """RGB of xterm 256-colour palette entry ``n`` (0-15 system, 16-231 cube, 232-255 greys).

    Raises ValueError when ``n`` is outside 0-255.
    """
    if not 0 <= n <= 255:
        raise ValueError(f"palette index out of range: {n}")
    if n < 16:
        return _XTERM_16[n]
    if n < 232:
        n -= 16
        return (_CUBE_LEVELS[n // 36], _CUBE_LEVELS[n // 6 % 6], _CUBE_LEVELS[n % 6])
    grey = 8 + 10 * (n - 232)
    return (grey, grey, grey)


@dataclass(frozen=True, slots=True)
class Color:
    """A terminal colour: a palette entry (``index`` 0-255) or a direct colour (``rgb``), never both.

    Keeping the palette index lets a renderer theme the 16 system colours; :attr:`rgb_value` gives
    the xterm RGB. Raises ValueError when both or neither are set or a value is out of range.
    """

    index: int | None = None
    rgb: tuple[int, int, int] | None = None

    def __post_init__(self) -> None:
        if (self.index is None) == (self.rgb is None):
            raise ValueError("Color needs exactly one of index or rgb")
        if self.index is not None and not 0 <= self.index <= 255:
            raise ValueError(f"palette index out of range: {self.index}")
        if self.rgb is not None and (len(self.rgb) != 3 or not all(0 <= v <= 255 for v in self.rgb)):
            raise ValueError(f"rgb out of range: {self.rgb}")

    @property
    def rgb_value(self) -> tuple[int, int, int]:
        """The colour as RGB (palette indexes looked up in the xterm 256-colour palette)."""
        if self.rgb is not None:
            return self.rgb
        assert self.index is not None
        return palette_256(self.index)


@dataclass(frozen=True, slots=True)
class Style:
    """The SGR state that applies to the next printed character; ``Style()`` is the terminal default."""

    fg: Color | None = None
    bg: Color | None = None
    bold: bool = False
    italic: bool = False
    underline: bool = False
    inverse: bool = False
    dim: bool = False


DEFAULT_STYLE = Style()


@dataclass(frozen=True, slots=True)
class Cell:
    """One terminal column. ``char`` is ``""`` for the right half of a wide character.

    ``fg``/``bg`` of None mean the terminal's default colours.
    """

    char: str
    fg: Color | None = None
    bg: Color | None = None
    bold: bool = False
    italic: bool = False
    underline: bool = False
    inverse: bool = False
    dim: bool = False

    @property
    def is_continuation(self) -> bool:
        """Whether the cell is the right half of a wide character (``char`` is empty)."""
        return self.char == ""

    @property
    def style(self) -> Style:
        """The cell's attributes as a ``Style``."""
        return Style(self.fg, self.bg, self.bold, self.italic, self.underline, self.inverse, self.dim)


def char_width(ch: str) -> int:
    """Columns a single code point occupies: 0 (combining/format/control), 1, or 2 (wide, emoji)."""
    cp = ord(ch)
    if cp < 0x20 or 0x7F <= cp < 0xA0:
        return 0
    if cp in (0x200B, 0x200C, 0x200D, 0x2060) or 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF:
        return 0
    if 0x1160 <= cp <= 0x11FF:  # Hangul medial vowels and final consonants join the preceding jamo
        return 0
    category = unicodedata.category(ch)
    if category in ("Mn", "Me") or (category == "Cf" and cp != 0x00AD):
        return 0
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 2
    if category == "Cn" and any(lo <= cp <= hi for lo, hi in _EMOJI_BLOCKS):
        return 2
    return 1


def parse_ansi(text: str, width: int | None = None) -> list[list[Cell]]:
    """Parse capture-pane ``-e`` output into rows of cells (see the module docstring for the contract)."""
    if text.endswith("\n"):
        text = text[:-1]
    builder = _RowBuilder()
    for line in text.split("\n"):
        if line.endswith("\r"):
            line = line[:-1]
        builder.feed_line(line)
    rows = builder.rows
    if width is not None:
        rows = [_fit(row, max(width, 0)) for row in rows]
    return rows


def _fit(row: list[Cell], width: int) -> list[Cell]:
    if len(row) > width:
        straddles = width > 0 and row[width].is_continuation
        row = row[:width]
        if straddles:
            row[-1] = replace(row[-1], char=" ")
    return row + [Cell(" ")] * (width - len(row))


@dataclass
class _RowBuilder:
    style: Style = DEFAULT_STYLE
    rows: list[list[Cell]] = field(default_factory=list)

    def feed_line(self, line: str) -> None:
        row: list[Cell] = []
        for kind, payload in _tokens(line):
            if kind == "sgr":
                self.style = _apply_sgr(self.style, payload)
            elif kind == "text":
                for ch in payload:
                    self._put(row, ch)
        self.rows.append(row)

    def _put(self, row: list[Cell], ch: str) -> None:
        if ch == "\t":
            for _ in range(TAB_STOP - len(row) % TAB_STOP):
                row.append(self._cell(" "))
            return
        w = char_width(ch)
        if w == 0:
            if _is_control(ch):
                return
            if row:
                head = len(row) - 1
                while head > 0 and row[head].is_continuation:
                    head -= 1
                row[head] = replace(row[head], char=row[head].char + ch)
                return
            w = 1  # nothing to attach to: keep it so the text still round-trips
        row.append(self._cell(ch))
        if w == 2:
            row.append(self._cell(""))

    def _cell(self, ch: str) -> Cell:
        s = self.style
        return Cell(ch, s.fg, s.bg, s.bold, s.italic, s.underline, s.inverse, s.dim)


def _is_control(ch: str) -> bool:
    cp = ord(ch)
    return cp < 0x20 or 0x7F <= cp < 0xA0


def _tokens(line: str) -> Iterator[tuple[str, str]]:
    """Split one line into ("text", chars) and ("sgr", params) tokens; other sequences vanish."""
    i, n = 0, len(line)
    while i < n:
        esc = line.find(ESC, i)
        if esc < 0:
            yield "text", line[i:]
            return
        if esc > i:
            yield "text", line[i:esc]
        i = esc + 1
        if i >= n:
            return
        intro = line[i]
        if intro == "[":
            i, params, final = _read_csi(line, i + 1)
            if final == "m" and params is not None:
                yield "sgr", params
        elif intro in "]P_^X":
            i = _skip_string(line, i + 1)
        elif "\x20" <= intro <= "\x2f":
            # ESC, intermediates, one final byte (e.g. charset designation "ESC ( B").
            while i < n and "\x20" <= line[i] <= "\x2f":
                i += 1
            if i < n and "\x30" <= line[i] <= "\x7e":
                i += 1
        elif "\x30" <= intro <= "\x7e":
            i += 1
        # Any other byte after ESC is kept as text: the lone ESC is simply dropped.


def _read_csi(line: str, i: int) -> tuple[int, str | None, str]:
    """Read a CSI body from ``i``; return (next index, params or None if unusable for SGR, final)."""
    n = len(line)
    start = i
    while i < n and "\x30" <= line[i] <= "\x3f":
        i += 1
    params_end = i
    while i < n and "\x20" <= line[i] <= "\x2f":
        i += 1
    if i < n and "\x40" <= line[i] <= "\x7e":
        params = line[start:params_end]
        usable = params_end == i and not (params and params[0] in "<=>?")
        return i + 1, params if usable else None, line[i]
    # Malformed or cut short: drop what was read, resume at the offending character.
    return i, None, ""


def _skip_string(line: str, i: int) -> int:
    """Skip an OSC/DCS/APC/PM/SOS body up to BEL or ESC \\ (or the end of the line)."""
    n = len(line)
    while i < n:
        ch = line[i]
        if ch == "\x07":
            return i + 1
        if ch == ESC:
            return i + 2 if i + 1 < n and line[i + 1] == "\\" else i + 1
        i += 1
    return n


def _num(s: str) -> int | None:
    if s == "":
        return 0
    if not s.isdigit() or not s.isascii() or len(s) > _MAX_PARAM_DIGITS:
        return None
    return int(s)


def _apply_sgr(style: Style, params: str) -> Style:
    groups = params.split(";")
    i = 0
    while i < len(groups):
        subs = groups[i].split(":")
        code = _num(subs[0])
        i += 1
        if code is None:
            continue
        if code in (38, 48, 58):
            if len(subs) > 1:
                color = _extended_color([_num(s) for s in subs[1:]], colon=True)
            else:
                color, used = _extended_color_semicolon(groups, i)
                i += used
            if code == 38 and color is not None:
                style = replace(style, fg=color)
            elif code == 48 and color is not None:
                style = replace(style, bg=color)
            continue
        if code == 4 and len(subs) > 1:
            style = replace(style, underline=_num(subs[1]) not in (0, None))
            continue
        style = _simple_sgr(style, code)
    return style


# SGR codes that set or clear attributes (0, the reset, and the colour ranges are handled apart).
_SGR_CHANGES: dict[int, dict[str, Any]] = {
    1: {"bold": True},
    2: {"dim": True},
    3: {"italic": True},
    4: {"underline": True},
    7: {"inverse": True},
    22: {"bold": False, "dim": False},
    23: {"italic": False},
    24: {"underline": False},
    27: {"inverse": False},
    39: {"fg": None},
    49: {"bg": None},
}


def _simple_sgr(style: Style, code: int) -> Style:
    if code == 0:
        return DEFAULT_STYLE
    changes = _SGR_CHANGES.get(code)
    if changes is not None:
        return replace(style, **changes)
    if 30 <= code <= 37:
        return replace(style, fg=Color(index=code - 30))
    if 90 <= code <= 97:
        return replace(style, fg=Color(index=code - 90 + 8))
    if 40 <= code <= 47:
        return replace(style, bg=Color(index=code - 40))
    if 100 <= code <= 107:
        return replace(style, bg=Color(index=code - 100 + 8))
    return style  # blink, conceal, strike-through, fonts, overline …: not rendered


def _extended_color(args: list[int | None], *, colon: bool) -> Color | None:
    """Colour from the arguments after 38/48: ``5 n`` or ``2 [colourspace] r g b``."""
    if not args:
        return None
    if args[0] == 5:
        n = args[1] if len(args) > 1 else None
        return Color(index=n) if n is not None and n <= 255 else None
    if args[0] == 2:
        # ITU T.416 colon form carries a colour-space id before r:g:b; the common short form omits it.
        rgb = args[2:5] if colon and len(args) >= 5 else args[1:4]
        if len(rgb) == 3 and all(v is not None and v <= 255 for v in rgb):
            r, g, b = (v for v in rgb if v is not None)
            return Color(rgb=(r, g, b))
    return None


def _extended_color_semicolon(groups: list[str], i: int) -> tuple[Color | None, int]:
    """Semicolon form ``38;5;n`` / ``38;2;r;g;b``: return the colour and how many groups it used."""
    kind = _num(groups[i]) if i < len(groups) else None
    if kind == 5:
        used = min(2, len(groups) - i)
    elif kind == 2:
        used = min(4, len(groups) - i)
    else:
        return None, 0 if kind is None else 1
    args = [_num(g) for g in groups[i : i + used]]
    return _extended_color(args, colon=False), used
