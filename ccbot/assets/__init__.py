"""Bundled font files for the pane screenshot renderer, and which characters each one covers.

Fonts (licenses beside them, total about 7 MB):

* ``DejaVuSansMono*.ttf`` (regular, bold, oblique, bold oblique): the main monospace face.
  Bitstream Vera license, see ``LICENSE-DejaVu.txt``.
* ``unifont.otf`` / ``unifont_upper.otf``: GNU Unifont 15.0.01, a bitmap-style face with a glyph for
  nearly every Unicode plane 0 / plane 1 character (CJK, Hangul, symbols, monochrome emoji). It is
  the fallback for characters DejaVu lacks. Chosen over a CJK subset or colour emoji font because
  one 5 MB file covers all CJK ideographs and its 16 px grid matches a terminal cell at the default
  size. SIL OFL 1.1, see ``LICENSE-Unifont.txt``.

:func:`font_path` locates a file; :func:`covered_codepoints` reads a font's ``cmap`` table so the
renderer can choose a font per character without drawing anything. Both are plain file reads; the
caller caches the results.
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent

MONO_REGULAR = "DejaVuSansMono.ttf"
MONO_BOLD = "DejaVuSansMono-Bold.ttf"
MONO_ITALIC = "DejaVuSansMono-Oblique.ttf"
MONO_BOLD_ITALIC = "DejaVuSansMono-BoldOblique.ttf"
FALLBACK_BMP = "unifont.otf"
FALLBACK_UPPER = "unifont_upper.otf"


class FontFormatError(ValueError):
    """A font file whose table directory or ``cmap`` cannot be read."""


def font_path(name: str) -> Path:
    """Absolute path of the bundled font ``name``; raises FileNotFoundError when it is not bundled."""
    path = ASSETS_DIR / name
    if path.parent != ASSETS_DIR or not path.is_file():
        raise FileNotFoundError(f"no bundled font {name!r} in {ASSETS_DIR}")
    return path


@dataclass(frozen=True, slots=True)
class Coverage:
    """A set of code points stored as sorted, non-overlapping inclusive ranges."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def __contains__(self, codepoint: object) -> bool:
        if not isinstance(codepoint, int):
            return False
        i = bisect_right(self.starts, codepoint) - 1
        return i >= 0 and codepoint <= self.ends[i]

    def __len__(self) -> int:
        return sum(e - s + 1 for s, e in zip(self.starts, self.ends, strict=True))


def covered_codepoints(path: Path) -> Coverage:
    """Code points that ``path``'s best Unicode ``cmap`` subtable maps to a real glyph (not .notdef).

    Reads formats 12 (full Unicode) and 4 (BMP), preferring 12. Raises FontFormatError when the
    file has no readable Unicode ``cmap`` and OSError when it cannot be read.
    """
    data = path.read_bytes()
    cmap = _table(data, b"cmap")
    try:
        (count,) = struct.unpack_from(">2xH", cmap, 0)
        best: tuple[int, int] | None = None  # (rank, offset)
        for i in range(count):
            platform, encoding, offset = struct.unpack_from(">HHI", cmap, 4 + 8 * i)
            (fmt,) = struct.unpack_from(">H", cmap, offset)
            unicode_table = platform == 0 or (platform == 3 and encoding in (1, 10))
            if not unicode_table or fmt not in (4, 12):
                continue
            rank = 2 if fmt == 12 else 1
            if best is None or rank > best[0]:
                best = (rank, offset)
        if best is None:
            raise FontFormatError(f"{path.name}: no Unicode cmap subtable of format 4 or 12")
        ranges = _format12(cmap, best[1]) if best[0] == 2 else _format4(cmap, best[1])
    except struct.error as exc:
        raise FontFormatError(f"{path.name}: truncated cmap ({exc})") from exc
    return _coverage(ranges)


def _table(data: bytes, tag: bytes) -> bytes:
    try:
        (count,) = struct.unpack_from(">4xH", data, 0)
        for i in range(count):
            name, _checksum, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * i)
            if name == tag:
                return data[offset : offset + length]
    except struct.error as exc:
        raise FontFormatError(f"truncated table directory ({exc})") from exc
    raise FontFormatError(f"no {tag.decode()} table")


def _format12(cmap: bytes, offset: int) -> list[tuple[int, int]]:
    (groups,) = struct.unpack_from(">12xI", cmap, offset)
    ranges = []
    for i in range(groups):
        start, end, glyph = struct.unpack_from(">III", cmap, offset + 16 + 12 * i)
        if glyph == 0:
            start += 1  # the first code point of the group maps to .notdef
        if start <= end:
            ranges.append((start, end))
    return ranges


def _format4(cmap: bytes, offset: int) -> list[tuple[int, int]]:
    (seg_x2,) = struct.unpack_from(">6xH", cmap, offset)
    segs = seg_x2 // 2
    ends_at = offset + 14
    starts_at = ends_at + seg_x2 + 2
    deltas_at = starts_at + seg_x2
    range_offsets_at = deltas_at + seg_x2
    ends = struct.unpack_from(f">{segs}H", cmap, ends_at)
    starts = struct.unpack_from(f">{segs}H", cmap, starts_at)
    deltas = struct.unpack_from(f">{segs}H", cmap, deltas_at)
    range_offsets = struct.unpack_from(f">{segs}H", cmap, range_offsets_at)
    ranges: list[tuple[int, int]] = []
    for i in range(segs):
        start, end, delta, range_offset = starts[i], ends[i], deltas[i], range_offsets[i]
        if start == 0xFFFF:
            continue
        for cp in range(start, end + 1):
            if range_offset == 0:
                glyph = (cp + delta) & 0xFFFF
            else:
                # idRangeOffset is relative to its own position in the idRangeOffset array.
                at = range_offsets_at + 2 * i + range_offset + 2 * (cp - start)
                (glyph,) = struct.unpack_from(">H", cmap, at)
                if glyph:
                    glyph = (glyph + delta) & 0xFFFF
            if glyph:
                ranges.append((cp, cp))
    return ranges


def _coverage(ranges: list[tuple[int, int]]) -> Coverage:
    merged: list[list[int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return Coverage(tuple(s for s, _ in merged), tuple(e for _, e in merged))
