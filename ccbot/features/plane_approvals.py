"""Approval buttons made from Codex's own request (app-server plane), answered through the protocol.

Flow: the window's plane part reports ``PlaneApprovalShown(request)`` → one message with the command, its
folder, Codex's reason and one button per decision the request offers (in Codex's order, "always" variants
included) → a press queues ``AnswerApproval`` to the actor of the window bound to the button's topic, which
answers the request exactly once (or says why not: answered already, gone) → ``PlaneApprovalGone`` edits the
message into what was chosen here, "answered at the terminal", or "no longer pending".

The pure part: :func:`describe_request` (request → message HTML and button labels) and :func:`decision_label`.
While such a request is pending, the screen's copy of that prompt gets no buttons of its own
(``ccbot.features.approvals`` asks ``WindowPort.plane_approval_pending``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
import trio

from ccbot.codex.appserver.views import CommandApprovalRequest, RequestId
from ccbot.features.approvals import PromptView, answered_html, cut, post_prompt
from ccbot.features.ports import PlaneApprovalGone, PlaneApprovalShown, Queued, TopicPort, WindowPort
from ccbot.messages import PROMPT_GONE, AnswerApproval, OneShot
from ccbot.render.markdown import escape
from ccbot.ui.callbacks import PROMPT_OPT, BadCallback, Callback

if TYPE_CHECKING:
    from ccbot.actors.topics import Topics
    from ccbot.telegram.types import CallbackQuery
    from ccbot.ui.session import UiSession

__all__ = ["KIND", "ApprovalTicket", "decision_label", "describe_request", "install"]

log = structlog.get_logger("ccbot.approvals")

KIND = "approval"  # UiSession kind
MAX_COMMAND = 1200
MAX_REASON = 600
ANSWER_WAIT = 10.0  # the window handles commands in order: an answer may wait for a text being typed
KEEP_GONE = 20
TITLE = "Would you like to run the following command?"  # Codex's own words, as its terminal prompt shows them

# The screen's button texts for the same answers (the TUI's y / p / esc are accept /
# acceptWithExecpolicyAmendment / cancel), so a prompt reads the same on either plane.
_LABELS = {
    "accept": "Yes, once",
    "acceptForSession": "Yes, for this session",
    "acceptWithExecpolicyAmendment": "Always for this prefix",
    "decline": "No, continue without it",
    "cancel": "No, tell Codex",
}


def decision_label(name: str) -> str:
    """A button text for decision ``name`` (an unknown decision keeps its own name)."""
    return _LABELS.get(name, name)


def describe_request(request: CommandApprovalRequest) -> PromptView:
    """The message for ``request`` (valid Telegram HTML: every field escaped and cut) and one label per
    offered decision, numbered like the screen's prompts."""
    command = " && ".join(request.actions) if request.actions else request.command or "(no command given)"
    lines = [f"❓ <b>{TITLE}</b>",
             f'<pre><code class="language-bash">{escape(cut(command, MAX_COMMAND))}</code></pre>']
    if request.cwd:
        lines.append(f"<i>In:</i> <code>{escape(cut(request.cwd, 300))}</code>")
    if request.reason:
        lines.append(f"<i>Reason:</i> {escape(cut(request.reason, MAX_REASON))}")
    labels = tuple(f"{n}. {decision_label(d.name)}" for n, d in enumerate(request.decisions, start=1))
    if request.execpolicy_amendment:
        lines.append(f"<i>Always allows:</i> <code>{escape(cut(' '.join(request.execpolicy_amendment), 300))}</code>")
    return PromptView("\n".join(lines), labels)


@dataclass(slots=True)
class ApprovalTicket:
    """``UiSession.state`` of an approval message: the window, the request and what its buttons offer."""

    window_id: str
    request_id: RequestId
    decisions: tuple[str, ...]
    view: PromptView
    chosen: str | None = None
    gone: str | None = None  # how it ended: "here", "terminal", "lost"


def _ended_html(ticket: ApprovalTicket) -> str:
    if ticket.gone == "here" and ticket.chosen is not None:
        return answered_html(ticket.view, ticket.chosen)
    if ticket.gone == "terminal":
        return answered_html(ticket.view, None)
    return f"{ticket.view.html}\n\n⏹ No longer pending (the turn ended or Codex's app-server went away)."


async def _on_shown(topics: TopicPort, window: WindowPort, request: CommandApprovalRequest) -> None:
    view = describe_request(request)
    names = tuple(d.name for d in request.decisions)
    for session in topics.sessions(KIND, window.key):
        ticket = session.state_as(ApprovalTicket)
        if ticket.window_id == window.window_id and ticket.request_id == request.request_id and ticket.gone is None:
            return  # already shown (the connection was re-made and the request sent again)
    session = topics.open_ui(KIND, window.key, ApprovalTicket(window.window_id, request.request_id, names, view))
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
            ticket.chosen = decision_label(effect.decision)
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
    await topics.answer(query, f"Sent: {decision_label(ticket.decisions[index])}")


def install(topics: Topics) -> None:
    """Register the plane's approval effects and the ``approval`` button handler on ``topics``."""

    async def on_effect(window: WindowPort, effect: object) -> None:
        if isinstance(effect, PlaneApprovalShown):
            await _on_shown(topics, window, effect.request)
        elif isinstance(effect, PlaneApprovalGone):
            await _on_gone(topics, window, effect)

    topics.hooks.effects.append(on_effect)
    topics.callback_handlers[KIND] = _on_press
