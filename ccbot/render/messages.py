"""Rollout records → the Telegram messages the bot posts.

`render(record)` returns zero or more `Rendered` messages, each valid Telegram HTML within the
length limit. Nothing is cut: text longer than one message is split with `split_html_chunks`.

Kinds:

* "assistant": an assistant message (Markdown → HTML).
* "thinking": a reasoning summary in an expandable blockquote.
* "tool": one finished tool call, summarised (`Ran <code>pytest</code> · exit 0 · 42 lines`).
* "user": a command the user ran locally (`\u276f ls`), or an echoed prompt when asked for.
* "status": compaction and review markers.
* "turn_done": `✓ Done in 8.2 s · 1.2k tokens`.
* "error": a turn that ended with an error.
* "interrupted": a turn that was aborted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ccbot.codex.records import (
    AssistantMessage,
    CommandRun,
    Compacted,
    PatchApplied,
    Reasoning,
    Record,
    ReviewFinished,
    ReviewStarted,
    ToolOutput,
    TurnAborted,
    TurnComplete,
    UserMessage,
)
from ccbot.render.markdown import escape, html_to_plain, md_to_html_parsed
from ccbot.render.split import split_html_chunks, split_parsed_chunks
from ccbot.render.tg_html import HtmlParseError, ParsedText

__all__ = [
    "KINDS",
    "PROMPT_MARK",
    "RenderOptions",
    "Rendered",
    "format_duration",
    "format_tokens",
    "render",
    "render_conversation",
]

KINDS = frozenset({"assistant", "thinking", "tool", "user", "status", "turn_done", "error", "interrupted"})

# Commands longer than this, or spanning lines, are shown in a code block under the summary.
_INLINE_COMMAND_MAX = 160
_MINUS = "\u2212"
PROMPT_MARK = "\u276f"  # the prompt sign Codex and many shells show


@dataclass(frozen=True)
class Rendered:
    """One outgoing message: `html` for parse_mode=HTML, `plain` for the no-markup fallback.

    `turn_id` is the turn the message belongs to (None outside turns).
    """

    kind: str
    html: str
    plain: str
    turn_id: str | None = None


@dataclass(frozen=True)
class RenderOptions:
    """echo_user: also render prompts the user typed (off for live relay, on for history).

    show_thinking: render reasoning summaries. limit: the per-message length limit.
    """

    echo_user: bool = False
    show_thinking: bool = True
    limit: int = 4096


def format_duration(ms: int) -> str:
    """`8.2 s`, `2 min 5 s`, `1 h 3 min` for a duration in milliseconds."""
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    seconds = round(ms / 1000)
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def format_tokens(n: int) -> str:
    """`950 tokens`, `8.7k tokens`, `187k tokens`, `1.2M tokens`."""
    if n < 1000:
        return f"{n} token" + ("" if n == 1 else "s")
    if n < 100_000:
        return f"{n / 1000:.1f}k tokens"
    if n < 1_000_000:
        return f"{round(n / 1000)}k tokens"
    return f"{n / 1_000_000:.1f}M tokens"


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _lines_stat(output: str) -> str:
    n = len(output.splitlines())
    return "no output" if n == 0 else _count(n, "line")


def _command_block(command: str) -> tuple[str, str]:
    """(inline part, block part) for showing a command next to its summary."""
    if "\n" in command or len(command) > _INLINE_COMMAND_MAX:
        return "", f'\n<pre><code class="language-bash">{escape(command)}</code></pre>'
    return f" <code>{escape(command)}</code>", ""


_VERBS = {"read": "Read", "list_files": "Listed", "search": "Searched"}
_STOPPED = frozenset({"declined", "aborted", "cancelled", "canceled"})


def _command_html(rec: CommandRun) -> str:
    verb = _VERBS.get(rec.action or "") if rec.target else None
    if verb is not None and rec.target:
        head, block = f"{verb} <code>{escape(rec.target)}</code>", ""
    else:
        inline, block = _command_block(rec.command)
        head = "Ran" + inline
    stats: list[str] = []
    if rec.status in _STOPPED:
        return " · ".join([head, rec.status]) + block  # its "output" is Codex's note, not the command's
    if rec.exit_code is not None and not (rec.exit_code == 0 and verb is not None):
        stats.append(f"exit {rec.exit_code}")
    elif rec.exit_code is None and rec.status == "failed":
        stats.append("failed")
    stats.append(_lines_stat(rec.output))
    if rec.duration_s is not None and rec.duration_s >= 10:
        stats.append(format_duration(round(rec.duration_s * 1000)))
    return " · ".join([head, *stats]) + block


def _patch_html(rec: PatchApplied) -> str:
    counts = f"+{rec.added} {_MINUS}{rec.removed}"
    if not rec.success:
        target = f" <code>{escape(rec.files[0])}</code>" if len(rec.files) == 1 else ""
        detail = f"\n<pre>{escape(rec.detail)}</pre>" if rec.detail.strip() else ""
        return f"✗ Edit failed{target}{detail}"
    if len(rec.files) == 1:
        return f"Edited <code>{escape(rec.files[0])}</code> {counts}"
    listing = "".join(f"\n<code>{escape(f)}</code>" for f in rec.files)
    return f"Edited {_count(len(rec.files), 'file')} {counts}{listing}"


def _tool_output_html(rec: ToolOutput) -> str:
    head = f"Used <code>{escape(rec.name)}</code>" if rec.name else "Tool result"
    stats = [head]
    if rec.exit_code is not None:
        stats.append(f"exit {rec.exit_code}")
    stats.append(_lines_stat(rec.output))
    return " · ".join(stats)


_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")


def _thinking_html(text: str) -> str:
    """Reasoning inside an expandable blockquote; only `**bold**` is kept as markup."""
    body = _BOLD.sub(lambda m: f"<b>{m.group(1)}</b>", escape(text.strip()))
    return f"<blockquote expandable>{body}</blockquote>"


def _is_local_command(rec: CommandRun) -> bool:
    return rec.source is not None and "user" in rec.source.lower()


def _html_for(record: Record, options: RenderOptions) -> tuple[str, str] | None:
    """(kind, html) for one record other than an assistant message, or None when it is not shown."""
    if isinstance(record, Reasoning):
        if not options.show_thinking or not record.text.strip():
            return None
        return "thinking", _thinking_html(record.text)
    if isinstance(record, UserMessage):
        if not options.echo_user or record.agent is not None or not record.text.strip():
            return None
        return "user", f"{PROMPT_MARK} {escape(record.text.strip())}"
    if isinstance(record, CommandRun):
        if _is_local_command(record):
            inline, block = _command_block(record.command)
            stats = [f"{PROMPT_MARK}{inline}"]
            if record.exit_code is not None:
                stats.append(f"exit {record.exit_code}")
            stats.append(_lines_stat(record.output))
            return "user", " · ".join(stats) + block
        return "tool", _command_html(record)
    if isinstance(record, PatchApplied):
        return "tool", _patch_html(record)
    if isinstance(record, ToolOutput):
        return "tool", _tool_output_html(record)
    if isinstance(record, TurnComplete):
        took = f" after {format_duration(record.duration_ms)}" if record.duration_ms is not None else ""
        if record.error:
            return "error", f"✗ Failed{took}: {escape(record.error)}"
        parts = [
            "✓ Done"
            + (f" in {format_duration(record.duration_ms)}" if record.duration_ms is not None else "")
        ]
        if record.tokens:
            parts.append(format_tokens(record.tokens))
        return "turn_done", " · ".join(parts)
    if isinstance(record, TurnAborted):
        took = f" after {format_duration(record.duration_ms)}" if record.duration_ms is not None else ""
        if record.reason is None or record.reason == "interrupted":
            return "interrupted", f"■ Interrupted{took}"
        return "interrupted", f"■ Turn aborted ({escape(record.reason)}){took}"
    if isinstance(record, Compacted):
        return "status", "Context compacted"
    if isinstance(record, ReviewStarted):
        return "status", "Review started" + (f": {escape(record.hint)}" if record.hint else "")
    if isinstance(record, ReviewFinished):
        parts = ["Review finished"]
        if record.verdict:
            parts.append(escape(record.verdict))
        parts.append(_count(record.findings, "finding"))
        return "status", " · ".join(parts)
    return None


def render(record: Record, options: RenderOptions | None = None) -> list[Rendered]:
    """The messages one record produces: [] for records that are not shown.

    Every returned message is valid Telegram HTML of at most `options.limit` visible
    characters; longer content comes back as several messages of the same kind. Raises
    ValueError only for a limit below `ccbot.render.split.MIN_LIMIT`.
    """
    opts = options if options is not None else RenderOptions()
    parsed: ParsedText | None = None
    if isinstance(record, AssistantMessage):
        kind = "assistant"
        html, parsed = md_to_html_parsed(record.text)  # the conversion parsed it already
        if not html:
            return []
    else:
        produced = _html_for(record, opts)
        if produced is None:
            return []
        kind, html = produced
    try:
        if parsed is not None:
            chunks = split_parsed_chunks(html, parsed, opts.limit)
        else:
            chunks = split_html_chunks(html, opts.limit)
    except HtmlParseError:  # not expected: every builder above escapes; never lose the text over it
        chunks = split_html_chunks(escape(html_to_plain(html)), opts.limit)
    return [Rendered(kind, chunk.html, chunk.text, record.turn_id) for chunk in chunks]


def render_conversation(records: Iterable[Record], options: RenderOptions | None = None) -> list[Rendered]:
    """Render a decoded conversation in order (for /history and replay).

    Without `options`, prompts are echoed (`RenderOptions(echo_user=True)`).
    """
    opts = options if options is not None else RenderOptions(echo_user=True)
    out: list[Rendered] = []
    for record in records:
        out.extend(render(record, opts))
    return out
