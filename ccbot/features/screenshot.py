"""/screenshot: the pane as a PNG with key buttons that press a key and refresh the picture.

* ``/screenshot`` → ``TakeScreenshot()`` → the window actor captures the pane with colours
  (``capture-pane -e``), renders it with :func:`ccbot.render.screenshot.render_png` in a worker thread
  (one render at a time: the feature's own ``CapacityLimiter(1)``), and sends it (``send_photo``) with
  a keyboard bound to a UI session of kind ``"screenshot"``.
* A button press reaches :func:`on_callback` only after Topics checked it belongs to this topic. It is
  queued to the window actor as ``ScreenshotKey(token, key)`` — in order with typed text, and off the
  router's path — where the key is pressed (``WindowPort.press_keys``: owner mark checked, the tmux
  adapter's allowlist; only this keyboard's keys are accepted), the pane re-captured and the photo
  replaced (``edit_message_media``).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
import trio

from ccbot.actors.router import thread_kwargs
from ccbot.features.ports import Queued, TopicPort, WindowPort
from ccbot.messages import FeatureRequest, Lane, Outbound
from ccbot.render.screenshot import MAX_SIDE_PX, MIN_FONT_SIZE, metrics, render_png
from ccbot.telegram.errors import MessageToEditNotFound, TelegramError
from ccbot.telegram.types import CallbackQuery, InlineButton, InlineKeyboard
from ccbot.tmux.keys import UnknownKeyError
from ccbot.ui import callbacks

if TYPE_CHECKING:
    from ccbot.actors.topics import Topics
    from ccbot.state.model import TopicKey
    from ccbot.ui.session import UiSession

log = structlog.get_logger("ccbot.screenshot")

KIND = "screenshot"
FONT_SIZE = 16
KEY_SETTLE = 0.4  # Codex redraws within a few frames of a key; capture after that
MAX_SESSIONS_PER_TOPIC = 3  # older screenshots' buttons answer "expired"
MAX_PHOTO_SUM = 10000  # Bot API: photo width + height
MAX_PHOTO_RATIO = 20

# (label, tmux key name), in keyboard rows.
KEY_ROWS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("⎋ Esc", "Escape"), ("⏎ Enter", "Enter"), ("⇥ Tab", "Tab"), ("␣ Space", "Space")),
    (("↑", "Up"), ("↓", "Down"), ("←", "Left"), ("→", "Right")),
    (("^C Ctrl-C", "C-c"),),
)
KEY_LABELS: dict[str, str] = {key: label for row in KEY_ROWS for label, key in row}

@dataclass(frozen=True, slots=True)
class TakeScreenshot(FeatureRequest):
    """``/screenshot``: send the pane as a photo with key buttons."""


@dataclass(frozen=True, slots=True)
class ScreenshotKey(FeatureRequest):
    """A button of screenshot ``token`` was pressed: press ``key`` (one of ``KEY_LABELS``; "-" only
    refreshes) and replace the photo."""

    token: str
    key: str


def keyboard(token: str) -> InlineKeyboard:
    """The key buttons (``KEY_ROWS``) and a Refresh button of screenshot session ``token``."""
    rows = [tuple(InlineButton(label, callbacks.encode(callbacks.SCREENSHOT_KEY, token, key))
                  for label, key in row) for row in KEY_ROWS]
    rows[-1] += (InlineButton("🔄 Refresh", callbacks.encode(callbacks.SCREENSHOT_REFRESH, token)),)
    return InlineKeyboard(tuple(rows))


def fit_font_size(cols: int, rows: int, preferred: int = FONT_SIZE) -> int:
    """The largest font size ≤ ``preferred`` whose image Telegram accepts as a photo (w+h ≤ 10000, sides
    within the renderer's limit, aspect ratio ≤ 20); the smallest size if none does."""
    for size in range(preferred, MIN_FONT_SIZE - 1, -1):
        m = metrics(size)
        w = 2 * m.pad + max(cols, 1) * m.cell_w
        h = 2 * m.pad + max(rows, 1) * m.cell_h
        if w + h <= MAX_PHOTO_SUM and max(w, h) <= MAX_SIDE_PX and max(w, h) <= MAX_PHOTO_RATIO * min(w, h):
            return size
    return MIN_FONT_SIZE


async def capture_png(window: WindowPort, limiter: trio.CapacityLimiter) -> bytes:
    """Capture the window's pane with colours and render it in a worker thread under ``limiter``.
    Raises TmuxError, ValueError (an image the renderer refuses)."""
    state = await window.pane_size()
    text = await window.capture(ansi=True)
    size = fit_font_size(state.width, state.height)

    def render() -> bytes:
        return render_png(text, cols=state.width, font_size=size)

    return await trio.to_thread.run_sync(render, limiter=limiter)


def caption(window: WindowPort, pressed: str | None = None) -> str:
    """The photo caption: the window's name, and the key just pressed when ``pressed`` is given (HTML)."""
    head = f"🖥 <code>{html.escape(window.window_name)}</code>"
    return head + (f" · after {html.escape(KEY_LABELS.get(pressed, pressed))}" if pressed else "")


class ScreenshotFeature:
    """The ``/screenshot`` feature: a pane photo with key buttons, refreshed in place after a press.

    Its UI sessions (kind "screenshot", state: the window id) are opened and closed only here; at most
    ``MAX_SESSIONS_PER_TOPIC`` stay open per topic. Renders run one at a time bot-wide (``limiter``).
    """

    def __init__(self, topics: TopicPort) -> None:
        self.topics = topics
        # One render at a time for the whole bot: renders are CPU-bound and the host may have 2 cores.
        self.limiter = trio.CapacityLimiter(1)

    # -- /screenshot (in the window actor) ---------------------------------------------------------------
    async def on_request(self, window: WindowPort, request: TakeScreenshot) -> None:
        """Send the pane as a photo with key buttons (in the window actor's task).

        A render or send failure is told to the topic; TmuxError from the capture propagates.
        """
        try:
            png = await capture_png(window, self.limiter)
        except ValueError as exc:
            await window.say(f"⚠️ Could not render the screenshot: {html.escape(str(exc))}")
            return
        key = window.key
        session = self.topics.open_ui(KIND, key, window.window_id)
        self._trim_sessions(key)
        item = Outbound(key[0], "send_photo", {
            "chat_id": key[0], "photo": png, "filename": "screen.png", "caption": caption(window),
            "reply_markup": keyboard(session.token), **thread_kwargs(key)}, lane=Lane.USER)
        try:
            message = await window.call(item)
        except TelegramError as exc:
            self.topics.close_ui(session)
            log.warning("screenshot not sent", error=exc.description)
            await window.say(f"⚠️ Could not send the screenshot: {html.escape(exc.description)}")
            return
        session.message_id = int(message.message_id)

    def _trim_sessions(self, key: TopicKey) -> None:
        mine = self.topics.sessions(KIND, key)
        for old in mine[:-MAX_SESSIONS_PER_TOPIC]:
            self.topics.close_ui(old)

    # -- a key button (router path: only validate and queue) ---------------------------------------------
    async def on_callback(self, topics: TopicPort, session: UiSession, parsed: callbacks.Callback,
                          query: CallbackQuery) -> None:
        """Validate a key/refresh button and queue a ``ScreenshotKey`` to the window; never waits for the window.

        Answers the query (gone, busy or pressed) and closes the session when the window is gone. Raises
        ``callbacks.BadCallback`` for a button this feature does not know.
        """
        if parsed.kind == callbacks.SCREENSHOT_KEY:
            key = str(parsed.args[0])
            if key not in KEY_LABELS:
                raise callbacks.BadCallback(f"not a screenshot key: {key!r}")
        elif parsed.kind == callbacks.SCREENSHOT_REFRESH:
            key = "-"
        else:
            raise callbacks.BadCallback(f"{parsed.kind} is not a screenshot button")
        queued = topics.command_window(session.key, session.state_as(str), ScreenshotKey(session.token, key))
        if queued is Queued.GONE:
            topics.close_ui(session)
            await topics.answer(query, "This window is gone.")
            return
        if queued is Queued.BUSY:
            await topics.answer(query, "The window is busy; try again in a moment.")
            return
        await topics.answer(query, None if key == "-" else f"Pressed {KEY_LABELS[key]}")

    # -- press + refresh (in the window actor) -----------------------------------------------------------
    async def on_update(self, window: WindowPort, request: ScreenshotKey) -> None:
        """Press the request's key (none for refresh), re-render and edit the photo in place (in the window actor).

        Ignores a closed or foreign session; closes it when the photo message is gone; other render and Telegram
        failures are only logged. TmuxError from pressing or capturing propagates.
        """
        token, key = request.token, request.key
        session = self.topics.session(token)
        if session is None or session.kind != KIND or session.key != window.key \
                or session.state != window.window_id or session.message_id is None:
            log.info("screenshot update for a closed or foreign session ignored", token=token)
            return
        pressed: str | None = None
        if key in KEY_LABELS:
            try:
                await window.press_keys(key)
            except UnknownKeyError as exc:  # the tmux allowlist is the last word
                log.warning("screenshot key refused", error=str(exc))
                return
            pressed = key
            await trio.sleep(KEY_SETTLE)
        try:
            png = await capture_png(window, self.limiter)
        except ValueError as exc:
            log.warning("screenshot render failed", error=str(exc))
            return
        chat = window.key[0]
        item = Outbound(chat, "edit_message_media", {
            "chat_id": chat, "message_id": session.message_id, "photo": png, "filename": "screen.png",
            "caption": caption(window, pressed), "reply_markup": keyboard(session.token)},
            coalesce_key=f"screenshot:{session.message_id}", lane=Lane.USER)
        try:
            await window.call(item)
        except MessageToEditNotFound:
            self.topics.close_ui(session)
        except TelegramError as exc:
            log.warning("screenshot edit failed", error=exc.description)


def install(topics: Topics) -> None:
    """Register /screenshot, its refresh request and the key-button handler."""
    feature = ScreenshotFeature(topics)
    topics.hooks.on_request(TakeScreenshot, feature.on_request)
    topics.hooks.on_request(ScreenshotKey, feature.on_update)
    topics.hooks.commands["screenshot"] = lambda args: TakeScreenshot()
    topics.callback_handlers[KIND] = feature.on_callback
