"""The root of the actor tree: builds clients, channels and actors, and shuts down cleanly.

``main(cfg)`` returns the process exit code: 0 after SIGTERM/SIGINT (state saved, outbox drained for up
to ``DRAIN_SECONDS``), 1 when start-up fails (bad token, unreadable state) or an actor gave up.
"""

from __future__ import annotations

import functools
import signal
from typing import Any

import httpx
import structlog
import trio

from ccbot.actors.appserver_links import AppServerLinks
from ccbot.actors.poller import run_poller
from ccbot.actors.rollout_watch import RolloutWatch
from ccbot.actors.router import Router
from ccbot.actors.sender import Sender
from ccbot.actors.topics import Topics
from ccbot.codex.sessions import SessionIndex
from ccbot.config import Config
from ccbot.features.catalog import FEATURES
from ccbot.messages import Outbound
from ccbot.sdnotify import Notifier
from ccbot.state.keeper import StateKeeper
from ccbot.state.store import StateError, StateStore
from ccbot.supervisor import GaveUp, RestartPolicy, supervise
from ccbot.telegram.api import BotApi
from ccbot.telegram.errors import TelegramError, Unauthorized
from ccbot.telegram.types import BotCommand, Update, User
from ccbot.tmux.adapter import Tmux
from ccbot.tmux.control import ControlClient

log = structlog.get_logger("ccbot.app")

DRAIN_SECONDS = 5.0
OUTBOX_SIZE = 1000
UPDATES_SIZE = 100

BOT_COMMANDS = (
    BotCommand("new", "Bind this topic to a new or existing Codex session"),
    BotCommand("esc", "Interrupt Codex (Esc)"),
    BotCommand("screenshot", "Picture of the terminal with key buttons"),
    BotCommand("history", "Browse this topic's conversation"),
    BotCommand("unbind", "Detach this topic (the tmux window keeps running)"),
    BotCommand("clear", "Codex: start a new thread"),
    BotCommand("compact", "Codex: summarise the context"),
    BotCommand("diff", "Codex: show the git diff"),
    BotCommand("init", "Codex: write AGENTS.md"),
    BotCommand("review", "Codex: review changes"),
    BotCommand("status", "Codex: session status and token usage"),
    BotCommand("help", "How this bot works"),
)


async def _wait_for_me(api: BotApi) -> User:
    """getMe with retries on transient errors; Unauthorized propagates (wrong token)."""
    delay = 1.0
    while True:
        try:
            return await api.get_me()
        except Unauthorized:
            raise
        except TelegramError as exc:
            log.warning("getMe failed; retrying", error=str(exc), retry_in=delay)
            await trio.sleep(delay)
            delay = min(delay * 2, 30.0)


async def _watch_signals(cancel_scope: trio.CancelScope, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        task_status.started()
        async for signum in signals:
            log.info("shutting down", signal=signal.Signals(signum).name)
            cancel_scope.cancel()
            return


async def main(cfg: Config) -> int:
    """Run the bot until SIGTERM/SIGINT or an actor gives up; return the exit status.

    1 when the state cannot be loaded, Telegram rejects the token, or an actor gave up; 0 after a clean
    shutdown. Once connected, the state is saved (fsynced, at most 5 s) on the way out, whatever happened.
    """
    store = StateStore(cfg.state_file)
    try:
        state, report = await trio.to_thread.run_sync(store.load)
    except StateError as exc:
        log.error("cannot load state", error=str(exc))
        return 1
    if report.detail:
        log.warning("state loaded with a note", source=report.source, detail=report.detail)
    keeper = StateKeeper(store, state)
    timeout = httpx.Timeout(15.0, connect=10.0)
    async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
        api = BotApi(client, cfg.telegram_bot_token, cfg.telegram_api_base_url)
        try:
            me = await _wait_for_me(api)
        except Unauthorized:
            log.error("Telegram rejected the bot token (401 Unauthorized); check TELEGRAM_BOT_TOKEN")
            return 1
        log.info("connected to Telegram", bot=me.username, bot_id=me.id)
        try:
            return await _run(cfg, api, me, keeper)
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(5):
                await keeper.flush()
                log.info("state saved")


def build_topics(
    cfg: Config, keeper: StateKeeper, outbox: trio.MemorySendChannel[Outbound], api: BotApi, sender: Sender
) -> Topics:
    """The sessions layer with its tmux adapter, sessions index and feature plug-ins, fed by ``sender``."""
    tmux = Tmux(cfg.tmux_session_name, socket_name=cfg.tmux_socket_name, secrets=cfg.secrets)
    index = SessionIndex(cfg.codex_home, cache_path=cfg.ccbot_dir / "sessions-index.json")
    changes = ControlClient(cfg.tmux_session_name, socket_name=cfg.tmux_socket_name, secrets=cfg.secrets)
    topics = Topics(cfg, keeper, outbox, tmux, index, files=api, changes=changes, rollouts=RolloutWatch(),
                    drafts_refused=sender.drafts_refused, appservers=AppServerLinks())
    for install in FEATURES:
        install(topics)
    return topics


async def _run(cfg: Config, api: BotApi, me: User, keeper: StateKeeper) -> int:
    outbox_send, outbox_recv = trio.open_memory_channel[Outbound](OUTBOX_SIZE)
    updates_send, updates_recv = trio.open_memory_channel[Update](UPDATES_SIZE)
    sender = Sender(api)
    notifier = Notifier()
    try:
        await api.delete_webhook()  # a leftover webhook would make every getUpdates fail with 409
        await api.set_my_commands(BOT_COMMANDS)
    except TelegramError as exc:
        log.warning("start-up call failed", error=str(exc))
    try:
        async with trio.open_nursery() as root:
            await root.start(
                supervise, "telegram-sender",
                lambda task_status: sender.run(outbox_recv.clone(), task_status=task_status),
            )
            async with trio.open_nursery() as intake:
                await intake.start(_watch_signals, intake.cancel_scope)
                topics = build_topics(cfg, keeper, outbox_send, api, sender)
                await intake.start(supervise, "topics", topics.run)
                router = Router(
                    allowed_users=cfg.allowed_users,
                    keeper=keeper,
                    outbox=outbox_send,
                    bot_username=me.username or "",
                    topics=topics,
                    claim=cfg.claim,
                )
                await intake.start(
                    supervise, "router",
                    lambda task_status: router.run(updates_recv.clone(), task_status=task_status),
                )
                await intake.start(
                    supervise, "telegram-poller",
                    lambda task_status: run_poller(
                        api, keeper, updates_send.clone(), poll_timeout=cfg.poll_timeout,
                        on_round_trip=functools.partial(notifier.notify, "WATCHDOG=1"), task_status=task_status,
                    ),
                    # only an Unauthorized (revoked token) or a bug crashes the poller: escalate, don't spin
                    RestartPolicy(healthy_after=60.0, max_restarts=5, window=600.0),
                )
                log.info("ready", allowed_users=len(cfg.allowed_users))
                await notifier.notify("READY=1")
            with trio.move_on_after(DRAIN_SECONDS):
                while sender.pending():  # noqa: ASYNC110 - no event for "outbox empty"; a short poll at shutdown
                    await trio.sleep(0.05)
            if sender.pending():
                log.warning("shutdown with unsent messages", pending=sender.pending())
            await notifier.notify("STOPPING=1")
            root.cancel_scope.cancel()
    except* GaveUp as group:
        for failure in group.exceptions:
            log.error("actor gave up; exiting", error=str(failure))
        gave_up = True
    else:
        gave_up = False
    return 1 if gave_up else 0

