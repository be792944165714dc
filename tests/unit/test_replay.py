"""Tests for ccbot.replay (the `replay` sub-command)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ccbot.render.tg_html import parse_html
from ccbot.replay import main
from tests.conftest import DATA

ROOT = Path(__file__).resolve().parent.parent.parent
MAIN_0169 = DATA / "rollouts" / "codex-0.169-main.jsonl"
OLD_BASIC = DATA / "rollouts" / "codex-old-basic.jsonl"


def blocks(text: str) -> list[tuple[str, str]]:
    """(kind, body) per printed message block."""
    parts = re.split(r"^--- #\d+ (\S+) ---\n", text, flags=re.M)
    assert parts[0] == ""
    return [(parts[i], parts[i + 1].rstrip("\n")) for i in range(1, len(parts), 2)]


def test_text_output_for_the_real_rollout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(MAIN_0169)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    printed = blocks(out)
    assert printed[:3] == [
        ("user", "\u276f hello mock"),
        ("assistant", "MOCK_REPLY: you said: hello mock"),
        ("turn_done", "✓ Done in 0.2 s · 8.7k tokens"),
    ]
    # Merging: review start + finish are one status message; the compaction turn's status line
    # and its "Done" line are one message.
    assert (
        "status",
        "Review started: current changes\nReview finished · patch is correct · 1 finding",
    ) in printed
    assert ("turn_done", "Context compacted\n✓ Done in 0.3 s · 4.9k tokens") in printed
    # 8 + 8 + 1 + 3 + 9 + 1 + 3 rendered pieces (see test_render_messages), minus 2 merges.
    assert len(printed) == 31
    for _, body in printed:
        parse_html(body)


def test_no_merge_and_hide_user(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(MAIN_0169), "--no-merge", "--hide-user"]) == 0
    printed = blocks(capsys.readouterr().out)
    assert len(printed) == 33 - 8
    assert all(kind != "user" for kind, _ in printed)


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(OLD_BASIC), "--format", "json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    objs = [json.loads(line) for line in lines]
    assert [o["index"] for o in objs] == list(range(1, len(objs) + 1))
    # Merged: the reasoning with the first command, the patch with the second command.
    assert [o["kind"] for o in objs] == [
        "user",
        "tool",
        "assistant",
        "tool",
        "assistant",
        "turn_done",
        "user",
        "interrupted",
    ]
    assert objs[1]["html"] == (
        "<blockquote expandable><b>Looking at the tests</b></blockquote>\n"
        "Ran <code>pytest -q</code> · exit 1 · 2 lines"
    )
    assert objs[1]["plain"] == "Looking at the tests\nRan pytest -q · exit 1 · 2 lines"
    assert objs[3]["plain"] == "Edited calc.py +1 \u22121\nRan pytest -q · exit 0 · 2 lines"
    assert objs[0]["turn_id"] == "turn-1"


def test_bad_lines_are_reported_with_line_numbers_and_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = MAIN_0169.read_bytes().split(b"\n")
    rollout = tmp_path / "rollout.jsonl"
    # line 1 session_meta, 2 task_started, 3 garbage, 4 blank, 5 a JSON array, then the user and
    # agent messages, and a last line cut in the middle without a newline.
    lines = [good[0], good[1], b"{not json", b"", b"[1, 2]", good[8], good[9], good[13][:40]]
    rollout.write_bytes(b"\n".join(lines))
    assert main([str(rollout)]) == 0
    out, err = capsys.readouterr()
    assert [kind for kind, _ in blocks(out)] == ["user", "assistant"]
    reports = err.splitlines()
    assert len(reports) == 3
    assert reports[0].startswith(f"{rollout}:3: skipped: invalid JSON")
    assert reports[1] == f"{rollout}:5: skipped: not a JSON object"
    assert reports[2].startswith(f"{rollout}:8: skipped: invalid JSON")
    assert reports[2].endswith("(last line has no newline: probably still being written)")


def test_unreadable_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.jsonl"
    assert main([str(missing)]) == 1
    assert capsys.readouterr().err == f"ccbot replay: cannot read {missing}: No such file or directory\n"
    assert main([str(tmp_path)]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main([str(MAIN_0169), "--format", "xml"]) == 2
    assert "usage: ccbot replay" in capsys.readouterr().err


def test_empty_file_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert main([str(empty)]) == 0
    assert capsys.readouterr() == ("", "")


def test_as_a_subprocess(tmp_path: Path) -> None:
    code = "import sys; from ccbot.replay import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", code, str(MAIN_0169)], capture_output=True, cwd=ROOT, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode("utf-8")
    assert text.startswith("--- #1 user ---\n\u276f hello mock\n")
    assert len(blocks(text)) == 31
    missing = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "missing.jsonl")],
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert missing.returncode == 1
    assert b"cannot read" in missing.stderr


def test_a_compressed_rollout_replays_like_the_plain_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(MAIN_0169)]) == 0
    plain = capsys.readouterr()
    assert main([str(MAIN_0169.with_name(MAIN_0169.name + ".zst"))]) == 0
    assert capsys.readouterr() == plain
