"""The control API over HTTP: ``POST /_control/<name>`` with a JSON object of keyword arguments.

Answers ``{"ok": true, "result": ...}`` or ``{"ok": false, "description": ...}`` (400 for misuse,
404 for an unknown name). ``data`` arguments are base64; stored messages, records and bytes come
back as JSON (bytes base64). Besides the FakeTelegram control methods there are:

* ``calls`` (optional ``method`` and ``bot_id`` filters), ``throttles`` (the 429s answered;
  optional ``chat_id``, ``bot_id`` and ``scope`` filters), ``chat_actions``, ``callback_answers``,
  ``commands`` and ``pending_updates`` (optional ``bot_id``: one bot's), ``drafts``,
  ``internal_errors``, ``file_bytes(file_id)``, ``bots`` (every bot's User object);
* ``set_knobs(long_poll_max?, callback_query_ttl?, telegram_budget?, budget_limits?,
  can_read_all_group_messages?, bot_id?)`` (``budget_limits``: an object of ``BudgetLimits``
  fields, the rest keep their defaults; ``can_read_all_group_messages`` applies to ``bot_id``,
  default: the default bot); ``reset_budget`` refills every bot's budget;
* ``wait_change(after_version, timeout=10)``: returns the state version once it exceeds
  ``after_version`` (or the current one on timeout), so another process can wait cheaply.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import trio

from .budget import BudgetLimits
from .errors import ControlError

if TYPE_CHECKING:
    from .fake import FakeTelegram, HttpResponse

Kwargs = dict[str, Any]
ControlFn = Callable[["FakeTelegram", Kwargs], object]


def _decode_data(kwargs: Kwargs) -> Kwargs:
    if "data" in kwargs:
        kwargs["data"] = base64.b64decode(kwargs["data"])
    return kwargs


def _records(items: list[Any]) -> list[dict[str, object]]:
    out = []
    for item in items:
        record = asdict(item)
        if "entities" in record:
            record["entities"] = [e.to_api() for e in item.entities]
        out.append(record)
    return out


def _set_knobs(fake: FakeTelegram, kw: Kwargs) -> object:
    if "long_poll_max" in kw:
        fake.long_poll_max = kw["long_poll_max"]
    if "callback_query_ttl" in kw:
        fake.callback_query_ttl = float(kw["callback_query_ttl"])
    if "telegram_budget" in kw or "budget_limits" in kw:
        limits = BudgetLimits(**kw["budget_limits"]) if kw.get("budget_limits") else None
        fake.set_budget(bool(kw.get("telegram_budget", fake.telegram_budget)), limits)
    if "can_read_all_group_messages" in kw:
        bot = fake.bot_account(kw.get("bot_id"))
        bot.can_read_all_group_messages = bool(kw["can_read_all_group_messages"])
    fake.notify()
    return True


async def _wait_change(fake: FakeTelegram, kw: Kwargs) -> object:
    after = int(kw.get("after_version", fake.version))
    with trio.move_on_after(float(kw.get("timeout", 10.0))):
        while fake.version <= after:
            await fake.change_event().wait()
    return fake.version


def _calls(fake: FakeTelegram, kw: Kwargs) -> object:
    bot_id = kw.get("bot_id")
    return [
        c.to_json()
        for c in fake.calls
        if ("method" not in kw or c.method.lower() == str(kw["method"]).lower())
        and (bot_id is None or c.bot_id == bot_id)
    ]


def _commands(fake: FakeTelegram, kw: Kwargs) -> object:
    return [
        {"scope": json.loads(scope), "language_code": lang, "commands": cmds}
        for (scope, lang), cmds in fake.bot_account(kw.get("bot_id")).commands.items()
    ]


def _file_bytes(fake: FakeTelegram, kw: Kwargs) -> object:
    stored = fake.files.get(kw["file_id"])
    if stored is None:
        raise ControlError(f"unknown file_id {kw['file_id']}")
    return base64.b64encode(stored.data).decode()


CONTROL: dict[str, ControlFn] = {
    "add_user": lambda f, kw: f.add_user(**kw).to_api(),
    "add_bot": lambda f, kw: f.add_bot(**kw),
    "add_bot_to_chat": lambda f, kw: f.add_bot_to_chat(**kw),
    "bots": lambda f, kw: [b.user.to_api() for b in f.bots.values()],
    "create_forum_group": lambda f, kw: f.create_forum_group(**kw),
    "create_private_chat": lambda f, kw: f.create_private_chat(**kw),
    "set_bot_admin": lambda f, kw: f.set_bot_admin(**kw),
    "user_blocks_bot": lambda f, kw: f.user_blocks_bot(**kw),
    "user_creates_topic": lambda f, kw: f.user_creates_topic(**kw),
    "user_closes_topic": lambda f, kw: f.user_closes_topic(**kw),
    "user_reopens_topic": lambda f, kw: f.user_reopens_topic(**kw),
    "user_edits_topic": lambda f, kw: f.user_edits_topic(**kw),
    "user_deletes_topic": lambda f, kw: f.user_deletes_topic(**kw),
    "user_sends_text": lambda f, kw: f.user_sends_text(**kw),
    "user_edits_text": lambda f, kw: f.user_edits_text(**kw),
    "user_sends_voice": lambda f, kw: f.user_sends_voice(**_decode_data(kw)),
    "user_sends_photo": lambda f, kw: f.user_sends_photo(**_decode_data(kw)),
    "user_sends_document": lambda f, kw: f.user_sends_document(**_decode_data(kw)),
    "user_presses": lambda f, kw: f.user_presses(**kw),
    "messages": lambda f, kw: [m.to_json() for m in f.messages(**kw)],
    "bot_messages": lambda f, kw: [m.to_json() for m in f.bot_messages(**kw)],
    "topic": lambda f, kw: f.topic(**kw).to_json(),
    "calls": _calls,
    "throttles": lambda f, kw: [t.to_json() for t in f.throttles_for(**kw)],
    "reset_budget": lambda f, kw: f.reset_budget(),
    "chat_actions": lambda f, kw: _records(f.chat_actions),
    "callback_answers": lambda f, kw: _records(f.callback_answers),
    "drafts": lambda f, kw: _records(f.drafts),
    "commands": _commands,
    "pending_updates": lambda f, kw: [u.to_api() for u in f.bot_account(kw.get("bot_id")).updates],
    "internal_errors": lambda f, kw: list(f.internal_errors),
    "file_bytes": _file_bytes,
    "inject": lambda f, kw: f.inject(**kw),
    "clear_faults": lambda f, kw: f.clear_faults(),
    "set_knobs": _set_knobs,
    "wait_change": _wait_change,
}


async def handle_control(fake: FakeTelegram, name: str, body: bytes) -> HttpResponse:
    from .fake import json_response

    fn = CONTROL.get(name)
    if fn is None:
        return json_response(404, {"ok": False, "description": f"unknown control method {name!r}"})
    try:
        kwargs = json.loads(body) if body.strip() else {}
        if not isinstance(kwargs, dict):
            raise ControlError("the body must be a JSON object of keyword arguments")
        result = fn(fake, kwargs)
        if isinstance(result, Awaitable):
            result = await result
    except (ControlError, TypeError, ValueError, KeyError) as exc:
        return json_response(400, {"ok": False, "description": f"{type(exc).__name__}: {exc}"})
    return json_response(200, {"ok": True, "result": result})
