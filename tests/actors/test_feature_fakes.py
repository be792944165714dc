"""Fakes shared by the feature actor tests (no tests here): a Telegram outbox that answers at once, the
scripted tmux (``tests.actors.fake_tmux``), and a real ``Topics`` wired to them with bound windows (no window
actors are started)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import trio

from ccbot.actors.topics import RunningWindow, Topics
from ccbot.actors.window.screen import read_and_press
from ccbot.config import Config
from ccbot.messages import Outbound, PressForScreen, WindowCommand
from ccbot.state.keeper import StateKeeper
from ccbot.state.model import Binding, State
from ccbot.state.store import StateStore
from ccbot.telegram.types import CallbackQuery
from tests.actors.fake_tmux import FakeTmux

CHAT = -1001234
OWNER = 7


class FakeBot:
    """Consumes the outbox: sendMessage gets increasing message ids, everything else True."""

    def __init__(self) -> None:
        self.calls: list[Outbound] = []
        self.next_id = 100

    async def run(self, recv: trio.MemoryReceiveChannel[Outbound]) -> None:
        async for item in recv:
            self.calls.append(item)
            if item.method == "send_message":
                self.next_id += 1
                item.reply.resolve(SimpleNamespace(message_id=self.next_id))
            else:
                item.reply.resolve(True)

    def of(self, method: str) -> list[dict[str, Any]]:
        return [dict(c.kwargs) for c in self.calls if c.method == method]

    def answers(self) -> list[str | None]:
        return [kw.get("text") for kw in self.of("answer_callback_query")]


def make_topics(tmp_path: Path, outbox: trio.MemorySendChannel[Outbound], tmux: FakeTmux) -> Topics:
    cfg = Config(telegram_bot_token="1:x", allowed_users=frozenset({OWNER}), ccbot_dir=tmp_path)
    keeper = StateKeeper(StateStore(tmp_path / "state.json"), State())
    return Topics(cfg, keeper, outbox, tmux, index=None, files=None, changes=None,  # type: ignore[arg-type]
                  rollouts=None)


def bind(topics: Topics, topic: int, window: str, pane: str, owner_mark: str = "",
         *, serve: tuple[trio.Nursery, FakeTmux] | None = None) -> Binding:
    """Bind ``topic`` to a window with no actor; with ``serve``, a stand-in executes the pane actions
    features queue (``PressForScreen``) with the window actor's own code, in that nursery on that tmux."""
    binding = Binding(chat_id=CHAT, topic_id=topic, window_id=window, window_name=f"w{topic}", cwd="/tmp",
                      pane_id=pane, owner_mark=owner_mark)
    send, recv = trio.open_memory_channel[WindowCommand](4)
    topics.running[binding.key] = RunningWindow(binding, send, trio.CancelScope())
    if serve is not None:
        nursery, tmux = serve
        nursery.start_soon(_stand_in, binding, tmux, recv)
    return binding


async def _stand_in(binding: Binding, tmux: FakeTmux, recv: trio.MemoryReceiveChannel[WindowCommand]) -> None:
    async for command in recv:
        if isinstance(command, PressForScreen):
            command.reply.set(await read_and_press(tmux, binding, command))  # type: ignore[arg-type]


def query(topic: int, message_id: int, data: str, qid: str = "q") -> CallbackQuery:
    return CallbackQuery.from_api({
        "id": qid, "data": data, "chat_instance": "1",
        "from": {"id": OWNER, "is_bot": False, "first_name": "o"},
        "message": {"message_id": message_id, "date": 0, "message_thread_id": topic, "is_topic_message": True,
                    "chat": {"id": CHAT, "type": "supergroup", "is_forum": True}},
    })
