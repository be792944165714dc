"""Codex approval prompts and numbered-choice menus as inline buttons in the window's topic.

Flow: the prompt-state machine reports ``PromptShown(prompt)`` → one message with the prompt's text and a
button per option; a press is queued to the actor of the window bound to the button's topic
(``PressForScreen``), which checks the pane's owner mark, re-reads it and, only if it still shows *the
same* prompt (``prompt_identity``), presses that option's keys; ``PromptCleared`` → the message
loses its buttons and says what was chosen (or that the prompt was answered at the terminal).

The pure part (no I/O): :func:`describe_prompt` (prompt → message HTML and button labels),
:func:`option_keys` (option index + highlighted index → tmux keys) and :func:`prompt_keyboard`.
The live part is :func:`install`.

Keys: an option that shows a hotkey the bot may press (``y``, ``p``, ``n``) is answered with that key,
``(esc)`` with Escape; any other option (generic menus such as /review's, or hotkeys outside the tmux
allowlist) is reached with Up/Down from the highlighted option, then Enter.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
import trio

from ccbot.codex.plane import Plane
from ccbot.features.ports import Queued, TopicPort, WindowPort
from ccbot.messages import PROMPT_GONE, Lane, NotPressed, OneShot, PaneFailed, PressForScreen, PressResult
from ccbot.render.markdown import escape
from ccbot.screen.parse import ApprovalPrompt, ChoiceOption, Popup, ScreenModel
from ccbot.screen.prompt_state import Exited, PromptCleared, PromptShown, prompt_identity
from ccbot.telegram.types import InlineButton, InlineKeyboard
from ccbot.tmux.keys import ALLOWED_KEYS
from ccbot.ui import shorten
from ccbot.ui.callbacks import NOOP, PROMPT_OPT, BadCallback, Callback, encode

if TYPE_CHECKING:
    from ccbot.actors.topics import Topics
    from ccbot.telegram.types import CallbackQuery
    from ccbot.ui.session import UiSession

__all__ = [
    "KIND",
    "PromptTicket",
    "PromptView",
    "answered_html",
    "describe_prompt",
    "install",
    "option_keys",
    "prompt_keyboard",
]

log = structlog.get_logger("ccbot.approvals")

KIND = "prompt"  # UiSession kind
HOTKEYS = frozenset(k for k in ALLOWED_KEYS if len(k) == 1 and k.isalpha())
MAX_COMMAND = 1200
MAX_REASON = 400
MAX_LABEL = 200
MAX_TITLE = 200
BUTTON_LABEL = 40
MAX_OPTIONS = 9  # more are listed as buttons only, to keep the message short
KEEP_GONE = 20  # answered prompts per topic whose stale buttons still get "This prompt is gone"
PRESS_WAIT = 10.0  # the window handles commands in order: a press may wait for a text being typed
PLANE_GRACE = 0.5  # how long a screen approval waits for the app-server's request to cover it
PRESS_GUARD = 3.0  # seconds in which a second press of the same prompt is refused (Codex is redrawing)

GONE_TEXT = PROMPT_GONE

# Short button texts for the option labels Codex 0.169 prints; anything else keeps its own label.
_FRIENDLY: tuple[tuple[str, str, str], ...] = (
    ("y", "Yes, proceed", "Yes, once"),
    ("p", "Yes, and don't ask again for commands that start with", "Always for this prefix"),
    ("esc", "No, and tell Codex", "No, tell Codex"),
)


@dataclass(frozen=True, slots=True)
class PromptView:
    """What the topic shows for one prompt: the message ``html`` and one button label per option."""

    html: str
    labels: tuple[str, ...]


def cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with ``…`` (its lines and spaces kept, unlike ``ui.shorten``)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _button_label(number: int, option: ChoiceOption) -> str:
    for key, prefix, friendly in _FRIENDLY:
        if option.key == key and option.label.startswith(prefix):
            return f"{number}. {friendly}"
    return f"{number}. {shorten(option.label, BUTTON_LABEL)}"


def describe_prompt(prompt: ApprovalPrompt | Popup) -> PromptView | None:
    """The message for ``prompt``, or None when it offers no options to choose (pagers, overlays).

    The HTML is valid Telegram HTML (every screen text is escaped) and stays well under 4096 visible
    characters for any realistic prompt: the command, reason and labels are cut with ``…``.
    """
    if not prompt.options:
        return None
    lines: list[str] = []
    if isinstance(prompt, ApprovalPrompt):
        lines.append(f"❓ <b>{escape(cut(prompt.title, MAX_TITLE))}</b>")
        if prompt.command:
            lines.append(f'<pre><code class="language-bash">{escape(cut(prompt.command, MAX_COMMAND))}'
                         "</code></pre>")
        if prompt.reason:
            lines.append(f"<i>Reason:</i> {escape(cut(prompt.reason, MAX_REASON))}")
    else:
        lines.append(f"📋 <b>{escape(cut(prompt.title or 'Choose an option', MAX_TITLE))}</b>")
    lines.append("")
    for number, option in enumerate(prompt.options[:MAX_OPTIONS], start=1):
        hotkey = f" <code>{escape(option.key)}</code>" if not option.key.isdigit() else ""
        lines.append(f"{number}. {escape(cut(option.label, MAX_LABEL))}{hotkey}")
    labels = tuple(_button_label(n, o) for n, o in enumerate(prompt.options, start=1))
    return PromptView("\n".join(lines), labels)


def option_keys(prompt: ApprovalPrompt | Popup, index: int, selected: int | None) -> tuple[str, ...]:
    """The tmux keys that pick option ``index`` (0-based) when option ``selected`` is highlighted.

    Raises ``ValueError`` when ``index`` is not an option, or when arrows are needed and the
    highlighted option is unknown (``selected`` None or out of range).
    """
    options = prompt.options
    if not 0 <= index < len(options):
        raise ValueError(f"no option {index}")
    key = options[index].key
    if key == "esc":
        return ("Escape",)
    if key in HOTKEYS:
        return (key,)
    if selected is None or not 0 <= selected < len(options):
        raise ValueError("the highlighted option is unknown")
    delta = index - selected
    moves = ("Down",) * delta if delta > 0 else ("Up",) * -delta
    return (*moves, "Enter")


def prompt_keyboard(view: PromptView, token: str) -> InlineKeyboard:
    """One button per row (labels are long); callback data ``pr.opt:<token>:<index>``."""
    return InlineKeyboard(tuple((InlineButton(label, encode(PROMPT_OPT, token, i)),)
                                for i, label in enumerate(view.labels)))


def answered_html(view: PromptView, chosen: str | None) -> str:
    """The prompt message once the prompt went away: what was chosen here, or answered at the terminal."""
    if chosen is not None:
        return f"{view.html}\n\n✅ Chosen here: <b>{escape(chosen)}</b>"
    return f"{view.html}\n\n⌨️ Answered at the terminal."


# -- live part ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class PromptTicket:
    """``UiSession.state`` of a prompt message: which window and prompt its buttons were made for."""

    window_id: str
    identity: tuple[object, ...]
    view: PromptView
    chosen: str | None = None
    pressed_at: float | None = None
    gone: bool = False


def _sessions(topics: TopicPort, key: tuple[int, int]) -> list[UiSession]:
    return topics.sessions(KIND, key)


async def _covered_by_plane(window: WindowPort, prompt: ApprovalPrompt | Popup) -> bool:
    """Whether ``prompt`` is an approval or a question the window's app-server asked for (its buttons come
    from that request). The request and the screen arrive at about the same moment: wait for it a little."""
    asked = isinstance(prompt, ApprovalPrompt) or prompt.kind == "question"
    if not asked or window.plane is not Plane.APPSERVER:
        return False
    with trio.move_on_after(PLANE_GRACE):
        # the flag is set by the window's plane task, which has no event for it; a short bounded poll
        while not window.plane_approval_pending():  # noqa: ASYNC110
            await trio.sleep(PLANE_GRACE / 10)
    return window.plane_approval_pending()


async def _on_shown(topics: TopicPort, window: WindowPort, prompt: ApprovalPrompt | Popup) -> None:
    view = describe_prompt(prompt)
    if view is None or await _covered_by_plane(window, prompt):
        return
    key, window_id = window.key, window.window_id
    identity = prompt_identity(prompt)
    for session in _sessions(topics, key):
        ticket = session.state_as(PromptTicket)
        if ticket.gone:
            continue
        if ticket.window_id == window_id and ticket.identity == identity:
            return  # already posted (the window actor restarted and saw the prompt again)
        await _finish(topics, session)  # a prompt we missed the end of
    session = topics.open_ui(KIND, key, PromptTicket(window_id, identity, view))
    # Sending waits for Telegram (paced: up to a minute in a busy group); the screen loop must not.
    topics.spawn(_post, topics, session)


async def post_prompt(topics: TopicPort, session: UiSession, view: PromptView,
                      ended: Callable[[], str | None]) -> None:
    """Send ``view`` with its buttons for ``session`` (spawned: sending waits for the chat's budget); if the
    prompt ended meanwhile (``ended()`` gives the message's final HTML, else None), edit it to that at once.
    A refused send closes the session; nothing is raised."""
    try:
        message_id = await topics.ask(session.key, view.html, prompt_keyboard(view, session.token), lane=Lane.ANSWER)
        if message_id is None:
            topics.close_ui(session)
            return
        session.message_id = message_id
        final = ended()
        if final is not None:
            await topics.edit(session.key, message_id, final, None)
    except Exception:  # a spawned task must not take the windows down with it
        log.exception("could not post a prompt message")
        topics.close_ui(session)


async def _post(topics: TopicPort, session: UiSession) -> None:
    ticket = session.state_as(PromptTicket)
    await post_prompt(topics, session, ticket.view,
                      lambda: answered_html(ticket.view, ticket.chosen) if ticket.gone else None)


async def _finish(topics: TopicPort, session: UiSession) -> None:
    """Mark the prompt answered; edit its message now, or let ``_post`` do it once the message exists."""
    ticket = session.state_as(PromptTicket)
    ticket.gone = True
    if session.message_id is not None:
        await topics.edit(session.key, session.message_id, answered_html(ticket.view, ticket.chosen), None)


async def _on_cleared(topics: TopicPort, window: WindowPort) -> None:
    key, window_id = window.key, window.window_id
    sessions = _sessions(topics, key)
    for session in sessions:
        ticket = session.state_as(PromptTicket)
        if not ticket.gone and ticket.window_id == window_id:
            await _finish(topics, session)
    gone = [s for s in sessions if s.state_as(PromptTicket).gone]
    for session in gone[:-KEEP_GONE]:
        topics.close_ui(session)


async def _on_press(topics: TopicPort, session: UiSession, parsed: Callback, query: CallbackQuery) -> None:
    ticket = session.state_as(PromptTicket)
    if parsed.kind == NOOP:
        await topics.answer(query)
        return
    if parsed.kind != PROMPT_OPT:
        raise BadCallback(f"{parsed.kind} is not a prompt button")
    index = parsed.int_arg()
    if not 0 <= index < len(ticket.view.labels):
        raise BadCallback(f"no option {index}")
    if ticket.gone:
        await topics.answer(query, GONE_TEXT)
        return
    now = time.monotonic()
    if ticket.pressed_at is not None and now - ticket.pressed_at < PRESS_GUARD:
        await topics.answer(query, "Already sent; waiting for Codex.")
        return
    reply = OneShot[PressResult]()
    command = PressForScreen(ticket.window_id, functools.partial(_choose, ticket.identity, index),
                             trio.current_time() + PRESS_WAIT, reply)
    queued = topics.command_window(session.key, ticket.window_id, command)
    if queued is Queued.GONE:
        log.warning("prompt button for a window no longer bound here", window=ticket.window_id)
        await topics.answer(query, GONE_TEXT + " Its window is no longer bound to this topic.")
        return
    result: PressResult | None = None
    if queued is Queued.OK:
        with trio.move_on_after(PRESS_WAIT):
            result = await reply.wait()
    if result is None:
        await topics.answer(query, "The window is busy; nothing was pressed. Try again in a moment.")
        return
    if isinstance(result, PaneFailed):
        verb = "read the window" if result.stage == "read" else "press the keys"
        await topics.answer(query, f"Could not {verb}: {result.error}")
        return
    if isinstance(result, NotPressed):
        if result.reason == GONE_TEXT:
            log.info("prompt button refused: the window shows another prompt", window=ticket.window_id)
        await topics.answer(query, result.reason)
        return
    keys = result.keys
    ticket.pressed_at = now
    label = ticket.view.labels[index].split(". ", 1)[-1]
    ticket.chosen = label
    log.info("prompt answered from Telegram", window=ticket.window_id, option=index, keys=keys)
    await topics.answer(query, f"Sent: {label}")


def _choose(identity: tuple[object, ...], index: int, model: ScreenModel) -> tuple[str, ...] | str:
    """The keys for option ``index`` if ``model`` still shows the prompt ``identity``; else the refusal."""
    current = model.approval or model.popup_detail
    if current is None or prompt_identity(current) != identity:
        return GONE_TEXT
    try:
        return option_keys(current, index, current.selected)
    except ValueError:
        return "Can't tell which option is highlighted; nothing was pressed."


def install(topics: Topics) -> None:
    """Register the prompt effect hook and the ``prompt`` button handler on ``topics``."""

    async def on_effect(window: WindowPort, effect: object) -> None:
        if isinstance(effect, PromptShown):
            await _on_shown(topics, window, effect.prompt)
        elif isinstance(effect, PromptCleared | Exited):
            await _on_cleared(topics, window)

    topics.hooks.effects.append(on_effect)
    topics.callback_handlers[KIND] = _on_press
