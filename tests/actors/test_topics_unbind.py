"""/unbind through a real ``Topics`` (fake Telegram and tmux): what the window had not started typing is
reported, never silently dropped."""

from __future__ import annotations

from pathlib import Path

import trio

from ccbot.actors.topics import Topics
from ccbot.messages import Outbound
from ccbot.state.model import Binding, PendingInput
from ccbot.telegram.types import Message
from tests.actors.test_feature_fakes import CHAT, OWNER, FakeBot, FakeTmux, bind, make_topics


def unbind_message(topic: int) -> Message:
    return Message.from_api({
        "message_id": 50, "date": 1, "text": "/unbind", "message_thread_id": topic, "is_topic_message": True,
        "from": {"id": OWNER, "is_bot": False, "first_name": "o"},
        "chat": {"id": CHAT, "type": "supergroup", "is_forum": True}})


def bound_topic(tmp_path: Path, nursery: trio.Nursery) -> tuple[FakeBot, Topics, Binding]:
    """A ``Topics`` whose topic 11 is bound to window @1 (pane %1), with a fake bot draining its outbox."""
    send, recv = trio.open_memory_channel[Outbound](100)
    bot = FakeBot()
    nursery.start_soon(bot.run, recv)
    topics = make_topics(tmp_path, send, FakeTmux())
    binding = bind(topics, 11, "@1", "%1")
    topics.keeper.state.bindings[binding.key] = binding
    return bot, topics, binding


async def test_unbind_reports_the_texts_the_window_had_not_started_typing(
        tmp_path: Path, nursery: trio.Nursery) -> None:
    bot, topics, binding = bound_topic(tmp_path, nursery)
    binding.pending_inputs += [  # the journal as the window actor left it (as saved in the state file)
        PendingInput("kept behind the trust screen", 5, held=True),
        PendingInput("half typed when unbound", 6, typing=True),
    ]
    await topics.on_command((CHAT, 11), unbind_message(11), "unbind", "")
    with trio.fail_after(5):
        while len(bot.of("send_message")) < 2:
            await trio.sleep(0.01)
    unbound, unsent = (kw["text"] for kw in bot.of("send_message"))
    assert unbound.startswith("🔓 Unbound")
    assert unsent.startswith("⛔ Not sent: the topic was unbound")
    assert "kept behind the trust screen" in unsent
    assert "half typed" not in unsent  # it may be in the pane already: not claimed unsent
    assert binding.key not in topics.running and binding.key not in topics.keeper.state.bindings


async def test_unbind_with_nothing_waiting_says_only_unbound(tmp_path: Path, nursery: trio.Nursery) -> None:
    bot, topics, _ = bound_topic(tmp_path, nursery)
    await topics.on_command((CHAT, 11), unbind_message(11), "unbind", "")
    await trio.sleep(0.2)
    assert [kw["text"][:10] for kw in bot.of("send_message")] == ["🔓 Unbound."]
