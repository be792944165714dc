"""What the processes of a tmux pane hold open, read from /proc.

The pane's process is the npm wrapper (``node``); the Codex binary is its child. An in-process Codex
keeps every rollout of its life open for writing (after ``/clear`` the old one stays open too) and its
thread-writer lock. An app-server (Codex's default daemon) holds *every* client's rollouts, so what is
open in a process tree is only evidence, judged by ``ccbot.codex.identity.classify_pane``. See
codex-cli.md §5 and codex-app-server.md §1.

Parsing (``parse_stat``, ``tree_from_parents``, ``thread_id_from_path``, ``rollout_sort_key``,
``newest_rollout``) is pure. The readers (``process_tree``, ``open_rollouts``, ``pane_evidence``)
do blocking reads of /proc (call them from a worker thread) and tolerate the races /proc brings:
processes that vanish mid-scan, fds closed between listing and ``readlink``, and EACCES on other
users' processes. They never raise for those; they raise only ``OSError`` if ``proc`` itself cannot
be listed.
"""

from __future__ import annotations

import errno
import os
import re
import stat as stat_mod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_ROLLOUT_RE = re.compile(r"^rollout-(?:(?P<stamp>.*)-)?(?P<id>" + _UUID + r")\.jsonl$")
_ROLLOUT_GLOB_RE = re.compile(r"^rollout-.*\.jsonl$")

# Errors that mean "this process or fd went away, or is not ours to read": skip it.
_RACE_ERRNOS = frozenset({errno.ENOENT, errno.ESRCH, errno.EACCES, errno.EPERM, errno.ENOTDIR})


@dataclass(frozen=True, slots=True)
class ProcEvidence:
    """What one process of a pane's tree holds: ``rollouts`` are user-thread rollouts (oldest first),
    ``locks`` the thread ids of the ``thread-writer-locks/<id>.lock`` files it holds open."""

    pid: int
    argv: tuple[str, ...]
    rollouts: tuple[Path, ...] = ()
    locks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StatInfo:
    """The fields of /proc/<pid>/stat that ccbot needs."""

    pid: int
    comm: str
    state: str
    ppid: int


def parse_stat(text: str) -> StatInfo:
    """Parse the text of /proc/<pid>/stat.

    The command name is in parentheses and may itself contain spaces and parentheses, so it runs
    from the first ``(`` to the *last* ``)``. Raises ``ValueError`` on malformed text.
    """
    open_at = text.find("(")
    close_at = text.rfind(")")
    if open_at < 0 or close_at < open_at:
        raise ValueError(f"malformed stat: {text[:80]!r}")
    rest = text[close_at + 1 :].split()
    if len(rest) < 2:
        raise ValueError(f"malformed stat: {text[:80]!r}")
    return StatInfo(
        pid=int(text[:open_at].strip()),
        comm=text[open_at + 1 : close_at],
        state=rest[0],
        ppid=int(rest[1]),
    )


def tree_from_parents(root_pid: int, parent_of: Mapping[int, int]) -> list[int]:
    """``root_pid`` and all its descendants, breadth first, root first.

    ``parent_of`` maps each live pid to its parent pid. Returns ``[]`` if ``root_pid`` is not in it.
    A pid is listed once even if the mapping contains a cycle (pid reuse during a scan).
    """
    if root_pid not in parent_of:
        return []
    children: dict[int, list[int]] = {}
    for pid, ppid in parent_of.items():
        children.setdefault(ppid, []).append(pid)
    order = [root_pid]
    seen = {root_pid}
    i = 0
    while i < len(order):
        for child in sorted(children.get(order[i], ())):
            if child not in seen:
                seen.add(child)
                order.append(child)
        i += 1
    return order


def thread_id_from_path(path: Path | str) -> str | None:
    """The thread id (lower-case UUID) at the end of a ``rollout-…-<uuid>.jsonl`` name, else ``None``."""
    match = _ROLLOUT_RE.match(Path(path).name)
    return match.group("id").lower() if match else None


def is_rollout_name(name: str) -> bool:
    """True for file names Codex gives rollouts: ``rollout-*.jsonl``."""
    return _ROLLOUT_GLOB_RE.match(name) is not None


def rollout_sort_key(path: Path) -> tuple[int, str, str]:
    """Order rollouts oldest to newest.

    UUIDv7 thread ids start with their creation time in milliseconds, so they sort by time as
    strings and rank above everything else; other names fall back to the creation timestamp
    embedded in the name (local time, second resolution), then the name itself.
    """
    match = _ROLLOUT_RE.match(path.name)
    if match is None:
        return (0, "", path.name)
    thread_id = match.group("id").lower()
    if thread_id[14] == "7":  # the version nibble
        return (2, thread_id, path.name)
    return (1, match.group("stamp") or "", path.name)


def newest_rollout(paths: Iterable[Path]) -> Path | None:
    """The newest path by ``rollout_sort_key``, or ``None`` for no paths."""
    return max(paths, key=rollout_sort_key, default=None)


# ---------------------------------------------------------------- /proc readers


def _read_parents(proc: Path) -> dict[int, int]:
    parents: dict[int, int] = {}
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        try:
            with open(proc / entry / "stat", encoding="utf-8", errors="replace") as f:
                info = parse_stat(f.read())
        except OSError as exc:
            if exc.errno in _RACE_ERRNOS:
                continue
            raise
        except ValueError:
            continue
        parents[info.pid] = info.ppid
    return parents


def process_tree(root_pid: int, proc: Path = PROC) -> list[int]:
    """``root_pid`` and all its live descendants, root first. ``[]`` if ``root_pid`` does not exist.

    Walks ``/proc/<pid>/task/<tid>/children`` (reads only the pane's own processes); kernels without that
    file fall back to the ppid of every process in /proc/*/stat.
    """
    walked = _walk_children(root_pid, proc)
    if walked is not None:
        return walked
    return tree_from_parents(root_pid, _read_parents(proc))


def _walk_children(root_pid: int, proc: Path) -> list[int] | None:
    """Descendants via the ``children`` files; None when the kernel does not provide them."""
    if not (proc / str(root_pid)).is_dir():
        return []
    out: list[int] = []
    todo = [root_pid]
    while todo:
        pid = todo.pop(0)
        out.append(pid)
        try:
            tasks = os.listdir(proc / str(pid) / "task")
        except OSError:
            if pid == root_pid:
                return None  # no task folder (a minimal /proc): use the ppid scan
            continue  # exited meanwhile
        for tid in tasks:
            try:
                text = (proc / str(pid) / "task" / tid / "children").read_text()
            except FileNotFoundError:
                if pid == root_pid and tid == str(pid):
                    return None  # no children file at all: CONFIG_PROC_CHILDREN is off
                continue
            except OSError:
                continue
            todo.extend(int(c) for c in text.split() if c.isdigit() and int(c) not in out)
    return out


def _fd_targets(pid: int, proc: Path) -> list[str]:
    fd_dir = proc / str(pid) / "fd"
    try:
        names = os.listdir(fd_dir)
    except OSError as exc:
        if exc.errno in _RACE_ERRNOS:
            return []
        raise
    targets = []
    for name in names:
        try:
            targets.append(os.readlink(fd_dir / name))
        except OSError as exc:
            if exc.errno in _RACE_ERRNOS or exc.errno == errno.EINVAL:
                continue
            raise
    return targets


def open_rollouts(root_pid: int, sessions_dir: Path, proc: Path = PROC) -> list[Path]:
    """Regular files named ``rollout-*.jsonl`` under ``sessions_dir`` that any process in
    ``root_pid``'s tree holds open. Sorted oldest to newest (``rollout_sort_key``), no duplicates.

    Paths are the targets of the /proc/<pid>/fd links, i.e. absolute and symlink-free; files that
    were deleted while open (the link ends in `` (deleted)``) are left out.
    """
    root = Path(os.path.realpath(sessions_dir))
    found: set[Path] = set()
    for pid in process_tree(root_pid, proc):
        for target in _fd_targets(pid, proc):
            if not target.startswith("/"):
                continue  # pipe:[…], socket:[…], anon_inode:…
            path = Path(target)
            if is_rollout_name(path.name) and path.is_relative_to(root) and _is_file(path):
                found.add(path)
    return sorted(found, key=rollout_sort_key)


def _argv(pid: int, proc: Path) -> tuple[str, ...]:
    try:
        raw = (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return ()
    return tuple(part.decode("utf-8", "replace") for part in raw.split(b"\0") if part)


def pane_evidence(
    root_pid: int,
    codex_home: Path,
    proc: Path = PROC,
    *,
    accept: Callable[[Path], bool] | None = None,
) -> list[ProcEvidence]:
    """For each process of ``root_pid``'s tree (root first): its argv, the rollouts under
    ``codex_home/sessions`` it holds open (oldest first; ``accept`` drops e.g. sub-agent threads) and the
    thread ids of the ``codex_home/thread-writer-locks/<id>.lock`` files it holds open.
    ``ccbot.codex.identity.classify_pane`` turns this into a verdict.
    """
    sessions = Path(os.path.realpath(codex_home / "sessions"))
    locks = Path(os.path.realpath(codex_home / "thread-writer-locks"))
    out: list[ProcEvidence] = []
    for pid in process_tree(root_pid, proc):
        rollouts: set[Path] = set()
        held: set[str] = set()
        for target in _fd_targets(pid, proc):
            if not target.startswith("/"):
                continue  # pipe:[…], socket:[…], anon_inode:…
            path = Path(target)
            if path.parent == locks and path.name.endswith(".lock"):
                held.add(path.name.removesuffix(".lock").lower())
            elif (is_rollout_name(path.name) and path.is_relative_to(sessions) and _is_file(path)
                  and (accept is None or accept(path))):
                rollouts.add(path)
        out.append(ProcEvidence(pid, _argv(pid, proc), tuple(sorted(rollouts, key=rollout_sort_key)),
                                tuple(sorted(held))))
    return out


def _is_file(path: Path) -> bool:
    try:
        return stat_mod.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False
