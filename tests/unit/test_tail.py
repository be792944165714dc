from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ccbot.actors.window import thread_start_time
from ccbot.codex.tail import offset_of_first_line_after, read_lines


def test_partial_last_line_waits_and_unchanged_file_reads_nothing(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"a":1}\n{"b":')
    first = read_lines(path, 0, None)
    assert first.lines == [(b'{"a":1}', 8)]
    again = read_lines(path, 8, first.inode)
    assert again.lines == [] and not again.reset
    with open(path, "ab") as fh:
        fh.write(b'2}\n')
    done = read_lines(path, 8, first.inode)
    assert done.lines == [(b'{"b":2}', 16)]


def test_truncation_and_replacement_reset(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"one\ntwo\n")
    inode = os.stat(path).st_ino
    path.write_bytes(b"x\n")  # truncated below the offset
    shrunk = read_lines(path, 8, inode)
    assert shrunk.reset and shrunk.lines == [(b"x", 2)]
    other = tmp_path / "other"
    other.write_bytes(b"new\nfile\n")
    os.replace(other, path)  # replaced: new inode
    replaced = read_lines(path, 2, inode)
    assert replaced.reset and [line for line, _ in replaced.lines] == [b"new", b"file"]
    assert read_lines(tmp_path / "missing", 0, None).missing


@given(st.lists(st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")), max_size=20),
       st.integers(min_value=1, max_value=40))
def test_lines_reassemble_whatever_the_read_boundaries(lines: list[bytes], cut: int) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "r.jsonl"
        data = b"".join(line + b"\n" for line in lines)
        got: list[bytes] = []
        offset = 0
        for size in (cut, len(data)):
            path.write_bytes(data[:size])
            read = read_lines(path, offset, None)
            got += [line for line, _ in read.lines]
            if read.lines:
                offset = read.lines[-1][1]
        assert got == lines


def test_offset_of_first_line_after(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    lines = [b'{"timestamp":"2026-11-23T21:00:00.000Z","type":"a"}\n',
             b'{"no":"stamp"}\n',
             b'{"timestamp":"2026-11-23T22:00:00.000Z","type":"b"}\n']
    path.write_bytes(b"".join(lines))
    at_22 = 1795471200.0  # 2026-11-23T22:00:00Z
    assert offset_of_first_line_after(path, at_22) == len(lines[0]) + len(lines[1])
    assert offset_of_first_line_after(path, 0) == 0
    assert offset_of_first_line_after(path, at_22 + 1) == path.stat().st_size


def test_thread_start_time_reads_uuid7() -> None:
    assert thread_start_time("01a20a5a-009b-7f71-8ca7-536926fbd324") == 1795470000.283
    assert thread_start_time("not-a-uuid") is None
    assert thread_start_time("01a20a5a-009b-4f71-8ca7-536926fbd324") is None  # v4, not v7
