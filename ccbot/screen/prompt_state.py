"""Prompt-state machine for one Codex pane (pure, h11-style: a transition table plus a driver).

Flow: each pane capture becomes a :class:`ScreenModel` (``parse.py``); :func:`classify` reduces it to
an :class:`Observation`; :class:`PromptStateMachine` looks ``(state, observation kind)`` up in
:data:`TRANSITIONS`, moves to the new state and returns the effects (events for the window actor).

States: ``STARTING`` (no footer yet), ``READY`` (idle composer), ``BUSY`` (a turn runs — also while
its answer streams, when Codex shows no busy marker), ``BLOCKED`` (approval prompt or popup owns the
keyboard), ``EXITED`` (Codex quit; a later live screen revives the machine).

An ``unknown`` observation (mid-redraw, unrecognised screen) never changes the state.

Prompts come in two sorts (:func:`is_startup_prompt`): *startup screens* (folder trust, hooks review,
resume directory) stand between a starting Codex and its first input, so text sent meanwhile may be kept
and typed once the screen is answered (:attr:`Verdict.hold`); every other prompt (approvals, menus,
pagers) belongs to the running session and text is refused while it is up.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ccbot.screen.parse import ApprovalPrompt, Popup, ScreenModel


class State(Enum):
    """The pane's state as the machine sees it (see the module docstring for each)."""

    STARTING = "starting"
    READY = "ready"
    BUSY = "busy"
    BLOCKED = "blocked"
    EXITED = "exited"


class Kind(Enum):
    """What one screen shows, reduced to what matters for the state."""

    READY = "ready"
    BUSY = "busy"
    BLOCKED = "blocked"
    EXITED = "exited"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Observation:
    """:func:`classify`'s verdict; ``prompt`` is set for BLOCKED, ``resume_id`` may be for EXITED."""

    kind: Kind
    prompt: ApprovalPrompt | Popup | None = None
    resume_id: str | None = None


@dataclass(frozen=True)
class BecameReady:
    """Codex is idle and waiting for input."""


@dataclass(frozen=True)
class BecameBusy:
    """A turn started (or a streaming answer was first seen)."""


@dataclass(frozen=True)
class PromptShown:
    """An approval prompt or popup appeared (or was replaced by a different one)."""

    prompt: ApprovalPrompt | Popup


@dataclass(frozen=True)
class PromptCleared:
    """The approval prompt or popup went away."""


@dataclass(frozen=True)
class Exited:
    """Codex quit; ``resume_id`` is the thread printed in its exit message, if any."""

    resume_id: str | None


Effect = BecameReady | BecameBusy | PromptShown | PromptCleared | Exited
EffectType = type[BecameReady] | type[BecameBusy] | type[PromptShown] | type[PromptCleared] | type[Exited]

_ENTER: dict[Kind, tuple[State, tuple[EffectType, ...]]] = {
    Kind.READY: (State.READY, (BecameReady,)),
    Kind.BUSY: (State.BUSY, (BecameBusy,)),
    Kind.BLOCKED: (State.BLOCKED, (PromptShown,)),
    Kind.EXITED: (State.EXITED, (Exited,)),
}


def _table() -> dict[tuple[State, Kind], tuple[State, tuple[EffectType, ...]]]:
    table: dict[tuple[State, Kind], tuple[State, tuple[EffectType, ...]]] = {}
    for state in State:
        table[(state, Kind.UNKNOWN)] = (state, ())
        for kind, (target, effects) in _ENTER.items():
            if target is state:
                table[(state, kind)] = (state, ())
            elif state is State.BLOCKED:
                table[(state, kind)] = (target, (PromptCleared, *effects))
            else:
                table[(state, kind)] = (target, effects)
    return table


TRANSITIONS: dict[tuple[State, Kind], tuple[State, tuple[EffectType, ...]]] = _table()
"""``(state, observation kind) → (new state, effect types)``; complete over every (State, Kind) pair.

Staying in a state emits nothing; leaving BLOCKED always emits PromptCleared first. The one
data-dependent case (BLOCKED → BLOCKED with a *different* prompt) is handled by the driver.
"""


def classify(model: ScreenModel) -> Observation:
    """Reduce a screen to an :class:`Observation`. Total: every ScreenModel gets a kind."""
    if model.exited is not None:
        return Observation(Kind.EXITED, resume_id=model.exited.resume_id)
    if model.approval is not None:
        return Observation(Kind.BLOCKED, prompt=model.approval)
    if model.popup_detail is not None:
        return Observation(Kind.BLOCKED, prompt=model.popup_detail)
    if model.busy_marker:
        return Observation(Kind.BUSY)
    if not model.footer_ready:
        return Observation(Kind.UNKNOWN)
    if model.last_prompt is not None:
        turn_open = not model.turn_ended_after_last_prompt
    else:
        turn_open = model.answer_after_last_prompt and not model.turn_ended_after_last_prompt
    return Observation(Kind.BUSY if turn_open else Kind.READY)


def prompt_identity(prompt: ApprovalPrompt | Popup) -> tuple[object, ...]:
    """What makes two prompts "the same prompt": everything except the highlighted option."""
    if isinstance(prompt, ApprovalPrompt):
        return ("approval", prompt.title, prompt.command, prompt.reason, prompt.options)
    return ("popup", prompt.kind, prompt.title, prompt.options)


def prompt_title(prompt: ApprovalPrompt | Popup) -> str:
    """The title a prompt is told by: its own, else the popup's kind, else "approval"."""
    return prompt.title or (prompt.kind if isinstance(prompt, Popup) else "approval")


def is_startup_prompt(prompt: ApprovalPrompt | Popup | None) -> bool:
    """True for a screen Codex shows only while a session starts (``parse.STARTUP_POPUP_KINDS``);
    False for approval prompts, menus, pagers, overlays and None."""
    return isinstance(prompt, Popup) and prompt.startup


@dataclass(frozen=True)
class Verdict:
    """May text be typed now? ``steers`` is True when it would steer a running turn.

    ``hold`` (only with ``ok`` False): a startup screen is up; the text may be kept and typed once the
    screen is answered, instead of being refused.
    """

    ok: bool
    reason: str
    steers: bool = False
    hold: bool = False


class PromptStateMachine:
    """Feed every new screen to :meth:`step`; act on the effects it returns."""

    def __init__(self) -> None:
        self.state = State.STARTING
        self.prompt: ApprovalPrompt | Popup | None = None
        self.resume_id: str | None = None

    def step(self, model: ScreenModel) -> list[Effect]:
        """Advance on one screen; returns the effects in order (often empty)."""
        return self.observe(classify(model))

    def observe(self, observation: Observation) -> list[Effect]:
        """Advance on an already classified screen."""
        new_state, effect_types = TRANSITIONS[(self.state, observation.kind)]
        effects: list[Effect] = []
        for effect_type in effect_types:
            effects.append(self._make(effect_type, observation))
        if (
            self.state is State.BLOCKED
            and new_state is State.BLOCKED
            and observation.prompt is not None
            and self.prompt is not None
            and prompt_identity(observation.prompt) != prompt_identity(self.prompt)
        ):
            effects += [PromptCleared(), PromptShown(observation.prompt)]
        self.state = new_state
        if new_state is State.BLOCKED and observation.prompt is not None:
            self.prompt = observation.prompt
        elif new_state is not State.BLOCKED:
            self.prompt = None
        if new_state is State.EXITED and observation.kind is Kind.EXITED:
            self.resume_id = observation.resume_id
        return effects

    @staticmethod
    def _make(effect_type: EffectType, observation: Observation) -> Effect:
        if effect_type is PromptShown:
            assert observation.prompt is not None, "BLOCKED observations always carry their prompt"
            return PromptShown(observation.prompt)
        if effect_type is Exited:
            return Exited(observation.resume_id)
        if effect_type is BecameReady:
            return BecameReady()
        if effect_type is BecameBusy:
            return BecameBusy()
        return PromptCleared()

    @property
    def startup_prompt(self) -> Popup | None:
        """The startup screen that blocks the pane right now (see :func:`is_startup_prompt`), or None."""
        if self.state is State.BLOCKED and isinstance(self.prompt, Popup) and is_startup_prompt(self.prompt):
            return self.prompt
        return None

    def can_accept_text(self) -> Verdict:
        """READY: yes. BUSY: yes, it steers the turn. STARTING / BLOCKED / EXITED: no, with why;
        BLOCKED by a startup screen: no, but ``hold`` (the text may wait for the screen to be answered)."""
        if self.state is State.READY:
            return Verdict(True, "Codex is ready")
        if self.state is State.BUSY:
            return Verdict(True, "Codex is working; the message will steer the current turn", steers=True)
        if self.state is State.BLOCKED:
            title = prompt_title(self.prompt) if self.prompt is not None else "a prompt is open"
            return Verdict(False, title, hold=self.startup_prompt is not None)
        if self.state is State.STARTING:
            return Verdict(False, "Codex is still starting")
        return Verdict(False, "Codex has exited")
