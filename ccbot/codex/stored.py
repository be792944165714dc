"""A rollout as Codex stores it on disk: plain ``rollout-….jsonl`` or zstd-compressed ``rollout-….jsonl.zst``
(sync file I/O, no trio).

Measured on 0.169.0: a thread whose rollout is only ``x.jsonl.zst`` is listed and resumed by Codex; on
resume Codex writes ``x.jsonl`` (all old lines, then the new ones) and removes ``x.jsonl.zst``. So a
compressed rollout is always complete and never grows: it is read whole (history, the resume list, replay,
doctor), never tailed. The live tail only ever follows the plain file, and the re-expanded file is a new
inode, which the tail already treats as a rewrite (``ccbot.actors.window``: skip what was delivered).

Decompression is capped (:data:`MAX_DECODED`): a compressed file is small on disk but may expand to
anything, and none of its readers needs more than that.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Final

import zstandard

COMPRESSED_SUFFIX: Final = ".jsonl.zst"
PLAIN_SUFFIX: Final = ".jsonl"
MAX_DECODED: Final = 256 * 1024 * 1024
_BUFFER: Final = 64 * 1024


class RolloutTooLarge(OSError):
    """A compressed rollout expands past :data:`MAX_DECODED` (or the caller's cap)."""


def is_rollout_name(name: str) -> bool:
    """True for ``rollout-*.jsonl`` and ``rollout-*.jsonl.zst`` file names."""
    return name.startswith("rollout-") and (name.endswith(PLAIN_SUFFIX) or name.endswith(COMPRESSED_SUFFIX))


def is_compressed(path: Path | str) -> bool:
    """True when ``path`` names a zstd-compressed rollout (by its ``.jsonl.zst`` suffix)."""
    return str(path).endswith(COMPRESSED_SUFFIX)


def plain_path(path: Path) -> Path:
    """The ``.jsonl`` path Codex writes when it resumes the thread stored at ``path`` (``path`` itself when
    it is plain)."""
    return path.with_name(path.name[: -len(".zst")]) if is_compressed(path) else path


def stored_form(path: Path) -> Path:
    """Where the rollout last known as ``path`` is now: ``path`` if it exists, else its other form (plain ↔
    ``.zst``) if that exists, else ``path`` (so opening it raises FileNotFoundError naming it)."""
    if path.exists():
        return path
    other = plain_path(path) if is_compressed(path) else path.with_name(path.name + ".zst")
    return other if other.exists() else path


@contextlib.contextmanager
def open_rollout(path: Path) -> Iterator[BinaryIO]:
    """Open ``path`` for reading its JSONL bytes, decompressing ``.jsonl.zst`` on the fly.

    Raises OSError like ``open`` (FileNotFoundError, PermissionError, …); a corrupt compressed file raises
    OSError too (``zstandard.ZstdError`` is re-raised as one), so callers handle one exception family.
    """
    with open(path, "rb") as raw:
        if not is_compressed(path):
            yield raw
            return
        yield io.BufferedReader(_Frames(raw, path.name), buffer_size=_BUFFER)


class _Frames(io.RawIOBase):
    """The decompressed bytes of every zstd frame in ``raw``, in order. Corrupt data, and a file that ends
    inside a frame (truncated), raise OSError from ``read`` instead of passing for a shorter rollout."""

    def __init__(self, raw: BinaryIO, name: str) -> None:
        self._raw = raw
        self._name = name
        self._frame = zstandard.ZstdDecompressor().decompressobj()
        self._started = False  # the current frame has been fed input
        self._out = b""
        self._pos = 0  # bytes of _out already handed out

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while self._pos == len(self._out):
            chunk = self._raw.read(_BUFFER)
            if not chunk:
                if self._started and not self._frame.eof:
                    raise OSError(f"{self._name}: truncated zstd data")
                return 0
            self._out, self._pos = b"", 0
            self._feed(chunk)
        n = min(len(buffer), len(self._out) - self._pos)
        buffer[:n] = self._out[self._pos:self._pos + n]
        self._pos += n
        return n

    def _feed(self, chunk: bytes) -> None:
        while chunk:
            try:
                self._out += self._frame.decompress(chunk)
            except zstandard.ZstdError as exc:
                raise OSError(f"{self._name}: corrupt zstd data ({exc})") from exc
            self._started = True
            if not self._frame.eof:
                return
            chunk = self._frame.unused_data
            self._frame = zstandard.ZstdDecompressor().decompressobj()
            self._started = False


def read_rollout(path: Path, *, max_bytes: int = MAX_DECODED) -> bytes:
    """The whole (decompressed) content of ``path``. Raises OSError; :class:`RolloutTooLarge` when a
    compressed file expands past ``max_bytes`` (a plain file is read as it is: its size is on disk)."""
    with open_rollout(path) as fh:
        if not is_compressed(path):
            return fh.read()
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise RolloutTooLarge(f"{path.name} expands past {max_bytes} bytes")
    return data
