"""SessionIndex over CODEX_HOME trees shaped like the ones Codex 0.169 writes (codex-cli.md §3)."""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from ccbot.codex.sessions import NOT_META, PENDING, SessionIndex, parse_meta_line

MAIN_ID = "01a20a5a-009b-7f71-8ca7-536926fbd324"
REVIEW_ID = "01a20a5a-4d6c-7f40-a810-8aff38ebfcf7"
SECOND_ID = "01a20a5a-6cb7-7b12-bf83-e5a502e0d8b0"
EXEC_ID = "01a20a5b-1111-7222-8333-444455556666"
REF_CWD = "/home/dev/demo/work"

# Verbatim first line of the reference rollout (codex-0.169/rollout_main.jsonl).
MAIN_META = (
    '{"timestamp":"2026-11-23T21:40:01.026Z","ordinal":0,"type":"session_meta","payload":{"account_scoped":true,'
    '"session_id":"01a20a5a-009b-7f71-8ca7-536926fbd324","id":"01a20a5a-009b-7f71-8ca7-536926fbd324",'
    '"timestamp":"2026-11-23T21:40:00.292Z","cwd":"/home/dev/demo/work","runtime_workspace_roots":'
    '["/home/dev/demo/work"],"originator":"codex-tui","cli_version":"0.169.0","source":"cli",'
    '"thread_source":"user","model_provider":"mock","base_instructions":{"text":"You are Codex, a coding '
    'agent running in the Codex CLI. (Offline test run against a mock model.)","provenance":{"type":"model",'
    '"model":"mock-model"}},"history_mode":"paginated","context_window":{"window_id":'
    '"01a20a5a-009e-7103-9f51-885df84eccd6"},"git":{"commit_hash":"bc60133e50951ebd471eb3abed896bbe3a15067f",'
    '"branch":"main"}}}'
)
# Verbatim second line of the same rollout.
MAIN_LINE_2 = (
    '{"timestamp":"2026-11-23T21:40:01.026Z","ordinal":1,"type":"event_msg","payload":{"type":"task_started",'
    '"turn_attribution":{"turn_id":"01a20a5a-0367-7342-b643-353fbc7bf719","turn_trigger":"user",'
    '"parent_turn_id":null,"initiating_agent_path":null,"root_turn_id":"01a20a5a-0367-7342-b643-353fbc7bf719"},'
    '"turn_id":"01a20a5a-0367-7342-b643-353fbc7bf719","root_turn_id":"01a20a5a-0367-7342-b643-353fbc7bf719",'
    '"started_at":1795470001,"model_context_window":190000,"collaboration_mode_kind":"default"}}'
)


def _meta(thread_id: str, created: str, **fields: object) -> str:
    """A session_meta line like MAIN_META with the given payload fields replaced."""
    obj = json.loads(MAIN_META)
    obj["timestamp"] = created
    obj["payload"].update(id=thread_id, session_id=thread_id, timestamp=created)
    obj["payload"].update(fields)
    return json.dumps(obj, separators=(",", ":"))


# The /review sub-agent: shape from the reference state_5 row (source, thread_source, parent,
# session_id = parent's id).
REVIEW_META = _meta(
    REVIEW_ID,
    "2026-11-23T21:40:19.949Z",
    source={"subagent": "review"},
    thread_source="subagent",
    parent_thread_id=MAIN_ID,
    session_id=MAIN_ID,
)
SECOND_META = _meta(SECOND_ID, "2026-11-23T21:40:27.960Z")
# `codex exec` threads: 0.169's exact fields were not captured; older releases wrote these two.
EXEC_META = _meta(EXEC_ID, "2026-11-23T21:45:00.000Z", source="exec", originator="codex_exec")

SESSION_INDEX = (
    '{"id":"01a20a5a-009b-7f71-8ca7-536926fbd324","thread_name":"Mock hello mock",'
    '"updated_at":"2026-11-23T21:40:01.232665803Z"}\n'
    '{"id":"01a20a5a-6cb7-7b12-bf83-e5a502e0d8b0","thread_name":"Mock run touch tmp codex",'
    '"updated_at":"2026-11-23T21:40:28.758262776Z"}\n'
)
HISTORY = (
    '{"session_id":"01a20a5a-009b-7f71-8ca7-536926fbd324","ts":1795470001,"text":"hello mock"}\n'
    '{"session_id":"01a20a5a-009b-7f71-8ca7-536926fbd324","ts":1795470001,"text":"think about the plan"}\n'
    '{"session_id":"01a20a5a-009b-7f71-8ca7-536926fbd324","ts":1795470024,"text":"hello after resume"}\n'
    '{"session_id":"01a20a5a-6cb7-7b12-bf83-e5a502e0d8b0","ts":1795470028,'
    '"text":"run touch /home/dev/demo/work/never.txt"}\n'
)

DAY = Path("sessions/2026/11/23")


def _rollout_name(stamp: str, thread_id: str) -> str:
    return f"rollout-2026-11-23T{stamp}-{thread_id}.jsonl"


def _write(path: Path, text: str, mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


class Home:
    """A CODEX_HOME like the reference run, with the work folder moved into tmp_path."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "codex_home"
        self.work = tmp_path / "work"
        self.work.mkdir()
        self.other = tmp_path / "other"
        self.other.mkdir()
        day = self.root / DAY
        self.main = _write(
            day / _rollout_name("21-40-00", MAIN_ID), self._fix(MAIN_META + "\n" + MAIN_LINE_2 + "\n"), 1000.0
        )
        self.review = _write(
            day / _rollout_name("21-40-19", REVIEW_ID), self._fix(REVIEW_META + "\n"), 3000.0
        )
        # Created later but touched earlier than main: order must follow mtime, not id.
        self.second = _write(day / _rollout_name("21-40-27", SECOND_ID), self._fix(SECOND_META + "\n"), 500.0)
        self.exec = _write(day / _rollout_name("21-45-00", EXEC_ID), self._fix(EXEC_META + "\n"), 4000.0)
        _write(self.root / "session_index.jsonl", SESSION_INDEX)
        _write(self.root / "history.jsonl", HISTORY)

    def _fix(self, text: str) -> str:
        return text.replace(REF_CWD, str(self.work))


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path)


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))
    }


def test_lists_user_threads_for_cwd_newest_first(home: Home) -> None:
    index = SessionIndex(home.root)
    index.refresh()
    threads = index.threads_for_cwd(home.work)
    assert [t.id for t in threads] == [MAIN_ID, SECOND_ID]  # review and exec left out
    main, second = threads
    assert main.name == "Mock hello mock"
    assert main.preview == "hello mock"
    assert second.name == "Mock run touch tmp codex"
    assert second.preview == "run touch /home/dev/demo/work/never.txt"
    assert main.path == home.main
    assert main.cwd == home.work
    assert main.updated == 1000.0
    assert main.created == datetime(2026, 11, 23, 21, 40, 0, 292000, tzinfo=UTC)
    assert (main.source, main.originator, main.is_subagent, main.is_exec) == (
        "cli",
        "codex-tui",
        False,
        False,
    )
    assert index.threads_for_cwd(home.other) == []


def test_get_and_path_for_include_hidden_kinds(home: Home) -> None:
    index = SessionIndex(home.root)
    index.refresh()
    review = index.get(REVIEW_ID)
    assert review is not None
    assert review.is_subagent and not review.is_exec
    assert review.source == '{"subagent":"review"}'
    assert review.name is None and review.preview is None
    exec_thread = index.get(EXEC_ID)
    assert exec_thread is not None
    assert exec_thread.is_exec and not exec_thread.is_subagent
    assert index.path_for(SECOND_ID) == home.second
    assert index.get("01a20a5a-0000-7000-8000-000000000000") is None
    assert index.path_for("nope") is None
    assert len(index) == 4


def test_subagent_detected_by_thread_source_alone(home: Home) -> None:
    line = _meta("01a20a5c-0000-7000-8000-00000000000a", "2026-11-23T22:00:00Z", thread_source="subagent")
    _write(home.root / DAY / _rollout_name("22-00-00", "01a20a5c-0000-7000-8000-00000000000a"), line + "\n")
    index = SessionIndex(home.root)
    index.refresh()
    info = index.get("01a20a5c-0000-7000-8000-00000000000a")
    assert info is not None and info.is_subagent and info.source == "cli"


def test_exec_detected_by_originator_or_source(home: Home) -> None:
    ids = ["01a20a5d-0000-7000-8000-000000000001", "01a20a5d-0000-7000-8000-000000000002"]
    _write(
        home.root / DAY / _rollout_name("22-01-00", ids[0]),
        home._fix(_meta(ids[0], "2026-11-23T22:01:00Z", originator="codex_exec")) + "\n",
    )
    _write(
        home.root / DAY / _rollout_name("22-02-00", ids[1]),
        home._fix(_meta(ids[1], "2026-11-23T22:02:00Z", source="exec")) + "\n",
    )
    index = SessionIndex(home.root)
    index.refresh()
    assert all(index.get(i) is not None and index.get(i).is_exec for i in ids)  # type: ignore[union-attr]
    assert [t.id for t in index.threads_for_cwd(home.work)] == [MAIN_ID, SECOND_ID]


def test_lazily_written_meta_is_retried(home: Home) -> None:
    new_id = "01a20a5e-0000-7000-8000-000000000000"
    path = _write(home.root / DAY / _rollout_name("22-10-00", new_id), "", 5000.0)
    index = SessionIndex(home.root)
    index.refresh()
    assert index.get(new_id) is None
    # A half-written first line (no newline, JSON cut short) is still not a thread.
    full = home._fix(_meta(new_id, "2026-11-23T22:10:00Z"))
    _write(path, full[:200], 5001.0)
    index.refresh()
    assert index.get(new_id) is None
    _write(path, full + "\n" + MAIN_LINE_2 + "\n", 5002.0)
    before = index.files_read
    index.refresh()
    assert index.files_read == before + 1
    assert index.threads_for_cwd(home.work)[0].id == new_id


def test_unchanged_and_appended_rollouts_are_not_reread(home: Home) -> None:
    index = SessionIndex(home.root)
    index.refresh()
    assert index.files_read == 6  # 4 rollout heads + session_index + history
    index.refresh()
    assert index.files_read == 6
    # Resume appends to the same rollout; the head is known so the file is not opened again,
    # but its new mtime moves it to the top.
    with open(home.second, "a", encoding="utf-8") as f:
        f.write(MAIN_LINE_2 + "\n")
    os.utime(home.second, (2000.0, 2000.0))
    index.refresh()
    assert index.files_read == 6
    assert [t.id for t in index.threads_for_cwd(home.work)] == [SECOND_ID, MAIN_ID]


def test_replaced_rollout_is_reread(home: Home) -> None:
    index = SessionIndex(home.root)
    index.refresh()
    home.second.unlink()
    _write(home.second, home._fix(_meta(SECOND_ID, "2026-11-23T21:40:27Z", cwd=str(home.other))) + "\n")
    index.refresh()
    assert [t.id for t in index.threads_for_cwd(home.other)] == [SECOND_ID]


def test_deleted_rollout_disappears(home: Home) -> None:
    index = SessionIndex(home.root)
    index.refresh()
    home.main.unlink()
    index.refresh()
    assert index.get(MAIN_ID) is None
    assert [t.id for t in index.threads_for_cwd(home.work)] == [SECOND_ID]


def test_session_index_is_read_incrementally_last_name_wins(home: Home) -> None:
    index = SessionIndex(home.root)
    index.refresh()
    with open(home.root / "session_index.jsonl", "a", encoding="utf-8") as f:
        f.write(
            json.dumps({"id": MAIN_ID, "thread_name": "Renamed", "updated_at": "2026-11-24T00:00:00Z"}) + "\n"
        )
        f.write('{"id":"' + SECOND_ID + '","thread_name":"half a li')  # still being written
    before = index.files_read
    index.refresh()
    assert index.files_read == before + 1
    assert index.get(MAIN_ID).name == "Renamed"  # type: ignore[union-attr]
    assert index.get(SECOND_ID).name == "Mock run touch tmp codex"  # type: ignore[union-attr]
    with open(home.root / "session_index.jsonl", "a", encoding="utf-8") as f:
        f.write('ne"}\n')
    index.refresh()
    assert index.get(SECOND_ID).name == "half a line"  # type: ignore[union-attr]


def test_history_first_text_wins_and_rewrite_restarts(home: Home) -> None:
    index = SessionIndex(home.root)
    index.refresh()
    new_id = "01a20a5f-0000-7000-8000-000000000000"
    _write(
        home.root / DAY / _rollout_name("22-20-00", new_id),
        home._fix(_meta(new_id, "2026-11-23T22:20:00Z")) + "\n",
    )
    with open(home.root / "history.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps({"session_id": new_id, "ts": 1, "text": "  first\n\nprompt  "}) + "\n")
        f.write(json.dumps({"session_id": new_id, "ts": 2, "text": "second prompt"}) + "\n")
        f.write("not json\n")
    index.refresh()
    assert index.get(new_id).preview == "first prompt"  # type: ignore[union-attr]
    # Codex trims history.jsonl by rewriting it: a shorter file means start again.
    _write(
        home.root / "history.jsonl", json.dumps({"session_id": MAIN_ID, "ts": 9, "text": "trimmed"}) + "\n"
    )
    index.refresh()
    assert index.get(MAIN_ID).preview == "trimmed"  # type: ignore[union-attr]
    assert index.get(new_id).preview is None  # type: ignore[union-attr]


def test_refresh_never_writes_into_codex_home(home: Home, tmp_path: Path) -> None:
    before = _snapshot(home.root)
    index = SessionIndex(home.root, cache_path=tmp_path / "state" / "sessions-cache.json")
    index.refresh()
    index.refresh()
    assert _snapshot(home.root) == before
    assert (tmp_path / "state" / "sessions-cache.json").exists()


def test_cache_inside_codex_home_is_refused(home: Home) -> None:
    with pytest.raises(ValueError, match="CODEX_HOME"):
        SessionIndex(home.root, cache_path=home.root / "ccbot-cache.json")


def test_cache_makes_restart_read_nothing(home: Home, tmp_path: Path) -> None:
    cache = tmp_path / "cache.json"
    first = SessionIndex(home.root, cache_path=cache)
    first.refresh()
    expected = first.threads_for_cwd(home.work)
    second = SessionIndex(home.root, cache_path=cache)
    second.refresh()
    assert second.files_read == 0
    assert second.threads_for_cwd(home.work) == expected
    assert second.get(REVIEW_ID) == first.get(REVIEW_ID)


def test_cache_is_rewritten_only_when_something_costly_changed(home: Home, tmp_path: Path) -> None:
    cache = tmp_path / "cache.json"
    index = SessionIndex(home.root, cache_path=cache)
    index.refresh()
    os.utime(cache, ns=(1, 1))
    with open(home.main, "a", encoding="utf-8") as f:
        f.write(MAIN_LINE_2 + "\n")
    index.refresh()
    assert cache.stat().st_mtime_ns == 1  # an append to a known rollout is not worth a write
    new_id = "01a20a61-0000-7000-8000-000000000000"
    _write(
        home.root / DAY / _rollout_name("23-10-00", new_id),
        home._fix(_meta(new_id, "2026-11-23T23:10:00Z")) + "\n",
    )
    index.refresh()
    assert cache.stat().st_mtime_ns != 1
    assert SessionIndex(home.root, cache_path=cache).get(new_id) is None  # nothing loaded before refresh
    reloaded = SessionIndex(home.root, cache_path=cache)
    reloaded.refresh()
    assert reloaded.files_read == 0
    assert reloaded.get(new_id) is not None


def test_corrupt_or_foreign_cache_is_ignored(home: Home, tmp_path: Path) -> None:
    cache = tmp_path / "cache.json"
    for junk in ["{not json", json.dumps({"version": 1, "codex_home": "/elsewhere"}), '{"version":1}', "[]"]:
        cache.write_text(junk)
        index = SessionIndex(home.root, cache_path=cache)
        index.refresh()
        assert index.files_read == 6
        assert [t.id for t in index.threads_for_cwd(home.work)] == [MAIN_ID, SECOND_ID]


def test_cwd_matches_through_a_symlink(home: Home, tmp_path: Path) -> None:
    link = tmp_path / "link-to-work"
    link.symlink_to(home.work)
    index = SessionIndex(home.root)
    index.refresh()
    assert [t.id for t in index.threads_for_cwd(link)] == [MAIN_ID, SECOND_ID]
    assert [t.id for t in index.threads_for_cwd(Path(str(home.work) + "/"))] == [MAIN_ID, SECOND_ID]


def test_non_meta_first_line_is_ignored(home: Home) -> None:
    bad_id = "01a20a60-0000-7000-8000-000000000000"
    _write(home.root / DAY / _rollout_name("23-00-00", bad_id), MAIN_LINE_2 + "\n")
    _write(home.root / DAY / "notes.jsonl", home._fix(MAIN_META) + "\n")  # not a rollout name
    index = SessionIndex(home.root)
    index.refresh()
    assert index.get(bad_id) is None
    assert len(index) == 4


def test_older_generation_meta_and_huge_first_line(home: Home) -> None:
    old_id = "0198a0a0-0000-7000-8000-000000000001"
    old = {
        "timestamp": "2025-08-01T10:00:00.000Z",
        "type": "session_meta",
        "payload": {
            "id": old_id,
            "timestamp": "2025-08-01T10:00:00.000Z",
            "cwd": str(home.work),
            "originator": "codex_cli_rs",
            "cli_version": "0.20.0",
            "instructions": "x" * 200_000,  # far beyond one 64 KB head read
        },
    }
    _write(
        home.root / "sessions/2025/08/01" / f"rollout-2025-08-01T10-00-00-{old_id}.jsonl",
        json.dumps(old) + "\n",
        100.0,
    )
    index = SessionIndex(home.root)
    index.refresh()
    info = index.get(old_id)
    assert info is not None
    assert (info.source, info.is_exec, info.is_subagent) == ("", False, False)
    assert [t.id for t in index.threads_for_cwd(home.work)] == [MAIN_ID, SECOND_ID, old_id]


def test_big_tree_second_refresh_reads_nothing(tmp_path: Path) -> None:
    root = tmp_path / "codex_home"
    work = "/srv/project"
    n = 2000
    for i in range(n):
        thread_id = f"01a20a5a-{i:04x}-7000-8000-000000000000"
        day = root / "sessions" / "2026" / "11" / f"{1 + i % 28:02d}"
        line = _meta(thread_id, "2026-11-23T21:40:00Z", cwd=work)
        _write(day / _rollout_name("21-40-00", thread_id), line + "\n", 1_000_000.0 + i)
    index = SessionIndex(root)
    index.refresh()
    assert index.files_read == n
    index.refresh()
    assert index.files_read == n
    threads = index.threads_for_cwd(Path(work))
    assert len(threads) == n
    assert threads[0].id == f"01a20a5a-{n - 1:04x}-7000-8000-000000000000"


def test_parse_meta_line_classifies() -> None:
    name = _rollout_name("21-40-00", MAIN_ID)
    meta = parse_meta_line(MAIN_META.encode(), name, complete=True)
    assert not isinstance(meta, type(PENDING)) and not isinstance(meta, type(NOT_META))
    assert parse_meta_line(b"", name, complete=False) is PENDING
    assert parse_meta_line(MAIN_META[:100].encode(), name, complete=False) is PENDING
    assert parse_meta_line(MAIN_META[:100].encode(), name, complete=True) is NOT_META
    assert parse_meta_line(MAIN_LINE_2.encode(), name, complete=True) is NOT_META
    # Without an id in the payload the file name supplies it.
    no_id = json.loads(MAIN_META)
    del no_id["payload"]["id"]
    parsed = parse_meta_line(json.dumps(no_id).encode(), name, complete=True)
    assert getattr(parsed, "id", None) == MAIN_ID


@given(st.binary(max_size=300), st.text(max_size=80), st.booleans())
def test_parse_meta_line_never_raises(line: bytes, name: str, complete: bool) -> None:
    parse_meta_line(line, name, complete=complete)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=10,
    ),
    st.sampled_from(["id", "cwd", "timestamp", "source", "originator", "thread_source"]),
)
def test_parse_meta_line_survives_odd_field_types(value: object, field: str) -> None:
    obj = json.loads(MAIN_META)
    obj["payload"][field] = value
    parse_meta_line(json.dumps(obj).encode(), _rollout_name("21-40-00", MAIN_ID), complete=True)


def _compress(path: Path) -> Path:
    """Store ``path`` as Codex stores a compressed rollout: ``<name>.zst`` in its place."""
    zipped = path.with_name(path.name + ".zst")
    zipped.write_bytes(zstandard.ZstdCompressor().compress(path.read_bytes()))
    mtime = path.stat().st_mtime
    os.utime(zipped, (mtime, mtime))
    path.unlink()
    return zipped


def test_a_compressed_rollout_is_listed_like_the_plain_one(home: Home) -> None:
    plain = SessionIndex(home.root)
    plain.refresh()
    before = plain.get(MAIN_ID)
    zipped = _compress(home.main)
    index = SessionIndex(home.root)
    index.refresh()
    after = index.get(MAIN_ID)
    assert before is not None and after is not None
    assert after.path == zipped and index.path_for(MAIN_ID) == zipped
    assert after == dataclasses.replace(before, path=zipped)  # name, preview, cwd, times: all the same
    assert [t.id for t in index.threads_for_cwd(home.work)] == [MAIN_ID, SECOND_ID]


def test_the_plain_file_wins_while_codex_writes_a_compressed_thread_back_out(home: Home) -> None:
    zipped = _compress(home.main)
    plain = _write(home.main, home._fix(MAIN_META + "\n"), 900.0)  # older mtime than the .zst
    index = SessionIndex(home.root)
    index.refresh()
    assert index.path_for(MAIN_ID) == plain
    zipped.unlink()  # Codex removes the .zst once the plain file is out
    index.refresh()
    assert index.path_for(MAIN_ID) == plain


def test_a_corrupt_compressed_rollout_is_skipped(home: Home) -> None:
    zipped = _compress(home.main)
    zipped.write_bytes(zipped.read_bytes()[:20])
    index = SessionIndex(home.root)
    index.refresh()
    assert index.get(MAIN_ID) is None
    assert [t.id for t in index.threads_for_cwd(home.work)] == [SECOND_ID]
