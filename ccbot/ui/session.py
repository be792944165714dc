"""An open inline-keyboard dialogue (pure): which topic it lives in, its message and its own state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from ccbot.state.model import TopicKey

__all__ = ["UiSession"]

S = TypeVar("S")


@dataclass(slots=True)
class UiSession:
    """One dialogue; ``token`` is the id carried in its buttons' callback data.

    ``kind`` names the UI ("browser", "picker", or a feature's: "history", "screenshot", "prompt") and fixes
    the type of ``state``, which only that UI's code reads and writes (through :meth:`state_as`).
    """

    token: str
    kind: str
    key: TopicKey
    message_id: int | None = None
    state: object = None

    def state_as(self, cls: type[S]) -> S:
        """``state`` as a ``cls``. Raises TypeError when it is not one (each kind keeps one state type)."""
        if not isinstance(self.state, cls):
            raise TypeError(f"{self.kind} session holds {type(self.state).__name__}, not {cls.__name__}")
        return self.state
