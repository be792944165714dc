"""When to show the next frame of a streamed answer (pure: no trio, no clock of its own).

One `FramePacer` per streamed answer. The caller renders a frame (`render.stream.frame_html`) each
time the answer grows and offers it; the pacer says whether it goes now, and otherwise holds the
newest one until `next_due`. Rules, per `FrameMode`:

* **DRAFT** (`sendMessageDraft`, private chats): frames at least `DRAFT_INTERVAL` (1 s) apart. That
  is the per-chat pace the sender keeps for real messages (`telegram.pacing.Pacer`,
  `per_chat_interval=1.0`; the Bot FAQ's "~1 message/s in one chat", reference §2.10). Whether
  drafts count against that limit is undocumented, so a draft never asks for more than a message may.
* **EDIT** (one message edited with `editMessageText`: groups and forum topics, where drafts do not
  exist): at least `EDIT_INTERVAL` (5 s) apart and at most `EDIT_PER_WINDOW` (12) per
  `EDIT_WINDOW` (60 s). Telegram allows ~20 messages a minute to a group and edits count too
  (reference §2.10; `Pacer(group_per_minute=20)`); the sender keeps 3 of those for the user's own
  traffic (`actors.sender.USER_RESERVE`). Frames are the least urgent traffic, so they take at most
  12 and leave 8 for the final answer (possibly several messages), tool summaries and replies.
* **OFF**: no frames at all (today's behaviour: the finished answer only).

Always: an identical frame is never sent twice (Telegram refuses an edit that changes nothing,
reference §2.12), a frame with nothing visible (None) is never sent, and once `finished()` is
called nothing more is sent: the final message replaces the preview, so a frame sent after it would
be a partial answer left as the last word.

`draft_failed()`: the first failed draft turns frames off for the rest of the answer (mode OFF), not
over to EDIT. An edited preview in a private chat would be a real message that must later be turned
into the final answer or deleted, and a chat whose drafts fail (an old Bot API server, a client
without the feature) gains little from it. The caller keeps that verdict per chat and starts the
chat's later answers in OFF (`FramePacer(FrameMode.OFF)`).

Times are the caller's clock (e.g. `trio.current_time()`), in seconds, never going backwards.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass

__all__ = [
    "DRAFT_INTERVAL",
    "EDIT_INTERVAL",
    "EDIT_PER_WINDOW",
    "EDIT_WINDOW",
    "FrameMode",
    "FramePacer",
    "FrameRules",
    "rules_for",
]

DRAFT_INTERVAL = 1.0
EDIT_INTERVAL = 5.0
EDIT_PER_WINDOW = 12
EDIT_WINDOW = 60.0


class FrameMode(enum.Enum):
    """How frames reach the chat (see the module docstring)."""

    DRAFT = "draft"
    EDIT = "edit"
    OFF = "off"


@dataclass(frozen=True, slots=True)
class FrameRules:
    """Frames at least `interval` seconds apart and at most `per_window` in any `window` seconds
    (half-open: the k-th and (k + per_window)-th frame are at least `window` apart)."""

    interval: float
    per_window: int
    window: float

    def __post_init__(self) -> None:
        if self.interval < 0 or self.per_window < 1 or self.window <= 0:
            raise ValueError("frame rules must be positive")


def rules_for(mode: FrameMode) -> FrameRules:
    """The project's rules for `mode` (OFF gets the EDIT rules; it never sends anyway)."""
    if mode is FrameMode.DRAFT:
        # The interval alone bounds drafts; the window only has to be consistent with it.
        return FrameRules(DRAFT_INTERVAL, round(EDIT_WINDOW / DRAFT_INTERVAL), EDIT_WINDOW)
    return FrameRules(EDIT_INTERVAL, EDIT_PER_WINDOW, EDIT_WINDOW)


class FramePacer:
    """Decides when the frames of one streamed answer go out.

    Use: on every new frame, `if pacer.offer(now, frame): send(frame)`; while `next_due(now)` is not
    None, wake at that time and `send(pacer.take(now))` when it returns a frame; when the answer is
    complete call `finished()` and send the final message. A frame the pacer lets go counts as sent
    at the `now` it was let go.
    """

    def __init__(self, mode: FrameMode, rules: FrameRules | None = None) -> None:
        self._mode = mode
        self._rules = rules if rules is not None else rules_for(mode)
        self._sent: deque[float] = deque()  # the last `per_window` send times
        self._last: str | None = None  # the last frame sent
        self._pending: str | None = None  # the newest frame not sent yet
        self._finished = False

    @property
    def mode(self) -> FrameMode:
        """The current mode (DRAFT becomes OFF after `draft_failed`)."""
        return self._mode

    @property
    def active(self) -> bool:
        """True while frames may still be sent: not OFF and not finished."""
        return self._mode is not FrameMode.OFF and not self._finished

    def offer(self, now: float, frame: str | None) -> bool:
        """Note the newest frame. True: send it now (it counts as sent at `now`). False: nothing to
        send now; a frame worth sending is held and `next_due` says when it may go.

        A frame is worth sending when it is not None and differs from the last frame sent. A newer
        offer replaces a held frame (only the newest text is ever shown).
        """
        if not self.active:
            return False
        if frame is None or frame == self._last:
            self._pending = None  # nothing new beyond what the chat already shows
            return False
        if self._earliest(now) <= now:
            self._send(now, frame)
            return True
        self._pending = frame
        return False

    def next_due(self, now: float) -> float | None:
        """When the held frame may go (at least `now`), or None when there is nothing to send."""
        if not self.active or self._pending is None:
            return None
        return self._earliest(now)

    def take(self, now: float) -> str | None:
        """The held frame if it may go at `now` (it then counts as sent), else None."""
        due = self.next_due(now)
        if due is None or due > now:
            return None
        frame = self._pending
        assert frame is not None
        self._send(now, frame)
        return frame

    def finished(self) -> None:
        """The answer is complete: no frame is sent from now on; a held one is dropped."""
        self._finished = True
        self._pending = None

    def draft_failed(self) -> None:
        """A draft was refused: frames are off for the rest of this answer (see the module docstring).

        Does nothing in EDIT or OFF mode: a failed edit is the sender's to retry or give up.
        """
        if self._mode is FrameMode.DRAFT:
            self._mode = FrameMode.OFF
            self._pending = None

    def _earliest(self, now: float) -> float:
        rules = self._rules
        ready = now
        if self._sent:
            ready = max(ready, self._sent[-1] + rules.interval)
        if len(self._sent) >= rules.per_window:
            ready = max(ready, self._sent[-rules.per_window] + rules.window)
        return ready

    def _send(self, now: float, frame: str) -> None:
        self._sent.append(now)
        while len(self._sent) > self._rules.per_window:
            self._sent.popleft()
        self._last = frame
        self._pending = None
