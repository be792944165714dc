"""Limits on what unbound topics may cost (pure): open binding dialogues and kept messages per chat, new
sessions per user per minute. Each refusal is a sentence for the topic, said once per topic and limit.

Every dialogue and every "kept" notice is a message from the chat's Telegram budget (20 a minute in a
group), so without limits 200 new topics would take ten minutes of a group's budget and hold every
reply behind them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ccbot.state.model import TopicKey

MAX_OPEN_DIALOGUES = 5  # folder browsers / thread pickers open at once in one chat
MAX_KEPT_PER_CHAT = 100  # messages kept for the unbound topics of one chat
NEW_SESSIONS_PER_MINUTE = 10  # binding dialogues one user may open in a minute


@dataclass(slots=True)
class IntakeCaps:
    """The limits and what they remember: when each user opened dialogues, and which topic was told what."""

    max_open: int = MAX_OPEN_DIALOGUES
    max_kept: int = MAX_KEPT_PER_CHAT
    per_minute: int = NEW_SESSIONS_PER_MINUTE
    opened: dict[int, deque[float]] = field(default_factory=dict)
    told: set[tuple[TopicKey, str]] = field(default_factory=set)

    def keep_refusal(self, kept_in_chat: int) -> str | None:
        """Why one more message may not be kept in a chat that keeps ``kept_in_chat`` already, or None."""
        if kept_in_chat >= self.max_kept:
            return (f"⛔ Not kept: {self.max_kept} messages already wait for a folder choice in this chat. "
                    "Finish a folder choice first, then send this again.")
        return None

    def open_refusal(self, user: int, open_in_chat: int, now: float) -> str | None:
        """Why ``user`` may not open another dialogue now (the message is kept), or None."""
        if open_in_chat >= self.max_open:
            return (f"📥 Kept. {self.max_open} folder choices are already open in this chat; finish or cancel "
                    "one, then send a message here to choose a folder.")
        recent = self.opened.get(user)
        if recent is not None:
            while recent and now - recent[0] >= 60.0:
                recent.popleft()
            if len(recent) >= self.per_minute:
                return (f"📥 Kept. You started {self.per_minute} new sessions in the last minute; send a "
                        "message here again in a minute to choose a folder.")
        return None

    def opening(self, user: int, now: float) -> None:
        """``user`` opens a dialogue now."""
        self.opened.setdefault(user, deque()).append(now)

    def first_time(self, key: TopicKey, text: str) -> bool:
        """Whether ``key`` has not been told ``text`` yet (and remember that it now is)."""
        if (key, text) in self.told:
            return False
        self.told.add((key, text))
        return True

    def forget(self, key: TopicKey) -> None:
        """``key`` got its dialogue or binding: later limits are told again."""
        self.told = {t for t in self.told if t[0] != key}
