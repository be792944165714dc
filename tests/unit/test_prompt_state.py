"""Prompt-state machine: the transition table, classification of real captures, and fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccbot.screen.parse import (
    ApprovalPrompt,
    ChoiceOption,
    ExitInfo,
    Footer,
    Popup,
    ScreenModel,
    parse_screen,
)
from ccbot.screen.prompt_state import (
    TRANSITIONS,
    BecameBusy,
    BecameReady,
    Exited,
    Kind,
    Observation,
    PromptCleared,
    PromptShown,
    PromptStateMachine,
    State,
    classify,
    is_startup_prompt,
)
from tests.conftest import DATA

S, K = State, Kind
# Written out by hand (not derived from the module's generator) so a wrong table fails here.
EXPECTED_TABLE = {
    (S.STARTING, K.READY): (S.READY, (BecameReady,)),
    (S.STARTING, K.BUSY): (S.BUSY, (BecameBusy,)),
    (S.STARTING, K.BLOCKED): (S.BLOCKED, (PromptShown,)),
    (S.STARTING, K.EXITED): (S.EXITED, (Exited,)),
    (S.STARTING, K.UNKNOWN): (S.STARTING, ()),
    (S.READY, K.READY): (S.READY, ()),
    (S.READY, K.BUSY): (S.BUSY, (BecameBusy,)),
    (S.READY, K.BLOCKED): (S.BLOCKED, (PromptShown,)),
    (S.READY, K.EXITED): (S.EXITED, (Exited,)),
    (S.READY, K.UNKNOWN): (S.READY, ()),
    (S.BUSY, K.READY): (S.READY, (BecameReady,)),
    (S.BUSY, K.BUSY): (S.BUSY, ()),
    (S.BUSY, K.BLOCKED): (S.BLOCKED, (PromptShown,)),
    (S.BUSY, K.EXITED): (S.EXITED, (Exited,)),
    (S.BUSY, K.UNKNOWN): (S.BUSY, ()),
    (S.BLOCKED, K.READY): (S.READY, (PromptCleared, BecameReady)),
    (S.BLOCKED, K.BUSY): (S.BUSY, (PromptCleared, BecameBusy)),
    (S.BLOCKED, K.BLOCKED): (S.BLOCKED, ()),
    (S.BLOCKED, K.EXITED): (S.EXITED, (PromptCleared, Exited)),
    (S.BLOCKED, K.UNKNOWN): (S.BLOCKED, ()),
    (S.EXITED, K.READY): (S.READY, (BecameReady,)),
    (S.EXITED, K.BUSY): (S.BUSY, (BecameBusy,)),
    (S.EXITED, K.BLOCKED): (S.BLOCKED, (PromptShown,)),
    (S.EXITED, K.EXITED): (S.EXITED, ()),
    (S.EXITED, K.UNKNOWN): (S.EXITED, ()),
}

APPROVAL = ApprovalPrompt(
    "Would you like to run the following command?", "ls", None, (ChoiceOption("Yes", "y"),), 0
)
OTHER_APPROVAL = ApprovalPrompt(
    "Would you like to run the following command?", "rm x", None, (ChoiceOption("Yes", "y"),), 0
)
POPUP = Popup("review_menu", "Select a review preset", (ChoiceOption("a", "1"), ChoiceOption("b", "2")), 0)


def observation(kind: Kind) -> Observation:
    if kind is Kind.BLOCKED:
        return Observation(kind, prompt=APPROVAL)
    if kind is Kind.EXITED:
        return Observation(kind, resume_id="01a20a5a-6440-7d21-abe8-d326f044096d")
    return Observation(kind)


def test_table_is_complete_and_as_designed() -> None:
    assert TRANSITIONS == EXPECTED_TABLE


@pytest.mark.parametrize(("state", "kind"), sorted(EXPECTED_TABLE, key=lambda k: (k[0].value, k[1].value)))
def test_each_transition_through_the_driver(state: State, kind: Kind) -> None:
    machine = PromptStateMachine()
    machine.state = state
    if state is State.BLOCKED:
        machine.prompt = APPROVAL
    effects = machine.observe(observation(kind))
    new_state, effect_types = EXPECTED_TABLE[(state, kind)]
    assert machine.state is new_state
    assert [type(e) for e in effects] == list(effect_types)
    for effect in effects:
        if isinstance(effect, PromptShown):
            assert effect.prompt == APPROVAL
        if isinstance(effect, Exited):
            assert effect.resume_id == "01a20a5a-6440-7d21-abe8-d326f044096d"


def test_blocked_to_a_different_prompt_replaces_it_but_a_moved_selection_does_not() -> None:
    machine = PromptStateMachine()
    assert [type(e) for e in machine.observe(Observation(Kind.BLOCKED, prompt=APPROVAL))] == [PromptShown]
    moved = ApprovalPrompt(APPROVAL.title, APPROVAL.command, APPROVAL.reason, APPROVAL.options, None)
    assert machine.observe(Observation(Kind.BLOCKED, prompt=moved)) == []
    assert machine.observe(Observation(Kind.BLOCKED, prompt=OTHER_APPROVAL)) == [
        PromptCleared(),
        PromptShown(OTHER_APPROVAL),
    ]
    assert machine.observe(Observation(Kind.BLOCKED, prompt=POPUP)) == [PromptCleared(), PromptShown(POPUP)]
    assert machine.can_accept_text().reason == "Select a review preset"


@pytest.mark.parametrize(
    ("state", "ok", "steers", "reason"),
    [
        (State.READY, True, False, None),
        (State.BUSY, True, True, None),
        (State.STARTING, False, False, "Codex is still starting"),
        (State.EXITED, False, False, "Codex has exited"),
        (State.BLOCKED, False, False, "Would you like to run the following command?"),
    ],
)
def test_can_accept_text(state: State, ok: bool, steers: bool, reason: str | None) -> None:
    machine = PromptStateMachine()
    machine.state = state
    machine.prompt = APPROVAL if state is State.BLOCKED else None
    verdict = machine.can_accept_text()
    assert (verdict.ok, verdict.steers) == (ok, steers)
    assert verdict.reason
    if reason is not None:
        assert verdict.reason == reason


def capture(name: str) -> ScreenModel:
    folder = "reference" if name[:2].isdigit() else "captures"
    return parse_screen((DATA / "codex-0.169" / folder / f"{name}.txt").read_text("utf-8"))


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("startup", Kind.UNKNOWN),  # composer drawn, footer not yet
        ("idle", Kind.READY),
        ("typed_not_submitted", Kind.READY),
        ("busy_working", Kind.BUSY),
        ("busy_streaming", Kind.BUSY),  # no busy marker, answer without "Worked for"
        ("busy_steer_hint", Kind.BUSY),
        ("busy_queued", Kind.BUSY),
        ("reasoning", Kind.BUSY),
        ("after_completion", Kind.READY),
        ("interrupted", Kind.READY),
        ("approval_prompt", Kind.BLOCKED),
        ("after_approval", Kind.READY),
        ("approval_denied", Kind.READY),
        ("mock_fail", Kind.READY),
        ("long_answer", Kind.READY),
        ("slash_status", Kind.READY),
        ("slash_popup", Kind.READY),
        ("diff_pager", Kind.BLOCKED),
        ("review_menu", Kind.BLOCKED),
        ("warnings", Kind.BLOCKED),
        ("trust", Kind.BLOCKED),
        ("hooks_review", Kind.BLOCKED),
        ("hooks_list", Kind.UNKNOWN),  # not recognised: the state stays what it was
        ("resume_cwd", Kind.BLOCKED),
        ("open_elsewhere", Kind.BLOCKED),
        ("agent_center", Kind.BLOCKED),
        ("after_trust", Kind.READY),
        ("after_hooks_review", Kind.READY),
        ("after_resume_cwd", Kind.READY),
        ("exited_from_agent_center", Kind.EXITED),
        ("exited", Kind.EXITED),
        ("exited_no_turns", Kind.EXITED),
        ("05_busy_streaming", Kind.BUSY),
        ("13_slash_review_menu", Kind.BLOCKED),
        ("15_slash_init", Kind.READY),
        ("17_exit_message", Kind.EXITED),
        ("20_slash_clear", Kind.READY),
    ],
)
def test_classify_real_captures(name: str, kind: Kind) -> None:
    assert classify(capture(name)).kind is kind


def run(names: list[str]) -> tuple[PromptStateMachine, list[object]]:
    machine = PromptStateMachine()
    effects: list[object] = []
    for name in names:
        effects += machine.step(capture(name))
    return machine, effects


def test_turn_lifecycle_from_real_screens() -> None:
    machine, effects = run(["startup", "idle", "busy_working", "busy_streaming", "after_completion"])
    assert effects == [BecameReady(), BecameBusy(), BecameReady()]
    assert machine.state is State.READY


def test_approval_lifecycle_from_real_screens() -> None:
    machine, effects = run(["idle", "approval_prompt", "approval_second_selected"])
    assert [type(e) for e in effects] == [BecameReady, PromptShown]
    shown = effects[1]
    assert isinstance(shown, PromptShown) and isinstance(shown.prompt, ApprovalPrompt)
    assert machine.can_accept_text().ok is False
    assert machine.can_accept_text().reason == "Would you like to run the following command?"
    assert machine.step(capture("after_approval")) == [PromptCleared(), BecameReady()]


def test_exit_from_real_screens() -> None:
    machine, effects = run(["plain_reply", "exited"])
    assert [type(e) for e in effects] == [BecameReady, Exited]
    exited = effects[-1]
    assert isinstance(exited, Exited) and exited.resume_id is not None
    assert machine.resume_id == exited.resume_id
    assert machine.can_accept_text().ok is False


def test_startup_refuses_text() -> None:
    machine = PromptStateMachine()
    assert machine.step(capture("startup")) == []
    assert machine.can_accept_text().reason == "Codex is still starting"


PROMPTS = st.one_of(
    st.none(),
    st.builds(
        ApprovalPrompt,
        st.text(max_size=10),
        st.none() | st.text(max_size=5),
        st.none() | st.text(max_size=5),
        st.lists(st.builds(ChoiceOption, st.text(max_size=3), st.text(max_size=2)), max_size=3).map(tuple),
        st.none() | st.integers(0, 3),
    ),
)
MODELS = st.builds(
    ScreenModel,
    composer_visible=st.booleans(),
    composer_text=st.none() | st.text(max_size=5),
    footer=st.none() | st.just(Footer("m", "default", "/w", None)),
    busy_marker=st.booleans(),
    last_prompt=st.none() | st.text(max_size=5),
    turn_ended_after_last_prompt=st.booleans(),
    answer_after_last_prompt=st.booleans(),
    approval=PROMPTS,
    popup_detail=st.none()
    | st.builds(Popup, st.sampled_from(["review_menu", "trust", "hooks_review", "agent_center", "other_choice"]),
                st.text()),
    exited=st.none() | st.builds(ExitInfo, st.none() | st.text(max_size=5)),
)


@settings(max_examples=300, deadline=None)
@given(MODELS)
def test_classify_is_total(model: ScreenModel) -> None:
    observation = classify(model)
    assert observation.kind in Kind
    assert (observation.kind is Kind.BLOCKED) == (observation.prompt is not None)
    if model.exited is not None:
        assert observation.kind is Kind.EXITED


@settings(max_examples=200, deadline=None)
@given(st.lists(MODELS, max_size=12))
def test_machine_invariants(models: list[ScreenModel]) -> None:
    machine = PromptStateMachine()
    for model in models:
        machine.step(model)
        verdict = machine.can_accept_text()
        assert verdict.ok == (machine.state in (State.READY, State.BUSY))
        assert verdict.steers == (machine.state is State.BUSY)
        assert (machine.prompt is not None) == (machine.state is State.BLOCKED)
        assert verdict.hold == (machine.state is State.BLOCKED and is_startup_prompt(machine.prompt))
        assert not (verdict.hold and verdict.ok)


@pytest.mark.parametrize(
    ("name", "startup"),
    [
        ("trust", True),
        ("hooks_review", True),
        ("resume_cwd", True),
        ("open_elsewhere", True),
        ("approval_prompt", False),  # mid-turn
        ("review_menu", False),
        ("diff_pager", False),
        ("warnings", False),
        ("agent_center", False),  # where a declined trust screen leads: Codex takes no input there
    ],
)
def test_startup_screens_are_told_from_mid_session_prompts(name: str, startup: bool) -> None:
    observation = classify(capture(name))
    assert observation.kind is Kind.BLOCKED
    assert is_startup_prompt(observation.prompt) is startup
    machine = PromptStateMachine()
    machine.step(capture(name))
    verdict = machine.can_accept_text()
    assert (verdict.ok, verdict.hold) == (False, startup)
    assert (machine.startup_prompt is not None) is startup


def test_trust_then_ready_from_real_screens() -> None:
    machine, effects = run(["trust"])
    assert [type(e) for e in effects] == [PromptShown]
    assert machine.can_accept_text().reason == "Trust this folder?"
    assert machine.step(capture("after_trust")) == [PromptCleared(), BecameReady()]
    assert machine.can_accept_text().ok and machine.startup_prompt is None


def test_hooks_list_keeps_the_startup_screen_it_came_from() -> None:
    machine, _ = run(["hooks_review", "hooks_list"])
    assert machine.startup_prompt is not None and machine.startup_prompt.title == "Hooks need review"
    assert machine.can_accept_text().hold
    assert machine.step(capture("after_hooks_review")) == [PromptCleared(), BecameReady()]


def test_declined_trust_leaves_the_startup_path() -> None:
    machine, effects = run(["trust", "agent_center"])
    assert [type(e) for e in effects] == [PromptShown, PromptCleared, PromptShown]
    verdict = machine.can_accept_text()
    assert (verdict.ok, verdict.hold, verdict.reason) == (False, False, "Agent command center")
    assert [type(e) for e in machine.step(capture("exited_from_agent_center"))] == [PromptCleared, Exited]


def test_is_startup_prompt_of_none_and_approvals() -> None:
    assert not is_startup_prompt(None)
    assert not is_startup_prompt(APPROVAL)
    assert is_startup_prompt(Popup("resume_cwd", "Working directory · resume"))


def test_a_question_overlay_blocks_text_and_is_not_a_startup_screen() -> None:
    # Plan mode's question (request_user_input) has no composer: text typed there would answer it
    machine = PromptStateMachine()
    machine.observe(classify(parse_screen((DATA / "appserver-0.169" / "ask_tui.screen.txt").read_text("utf-8"))))
    verdict = machine.can_accept_text()
    assert machine.state is State.BLOCKED and not verdict.ok and not verdict.hold
    assert verdict.reason == "Which colour should the mock use?"
