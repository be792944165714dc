"""Codex's ``request_user_input`` questions on the app-server plane: the window actor replays traffic recorded
from real Codex 0.169 (``tests/data/appserver-0.169/ask_*.jsonl``, Plan mode) through the fake pane app-server
of ``test_window_plane``; fake tmux, fake sender, virtual clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio
import trio.testing

from ccbot.codex.appserver.views import UserInputRequest
from ccbot.features.plane_approvals import describe_request
from ccbot.features.ports import PlaneApprovalGone, PlaneApprovalShown
from ccbot.messages import PROMPT_GONE
from tests.actors.test_window_plane import Plane, after_resume, answer_from_here, results, shown_at, until

REQUEST = "item/tool/requestUserInput"


async def shown(tmp_path: Path, nursery: trio.Nursery, scenario: str) -> tuple[Plane, list[dict[str, Any]]]:
    """A started window that got the recorded traffic up to the question and showed it; the rest."""
    return await shown_at(tmp_path, nursery, scenario, REQUEST)


def shown_request(p: Plane) -> UserInputRequest:
    (effect,) = [e for e in p.effects if isinstance(e, PlaneApprovalShown)]
    assert isinstance(effect.request, UserInputRequest)
    return effect.request


answer = answer_from_here


async def test_a_question_is_shown_with_its_options_and_answered_once_from_here(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    p, rest = await shown(tmp_path, nursery, "ask_client")
    request = shown_request(p)
    view = describe_request(request)
    assert view.labels == ("1. Red (Recommended)", "2. Green", "3. Blue")
    assert "Which colour should the mock use?" in view.html and "None of the above" in view.html
    assert p.actor is not None and p.actor.plane_approval_pending()

    assert await answer(p, request.request_id, "accept") == "Codex does not offer that answer here."
    assert not results(p)
    assert await answer(p, request.request_id, "Green") is None
    # ToolRequestUserInputResponse, the shape the TUI sends too (measured)
    assert results(p) == [{"id": request.request_id, "result": {"answers": {"colour": {"answers": ["Green"]}}}}]
    assert await answer(p, request.request_id, "Green") == PROMPT_GONE  # never twice
    assert await answer(p, request.request_id, "Blue") == PROMPT_GONE
    assert len(results(p)) == 1
    assert PlaneApprovalGone(request.request_id, "Green") in p.effects

    for message in rest:  # serverRequest/resolved (the echo of our answer), the answer, the turn's end
        p.server.push(message)
    await until(lambda: p.actor is not None and p.actor.plane_turn is None)
    assert [e for e in p.effects if isinstance(e, PlaneApprovalGone)] == [
        PlaneApprovalGone(request.request_id, "Green")]


async def test_a_question_answered_at_the_terminal_ends_its_message_and_answers_nothing(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    p, rest = await shown(tmp_path, nursery, "ask_tui")
    request = shown_request(p)
    for message in rest:
        p.server.push(message)
    await until(lambda: PlaneApprovalGone(request.request_id, None) in p.effects)
    assert await answer(p, request.request_id, "Green") == PROMPT_GONE
    assert not results(p)
    assert p.actor is not None and not p.actor.plane_approval_pending()


async def test_several_questions_are_shown_without_buttons_and_cannot_be_answered_here(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    p = Plane(tmp_path, nursery, -100, "ask_client")
    await p.start()
    message = next(m for m in after_resume(p.frames) if m.get("method") == REQUEST)
    (question,) = message["params"]["questions"]
    two = [question, {**question, "id": "colour_2", "question": "And the second one?"}]
    p.server.push({**message, "params": {**message["params"], "questions": two}})
    await until(lambda: any(isinstance(e, PlaneApprovalShown) for e in p.effects))
    request = shown_request(p)
    view = describe_request(request)
    assert view.labels == () and "answer them at the terminal" in view.html and "And the second one?" in view.html
    assert await answer(p, request.request_id, "Green") == "Codex does not offer that answer here."
    assert not results(p)


async def test_another_threads_question_is_not_shown(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    p = Plane(tmp_path, nursery, -100, "ask_client")
    await p.start()
    for message in after_resume(p.frames):
        if message.get("method") == REQUEST:
            p.server.push({**message, "params": {**message["params"], "threadId": "someone-else"}})
    await trio.sleep(2)
    assert not [e for e in p.effects if isinstance(e, PlaneApprovalShown)]


async def test_text_is_not_typed_while_the_app_server_waits_for_an_answer(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    # the request comes before the TUI draws its overlay: the last screen still allows text, the request not
    from ccbot.actors.window import hand_text
    from ccbot.messages import UserText

    p, _ = await shown(tmp_path, nursery, "ask_client")
    assert p.actor is not None and p.actor.machine.can_accept_text().ok  # the fake screen stays idle
    assert p.inbox is not None
    hand_text(p.binding, p.inbox, UserText("typed while asked", 5))
    await until(lambda: any("Not sent" in str(o.kwargs.get("text")) for _, o in p.sender.sent))
    (refusal,) = [str(o.kwargs["text"]) for _, o in p.sender.sent if "Not sent" in str(o.kwargs.get("text"))]
    assert "waiting for your answer" in refusal
    assert not [t for k, t in p.tmux.typed if k in ("text", "paste")] and p.binding.pending_inputs == []
