"""Approval buttons through a real ``Topics`` (callback routing, topic check), fake Telegram and tmux."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import trio

from ccbot.actors.topics import Topics
from ccbot.codex.plane import Plane
from ccbot.features import approvals
from ccbot.messages import Outbound
from ccbot.screen.parse import parse_screen
from ccbot.screen.prompt_state import PromptCleared, PromptShown
from ccbot.state.model import Binding
from ccbot.ui.callbacks import PROMPT_OPT, encode
from tests.actors.test_feature_fakes import CHAT, FakeBot, FakeTmux, bind, make_topics, query
from tests.conftest import DATA

CODEX_0169 = DATA / "codex-0.169"
APPROVAL = (CODEX_0169 / "captures" / "approval_prompt.txt").read_text("utf-8")
APPROVAL_2ND = (CODEX_0169 / "captures" / "approval_second_selected.txt").read_text("utf-8")
REVIEW = (CODEX_0169 / "captures" / "review_menu.txt").read_text("utf-8")
IDLE = (CODEX_0169 / "captures" / "idle.txt").read_text("utf-8")


def prompt_in(screen: str) -> Any:
    model = parse_screen(screen)
    return model.approval or model.popup_detail


@dataclass
class Rig:
    topics: Topics
    bot: FakeBot
    tmux: FakeTmux
    a: Binding
    b: Binding

    async def effect(self, binding: Binding, effect: object) -> None:
        for hook in self.topics.hooks.effects:
            await hook(SimpleNamespace(key=binding.key, window_id=binding.window_id, plane=Plane.TMUX), effect)  # type: ignore[arg-type]
        await settle()

    def prompt_messages(self, topic: int) -> list[dict[str, Any]]:
        return [kw for kw in self.bot.of("send_message") if kw.get("message_thread_id") == topic
                and kw.get("reply_markup") is not None]

    async def press(self, topic: int | None, message_id: int, data: str) -> str | None:
        """Press as the router hands it on: ``topic`` None for a message too old to say its topic."""
        before = len(self.bot.answers())
        key = None if topic is None else (CHAT, topic)
        await self.topics.on_callback(key, query(topic or 0, message_id, data))
        await settle()
        answers = self.bot.answers()
        assert len(answers) == before + 1, "every press is answered exactly once"
        return answers[-1]


async def settle() -> None:
    for _ in range(10):
        await trio.lowlevel.checkpoint()


@asynccontextmanager
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    send, recv = trio.open_memory_channel[Outbound](100)
    bot = FakeBot()
    tmux = FakeTmux()
    topics = make_topics(tmp_path, send, tmux)
    approvals.install(topics)
    async with trio.open_nursery() as nursery:
        topics._nursery = nursery  # what Topics.run provides: spawned feature tasks run here
        a = bind(topics, 11, "@1", "%1", serve=(nursery, tmux))
        b = bind(topics, 22, "@2", "%2", serve=(nursery, tmux))
        nursery.start_soon(bot.run, recv)
        yield Rig(topics, bot, tmux, a, b)
        nursery.cancel_scope.cancel()


def token_and_id(r: Rig, topic: int) -> tuple[str, int]:
    (session,) = [s for s in r.topics.ui.values() if s.kind == approvals.KIND and s.key == (CHAT, topic)
                  and not s.state_as(approvals.PromptTicket).gone]
    assert session.message_id is not None
    return session.token, session.message_id


async def test_prompt_posts_buttons_once_and_yes_presses_y(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.tmux.screens["%1"] = APPROVAL_2ND  # the highlight moved since: still the same prompt
        await r.effect(r.a, PromptShown(prompt_in(APPROVAL)))
        await r.effect(r.a, PromptShown(prompt_in(APPROVAL)))  # e.g. the window actor restarted
        (message,) = r.prompt_messages(11)
        labels = [row[0].text for row in message["reply_markup"].rows]
        assert labels == ["1. Yes, once", "2. Always for this prefix", "3. No, tell Codex"]
        token, mid = token_and_id(r, 11)
        assert await r.press(11, mid, encode(PROMPT_OPT, token, 0)) == "Sent: Yes, once"
        assert r.tmux.pressed == [("%1", ("y",))]
        # Codex clears the prompt: the message loses its buttons and says what was chosen
        await r.effect(r.a, PromptCleared())
        (edit,) = r.bot.of("edit_message_text")
        assert edit["message_id"] == mid and edit["reply_markup"] is None
        assert edit["text"].endswith("✅ Chosen here: <b>Yes, once</b>")
        # the old button now does nothing but say so
        r.tmux.screens["%1"] = APPROVAL  # even if an identical prompt were showing again
        assert await r.press(11, mid, encode(PROMPT_OPT, token, 2)) == approvals.GONE_TEXT
        assert r.tmux.pressed == [("%1", ("y",))]


async def test_prompt_answered_at_the_terminal(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.effect(r.a, PromptShown(prompt_in(APPROVAL)))
        _, mid = token_and_id(r, 11)
        await r.effect(r.a, PromptCleared())
        (edit,) = r.bot.of("edit_message_text")
        assert edit["message_id"] == mid and edit["reply_markup"] is None
        assert edit["text"].endswith("⌨️ Answered at the terminal.")
        assert r.tmux.pressed == []


async def test_button_of_a_prompt_replaced_on_screen_presses_nothing(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.effect(r.a, PromptShown(prompt_in(APPROVAL)))
        token, mid = token_and_id(r, 11)
        for screen in (REVIEW, IDLE):  # another prompt, or none at all
            r.tmux.screens["%1"] = screen
            assert await r.press(11, mid, encode(PROMPT_OPT, token, 0)) == approvals.GONE_TEXT
        assert r.tmux.pressed == []


async def test_a_pane_whose_window_lost_the_topics_mark_gets_no_keys(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.a.owner_mark = "chat:11:mine"
        r.tmux.owners["%1"] = "chat:11:mine"
        r.tmux.screens["%1"] = APPROVAL
        await r.effect(r.a, PromptShown(prompt_in(APPROVAL)))
        token, mid = token_and_id(r, 11)
        r.tmux.owners["%1"] = "other:5:theirs"  # tmux restarted: another window has this pane id now
        answer = await r.press(11, mid, encode(PROMPT_OPT, token, 0))
        assert answer is not None and "no longer belongs" in answer
        assert r.tmux.pressed == []
        r.tmux.owners["%1"] = "chat:11:mine"
        assert await r.press(11, mid, encode(PROMPT_OPT, token, 0)) == "Sent: Yes, once"
        assert r.tmux.pressed == [("%1", ("y",))]


async def test_a_press_on_a_message_too_old_to_name_its_topic_presses_nothing(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.tmux.screens["%1"] = APPROVAL
        await r.effect(r.a, PromptShown(prompt_in(APPROVAL)))
        token, mid = token_and_id(r, 11)
        assert await r.press(None, mid, encode(PROMPT_OPT, token, 0)) == "This menu has expired."
        assert r.tmux.pressed == []


async def test_forged_press_from_another_topic_touches_no_window(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.tmux.screens.update({"%1": APPROVAL, "%2": APPROVAL})
        await r.effect(r.a, PromptShown(prompt_in(APPROVAL)))
        await r.effect(r.b, PromptShown(prompt_in(APPROVAL)))
        _, mid_a = token_and_id(r, 11)
        token_b, _ = token_and_id(r, 22)
        answer = await r.press(11, mid_a, encode(PROMPT_OPT, token_b, 0))  # B's data on A's message
        assert answer is not None and "another topic" in answer
        assert r.tmux.pressed == []


async def test_window_rebound_since_the_prompt_presses_nothing(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.effect(r.a, PromptShown(prompt_in(APPROVAL)))
        token, mid = token_and_id(r, 11)
        bind(r.topics, 11, "@9", "%9")  # the topic is now bound to another window showing the same prompt
        r.tmux.screens["%9"] = APPROVAL
        answer = await r.press(11, mid, encode(PROMPT_OPT, token, 0))
        assert answer is not None and answer.startswith(approvals.GONE_TEXT)
        assert r.tmux.pressed == []


async def test_menu_option_is_reached_from_the_current_highlight(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.effect(r.a, PromptShown(prompt_in(REVIEW)))
        token, mid = token_and_id(r, 11)
        # at the terminal someone moved the highlight to option 3 meanwhile
        moved = REVIEW.replace("\u203a 1. Review against", "  1. Review against").replace(
            "  3. Review a commit", "\u203a 3. Review a commit")
        assert prompt_in(moved).selected == 2
        r.tmux.screens["%1"] = moved
        assert await r.press(11, mid, encode(PROMPT_OPT, token, 1)) == "Sent: Review uncommitted changes"
        assert r.tmux.pressed == [("%1", ("Up", "Enter"))]
        # a quick second press is refused while Codex redraws
        assert await r.press(11, mid, encode(PROMPT_OPT, token, 0)) == "Already sent; waiting for Codex."
        assert len(r.tmux.pressed) == 1


async def test_prompt_gone_before_its_message_was_sent(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        actor = SimpleNamespace(key=r.a.key, window_id=r.a.window_id, plane=Plane.TMUX)
        for hook in r.topics.hooks.effects:  # shown and cleared before the paced send could finish
            await hook(actor, PromptShown(prompt_in(APPROVAL)))  # type: ignore[arg-type]
            await hook(actor, PromptCleared())  # type: ignore[arg-type]
        await settle()
        assert len(r.prompt_messages(11)) == 1
        (edit,) = r.bot.of("edit_message_text")
        assert edit["message_id"] == r.bot.next_id and edit["reply_markup"] is None
        assert edit["text"].endswith("Answered at the terminal.")
