"""/status: the panel parser on real 0.169 captures, and the request handler with a fake window."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from ccbot.codex.plane import Plane, plane_note
from ccbot.features.status_panel import (
    STATUS_WAIT,
    ShowStatus,
    find_status_panels,
    new_panel,
    request_status,
    status_html,
)
from ccbot.render.tg_html import parse_html
from ccbot.screen.parse import parse_screen
from ccbot.screen.prompt_state import PromptStateMachine, State, Verdict
from tests.actors.test_feature_fakes import FakeTmux
from tests.conftest import DATA

CODEX_0169 = DATA / "codex-0.169"
CAPTURES = CODEX_0169 / "captures"
REFERENCE = CODEX_0169 / "reference"
STATUS = (CAPTURES / "slash_status.txt").read_text("utf-8")
IDLE = (CAPTURES / "idle.txt").read_text("utf-8")
APPROVAL = (CAPTURES / "approval_prompt.txt").read_text("utf-8")

# Read off 11_slash_status (reference set) by eye.
REFERENCE_FIELDS = (
    ("Model", "mock-model (reasoning medium, summaries auto)"),
    ("Model provider", "mock"),
    ("Directory", "/home/dev/demo/work"),
    ("Permissions", "Workspace (Ask for approval)"),
    ("Agents.md", "<none>"),
    ("Thread name", "Mock hello mock"),
    ("Collaboration mode", "Default"),
    ("Session", "01a20a5a-009b-7f71-8ca7-536926fbd324"),
    ("Token usage", "64.6K total  (64.3K input + 247 output)"),
    ("Context window", "100% left (9.74K used / 190K)"),
    ("Limits", "data not available yet"),
)


def test_reference_status_panel_fields_and_text() -> None:
    (panel,) = find_status_panels((REFERENCE / "11_slash_status.txt").read_text("utf-8"))
    assert panel.fields == REFERENCE_FIELDS
    assert panel.lines[0] == ">_ OpenAI Codex (v0.169.0)"
    assert panel.lines[-1] == "Limits:              data not available yet"
    session_row = panel.lines.index("Session:             01a20a5a-009b-7f71-8ca7-536926fbd324")
    assert panel.lines[session_row + 1] == ""
    plain = parse_html(status_html(panel)).text
    assert plain == "\n".join(panel.lines)
    assert "Agents.md:           <none>" in plain  # escaped in HTML, shown literally


@pytest.mark.parametrize("name", ["slash_status.txt", "slash_status.ansi.txt", "review_menu.txt"])
def test_recorded_panel_ends_before_composer_or_menu(name: str) -> None:
    (panel,) = find_status_panels((CAPTURES / name).read_text("utf-8"))
    assert panel.field("Session") == "01a20a9d-fc5e-7ec3-9cce-44f647aad64e"
    assert panel.field("Thread name") == "Mock run touch root cache"
    assert panel.lines[-1].startswith("Limits:")
    assert not any("Ask Codex" in line or "Select a review" in line for line in panel.lines)


@pytest.mark.parametrize("name", ["idle.txt", "startup.txt", "approval_prompt.txt", "plain_reply.txt"])
def test_startup_banner_is_not_a_panel(name: str) -> None:
    assert find_status_panels((CAPTURES / name).read_text("utf-8")) == []


def test_long_values_continue_on_indented_lines() -> None:
    text = ("  >_ OpenAI Codex (v0.170.0)\n\n  Model:   m\n  Limits:  5h limit: [##  ] 12% used\n"
            "           Weekly limit: [#   ] 3% used\n\n\u203a Ask Codex to do anything\n")
    (panel,) = find_status_panels(text)
    assert panel.field("Limits") == "5h limit: [##  ] 12% used\nWeekly limit: [#   ] 3% used"
    assert panel.lines[-1] == "         Weekly limit: [#   ] 3% used"


def test_new_panel_tells_a_fresh_panel_from_the_one_already_shown() -> None:
    (old,) = find_status_panels(STATUS)
    redrawn = "\n".join("  " + x if x else "" for x in old.lines)
    twice = STATUS.replace("\u203a Ask Codex", "/status\n\n" + redrawn + "\n\n\u203a Ask Codex")
    both = find_status_panels(twice)
    assert len(both) == 2
    assert new_panel([], [old]) == old
    assert new_panel([old], both) == both[1]  # one more panel than before
    assert new_panel([old], [old]) is None  # same panel, same count: can't tell
    changed = find_status_panels(STATUS.replace("17.9K total", "18.2K total"))
    assert new_panel([old], changed) == changed[0]
    assert new_panel([old], []) is None


@given(st.text(st.sampled_from(list(" \n:>_/()\u203aabMdelo0123456789OpenAICodxv.")), max_size=400))
def test_parser_never_raises(text: str) -> None:
    for panel in find_status_panels(text):
        assert panel.field("Model") is not None
        parse_html(status_html(panel))


class FakeWindow:
    """Just what request_status uses of the window port, on pane %1 of a fake tmux."""

    def __init__(self, tmux: FakeTmux, screen: str, plane: Plane = Plane.TMUX) -> None:
        self.tmux = tmux
        self.plane = plane
        self.machine = PromptStateMachine()
        self.machine.step(parse_screen(screen))
        self.said: list[str] = []

    @property
    def prompt_state(self) -> State:
        return self.machine.state

    def can_accept_text(self) -> Verdict:
        return self.machine.can_accept_text()

    async def wait_state(self, accept: Any, limit: float) -> bool:
        return accept(self.machine.state)

    async def say(self, html_text: str, **extra: Any) -> None:
        self.said.append(html_text)

    async def capture(self, *, ansi: bool = False) -> str:
        return await self.tmux.capture("%1", ansi=ansi)

    async def type_text(self, text: str) -> None:
        await self.tmux.send_text("%1", text)
        await self.tmux.send_keys("%1", "Enter")


async def test_status_request_types_it_and_posts_the_panel_once(autojump_clock: Any) -> None:
    typing = IDLE.replace("\u203a Ask Codex to do anything", "\u203a /status")
    tmux = FakeTmux(screens={"%1": [IDLE, typing, typing, STATUS]})
    window = FakeWindow(tmux, IDLE)
    await request_status(window, ShowStatus())  # type: ignore[arg-type]
    assert tmux.texts == [("%1", "/status")]
    assert tmux.pressed == [("%1", ("Enter",))]
    (message,) = window.said
    assert message.startswith("<pre>&gt;_ OpenAI Codex") and "01a20a9d-fc5e-7ec3-9cce-44f647aad64e" in message
    assert message.endswith(plane_note(Plane.TMUX))
    parse_html(message)


async def test_status_names_the_app_server_plane(autojump_clock: Any) -> None:
    typing = IDLE.replace("\u203a Ask Codex to do anything", "\u203a /status")
    window = FakeWindow(FakeTmux(screens={"%1": [IDLE, typing, typing, STATUS]}), IDLE, Plane.APPSERVER)
    await request_status(window, ShowStatus())  # type: ignore[arg-type]
    (message,) = window.said
    assert "Control plane: Codex's app-server" in message and "tmux (screen" not in message


async def test_status_request_refused_while_a_prompt_is_open(autojump_clock: Any) -> None:
    tmux = FakeTmux(screens={"%1": APPROVAL})
    window = FakeWindow(tmux, APPROVAL)
    await request_status(window, ShowStatus())  # type: ignore[arg-type]
    assert tmux.texts == [] and tmux.pressed == []
    (message,) = window.said
    assert "Not sent" in message and "Would you like to run" in message


async def test_status_request_gives_up_after_a_bounded_wait(autojump_clock: Any) -> None:
    tmux = FakeTmux(screens={"%1": [IDLE, IDLE.replace("\u203a Ask Codex to do anything", "\u203a /status")]})
    window = FakeWindow(tmux, IDLE)
    start = trio.current_time()
    await request_status(window, ShowStatus())  # type: ignore[arg-type]
    assert trio.current_time() - start <= STATUS_WAIT + 1
    (message,) = window.said
    assert "no status panel appeared" in message
