"""Pure part of the approvals feature, on real Codex 0.169 captures (approval prompt, /review menu)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccbot.features.approvals import (
    PromptView,
    answered_html,
    describe_prompt,
    option_keys,
    prompt_keyboard,
)
from ccbot.render.tg_html import parse_html
from ccbot.screen.parse import ApprovalPrompt, ChoiceOption, Popup, parse_screen
from ccbot.screen.prompt_state import prompt_identity
from ccbot.ui.callbacks import PROMPT_OPT, decode
from tests.conftest import DATA

REFERENCE = DATA / "codex-0.169" / "reference"
CAPTURES = DATA / "codex-0.169" / "captures"


def prompt_of(path: Path) -> ApprovalPrompt | Popup:
    model = parse_screen(path.read_text("utf-8"))
    prompt = model.approval or model.popup_detail
    assert prompt is not None, path
    return prompt


APPROVALS = [REFERENCE / "09_approval_prompt.txt", CAPTURES / "approval_prompt.txt",
             CAPTURES / "approval_second_selected.txt"]
MENUS = [REFERENCE / "13_slash_review_menu.txt", CAPTURES / "review_menu.txt"]


@pytest.mark.parametrize("path", APPROVALS, ids=lambda p: p.stem)
def test_approval_message_shows_command_reason_and_every_option(path: Path) -> None:
    prompt = prompt_of(path)
    view = describe_prompt(prompt)
    assert view is not None
    plain = parse_html(view.html).text  # valid Telegram HTML
    assert plain.startswith("❓ Would you like to run the following command?")
    command = "touch /home/dev/demo/work/escalated.txt" if "09_" in path.name else (
        "touch /root/.cache/ccbot/scratch/record-nkxi9tzq/work/escalated.txt")
    assert f"\n{command}\n" in plain  # the command in its own code block
    assert f"Reason: Mock model wants to run `{command}` outside the sandbox" in plain
    assert "1. Yes, proceed y" in plain
    assert f"2. Yes, and don't ask again for commands that start with `{command}` p" in plain
    assert "3. No, and tell Codex what to do differently esc" in plain
    assert view.labels == ("1. Yes, once", "2. Always for this prefix", "3. No, tell Codex")


@pytest.mark.parametrize("path", APPROVALS, ids=lambda p: p.stem)
def test_approval_options_use_the_hotkeys_whatever_is_highlighted(path: Path) -> None:
    prompt = prompt_of(path)
    for selected in (None, 0, 1, 2):
        assert [option_keys(prompt, i, selected) for i in range(3)] == [("y",), ("p",), ("Escape",)]


def test_highlight_moves_do_not_change_the_prompt_identity() -> None:
    first = prompt_of(CAPTURES / "approval_prompt.txt")
    second = prompt_of(CAPTURES / "approval_second_selected.txt")
    assert (first.selected, second.selected) == (0, 1)
    assert prompt_identity(first) == prompt_identity(second)
    assert describe_prompt(first) == describe_prompt(second)


@pytest.mark.parametrize("path", MENUS, ids=lambda p: p.stem)
def test_review_menu_is_reached_with_arrows_and_enter(path: Path) -> None:
    menu = prompt_of(path)
    assert isinstance(menu, Popup) and menu.selected == 0
    view = describe_prompt(menu)
    assert view is not None
    plain = parse_html(view.html).text
    assert plain.splitlines()[0] == "📋 Select a review preset"
    assert "2. Review uncommitted changes" in plain.splitlines()
    assert view.labels[1] == "2. Review uncommitted changes"
    assert option_keys(menu, 0, 0) == ("Enter",)
    assert option_keys(menu, 1, 0) == ("Down", "Enter")
    assert option_keys(menu, 3, 0) == ("Down", "Down", "Down", "Enter")
    assert option_keys(menu, 0, 2) == ("Up", "Up", "Enter")
    with pytest.raises(ValueError):
        option_keys(menu, 1, None)  # arrows need to know where the highlight is
    with pytest.raises(ValueError):
        option_keys(menu, 4, 0)


def test_pager_without_options_gets_no_message() -> None:
    pager = prompt_of(REFERENCE / "12_slash_diff.txt")
    assert describe_prompt(pager) is None


def test_keyboard_buttons_carry_token_and_option_index() -> None:
    view = describe_prompt(prompt_of(APPROVALS[0]))
    assert view is not None
    keyboard = prompt_keyboard(view, "AbC123")
    assert [row[0].text for row in keyboard.rows] == list(view.labels)
    decoded = [decode(row[0].callback_data) for row in keyboard.rows]
    assert [(c.kind, c.token, c.args) for c in decoded] == [(PROMPT_OPT, "AbC123", (i,)) for i in range(3)]


def test_answered_html_keeps_the_prompt_and_says_how_it_ended() -> None:
    view = PromptView("❓ <b>Q?</b>", ("1. A",))
    chosen = parse_html(answered_html(view, "Yes & <go>")).text
    assert chosen == "❓ Q?\n\n✅ Chosen here: Yes & <go>"
    assert parse_html(answered_html(view, None)).text == "❓ Q?\n\n⌨️ Answered at the terminal."


@given(n=st.integers(1, 12), data=st.data())
def test_arrow_sequence_lands_on_the_chosen_option(n: int, data: st.DataObject) -> None:
    menu = Popup("other_choice", "t", tuple(ChoiceOption(f"o{i}", str(i + 1)) for i in range(n)), 0)
    selected = data.draw(st.integers(0, n - 1))
    index = data.draw(st.integers(0, n - 1))
    keys = option_keys(menu, index, selected)
    assert keys[-1] == "Enter" and "Enter" not in keys[:-1]
    position = selected
    for key in keys[:-1]:
        position += 1 if key == "Down" else -1
        assert 0 <= position < n  # never relies on wrap-around
    assert position == index


_screen_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=80)


@given(title=_screen_text, command=st.none() | _screen_text, reason=st.none() | _screen_text,
       labels=st.lists(_screen_text, min_size=1, max_size=5),
       keys=st.lists(st.sampled_from(["y", "p", "n", "a", "esc", "1"]), min_size=5, max_size=5))
def test_any_screen_text_gives_valid_html(title: str, command: str | None, reason: str | None,
                                          labels: list[str], keys: list[str]) -> None:
    options = tuple(ChoiceOption(label, keys[i]) for i, label in enumerate(labels))
    prompt = ApprovalPrompt(title, command, reason, options, 0)
    view = describe_prompt(prompt)
    assert view is not None and len(view.labels) == len(labels)
    plain = parse_html(view.html).text  # raises on broken HTML
    assert len(plain) < 4096
    for i in range(len(options)):
        assert option_keys(prompt, i, 0)[-1] in ("y", "p", "n", "Escape", "Enter")


def test_huge_prompt_stays_within_one_message() -> None:
    options = tuple(ChoiceOption("label " * 200, "y") for _ in range(12))
    prompt = ApprovalPrompt("Would you like " + "x" * 5000 + "?", "c" * 10_000, "r" * 10_000, options, 0)
    view = describe_prompt(prompt)
    assert view is not None and len(view.labels) == 12
    assert len(parse_html(view.html).text) < 4096


def test_a_thread_open_in_another_app_gets_retry_and_fork_buttons_that_press_r_and_f() -> None:
    popup = parse_screen((CAPTURES / "open_elsewhere.txt").read_text()).popup_detail
    assert popup is not None
    view = describe_prompt(popup)
    assert view is not None and "This conversation is open in another app" in view.html
    assert [label.split(". ", 1)[1] for label in view.labels] == [o.label for o in popup.options]
    assert [option_keys(popup, i, popup.selected) for i in range(2)] == [("r",), ("f",)]
