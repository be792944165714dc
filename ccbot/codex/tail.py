"""Incremental reads of a growing JSONL file from a byte offset (sync file I/O, no trio).

``read_lines(path, offset, inode)`` returns the complete lines after ``offset`` (each with the byte offset
just past its newline) and never a partial last line: that one waits for its newline. The caller keeps
``offset`` (committed only after the lines were delivered) and the file's inode:

- unchanged size (``size == offset``) costs one ``stat`` and no read;
- ``size < offset`` (truncated) or a different inode (replaced) is reported as ``reset=True`` with lines
  read from offset 0 of the current file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

MAX_READ = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class TailRead:
    """One ``read_lines`` result: the complete lines read (each with the byte offset just past it), the file's
    inode and size, ``reset`` when reading restarted at 0 (truncated or replaced) and ``missing`` (no file).
    """

    lines: list[tuple[bytes, int]] = field(default_factory=list)  # (line without b"\n", end offset)
    inode: int | None = None
    size: int = 0
    reset: bool = False
    missing: bool = False


def read_lines(path: Path, offset: int, inode: int | None, *, max_bytes: int = MAX_READ) -> TailRead:
    """Return complete lines after ``offset``; see the module docstring. Never raises for a missing file."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return TailRead(missing=True)
    reset = False
    if (inode is not None and st.st_ino != inode) or st.st_size < offset:
        offset, reset = 0, True
    if st.st_size == offset:
        return TailRead(inode=st.st_ino, size=st.st_size, reset=reset)
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read(min(st.st_size - offset, max_bytes))
    except FileNotFoundError:
        return TailRead(missing=True)
    lines: list[tuple[bytes, int]] = []
    start = 0
    while True:
        end = data.find(b"\n", start)
        if end < 0:
            break
        lines.append((data[start:end], offset + end + 1))
        start = end + 1
    if not lines and len(data) == max_bytes:
        # A single line longer than max_bytes: hand it over whole rather than stalling forever.
        with open(path, "rb") as fh:
            fh.seek(offset)
            whole = fh.readline()
        if whole.endswith(b"\n"):
            lines.append((whole[:-1], offset + len(whole)))
    return TailRead(lines=lines, inode=st.st_ino, size=st.st_size, reset=reset)


_TIMESTAMP = re.compile(rb'"timestamp"\s*:\s*"([^"]+)"')


def offset_of_first_line_after(path: Path, when: float) -> int:
    """Byte offset of the first complete line stamped at or after unix time ``when`` (the file size if none).

    Used when a topic binds to an existing thread: what Codex wrote before the binding is history, what it
    wrote after is news. Lines without a readable timestamp count as history. Blocking file I/O.
    """
    offset = 0
    with open(path, "rb") as fh:
        for line in fh:
            if not line.endswith(b"\n"):
                break
            match = _TIMESTAMP.search(line, 0, 200)
            if match is not None:
                try:
                    stamp = datetime.fromisoformat(match.group(1).decode().replace("Z", "+00:00")).timestamp()
                except ValueError:
                    stamp = None
                if stamp is not None and stamp >= when:
                    return offset
            offset += len(line)
    return offset
