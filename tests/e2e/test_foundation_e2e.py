"""Issue 2 end to end: fake Telegram server in-process, ``python -m ccbot`` as a subprocess."""

from __future__ import annotations

from pathlib import Path

import trio

from tests.e2e.harness import TOKEN, bot_env, kill_tmux_server, running_bot, start_bot
from tools.fakegram import FakeTelegram, serve_fakegram

OWNER, STRANGER = 1001, 6666


def setup_fake() -> tuple[FakeTelegram, int, int]:
    fake = FakeTelegram(TOKEN, long_poll_max=2.0)
    fake.add_user(OWNER, "Owner")
    fake.add_user(STRANGER, "Stranger")
    group = fake.create_forum_group("Dev")
    topic = fake.user_creates_topic(group, OWNER, "work")
    return fake, group, topic


def texts(fake: FakeTelegram, chat: int, thread: int | None) -> list[str]:
    return [m.text for m in fake.bot_messages(chat, thread)]


async def test_start_auth_429_409_sigterm_and_no_token_in_logs(tmp_path: Path, tmux_bin: str) -> None:
    fake, group, topic = setup_fake()
    other_topic = fake.user_creates_topic(group, OWNER, "other")
    private = fake.create_private_chat(STRANGER)
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_fakegram, fake)
        env = bot_env(tmp_path, port, allowed=str(OWNER))
        bot = await start_bot(tmp_path, env)
        try:
            await bot.wait_log(lambda e: e.get("event") == "ready")

            # /start is answered in the topic it was sent in, and only there
            fake.user_sends_text(group, OWNER, "/start", thread_id=topic)
            await fake.wait_for(lambda: any("ccbot" in t for t in texts(fake, group, topic)), timeout=15)
            assert texts(fake, group, other_topic) == []

            # a stranger: nothing in the group, one refusal in private, buttons do nothing
            before = len(fake.calls)
            fake.user_sends_text(group, STRANGER, "/start", thread_id=topic)
            fake.user_sends_text(group, STRANGER, "rm -rf /", thread_id=topic)
            fake.user_sends_text(private, STRANGER, "hello?")
            fake.user_sends_text(private, STRANGER, "hello again?")
            help_msg = fake.bot_messages(group, topic)[-1]
            fake.user_presses(group, STRANGER, help_msg.message_id, "br.up:AAAAAA")
            fake.user_sends_text(group, OWNER, "/help", thread_id=other_topic)  # a marker after them
            await fake.wait_for(lambda: texts(fake, group, other_topic) != [], timeout=15)
            assert len(texts(fake, group, topic)) == 1
            private_texts = texts(fake, private, None)
            assert len(private_texts) == 1 and "private" in private_texts[0]
            assert not any(c.method.lower() == "answercallbackquery" for c in fake.calls[before:])

            # a 429 burst delays but loses nothing
            fake.inject("sendMessage", kind="429", count=3, retry_after=1)
            for _ in range(3):
                fake.user_sends_text(group, OWNER, "/help", thread_id=topic)
            await fake.wait_for(lambda: len(texts(fake, group, topic)) == 4, timeout=30)
            statuses = [c.http_status for c in fake.calls if c.method.lower() == "sendmessage"]
            assert statuses.count(429) == 3

            # a 409 from a second poller is survived
            fake.inject("getUpdates", kind="409", count=2)
            fake.user_sends_text(group, OWNER, "/help", thread_id=other_topic)
            await fake.wait_for(lambda: len(texts(fake, group, other_topic)) == 2, timeout=60)
            assert any(e.get("event", "").startswith("another bot instance") for e in bot.log_events())

            code = await bot.stop()
            assert code == 0
        finally:
            bot.kill()
            kill_tmux_server(env)
            nursery.cancel_scope.cancel()
    log_text = bot.log_path.read_text()
    state_text = (tmp_path / "ccbot" / "state.json").read_text()
    assert TOKEN.split(":")[1] not in state_text
    assert TOKEN not in log_text
    assert TOKEN.split(":")[1] not in log_text
    assert any(e.get("event") == "state saved" for e in bot.log_events())


async def test_restart_neither_replays_nor_loses_updates(tmp_path: Path, tmux_bin: str) -> None:
    fake, group, topic = setup_fake()
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_fakegram, fake)
        env = bot_env(tmp_path, port, allowed=str(OWNER))
        async with running_bot(tmp_path, env) as bot:
            fake.user_sends_text(group, OWNER, "/help", thread_id=topic)
            await fake.wait_for(lambda: len(texts(fake, group, topic)) == 1, timeout=15)
            assert await bot.stop() == 0
        fake.user_sends_text(group, OWNER, "/help", thread_id=topic)  # arrives while the bot is down
        async with running_bot(tmp_path, env, name="bot2") as bot:
            await fake.wait_for(lambda: len(texts(fake, group, topic)) == 2, timeout=15)
            await trio.sleep(1.5)
            assert len(texts(fake, group, topic)) == 2  # the first /help was not replayed
            assert await bot.stop() == 0
        nursery.cancel_scope.cancel()


async def test_corrupt_state_and_unwritable_dir_do_not_stop_the_bot(tmp_path: Path, tmux_bin: str) -> None:
    fake, group, topic = setup_fake()
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_fakegram, fake)
        # 1. a corrupt state file: kept aside, the bot starts empty and says so in its log
        env = bot_env(tmp_path, port, allowed=str(OWNER))
        state_dir = Path(env["CCBOT_DIR"])
        state_dir.mkdir(parents=True)
        (state_dir / "state.json").write_text('{"schema": 1, "telegram_offs')
        async with running_bot(tmp_path, env) as bot:
            note = await bot.wait_log(lambda e: e.get("event") == "state loaded with a note")
            assert "corrupt" in note["detail"]
            assert list(state_dir.glob("state.json.corrupt-*"))
            fake.user_sends_text(group, OWNER, "/help", thread_id=topic)
            await fake.wait_for(lambda: len(texts(fake, group, topic)) == 1, timeout=15)
            assert await bot.stop() == 0
        # 2. CCBOT_DIR cannot be created (its parent is a file): errors are logged once, the bot keeps working
        blocker = tmp_path / "blocker"
        blocker.write_text("not a directory")
        env2 = bot_env(tmp_path, port, allowed=str(OWNER), extra={"CCBOT_DIR": str(blocker / "ccbot")})
        async with running_bot(tmp_path, env2, name="bot-ro") as bot:
            for _ in range(3):
                fake.user_sends_text(group, OWNER, "/help", thread_id=topic)
            await fake.wait_for(lambda: len(texts(fake, group, topic)) == 4, timeout=20)
            errors = [e for e in bot.log_events() if e.get("event") == "state not saved"]
            assert len(errors) == 1 and "cannot write state file" in errors[0]["error"]
            assert await bot.stop() == 0
        nursery.cancel_scope.cancel()


async def test_systemd_ready_and_watchdog_notifications(tmp_path: Path, tmux_bin: str) -> None:
    import socket

    fake, _, _ = setup_fake()
    path = tmp_path / "notify.sock"
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    await sock.bind(str(path))
    received: list[str] = []
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_fakegram, fake)
        env = bot_env(tmp_path, port, allowed=str(OWNER), extra={"NOTIFY_SOCKET": str(path),
                                                                   "CCBOT_POLL_TIMEOUT": "1"})
        bot = await start_bot(tmp_path, env)
        try:
            with trio.fail_after(20):
                while received.count("WATCHDOG=1") < 3 or "READY=1" not in received:
                    received.append((await sock.recv(100)).decode())
            assert await bot.stop() == 0
            with trio.fail_after(10):
                while "STOPPING=1" not in received:
                    received.append((await sock.recv(100)).decode())
        finally:
            bot.kill()
            sock.close()
            kill_tmux_server(env)
            nursery.cancel_scope.cancel()
    assert received.index("READY=1") < received.index("STOPPING=1")
