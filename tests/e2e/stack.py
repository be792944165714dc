"""The full offline stack for end-to-end tests: fakegram + mock OpenAI + real codex in real tmux + the bot.

``running_stack()`` starts everything on 127.0.0.1 with a dedicated tmux socket and tears it all down
(bot stopped, tmux server killed, servers cancelled) even when the test fails.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from tests.e2e.harness import BotProcess, bot_env, budget_report, kill_tmux_server, new_fake, start_bot
from tools.codex_harness import stop_codex_daemon, write_codex_home
from tools.fakegram import FakeTelegram, serve_fakegram
from tools.fakegram.model import StoredMessage
from tools.mock_openai.server import RequestLog, serve_mock_openai

OWNER = 1001


@dataclass
class Stack:
    fake: FakeTelegram
    group: int
    bot: BotProcess
    workdir: Path
    codex_home: Path
    tmp_path: Path
    env: dict[str, str]
    mock_port: int = 0  # the mock OpenAI server (its API root is http://127.0.0.1:<port>/v1)

    # ``chat`` (default: the stack's forum group) lets a test drive a second chat the same way.
    def new_topic(self, name: str, chat: int | None = None) -> int:
        return self.fake.user_creates_topic(chat or self.group, OWNER, name)

    def send(self, topic: int, text: str, chat: int | None = None) -> None:
        self.fake.user_sends_text(chat or self.group, OWNER, text, thread_id=topic)

    def messages(self, topic: int, chat: int | None = None) -> list[StoredMessage]:
        return self.fake.bot_messages(chat or self.group, topic)

    def texts(self, topic: int, chat: int | None = None) -> list[str]:
        return [m.text or m.caption or "" for m in self.messages(topic, chat)]

    async def wait_text(self, topic: int, needle: str, timeout: float = 40.0,
                        chat: int | None = None) -> StoredMessage:
        def found() -> StoredMessage | None:
            for message in self.messages(topic, chat):
                if needle in (message.text or message.caption or ""):
                    return message
            return None

        try:
            return await self.fake.wait_for(found, timeout=timeout)
        except trio.TooSlowError:
            raise AssertionError(f"{needle!r} not in topic {topic}: {self.texts(topic, chat)}\n"
                                 + budget_report(self.fake) + "\n"
                                 + "\n".join(self.bot.log_lines()[-30:])) from None

    async def press(self, topic: int, label: str, timeout: float = 20.0, chat: int | None = None) -> None:
        """Press the newest button whose label contains ``label`` in ``topic``."""

        def button() -> tuple[int, str] | None:
            for message in reversed(self.messages(topic, chat)):
                rows: Any = (message.reply_markup or {}).get("inline_keyboard", [])
                for row in rows:
                    for b in row:
                        if label in b.get("text", ""):
                            return message.message_id, b["callback_data"]
            return None

        try:
            message_id, data = await self.fake.wait_for(button, timeout=timeout)
        except trio.TooSlowError:
            raise AssertionError(f"no button {label!r} in topic {topic}: "
                                 f"{self.texts(topic, chat)}\n{budget_report(self.fake)}") from None
        self.fake.user_presses(chat or self.group, OWNER, message_id, data)

    async def start_fresh(self, topic: int, first_text: str, folder: str = "work", chat: int | None = None) -> None:
        """Send the first message, pick ``folder`` in the browser and start a fresh thread."""
        self.send(topic, first_text, chat)
        await self.press(topic, f"📁 {folder}", chat=chat)
        await self.fake.wait_for(lambda: any(folder in (m.text or "") and "Choose" in (m.text or "")
                                             for m in self.messages(topic, chat)), timeout=20)
        await self.press(topic, "Select this folder", chat=chat)
        picker = await self.fake.wait_for(
            lambda: any("New thread" in json.dumps(m.reply_markup or {}, ensure_ascii=False)
                        or "Bound to tmux" in (m.text or "") for m in self.messages(topic, chat)), timeout=20)
        if picker and not any("Bound to tmux" in (m.text or "") for m in self.messages(topic, chat)):
            await self.press(topic, "New thread", chat=chat)
        await self.wait_text(topic, "Bound to tmux", chat=chat)

    async def resume(self, topic: int, first_text: str, thread: str, folder: str = "work") -> None:
        """Send the first message, pick ``folder`` in the browser and press the earlier thread whose button
        holds ``thread`` (its generated name); what follows (bound, kept, refused) is the caller's to check."""
        self.send(topic, first_text)
        await self.press(topic, f"📁 {folder}")
        await self.press(topic, "Select this folder")
        await self.press(topic, thread, timeout=20)

    def rollouts(self) -> list[Path]:
        return sorted((self.codex_home / "sessions").rglob("rollout-*.jsonl"))

    def items_in_rollouts(self, kind: str) -> list[tuple[str, str]]:
        """(thread cwd, text) of every completed ``kind`` item ("UserMessage", "AgentMessage") in order."""
        out = []
        for path in self.rollouts():
            cwd = "?"
            for line in path.read_text().splitlines():
                try:
                    item = json.loads(line)
                except ValueError:
                    continue
                payload = item.get("payload", {})
                if item.get("type") == "session_meta":
                    cwd = payload.get("cwd", "?")
                elif item.get("type") == "event_msg" and payload.get("type") == "item_completed":
                    inner = payload.get("item", {})
                    if inner.get("type") == kind:
                        out.append((cwd, "".join(c.get("text", "") for c in inner.get("content", []))))
        return out

    def user_messages_in_rollouts(self) -> list[str]:
        return [text for _, text in self.items_in_rollouts("UserMessage")]

    def agent_messages_in_rollouts(self) -> list[str]:
        return [text for _, text in self.items_in_rollouts("AgentMessage")]

    def tmux(self, *args: str) -> str:
        import subprocess

        proc = subprocess.run(["tmux", "-L", self.env["CCBOT_TMUX_SOCKET"], *args], capture_output=True,
                              text=True, check=False)
        return proc.stdout

    async def wait_committed(self, timeout: float = 10.0) -> None:
        """Wait until the bot's saved state has every binding's rollout read to its end: all it delivered is
        committed, so a stop now re-sends nothing (a stop between a send and its commit re-sends: at least
        once)."""
        def committed() -> bool:
            try:
                bindings = json.loads((self.tmp_path / "ccbot" / "state.json").read_text())["bindings"]
            except (OSError, ValueError):
                return False
            return all(b.get("rollout_path") and b["rollout_offset"] == Path(b["rollout_path"]).stat().st_size
                       for b in bindings.values())

        with trio.fail_after(timeout):
            while not committed():
                await trio.sleep(0.1)

    async def type_at_desk(self, window: str, text: str) -> None:
        """Type ``text`` and Enter into ``ccbot:window`` the way a person does: Codex's paste-burst detection
        (on by default) takes keys that arrive together as a paste, where Enter is a newline, not a submit."""
        self.tmux("send-keys", "-t", f"ccbot:{window}", "-l", text)
        await trio.sleep(0.5)
        self.tmux("send-keys", "-t", f"ccbot:{window}", "Enter")

    async def restart_bot(self, name: str) -> None:
        assert await self.bot.stop() == 0
        self.bot = await start_bot(self.tmp_path, self.env, name=name)
        await self.bot.wait_log(lambda e: e.get("event") == "ready", timeout=30)


@asynccontextmanager
async def running_stack(tmp_path: Path, codex_bin: str, *, config: str, approval_policy: str = "on-request",
                        sandbox_mode: str = "workspace-write",
                        extra_env: dict[str, str] | None = None,
                        folders: Sequence[str] = (), group_id: int | None = None,
                        telegram_budget: bool = True,
                        mock_log: RequestLog | None = None) -> AsyncIterator[Stack]:
    """``config`` is the Codex config profile (``tools.codex_harness.render_config``: "harness" or
    "defaults", Codex's own defaults with its background daemon on); ``extra_env`` is added to the bot's
    environment, values may use ``{mock_port}``. ``folders`` are more folder names made (and trusted)
    beside ``work`` and ``other``; ``group_id`` picks the forum group's chat id. The fake Telegram enforces
    Telegram's sending budget (429s with an honest ``retry_after``) unless ``telegram_budget=False``: a test
    that needs headroom says so. ``mock_log`` receives the mock model's requests (with each streamed
    answer's delta times). On the way out the bot,
    the tmux server, any Codex daemon started for this ``CODEX_HOME`` and the servers are stopped, whatever
    happened."""
    workdir = tmp_path / "work"
    trusted = [workdir, tmp_path / "other", *(tmp_path / name for name in folders)]
    for folder in trusted:
        folder.mkdir()
    codex_home = tmp_path / "codex-home"
    fake = new_fake(long_poll_max=2.0, telegram_budget=telegram_budget)
    fake.add_user(OWNER, "Owner")
    group = fake.create_forum_group("Dev", chat_id=group_id)
    async with trio.open_nursery() as nursery:
        mock_port = await nursery.start(lambda task_status: serve_mock_openai(log=mock_log, task_status=task_status))
        write_codex_home(codex_home, port=mock_port, workdirs=trusted,
                         approval_policy=approval_policy, sandbox_mode=sandbox_mode, profile=config)
        port = await nursery.start(serve_fakegram, fake)
        env = bot_env(tmp_path, port, allowed=str(OWNER), extra={
            "CCBOT_CODEX_COMMAND": codex_bin,
            "CODEX_HOME": str(codex_home),
            "MONITOR_POLL_INTERVAL": "0.5",
            "NO_PROXY": "127.0.0.1,localhost",
            **{name: value.replace("{mock_port}", str(mock_port))
               for name, value in (extra_env or {}).items()},
        })
        bot = await start_bot(tmp_path, env)
        stack = Stack(fake, group, bot, workdir, codex_home, tmp_path, env, mock_port)
        try:
            await bot.wait_log(lambda e: e.get("event") == "ready", timeout=30)
            yield stack
        finally:
            stack.bot.kill()
            with trio.move_on_after(10):
                await stack.bot.proc.wait()
            kill_tmux_server(env)
            stop_codex_daemon(codex_home)
            nursery.cancel_scope.cancel()
