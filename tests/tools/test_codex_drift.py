"""tools.codex_drift: the comparison on doctored copies of the recorded 0.169 fixtures (each change must be
named with the parser it touches; noise must not be), and the CLI's exit status."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ccbot.codex.versions import NEWEST_TESTED
from tests.conftest import DATA
from tools.codex_drift.__main__ import main
from tools.codex_drift.compare import Recording, compare
from tools.codex_harness import ensure_codex

FIXTURES = DATA / "codex-0.169"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    out = tmp_path / "new"
    shutil.copytree(FIXTURES, out)
    return out


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), "utf-8")


def report(drift: object) -> str:
    return "\n".join(drift.lines())  # type: ignore[attr-defined]


def test_an_identical_recording_shows_no_drift() -> None:
    drift = compare(FIXTURES, FIXTURES)
    assert not drift.parser_visible
    assert drift.screens == drift.rollouts == drift.coverage == []
    assert "nothing the parsers read has changed" in report(drift)


def test_other_scratch_paths_times_and_version_are_noise(copy: Path) -> None:
    manifest = json.loads((copy / "manifest.json").read_text())
    old_run = Path(manifest["sessions"]["plain"]["workdir"]).parent.name  # record-xxxxxxxx
    for path in (copy / "captures").glob("*.txt"):
        text = path.read_text("utf-8").replace(old_run, "record-abcdefgh")
        path.write_text(text.replace("v0.169.0", "v0.171.0").replace("Worked for 1s", "Worked for 7s"), "utf-8")
    (copy / "manifest.json").write_text(json.dumps(manifest).replace(old_run, "record-abcdefgh")
                                        .replace('"0.169.0"', '"0.171.0"'))
    drift = compare(FIXTURES, copy)
    assert drift.screens == [] and not drift.parser_visible, report(drift)
    assert "0.169.0 (recorded fixtures) → 0.171.0" in report(drift)


def test_every_folder_of_the_run_is_masked() -> None:
    run = Recording(Path("x"), {"sessions": {"s": {"workdir": "/root/.cache/ccbot/scratch/record-a1/work",
                                                   "codex_home": "/root/.cache/ccbot/scratch/record-a1/home-s"}}})
    text = "(/root/.cache/ccbot/scratch/record-a1/other) ~/.cache/ccbot/scratch/record-a1/work/x"
    if str(Path.home()) != "/root":
        text = text.replace("~", "/root")
    assert run.mask(text, "s") == "(<scratch>/other) <work>/x"


def test_a_reworded_approval_is_named_with_the_field_the_screen_parser_loses(copy: Path) -> None:
    edit(copy / "captures" / "approval_prompt.txt", "Would you like to run the following command?",
         "Allow this command to run?")
    drift = compare(FIXTURES, copy)
    assert drift.parser_visible
    text = report(drift)
    assert "approval_prompt: ccbot/screen/parse.py reads it differently" in text
    assert ("ScreenModel.approval.title: 'Would you like to run the following command?' → 'Approval requested'"
            in text)
    assert "+  Allow this command to run?" in text


def test_a_lost_hint_line_is_named_as_the_approval_the_parser_no_longer_sees(copy: Path) -> None:
    edit(copy / "captures" / "approval_prompt.txt", "Press enter to confirm or esc to cancel",
         "Press enter to confirm, esc to cancel")
    drift = compare(FIXTURES, copy)
    assert drift.parser_visible
    assert drift.screens[1].startswith("    ScreenModel.approval: ApprovalPrompt(title=")
    assert drift.screens[1].endswith("→ None")


def test_a_changed_field_is_named_exactly(copy: Path) -> None:
    edit(copy / "captures" / "approval_prompt.txt", "Environment: local", "Environment: remote")
    drift = compare(FIXTURES, copy)
    assert drift.screens[:2] == ["approval_prompt: ccbot/screen/parse.py reads it differently",
                                 "    ScreenModel.approval.environment: 'local' → 'remote'"]


def test_a_text_change_the_parser_ignores_is_reported_as_harmless(copy: Path) -> None:
    edit(copy / "captures" / "approval_prompt.txt", ">_ OpenAI Codex", ">_ OpenAI Codex CLI")
    drift = compare(FIXTURES, copy)
    assert drift.screens[0] == "approval_prompt: text changed; ccbot/screen/parse.py reads it the same"
    assert not drift.parser_visible


def test_rollout_changes_name_the_record_kinds_the_decoder_loses_or_does_not_know(copy: Path) -> None:
    rollout = copy / "rollouts" / "tool.jsonl"
    lines = rollout.read_text("utf-8").splitlines()
    kept = [line for line in lines if '"type":"function_call_output"' not in line]
    assert len(kept) < len(lines)
    kept.append(json.dumps({"timestamp": "2026-11-23T21:40:00.000Z", "ordinal": 99, "type": "event_msg",
                            "payload": {"type": "brand_new_event", "detail": 1}}))
    rollout.write_text("\n".join(kept) + "\n", "utf-8")
    drift = compare(FIXTURES, copy)
    text = report(drift)
    assert drift.parser_visible
    assert "tool: ccbot/codex/rollout.py (parse_line) decodes it differently" in text
    assert "ToolOutput: 1 → 0 records" in text
    assert "new line type, decoded as Ignored: event_msg/brand_new_event" in text
    assert "+ line shape event_msg / brand_new_event (fields: detail, type)" in text


def test_a_scenario_the_new_codex_cannot_get_through_is_listed(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["failed"] = {"hooks": "TooSlowError: "}
    manifest["files"] = [f for f in manifest["files"] if f["session"] != "hooks"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert main(["--against", str(FIXTURES), "--recording", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "scenario hooks: did not get through on 0.169.0: TooSlowError" in out
    assert "capture hooks_review: only in 0.169.0" in out
    assert main(["--against", str(FIXTURES), "--recording", str(FIXTURES)]) == 0
    assert main(["--against", str(FIXTURES), "--recording", str(copy / "nowhere")]) == 2


@pytest.mark.codex
@pytest.mark.tmux
def test_the_newest_tested_codex_shows_no_drift_the_parsers_see(
        tmux_bin: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The whole tool on a real release: every scenario recorded with the newest tested Codex reads as the
    fixtures do (else the tested range in ccbot/codex/versions.py claims too much)."""
    codex = ensure_codex(NEWEST_TESTED)
    status = main(["--codex", str(codex)])
    out = capsys.readouterr().out
    assert f"→ {NEWEST_TESTED} (fresh recording)" in out
    assert "## Coverage\nno change" in out  # every scenario got through, every capture was made
    assert status == 0, out
