"""Voice notes, photos and documents end to end: fake Telegram + mock OpenAI (model and transcription)
+ real codex 0.169 in real tmux + the bot subprocess."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import trio
from PIL import Image

from ccbot.transcribe import MODEL
from tests.e2e.stack import OWNER, Stack, running_stack

KEY = "some-test-key-0123456789"
WITH_KEY = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": "http://127.0.0.1:{mock_port}/v1"}


async def mock_requests(s: Stack) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.get(f"http://127.0.0.1:{s.mock_port}/__requests")
    records: list[dict[str, Any]] = response.json()
    return records


async def wait_user_messages(s: Stack, count: int, timeout: float = 30.0) -> list[str]:
    with trio.fail_after(timeout):
        while len(texts := s.user_messages_in_rollouts()) < count:
            await trio.sleep(0.2)
    return texts


def bot_log(s: Stack) -> str:
    return "\n".join(s.bot.log_lines())


async def test_voice_note_is_transcribed_echoed_and_sent_in_order(
        tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config, extra_env=WITH_KEY) as s:
        t = s.new_topic("voice")
        await s.start_fresh(t, "hello mock")
        await s.wait_text(t, "MOCK_REPLY: you said: hello mock", timeout=60)

        # A voice note, then text right behind it: Codex must get them in that order.
        s.fake.user_sends_voice(s.group, OWNER, b"TRANSCRIPT:hello from voice", thread_id=t)
        s.send(t, "typed after the voice note")
        echo = await s.wait_text(t, "🎤")
        assert "hello from voice" in (echo.text or "")
        await s.wait_text(t, "MOCK_REPLY: you said: hello from voice", timeout=60)
        users = await wait_user_messages(s, 3)
        assert users[:2] == ["hello mock", "hello from voice"]
        assert users[2] == "typed after the voice note"

        transcriptions = [r for r in await mock_requests(s) if r.get("path") == "/v1/audio/transcriptions"]
        assert len(transcriptions) == 1
        assert transcriptions[0]["headers"]["authorization"] == f"Bearer {KEY}"
        assert transcriptions[0]["body"]["model"] == MODEL
        assert transcriptions[0]["body"]["file"]["size"] == len(b"TRANSCRIPT:hello from voice")
        assert KEY not in bot_log(s)


async def test_without_key_voice_is_refused_and_files_reach_codex(
        tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config) as s:
        t = s.new_topic("files")
        await s.start_fresh(t, "hello mock")
        await s.wait_text(t, "MOCK_REPLY: you said: hello mock", timeout=60)

        s.fake.user_sends_voice(s.group, OWNER, b"TRANSCRIPT:should not be heard", thread_id=t)
        refusal = await s.wait_text(t, "OPENAI_API_KEY")
        assert "Nothing was sent to Codex" in (refusal.text or "")

        # Over the 20 MB download limit: refused from the declared size, without even asking getFile.
        get_files = len(s.fake.calls_to("getFile"))
        s.fake.user_sends_document(s.group, OWNER, b"x" * (20 * 1024 * 1024 + 1), file_name="big.bin",
                                   thread_id=t)
        refusal = await s.wait_text(t, "too big")
        assert "20 MB" in (refusal.text or "") and "Nothing was sent to Codex" in (refusal.text or "")
        assert len(s.fake.calls_to("getFile")) == get_files
        assert not (tmp_path / "ccbot" / "inbox").exists()

        # A photo with a caption: its saved path (and the caption) reach Codex, bytes intact.
        image = Image.new("RGB", (120, 80), (200, 30, 30))
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        photo = buffer.getvalue()
        s.fake.user_sends_photo(s.group, OWNER, photo, caption="what colour is this", thread_id=t)
        await s.wait_text(t, "MOCK_REPLY: you said: what colour is this", timeout=60)
        users = await wait_user_messages(s, 2)
        assert not any("should not be heard" in u for u in users)
        photo_prompt = users[1]
        inbox = (tmp_path / "ccbot" / "inbox").resolve()
        photo_path = Path(next(w.rstrip(")") for w in photo_prompt.split() if w.startswith(str(inbox))))
        assert photo_path.read_bytes() == photo
        assert photo_path.parent.parent == inbox
        assert photo_prompt.startswith("what colour is this\n")

        # A document with a hostile name lands inside the inbox under a safe name; a second one with the
        # same name does not overwrite the first.
        for body in (b"first body\n", b"second body\n"):
            s.fake.user_sends_document(s.group, OWNER, body, file_name="../../etc/\u202epasswd\n.txt",
                                       thread_id=t)
        users = await wait_user_messages(s, 4, timeout=60)
        paths = [Path(next(w for w in u.split() if w.startswith(str(inbox)))) for u in users[2:4]]
        # "\u202epasswd\n.txt" → "_passwd_.txt" → edges stripped → "passwd.txt"
        assert [p.name for p in paths] == ["passwd.txt", "passwd-2.txt"]
        assert [p.read_bytes() for p in paths] == [b"first body\n", b"second body\n"]
        assert all(p.parent == photo_path.parent for p in paths)
        # (paced: Telegram allows a group about 20 messages a minute)
        await s.fake.wait_for(lambda: len([m for m in s.messages(t) if "Saved as" in (m.text or "")]) == 3,
                              timeout=60)
        assert not [r for r in await mock_requests(s) if "transcriptions" in str(r.get("path"))]
        assert sorted(p.name for p in photo_path.parent.iterdir()) == sorted([photo_path.name,
                                                                               *[p.name for p in paths]])
