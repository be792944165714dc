"""The one tmux test double of the actor tests: scripted panes, recorded keys, and (given a rollout) a Codex
that records each submitted text the way the real one does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import trio

from ccbot.tmux.adapter import PaneState


def user_line(text: str) -> str:
    """A rollout line recording ``text`` as the user's message (Codex 0.169's shape)."""
    return json.dumps({"timestamp": "2026-11-23T21:00:00.000Z", "ordinal": 1, "type": "event_msg", "payload": {
        "type": "item_completed", "thread_id": "t", "turn_id": "u",
        "item": {"type": "UserMessage", "id": "x", "content": [{"type": "text", "text": text}]}}}) + "\n"


class FakeTmux:
    """Panes show ``screens[pane]`` (a list is consumed one capture at a time, its last entry repeating), or
    ``screen`` for any other pane. Records: ``typed`` (("text" | "paste" | "keys", what), in order, every
    pane), ``pressed`` ((pane, keys) per send_keys) and ``texts`` ((pane, text) per send_text).
    ``owners[pane]`` is the pane's window owner mark. With a ``rollout``, Enter appends what was typed since
    the last Enter to it as a user message."""

    def __init__(self, screen: str = "", rollout: Path | None = None,
                 screens: dict[str, Any] | None = None) -> None:
        self.screen = screen
        self.rollout = rollout
        self.screens: dict[str, Any] = dict(screens or {})
        self.owners: dict[str, str] = {}
        self.typed: list[tuple[str, str]] = []
        self.pressed: list[tuple[str, tuple[str, ...]]] = []
        self.texts: list[tuple[str, str]] = []
        self.composer = ""

    async def pane_state(self, pane_id: str) -> PaneState:
        await trio.lowlevel.checkpoint()
        return PaneState(cursor_x=0, cursor_y=0, width=120, height=40, in_mode=False, dead=False,
                         dead_status=None, dead_signal=None, pid=999999999, current_command="node",
                         owner=self.owners.get(pane_id, ""))

    async def capture(self, pane_id: str, *, ansi: bool = False, start: int | None = None) -> str:
        await trio.lowlevel.checkpoint()
        screen = self.screens.get(pane_id, self.screen)
        if isinstance(screen, list):
            return str(screen.pop(0) if len(screen) > 1 else screen[0])
        return str(screen)

    async def send_text(self, pane_id: str, text: str) -> None:
        self.typed.append(("text", text))
        self.texts.append((pane_id, text))
        self.composer += text

    async def paste_text(self, pane_id: str, text: str) -> None:
        self.typed.append(("paste", text))
        self.composer += text

    async def send_keys(self, pane_id: str, *keys: str) -> None:
        self.typed.append(("keys", " ".join(keys)))
        self.pressed.append((pane_id, keys))
        if "Enter" in keys and self.composer and self.rollout is not None:
            with open(self.rollout, "a") as fh:
                fh.write(user_line(self.composer))
            self.composer = ""

    async def window_exists(self, window_id: str) -> bool:
        return True

    async def list_windows(self) -> list[Any]:
        return []
