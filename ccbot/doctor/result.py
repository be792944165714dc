"""The doctor's result model: :class:`Check` lines at a :class:`Level`, their redacted rendering and the
exit status they add up to. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from ccbot.telegram.redact import redact


class Level(Enum):
    """How a check came out; ``value`` is the printed mark: ✓ fine, ! works but read this, ✗ the bot will not
    work until this is fixed."""

    OK = "✓"
    WARN = "!"
    FAIL = "✗"


@dataclass(frozen=True, slots=True)
class Check:
    """One finding: ``name`` (what was checked), ``text`` (what was found), ``fix`` (what to do, or "")."""

    name: str
    level: Level
    text: str
    fix: str = ""

    def line(self) -> str:
        """The printed form, ``<mark> <name>: <text>`` plus `` → <fix>`` when there is a fix; not redacted."""
        tail = f" → {self.fix}" if self.fix else ""
        return f"{self.level.value} {self.name}: {self.text}{tail}"


def render(checks: Iterable[Check], secrets: Iterable[str] = ()) -> list[str]:
    """The printable lines of ``checks``, in order, each redacted (``secrets`` plus anything shaped like a bot
    token)."""
    frozen = tuple(secrets)
    return [redact(check.line(), frozen) for check in checks]


def exit_code(checks: Iterable[Check], *, config_ok: bool = True) -> int:
    """The exit status: 2 when the configuration did not load (``config_ok`` false), 1 when any check is
    ``FAIL``, else 0."""
    if not config_ok:
        return 2
    return 1 if any(check.level is Level.FAIL for check in checks) else 0


def plural(n: int, word: str) -> str:
    """``1 topic``, ``2 topics``: ``n`` and ``word``, with an ``s`` unless ``n`` is 1."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
