"""The state file: one JSON document with a schema version, written atomically.

Contracts:
- ``save(state)`` writes ``<file>.tmp`` then ``os.replace``s it over the file, after hard-linking the
  previous good file to ``<file>.bak``; a kill at any moment leaves either the old or the new file.
- ``load()`` returns the stored State, or an empty State when there is no file. A corrupt file is kept as
  ``<file>.corrupt-<unix time>`` and the ``.bak`` copy is tried; the outcome is reported in ``LoadReport``.
- A file of an older schema is copied to ``<file>.v<N>.bak`` and migrated in memory (saved on next write),
  so a user can roll back to the release that wrote it. A newer schema raises StateError (never guessed at).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccbot.state.model import SCHEMA_VERSION, State


class StateError(Exception):
    """The state file cannot be used; the message says what to do."""


def _migrate_v0(data: dict[str, Any]) -> dict[str, Any]:
    """v0 (the seed bot's layout): ``{"offset": N, "topics": {"chat:topic": {"window": "@1", "cwd": ...}}}``."""
    bindings = {}
    for key, raw in dict(data.get("topics", {})).items():
        chat, _, topic = key.rpartition(":")
        bindings[key] = {
            "chat_id": int(chat),
            "topic_id": int(topic),
            "window_id": str(raw["window"]),
            "window_name": str(raw.get("name", raw["window"])),
            "cwd": str(raw.get("cwd", "")),
        }
    return {"schema": 1, "telegram_offset": int(data.get("offset", 0)), "bindings": bindings}


# from-version -> function returning the next version's dict
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _migrate_v0}


@dataclass(frozen=True, slots=True)
class LoadReport:
    """How ``StateStore.load`` got the state: ``source`` (file, backup, empty, migrated) and a note for the log."""

    source: str  # "file", "backup", "empty", "migrated"
    detail: str = ""


class StateStore:
    """The state file at ``path`` and its backups (see the module docstring).

    Blocking file I/O: from trio code, call it in a worker thread (``StateKeeper`` does).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.backup = path.with_name(path.name + ".bak")

    def load(self) -> tuple[State, LoadReport]:
        """Read the state; see the module docstring. Raises StateError for a newer schema or unreadable dir."""
        if not self.path.exists():
            if self.backup.exists():
                state, _ = self._read(self.backup)
                return state, LoadReport("backup", f"{self.path} missing; restored from {self.backup}")
            return State(), LoadReport("empty")
        try:
            state, migrated_from = self._read(self.path)
        except _Corrupt as exc:
            kept = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            os.replace(self.path, kept)
            with contextlib.suppress(OSError):
                os.chmod(kept, 0o600)
            try:
                state, _ = self._read(self.backup)
            except (_Corrupt, FileNotFoundError):
                return State(), LoadReport("empty", f"{self.path} was corrupt ({exc}); kept as {kept}")
            return state, LoadReport("backup", f"{self.path} was corrupt ({exc}); kept as {kept}; used .bak")
        if migrated_from is not None:
            return state, LoadReport("migrated", f"schema {migrated_from} -> {SCHEMA_VERSION}")
        return state, LoadReport("file")

    def _read(self, path: Path) -> tuple[State, int | None]:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise StateError(f"cannot read state file {path}: {exc.strerror}") from None
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("top level is not an object")
            version = int(data.get("schema", 0))
        except (ValueError, TypeError) as exc:
            raise _Corrupt(str(exc)) from None
        if version > SCHEMA_VERSION:
            raise StateError(
                f"state file {path} has schema {version}, newer than this ccbot ({SCHEMA_VERSION}); "
                "upgrade ccbot or restore an older backup"
            )
        migrated_from = None
        if version < SCHEMA_VERSION:
            migrated_from = version
            keep = path.with_name(f"{path.name}.v{version}.bak")
            if not keep.exists():
                write_private(keep, raw)
            try:
                while version < SCHEMA_VERSION:
                    data = MIGRATIONS[version](data)
                    version += 1
            except (KeyError, ValueError, TypeError) as exc:
                raise _Corrupt(f"cannot migrate from schema {migrated_from}: {exc}") from None
        try:
            return State.from_json(data), migrated_from
        except (KeyError, ValueError, TypeError) as exc:
            raise _Corrupt(str(exc)) from None

    def save(self, state: State) -> None:
        """Atomically replace the file with ``state``. Raises StateError when the directory is not writable."""
        payload = json.dumps(state.to_json(), indent=1, sort_keys=True).encode()
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_private(tmp, payload)
            if self.path.exists():
                with contextlib.suppress(FileNotFoundError):
                    self.backup.unlink()
                os.link(self.path, self.backup)
            os.replace(tmp, self.path)
        except OSError as exc:
            raise StateError(f"cannot write state file {self.path}: {exc.strerror or exc}") from None

    def fsync(self) -> None:
        """Flush the file and its directory to disk (used at shutdown; a process kill needs no fsync)."""
        with contextlib.suppress(OSError):
            fd = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            dfd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)


class _Corrupt(Exception):
    pass


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` readable by its owner only (mode 0600 even if the file existed): the state
    holds message text. Raises OSError."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "wb") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write(data)
