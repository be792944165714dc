"""Helpers shared by the fakegram tests."""

from __future__ import annotations

import json
from typing import Any

import httpx

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
