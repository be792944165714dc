from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccbot.state.model import SCHEMA_VERSION, Binding, State
from ccbot.state.store import StateError, StateStore


def sample() -> State:
    state = State(telegram_offset=17)
    b = Binding(chat_id=-1001, topic_id=5, window_id="@3", window_name="ccbot-5", cwd="/w", thread_id="t1",
                rollout_path="/r.jsonl", rollout_offset=99, decoder={"seen": ["a"]})
    state.bindings[b.key] = b
    return state


def test_roundtrip_and_schema(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.json")
    store.save(sample())
    data = json.loads((tmp_path / "state.json").read_text())
    assert data["schema"] == SCHEMA_VERSION
    loaded, report = store.load()
    assert report.source == "file"
    assert loaded.to_json() == sample().to_json()
    assert loaded.bindings[(-1001, 5)].rollout_offset == 99


def test_missing_file_is_empty(tmp_path: Path) -> None:
    state, report = StateStore(tmp_path / "none.json").load()
    assert report.source == "empty" and state.bindings == {} and state.telegram_offset == 0


def test_corrupt_file_kept_and_backup_used(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.json")
    first = sample()
    store.save(first)
    second = sample()
    second.telegram_offset = 18
    store.save(second)  # .bak now holds `first`
    (tmp_path / "state.json").write_text('{"schema": 1, "telegram_off')  # truncated write
    state, report = store.load()
    assert report.source == "backup"
    assert state.telegram_offset == 17
    kept = list(tmp_path.glob("state.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_text().startswith('{"schema": 1')


def test_corrupt_without_backup_starts_empty_but_keeps_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("garbage")
    _, report = StateStore(path).load()
    assert report.source == "empty" and "corrupt" in report.detail
    assert [p.read_text() for p in tmp_path.glob("state.json.corrupt-*")] == ["garbage"]


def test_old_schema_is_kept_beside_and_migrated(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    v0 = {"offset": 5, "topics": {"-100:7": {"window": "@2", "cwd": "/x"}}}
    path.write_text(json.dumps(v0))
    state, report = StateStore(path).load()
    assert report.source == "migrated"
    assert state.telegram_offset == 5
    assert state.bindings[(-100, 7)].window_id == "@2"
    assert json.loads((tmp_path / "state.json.v0.bak").read_text()) == v0


def test_newer_schema_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"schema": SCHEMA_VERSION + 1}))
    with pytest.raises(StateError, match="newer than this ccbot"):
        StateStore(path).load()


def test_unwritable_location_raises_state_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")  # works as root too, unlike chmod
    with pytest.raises(StateError, match="cannot write"):
        StateStore(blocker / "state.json").save(sample())


def test_state_files_are_private_even_when_they_existed_readable(tmp_path: Path) -> None:
    import os
    import stat

    path = tmp_path / "state.json"
    path.write_text("{}")
    os.chmod(path, 0o644)  # e.g. written by an older ccbot
    (tmp_path / "state.json.tmp").write_text("")
    os.chmod(tmp_path / "state.json.tmp", 0o666)
    store = StateStore(path)
    state = State()
    state.kept[(-1, 2)] = [{"text": "a secret plan", "message_id": 1}]
    store.save(state)
    store.save(state)  # the second save also makes the .bak link
    for name in ("state.json", "state.json.bak"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600, name


def test_refused_strangers_are_bounded_and_kept_in_order(tmp_path: Path) -> None:
    from ccbot.state.model import REFUSED_USERS_MAX

    state = State()
    assert state.note_refused(1) and not state.note_refused(1)
    for user in range(2, REFUSED_USERS_MAX + 50):
        assert state.note_refused(user)
    assert len(state.refused_users) == REFUSED_USERS_MAX and state.refused_users[-1] == REFUSED_USERS_MAX + 49
    assert 1 not in state.refused_users  # the oldest are forgotten first
    again = State.from_json(state.to_json())
    assert again.refused_users == state.refused_users


def test_an_input_journal_written_before_it_was_typed_loads_and_saves_in_the_same_shape(tmp_path: Path) -> None:
    # the journal entries as v1 files hold them (plain dicts, the optional keys only once set)
    entries = [{"text": "plain", "message_id": 1, "origin": "text"},
               {"text": "half typed", "message_id": 2, "origin": "voice", "typing": True, "rollout_size": 640},
               {"text": "kept", "message_id": 3, "origin": "text", "held": True, "told": "Trust this folder?"},
               {"text": "older file", "message_id": 4}]
    data = sample().to_json()
    data["bindings"]["-1001:5"]["pending_inputs"] = entries
    (tmp_path / "state.json").write_text(json.dumps(data))
    loaded, report = StateStore(tmp_path / "state.json").load()
    assert report.source == "file"
    journal = loaded.bindings[(-1001, 5)].pending_inputs
    assert [(e.text, e.typing, e.rollout_size, e.held, e.told) for e in journal] == [
        ("plain", False, None, False, None), ("half typed", True, 640, False, None),
        ("kept", False, None, True, "Trust this folder?"), ("older file", False, None, False, None)]
    assert loaded.to_json()["bindings"]["-1001:5"]["pending_inputs"] == [*entries[:3], {**entries[3], "origin": "text"}]
