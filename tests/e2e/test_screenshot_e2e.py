"""/screenshot end to end: the photo shows the pane's pixels, and a key button presses the key and edits it.

Real codex 0.169 in real tmux, the bot subprocess, the fake Telegram server. The received PNG is decoded
and compared with a render of the pane captured by the test itself (same renderer, same geometry), so the
image has to be of this pane's current text and colours.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import trio
from PIL import Image

from ccbot.features.screenshot import fit_font_size
from ccbot.render.screenshot import render_png
from ccbot.tmux.adapter import PLACEHOLDER_NAME
from tests.e2e.stack import Stack, running_stack
from tools.fakegram.model import StoredMessage


def codex_pane(s: Stack) -> str:
    rows = [line.split(" ", 1) for line in s.tmux("list-panes", "-s", "-t", "ccbot", "-F",
                                                  "#{pane_id} #{window_name}").splitlines() if line]
    panes = [pane for pane, name in rows if name != PLACEHOLDER_NAME]
    assert len(panes) == 1, rows
    return panes[0]


def pixels(png: bytes) -> tuple[tuple[int, int], bytes]:
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        rgb = image.convert("RGB")
        return rgb.size, rgb.tobytes()


def render_of_pane(s: Stack, pane: str) -> tuple[tuple[int, int], bytes]:
    width, height = (int(v) for v in s.tmux("display-message", "-p", "-t", pane,
                                            "#{pane_width} #{pane_height}").split())
    text = s.tmux("capture-pane", "-p", "-e", "-t", pane)
    return pixels(render_png(text, cols=width, font_size=fit_font_size(width, height)))


def photo_of(message: StoredMessage) -> bytes:
    assert message.media_kind == "photo" and message.files
    return message.files[-1].data  # the largest size is the uploaded file itself


def plain(s: Stack, pane: str) -> str:
    return s.tmux("capture-pane", "-p", "-t", pane)


async def poll(predicate: Callable[[], bool], timeout: float) -> None:
    """Wait for a condition on tmux (the fake's wait_for only wakes on Telegram-side changes)."""
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.2)


async def test_screenshot_shows_the_pane_and_key_button_acts(tmp_path: Path, codex_bin: str, codex_config: str) -> None:
    async with running_stack(tmp_path, codex_bin, config=codex_config) as s:
        t = s.new_topic("shots")
        await s.start_fresh(t, "hello mock")
        await s.wait_text(t, "MOCK_REPLY: you said: hello mock", timeout=60)
        pane = codex_pane(s)
        await poll(lambda: "Ask Codex to do anything" in plain(s, pane), timeout=20)
        await trio.sleep(1.0)  # let the footer settle after the turn
        before = render_of_pane(s, pane)

        s.send(t, "/screenshot")
        shot = await s.fake.wait_for(
            lambda: next((m for m in s.messages(t) if m.media_kind == "photo"), None), timeout=30)
        first = pixels(photo_of(shot))
        after = render_of_pane(s, pane)
        # The image is this pane, pixel for pixel (either capture: the pane is idle and should not move).
        assert first in (before, after)
        size, data = first
        assert size[0] > 400 and size[1] > 200
        assert len(set(data[i:i + 3] for i in range(0, len(data), 3))) > 2  # not a blank picture
        labels = [b["text"] for row in (shot.reply_markup or {})["inline_keyboard"] for b in row]
        for label in ("Esc", "Enter", "Tab", "Space", "↑", "↓", "←", "→", "Ctrl-C", "Refresh"):
            assert any(label in x for x in labels), labels

        # ↑ on an empty composer recalls the last prompt: the pane changes, and so must the picture.
        assert "› hello mock" in plain(s, pane) and plain(s, pane).count("› hello mock") == 1
        await s.press(t, "↑")
        await s.fake.wait_for(lambda: s.fake.calls_to("editMessageMedia"), timeout=30)
        await poll(lambda: plain(s, pane).count("› hello mock") == 2, timeout=10)
        edited = s.fake.get_message(s.group, shot.message_id)
        second = pixels(photo_of(edited))
        assert second != first
        assert second == render_of_pane(s, pane)
        assert "after ↑" in (edited.caption or "")
        assert len(s.fake.calls_to("answerCallbackQuery")) >= 1

        # Ctrl-C clears the composer again, and the picture follows.
        await s.press(t, "Ctrl-C")
        await s.fake.wait_for(lambda: len(s.fake.calls_to("editMessageMedia")) >= 2, timeout=30)
        await poll(lambda: plain(s, pane).count("› hello mock") == 1, timeout=10)
        assert pixels(photo_of(s.fake.get_message(s.group, shot.message_id))) == render_of_pane(s, pane)
