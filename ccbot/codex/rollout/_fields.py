"""Field readers of rollout records beyond plain typed getters (pure): message content text, Codex's
duration shapes, and the user-role context blocks Codex injects. Never raise on odd input.

Codex's lines are trusted for nothing: every reader goes through the typed getters of
``ccbot.codex.jsonfields``, so that a field of an unexpected type reads as absent instead of breaking the record.
"""

from __future__ import annotations

import re

# User-role texts Codex injects into the model input; none of them was typed by the user.
_INJECTED_PREFIXES = (
    "<environment_context>",
    "<user_instructions>",
    "# AGENTS.md instructions",
    "<turn_aborted>",
    "<user_action>",
    "<user_shell_command>",
    "<permissions instructions>",
    "<skills_instructions>",
    "<collaboration_mode>",
    "<subagent_notification>",
)
_DURATION_TEXT = re.compile(r"\s*([0-9.]+)\s*(ms|s)?\s*")


def is_injected_user_text(text: str) -> bool:
    """True for context blocks Codex adds to the user role (environment, AGENTS.md, aborts, ...)."""
    return text.lstrip().startswith(_INJECTED_PREFIXES)


def duration_s(value: object) -> float | None:
    """Seconds from any of Codex's duration shapes ({"secs", "nanos"}, a number, "1.2s", "40ms"); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict):
        secs, nanos = value.get("secs"), value.get("nanos", 0)
        if isinstance(secs, int) and isinstance(nanos, int):
            return secs + nanos / 1e9
    if isinstance(value, str):
        m = _DURATION_TEXT.fullmatch(value)
        if m:
            try:
                n = float(m.group(1))
            except ValueError:
                return None
            return n / 1000 if m.group(2) == "ms" else n
    return None


def content_text(content: object) -> tuple[str, int]:
    """(the text parts of a message `content` list joined by newlines, the number of image parts).

    A plain string is its own text; anything that is neither a string nor a list is ("", 0).
    """
    if isinstance(content, str):
        return content, 0
    texts: list[str] = []
    images = 0
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text", "Text") and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif isinstance(kind, str) and "image" in kind.lower():
            images += 1
    return "\n".join(texts), images
