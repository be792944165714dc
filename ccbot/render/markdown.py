"""Markdown (as Codex writes it) → Telegram HTML, guarded against chatgpt-md-converter defects.

`chatgpt_md_converter.telegram_format` (0.3.12) does most of the work. Its known defects are
neutralised around it:

* Literal `<blockquote>`, `</span>`, ... in the text were turned back into real tags by its
  post-processing. Every `<` of the input is replaced by a private sentinel before conversion
  and becomes `&lt;` afterwards, so no input text can ever become a tag.
* Link URLs were copied into `href="..."` unescaped and cut at the first `)`. URLs are
  percent-encoded beforehand (quotes, angle brackets, parentheses, and the emphasis markers
  `_ * ~ |` that its regexes would otherwise turn into tags inside the attribute).
* Literal `INLINECODEPLACEHOLDER_0_` / `CODEBLOCKPLACEHOLDER_0_` collided with its own
  placeholders; such words are broken with an invisible sentinel that is removed afterwards.
* ```` ```c++ ```` leaked `++` into the code and `~~~` fences were not code: fence lines are
  normalised to ```` ``` ```` with a word-only language.

The result is checked with `parse_html`; if Telegram would reject it, the escaped plain
Markdown is returned instead, so the output is always valid Telegram HTML. Text in which the
converter can find no markup at all skips it (`_plain_html`): its output is then known exactly.
"""

from __future__ import annotations

import html as html_lib
import re

from chatgpt_md_converter import telegram_format

from ccbot.render.tg_html import HtmlParseError, ParsedText, parse_html

__all__ = ["escape", "html_to_plain", "md_to_html", "md_to_html_parsed"]

_FENCE_LINE = re.compile(r"^(?P<indent>[ \t]{0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*?)[ \t]*$")
_LANGUAGE_ALIASES = {"c++": "cpp", "objective-c": "objectivec", "c#": "csharp", "f#": "fsharp", "shell": "sh"}
_LINK_URL = re.compile(r"\]\((?P<url>(?:[^()\s]|\([^()\s]*\))+)\)")
_URL_ESCAPES = {c: f"%{ord(c):02X}" for c in "\"'<>()_*~|`"}
_PLACEHOLDER_WORD = re.compile(r"(?<=PLACE)(?=HOLDER)")
_INLINE_CODE = re.compile(r"`[^`]+`")
_WORD_CHARS = re.compile(r"\W")
_TAG_LIKE = re.compile(r"<[^>]*>")
# Anything telegram_format (0.3.x) or the guards above could turn into markup: code, emphasis, strike,
# spoiler and link characters, "](" (link URLs are re-quoted), an "_" that may open emphasis (one not
# inside a word), and a line starting with a heading, bullet or quote sign. Text without any of these
# comes out of the converter escaped, with runs of 3+ newlines made 2, and stripped.
_MAY_BE_MARKUP = re.compile(r"[`*~|\[\u3010]|\]\(|(?<![A-Za-z0-9])_|^[^\S\n]*[-#>]", re.MULTILINE)
_BLANK_LINES = re.compile(r"\n{3,}")
_SURROGATE = re.compile("[\ud800-\udfff]")


def escape(text: str) -> str:
    """Escape text for Telegram HTML (`&`, `<`, `>`; quotes are left alone)."""
    return html_lib.escape(text, quote=False)


def md_to_html(md: str) -> str:
    """Convert Markdown to Telegram HTML that `parse_html` accepts. Never raises.

    Returns "" for blank input. When the converter's output would be rejected by Telegram,
    returns `escape(md.strip())` (the Markdown shown as plain text).
    """
    return md_to_html_parsed(md)[0]


def md_to_html_parsed(md: str) -> tuple[str, ParsedText | None]:
    """`(md_to_html(md), parse_html(md_to_html(md)))`: the HTML and what Telegram reads in it, so
    callers that split or need the plain text do not parse the HTML again. Never raises: the second
    item is None when even the fallback does not parse (text with lone surrogates)."""
    if not md.strip():
        return "", ParsedText("", ())
    plain = _plain_html(md)
    if plain is not None:
        return plain
    html = _convert(md)
    try:
        return html, parse_html(html)
    except HtmlParseError:
        fallback = escape(md.strip())
    try:
        return fallback, parse_html(fallback)
    except HtmlParseError:
        return fallback, None


def _plain_html(md: str) -> tuple[str, ParsedText] | None:
    """What `_convert` makes of `md` when it can hold no markup (see `_MAY_BE_MARKUP`), else None."""
    if _MAY_BE_MARKUP.search(md) or (not md.isascii() and _SURROGATE.search(md)):
        return None
    text = _BLANK_LINES.sub("\n\n", md).strip()
    return escape(text), ParsedText(text, ())


def _convert(md: str) -> str:
    """telegram_format with the guards of the module docstring; not yet validated."""
    lt, zw = _sentinels(md)
    prepared = _normalise_fences(md)
    prepared = _quote_link_urls(prepared)
    if "PLACEHOLDER" in prepared:  # the lookbehind regex tries every position; most texts have none
        prepared = _PLACEHOLDER_WORD.sub(zw, prepared)
    prepared = prepared.replace("<", lt)
    try:
        out = str(telegram_format(prepared))
    except Exception:  # a third-party regex pipeline; never let it take a message down
        return escape(md.strip())
    return out.replace(lt, "&lt;").replace(zw, "")


def html_to_plain(html: str) -> str:
    """The text Telegram would show for `html`, without formatting. Never raises.

    Uses `parse_html`; for invalid HTML, strips anything tag-like and unescapes entities.
    """
    try:
        return parse_html(html).text
    except HtmlParseError:
        return html_lib.unescape(_TAG_LIKE.sub("", html))


def _sentinels(text: str) -> tuple[str, str]:
    """Two private-use characters that do not occur in `text`."""
    found: list[str] = []
    code = 0xE000
    while len(found) < 2:
        ch = chr(code)
        if ch not in text:
            found.append(ch)
        code += 1
    return found[0], found[1]


def _normalise_fences(md: str) -> str:
    """Rewrite fence lines to ```` ```lang ```` with a language the converter can read."""
    if "```" not in md and "~~~" not in md:
        return md
    lines = md.split("\n")
    open_fence: str | None = None
    for index, line in enumerate(lines):
        m = _FENCE_LINE.match(line) if "```" in line or "~~~" in line else None
        if m is None:
            continue
        fence, info = m.group("fence"), m.group("info")
        if open_fence is None:
            language = _LANGUAGE_ALIASES.get(info.lower(), info)
            language = _WORD_CHARS.sub("", language.split()[0]) if language.split() else ""
            open_fence = fence
            lines[index] = m.group("indent") + "`" * max(3, len(fence)) + language
        elif not info and fence[0] == open_fence[0] and len(fence) >= len(open_fence):
            lines[index] = m.group("indent") + "`" * max(3, len(open_fence))
            open_fence = None
    return "\n".join(lines)


def _quote_link_urls(md: str) -> str:
    """Percent-encode link URLs outside code so they survive as a quoted href attribute."""
    if "](" not in md:
        return md
    out: list[str] = []
    in_fence = False
    for line in md.split("\n"):
        if ("```" in line or "~~~" in line) and _FENCE_LINE.match(line):
            in_fence = not in_fence
            out.append(line)
            continue
        if in_fence or "](" not in line:
            out.append(line)
            continue
        pieces: list[str] = []
        last = 0
        for code in _INLINE_CODE.finditer(line):
            pieces.append(_LINK_URL.sub(_quoted_link, line[last : code.start()]))
            pieces.append(code.group(0))
            last = code.end()
        pieces.append(_LINK_URL.sub(_quoted_link, line[last:]))
        out.append("".join(pieces))
    return "\n".join(out)


def _quoted_link(m: re.Match[str]) -> str:
    url = "".join(_URL_ESCAPES.get(c, c) for c in m.group("url"))
    return f"]({url})"
