"""Transport and envelope: routes, tokens, parameter encodings, server shutdown."""

from __future__ import annotations

import json

import httpx
import pytest
import trio

from tools.fakegram import FakeTelegram, running_fakegram

from .support import TOKEN, USER, api, ok


async def test_get_me_by_get_and_case_insensitive_method(client: httpx.AsyncClient) -> None:
    for name in ("getMe", "GETME", "getme"):
        response = await client.get(f"/bot{TOKEN}/{name}")
        assert response.status_code == 200
        body = response.json()
        assert body["ok"] is True
        me = body["result"]
        assert me["id"] == 123456 and me["is_bot"] is True and me["username"] == "fakegram_bot"
        assert me["has_topics_enabled"] is True and me["can_read_all_group_messages"] is False


async def test_wrong_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/bot999:WRONG/getMe")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_unknown_method_is_404(client: httpx.AsyncClient, fake: FakeTelegram) -> None:
    status, body = await api(client, "sendCarrierPigeon")
    assert (status, body) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
    )
    assert fake.calls[-1].method == "sendCarrierPigeon" and fake.calls[-1].http_status == 404


async def test_unknown_path_and_file_are_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/nothing")).status_code == 404
    response = await client.get(f"/file/bot{TOKEN}/documents/file_1.txt")
    assert response.status_code == 404
    assert response.json()["description"] == "Not Found"
    assert (await client.get("/file/botWRONG/documents/file_1.txt")).status_code == 401


async def test_every_parameter_encoding_is_understood(client: httpx.AsyncClient, fake: FakeTelegram) -> None:
    fake.telegram_budget = False  # headroom: five sends to one chat within a second
    chat = fake.create_private_chat(USER, topics_enabled=False)
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    url = f"/bot{TOKEN}/sendMessage"
    responses = [
        await client.get(url, params={"chat_id": chat, "text": "query", "reply_markup": json.dumps(markup)}),
        await client.post(
            url, data={"chat_id": str(chat), "text": "form", "reply_markup": json.dumps(markup)}
        ),
        await client.post(url, json={"chat_id": chat, "text": "json", "reply_markup": markup}),
        await client.post(
            url, json={"chat_id": str(chat), "text": "json-str", "reply_markup": json.dumps(markup)}
        ),
        await client.post(
            url,
            data={"chat_id": str(chat), "text": "multipart", "reply_markup": json.dumps(markup)},
            files={"unused": ("a.txt", b"x")},
        ),
    ]
    for response in responses:
        assert response.status_code == 200, response.text
        assert response.json()["result"]["reply_markup"] == markup
    texts = [m.text for m in fake.bot_messages(chat)]
    assert texts == ["query", "form", "json", "json-str", "multipart"]
    assert all(m.reply_markup == markup for m in fake.bot_messages(chat))
    # The call log keeps the decoded parameters; uploads are summarised, not stored.
    assert fake.calls[-1].params["unused"] == {"file": "a.txt", "size": 1, "content_type": "text/plain"}


async def test_keep_alive_serves_many_requests_on_one_connection(client: httpx.AsyncClient) -> None:
    for _ in range(5):
        await ok(client, "getMe")


async def test_server_stops_when_context_exits() -> None:
    fake = FakeTelegram(TOKEN)
    async with running_fakegram(fake) as port, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
        assert (await c.get(f"/bot{TOKEN}/getMe")).status_code == 200
    with trio.fail_after(5), pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as c:
            await c.get(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")


async def test_mock_transport_works_without_sockets(autojump_clock: object) -> None:
    fake = FakeTelegram(TOKEN)
    async with httpx.AsyncClient(transport=fake.mock_transport(), base_url="http://fakegram") as c:
        start = trio.current_time()
        response = await c.post(f"/bot{TOKEN}/getUpdates", json={"timeout": 500}, timeout=100)
        # timeout is clamped to 50 s; the autojump clock makes that instant.
        assert trio.current_time() - start == pytest.approx(50)
        assert response.json() == {"ok": True, "result": []}


async def test_in_process_call_raises_api_error() -> None:
    from tools.fakegram import ApiError

    fake = FakeTelegram(TOKEN)
    assert (await fake.call("getMe"))["id"] == 123456  # type: ignore[index]
    with pytest.raises(ApiError) as caught:
        await fake.call("sendMessage", chat_id=5, text="x")
    assert (caught.value.error_code, caught.value.description) == (400, "Bad Request: chat not found")
