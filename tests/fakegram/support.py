"""Helpers shared by the fakegram tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx

from tools.fakegram import BudgetLimits

TOKEN = "123456:TEST-TOKEN"
USER = 1001
OTHER_USER = 1002


async def api(client: httpx.AsyncClient, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
    """POST a JSON body to a bot method; returns (HTTP status, decoded envelope)."""
    response = await client.post(f"/bot{TOKEN}/{method}", json=params)
    return response.status_code, response.json()


async def ok(client: httpx.AsyncClient, method: str, **params: Any) -> Any:
    """Call a method that must succeed; returns ``result``."""
    status, body = await api(client, method, **params)
    assert status == 200 and body["ok"] is True, body
    return body["result"]


async def fails(client: httpx.AsyncClient, method: str, status: int, description: str, **params: Any) -> None:
    """Call a method that must fail with exactly this status and description."""
    got_status, body = await api(client, method, **params)
    assert (got_status, body) == (
        status,
        {"ok": False, "error_code": status, "description": description},
    ), json.dumps(body)


def keyboard(*data: str) -> dict[str, Any]:
    return {"inline_keyboard": [[{"text": d or "x", "callback_data": d} for d in data]]}


def budget_violations(
    accepted: Sequence[tuple[float, int, bool]], limits: BudgetLimits, eps: float = 1e-6
) -> list[str]:
    """Where accepted ``(time, chat_id, is_group)`` messages break Telegram's budget; [] if nowhere.

    An oracle independent of the limiter's code: the per-chat token bucket is checked as its
    arrival curve (any closed span ``[t_i, t_k]`` holds at most ``burst + rate * (t_k - t_i)``
    messages), the group and global limits as "the k-th and (k+N)-th are at least P apart".
    """
    found: list[str] = []
    by_chat: dict[int, list[float]] = {}
    by_group: dict[int, list[float]] = {}
    for time, chat_id, is_group in sorted(accepted, key=lambda item: item[0]):
        by_chat.setdefault(chat_id, []).append(time)
        if is_group:
            by_group.setdefault(chat_id, []).append(time)
    for chat_id, times in by_chat.items():
        for i, start in enumerate(times):
            for k in range(i, len(times)):
                if k - i + 1 > limits.chat_burst + limits.chat_rate * (times[k] - start) + eps:
                    found.append(f"chat {chat_id}: {k - i + 1} messages in [{start}, {times[k]}]")
    windows = [(f"group {g}", t, limits.group_per_minute, 60.0) for g, t in by_group.items()]
    windows.append(("global", sorted(t for t, _, _ in accepted), limits.global_per_second, 1.0))
    for name, times, limit, period in windows:
        for k in range(limit, len(times)):
            if times[k] - times[k - limit] < period - eps:
                found.append(f"{name}: {limit + 1} messages in [{times[k - limit]}, {times[k]}]")
    return found


def budget_fits(
    accepted: Sequence[tuple[float, int, bool]],
    chat_id: int,
    is_group: bool,
    now: float,
    limits: BudgetLimits,
    eps: float = 1e-6,
) -> bool:
    """Whether one more message at ``now`` keeps :func:`budget_violations` empty, given that
    ``accepted`` (in time order, all before or at ``now``) already does. Only the spans ending at
    the new message are checked, so it is linear."""
    same_chat = [t for t, c, _ in accepted if c == chat_id]
    for i, start in enumerate(same_chat):
        if len(same_chat) - i + 1 > limits.chat_burst + limits.chat_rate * (now - start) + eps:
            return False
    group_n, global_n = limits.group_per_minute, limits.global_per_second
    if is_group and len(same_chat) >= group_n and now - same_chat[-group_n] < 60.0 - eps:
        return False
    return not (len(accepted) >= global_n and now - accepted[-global_n][0] < 1.0 - eps)
