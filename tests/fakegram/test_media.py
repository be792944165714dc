"""Uploads (multipart), file_id reuse, getFile and downloads, captions, editMessageMedia."""

from __future__ import annotations

import json
from io import BytesIO
from typing import Any

import httpx
import pytest
from PIL import Image

from tools.fakegram import FakeTelegram

from .support import TOKEN, USER, fails, ok


def png(width: int, height: int) -> bytes:
    out = BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def chat(fake: FakeTelegram) -> int:
    return fake.create_private_chat(USER, topics_enabled=False)


async def upload(
    client: httpx.AsyncClient, method: str, field: str, content: tuple[str, bytes, str], **data: str
) -> tuple[int, Any]:
    response = await client.post(f"/bot{TOKEN}/{method}", data=data, files={field: content})
    return response.status_code, response.json()


async def download(client: httpx.AsyncClient, file_id: str) -> bytes:
    info = await ok(client, "getFile", file_id=file_id)
    response = await client.get(f"/file/bot{TOKEN}/{info['file_path']}")
    assert response.status_code == 200
    assert info["file_size"] == len(response.content)
    return response.content


async def test_document_upload_get_file_and_download(
    client: httpx.AsyncClient, fake: FakeTelegram, chat: int
) -> None:
    payload = b"hello\x00world" * 10
    status, body = await upload(
        client,
        "sendDocument",
        "document",
        ("notes.txt", payload, "text/plain"),
        chat_id=str(chat),
        caption="<b>log</b>",
        parse_mode="HTML",
    )
    assert status == 200, body
    message = body["result"]
    document = message["document"]
    assert document["file_name"] == "notes.txt" and document["mime_type"] == "text/plain"
    assert document["file_size"] == len(payload)
    assert message["caption"] == "log" and message["caption_entities"] == [
        {"type": "bold", "offset": 0, "length": 3}
    ]
    assert await download(client, document["file_id"]) == payload
    info = await ok(client, "getFile", file_id=document["file_id"])
    assert info["file_path"].startswith("documents/") and info["file_path"].endswith(".txt")
    assert fake.bot_messages(chat)[0].media_bytes == payload
    # Sending the file_id again reuses the stored file.
    again = await ok(client, "sendDocument", chat_id=chat, document=document["file_id"])
    assert again["document"]["file_id"] == document["file_id"]


async def test_photo_sizes_largest_last(client: httpx.AsyncClient, chat: int) -> None:
    image = png(400, 200)
    status, body = await upload(
        client, "sendPhoto", "photo", ("p.png", image, "image/png"), chat_id=str(chat)
    )
    assert status == 200, body
    sizes = body["result"]["photo"]
    assert [(s["width"], s["height"]) for s in sizes] == [(90, 45), (400, 200)]
    assert await download(client, sizes[-1]["file_id"]) == image
    status, body = await upload(
        client, "sendPhoto", "photo", ("p.png", b"not an image", "image/png"), chat_id=str(chat)
    )
    assert (status, body["description"]) == (400, "Bad Request: IMAGE_PROCESS_FAILED")


async def test_voice_upload_and_attach_reference(client: httpx.AsyncClient, chat: int) -> None:
    ogg = b"OggS" + bytes(100)
    response = await client.post(
        f"/bot{TOKEN}/sendVoice",
        data={"chat_id": str(chat), "voice": "attach://clip", "duration": "3"},
        files={"clip": ("clip.ogg", ogg, "audio/ogg")},
    )
    voice = response.json()["result"]["voice"]
    assert voice["duration"] == 3 and voice["mime_type"] == "audio/ogg" and voice["file_size"] == 104
    assert await download(client, voice["file_id"]) == ogg


async def test_missing_file_and_wrong_file_id(client: httpx.AsyncClient, chat: int) -> None:
    await fails(client, "sendDocument", 400, "Bad Request: there is no document in the request", chat_id=chat)
    await fails(
        client,
        "sendDocument",
        400,
        "Bad Request: wrong file identifier/HTTP URL specified",
        chat_id=chat,
        document="nope",
    )
    await fails(
        client,
        "getFile",
        400,
        "Bad Request: wrong file_id or the file is temporarily unavailable",
        file_id="nope",
    )


async def test_caption_limit(client: httpx.AsyncClient, chat: int) -> None:
    status, _ = await upload(
        client,
        "sendDocument",
        "document",
        ("a.txt", b"a", "text/plain"),
        chat_id=str(chat),
        caption="c" * 1024,
    )
    assert status == 200
    status, body = await upload(
        client,
        "sendDocument",
        "document",
        ("a.txt", b"a", "text/plain"),
        chat_id=str(chat),
        caption="c" * 1025,
    )
    assert (status, body["description"]) == (400, "Bad Request: message caption is too long")


async def test_user_voice_is_downloadable_and_big_files_refused(
    client: httpx.AsyncClient, fake: FakeTelegram, chat: int
) -> None:
    fake.user_sends_voice(chat, USER, b"OggS-voice", duration=2)
    fake.user_sends_document(chat, USER, bytes(20 * 1024 * 1024 + 1), "huge.bin", "application/octet-stream")
    voice_update, doc_update = await ok(client, "getUpdates")
    voice = voice_update["message"]["voice"]
    assert voice["duration"] == 2 and voice["mime_type"] == "audio/ogg"
    assert await download(client, voice["file_id"]) == b"OggS-voice"
    assert (await ok(client, "getFile", file_id=voice["file_id"]))["file_path"].startswith("voice/")
    await fails(
        client,
        "getFile",
        400,
        "Bad Request: file is too big",
        file_id=doc_update["message"]["document"]["file_id"],
    )


async def test_user_photo_has_sizes(client: httpx.AsyncClient, fake: FakeTelegram, chat: int) -> None:
    fake.user_sends_photo(chat, USER, png(300, 600), caption="look")
    (update,) = await ok(client, "getUpdates")
    photo = update["message"]["photo"]
    assert (photo[-1]["width"], photo[-1]["height"]) == (300, 600)
    assert photo[0]["height"] == 90 and update["message"]["caption"] == "look"


async def test_edit_message_media(client: httpx.AsyncClient, fake: FakeTelegram, chat: int) -> None:
    status, body = await upload(
        client, "sendPhoto", "photo", ("a.png", png(50, 50), "image/png"), chat_id=str(chat)
    )
    assert status == 200
    mid = body["result"]["message_id"]
    response = await client.post(
        f"/bot{TOKEN}/editMessageMedia",
        data={
            "chat_id": str(chat),
            "message_id": str(mid),
            "media": json.dumps(
                {"type": "photo", "media": "attach://new", "caption": "<i>v2</i>", "parse_mode": "HTML"}
            ),
        },
        files={"new": ("b.png", png(60, 40), "image/png")},
    )
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert (result["photo"][-1]["width"], result["photo"][-1]["height"]) == (60, 40)
    assert result["caption"] == "v2" and "edit_date" in result
    stored = fake.bot_messages(chat)[0]
    assert len(stored.history) == 1 and stored.history[0].files[-1].width == 50
    text_mid = (await ok(client, "sendMessage", chat_id=chat, text="t"))["message_id"]
    await fails(
        client,
        "editMessageMedia",
        400,
        "Bad Request: there is no media in the message to edit",
        chat_id=chat,
        message_id=text_mid,
        media={"type": "document", "media": result["photo"][-1]["file_id"]},
    )
