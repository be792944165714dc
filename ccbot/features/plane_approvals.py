"""Approval buttons made from Codex's own request (app-server plane), answered through the protocol.

Two kinds of request: a command (``CommandApprovalRequest``) and a file change made by ``apply_patch``
(``FileChangeApprovalRequest``, with the changes of the ``fileChange`` item it names). Codex's
``request_user_input`` questions (``UserInputRequest``, Plan mode) ride the same machinery: their message and
buttons (one per option of a single question) come from ``plane_questions``.

Flow: the window's plane part reports ``PlaneApprovalShown(request)`` → one message with the command, its
folder and Codex's reason (or the files, a short diff of each and the reason) and one button per decision the
request offers (in Codex's order, "always" variants included) → a press queues ``AnswerApproval`` to the
actor of the window bound to the button's topic, which answers the request exactly once (or says why not:
answered already, gone) → ``PlaneApprovalGone`` edits the message into what was chosen here, "answered at
the terminal", or "no longer pending".

The pure part: :func:`describe_request` (request → message HTML and button labels), :func:`decision_label`
and :func:`decision_labels`.
While such a request is pending, the screen's copy of that prompt gets no buttons of its own
(``ccbot.features.approvals`` asks ``WindowPort.plane_approval_pending``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
import trio

from ccbot.codex.appserver.views import (
    FileChange,
    FileChangeApprovalRequest,
    PendingRequest,
    RequestId,
    UserInputRequest,
)
from ccbot.features.approvals import PromptView, answered_html, cut, post_prompt
from ccbot.features.plane_questions import option_labels, user_input_lines
from ccbot.features.ports import PlaneApprovalGone, PlaneApprovalShown, Queued, TopicPort, WindowPort
from ccbot.messages import PROMPT_GONE, AnswerApproval, OneShot
from ccbot.render.markdown import escape
from ccbot.ui.callbacks import PROMPT_OPT, BadCallback, Callback

if TYPE_CHECKING:
    from ccbot.actors.topics import Topics
    from ccbot.telegram.types import CallbackQuery
    from ccbot.ui.session import UiSession

__all__ = ["KIND", "ApprovalTicket", "decision_label", "decision_labels", "describe_request", "install"]

log = structlog.get_logger("ccbot.approvals")

KIND = "approval"  # UiSession kind
MAX_COMMAND = 1200
MAX_REASON = 600
ANSWER_WAIT = 10.0  # the window handles commands in order: an answer may wait for a text being typed
KEEP_GONE = 20
TITLE = "Would you like to run the following command?"  # Codex's own words, as its terminal prompt shows them
FILES_TITLE = "Would you like to make the following edits?"  # the same for a patch (measured, 0.169/0.171)
# Visible characters, so that any request stays under Telegram's 4096: title ~50, files (their lines) ≤ 1000 +
# one path ≤ 400, diffs ≤ 1600, reason ≤ 600, root ≤ 200, and a line per file listed.
MAX_FILES = 10  # files listed; more are counted
MAX_PATH = 200
FILES_BUDGET = 1000  # file lines listed in all; the first file is always listed
MAX_DIFF = 1600  # diff characters shown in all, over the files in order

# The screen's button texts for the same answers (the TUI's y / p / esc are accept /
# acceptWithExecpolicyAmendment / cancel), so a prompt reads the same on either plane.
_LABELS = {
    "accept": "Yes, once",
    "acceptForSession": "Yes, for this session",
    "acceptWithExecpolicyAmendment": "Always for this prefix",
    "decline": "No, continue without it",
    "cancel": "No, tell Codex",
}
# The patch prompt's "a" option: "Yes, and don't ask again for these files" (the screen's button keeps it whole).
_FILE_LABELS = {**_LABELS, "acceptForSession": "Yes, and don't ask again for these files"}
_KINDS = {"add": "new file", "delete": "deleted", "update": "changed"}


def decision_label(name: str, *, files: bool = False) -> str:
    """A button text for decision ``name`` of a command request (of a file-change request with ``files``);
    an unknown decision keeps its own name."""
    return (_FILE_LABELS if files else _LABELS).get(name, name)


def decision_labels(request: PendingRequest) -> tuple[str, ...]:
    """One button text per decision ``request`` offers, in its order (unnumbered)."""
    if isinstance(request, UserInputRequest):
        return option_labels(request)
    files = isinstance(request, FileChangeApprovalRequest)
    return tuple(decision_label(d.name, files=files) for d in request.decisions)


def describe_request(request: PendingRequest) -> PromptView:
    """The message for ``request`` (valid Telegram HTML: every field from Codex escaped and cut, well under
    Telegram's 4096 characters) and one label per offered decision, numbered like the screen's prompts."""
    if isinstance(request, UserInputRequest):
        lines = user_input_lines(request)
    elif isinstance(request, FileChangeApprovalRequest):
        lines = _file_lines(request)
    else:
        command = " && ".join(request.actions) if request.actions else request.command or "(no command given)"
        lines = [f"❓ <b>{TITLE}</b>",
                 f'<pre><code class="language-bash">{escape(cut(command, MAX_COMMAND))}</code></pre>']
        if request.cwd:
            lines.append(f"<i>In:</i> <code>{escape(cut(request.cwd, 300))}</code>")
        if request.reason:
            lines.append(f"<i>Reason:</i> {escape(cut(request.reason, MAX_REASON))}")
        if request.execpolicy_amendment:
            amendment = escape(cut(" ".join(request.execpolicy_amendment), 300))
            lines.append(f"<i>Always allows:</i> <code>{amendment}</code>")
    labels = tuple(f"{n}. {label}" for n, label in enumerate(decision_labels(request), start=1))
    return PromptView("\n".join(lines), labels)


def _path(path: str) -> str:
    """A path's end (the file name matters most) cut to ``MAX_PATH``, escaped."""
    return escape(path if len(path) <= MAX_PATH else "…" + path[-(MAX_PATH - 1):])


def _diff_text(change: FileChange) -> str:
    """What to show of one change: a new file's lines as ``+`` lines, else Codex's diff as it is."""
    if change.kind == "add":
        return "".join(f"+{line}\n" for line in change.diff.splitlines())
    return change.diff


def _file_lines(request: FileChangeApprovalRequest) -> list[str]:
    lines = [f"❓ <b>{FILES_TITLE}</b>"]
    if not request.changes:
        lines.append("<i>(The changes were not seen here; they are shown at the terminal.)</i>")
    budget, listed, used = MAX_DIFF, 0, 0
    for change in request.changes[:MAX_FILES]:
        kind = _KINDS.get(change.kind, change.kind)
        size = min(len(change.path), MAX_PATH) + min(len(change.move_path or ""), MAX_PATH) + len(kind) + 8
        if listed and used + size > FILES_BUDGET:
            break
        listed, used = listed + 1, used + size
        moved = f" → <code>{_path(change.move_path)}</code>" if change.move_path else ""
        lines.append(f"• <code>{_path(change.path)}</code>{moved} ({escape(kind)})")
        diff = _diff_text(change).rstrip("\n")
        if diff and budget > 0:
            shown = cut(diff, budget)
            budget -= len(shown)
            lines.append(f'<pre><code class="language-diff">{escape(shown)}</code></pre>')
    if len(request.changes) > listed:
        lines.append(f"… and {len(request.changes) - listed} more files")
    if request.reason:
        lines.append(f"<i>Reason:</i> {escape(cut(request.reason, MAX_REASON))}")
    if request.grant_root:
        lines.append(f"<i>Allows writes under:</i> <code>{_path(request.grant_root)}</code>")  # schema: unstable
    return lines


@dataclass(slots=True)
class ApprovalTicket:
    """``UiSession.state`` of an approval message: the window, the request and what its buttons offer."""

    window_id: str
    request_id: RequestId
    decisions: tuple[str, ...]
    labels: tuple[str, ...]  # one button text per decision (unnumbered)
    view: PromptView
    chosen: str | None = None
    gone: str | None = None  # how it ended: "here", "terminal", "lost"


def _ended_html(ticket: ApprovalTicket) -> str:
    if ticket.gone == "here" and ticket.chosen is not None:
        return answered_html(ticket.view, ticket.chosen)
    if ticket.gone == "terminal":
        return answered_html(ticket.view, None)
    return f"{ticket.view.html}\n\n⏹ No longer pending (the turn ended or Codex's app-server went away)."


def _label(ticket: ApprovalTicket, name: str) -> str:
    return ticket.labels[ticket.decisions.index(name)] if name in ticket.decisions else decision_label(name)


async def _on_shown(topics: TopicPort, window: WindowPort, request: PendingRequest) -> None:
    view = describe_request(request)
    names = tuple(d.name for d in request.decisions)
    for session in topics.sessions(KIND, window.key):
        ticket = session.state_as(ApprovalTicket)
        if ticket.window_id == window.window_id and ticket.request_id == request.request_id and ticket.gone is None:
            return  # already shown (the connection was re-made and the request sent again)
    session = topics.open_ui(KIND, window.key, ApprovalTicket(window.window_id, request.request_id, names,
                                                                 decision_labels(request), view))
    topics.spawn(_post, topics, session)


async def _post(topics: TopicPort, session: UiSession) -> None:
    ticket = session.state_as(ApprovalTicket)
    await post_prompt(topics, session, ticket.view, lambda: _ended_html(ticket) if ticket.gone else None)


async def _on_gone(topics: TopicPort, window: WindowPort, effect: PlaneApprovalGone) -> None:
    sessions = topics.sessions(KIND, window.key)
    for session in sessions:
        ticket = session.state_as(ApprovalTicket)
        if ticket.window_id != window.window_id or ticket.request_id != effect.request_id or ticket.gone:
            continue
        ticket.gone = "lost" if effect.lost else "here" if effect.decision is not None else "terminal"
        if effect.decision is not None:
            ticket.chosen = _label(ticket, effect.decision)
        if session.message_id is not None:
            await topics.edit(session.key, session.message_id, _ended_html(ticket), None)
    ended = [s for s in sessions if s.state_as(ApprovalTicket).gone]
    for session in ended[:-KEEP_GONE]:
        topics.close_ui(session)


async def _on_press(topics: TopicPort, session: UiSession, parsed: Callback, query: CallbackQuery) -> None:
    ticket = session.state_as(ApprovalTicket)
    if parsed.kind != PROMPT_OPT:
        raise BadCallback(f"{parsed.kind} is not an approval button")
    index = parsed.int_arg()
    if not 0 <= index < len(ticket.decisions):
        raise BadCallback(f"no decision {index}")
    if ticket.gone is not None:
        await topics.answer(query, PROMPT_GONE)
        return
    reply = OneShot[str | None]()
    command = AnswerApproval(ticket.window_id, ticket.request_id, ticket.decisions[index],
                             trio.current_time() + ANSWER_WAIT, reply)
    queued = topics.command_window(session.key, ticket.window_id, command)
    if queued is Queued.GONE:
        await topics.answer(query, PROMPT_GONE + " Its window is no longer bound to this topic.")
        return
    refusal: str | None = "The window is busy; nothing was answered. Try again in a moment."
    if queued is Queued.OK:
        with trio.move_on_after(ANSWER_WAIT):
            refusal = await reply.wait()
    if refusal is not None:
        await topics.answer(query, refusal)
        return
    await topics.answer(query, f"Sent: {ticket.labels[index]}")


def install(topics: Topics) -> None:
    """Register the plane's approval effects and the ``approval`` button handler on ``topics``."""

    async def on_effect(window: WindowPort, effect: object) -> None:
        if isinstance(effect, PlaneApprovalShown):
            await _on_shown(topics, window, effect.request)
        elif isinstance(effect, PlaneApprovalGone):
            await _on_gone(topics, window, effect)

    topics.hooks.effects.append(on_effect)
    topics.callback_handlers[KIND] = _on_press
