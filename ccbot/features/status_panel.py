"""``/status`` in a topic: type it into Codex, read the panel Codex draws, post it back as ``<pre>`` text.

The pure part reads status panels from a pane capture (:func:`find_status_panels`), tells a panel that
appeared after typing from one that was already on screen (:func:`new_panel`) and renders it
(:func:`status_html`). Codex 0.169 draws the panel as a history cell (capture ``11_slash_status``)::

    /status

      >_ OpenAI Codex (v0.169.0)

      Model:               mock-model (reasoning medium, summaries auto)
      ...
      Session:             01a20a9d-...

      Token usage:         17.9K total  (17.8K input + 98 output)
      Limits:              data not available yet

The live part (:func:`install`) handles the ``status`` topic request: it types ``/status`` under the
same rules as any text (nothing is typed while a prompt owns the keyboard), then polls the pane for at
most :data:`STATUS_WAIT` seconds, so the window's inbox is never held for long.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
import trio

from ccbot.codex.plane import plane_note
from ccbot.features.ports import WindowPort
from ccbot.messages import FeatureRequest
from ccbot.screen.parse import PROMPT_GLYPH, parse_screen, strip_ansi
from ccbot.screen.prompt_state import State

if TYPE_CHECKING:
    from ccbot.actors.topics import Topics

__all__ = ["ShowStatus", "StatusPanel", "find_status_panels", "install", "new_panel", "status_html"]

log = structlog.get_logger("ccbot.status")

STATUS_WAIT = 4.0  # seconds to wait for the panel after pressing Enter
POLL = 0.15
READY_WAIT = 30.0

_HEADER = re.compile(r"^  >_ OpenAI Codex \(v[^()\s]+\)\s*$")
_FIELD = re.compile(r"^  (?P<name>[A-Za-z][A-Za-z0-9 ._()/-]{0,40}?):(?:\s+(?P<value>.*))?$")
_CONTINUATION = re.compile(r"^ {4,}\S")


@dataclass(frozen=True, slots=True)
class ShowStatus(FeatureRequest):
    """``/status`` in a bound topic: type it into Codex and post the panel it draws."""


@dataclass(frozen=True, slots=True)
class StatusPanel:
    """One status panel: ``row`` of its header in the capture, its ``lines`` (the 2-space margin
    removed, blank lines inside kept, none at the ends) and its ``fields`` in screen order."""

    row: int
    lines: tuple[str, ...]
    fields: tuple[tuple[str, str], ...]

    def field(self, name: str) -> str | None:
        """The value of the panel's field ``name`` (first one in screen order), or None if the panel has none."""
        return next((value for key, value in self.fields if key == name), None)


def _panel_at(lines: list[str], header: int) -> StatusPanel | None:
    body: list[str] = []
    fields: list[tuple[str, str]] = []
    for line in lines[header + 1 :]:
        if not line.strip():
            body.append("")
            continue
        if line.startswith(PROMPT_GLYPH):
            break
        match = _FIELD.match(line)
        if match:
            fields.append((match.group("name").strip(), (match.group("value") or "").strip()))
            body.append(line)
        elif fields and _CONTINUATION.match(line):
            name, value = fields[-1]
            fields[-1] = (name, f"{value}\n{line.strip()}" if value else line.strip())
            body.append(line)
        else:
            break
    if not any(name == "Model" for name, _ in fields):
        return None
    while body and not body[-1]:
        body.pop()
    shown = [lines[header], *body]
    dedented = tuple(line[2:] if line.startswith("  ") else line for line in shown)
    return StatusPanel(header, dedented, tuple(fields))


def find_status_panels(text: str) -> list[StatusPanel]:
    """Every complete-looking status panel in a pane capture, top to bottom. Never raises.

    A panel is the ``>_ OpenAI Codex (v…)`` header followed (blank lines allowed) by ``Name:  value``
    field lines, one of them ``Model``; it ends at the first line that is neither a field, a value
    continuation (4+ spaces) nor blank. The startup banner (header + cwd line) is not a panel.
    """
    lines = [line.rstrip() for line in strip_ansi(text).replace("\r", "").split("\n")]
    panels: list[StatusPanel] = []
    for row, line in enumerate(lines):
        if _HEADER.match(line):
            panel = _panel_at(lines, row)
            if panel is not None:
                panels.append(panel)
    return panels


def new_panel(before: Sequence[StatusPanel], after: Sequence[StatusPanel]) -> StatusPanel | None:
    """The panel of ``after`` that was not on screen in ``before``, if one can be told apart.

    The newest panel counts as new when there was none before, when there are more panels now, or
    when its text differs from the newest one before. A panel identical to the one already shown
    (same values, same count) is ambiguous and gives None.
    """
    if not after:
        return None
    last = after[-1]
    if not before or len(after) > len(before) or last.lines != before[-1].lines:
        return last
    return None


def status_html(panel: StatusPanel) -> str:
    """The panel as Telegram HTML: one escaped ``<pre>`` block."""
    return "<pre>" + html.escape("\n".join(panel.lines), quote=False) + "</pre>"


# -- live part ------------------------------------------------------------------------------------------


async def _wait_for_panel(window: WindowPort, before_text: str) -> StatusPanel | None:
    before = find_status_panels(before_text)
    candidate: StatusPanel | None = None
    fallback: StatusPanel | None = None
    with trio.move_on_after(STATUS_WAIT):
        while True:
            await trio.sleep(POLL)
            text = await window.capture()
            if text == before_text:
                continue
            model = parse_screen(text)
            if not model.composer_visible or model.composer_text is not None:
                continue  # "/status" still sits in the composer, or something else took the screen
            after = find_status_panels(text)
            found = new_panel(before, after)
            if found is None:
                fallback = after[-1] if after else None
                continue
            # Seen twice in a row: Codex finished drawing it.
            if candidate is not None and candidate.lines == found.lines:
                return found
            candidate = found
    # An identical panel is still the current status; a half-seen new one is better than nothing.
    return candidate or fallback


async def request_status(window: WindowPort, request: ShowStatus) -> None:
    """Handle ``/status``: type it when the pane accepts text, then post the panel it draws once."""
    if window.prompt_state is State.STARTING:
        await window.wait_state(lambda s: s is not State.STARTING, READY_WAIT)
    verdict = window.can_accept_text()
    if not verdict.ok:
        await window.say(f"⛔ Not sent: {html.escape(verdict.reason, quote=False)}. Nothing was typed.")
        return
    before = await window.capture()
    await window.type_text("/status")
    panel = await _wait_for_panel(window, before)
    if panel is None:
        log.info("no status panel appeared")
        await window.say("⚠️ <code>/status</code> was typed, but no status panel appeared. Try /screenshot.")
        return
    await window.say(f"{status_html(panel)}\n{plane_note(window.plane)}", disable_notification=True)


def install(topics: Topics) -> None:
    """Register the ``status`` topic request (``/status`` in a bound topic)."""
    topics.hooks.on_request(ShowStatus, request_status)
    topics.hooks.commands["status"] = lambda args: ShowStatus()
