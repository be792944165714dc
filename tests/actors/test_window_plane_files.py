"""File-change approvals on the app-server plane: the window actor replays traffic recorded from real Codex
0.169 (``tests/data/appserver-0.169/approve_patch*.jsonl``) through the fake pane app-server of
``test_window_plane``; fake tmux, fake sender, virtual clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio
import trio.testing

from ccbot.actors.window.plane import CHANGES_KEPT
from ccbot.codex.appserver.views import FileChange, FileChangeApprovalRequest
from ccbot.features.ports import PlaneApprovalGone, PlaneApprovalShown
from ccbot.messages import PROMPT_GONE
from tests.actors.test_window_plane import Plane, after_resume, answer_from_here, results, shown_at, until

REQUEST = "item/fileChange/requestApproval"


async def shown(tmp_path: Path, nursery: trio.Nursery, scenario: str) -> tuple[Plane, list[dict[str, Any]]]:
    """A started window that got the recorded traffic up to the file-change request and showed it; the rest."""
    return await shown_at(tmp_path, nursery, scenario, REQUEST)


def shown_request(p: Plane) -> FileChangeApprovalRequest:
    (effect,) = [e for e in p.effects if isinstance(e, PlaneApprovalShown)]
    assert isinstance(effect.request, FileChangeApprovalRequest)
    return effect.request


answer = answer_from_here


async def test_a_file_change_approval_shows_the_items_changes_and_is_answered_once_from_here(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    p, rest = await shown(tmp_path, nursery, "approve_patch")
    request = shown_request(p)
    assert [d.name for d in request.decisions] == ["accept", "acceptForSession", "decline", "cancel"]
    (change,) = request.changes  # from the fileChange item's item/started, which came first
    assert change == FileChange(change.path, "add", "written by the mock model's apply_patch\nfrom the recorder\n")
    assert change.path.endswith("/client.txt")
    assert p.actor is not None and p.actor.plane_approval_pending()  # the screen's copy gets no buttons

    assert await answer(p, request.request_id, "acceptWithExecpolicyAmendment") == (
        "Codex does not offer that answer here.")
    assert not results(p)
    assert await answer(p, request.request_id, "accept") is None
    assert results(p) == [{"id": request.request_id, "result": {"decision": "accept"}}]
    assert await answer(p, request.request_id, "accept") == PROMPT_GONE  # never twice
    assert await answer(p, request.request_id, "decline") == PROMPT_GONE
    assert len(results(p)) == 1
    assert PlaneApprovalGone(request.request_id, "accept") in p.effects

    for message in rest:  # the server confirms (serverRequest/resolved), the item completes, the turn ends
        p.server.push(message)
    await until(lambda: p.actor is not None and p.actor.plane_turn is None)
    assert p.actor.plane_changes == {}  # the completed item is forgotten
    assert [e for e in p.effects if isinstance(e, PlaneApprovalGone)] == [
        PlaneApprovalGone(request.request_id, "accept")]  # the echo of our own answer ends nothing twice


async def test_a_file_change_answered_at_the_terminal_ends_its_message_and_answers_nothing(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    p, rest = await shown(tmp_path, nursery, "approve_patch_tui")
    request = shown_request(p)
    assert request.changes and request.changes[0].path.endswith("/tui.txt")
    for message in rest:
        p.server.push(message)
    await until(lambda: PlaneApprovalGone(request.request_id, None) in p.effects)
    assert await answer(p, request.request_id, "accept") == PROMPT_GONE
    assert not results(p)
    assert p.actor is not None and not p.actor.plane_approval_pending()


async def test_another_threads_file_change_request_is_not_shown(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    p = Plane(tmp_path, nursery, -100, "approve_patch")
    await p.start()
    for message in after_resume(p.frames):
        if message.get("method") == REQUEST:
            p.server.push({**message, "params": {**message["params"], "threadId": "someone-else"}})
    await trio.sleep(2)
    assert not [e for e in p.effects if isinstance(e, PlaneApprovalShown)]
    assert p.actor is not None and not p.actor.plane_approval_pending()


async def test_a_request_whose_item_was_not_seen_is_shown_without_changes(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    p = Plane(tmp_path, nursery, -100, "approve_patch")
    await p.start()
    p.server.push(next(m for m in after_resume(p.frames) if m.get("method") == REQUEST))
    await until(lambda: any(isinstance(e, PlaneApprovalShown) for e in p.effects))
    assert shown_request(p).changes == ()


async def test_remembered_file_changes_are_bounded_when_items_never_complete(
        tmp_path: Path, nursery: trio.Nursery, fast_clock: trio.testing.MockClock) -> None:
    p = Plane(tmp_path, nursery, -100, "approve_patch")
    await p.start()
    started = next(m for m in after_resume(p.frames) if m.get("method") == "item/started"
                   and m["params"]["item"]["type"] == "fileChange")
    for n in range(CHANGES_KEPT + 6):  # e.g. turns interrupted before their items completed
        item = {**started["params"]["item"], "id": f"item-{n}"}
        p.server.push({**started, "params": {**started["params"], "item": item}})
    await until(lambda: p.actor is not None and f"item-{CHANGES_KEPT + 5}" in p.actor.plane_changes)
    assert p.actor is not None and len(p.actor.plane_changes) == CHANGES_KEPT
    assert "item-0" not in p.actor.plane_changes  # the oldest go first
