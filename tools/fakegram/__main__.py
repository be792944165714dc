"""Run fakegram as a process.

``python -m tools.fakegram --port 0 --port-file F --token TOKEN [--chat-setup JSON|@FILE]
[--max-seconds S] [--long-poll-max S] [--no-budget] [--add-bot USERNAME=TOKEN ...]``

Prints ``LISTENING 127.0.0.1:<port>`` (and ``SETUP <json>`` with the ids the chat setup created),
writes the port to ``--port-file`` atomically, and serves until SIGINT/SIGTERM or ``--max-seconds``.
Drive it with ``POST /_control/<name>`` (see ``control_http.py``).

Chat setup JSON: ``{"bots": [{"token", "username", "first_name"?}], "users": [{"user_id",
"first_name", "username"?}], "forum_groups": [{"title", "bot_is_admin"?, "chat_id"?, "bot_ids"?}],
"private_chats": [{"user_id", "topics_enabled"?, "bot_id"?}], "topics": [{"chat_id", "user_id",
"name"}]}`` (every key optional; ``--add-bot`` bots exist before the setup runs).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from functools import partial
from pathlib import Path
from typing import Any

import trio

from .fake import FakeTelegram
from .server import HOST, serve_fakegram


def apply_setup(fake: FakeTelegram, setup: dict[str, Any]) -> dict[str, list[int]]:
    """Create users, chats and topics from a setup object; returns the ids created per key."""
    created: dict[str, list[int]] = {"users": [], "forum_groups": [], "private_chats": [], "topics": []}
    if "bots" in setup:
        created["bots"] = [fake.add_bot(**bot) for bot in setup["bots"]]
    for user in setup.get("users", []):
        created["users"].append(fake.add_user(**user).id)
    for group in setup.get("forum_groups", []):
        created["forum_groups"].append(fake.create_forum_group(**group))
    for chat in setup.get("private_chats", []):
        created["private_chats"].append(fake.create_private_chat(**chat))
    for topic in setup.get("topics", []):
        created["topics"].append(fake.user_creates_topic(**topic))
    return created


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.fakegram", description="Fake Telegram Bot API")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--port-file", type=Path, help="write the bound port here")
    parser.add_argument("--token", default="123456:TEST-TOKEN", help="the bot token to accept")
    parser.add_argument("--bot-username", default="fakegram_bot")
    parser.add_argument("--chat-setup", help="setup JSON, or @path to a JSON file")
    parser.add_argument("--max-seconds", type=float, help="stop after this many seconds")
    parser.add_argument("--long-poll-max", type=float, help="cap getUpdates timeouts (seconds)")
    parser.add_argument(
        "--no-budget",
        action="store_true",
        help="do not enforce Telegram's sending budget (429 flood control; on by default)",
    )
    parser.add_argument(
        "--add-bot",
        action="append",
        default=[],
        metavar="USERNAME=TOKEN",
        help="serve another bot too (repeatable)",
    )
    return parser.parse_args(argv)


def _write_port(path: Path, port: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{port}\n")
    os.replace(tmp, path)


async def _run(fake: FakeTelegram, args: argparse.Namespace, created: dict[str, list[int]]) -> None:
    async with trio.open_nursery() as nursery:
        port: int = await nursery.start(partial(serve_fakegram, fake, port=args.port))
        if args.port_file is not None:
            _write_port(args.port_file, port)
        print(f"LISTENING {HOST}:{port}", flush=True)
        if any(created.values()):
            print("SETUP " + json.dumps(created), flush=True)
        if args.max_seconds is not None:
            nursery.cancel_scope.deadline = trio.current_time() + args.max_seconds
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                nursery.cancel_scope.cancel()
                break


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    fake = FakeTelegram(
        args.token,
        bot_username=args.bot_username,
        long_poll_max=args.long_poll_max,
        telegram_budget=not args.no_budget,
    )
    created: dict[str, list[int]] = {}
    for spec in args.add_bot:
        username, sep, token = spec.partition("=")
        try:
            if not sep:
                raise ValueError("expected USERNAME=TOKEN")
            fake.add_bot(token, username)
        except ValueError as exc:
            print(f"fakegram: bad --add-bot {spec!r}: {exc}", file=sys.stderr)
            return 2
    if args.chat_setup:
        text = Path(args.chat_setup[1:]).read_text() if args.chat_setup.startswith("@") else args.chat_setup
        try:
            created = apply_setup(fake, json.loads(text))
        except (ValueError, TypeError) as exc:
            print(f"fakegram: bad --chat-setup: {exc}", file=sys.stderr)
            return 2
    trio.run(_run, fake, args, created)
    return 0


if __name__ == "__main__":
    sys.exit(main())
