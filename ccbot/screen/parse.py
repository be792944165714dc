"""Codex 0.169 TUI pane text → :class:`ScreenModel` (pure; no I/O, no trio).

Input is what ``tmux capture-pane -p`` prints for a Codex pane (run ``-e`` output through
:func:`strip_ansi` first, or let :func:`parse_screen` do it). The layout facts used here were measured
on a real 0.169 install (doc: /work/shared/reference/codex-cli.md §4, recorded fixtures under
``tests/data/codex-0.169/``):

* history entries start at column 0: ``U+203A <prompt>``, ``• <answer / tool run>``, ``■ <error or
  interrupt>``, ``✔/✗ <approval decision>``; a finished turn prints ``  Worked for <t> • <hh:mm>``;
* the composer is the last U+203A line, followed only by blank lines, the footer
  ``  <model> <effort> · <cwd>[ · <thread name>]`` and hint lines; its placeholder is
  ``Ask Codex to do anything``;
* while waiting or thinking a status line ``… (<n>s • esc to interrupt)`` sits above the composer; it
  is absent while answer text streams;
* approval prompts, menus and pagers replace the composer and footer;
* some screens come only before the session takes input (:data:`STARTUP_POPUP_KINDS`): folder trust
  (``Trust this folder?``), ``Hooks need review``, ``Working directory · resume`` and ``This conversation
  is open in another app`` (resuming a thread another Codex runs: ``r retry · f fork``); declining folder
  trust opens the ``Agent command center`` (hint ``? help  ↑/↓ move  enter open  n new``), which is
  not a startup screen.

When a turn's prompt scrolls out of view Codex pins a one-row copy of it (newlines flattened to
spaces) on row 0, directly followed by the answer, so a prompt on row 0 is read as one line only.

Wrapped lines cannot be told from real newlines: multi-line values (prompt, composer text) keep the
screen's line breaks, and wrapped option labels / commands are re-joined with a space (no space after
a trailing ``/`` or ``-``, where the TUI breaks long paths).

Contract: :func:`parse_screen` accepts any string and never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

PROMPT_GLYPH = "\u203a"  # the composer / prompt marker
ANSWER_GLYPH = "•"
ERROR_GLYPH = "■"
PLACEHOLDER = "Ask Codex to do anything"
CONFIRM_HINT = "Press enter to confirm or esc to cancel"

_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI (colours, cursor moves)
    r"|\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)?"  # OSC (hyperlinks, titles); never past a line end
    r"|\x1b[PX^_][^\x1b\n]*(?:\x1b\\)?"  # DCS / SOS / PM / APC strings
    r"|\x1b[()*+][0-9A-Za-z]"  # charset designation
    r"|\x1b[@-Z\\-_]?"  # other two-byte escapes, or a lone ESC
)
_FOOTER = re.compile(r"^  (?P<model>\S+) (?P<effort>[a-z]+) · (?P<rest>[~/].*)$")
_WORKED_FOR = re.compile(r"^\s{0,4}(?:─+\s*)?Worked for <?\d")
_BUSY = re.compile(r"\(\d[^()]*esc to interrupt\)")
_APPROVAL_TITLE = re.compile(r"^\s*(Would you like to .*\?)\s*$")
_OPTION = re.compile(r"^(?P<sel>\u203a| ) (?P<num>\d{1,2})\. (?P<label>.*)$")
_OPTION_KEY = re.compile(r"^(?P<label>.*?)\s*\((?P<key>[a-z0-9]{1,6})\)$")
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_RESUME = re.compile(rf"^\s*codex resume ({_UUID})\s*$")
_SESSION_ID = re.compile(rf"^\s*Session ID: ({_UUID})\s*$")
_SELECT_THREAD = re.compile(r"^Or run codex resume and select (.+)\.$")
_WRAPPER_EXIT = re.compile(r"\[codex exited rc=(-?\d+)\]")
_SLASH_POPUP = re.compile(r"^[\u203a ] /\S+(?: {2,}.*)?$")
_QUEUED_HEADER = "• Queued follow-up inputs"
_HINTS = ("for shortcuts", "for agents", "tab to queue message", "f2 to view", "esc to interrupt")
_QUEUED_ITEM = re.compile(r"^\s+↳ (.*)$")
# Plan mode's request_user_input overlay (0.169/0.171): "Question 1/2 (2 unanswered)", the question, the options
# indented by two (label, two spaces, description), a hint ending in "enter to submit answer | esc to interrupt".
_QUESTION_HEADER = re.compile(r"^\s*Question \d+/\d+\b")
QUESTION_HINT = "enter to submit answer"


class ChoiceOption(NamedTuple):
    """One selectable option: its visible label and the key that picks it (``y``, ``esc``, ``1``…)."""

    label: str
    key: str


@dataclass(frozen=True)
class ApprovalPrompt:
    """``Would you like to …?`` approval overlay. ``selected`` is the 0-based highlighted option."""

    title: str
    command: str | None
    reason: str | None
    options: tuple[ChoiceOption, ...]
    selected: int | None
    environment: str | None = None


@dataclass(frozen=True)
class Popup:
    """A menu, pager or overlay that takes the keyboard. ``kind`` is one of :data:`POPUP_KINDS`."""

    kind: str
    title: str
    options: tuple[ChoiceOption, ...] = ()
    selected: int | None = None
    hint: str = ""

    @property
    def startup(self) -> bool:
        """True for a screen of :data:`STARTUP_POPUP_KINDS` (shown before the session takes input)."""
        return self.kind in STARTUP_POPUP_KINDS


POPUP_KINDS = (
    "review_menu",
    "diff_pager",
    "pager",
    "trust",
    "warnings",
    "resume_picker",
    "model_migration",
    "hooks_review",
    "resume_cwd",
    "open_elsewhere",
    "agent_center",
    "question",
    "other_choice",
)

OPEN_ELSEWHERE = "This conversation is open in another app"
OPEN_ELSEWHERE_OPTIONS = (
    ChoiceOption("Retry (close it in the other app first)", "r"),
    ChoiceOption("Fork: go on in a copy of it here", "f"),
)

STARTUP_POPUP_KINDS = frozenset({"trust", "hooks_review", "resume_cwd", "open_elsewhere"})
"""Popup kinds Codex shows only while a session starts, before its composer ever took input: answering
one leads to the ready composer (or to another of them), never back into a turn."""


@dataclass(frozen=True)
class ExitInfo:
    """Codex has quit: the thread to resume (if printed), the thread name, the wrapper's exit code."""

    resume_id: str | None
    thread_name: str | None = None
    return_code: int | None = None


@dataclass(frozen=True)
class Footer:
    """The ready footer ``  <model> <effort> · <cwd>[ · <thread name>]``."""

    model: str
    effort: str
    cwd: str
    thread_name: str | None


@dataclass(frozen=True)
class ScreenModel:
    """Everything the bot needs to know from one pane capture.

    ``composer_text`` is typed-but-unsent text (None when empty/placeholder or no composer);
    ``last_prompt`` is the last submitted prompt still visible; ``turn_ended_after_last_prompt`` and
    ``answer_after_last_prompt`` look below it (or, when no prompt is visible, at the whole screen).
    ``popup`` is the popup kind and ``popup_detail`` its title and options.
    """

    composer_visible: bool = False
    composer_text: str | None = None
    footer: Footer | None = None
    busy_marker: bool = False
    status_text: str | None = None
    last_prompt: str | None = None
    turn_ended_after_last_prompt: bool = False
    answer_after_last_prompt: bool = False
    approval: ApprovalPrompt | None = None
    popup_detail: Popup | None = None
    exited: ExitInfo | None = None
    queued_inputs: tuple[str, ...] = ()
    steer_hint: bool = False

    @property
    def footer_ready(self) -> bool:
        """Whether Codex's footer is visible (it has started)."""
        return self.footer is not None

    @property
    def popup(self) -> str | None:
        """The kind of the popup on screen, or None."""
        return self.popup_detail.kind if self.popup_detail is not None else None


def strip_ansi(text: str) -> str:
    """``text`` without terminal escape sequences (for ``capture-pane -e`` output)."""
    return _ANSI.sub("", text)


def _join_wrapped(parts: list[str]) -> str:
    out = ""
    for part in parts:
        piece = part.strip()
        if not out:
            out = piece
        elif out.endswith(("/", "-")):
            out += piece
        else:
            out += " " + piece
    return out


def _is_blank(line: str) -> bool:
    return not line.strip()


def _parse_footer(line: str) -> Footer | None:
    match = _FOOTER.match(line)
    if not match:
        return None
    cwd, _, name = match.group("rest").partition(" · ")
    return Footer(match.group("model"), match.group("effort"), cwd.strip(), name.strip() or None)


def _parse_exit(lines: list[str]) -> tuple[ExitInfo | None, int]:
    """Exit info and the index of its first line (-1 when Codex has not exited)."""
    start = -1
    resume_id: str | None = None
    name: str | None = None
    code: int | None = None
    for index, line in enumerate(lines):
        if line.startswith("To continue this session, run:"):
            start, resume_id, name = index, None, None
        elif (match := _RESUME.match(line)) and start >= 0:
            resume_id = match.group(1)
        elif match := _SESSION_ID.match(line):
            start, resume_id = index, match.group(1)
        elif (match := _SELECT_THREAD.match(line)) and start >= 0:
            name = match.group(1)
        elif match := _WRAPPER_EXIT.search(line):
            code = int(match.group(1))
            start = index if start < 0 else start
    if start < 0:
        return None, -1
    # Text quoted in a live session could contain these strings; a live TUI below them wins.
    for line in lines[start:]:
        if _parse_footer(line) is not None or line.startswith(PROMPT_GLYPH):
            return None, -1
    return ExitInfo(resume_id, name, code), start


def _parse_options(
    lines: list[str], start: int, end: int
) -> tuple[tuple[ChoiceOption, ...], int | None, int]:
    """Numbered options in ``lines[start:end]``: (options, selected index, index of the first option)."""
    labels: list[list[str]] = []
    selected: int | None = None
    first = -1
    for index in range(start, end):
        line = lines[index]
        match = _OPTION.match(line)
        if match:
            if first < 0:
                first = index
            if match.group("sel") == PROMPT_GLYPH:
                selected = len(labels)
            labels.append([match.group("label")])
        elif labels and line.startswith("   ") and line.strip():
            labels[-1].append(line)
        elif labels and _is_blank(line):
            break
    options = []
    for number, parts in enumerate(labels, start=1):
        label = _join_wrapped(parts)
        keyed = _OPTION_KEY.match(label)
        if keyed:
            options.append(ChoiceOption(keyed.group("label"), keyed.group("key")))
        else:
            options.append(ChoiceOption(label, str(number)))
    return tuple(options), selected, first


def _field(lines: list[str], start: int, end: int, prefix: str) -> str | None:
    for index in range(start, end):
        if lines[index].startswith(prefix):
            parts = [lines[index][len(prefix) :]]
            for follow in lines[index + 1 : end]:
                if _is_blank(follow) or not follow.startswith("  ") or _OPTION.match(follow):
                    break
                parts.append(follow)
            return _join_wrapped(parts)
    return None


def _parse_approval(lines: list[str]) -> tuple[ApprovalPrompt | None, int]:
    confirm = next((i for i in range(len(lines) - 1, -1, -1) if CONFIRM_HINT in lines[i]), -1)
    if confirm < 0:
        return None, -1
    title_index = next((i for i in range(confirm, -1, -1) if _APPROVAL_TITLE.match(lines[i])), -1)
    # Without a title, look only just above the hint so old history can't pose as options.
    search_from = title_index if title_index >= 0 else max(confirm - 12, 0)
    options, selected, first = _parse_options(lines, search_from, confirm)
    if not options:
        return None, -1
    if title_index >= 0:
        match = _APPROVAL_TITLE.match(lines[title_index])
        title = match.group(1).strip() if match else "Approval requested"
    else:
        title = "Approval requested"
    body_start = title_index if title_index >= 0 else max(first - 1, 0)
    prompt = ApprovalPrompt(
        title=title,
        command=_field(lines, body_start, first, "  $ "),
        reason=_field(lines, body_start, first, "  Reason: "),
        options=options,
        selected=selected,
        environment=_field(lines, body_start, first, "  Environment: "),
    )
    return prompt, body_start


def _last_nonblank(lines: list[str]) -> int:
    return next((i for i in range(len(lines) - 1, -1, -1) if not _is_blank(lines[i])), -1)


def _find_line(lines: list[str], needle: str, start: int = 0) -> int:
    return next((i for i in range(start, len(lines)) if needle in lines[i]), -1)


def _find_title(lines: list[str], title: str, start: int = 0) -> int:
    """Index of the line that is exactly ``title`` once stripped (a screen heading), or -1."""
    return next((i for i in range(start, len(lines)) if lines[i].strip() == title), -1)


def _parse_popup(lines: list[str]) -> tuple[Popup | None, int]:
    """A keyboard-grabbing popup at the bottom of the screen, and where it starts."""
    bottom = _last_nonblank(lines)
    if bottom < 0:
        return None, -1
    tail = [line.strip() for line in lines[max(bottom - 2, 0) : bottom + 1]]
    hint = lines[bottom].strip()
    if "q close" in tail and any("to scroll" in t for t in tail):
        header = _find_line(lines, "/ D I F F /")
        kind = "diff_pager" if header >= 0 else "pager"
        return Popup(kind, "/diff" if header >= 0 else lines[0].strip(), hint="q close"), 0
    if hint.startswith("k keep & next") or "esc dismiss & close" in hint:
        title_index = next((i for i, t in enumerate(lines) if t.strip().startswith("Warnings · ")), -1)
        title = lines[title_index].strip() if title_index >= 0 else "Warnings"
        return Popup("warnings", title, hint=hint), max(title_index, 0)
    search_from = max(0, bottom - 40)
    if "r retry" in hint and "f fork" in hint:
        locked = next((i for i in range(search_from, bottom) if OPEN_ELSEWHERE in lines[i]), -1)
        if locked >= 0:
            return Popup("open_elsewhere", OPEN_ELSEWHERE, OPEN_ELSEWHERE_OPTIONS, None, hint), locked
    if "enter open" in hint and "n new" in hint:
        center = next((i for i in range(search_from, bottom)
                       if lines[i].strip().startswith("Agent command center")), -1)
        if center >= 0:
            return Popup("agent_center", "Agent command center", hint=hint), center
    if QUESTION_HINT in hint:
        question = _parse_question(lines, search_from, bottom, hint)
        if question is not None:
            return question
    if "esc" not in hint and "^c" not in hint:
        return None, -1
    resume_picker = _find_line(lines, "Resume a previous session", search_from)
    if resume_picker >= 0 and "enter resume" in hint:
        return Popup("resume_picker", "Resume a previous session", hint=hint), resume_picker
    # Menus: a block of numbered options right above the hint line (so no composer/footer below it).
    block_end = bottom
    while block_end > 0 and _is_blank(lines[block_end - 1]):
        block_end -= 1
    block_start = block_end
    while block_start > 0 and not _is_blank(lines[block_start - 1]):
        block_start -= 1
    if block_start >= block_end or not _OPTION.match(lines[block_start]):
        return None, -1
    options, selected, _ = _parse_options(lines, block_start, block_end)
    title_index = next((i for i in range(block_start - 1, -1, -1) if not _is_blank(lines[i])), -1)
    title = lines[title_index].strip() if title_index >= 0 else ""
    region_start = title_index if title_index >= 0 else block_start
    if _find_line(lines, "Select a review preset", search_from) >= 0:
        kind, title = "review_menu", "Select a review preset"
    elif (trust := _find_line(lines, "Trust this folder?", search_from)) >= 0:
        kind, title = "trust", "Trust this folder?"
        region_start = max(min(region_start, trust - 3), 0)
    elif (hooks := _find_title(lines, "Hooks need review", search_from)) >= 0:
        kind, title = "hooks_review", "Hooks need review"
        region_start = min(region_start, hooks)
    elif (resume := _find_title(lines, "Working directory · resume", search_from)) >= 0:
        kind, title = "resume_cwd", "Working directory · resume"
        region_start = min(region_start, resume)
    elif "enter/esc confirm" in hint:
        kind = "model_migration"
    else:
        kind = "other_choice"
    return Popup(kind, title, options, selected, hint), region_start


def _parse_question(lines: list[str], start: int, bottom: int, hint: str) -> tuple[Popup, int] | None:
    """Plan mode's question overlay (see ``_QUESTION_HEADER``): titled by its question, one option per choice
    (the label without its description; picked with the arrows and Enter), starting at its header line."""
    header = next((i for i in range(bottom, start - 1, -1) if _QUESTION_HEADER.match(lines[i])), -1)
    if header < 0:
        return None
    body = [line[2:] if line.startswith("  ") else line for line in lines[header:bottom]]
    question_end = next((i for i in range(1, len(body)) if _is_blank(body[i])), len(body))
    title = _join_wrapped(body[1:question_end]).strip() or body[0].strip()
    options, selected, _ = _parse_options(body, question_end, len(body))
    # a description's "(tab)" is not the option's key: every option is picked by its number (arrows, Enter)
    labels = tuple(ChoiceOption(re.split(r"\s{2,}", o.label, maxsplit=1)[0], str(n))
                   for n, o in enumerate(options, start=1))
    return Popup("question", title, labels, selected, hint), header


def _find_composer(lines: list[str], limit: int) -> tuple[int, int, Footer | None]:
    """(composer line, index after its text, footer) — composer -1 when there is none."""
    footer_index = -1
    footer: Footer | None = None
    for index in range(limit - 1, -1, -1):
        parsed = _parse_footer(lines[index])
        if parsed is not None:
            footer_index, footer = index, parsed
            break
    end = footer_index if footer_index >= 0 else limit
    candidate = next((i for i in range(end - 1, -1, -1) if lines[i].startswith(PROMPT_GLYPH)), -1)
    if candidate < 0:
        return -1, -1, footer
    text_end = candidate + 1
    while text_end < end and lines[text_end].startswith("  ") and lines[text_end].strip():
        if footer_index < 0 and _is_hint(lines[text_end]):
            break
        text_end += 1
    below = [line for line in lines[text_end:end] if not _is_blank(line)]
    placeholder = lines[candidate][len(PROMPT_GLYPH) :].strip() == PLACEHOLDER
    # Before the footer appears (startup) only hint lines may follow the composer.
    if below and not (footer_index < 0 and all(_is_hint(line) for line in below)) and not placeholder:
        return -1, -1, footer
    return candidate, text_end, footer


def _is_hint(line: str) -> bool:
    return any(hint in line for hint in _HINTS)


def _prompt_text(lines: list[str], index: int, end: int) -> str:
    parts = [lines[index][len(PROMPT_GLYPH) :].strip()]
    if index == 0:
        # Row 0 holds the pinned copy of a prompt that scrolled away: one row, newlines flattened,
        # and the next row is already the answer.
        return parts[0]
    for follow in lines[index + 1 : end]:
        if _is_blank(follow) or not follow.startswith("  "):
            break
        parts.append(follow[2:])
    return "\n".join(parts)


def _is_answer(line: str) -> bool:
    return line.startswith(ANSWER_GLYPH) and not line.startswith(_QUEUED_HEADER) and not _BUSY.search(line)


def _is_turn_end(line: str) -> bool:
    return line.startswith(ERROR_GLYPH) or bool(_WORKED_FOR.match(line))


def _queued(lines: list[str], end: int) -> tuple[tuple[str, ...], int]:
    """Queued follow-up inputs shown above the composer, and where that block starts (or ``end``)."""
    header = next((i for i in range(end - 1, -1, -1) if lines[i].startswith(_QUEUED_HEADER)), -1)
    if header < 0:
        return (), end
    items: list[str] = []
    for line in lines[header + 1 : end]:
        match = _QUEUED_ITEM.match(line)
        if match:
            items.append(match.group(1).strip())
    return tuple(items), header


def parse_screen(text: str) -> ScreenModel:
    """Parse one pane capture (ANSI escapes are stripped first). Never raises."""
    lines = [line.rstrip() for line in strip_ansi(text).replace("\r", "").split("\n")]

    exited, _ = _parse_exit(lines)
    if exited is not None:
        return ScreenModel(exited=exited)

    approval, approval_start = _parse_approval(lines)
    popup: Popup | None = None
    popup_start = -1
    if approval is None:
        popup, popup_start = _parse_popup(lines)

    history_end = len(lines)
    composer = text_end = -1
    footer: Footer | None = None
    if approval is not None:
        history_end = approval_start
    elif popup is not None:
        history_end = popup_start
    else:
        composer, text_end, footer = _find_composer(lines, len(lines))
        if composer >= 0:
            history_end = composer

    composer_text: str | None = None
    if composer >= 0:
        composer_text = _prompt_text(lines, composer, text_end)
        if composer_text.strip() in ("", PLACEHOLDER):
            composer_text = None
        elif composer_text.startswith("/"):
            # The slash-command completion list sits right above the composer and looks like prompts.
            while history_end > 0 and _is_blank(lines[history_end - 1]):
                history_end -= 1
            while history_end > 0 and _SLASH_POPUP.match(lines[history_end - 1]):
                history_end -= 1

    queued, queued_start = _queued(lines, history_end)
    history = lines[: min(history_end, queued_start)]

    prompt_index = next(
        (i for i in range(len(history) - 1, -1, -1) if history[i].startswith(PROMPT_GLYPH)), -1
    )
    last_prompt = _prompt_text(history, prompt_index, len(history)) if prompt_index >= 0 else None
    after = history[prompt_index + 1 :]
    ends = [i for i, line in enumerate(after) if _is_turn_end(line)]
    if prompt_index == 0:
        # A pinned prompt is followed directly by the rest of its answer, bullet scrolled away.
        answers = [i for i, line in enumerate(after) if line.strip() and not _is_turn_end(line)][:1]
    else:
        answers = [i for i, line in enumerate(after) if _is_answer(line)]
    if prompt_index >= 0:
        turn_ended = bool(ends)
        answered = bool(answers)
    else:
        # No prompt visible (fresh screen, or scrolled away by a long answer): judge from what's left.
        turn_ended = bool(ends) and not any(a > ends[-1] for a in answers)
        answered = bool(answers) and (not ends or answers[-1] > ends[-1])

    status = next((line.strip() for line in reversed(after) if _BUSY.search(line)), None)
    bottom = lines[text_end:] if composer >= 0 else []
    return ScreenModel(
        composer_visible=composer >= 0,
        composer_text=composer_text,
        footer=footer,
        busy_marker=status is not None,
        status_text=status,
        last_prompt=last_prompt,
        turn_ended_after_last_prompt=turn_ended,
        answer_after_last_prompt=answered,
        approval=approval,
        popup_detail=popup,
        exited=exited,
        queued_inputs=queued,
        steer_hint=any("tab to queue message" in line for line in bottom),
    )
