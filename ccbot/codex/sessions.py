"""Index of the Codex threads stored under ``CODEX_HOME`` (read-only).

What flows in: the files Codex writes (codex-cli.md §3):

* ``sessions/YYYY/MM/DD/rollout-<local time>-<thread id>.jsonl`` (or ``.jsonl.zst``, compressed:
  ``ccbot.codex.stored``), whose first line is the ``session_meta`` record (0.169 writes it lazily
  together with the first item, so a fresh file may be empty or hold a partial first line for a moment);
* ``session_index.jsonl``: ``{"id", "thread_name", "updated_at"}``, appended; the last entry per id wins;
* ``history.jsonl``: ``{"session_id", "ts", "text"}`` per submitted prompt; the first text per id is
  the thread's preview.

What flows out: :class:`ThreadInfo` values via :meth:`SessionIndex.threads_for_cwd`,
:meth:`SessionIndex.get` and :meth:`SessionIndex.path_for`.

:meth:`SessionIndex.refresh` is blocking file I/O (run it in a worker thread from trio code) and is
incremental: a rollout whose (inode, mtime, size) is unchanged is not opened, a rollout whose
``session_meta`` is already known is not opened again when it grows, and the two index files are
read from the last offset. Nothing is ever written inside ``CODEX_HOME``; the optional cache file
lives elsewhere. Not thread-safe: one caller at a time.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from ccbot.codex.stored import is_compressed, is_rollout_name, open_rollout

__all__ = ["SessionIndex", "ThreadInfo", "parse_meta_line"]

# The session_meta line carries base_instructions, usually a few KB; 64 KB covers it in one read.
HEAD_CHUNK: Final = 64 * 1024
# A first line longer than this is not a session_meta we can use; give up rather than slurp the file.
MAX_HEAD_BYTES: Final = 4 * 1024 * 1024
INDEX_CHUNK: Final = 1024 * 1024
PREVIEW_CHARS: Final = 200
CACHE_VERSION: Final = 1

_ROLLOUT_NAME = re.compile(
    r"^rollout-(?P<ts>\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2})-"
    r"(?P<id>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\.jsonl(?:\.zst)?$"
)


@dataclass(frozen=True, slots=True)
class ThreadInfo:
    """One persisted Codex thread.

    ``created`` is the thread creation time (timezone-aware), ``updated`` the rollout file's mtime
    (epoch seconds). ``name`` comes from ``session_index.jsonl``, ``preview`` is the first prompt from
    ``history.jsonl`` (whitespace collapsed, at most 200 characters). ``source`` is the raw
    ``session_meta.source`` (``"cli"``, ``"exec"``, or compact JSON such as ``{"subagent":"review"}``).
    """

    id: str
    path: Path
    cwd: Path
    created: datetime
    updated: float
    name: str | None
    preview: str | None
    source: str
    originator: str
    is_subagent: bool
    is_exec: bool


@dataclass(frozen=True, slots=True)
class _Meta:
    """What one rollout's ``session_meta`` tells us; never changes for the life of the file."""

    id: str
    cwd: str
    created: datetime
    source: str
    originator: str
    is_subagent: bool
    is_exec: bool


class _Pending:
    """The first line is not complete yet: retry when the file changes."""


class _NotMeta:
    """The first line is complete but is no session_meta: ignore the file until it is replaced."""


PENDING: Final = _Pending()
NOT_META: Final = _NotMeta()

HeadResult = _Meta | _Pending | _NotMeta


@dataclass(frozen=True, slots=True)
class _FileEntry:
    mtime_ns: int
    size: int
    ino: int
    head: HeadResult


def _created_from_name(name: str) -> datetime | None:
    # The file name holds the creation time in *local* time (codex-cli.md §3).
    m = _ROLLOUT_NAME.match(name)
    if m is None:
        return None
    try:
        return datetime.strptime(m["ts"], "%Y-%m-%dT%H-%M-%S").astimezone()
    except ValueError:
        return None


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_meta_line(line: bytes, file_name: str, *, complete: bool) -> HeadResult:
    """Classify the first line of a rollout.

    ``line`` is the first line without its newline; ``complete`` says whether a newline followed it.
    Returns a ``_Meta`` for a ``session_meta`` record (the id falls back to the file name's id, the
    creation time to the file name's local timestamp), ``PENDING`` when the line is empty or an
    unterminated line does not parse yet (Codex may be mid-write), and ``NOT_META`` otherwise.
    Never raises.
    """
    if not line.strip():
        return PENDING
    try:
        obj = json.loads(line)
    except ValueError:
        return PENDING if not complete else NOT_META
    if not isinstance(obj, dict):
        return NOT_META
    if obj.get("type") == "session_meta":
        payload = obj.get("payload")
    elif "type" not in obj and "id" in obj and "cwd" in obj:
        payload = obj  # an unwrapped header, as very old generations wrote
    else:
        return NOT_META
    if not isinstance(payload, dict):
        return NOT_META
    name_match = _ROLLOUT_NAME.match(file_name)
    thread_id = payload.get("id")
    if not isinstance(thread_id, str) or not thread_id:
        if name_match is None:
            return NOT_META
        thread_id = name_match["id"]
    cwd = payload.get("cwd")
    if not isinstance(cwd, str) or not cwd:
        return NOT_META
    created = _parse_time(payload.get("timestamp")) or _created_from_name(file_name)
    if created is None:
        created = _parse_time(obj.get("timestamp")) or datetime.fromtimestamp(0, UTC)

    raw_source = payload.get("source")
    if isinstance(raw_source, str):
        source = raw_source
    elif raw_source is None:
        source = ""
    else:
        source = json.dumps(raw_source, sort_keys=True, separators=(",", ":"))
    originator = payload.get("originator")
    originator = originator if isinstance(originator, str) else ""
    is_subagent = (
        (isinstance(raw_source, dict) and "subagent" in raw_source)
        or payload.get("thread_source") == "subagent"
        or source.startswith("subagent")
    )
    is_exec = source == "exec" or originator.lower().replace("-", "_") == "codex_exec"
    return _Meta(
        id=thread_id,
        cwd=cwd,
        created=created,
        source=source,
        originator=originator,
        is_subagent=is_subagent,
        is_exec=is_exec,
    )


@dataclass(slots=True)
class _Tail:
    """Read position in an append-only JSONL file; ``ino`` detects replacement."""

    offset: int = 0
    ino: int = 0


def _norm(path: str) -> str:
    return os.path.normpath(path)


class SessionIndex:
    """Incremental, read-only index of ``codex_home``'s threads.

    ``cache_path`` (optional, must lie outside ``codex_home``, else ``ValueError``) persists the index
    as JSON so a restart does not re-read every rollout head; a missing, corrupt or foreign cache is
    ignored, and failing to write it is not an error.

    ``files_read`` counts every file this index opened (rollout heads and index files); tests use it
    to prove that an unchanged tree costs no reads.
    """

    def __init__(self, codex_home: Path, *, cache_path: Path | None = None) -> None:
        self.codex_home = Path(codex_home)
        if cache_path is not None:
            home = os.path.abspath(self.codex_home)
            cache = os.path.abspath(cache_path)
            if cache == home or cache.startswith(home.rstrip(os.sep) + os.sep):
                raise ValueError(f"cache_path must not be inside CODEX_HOME ({home})")
        self.cache_path = cache_path
        self.files_read = 0
        self._files: dict[str, _FileEntry] = {}
        self._by_id: dict[str, tuple[str, _FileEntry, _Meta]] = {}
        self._names: dict[str, str] = {}
        self._names_tail = _Tail()
        self._previews: dict[str, str] = {}
        self._history_tail = _Tail()
        self._cache_loaded = False
        self._dirty = False

    # ------------------------------------------------------------------ queries

    def threads_for_cwd(self, cwd: Path) -> list[ThreadInfo]:
        """Interactive threads whose ``session_meta.cwd`` is ``cwd`` (or its resolved form).

        Newest first by rollout mtime; ``codex exec`` and sub-agent threads are left out. Uses the
        state of the last :meth:`refresh`.
        """
        wanted = {_norm(str(cwd))}
        with contextlib.suppress(OSError, ValueError):
            wanted.add(_norm(os.path.realpath(cwd)))
        found = [
            self._info(path, entry, meta)
            for path, entry, meta in self._by_id.values()
            if not meta.is_exec and not meta.is_subagent and _norm(meta.cwd) in wanted
        ]
        found.sort(key=lambda t: (t.updated, t.id), reverse=True)
        return found

    def get(self, thread_id: str) -> ThreadInfo | None:
        """Any known thread by id (including exec and sub-agent threads), or ``None``."""
        hit = self._by_id.get(thread_id)
        return None if hit is None else self._info(*hit)

    def path_for(self, thread_id: str) -> Path | None:
        """The rollout file of ``thread_id``, or ``None`` if it is not known."""
        hit = self._by_id.get(thread_id)
        return None if hit is None else Path(hit[0])

    def __len__(self) -> int:
        return len(self._by_id)

    def _info(self, path: str, entry: _FileEntry, meta: _Meta) -> ThreadInfo:
        return ThreadInfo(
            id=meta.id,
            path=Path(path),
            cwd=Path(meta.cwd),
            created=meta.created,
            updated=entry.mtime_ns / 1e9,
            name=self._names.get(meta.id),
            preview=self._previews.get(meta.id),
            source=meta.source,
            originator=meta.originator,
            is_subagent=meta.is_subagent,
            is_exec=meta.is_exec,
        )

    # ------------------------------------------------------------------ refresh

    def refresh(self) -> None:
        """Bring the index up to date with the files on disk (blocking I/O, never raises OSError)."""
        if not self._cache_loaded:
            self._cache_loaded = True
            self._load_cache()
        files: dict[str, _FileEntry] = {}
        for path, name, st in self._scan(self.codex_home / "sessions"):
            old = self._files.get(path)
            if old is not None and (old.ino, old.mtime_ns, old.size) == (
                st.st_ino,
                st.st_mtime_ns,
                st.st_size,
            ):
                files[path] = old
                continue
            if (
                old is not None
                and old.ino == st.st_ino
                and st.st_size >= old.size
                and not isinstance(old.head, _Pending)
            ):
                # Appends never change the first line, so the known head still holds. Not worth a
                # cache write either: a restart with the older stat reaches the same conclusion.
                files[path] = _FileEntry(st.st_mtime_ns, st.st_size, st.st_ino, old.head)
                continue
            files[path] = _FileEntry(st.st_mtime_ns, st.st_size, st.st_ino, self._read_head(path, name))
            self._dirty = True
        if files.keys() != self._files.keys():
            self._dirty = True
        self._files = files
        self._rebuild_ids()
        self._refresh_names()
        self._refresh_history()
        if self._dirty:
            self._save_cache()
            self._dirty = False

    @staticmethod
    def _scan(root: Path) -> list[tuple[str, str, os.stat_result]]:
        out: list[tuple[str, str, os.stat_result]] = []
        stack = [str(root)]
        while stack:
            directory = stack.pop()
            try:
                it = os.scandir(directory)
            except OSError:
                continue
            with it:
                for entry in it:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                        elif is_rollout_name(entry.name) and entry.is_file():
                            out.append((entry.path, entry.name, entry.stat()))
                    except OSError:
                        continue
        return out

    def _read_head(self, path: str, name: str) -> HeadResult:
        try:
            with open_rollout(Path(path)) as f:
                self.files_read += 1
                buf = b""
                while True:
                    chunk = f.read(HEAD_CHUNK)
                    if not chunk:
                        return parse_meta_line(buf, name, complete=False)
                    nl = chunk.find(b"\n")
                    if nl >= 0:
                        return parse_meta_line(buf + chunk[:nl], name, complete=True)
                    buf += chunk
                    if len(buf) >= MAX_HEAD_BYTES:
                        return NOT_META
        except OSError:
            return PENDING

    def _rebuild_ids(self) -> None:
        by_id: dict[str, tuple[str, _FileEntry, _Meta]] = {}
        for path, entry in self._files.items():
            meta = entry.head
            if not isinstance(meta, _Meta):
                continue
            prev = by_id.get(meta.id)
            # Two files claiming one id: ``x.jsonl`` beside ``x.jsonl.zst`` while Codex re-expands a compressed
            # rollout on resume; the plain one is the one it writes. Otherwise prefer the one written last.
            if prev is None or self._rank(path, entry) > self._rank(prev[0], prev[1]):
                by_id[meta.id] = (path, entry, meta)
        self._by_id = by_id

    @staticmethod
    def _rank(path: str, entry: _FileEntry) -> tuple[bool, int, str]:
        return not is_compressed(path), entry.mtime_ns, path

    def _read_tail(self, path: Path, tail: _Tail) -> tuple[bool, list[Any]]:
        """New complete JSON lines of an append-only file; the flag says the file was replaced."""
        try:
            st = os.stat(path)
        except OSError:
            if tail.offset or tail.ino:
                tail.offset, tail.ino = 0, 0
                self._dirty = True
                return True, []
            return False, []
        reset = False
        if st.st_ino != tail.ino or st.st_size < tail.offset:
            reset = tail.offset > 0 or tail.ino != 0
            tail.offset, tail.ino = 0, st.st_ino
            self._dirty = True
        if st.st_size == tail.offset:
            return reset, []
        records: list[Any] = []
        start = tail.offset
        try:
            with open(path, "rb") as f:
                self.files_read += 1
                f.seek(tail.offset)
                pending = b""
                while True:
                    chunk = f.read(INDEX_CHUNK)
                    if not chunk:
                        break
                    data = pending + chunk
                    cut = data.rfind(b"\n")
                    if cut < 0:
                        pending = data
                        continue
                    pending = data[cut + 1 :]
                    for raw in data[:cut].split(b"\n"):
                        try:
                            records.append(json.loads(raw))
                        except ValueError:
                            continue
                    tail.offset += cut + 1
                # An unterminated last line may still be being written: it stays unread (``pending``).
        except OSError:
            pass
        if tail.offset != start:
            self._dirty = True
        return reset, records

    def _refresh_names(self) -> None:
        reset, records = self._read_tail(self.codex_home / "session_index.jsonl", self._names_tail)
        if reset:
            self._names.clear()
        for rec in records:
            if not isinstance(rec, dict):
                continue
            thread_id, name = rec.get("id"), rec.get("thread_name")
            if isinstance(thread_id, str) and isinstance(name, str) and name.strip():
                self._names[thread_id] = name.strip()

    def _refresh_history(self) -> None:
        reset, records = self._read_tail(self.codex_home / "history.jsonl", self._history_tail)
        if reset:
            self._previews.clear()
        for rec in records:
            if not isinstance(rec, dict):
                continue
            sid, text = rec.get("session_id"), rec.get("text")
            if not isinstance(sid, str) or not isinstance(text, str) or sid in self._previews:
                continue
            preview = " ".join(text.split())[:PREVIEW_CHARS]
            if preview:
                self._previews[sid] = preview

    # ------------------------------------------------------------------ cache

    def _load_cache(self) -> None:
        if self.cache_path is None:
            return
        try:
            with open(self.cache_path, encoding="utf-8") as f:
                data = json.load(f)
            if data.get("version") != CACHE_VERSION or data.get("codex_home") != str(self.codex_home):
                return
            files: dict[str, _FileEntry] = {}
            for path, (mtime_ns, size, ino, head) in data["files"].items():
                files[str(path)] = _FileEntry(int(mtime_ns), int(size), int(ino), _head_from_json(head))
            names = {str(k): str(v) for k, v in data["names"].items()}
            previews = {str(k): str(v) for k, v in data["previews"].items()}
            names_tail = _Tail(int(data["names_tail"][0]), int(data["names_tail"][1]))
            history_tail = _Tail(int(data["history_tail"][0]), int(data["history_tail"][1]))
        except (OSError, ValueError, TypeError, KeyError, AttributeError, IndexError):
            return
        self._files, self._names, self._previews = files, names, previews
        self._names_tail, self._history_tail = names_tail, history_tail

    def _save_cache(self) -> None:
        if self.cache_path is None:
            return
        data = {
            "version": CACHE_VERSION,
            "codex_home": str(self.codex_home),
            "files": {
                path: [e.mtime_ns, e.size, e.ino, _head_to_json(e.head)] for path, e in self._files.items()
            },
            "names": self._names,
            "previews": self._previews,
            "names_tail": [self._names_tail.offset, self._names_tail.ino],
            "history_tail": [self._history_tail.offset, self._history_tail.ino],
        }
        tmp = self.cache_path.with_name(self.cache_path.name + ".tmp")
        try:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(data, f, separators=(",", ":"))
            os.replace(tmp, self.cache_path)
        except OSError:
            # The cache only speeds up startup; the index stays correct without it.
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _head_to_json(head: HeadResult) -> Any:
    if isinstance(head, _Meta):
        return {
            "id": head.id,
            "cwd": head.cwd,
            "created": head.created.isoformat(),
            "source": head.source,
            "originator": head.originator,
            "is_subagent": head.is_subagent,
            "is_exec": head.is_exec,
        }
    return "pending" if isinstance(head, _Pending) else "not_meta"


def _head_from_json(raw: Any) -> HeadResult:
    if raw == "pending":
        return PENDING
    if raw == "not_meta":
        return NOT_META
    created = _parse_time(raw["created"])
    if created is None:
        raise ValueError("bad created time in cache")
    return _Meta(
        id=str(raw["id"]),
        cwd=str(raw["cwd"]),
        created=created,
        source=str(raw["source"]),
        originator=str(raw["originator"]),
        is_subagent=bool(raw["is_subagent"]),
        is_exec=bool(raw["is_exec"]),
    )


def is_user_rollout(path: Path, *, max_bytes: int = 64 * 1024) -> bool:
    """False only when the rollout's ``session_meta`` says it is a sub-agent (e.g. ``/review``) thread.

    Blocking file I/O (call off the trio thread). A file whose first line is not written yet counts as
    a user thread: the caller re-checks on its next proof.
    """
    try:
        with open_rollout(path) as fh:
            head = fh.read(max_bytes)
    except OSError:
        return False
    line, newline, _ = head.partition(b"\n")
    meta = parse_meta_line(line, path.name, complete=bool(newline))
    return not (isinstance(meta, _Meta) and meta.is_subagent)
