"""Rollouts stored compressed (``.jsonl.zst``): read exactly like the plain file, errors as OSError."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from ccbot.codex.stored import (
    RolloutTooLarge,
    is_rollout_name,
    open_rollout,
    plain_path,
    read_rollout,
    stored_form,
)
from tests.conftest import DATA

PLAIN = DATA / "rollouts" / "codex-0.169-main.jsonl"
COMPRESSED = DATA / "rollouts" / "codex-0.169-main.jsonl.zst"


def test_the_recorded_compressed_rollout_reads_as_the_plain_one() -> None:
    assert read_rollout(COMPRESSED) == PLAIN.read_bytes() == read_rollout(PLAIN)
    with open_rollout(COMPRESSED) as zipped, open_rollout(PLAIN) as plain:
        assert list(zipped) == list(plain)  # line iteration too (history pages, session heads)


@given(st.lists(st.binary(max_size=300), max_size=30), st.integers(1, 4))
def test_any_bytes_in_any_number_of_frames_round_trip(chunks: list[bytes], frames: int) -> None:
    data = b"\n".join(chunks)
    step = max(1, len(data) // frames)
    parts = [data[i:i + step] for i in range(0, len(data), step)] or [b""]
    compressed = b"".join(zstandard.ZstdCompressor().compress(p) for p in parts)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "rollout-x.jsonl.zst"
        path.write_bytes(compressed)
        assert read_rollout(path) == data
        with open_rollout(path) as fh:
            assert b"".join(fh) == data


def test_corrupt_and_truncated_files_raise_oserror(tmp_path: Path) -> None:
    bad = tmp_path / "rollout-bad.jsonl.zst"
    bad.write_bytes(b"\x28\xb5\x2f\xfd not zstd at all")
    with pytest.raises(OSError, match=r"rollout-bad\.jsonl\.zst: corrupt zstd data"):
        read_rollout(bad)
    cut = tmp_path / "rollout-cut.jsonl.zst"
    cut.write_bytes(COMPRESSED.read_bytes()[:-40])
    with pytest.raises(OSError, match="truncated zstd data"):
        read_rollout(cut)


def test_a_compressed_file_may_not_expand_past_the_cap(tmp_path: Path) -> None:
    bomb = tmp_path / "rollout-bomb.jsonl.zst"
    bomb.write_bytes(zstandard.ZstdCompressor().compress(b"\n" * 100_000))
    assert bomb.stat().st_size < 1000
    with pytest.raises(RolloutTooLarge):
        read_rollout(bomb, max_bytes=99_999)
    assert len(read_rollout(bomb, max_bytes=100_000)) == 100_000


def test_names_and_forms(tmp_path: Path) -> None:
    assert is_rollout_name("rollout-a.jsonl") and is_rollout_name("rollout-a.jsonl.zst")
    assert not is_rollout_name("rollout-a.jsonl.zst.tmp") and not is_rollout_name("history.jsonl")
    zipped = tmp_path / "rollout-a.jsonl.zst"
    plain = tmp_path / "rollout-a.jsonl"
    assert plain_path(zipped) == plain and plain_path(plain) == plain
    assert stored_form(plain) == plain  # neither exists: the asked path, so open() names it
    zipped.write_bytes(b"")
    assert stored_form(plain) == zipped
    plain.write_bytes(b"")
    assert stored_form(plain) == plain and stored_form(zipped) == zipped
    zipped.unlink()
    assert stored_form(zipped) == plain
