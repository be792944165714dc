"""Checks of the bot's Telegram side: token, webhook, privacy mode, Threaded Mode and each bound chat (facts in,
:class:`Check` out; pure). The facts come from :func:`ccbot.doctor.gather.gather_telegram`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ccbot.doctor.result import Check, Level, plural
from ccbot.telegram.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NetworkError,
    NotFound,
    RetryAfter,
    ServerError,
    TelegramError,
    Unauthorized,
)
from ccbot.telegram.types import User


@dataclass(frozen=True, slots=True)
class ApiFailure:
    """A failed Bot API call, reduced to what the checks need. ``kind`` is one of:
    unauthorized, missing (404: the server lacks the method), forbidden, bad_request, flood, conflict,
    network, server, other."""

    kind: str
    description: str
    code: int | None = None


def failure_of(exc: TelegramError) -> ApiFailure:
    """Classify a ``TelegramError`` (its text never holds the token: see ccbot.telegram.api)."""
    kinds: tuple[tuple[type[TelegramError], str], ...] = (
        (Unauthorized, "unauthorized"), (NotFound, "missing"), (Forbidden, "forbidden"),
        (RetryAfter, "flood"), (BadRequest, "bad_request"), (Conflict, "conflict"),
        (NetworkError, "network"), (ServerError, "server"),
    )
    kind = next((k for cls, k in kinds if isinstance(exc, cls)), "other")
    return ApiFailure(kind, exc.description, exc.error_code)


@dataclass(frozen=True, slots=True)
class ChatFacts:
    """What getChat and, for a group (``chat_id < 0``), getChatMember(bot) said about one bound chat."""

    chat_id: int
    topics: tuple[int, ...] = ()
    chat: Mapping[str, Any] | None = None  # getChat result
    chat_error: ApiFailure | None = None
    member: Mapping[str, Any] | None = None  # getChatMember(chat, bot) result; groups only
    member_error: ApiFailure | None = None


@dataclass(frozen=True, slots=True)
class TelegramFacts:
    """What :func:`~ccbot.doctor.gather.gather_telegram` got from the Bot API at ``base_url``. ``me`` None: getMe
    failed (``me_error`` says how) and nothing else was asked."""

    base_url: str
    me: User | None = None
    me_error: ApiFailure | None = None
    webhook: Mapping[str, Any] | None = None
    webhook_error: ApiFailure | None = None
    chats: tuple[ChatFacts, ...] = ()


_ADMIN = frozenset({"creator", "administrator"})


def _member_verdict(c: ChatFacts, me: User) -> tuple[Level, str, str]:
    """(level, text, fix) for the bot's own membership in a group."""
    if c.member_error is not None:
        f = c.member_error
        if f.kind == "missing":
            return Level.WARN, "the bot's rights not checked (the server has no getChatMember)", ""
        if f.kind in ("forbidden", "bad_request"):
            return Level.FAIL, f"the bot's membership: {f.description}", "add the bot to this group again"
        return Level.WARN, f"the bot's rights not checked ({f.description})", ""
    member = c.member or {}
    status = member.get("status")
    if status == "creator":
        return Level.OK, "the bot owns the group", ""
    if status == "administrator":
        return Level.OK, "the bot is an admin (sees every message)", ""
    if status in ("member", "restricted"):
        if status == "restricted" and member.get("can_send_messages") is False:
            return Level.FAIL, "the bot is restricted and may not send messages", "lift the restriction"
        if me.can_read_all_group_messages:
            return Level.OK, "the bot is a member and privacy mode is off (sees every message)", ""
        return (Level.FAIL, "the bot is a plain member with privacy mode on: it sees only commands and "
                "replies to it, not what you type in topics",
                "make the bot an admin of the group (with Manage topics), or @BotFather → /setprivacy → "
                "Disable and then add the bot to the group again")
    if status in ("left", "kicked"):
        return Level.FAIL, f"the bot is not in the group (status {status})", "add the bot to this group again"
    return Level.WARN, f"unexpected member status {status!r}", ""


def chat_check(c: ChatFacts, me: User) -> Check:
    """The line for one bound chat, given the bot's own ``me`` (getMe): reachable, the right kind of chat (a
    forum supergroup, or a private chat with Threaded Mode for topics), the bot's rights in it."""
    name = f"chat {c.chat_id}"
    bound = f"{plural(len(c.topics), 'topic')} bound"
    is_group = c.chat_id < 0
    label = "group" if is_group else "private chat"
    if c.chat_error is not None and c.chat_error.kind != "missing":
        f = c.chat_error
        if f.kind == "forbidden":
            fix = "add the bot to this group again" if is_group else "unblock the bot in Telegram"
            return Check(name, Level.FAIL, f"{label}, {bound}; no access: {f.description}", fix)
        if f.kind == "bad_request":
            fix = ("add the bot to the group again; a group converted to a supergroup gets a new id, so "
                   "its topics must be bound again") if is_group else "open the bot's chat and press Start"
            return Check(name, Level.FAIL, f"{label}, {bound}; Telegram says: {f.description}", fix)
        return Check(name, Level.WARN, f"{label}, {bound}; not checked ({f.description})")
    parts: list[str] = []
    if c.chat is None:
        parts.append(f"{label}, {bound} (getChat not available on this server)")
    else:
        kind = str(c.chat.get("type", "?"))
        title = c.chat.get("title") or c.chat.get("first_name") or ""
        if kind == "private":
            text = f"private chat with {title}, {bound}" if title else f"private chat, {bound}"
            if not me.has_topics_enabled and any(t != 0 for t in c.topics):
                return Check(name, Level.WARN, f"{text}, but Threaded Mode is off",
                             "@BotFather → Bot Settings → Threaded Mode → on")
            return Check(name, Level.OK, text)
        if kind != "supergroup":
            return Check(name, Level.FAIL, f"{kind} {title!r}, {bound}: topics need a forum supergroup",
                         "turn on Topics in the group's settings")
        if not c.chat.get("is_forum"):
            return Check(name, Level.FAIL, f"group {title!r}, {bound}: Topics are off",
                         "turn on Topics in the group's settings")
        parts.append(f"forum {title!r}, {bound}")
    if not is_group:
        return Check(name, Level.WARN, "; ".join(parts))
    level, text, fix = _member_verdict(c, me)
    if c.chat is None and level is Level.OK:
        level = Level.WARN
    return Check(name, level, "; ".join([*parts, text]), fix)


def telegram_checks(f: TelegramFacts) -> list[Check]:
    """The Telegram lines: getMe (token), webhook, privacy mode, Threaded Mode, then one line per bound chat.
    Only one ✗ line when getMe failed."""
    if f.me is None:
        err = f.me_error or ApiFailure("other", "no answer")
        if err.kind == "unauthorized":
            return [Check("telegram", Level.FAIL, f"{f.base_url} rejected the token (401 {err.description})",
                          "put the token from @BotFather in TELEGRAM_BOT_TOKEN or the credential file "
                          "(/revoke in @BotFather replaces it)")]
        if err.kind in ("network", "server", "flood"):
            return [Check("telegram", Level.FAIL, f"cannot reach {f.base_url}: {err.description}",
                          "check DNS, firewall and TELEGRAM_API_BASE_URL (ccbot ignores HTTP(S)_PROXY)")]
        return [Check("telegram", Level.FAIL, f"getMe failed: {err.description}",
                      "check TELEGRAM_API_BASE_URL and the token")]
    me = f.me
    out = [Check("telegram", Level.OK, f"{f.base_url}: token accepted, bot @{me.username} (id {me.id})")]
    out.append(_webhook_check(f.webhook, f.webhook_error))
    groups = [c for c in f.chats if c.chat_id < 0]
    if me.can_read_all_group_messages:
        out.append(Check("privacy", Level.OK, "privacy mode off: the bot sees every message in groups"))
    elif groups and all((c.member or {}).get("status") in _ADMIN for c in groups):
        out.append(Check("privacy", Level.OK, "privacy mode on; fine: the bot is admin in every bound group"))
    elif f.chats and not groups:
        out.append(Check("privacy", Level.OK, "privacy mode on; only matters in groups and none is bound"))
    else:
        out.append(Check("privacy", Level.WARN,
                         "privacy mode on: in a group the bot sees plain messages only if it is an admin",
                         "make the bot an admin of each forum group, or @BotFather → /setprivacy → Disable"))
    if me.has_topics_enabled:
        out.append(Check("threaded mode", Level.OK, "on: private chats with the bot have topics"))
    elif f.chats and not any(c.chat_id > 0 for c in f.chats):
        out.append(Check("threaded mode", Level.OK, "off; not needed, every bound chat is a group"))
    else:
        out.append(Check("threaded mode", Level.WARN,
                         "off: a private chat with the bot has no topics, so it holds one session at most",
                         "@BotFather → Bot Settings → Threaded Mode → on, or use a forum group"))
    if not f.chats:
        out.append(Check("chats", Level.OK, "no bound chat found in the state file, none to check"))
    out.extend(chat_check(c, me) for c in f.chats)
    return out


def _webhook_check(info: Mapping[str, Any] | None, error: ApiFailure | None) -> Check:
    if error is not None:
        if error.kind == "missing":
            return Check("webhook", Level.WARN, "not checked (the server has no getWebhookInfo)")
        return Check("webhook", Level.WARN, f"not checked ({error.description})")
    info = info or {}
    pending = info.get("pending_update_count")
    waiting = f"; {plural(pending, 'update')} waiting" if isinstance(pending, int) and pending else ""
    url = info.get("url")
    if isinstance(url, str) and url:
        host = urlsplit(url).hostname or "?"
        return Check("webhook", Level.FAIL,
                     f"a webhook to {host} is set, so getUpdates fails with 409 Conflict{waiting}",
                     "call deleteWebhook for this token (if another service owns the webhook, give ccbot "
                     "its own bot)")
    return Check("webhook", Level.OK, f"none set (long polling works){waiting}")
