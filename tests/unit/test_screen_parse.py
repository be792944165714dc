"""parse_screen against real Codex 0.169 pane captures (reference set + our recorded set) and fuzz."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccbot.screen.parse import ChoiceOption, ScreenModel, parse_screen, strip_ansi
from tests.conftest import DATA

REFERENCE = DATA / "codex-0.169" / "reference"
CAPTURES = DATA / "codex-0.169" / "captures"
MANIFEST = json.loads((DATA / "codex-0.169" / "manifest.json").read_text("utf-8"))
WORK = MANIFEST["sessions"]["approve"]["workdir"]


def parse_file(path: Path) -> ScreenModel:
    return parse_screen(path.read_text("utf-8"))


# Expected values come from reading each capture (see the files); keys not listed must be "empty".
IDLE: dict[str, Any] = {"composer_visible": True, "footer_ready": True}
DONE: dict[str, Any] = {**IDLE, "turn_ended_after_last_prompt": True, "answer_after_last_prompt": True}

REFERENCE_EXPECTED: dict[str, dict[str, Any]] = {
    "01_startup_idle": IDLE,
    "02_text_reply": {**DONE, "last_prompt": "hello mock"},
    "03_reasoning_reply": {**DONE, "last_prompt": "think about the plan"},
    "04_busy_working": {**IDLE, "busy_marker": True, "last_prompt": "slow 8 tell me a story"},
    "05_busy_streaming": {**IDLE, "last_prompt": "slow 8 tell me a story", "answer_after_last_prompt": True},
    "06_after_completion": {**DONE, "last_prompt": "slow 8 tell me a story"},
    "07_interrupted": {
        **IDLE,
        "last_prompt": "slow 10 please get interrupted",
        "turn_ended_after_last_prompt": True,
    },
    "08_tool_sandboxed_no_approval": {**DONE, "last_prompt": "run ls -la"},
    "09_approval_prompt": {
        "last_prompt": "run touch /home/dev/demo/work/escalated.txt escalate",
        "answer_after_last_prompt": True,
        "approval": True,
    },
    "10_after_approval": {**DONE, "last_prompt": "run touch /home/dev/demo/work/escalated.txt escalate"},
    "11_slash_status": {**DONE, "last_prompt": "run touch /home/dev/demo/work/escalated.txt escalate"},
    "12_slash_diff": {"popup": "diff_pager"},
    "13_slash_review_menu": {"popup": "review_menu", "turn_ended_after_last_prompt": True},
    # Row 0 is the pinned copy of a prompt that scrolled away; "(no output)" below it is its answer.
    "14_slash_review_done": {**DONE, "last_prompt": "run touch /home/dev/demo/work/escalated.txt escalate"},
    "15_slash_init": {**IDLE, "turn_ended_after_last_prompt": True},
    "16_slash_compact": {**IDLE, "turn_ended_after_last_prompt": True},
    "17_exit_message": {"exited": ("01a20a5a-009b-7f71-8ca7-536926fbd324", "Mock hello mock", 0)},
    "18_resume_last": {**IDLE, "turn_ended_after_last_prompt": True},
    "19_after_resume_turn": {**DONE, "last_prompt": "hello after resume"},
    "20_slash_clear": IDLE,
    "21_exit_after_clear": {"exited": ("01a20a5a-6440-7d21-abe8-d326f044096d", None, 0)},
    "22_never_startup": IDLE,
    "23_never_tool_ran_without_prompt": {**DONE, "last_prompt": "run touch /home/dev/demo/work/never.txt"},
}

ESCALATE_PROMPT = f"run touch {WORK}/escalated.txt escalate"
RECORDED_EXPECTED: dict[str, dict[str, Any]] = {
    "startup": {"composer_visible": True},
    "idle": IDLE,
    "typed_not_submitted": {**IDLE, "composer_text": "hello mock"},
    "plain_reply": {**DONE, "last_prompt": "hello mock"},
    "exited": {"exited": ("<thread id of rollouts/plain.jsonl>", "Mock hello mock", 0)},
    "busy_working": {**IDLE, "busy_marker": True, "last_prompt": "slow 8 tell me a story"},
    "busy_streaming": {**IDLE, "last_prompt": "slow 8 tell me a story", "answer_after_last_prompt": True},
    "after_completion": {**DONE, "last_prompt": "slow 8 tell me a story"},
    "busy_steer_hint": {
        **IDLE,
        "busy_marker": True,
        "last_prompt": "slow 6 second story",
        "composer_text": "queued follow-up",
        "steer_hint": True,
    },
    "busy_queued": {
        **IDLE,
        "busy_marker": True,
        "last_prompt": "slow 6 second story",
        "queued_inputs": ("queued follow-up",),
    },
    "after_queued": {**DONE, "last_prompt": "queued follow-up"},
    "interrupted": {
        **IDLE,
        "last_prompt": "slow 10 please get interrupted",
        "turn_ended_after_last_prompt": True,
    },
    "reasoning": {**IDLE, "busy_marker": True, "last_prompt": "think slow 6 about the plan"},
    "reasoning_done": {**DONE, "last_prompt": "think slow 6 about the plan"},
    "tool_run": {**DONE, "last_prompt": "run echo tool-output-line"},
    "approval_prompt": {"last_prompt": ESCALATE_PROMPT, "answer_after_last_prompt": True, "approval": True},
    "approval_second_selected": {
        "last_prompt": ESCALATE_PROMPT,
        "answer_after_last_prompt": True,
        "approval": True,
    },
    "after_approval": {**DONE, "last_prompt": ESCALATE_PROMPT},
    "slash_status": {**DONE, "last_prompt": ESCALATE_PROMPT},
    "slash_popup": {**DONE, "last_prompt": ESCALATE_PROMPT, "composer_text": "/diff"},
    "diff_pager": {"popup": "diff_pager"},
    "review_menu": {"popup": "review_menu", "turn_ended_after_last_prompt": True},
    "warnings": {
        "popup": "warnings",
        "last_prompt": ESCALATE_PROMPT,
        "turn_ended_after_last_prompt": True,
        "answer_after_last_prompt": True,
    },
    "approval_denied": {**DONE, "last_prompt": f"run touch {WORK}/denied.txt escalate"},
    "mock_fail": {**IDLE, "last_prompt": "mock:fail please", "turn_ended_after_last_prompt": True},
    # The prompt scrolled away and is pinned on row 0; the rest of the answer follows it.
    "long_answer": {**DONE, "last_prompt": "long 10000"},
    "trust": {"popup": "trust"},
    "after_trust": IDLE,
    "exited_no_turns": {"exited": ("<the Session ID shown>", None, 0)},
    # Declining folder trust (Esc) does not exit: Codex opens its Agent command center.
    "agent_center": {"popup": "agent_center"},
    "exited_from_agent_center": {"exited": (None, None, 0)},
    "hooks_review": {"popup": "hooks_review"},
    # The hooks list (also reachable mid-session) is not recognised: no footer, so the state machine
    # keeps what it had; its highlighted "› SessionStart" row reads as a prompt.
    "hooks_list": {"last_prompt": "\n".join([
        "SessionStart          1           0           1           When a new session starts",
        "SessionEnd            0           0           0           Right before a session ends",
        "UserPromptSubmit      0           0           0           When the user submits a prompt"])},
    "after_hooks_review": IDLE,
    "resume_cwd": {"popup": "resume_cwd"},
    "after_resume_cwd": {**DONE, "last_prompt": "hello mock"},
    # the resumed conversation shows above the lock notice
    "open_elsewhere": {"turn_ended_after_last_prompt": True, "answer_after_last_prompt": True,
                       "last_prompt": "hello mock", "popup": "open_elsewhere"},
}


def summary(model: ScreenModel) -> dict[str, Any]:
    """The model reduced to the fields the expectation tables talk about (non-empty ones only)."""
    out: dict[str, Any] = {
        "composer_visible": model.composer_visible,
        "composer_text": model.composer_text,
        "footer_ready": model.footer_ready,
        "busy_marker": model.busy_marker,
        "last_prompt": model.last_prompt,
        "turn_ended_after_last_prompt": model.turn_ended_after_last_prompt,
        "answer_after_last_prompt": model.answer_after_last_prompt,
        "approval": model.approval is not None,
        "popup": model.popup,
        "queued_inputs": model.queued_inputs,
        "steer_hint": model.steer_hint,
        "exited": None
        if model.exited is None
        else (model.exited.resume_id, model.exited.thread_name, model.exited.return_code),
    }
    return {key: value for key, value in out.items() if value not in (None, False, ())}


def test_every_capture_has_an_expectation() -> None:
    assert {p.stem for p in REFERENCE.glob("*.txt")} == set(REFERENCE_EXPECTED)
    recorded = {
        p.name.removesuffix(".txt") for p in CAPTURES.glob("*.txt") if not p.name.endswith(".ansi.txt")
    }
    assert recorded == set(RECORDED_EXPECTED)


@pytest.mark.parametrize("name", sorted(REFERENCE_EXPECTED))
def test_reference_capture(name: str) -> None:
    assert summary(parse_file(REFERENCE / f"{name}.txt")) == REFERENCE_EXPECTED[name]


def _recorded_expectation(name: str) -> dict[str, Any]:
    expected = dict(RECORDED_EXPECTED[name])
    if name == "exited":
        thread = next(f["thread_id"] for f in MANIFEST["files"] if f["path"] == "rollouts/plain.jsonl")
        expected["exited"] = (thread, "Mock hello mock", 0)
    elif name == "exited_no_turns":
        # A thread without turns has no rollout; the id is only on screen.
        match = re.search(r"Session ID: (\S+)", (CAPTURES / f"{name}.txt").read_text("utf-8"))
        assert match is not None
        expected["exited"] = (match.group(1), None, 0)
    return expected


@pytest.mark.parametrize("name", sorted(RECORDED_EXPECTED))
def test_recorded_capture(name: str) -> None:
    assert summary(parse_file(CAPTURES / f"{name}.txt")) == _recorded_expectation(name)


@pytest.mark.parametrize("name", sorted(RECORDED_EXPECTED))
def test_coloured_capture_parses_like_plain(name: str) -> None:
    coloured = (CAPTURES / f"{name}.ansi.txt").read_text("utf-8")
    assert "\x1b[" in coloured or name.startswith(("exited_no", "exited_from"))
    assert summary(parse_screen(coloured)) == _recorded_expectation(name)


def test_footer_fields() -> None:
    model = parse_file(REFERENCE / "02_text_reply.txt")
    assert model.footer is not None
    assert (model.footer.model, model.footer.effort) == ("mock-model", "default")
    assert model.footer.cwd == "/home/dev/demo/work"
    assert model.footer.thread_name == "Mock hello mock"
    fresh = parse_file(CAPTURES / "idle.txt").footer
    assert fresh is not None and fresh.thread_name is None
    # Codex abbreviates the home directory to "~" in the footer.
    assert fresh.cwd.startswith("~/") and WORK.endswith(fresh.cwd[1:])


def test_reference_approval_details() -> None:
    approval = parse_file(REFERENCE / "09_approval_prompt.txt").approval
    assert approval is not None
    assert approval.title == "Would you like to run the following command?"
    assert approval.command == "touch /home/dev/demo/work/escalated.txt"
    assert (
        approval.reason
        == "Mock model wants to run `touch /home/dev/demo/work/escalated.txt` outside the sandbox"
    )
    assert approval.environment == "local"
    assert approval.options == (
        ("Yes, proceed", "y"),
        (
            "Yes, and don't ask again for commands that start with `touch /home/dev/demo/work/escalated.txt`",
            "p",
        ),
        ("No, and tell Codex what to do differently", "esc"),
    )
    assert approval.selected == 0


def test_recorded_approval_rejoins_wrapped_lines() -> None:
    # In this capture both the reason and option 2 wrap at 120 columns (option 2 right after a "/").
    first = parse_file(CAPTURES / "approval_prompt.txt").approval
    second = parse_file(CAPTURES / "approval_second_selected.txt").approval
    assert first is not None and second is not None
    assert first.command == f"touch {WORK}/escalated.txt"
    assert first.reason == f"Mock model wants to run `touch {WORK}/escalated.txt` outside the sandbox"
    assert [option.key for option in first.options] == ["y", "p", "esc"]
    assert (
        first.options[1].label
        == f"Yes, and don't ask again for commands that start with `touch {WORK}/escalated.txt`"
    )
    assert (first.selected, second.selected) == (0, 1)
    assert first.options == second.options


def test_popup_details() -> None:
    review = parse_file(CAPTURES / "review_menu.txt").popup_detail
    assert review is not None
    assert review.title == "Select a review preset"
    assert [o.key for o in review.options] == ["1", "2", "3", "4"]
    assert review.options[1] == ChoiceOption("Review uncommitted changes", "2")
    assert review.selected == 0
    trust = parse_file(CAPTURES / "trust.txt").popup_detail
    assert trust is not None
    assert trust.options == (("Trust and continue", "1"), ("Back to Agent Command Center", "2"))
    assert trust.hint == "enter continue · esc back"
    warnings = parse_file(CAPTURES / "warnings.txt").popup_detail
    assert warnings is not None and warnings.title.startswith("Warnings · 1 of 1")


RESUMED = MANIFEST["sessions"]["resume_cwd"]  # resumed from another directory than the thread's
STARTUP_SCREENS = {
    "trust": ("Trust this folder?", ["Trust and continue", "Back to Agent Command Center"]),
    "hooks_review": ("Hooks need review", ["Review hooks", "Trust all and continue",
                                           "Continue without trusting (hooks won't run)"]),
    "resume_cwd": ("Working directory · resume", [
        f"Use session directory ({RESUMED['workdir']})",
        f"Use current directory ({RESUMED['resumed_from']})",
        "Always use session directory", "Always use current directory"]),
}


@pytest.mark.parametrize("name", sorted(STARTUP_SCREENS))
def test_recorded_startup_screens_are_flagged_startup(name: str) -> None:
    for suffix in (".txt", ".ansi.txt"):
        popup = parse_file(CAPTURES / f"{name}{suffix}").popup_detail
        assert popup is not None and popup.startup
        title, labels = STARTUP_SCREENS[name]
        assert popup.title == title
        assert [o.label for o in popup.options] == labels
        assert popup.selected == 0


def test_a_thread_open_in_another_app_is_a_startup_screen_answered_by_its_hotkeys() -> None:
    for suffix in (".txt", ".ansi.txt"):
        popup = parse_file(CAPTURES / f"open_elsewhere{suffix}").popup_detail
        assert popup is not None and popup.startup
        assert (popup.kind, popup.title) == ("open_elsewhere", "This conversation is open in another app")
        assert [o.key for o in popup.options] == ["r", "f"] and popup.selected is None
        assert "r retry" in popup.hint and "f fork" in popup.hint
    # the same words in the conversation above an idle composer are not the screen
    assert parse_file(CAPTURES / "idle.txt").popup_detail is None


@pytest.mark.parametrize("name", ["review_menu", "diff_pager", "warnings", "agent_center", "approval_prompt"])
def test_mid_session_screens_are_not_startup(name: str) -> None:
    model = parse_file(CAPTURES / f"{name}.txt")
    assert model.approval is not None or (model.popup_detail is not None and not model.popup_detail.startup)


def test_agent_command_center_after_declined_trust() -> None:
    popup = parse_file(CAPTURES / "agent_center.txt").popup_detail
    assert popup is not None
    assert (popup.kind, popup.title, popup.options) == ("agent_center", "Agent command center", ())
    assert "enter open" in popup.hint


def test_status_text_is_the_busy_line() -> None:
    model = parse_file(CAPTURES / "reasoning.txt")
    assert model.status_text is not None
    assert model.status_text.startswith(
        "The mock model is pretending to think about: think slow 6 about the plan ("
    )
    assert model.status_text.endswith("esc to interrupt)")


def test_strip_ansi_removes_csi_osc_and_charset_sequences() -> None:
    text = "\x1b[1;2m\u203a \x1b[0m\x1b]8;;https://x.invalid\x1b\\link\x1b]8;;\x1b\\ \x1b(Bdone\x1b[39m"
    assert strip_ansi(text) == "\u203a link done"


def test_multi_line_composer_text() -> None:
    screen = "\n".join(
        [
            "\u203a hello mock",
            "",
            "\u2022 MOCK_REPLY: you said: hello mock",
            "",
            "  Worked for <1s \u2022 21:40",
            "",
            "\u203a first line",
            "  second line",
            "",
            "  mock-model default \u00b7 /w",
            "",
        ]
    )
    model = parse_screen(screen)
    assert model.composer_text == "first line\nsecond line"
    assert model.last_prompt == "hello mock"
    assert model.turn_ended_after_last_prompt


def test_exit_text_inside_live_session_is_not_an_exit() -> None:
    screen = "\n".join(
        [
            "\u203a what does Session ID: 01a20a5a-6440-7d21-abe8-d326f044096d mean",
            "",
            "  Session ID: 01a20a5a-6440-7d21-abe8-d326f044096d",
            "",
            "\u203a Ask Codex to do anything",
            "",
            "  mock-model default \u00b7 /w",
        ]
    )
    assert parse_screen(screen).exited is None


def test_pinned_prompt_with_streaming_answer_counts_as_answered_not_ended() -> None:
    screen = "\n".join(
        [
            "\u203a long 10000",
            "  some answer text in the middle of a long answer",
            "",
            "\u203a Ask Codex to do anything",
            "",
            "  mock-model default \u00b7 /w",
        ]
    )
    model = parse_screen(screen)
    assert model.last_prompt == "long 10000"
    assert model.answer_after_last_prompt and not model.turn_ended_after_last_prompt


LINE_PIECES = st.sampled_from(
    [
        "\u203a ",
        "\u2022 ",
        "\u25a0 ",
        "  ",
        "     ",
        "Worked for <1s",
        "(0s \u2022 esc to interrupt)",
        "Ask Codex to do anything",
        "mock-model default \u00b7 /w",
        " \u00b7 ",
        "1. ",
        "(y)",
        "Would you like to run the following command?",
        "Press enter to confirm or esc to cancel",
        "enter select \u00b7 esc back",
        "q close",
        "to scroll",
        "Session ID: 01a20a5a-6440-7d21-abe8-d326f044096d",
        "To continue this session, run:",
        "codex resume 01a20a5a-6440-7d21-abe8-d326f044096d",
        "[codex exited rc=1]",
        "\u2022 Queued follow-up inputs",
        "  \u21b3 ",
        "Trust this folder?",
        "Warnings \u00b7 1 of 2",
        "k keep & next",
        "\x1b[1m",
        "\x1b]8;;",
        "$ ",
        "Reason: ",
        "/",
        "",
    ]
)
SCREEN_LINES = st.lists(st.lists(LINE_PIECES | st.text(max_size=8), max_size=5).map("".join), max_size=45)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_screen_never_raises_on_arbitrary_text(text: str) -> None:
    assert isinstance(parse_screen(text), ScreenModel)


@settings(max_examples=400, deadline=None)
@given(SCREEN_LINES)
def test_parse_screen_never_raises_on_screen_like_text(lines: list[str]) -> None:
    model = parse_screen("\n".join(lines))
    if model.approval is not None:
        assert model.approval.options
        assert model.approval.selected is None or 0 <= model.approval.selected < len(model.approval.options)
    if model.composer_text is not None:
        assert model.composer_visible


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_strip_ansi_leaves_no_escape_and_keeps_lines(text: str) -> None:
    stripped = strip_ansi(text)
    assert "\x1b" not in stripped
    assert stripped.count("\n") == text.count("\n")


@pytest.mark.parametrize("path", sorted(DATA.glob("appserver-0.1*/ask_*.screen.txt")), ids=lambda p: p.parent.name
                         + "/" + p.name)
def test_plan_modes_question_overlay_is_a_prompt_with_its_options(path: Path) -> None:
    # recorded from real Codex (Plan mode, request_user_input): no composer, options indented by two
    model = parse_screen(path.read_text("utf-8"))
    popup = model.popup_detail
    assert popup is not None and popup.kind == "question" and not popup.startup
    assert popup.title == "Which colour should the mock use?"
    assert popup.options == (ChoiceOption("Red (Recommended)", "1"), ChoiceOption("Green", "2"),
                             ChoiceOption("Blue", "3"), ChoiceOption("None of the above", "4"))
    assert popup.selected == 0 and not model.composer_visible
    assert model.last_prompt == "ask which colour"  # the history above the overlay is still read
