"""fakegram: a fake Telegram Bot API server for tests and manual runs.

It models one bot (the constructor's) or several sharing chats (``add_bot``; each with its own
token, update queue, long polling and commands): users, private chats (with or without topics),
forum supergroups and their topics, messages with parsed text/entities (HTML validated by
``ccbot.render.tg_html``), files, the update queue with long polling, callback queries, commands,
chat actions, drafts, plus fault injection and Telegram's sending budget (flood control: 429s, on by
default, ``telegram_budget=False`` to turn it off; see ``budget.py``). It follows the project's
Telegram Bot API reference notes (§2: semantics and the real server's exact error strings).

Module map: ``state.py`` (data + change signal), ``methods.py`` (bot methods), ``control.py``
(user actions + inspection), ``fake.py`` (``FakeTelegram``: routing, call log, faults, ``wait_for``,
``mock_transport``), ``server.py`` (h11 server), ``control_http.py`` (``/_control``), ``params.py``,
``faults.py``, ``budget.py`` (the sending budget), ``trim.py`` (what the server does to a text before
storing it), ``model.py``, ``errors.py``.

Use in-process::

    fake = FakeTelegram("123:ABC", long_poll_max=0.2)
    async with running_fakegram(fake) as port:        # or: await nursery.start(serve_fakegram, fake)
        ...  # httpx to http://127.0.0.1:{port}/bot123:ABC/getMe

Several bots in one forum group (each polls and sends with its own token)::

    other = fake.add_bot("654321:XYZ", "other_bot")
    group = fake.create_forum_group("Dev", bot_ids=[fake.bot.id, other])
    fake.bot_messages(group, topic, bot_id=other)      # what that bot wrote in the topic

Telegram's sending budget: a bot that sends too fast gets the real 429 (``retry_after`` honest);
every one is kept for counting, and a test that needs headroom turns the budget off::

    fake.throttles_for(group)                          # [Throttle(time, bot_id, chat_id, ..., scope)]
    FakeTelegram(token, telegram_budget=False)         # or fake.set_budget(False) / BudgetLimits(...)

or without sockets (works under ``autojump_clock``)::

    httpx.AsyncClient(transport=fake.mock_transport(), base_url="http://fakegram")

or as a process: ``python -m tools.fakegram --port 0 --port-file F --token TOKEN``.
"""

from __future__ import annotations

from .budget import BUDGETED_METHODS, BudgetLimits, RateLimiter, Refusal, Throttle
from .errors import ApiError, ControlError
from .fake import FakeTelegram, HttpResponse
from .faults import FaultKind
from .model import (
    GENERAL,
    BotAccount,
    CallbackAnswer,
    CallRecord,
    ChatAction,
    DraftFrame,
    MessageVersion,
    StoredFile,
    StoredMessage,
    Topic,
    User,
)
from .params import UploadedFile
from .server import running_fakegram, serve_fakegram

__all__ = [
    "BUDGETED_METHODS",
    "GENERAL",
    "ApiError",
    "BotAccount",
    "BudgetLimits",
    "CallRecord",
    "CallbackAnswer",
    "ChatAction",
    "ControlError",
    "DraftFrame",
    "FakeTelegram",
    "FaultKind",
    "HttpResponse",
    "MessageVersion",
    "RateLimiter",
    "Refusal",
    "StoredFile",
    "StoredMessage",
    "Throttle",
    "Topic",
    "UploadedFile",
    "User",
    "running_fakegram",
    "serve_fakegram",
]
