"""Frames of an answer that is still being streamed: partial Markdown → Telegram HTML (pure).

Codex streams an answer as text deltas; the bot shows it growing (a `sendMessageDraft` frame in a
private chat, an edited message in a group) and then sends the finished answer through the normal
path (`md_to_html` + `split`). A frame is therefore a *preview*: it must always be accepted by
Telegram, fit one message, and, once the text is complete, look exactly like the final message.

Policy for unfinished markup (`settle_markdown`), applied only where a stream can be cut off:

* an open code fence is closed at the end (a fence line still being typed, with no code under it
  yet, is dropped, and so is a half-typed closing fence inside the block);
* on the last line, outside code spans: an unclosed inline code span is closed when it has content
  and dropped when it has none; an emphasis marker (`**`, `__`, `~~`, `*`, `_`) left unpaired is
  closed when text follows it and dropped when nothing does; a link still being typed shows its
  text only (`[text](http://ex` → `text`, `[tex` → `tex`).

Only the last line is repaired because Codex writes inline markup within a line; a complete line
is rendered exactly as the final message will render it. Validity never depends on this repair:
`md_to_html` already falls back to escaped text for anything Telegram would refuse.
"""

from __future__ import annotations

import re

from ccbot.render.markdown import md_to_html_parsed
from ccbot.render.split import MIN_LIMIT, TRIM_CHARS, split_parsed_chunks
from ccbot.render.tg_html import ParsedText

__all__ = ["ELLIPSIS", "frame_html", "settle_markdown"]

ELLIPSIS = "\u2026"

_SURROGATE = re.compile("[\ud800-\udfff]")
_FENCE = re.compile(r"^[ \t]{0,3}(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*?)[ \t]*$")
_BACKTICKS = re.compile(r"`+")
# Unpaired-marker candidates. A run of the marker character longer than the marker is left alone,
# and `_`/`__` inside a word (snake_case) are not markers.
_MARKERS = (
    ("*", re.compile(r"(?<!\*)\*(?!\*)")),
    ("_", re.compile(r"(?<![_A-Za-z0-9])_(?!_)|(?<!_)_(?![_A-Za-z0-9])")),
    ("**", re.compile(r"(?<!\*)\*\*(?!\*)")),
    ("__", re.compile(r"(?<![_A-Za-z0-9])__(?!_)|(?<!_)__(?![_A-Za-z0-9])")),
    ("~~", re.compile(r"(?<!~)~~(?!~)")),
)
_OPEN_LINK_WITH_URL = re.compile(r"\[([^\[\]]*)\]\([^()\s]*$")
_OPEN_LINK_TEXT = re.compile(r"\[[^\[\]]*$")
_BULLET = re.compile(r"^[ \t]*[*_][ \t]")  # "* item" is a list bullet, not emphasis


def frame_html(partial_markdown: str, *, limit: int = 4096) -> str | None:
    """The HTML to show for an answer streamed so far, or None when nothing is visible yet (blank
    text, or only markup still being typed, such as `**`).

    Contract, for any `str` (even one ending in the middle of a surrogate pair, whose half is dropped):

    * the result is accepted by `parse_html` (Telegram's HTML parser);
    * its visible text without trailing whitespace (which Telegram trims; leading whitespace is
      counted, as `split` counts it) has at most `limit` code points, the unit of Telegram's 4096
      limit (reference §2.8, `tg_html.telegram_length`);
    * when `settle_markdown(text) == text` (nothing unfinished) and `md_to_html(text)` fits the
      limit, the result is exactly `md_to_html(text)`: the last frame looks like the final message.

    A text too long for one message is shown by its **tail**, after a leading "…": the newest words
    are what a reader following a stream looks for, and the phone keeps them in view; the head is
    already known, and the final message (split by `split`) shows everything. The cut is made at a
    line start of the Markdown (a code block cut inside is reopened with its fence line), so the tail
    is rendered as Markdown in its own right; when no line start gives a tail that fits (a last line
    longer than the limit), the last chunk `split` would send is shown instead.

    `limit` must be at least `2 * split.MIN_LIMIT` (ValueError otherwise).
    """
    if limit < 2 * MIN_LIMIT:
        raise ValueError(f"limit must be at least {2 * MIN_LIMIT}")
    text = settle_markdown(_SURROGATE.sub("", partial_markdown))
    html, parsed = _render(text)
    if not parsed.text.strip(TRIM_CHARS):
        return None
    if _visible(parsed.text) <= limit:
        return html
    return _tail(text, html, parsed, limit)


def settle_markdown(partial_markdown: str) -> str:
    """`partial_markdown` with the markup a stream may have cut off closed or dropped (the module
    docstring says how). Text with nothing unfinished is returned unchanged."""
    lines = partial_markdown.split("\n")
    _, opener = _fence_openers(lines)
    if opener is not None:
        return _close_fence(lines, opener)
    if _FENCE.match(lines[-1]):
        return partial_markdown  # the line closing a code block
    return "\n".join([*lines[:-1], _settle_line(lines[-1])])


def _render(markdown: str) -> tuple[str, ParsedText]:
    html, parsed = md_to_html_parsed(markdown)
    # Surrogates are removed before rendering, and escaped text without them always parses.
    assert parsed is not None
    return html, parsed


def _visible(text: str) -> int:
    # Counted like `split` counts (trailing whitespace is trimmed): leading whitespace counts, to be safe.
    return len(text.rstrip(TRIM_CHARS))


def _fence_openers(lines: list[str]) -> tuple[list[int | None], int | None]:
    """Per line, the index of the fence line of the code block whose body (or closing line) it is,
    else None; and the index of the fence line of a block still open after the last line."""
    states: list[int | None] = []
    opener: int | None = None
    opened: tuple[str, int] = ("`", 3)
    for index, line in enumerate(lines):
        m = _FENCE.match(line) if ("```" in line or "~~~" in line) else None
        states.append(opener)
        if m is None:
            continue
        fence, info = m.group("fence"), m.group("info")
        if opener is None:
            opener, opened = index, (fence[0], len(fence))
        elif not info and fence[0] == opened[0] and len(fence) >= opened[1]:
            opener = None
    return states, opener


def _close_fence(lines: list[str], opener: int) -> str:
    """Close the code block opened by line `opener` that is still open at the end of `lines`."""
    m = _FENCE.match(lines[opener])
    assert m is not None
    fence = m.group("fence")
    if opener == len(lines) - 1:
        # The fence line is still being typed (its language may be cut): no code to show yet.
        return "\n".join(lines[:-1])
    last = lines[-1].strip(" \t")
    if last and set(last) == {fence[0]}:
        lines = lines[:-1]  # the closing fence, half typed
    body = "\n".join(lines)
    return body + ("" if body.endswith("\n") else "\n") + fence[0] * len(fence)


def _settle_line(line: str) -> str:
    """The last line outside code blocks, with its unfinished inline markup closed or dropped."""
    drops: list[tuple[int, int]] = []  # spans of `line` to remove
    closers: list[tuple[int, str]] = []  # (position of the opener, closer to append)
    # Mask code spans so their content is not read as markup ("x" is neutral for the lookarounds).
    masked = line
    spans = list(_BACKTICKS.finditer(line))
    index = 0
    while index < len(spans):
        run = spans[index]
        match = next((s for s in spans[index + 1 :] if len(s.group()) == len(run.group())), None)
        if match is None:
            if line[run.end() :].strip():
                closers.append((run.start(), run.group()))
            else:
                drops.append((run.start(), len(line)))
            masked = masked[: run.start()] + "x" * (len(line) - run.start())
            break
        masked = masked[: run.start()] + "x" * (match.end() - run.start()) + masked[match.end() :]
        index = spans.index(match) + 1
    link = _OPEN_LINK_WITH_URL.search(masked)
    if link is not None:
        drops.append((link.start(1) + len(link.group(1)), len(line)))  # "](url..."
        drops.append((link.start(), link.start() + 1))  # "["
        masked = masked[: link.end(1)] + "x" * (len(line) - link.end(1))
    else:
        link = _OPEN_LINK_TEXT.search(masked)
        if link is not None:
            drops.append((link.start(), link.start() + 1))
    if _BULLET.match(masked):
        masked = masked.replace(masked.lstrip(" \t")[0], "x", 1)
    for marker, pattern in _MARKERS:
        found = [m for m in pattern.finditer(masked) if not _inside(m.start(), drops) and not _inert(masked, m)]
        if len(found) % 2 == 0:
            continue
        opener = found[-1]
        rest = masked[opener.end() :]
        if not rest.strip():
            drops.append((opener.start(), opener.end()))  # a marker just typed
        elif not rest[0].isspace():
            closers.append((opener.start(), marker))
        # else: a marker followed by a space can only close; it stays as it is.
    out = line
    for start, stop in sorted(drops, reverse=True):
        out = out[:start] + out[stop:]
    out = out.rstrip(" \t")
    # Innermost (latest opened) closes first.
    for _, closer in sorted(closers, reverse=True):
        out += closer
    return out


def _inert(line: str, marker: re.Match[str]) -> bool:
    """A marker with a space on both sides ("5 * x") neither opens nor closes; one at the end of the
    line may be the start of emphasis still being typed, so it counts."""
    before = line[marker.start() - 1] if marker.start() else " "
    after = line[marker.end()] if marker.end() < len(line) else "x"
    return before.isspace() and after.isspace()


def _inside(position: int, drops: list[tuple[int, int]]) -> bool:
    return any(start <= position < stop for start, stop in drops)


def _tail(text: str, html: str, parsed: ParsedText, limit: int) -> str:
    """The newest part of `text` that fits `limit` with the "…" mark (see `frame_html`)."""
    lines = text.split("\n")
    states, _ = _fence_openers(lines)
    starts: list[int] = []
    position = 0
    for line in lines:
        starts.append(position)
        position += len(line) + 1
    budget = limit - 2  # "…" and the line break after it
    # Markdown is rarely shorter than what it shows; lines further back than this cannot fit.
    candidates = [i for i in range(1, len(lines)) if len(text) - starts[i] <= 2 * limit and lines[i].strip()]

    def attempt(i: int) -> str | None:
        opener = states[i]
        if opener is not None and _FENCE.match(lines[i]):
            return None  # the closing fence line of a block: nothing of the block would be left
        source = (lines[opener] + "\n" if opener is not None else "") + text[starts[i] :]
        tail_html, tail = _render(source)
        return tail_html if tail.text.strip(TRIM_CHARS) and _visible(tail.text) <= budget else None

    # The earliest line start that fits: binary search over an (almost) monotone predicate; every
    # answer returned was checked, so a non-monotone step only costs a shorter tail.
    best: str | None = None
    low, high = 0, len(candidates) - 1
    while low <= high:
        middle = (low + high) // 2
        found = attempt(candidates[middle])
        if found is None:
            low = middle + 1
        else:
            best, high = found, middle - 1
    if best is not None:
        return f"{ELLIPSIS}\n{best}"
    # One line longer than the limit: the last chunk the splitter would send, cut at a space.
    last = split_parsed_chunks(html, parsed, limit - 1)[-1]
    return ELLIPSIS + last.html
