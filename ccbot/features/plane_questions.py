"""The message for Codex's ``request_user_input`` questions (``UserInputRequest``, app-server plane; pure).

Codex sends ``item/tool/requestUserInput`` only in Plan mode (``/plan`` or Shift+Tab at the TUI; in Default
mode the tool fails to the model, measured 0.169/0.171). A single question gets one button per option (the
option's label is the answer, as the TUI sends it); several questions, or a question without options, are
shown and left to the terminal. The TUI's free-form "None of the above" choice (``isOther``) and its notes
stay at the terminal too. Posting, pressing and the message's end go through ``plane_approvals``.
"""

from __future__ import annotations

from ccbot.codex.appserver.views import UserInputQuestion, UserInputRequest
from ccbot.features.approvals import cut
from ccbot.render.markdown import escape

__all__ = ["option_labels", "user_input_lines"]

# Visible characters, so that a request stays under Telegram's 4096: the tool asks for 1-3 questions with 2-3
# options; per question header 60 + question 400 + 4 options * (label 80 + description 120) + lines ≈ 1300.
MAX_HEADER = 60
MAX_QUESTION = 400
MAX_LABEL = 80
MAX_DESCRIPTION = 120
MAX_OPTIONS = 4  # listed per question; more are counted (a single question still gets a button for each)
MAX_BUTTON = 60


def option_labels(request: UserInputRequest) -> tuple[str, ...]:
    """One button text per offered answer (the single question's options, cut), unnumbered."""
    return tuple(cut(d.name, MAX_BUTTON) for d in request.decisions)


def _question_lines(question: UserInputQuestion, numbered: bool) -> list[str]:
    lines = [f"<b>{escape(cut(question.header, MAX_HEADER))}</b>" if question.header else "",
             escape(cut(question.question, MAX_QUESTION))]
    for n, option in enumerate(question.options[:MAX_OPTIONS], start=1):
        mark = f"{n}." if numbered else "•"
        text = f"{mark} {escape(cut(option.label, MAX_LABEL))}"
        if option.description:
            text += f" — <i>{escape(cut(option.description, MAX_DESCRIPTION))}</i>"
        lines.append(text)
    if len(question.options) > MAX_OPTIONS:
        lines.append(f"… and {len(question.options) - MAX_OPTIONS} more")
    if question.is_secret:
        lines.append("<i>(A secret answer: give it at the terminal.)</i>")
    return [line for line in lines if line]


def user_input_lines(request: UserInputRequest) -> list[str]:
    """The message lines for ``request`` (valid Telegram HTML, every field from Codex escaped and cut); its
    buttons are ``option_labels`` (none but for a single question: see the module docstring)."""
    count = len(request.questions)
    title = "Codex asks you a question" if count == 1 else f"Codex asks you {count} questions"
    lines = [f"❓ <b>{title}</b>"]
    for question in request.questions:
        lines.append("")
        lines.extend(_question_lines(question, numbered=bool(request.decisions)))
    lines.append("")
    if request.decisions:
        own = ", or give your own at the terminal (“None of the above”)" if request.questions[0].is_other else ""
        lines.append(f"<i>Pick an answer below{own}.</i>")
    elif count > 1:
        lines.append("<i>Several questions: answer them at the terminal.</i>")
    else:
        lines.append("<i>No options to pick from: answer at the terminal.</i>")
    return lines
