"""Deterministic markdown prose of an exact length, for the mock's ``long N`` answers (pure)."""

from __future__ import annotations

_WORDS = (
    "the",
    "mock",
    "model",
    "keeps",
    "writing",
    "steady",
    "sentences",
    "about",
    "tmux",
    "panes,",
    "rollout",
    "files,",
    "Telegram",
    "topics,",
    "rate",
    "limits,",
    "trio",
    "nurseries",
    "and",
    "small",
    "careful",
    "parsers",
    "so",
    "that",
    "long",
    "answers",
    "can",
    "be",
    "split,",
    "rendered",
    "and",
    "delivered",
    "in",
    "order",
    "without",
    "losing",
    "a",
    "single",
    "character",
    "along",
    "the",
    "way",
)

_BLOCKS = (
    "## Section {n}: what the mock is testing\n\n",
    "This paragraph has **bold words**, *italic words*, `inline code` "
    "and a [link](https://example.com/{n}). ",
    "It also mentions <angle brackets> & ampersands that must be escaped.\n\n",
    "- first bullet of group {n}\n- second bullet with `code`\n- third bullet with **emphasis**\n\n",
    "1. numbered step {n}\n2. another numbered step\n\n",
    "> A quoted remark number {n}, kept short.\n\n",
    "```python\ndef block_{n}(x: int) -> int:\n    return x * {n}  # a <tag> inside code\n```\n\n",
    "A plain sentence follows so that the text is not all markup; it is number {n} in this answer.\n\n",
)


def _filler(length: int) -> str:
    """Plain words (no markup) of exactly ``length`` characters."""
    out: list[str] = []
    size = 0
    index = 0
    while size < length:
        word = _WORDS[index % len(_WORDS)]
        piece = word if not out else " " + word
        out.append(piece)
        size += len(piece)
        index += 1
    text = "".join(out)[:length]
    # A trailing blank would be stripped by renderers and break exact-length checks.
    return text[:-1] + "." if text.endswith(" ") else text


def long_markdown(length: int) -> str:
    """Markdown text of exactly ``length`` characters (``length`` < 0 counts as 0).

    Whole blocks (headings, lists, code fences, quotes) are used while they fit, so markup is never
    cut in half; the remainder (at least one character) is plain words, trimmed to the exact
    length, so the text never ends in whitespace.
    """
    length = max(length, 0)
    header = f"# Mock long answer ({length} characters)\n\n"
    if len(header) >= length:
        return _filler(length)
    parts = [header]
    size = len(header)
    n = 0
    while True:
        block = _BLOCKS[n % len(_BLOCKS)].format(n=n // len(_BLOCKS) + 1)
        if size + len(block) >= length:
            break
        parts.append(block)
        size += len(block)
        n += 1
    parts.append(_filler(length - size))
    return "".join(parts)
