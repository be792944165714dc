"""Streamed answers: the frames of the answer Codex is writing, shown while it writes (app-server plane).

The plane part feeds ``item/agentMessage/delta`` text in (``_stream_feed``) and ends an answer at its
``item/completed`` or the turn's end (``_stream_end``); this part's ``_frames_loop`` turns the text into
frames (``ccbot.render.stream.frame_html``: valid HTML at every step) and sends them as the
``FramePacer`` allows:

* in a private chat as ``sendMessageDraft`` frames (one ``draft_id`` per answer, so the client animates it);
  once Telegram refused a draft in the chat (``WindowDeps.drafts_refused``, kept by the sender), every
  window there streams its answers as edits;
* in a group as one silent message edited in place, within the edit budget.

The finished answer is still delivered from the rollout exactly as on the tmux plane; right before it is
sent (and at the turn's end) ``_close_stream`` stops the frames and deletes an edited frame message, so a
partial frame is never left as the last word. Frames are best-effort: a frame that fails is skipped.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import structlog
import trio

from ccbot.actors.sender import call
from ccbot.actors.window.core import WindowCore
from ccbot.messages import Dropped, Lane, Outbound, Priority
from ccbot.render.stream import frame_html
from ccbot.render.stream_pacing import FrameMode, FramePacer
from ccbot.telegram.errors import TelegramError

log = structlog.get_logger("ccbot.window")

FRAME_EXPIRY = 5.0  # a frame that waited this long for the chat's budget is stale: dropped unsent
# An answer Codex finishes within this long after its first words gets no frame at all: a quick answer costs
# exactly what it costs on the tmux plane (edits spend a group's message budget; drafts are cheap).
FIRST_DRAFT_AFTER = 0.5
FIRST_EDIT_AFTER = 2.0


@dataclass(slots=True)
class AnswerStream:
    """One answer being streamed: its item id, the text so far, its pacer and where its frames go."""

    item_id: str
    pacer: FramePacer
    draft_id: int
    first_due: float  # no frame before this trio time: an answer written within it costs no frame
    text: str = ""
    rendered_for: int = -1  # len(text) when the last frame was rendered
    message_id: int | None = None  # EDIT mode: the frame message
    finished: bool = False  # the answer is complete: no more frames

    def finish(self) -> None:
        """No frame of this answer is sent from now on."""
        self.finished = True
        self.pacer.finished()


def draft_id_for(item_id: str) -> int:
    """A non-zero 31-bit draft id, the same for every frame of one answer item."""
    return (zlib.crc32(item_id.encode("utf-8")) & 0x7FFFFFFF) or 1


class FramesPart(WindowCore):
    """Streamed frames of the answer being written (see the module docstring)."""

    def _frame_mode(self) -> FrameMode:
        # a private chat's id is its user's id (positive); groups are negative
        refused = self.chat_id in self.deps.drafts_refused
        return FrameMode.DRAFT if self.chat_id > 0 and not refused else FrameMode.EDIT

    def _stream_feed(self, item_id: str, delta: str) -> None:
        """Add ``delta`` to answer ``item_id`` (a new item starts a new stream; the old one is left to
        ``_close_stream``)."""
        stream = self.stream
        if stream is None or stream.item_id != item_id:
            if stream is not None:
                stream.finish()
                if stream.message_id is not None:  # its frame message goes when the next answer is sent
                    self.stale_frames.append(stream.message_id)
            mode = self._frame_mode()
            delay = FIRST_DRAFT_AFTER if mode is FrameMode.DRAFT else FIRST_EDIT_AFTER
            stream = AnswerStream(item_id, FramePacer(mode), draft_id_for(item_id), trio.current_time() + delay)
            self.stream = stream
            log.debug("answer streaming", item=item_id, mode=mode.value)
        stream.text += delta
        self._poke_frames()

    def _stream_end(self, item_id: str | None = None) -> None:
        """Answer ``item_id`` (any, when None) is complete: no more frames for it."""
        stream = self.stream
        if stream is not None and (item_id is None or stream.item_id == item_id):
            stream.finish()
            self._poke_frames()

    def _poke_frames(self) -> None:
        self.frames_changed.set()
        self.frames_changed = trio.Event()

    async def _close_stream(self) -> None:
        stream, self.stream = self.stream, None
        stale, self.stale_frames = self.stale_frames, []
        if stream is not None:
            stream.finish()
            if stream.message_id is not None:
                stale.append(stream.message_id)
        for message_id in stale:
            await self._delete_frame_message(message_id)
        # a first frame still in flight gets its message id later: _send_frame deletes it then

    async def _delete_frame_message(self, message_id: int) -> None:
        try:
            await call(self.deps.outbox, Outbound(self.chat_id, "delete_message",
                                                  {"chat_id": self.chat_id, "message_id": message_id}))
        except TelegramError as exc:
            log.warning("could not delete a streamed frame", error=str(exc))

    async def _frames_loop(self) -> None:
        while True:
            changed = self.frames_changed
            wake = await self._send_due_frame()
            with trio.move_on_at(wake if wake is not None else trio.current_time() + 60.0):
                await changed.wait()

    async def _send_due_frame(self) -> float | None:
        """Send the stream's newest frame if the pacer lets it go now; returns when to look again (None:
        nothing is held)."""
        stream = self.stream
        if stream is None:
            return None
        if stream.finished and stream.message_id is None:
            self.stream = None  # nothing of it is shown in the chat that would need closing
        if not stream.pacer.active:
            return None
        now = trio.current_time()
        if now < stream.first_due:
            return stream.first_due
        frame: str | None = None
        if stream.rendered_for != len(stream.text):
            stream.rendered_for = len(stream.text)
            offered = frame_html(stream.text)
            frame = offered if stream.pacer.offer(now, offered) else None
        if frame is None:
            frame = stream.pacer.take(now)
        if frame is not None:
            await self._send_frame(stream, frame)
        return stream.pacer.next_due(trio.current_time())

    async def _send_frame(self, stream: AnswerStream, frame: str) -> None:
        thread = self._thread_kwargs()
        mode = stream.pacer.mode
        if mode is FrameMode.DRAFT:
            item = Outbound(self.chat_id, "send_message_draft",
                            {"chat_id": self.chat_id, "draft_id": stream.draft_id, "text": frame, **thread},
                            priority=Priority.BEST_EFFORT, lane=Lane.ANSWER, expires_after=FRAME_EXPIRY)
        elif stream.message_id is None:
            item = Outbound(self.chat_id, "send_message",
                            {"chat_id": self.chat_id, "text": frame, "disable_notification": True, **thread},
                            priority=Priority.BEST_EFFORT, lane=Lane.ANSWER, expires_after=FRAME_EXPIRY)
        else:
            item = Outbound(self.chat_id, "edit_message_text",
                            {"chat_id": self.chat_id, "message_id": stream.message_id, "text": frame},
                            priority=Priority.BEST_EFFORT, lane=Lane.PROGRESS, expires_after=FRAME_EXPIRY)
        try:
            result = await call(self.deps.outbox, item)
        except Dropped:
            return
        except TelegramError as exc:
            if mode is FrameMode.DRAFT:
                # this answer's later frames are not sent; the next answers stream by edits once the sender
                # has counted the refusal for the chat (a network error does not count)
                log.warning("draft not sent; no more frames of this answer", error=str(exc))
                stream.pacer.draft_failed()
            else:
                log.info("streamed frame not sent", error=str(exc))
            return
        if mode is FrameMode.EDIT and stream.message_id is None:
            stream.message_id = getattr(result, "message_id", None)
            if stream.finished and stream.message_id is not None and self.stream is not stream:
                await self._delete_frame_message(stream.message_id)  # closed while this frame was in flight
                return
        log.debug("frame sent", mode=mode.value, chars=len(stream.text))
