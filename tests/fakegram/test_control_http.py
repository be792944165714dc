"""Driving the fake over HTTP (/_control) and as a separate process (python -m tools.fakegram)."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import trio

from tools.fakegram import FakeTelegram

from .support import TOKEN, USER, ok

ROOT = Path(__file__).resolve().parents[2]


async def control(client: httpx.AsyncClient, control_name: str, /, **kwargs: Any) -> Any:
    response = await client.post(f"/_control/{control_name}", json=kwargs)
    body = response.json()
    assert response.status_code == 200 and body["ok"], body
    return body["result"]


async def test_control_api_drives_a_whole_exchange(client: httpx.AsyncClient, fake: FakeTelegram) -> None:
    await control(client, "add_user", user_id=2001, first_name="Cy", username="cy")
    group = await control(client, "create_forum_group", title="Ops", bot_is_admin=True)
    thread = await control(client, "user_creates_topic", chat_id=group, user_id=2001, name="deploy")
    voice = base64.b64encode(b"OggS-bytes").decode()
    await control(
        client, "user_sends_voice", chat_id=group, user_id=2001, data=voice, duration=4, thread_id=thread
    )
    updates = await ok(client, "getUpdates")
    assert updates[-1]["message"]["voice"]["duration"] == 4
    assert updates[-1]["message"]["message_thread_id"] == thread
    file_id = updates[-1]["message"]["voice"]["file_id"]
    assert base64.b64decode(await control(client, "file_bytes", file_id=file_id)) == b"OggS-bytes"

    sent = await ok(
        client, "sendMessage", chat_id=group, message_thread_id=thread, text="<b>ok</b>", parse_mode="HTML"
    )
    (stored,) = await control(client, "bot_messages", chat_id=group, thread_id=thread)
    assert (
        stored["text"] == "ok" and stored["raw"] == "<b>ok</b>" and stored["message_id"] == sent["message_id"]
    )
    assert stored["entities"] == [{"type": "bold", "offset": 0, "length": 2}]
    calls = await control(client, "calls", method="sendMessage")
    assert [c["http_status"] for c in calls] == [200]

    await control(client, "inject", method="sendMessage", kind="429", retry_after=3)
    response = await client.post(f"/bot{TOKEN}/sendMessage", json={"chat_id": group, "text": "x"})
    assert response.status_code == 429
    assert await control(client, "topic", chat_id=group, thread_id=thread) == {
        "message_thread_id": thread,
        "name": "deploy",
        "icon_color": 7322096,
        "closed": False,
        "deleted": False,
    }
    assert fake.internal_errors == []


async def test_budget_knobs_and_throttles_over_http(client: httpx.AsyncClient, fake: FakeTelegram) -> None:
    chat = fake.create_private_chat(USER)
    limits = {"chat_rate": 0.5, "chat_burst": 1}
    assert await control(client, "set_knobs", budget_limits=limits) is True
    assert fake.telegram_budget and (fake.budget_limits.chat_burst, fake.budget_limits.chat_rate) == (1, 0.5)
    await ok(client, "sendMessage", chat_id=chat, text="a")
    response = await client.post(f"/bot{TOKEN}/sendMessage", json={"chat_id": chat, "text": "b"})
    assert response.status_code == 429 and response.json()["parameters"] == {"retry_after": 2}
    (throttle,) = await control(client, "throttles", chat_id=chat)
    assert {k: throttle[k] for k in ("chat_id", "method", "retry_after", "scope")} == {
        "chat_id": chat,
        "method": "sendMessage",
        "retry_after": 2,
        "scope": "chat",
    }
    assert await control(client, "throttles", chat_id=chat + 1) == []
    await control(client, "reset_budget")
    await ok(client, "sendMessage", chat_id=chat, text="c")
    await control(client, "set_knobs", telegram_budget=False)
    for _ in range(5):
        await ok(client, "sendMessage", chat_id=chat, text="d")
    assert not fake.telegram_budget and fake.budget_limits.chat_burst == 1


async def test_control_errors(client: httpx.AsyncClient) -> None:
    response = await client.post("/_control/no_such_thing", json={})
    assert response.status_code == 404
    response = await client.post("/_control/user_sends_text", json={"chat_id": 5, "user_id": 1, "text": "x"})
    assert response.status_code == 400 and "unknown chat 5" in response.json()["description"]
    response = await client.post("/_control/add_user", json={"nonsense": 1})
    assert response.status_code == 400 and response.json()["description"].startswith("TypeError")


async def test_wait_change_returns_when_state_changes(client: httpx.AsyncClient, fake: FakeTelegram) -> None:
    version = fake.version
    result: list[int] = []

    async def waiter() -> None:
        result.append(await control(client, "wait_change", after_version=version, timeout=5))

    with trio.fail_after(3):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter)
            await trio.sleep(0.1)
            assert not result
            fake.create_private_chat(USER)
    assert result[0] > version


async def read_line(stream: trio.abc.ReceiveStream, buffer: bytearray) -> str:
    while b"\n" not in buffer:
        chunk = await stream.receive_some(4096)
        assert chunk, f"process closed stdout; got {bytes(buffer)!r}"
        buffer += chunk
    line, _, rest = bytes(buffer).partition(b"\n")
    buffer[:] = rest
    return line.decode()


async def test_cli_serves_until_sigterm(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    setup = {"users": [{"user_id": 7, "first_name": "Eve"}], "private_chats": [{"user_id": 7}]}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [
        sys.executable,
        "-m",
        "tools.fakegram",
        "--port",
        "0",
        "--port-file",
        str(port_file),
        "--token",
        TOKEN,
        "--chat-setup",
        json.dumps(setup),
        "--max-seconds",
        "30",
    ]
    with trio.fail_after(20):
        process = await trio.lowlevel.open_process(argv, stdout=subprocess.PIPE, cwd=ROOT, env=env)
        try:
            assert process.stdout is not None
            buffer = bytearray()
            listening = await read_line(process.stdout, buffer)
            assert listening.startswith("LISTENING 127.0.0.1:")
            port = int(listening.rsplit(":", 1)[1])
            assert port_file.read_text().strip() == str(port)
            assert json.loads((await read_line(process.stdout, buffer)).removeprefix("SETUP ")) == {
                "users": [7],
                "forum_groups": [],
                "private_chats": [7],
                "topics": [],
            }
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                sent = await ok(client, "sendMessage", chat_id=7, text="hello from another process")
                assert sent["chat"]["first_name"] == "Eve"
            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
