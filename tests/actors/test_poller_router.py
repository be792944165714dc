from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

from ccbot.actors.poller import run_poller
from ccbot.actors.router import Router
from ccbot.messages import Outbound
from ccbot.state.keeper import StateKeeper
from ccbot.state.model import State
from ccbot.state.store import StateStore
from ccbot.telegram.errors import Conflict, NetworkError
from ccbot.telegram.types import Update

ALLOWED = frozenset({42})


def upd(update_id: int, user: int, text: str, *, chat: int = -100, chat_type: str = "supergroup",
        thread: int | None = 7) -> Update:
    message: dict[str, Any] = {
        "message_id": update_id, "date": 0, "text": text,
        "chat": {"id": chat, "type": chat_type, **({"is_forum": True} if chat < 0 else {})},
        "from": {"id": user, "is_bot": False, "first_name": "u"},
    }
    if thread is not None:
        message.update(message_thread_id=thread, is_topic_message=True)
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return Update.from_api({"update_id": update_id, "message": message})


def callback(update_id: int, user: int) -> Update:
    return Update.from_api({"update_id": update_id, "callback_query": {
        "id": "cb", "chat_instance": "1", "data": "x",
        "from": {"id": user, "is_bot": False, "first_name": "u"},
        "message": {"message_id": 1, "date": 0, "chat": {"id": -100, "type": "supergroup"}}}})


class ScriptedPoller:
    def __init__(self, batches: list[Any]) -> None:
        self.batches = batches
        self.offsets: list[int | None] = []
        self.times: list[float] = []

    async def get_updates(self, offset: int | None, timeout: int, allowed: Any) -> list[Update]:
        self.offsets.append(offset)
        self.times.append(trio.current_time())
        await trio.sleep(0.01)
        if not self.batches:
            await trio.sleep_forever()
        batch = self.batches.pop(0)
        if isinstance(batch, BaseException):
            raise batch
        return list(batch)


def keeper(tmp_path: Path, offset: int = 0) -> StateKeeper:
    return StateKeeper(StateStore(tmp_path / "state.json"), State(telegram_offset=offset))


async def test_poller_offsets_and_conflict_backoff(autojump_clock: trio.abc.Clock, nursery: trio.Nursery,
                                                   tmp_path: Path) -> None:
    conflict = Conflict("Conflict: terminated by other getUpdates request; make sure that only one bot "
                        "instance is running", error_code=409)
    api = ScriptedPoller([[upd(10, 42, "a"), upd(11, 42, "b")], conflict, conflict, NetworkError("x"),
                          [upd(12, 42, "c")]])
    send, recv = trio.open_memory_channel[Update](10)
    await nursery.start(lambda task_status: run_poller(api, keeper(tmp_path, 10), send, poll_timeout=50,
                                                       task_status=task_status))
    got = [(await recv.receive()).update_id for _ in range(3)]
    assert got == [10, 11, 12]
    while len(api.offsets) < 6:
        await trio.sleep(0.1)
    assert api.offsets[:6] == [10, 12, 12, 12, 12, 13]
    gaps = [b - a for a, b in zip(api.times, api.times[1:], strict=False)]
    assert gaps[1] >= 5 and gaps[2] >= 10  # conflicts back off (5 s, then 10 s), never spin


async def test_router_auth_start_and_offset(autojump_clock: trio.abc.Clock, nursery: trio.Nursery,
                                            tmp_path: Path) -> None:
    outbox_send, outbox_recv = trio.open_memory_channel[Outbound](100)
    k = keeper(tmp_path)
    router = Router(allowed_users=ALLOWED, keeper=k, outbox=outbox_send, bot_username="ccbot_bot")
    updates_send, updates_recv = trio.open_memory_channel[Update](10)
    await nursery.start(router.run, updates_recv)
    for u in [upd(1, 99, "/start"), upd(2, 99, "hi", chat=99, chat_type="private", thread=None),
              upd(3, 99, "again", chat=99, chat_type="private", thread=None), callback(4, 99),
              upd(5, 42, "/start"), upd(6, 42, "/start@other_bot"), upd(7, 42, "/help@ccbot_bot", thread=None)]:
        await updates_send.send(u)
    while k.saves < 7:  # saves run in a thread: wait for them, not just for blocked tasks
        await trio.sleep(0.01)
    sent = []
    while True:
        try:
            sent.append(outbox_recv.receive_nowait())
        except trio.WouldBlock:
            break
    where = [(o.kwargs["chat_id"], o.kwargs.get("message_thread_id")) for o in sent]
    # one refusal in the private chat only; /start answered in topic 7; /help in General (no thread id)
    assert where == [(99, None), (-100, 7), (-100, None)]
    assert "private" in sent[0].kwargs["text"] and "99" in sent[0].kwargs["text"]
    assert "ccbot" in sent[1].kwargs["text"]
    assert k.state.telegram_offset == 8
    assert k.state.refused_users == [99]
    saved = StateStore(tmp_path / "state.json").load()[0]
    assert saved.telegram_offset == 8 and saved.refused_users == [99]
    # a replayed (already handled) update is skipped
    await updates_send.send(upd(5, 42, "/start"))
    await updates_send.send(upd(8, 42, "/start@someone_else"))
    while k.saves < 8:
        await trio.sleep(0.01)
    assert not outbox_recv.statistics().current_buffer_used


class StallingTopics:
    """A topic layer whose handling of chat -100 waits until released (its Telegram budget is spent)."""

    def __init__(self) -> None:
        self.release = trio.Event()
        self.handled: list[tuple[int, str]] = []

    async def on_message(self, key: Any, message: Any) -> None:
        if key[0] == -100:
            await self.release.wait()
        self.handled.append((key[0], message.text))

    async def on_command(self, key: Any, message: Any, command: str, args: str) -> None:
        await self.on_message(key, message)

    async def on_callback(self, key: Any, query: Any) -> None: ...

    async def on_topic_closed(self, key: Any) -> None: ...

    def owns(self, key: Any) -> bool:
        return False


async def test_a_stalled_chat_delays_no_other_chat_and_the_offset_never_passes_it(
        autojump_clock: trio.abc.Clock, nursery: trio.Nursery, tmp_path: Path) -> None:
    topics = StallingTopics()
    outbox_send, _ = trio.open_memory_channel[Outbound](100)
    k = keeper(tmp_path)
    router = Router(allowed_users=ALLOWED, keeper=k, outbox=outbox_send, bot_username="ccbot_bot", topics=topics)
    updates_send, updates_recv = trio.open_memory_channel[Update](10)
    await nursery.start(router.run, updates_recv)
    for u in [upd(1, 42, "group first"), upd(2, 42, "dm one", chat=42, chat_type="private", thread=None),
              upd(3, 42, "group second"), upd(4, 42, "dm two", chat=42, chat_type="private", thread=None)]:
        await updates_send.send(u)
    with trio.fail_after(600):  # virtual seconds (autojump) while saves run in a thread
        while len(topics.handled) < 2:
            await trio.sleep(0.01)
    assert topics.handled == [(42, "dm one"), (42, "dm two")]  # the private chat did not wait
    assert (k.state.telegram_offset, k.state.telegram_done) == (1, [2, 4])  # update 1 is not done: not passed
    while k.saves < 2:  # saves run in a thread
        await trio.sleep(0.01)
    saved = StateStore(tmp_path / "state.json").load()[0]
    assert saved.telegram_offset == 1 and saved.telegram_done == [2, 4]  # update 1 is not done: not passed

    # a restart now re-fetches from 1: the private chat's updates are not handled again
    topics2 = StallingTopics()
    topics2.release.set()
    k2 = StateKeeper(StateStore(tmp_path / "state.json"), saved)
    router2 = Router(allowed_users=ALLOWED, keeper=k2, outbox=outbox_send, bot_username="ccbot_bot",
                     topics=topics2)
    send2, recv2 = trio.open_memory_channel[Update](10)
    await nursery.start(router2.run, recv2)
    for u in [upd(1, 42, "group first"), upd(2, 42, "dm one", chat=42, chat_type="private", thread=None),
              upd(3, 42, "group second"), upd(4, 42, "dm two", chat=42, chat_type="private", thread=None)]:
        await send2.send(u)
    with trio.fail_after(600):  # virtual seconds: the autojump clock runs on while saves use a thread
        while len(topics2.handled) < 2:
            await trio.sleep(0.01)
    await trio.sleep(1)
    assert topics2.handled == [(-100, "group first"), (-100, "group second")]  # in order, once
    assert k2.state.telegram_offset == 5 and k2.state.telegram_done == []


async def test_a_callback_on_an_inaccessible_message_names_no_topic(tmp_path: Path) -> None:
    """Bot API sends a message the bot can no longer see with date 0 and no topic: the router hands the
    callback on with no topic key instead of guessing General."""
    seen: list[Any] = []

    class Topics:
        async def on_callback(self, key: Any, query: Any) -> None:
            seen.append(key)

    outbox, _ = trio.open_memory_channel[Outbound](10)
    router = Router(allowed_users=frozenset({7}), keeper=StateKeeper(StateStore(tmp_path / "s.json"), State()),
                    outbox=outbox, bot_username="bot", topics=Topics())  # type: ignore[arg-type]
    await router.handle(callback(1, 7))
    assert seen == [None]
