"""procfs: stat parsing, tree walking and open-rollout discovery against a fake /proc in tmp_path."""

from __future__ import annotations

import errno
import os
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccbot.codex.procfs import (
    ProcEvidence,
    newest_rollout,
    open_rollouts,
    pane_evidence,
    parse_stat,
    process_tree,
    rollout_sort_key,
    thread_id_from_path,
    tree_from_parents,
)

# Thread ids of real shape: UUIDv7, the first 48 bits are the creation time in ms.
OLD_ID = "01a20a53-d1d3-7893-b3db-4a6d84e3f89b"
NEW_ID = "01a20a57-3bbd-7bf3-8215-0d2f10bb79f8"
NEIGHBOUR_ID = "01a20a58-0000-7000-8000-000000000001"


def _stat_line(pid: int, comm: str, ppid: int, state: str = "S") -> str:
    # The real line continues with ~50 more numeric fields; a few are enough to be realistic.
    return f"{pid} ({comm}) {state} {ppid} {pid} {pid} 34816 {pid} 4194560 1234 0 0 0 5 2 0 0 20 0 1 0\n"


# ---------------------------------------------------------------- parse_stat


def test_parse_stat_real_shape() -> None:
    info = parse_stat("4242 (node) S 4200 4242 4242 34816 4242 4194560 1 0\n")
    assert (info.pid, info.comm, info.state, info.ppid) == (4242, "node", "S", 4200)


def test_parse_stat_comm_with_parens_and_spaces() -> None:
    info = parse_stat("77 (a) b) (c) R 1 77 77 0 -1\n")
    assert (info.pid, info.comm, info.state, info.ppid) == (77, "a) b) (c", "R", 1)


@pytest.mark.parametrize("bad", ["", "12", "12 (x", "12 x) S 1", "12 (x) S", "abc (x) S 1", "1 (x) S y"])
def test_parse_stat_rejects_malformed(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_stat(bad)


@given(
    st.integers(min_value=1, max_value=4_194_304),
    st.text(alphabet=st.characters(blacklist_characters="\x00"), max_size=16),
    st.integers(min_value=0, max_value=4_194_304),
    st.sampled_from("RSDZTtXI"),
)
def test_parse_stat_round_trip(pid: int, comm: str, ppid: int, state: str) -> None:
    info = parse_stat(_stat_line(pid, comm, ppid, state))
    assert (info.pid, info.comm, info.state, info.ppid) == (pid, comm, state, ppid)


# ---------------------------------------------------------------- tree_from_parents


def test_tree_from_parents() -> None:
    #   1 ── 10 ── 11 ── 12
    #    └── 20 ── 21
    parents = {1: 0, 10: 1, 11: 10, 12: 11, 20: 1, 21: 20, 30: 0}
    assert tree_from_parents(10, parents) == [10, 11, 12]
    assert tree_from_parents(20, parents) == [20, 21]
    assert tree_from_parents(1, parents) == [1, 10, 20, 11, 21, 12]
    assert tree_from_parents(12, parents) == [12]
    assert tree_from_parents(99, parents) == []


def test_tree_from_parents_survives_cycles() -> None:
    assert tree_from_parents(5, {5: 6, 6: 5}) == [5, 6]


@given(st.dictionaries(st.integers(1, 40), st.integers(0, 40), max_size=40), st.integers(1, 40))
def test_tree_from_parents_properties(parents: dict[int, int], root: int) -> None:
    tree = tree_from_parents(root, parents)
    if root not in parents:
        assert tree == []
        return
    assert tree[0] == root
    assert len(tree) == len(set(tree))
    # Closed under "child of": every pid whose parent is in the tree is in the tree.
    members = set(tree)
    for pid, ppid in parents.items():
        if ppid in members:
            assert pid in members
    # And nothing else: each member except the root has its parent in the tree.
    for pid in tree[1:]:
        assert parents[pid] in members


# ---------------------------------------------------------------- names and ordering


def test_thread_id_from_path() -> None:
    name = f"rollout-2026-11-23T21-36-58-{NEW_ID}.jsonl"
    assert thread_id_from_path(Path("/x/sessions/2026/11/23") / name) == NEW_ID
    assert thread_id_from_path(name) == NEW_ID
    assert thread_id_from_path(f"rollout-{NEW_ID.upper()}.jsonl") == NEW_ID
    assert thread_id_from_path(f"rollout-2026-11-23T21-36-58-{NEW_ID}.json") is None
    assert thread_id_from_path(f"other-{NEW_ID}.jsonl") is None
    assert thread_id_from_path("rollout-2026-11-23T21-36-58.jsonl") is None
    assert thread_id_from_path(f"rollout-x-{NEW_ID}.jsonl (deleted)") is None


@given(st.uuids(), st.from_regex(r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}", fullmatch=True))
def test_thread_id_round_trip(thread: uuid.UUID, stamp: str) -> None:
    assert thread_id_from_path(f"rollout-{stamp}-{thread}.jsonl") == str(thread)


def _v7(ms: int, rand: int = 0) -> str:
    value = (ms << 80) | (0x7 << 76) | (0b10 << 62) | rand
    return str(uuid.UUID(int=value))


@given(st.integers(0, 2**48 - 1), st.integers(0, 2**48 - 1), st.integers(0, 2**40))
def test_uuid7_names_sort_by_creation_time(ms_a: int, ms_b: int, rand: int) -> None:
    # The embedded local-time stamp is deliberately misleading (e.g. a DST fall-back): the id wins.
    a = Path(f"rollout-2026-01-01T09-00-00-{_v7(ms_a, rand)}.jsonl")
    b = Path(f"rollout-2026-01-01T01-00-00-{_v7(ms_b, rand)}.jsonl")
    if ms_a != ms_b:
        expected = a if ms_a > ms_b else b
        assert newest_rollout([a, b]) == expected
        assert newest_rollout([b, a]) == expected


def test_non_v7_names_fall_back_to_the_timestamp() -> None:
    v4_old = Path(f"rollout-2025-01-01T10-00-00-{uuid.UUID(int=2**127 + 5, version=4)}.jsonl")
    v4_new = Path(f"rollout-2025-01-02T09-00-00-{uuid.UUID(int=5, version=4)}.jsonl")
    assert newest_rollout([v4_new, v4_old]) == v4_new
    assert newest_rollout([v4_old, v4_new]) == v4_new
    assert newest_rollout([]) is None
    assert rollout_sort_key(Path("rollout-x.jsonl")) < rollout_sort_key(v4_old)


def test_newest_rollout_matches_the_real_capture_ids() -> None:
    # From codex-cli.md: 01a20a53-… was created before 01a20a57-… (both UUIDv7).
    old = Path(f"rollout-2026-11-23T21-33-00-{OLD_ID}.jsonl")
    new = Path(f"rollout-2026-11-23T21-36-58-{NEW_ID}.jsonl")
    assert newest_rollout([new, old]) == new


# ---------------------------------------------------------------- fake /proc


class FakeProc:
    """A /proc look-alike: <pid>/stat and <pid>/fd/<n> symlinks."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir()
        (root / "self").mkdir()  # non-numeric entries are ignored
        (root / "meminfo").write_text("MemTotal: 1 kB\n")

    def add(self, pid: int, ppid: int, comm: str = "proc", fds: tuple[str, ...] = (),
            argv: tuple[str, ...] = ()) -> Path:
        d = self.root / str(pid)
        (d / "fd").mkdir(parents=True)
        (d / "stat").write_text(_stat_line(pid, comm, ppid))
        (d / "cmdline").write_bytes(b"".join(a.encode() + b"\0" for a in argv))
        for n, target in enumerate(fds):
            os.symlink(target, d / "fd" / str(n))
        return d


@pytest.fixture
def sessions(tmp_path: Path) -> Path:
    d = tmp_path / "codex_home" / "sessions" / "2026" / "11" / "23"
    d.mkdir(parents=True)
    return tmp_path / "codex_home" / "sessions"


def _rollout(sessions: Path, thread_id: str, stamp: str = "2026-11-23T21-36-58") -> str:
    path = sessions / "2026" / "11" / "23" / f"rollout-{stamp}-{thread_id}.jsonl"
    path.write_text('{"type":"session_meta"}\n')
    return os.path.realpath(path)


def test_open_rollouts_walks_the_tree_and_ignores_the_neighbour(tmp_path: Path, sessions: Path) -> None:
    old, new, neighbour = (_rollout(sessions, i) for i in (OLD_ID, NEW_ID, NEIGHBOUR_ID))
    sqlite = sessions.parent / "state_5.sqlite"
    sqlite.write_text("")
    outside = tmp_path / f"rollout-2026-11-23T21-36-58-{NEIGHBOUR_ID}.jsonl"
    outside.write_text("")
    not_rollout = sessions / "2026" / "11" / "23" / "notes.jsonl"
    not_rollout.write_text("")
    a_dir = sessions / "2026" / "11" / "23" / f"rollout-dir-{NEIGHBOUR_ID}.jsonl"
    a_dir.mkdir()

    proc = FakeProc(tmp_path / "proc")
    proc.add(1, 0, "init")
    # Window A: sh (100) -> node (101) -> codex (102) holds two rollouts and sqlite.
    proc.add(100, 1, "sh", fds=("/dev/pts/3", "pipe:[123]"))
    proc.add(101, 100, "node", fds=("socket:[9]", "anon_inode:[eventpoll]"))
    proc.add(102, 101, "codex", fds=(str(sqlite), old, new, str(outside), str(not_rollout), str(a_dir)))
    # Window B, a neighbour: its own rollout.
    proc.add(200, 1, "sh")
    proc.add(201, 200, "codex", fds=(neighbour, new + " (deleted)"))

    assert process_tree(100, proc.root) == [100, 101, 102]
    assert open_rollouts(100, sessions, proc.root) == [Path(old), Path(new)]
    assert newest_rollout(open_rollouts(100, sessions, proc.root)) == Path(new)
    assert open_rollouts(200, sessions, proc.root) == [Path(neighbour)]
    # starting below the pane's pid works too
    assert newest_rollout(open_rollouts(101, sessions, proc.root)) == Path(new)
    assert open_rollouts(999, sessions, proc.root) == []
    assert newest_rollout(open_rollouts(999, sessions, proc.root)) is None
    # accept= drops candidates (e.g. a /review sub-agent thread) before picking the newest.
    evidence = pane_evidence(100, sessions.parent, proc.root, accept=lambda p: NEW_ID not in p.name)
    assert evidence[2].rollouts == (Path(old),)


def test_open_rollouts_through_a_symlinked_sessions_dir(tmp_path: Path, sessions: Path) -> None:
    target = _rollout(sessions, NEW_ID)
    link = tmp_path / "link_home"
    link.symlink_to(sessions.parent)
    proc = FakeProc(tmp_path / "proc")
    proc.add(100, 1, fds=(target,))
    assert open_rollouts(100, link / "sessions", proc.root) == [Path(target)]


def test_vanished_processes_and_fds_are_skipped(tmp_path: Path, sessions: Path) -> None:
    target = _rollout(sessions, NEW_ID)
    proc = FakeProc(tmp_path / "proc")
    proc.add(100, 1, fds=(target,))
    proc.add(101, 100, fds=(target,))
    # 102 died between listdir and reading stat: a directory without files.
    (proc.root / "102").mkdir()
    # 103's stat is garbage (a half-written read): ignored.
    (proc.root / "103").mkdir()
    (proc.root / "103" / "stat").write_text("103 (x")
    # 104 is a child whose fd directory disappeared.
    proc.add(104, 100)
    os.rmdir(proc.root / "104" / "fd")
    assert process_tree(100, proc.root) == [100, 101, 104]
    assert open_rollouts(100, sessions, proc.root) == [Path(target)]


def test_permission_errors_are_skipped(
    tmp_path: Path, sessions: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests may run as root, where chmod does not deny anything: inject EACCES instead.
    target = _rollout(sessions, NEW_ID)
    proc = FakeProc(tmp_path / "proc")
    proc.add(100, 1, fds=(target,))
    proc.add(101, 100, fds=(target,))
    real_listdir, real_readlink = os.listdir, os.readlink

    def listdir(path: os.PathLike[str] | str) -> list[str]:
        if str(path).endswith("/100/fd"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_listdir(path)

    def readlink(path: os.PathLike[str] | str) -> str:
        if "/101/fd/" in str(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_readlink(path)

    monkeypatch.setattr(os, "listdir", listdir)
    monkeypatch.setattr(os, "readlink", readlink)
    assert open_rollouts(100, sessions, proc.root) == []
    monkeypatch.setattr(os, "readlink", real_readlink)
    assert open_rollouts(100, sessions, proc.root) == [Path(target)]


def test_real_proc_sees_this_process(tmp_path: Path, sessions: Path) -> None:
    # The unit suite also checks the readers against the real /proc with an fd held by this test.
    target = _rollout(sessions, NEW_ID)
    with open(target, "a", encoding="utf-8"):
        assert os.getpid() in process_tree(os.getppid())
        assert newest_rollout(open_rollouts(os.getpid(), sessions)) == Path(target)
    assert newest_rollout(open_rollouts(os.getpid(), sessions)) is None


def test_pane_evidence_reads_argv_rollouts_and_thread_locks(tmp_path: Path, sessions: Path) -> None:
    old, new, other = (_rollout(sessions, i) for i in (OLD_ID, NEW_ID, NEIGHBOUR_ID))
    locks = sessions.parent / "thread-writer-locks"
    locks.mkdir()
    lock = locks / f"{NEW_ID.upper()}.lock"
    lock.write_text("")
    stray_lock = sessions.parent / f"{OLD_ID}.lock"  # not in thread-writer-locks: ignored
    stray_lock.write_text("")
    proc = FakeProc(tmp_path / "proc")
    proc.add(100, 1, "sh", argv=("/bin/sh", "-c", "x"))
    proc.add(101, 100, "codex", fds=(old, new, str(lock), str(stray_lock)), argv=("/opt/codex", "--no-daemon"))
    proc.add(102, 101, "codex", fds=(other,), argv=("/opt/codex", "app-server", "--listen", "unix://"))
    evidence = pane_evidence(100, sessions.parent, proc.root, accept=lambda p: OLD_ID not in p.name)
    assert evidence == [
        ProcEvidence(100, ("/bin/sh", "-c", "x")),
        ProcEvidence(101, ("/opt/codex", "--no-daemon"), (Path(new),), (NEW_ID.lower(),)),
        ProcEvidence(102, ("/opt/codex", "app-server", "--listen", "unix://"), (Path(other),)),
    ]
    assert pane_evidence(999, sessions.parent, proc.root) == []
