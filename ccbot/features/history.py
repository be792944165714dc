"""``/history``: the bound thread's conversation from its rollout, paginated with inline buttons.

The pure part, :func:`history_pages`, turns rollout lines into pages (newest first): every line goes
through the rollout decoder (``parse_line`` plus twin removal, so 0.169's double-written messages show
once), then ``render_conversation`` with prompts echoed, then ``ccbot.ui.history.paginate``.

The live part answers the ``history`` topic request with one message showing the newest page and
``◀ Older [n/N] Newer ▶`` buttons; a press edits that same message. The pages are a snapshot taken
when /history was sent. The file is read in a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
import trio

from ccbot.codex.rollout import decode_lines
from ccbot.codex.stored import open_rollout, stored_form
from ccbot.features.ports import TopicPort, WindowPort
from ccbot.messages import FeatureRequest
from ccbot.render.messages import RenderOptions, render_conversation
from ccbot.ui.callbacks import HISTORY_PAGE, NOOP, BadCallback, Callback
from ccbot.ui.history import paginate, render_history_page

if TYPE_CHECKING:
    from ccbot.actors.topics import Topics
    from ccbot.state.model import TopicKey
    from ccbot.telegram.types import CallbackQuery
    from ccbot.ui.session import UiSession

__all__ = ["KIND", "ShowHistory", "history_pages", "install", "read_history_pages"]

log = structlog.get_logger("ccbot.history")

KIND = "history"  # UiSession kind
KEEP_OPEN = 5  # history messages per topic whose buttons still work; older ones expire


@dataclass(frozen=True, slots=True)
class ShowHistory(FeatureRequest):
    """``/history``: post the thread's conversation, newest page first, with page buttons."""


@dataclass(slots=True)
class HistoryPages:
    """A history message's UI state: its pages and the one shown."""

    pages: list[str]
    shown: int = 0


def history_pages(lines: Iterable[bytes | str]) -> list[str]:
    """Rollout lines (oldest first) → Telegram-HTML pages, newest page first ([] for no messages).

    Every page is valid HTML; see ``ccbot.ui.history.paginate`` for the packing rule.
    """
    records = decode_lines(lines)
    rendered = render_conversation(records, RenderOptions(echo_user=True))
    return paginate([r.html for r in rendered])


def read_history_pages(path: Path) -> list[str]:
    """:func:`history_pages` of the rollout at ``path``, plain or compressed (found in either form:
    ``ccbot.codex.stored``). Blocking I/O; ``OSError`` if it can't be read."""
    with open_rollout(stored_form(path)) as f:
        return history_pages(line for line in f if line.endswith(b"\n"))


async def _on_request(topics: TopicPort, window: WindowPort) -> None:
    path = window.rollout_path
    if path is None:
        await window.say("📜 No conversation yet: this thread has no rollout until its first prompt.")
        return
    # Reading, rendering and the paced send run beside the window, so its inbox is not held.
    topics.spawn(_send_history, topics, window.key, Path(path))


async def _send_history(topics: TopicPort, key: TopicKey, path: Path) -> None:
    try:
        await _send_history_page(topics, key, path)
    except Exception:  # a spawned task must not take the windows down with it
        log.exception("/history failed")


async def _send_history_page(topics: TopicPort, key: TopicKey, path: Path) -> None:
    try:
        pages = await trio.to_thread.run_sync(read_history_pages, path)
    except OSError as exc:
        log.warning("cannot read rollout for /history", path=str(path), error=str(exc))
        await topics.say(key, "⚠️ Could not read this thread's history.")
        return
    session = topics.open_ui(KIND, key, HistoryPages(pages))
    text, keyboard = render_history_page(pages, 0, session.token)
    message_id = await topics.ask(key, text, keyboard)
    if message_id is None or len(pages) <= 1:
        topics.close_ui(session)  # nothing to page through
    else:
        session.message_id = message_id
    older = topics.sessions(KIND, key)
    for stale in older[:-KEEP_OPEN]:
        topics.close_ui(stale)


async def _on_press(topics: TopicPort, session: UiSession, parsed: Callback, query: CallbackQuery) -> None:
    if parsed.kind == NOOP:
        await topics.answer(query)
        return
    if parsed.kind != HISTORY_PAGE:
        raise BadCallback(f"{parsed.kind} is not a history button")
    shown = session.state_as(HistoryPages)
    text, keyboard = render_history_page(shown.pages, parsed.int_arg(), session.token)  # BadCallback: no such page
    shown.shown = parsed.int_arg()
    await topics.answer(query)
    if session.message_id is not None:
        await topics.edit(session.key, session.message_id, text, keyboard)


def install(topics: Topics) -> None:
    """Register the ``history`` topic request and its page buttons."""

    async def on_request(window: WindowPort, request: ShowHistory) -> None:
        await _on_request(topics, window)

    topics.hooks.on_request(ShowHistory, on_request)
    topics.hooks.commands["history"] = lambda args: ShowHistory()
    topics.callback_handlers[KIND] = _on_press
