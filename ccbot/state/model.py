"""The persisted state: Telegram offset, topic bindings and per-window delivery progress.

Plain dataclasses with ``to_json()`` / ``from_json()``; no I/O. ``SCHEMA_VERSION`` is written into the file
and bumped whenever the shape changes (see ``ccbot.state.store.MIGRATIONS``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 1
REFUSED_USERS_MAX = 1000  # strangers remembered (each is refused once); the oldest are forgotten first

TopicKey = tuple[int, int]  # (chat_id, topic id; 0 = General / a chat without topics)


def topic_key_str(key: TopicKey) -> str:
    """``key`` as ``"chat:topic"``, its form in the state file (inverse: ``parse_topic_key``)."""
    return f"{key[0]}:{key[1]}"


def parse_topic_key(text: str) -> TopicKey:
    """Inverse of topic_key_str. Raises ValueError on anything else."""
    chat, sep, topic = text.rpartition(":")
    if not sep:
        raise ValueError(f"bad topic key {text!r}")
    return int(chat), int(topic)


@dataclass(slots=True)
class PendingInput:
    """One entry of a binding's input journal: text handed to its window and not typed yet (survives a kill).

    ``typing``: keys may have reached the pane (set right before typing; ``rollout_size`` is the rollout's size
    then, so a restart can tell whether Codex recorded it). ``held``: kept behind a startup screen; ``told``:
    the title of the screen the topic was told about.
    """

    text: str
    message_id: int
    origin: str = "text"
    typing: bool = False
    rollout_size: int | None = None
    held: bool = False
    told: str | None = None

    def matches(self, text: str, message_id: int) -> bool:
        """Whether this entry is ``text`` from message ``message_id``."""
        return self.message_id == message_id and self.text == text

    def to_json(self) -> dict[str, Any]:
        """The saved form: the three base keys, and the others only once set (the file's shape since v1)."""
        data: dict[str, Any] = {"text": self.text, "message_id": self.message_id, "origin": self.origin}
        if self.typing:
            data.update(typing=True, rollout_size=self.rollout_size)
        if self.held:
            data["held"] = True
        if self.told is not None:
            data["told"] = self.told
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PendingInput:
        """Read a saved entry (any v1 file; unknown keys ignored). Raises KeyError/ValueError/TypeError."""
        size = data.get("rollout_size")
        return cls(text=str(data["text"]), message_id=int(data["message_id"]), origin=str(data.get("origin", "text")),
                   typing=bool(data.get("typing")), rollout_size=int(size) if size is not None else None,
                   held=bool(data.get("held")), told=str(data["told"]) if data.get("told") is not None else None)


@dataclass(slots=True)
class Binding:
    """One topic bound to one tmux window running Codex.

    ``rollout_path`` and ``thread_id`` are set only once the window's Codex process was *proven* (via /proc)
    to write that rollout; ``rollout_offset`` is the byte offset up to which output was accepted by Telegram.
    """

    chat_id: int
    topic_id: int
    window_id: str
    window_name: str
    cwd: str
    pane_id: str = ""
    # the window's tmux user option @ccbot-owner ("<chat>:<topic>:<random>"): the window's identity
    owner_mark: str = ""
    bound_at: float = 0.0  # unix time; a rollout whose thread began before it is history, not news
    display_name: str = ""
    thread_id: str | None = None
    # The unix socket of the pane's own app-server (``ccbot.codex.plane``), for windows ccbot started on the
    # app-server plane; None: the tmux plane (the thread proven through /proc).
    appserver_socket: str | None = None
    # True: that socket is Codex's shared daemon (a window bound by hand), which serves other panes too; the
    # window's thread is then proven by echo (the thread that receives the text ccbot typed here).
    appserver_shared: bool = False
    rollout_path: str | None = None
    rollout_offset: int = 0
    # The rollout file's inode when last read, and the last committed line's timestamp and its place among
    # the lines with that timestamp (1 = the first): a rollout that Codex rewrote in place (``codex
    # migrate-rollouts --apply``: a new file, new byte offsets; content lines keep their timestamps, turn
    # boundaries are re-stamped) is noticed even across a restart, and read again without re-sending what
    # was delivered (at worst a turn's end line shows twice).
    rollout_inode: int | None = None
    delivered_ts: str = ""
    delivered_run: int = 0
    decoder: dict[str, Any] = field(default_factory=dict)
    known_rollouts: list[str] = field(default_factory=list)
    status_message_id: int | None = None
    status_steps: list[str] = field(default_factory=list)
    # the turn's last answer message (id, HTML): a plain turn's end line is edited in under it
    turn_answer_id: int | None = None
    turn_answer_html: str = ""
    # The input journal: text handed to the window and not typed yet. A producer/consumer log like a channel:
    # Topics only appends (``ccbot.actors.window.hand_text``, before the router confirms the update) and takes
    # back an entry the inbox refused; every other change is the window actor's.
    pending_inputs: list[PendingInput] = field(default_factory=list)

    @property
    def key(self) -> TopicKey:
        """The topic this binding is for."""
        return (self.chat_id, self.topic_id)

    def to_json(self) -> dict[str, Any]:
        """The saved form: every field, the input journal as its entries' saved form."""
        data = asdict(self)
        data["pending_inputs"] = [entry.to_json() for entry in self.pending_inputs]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Binding:
        """Read a saved binding, ignoring unknown keys. Raises KeyError/ValueError/TypeError on a malformed one."""
        known = {f for f in cls.__dataclass_fields__}
        fields = {k: v for k, v in data.items() if k in known}
        fields["pending_inputs"] = [PendingInput.from_json(dict(e)) for e in fields.get("pending_inputs", [])]
        return cls(**fields)


@dataclass(slots=True)
class State:
    """Everything ccbot persists, in memory: the Telegram update offset, the bindings, refused users and kept text.

    One instance lives in the ``StateKeeper``; actors change it in place on the trio thread and then save.
    """

    telegram_offset: int = 0
    # update ids ≥ telegram_offset already handled (updates of different chats finish out of order)
    telegram_done: list[int] = field(default_factory=list)
    bindings: dict[TopicKey, Binding] = field(default_factory=dict)
    refused_users: list[int] = field(default_factory=list)
    # Text kept for topics whose binding dialogue is open ({"text", "message_id"}), so a restart keeps it
    kept: dict[TopicKey, list[dict[str, Any]]] = field(default_factory=dict)

    def note_refused(self, user_id: int) -> bool:
        """Remember that ``user_id`` was refused; False when they already were. At most
        ``REFUSED_USERS_MAX`` are kept, so a flood of strangers cannot grow the state without bound (a
        forgotten one is refused again, once)."""
        if user_id in self.refused_users:
            return False
        self.refused_users = [*self.refused_users, user_id][-REFUSED_USERS_MAX:]
        return True

    def to_json(self) -> dict[str, Any]:
        """The saved form (current schema): bindings in key order, duplicate ids and empty kept lists dropped."""
        return {
            "schema": SCHEMA_VERSION,
            "telegram_offset": self.telegram_offset,
            "telegram_done": sorted(set(self.telegram_done)),
            "bindings": {topic_key_str(k): b.to_json() for k, b in sorted(self.bindings.items())},
            "refused_users": list(dict.fromkeys(self.refused_users))[-REFUSED_USERS_MAX:],
            "kept": {topic_key_str(k): v for k, v in sorted(self.kept.items()) if v},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        """Build from a current-schema dict. Raises ValueError/TypeError/KeyError on a malformed one."""
        if data.get("schema") != SCHEMA_VERSION:
            raise ValueError(f"expected schema {SCHEMA_VERSION}, got {data.get('schema')!r}")
        bindings: dict[TopicKey, Binding] = {}
        for key, raw in dict(data.get("bindings", {})).items():
            binding = Binding.from_json(dict(raw))
            bindings[parse_topic_key(key)] = binding
        return cls(
            telegram_offset=int(data.get("telegram_offset", 0)),
            telegram_done=[int(u) for u in data.get("telegram_done", [])],
            bindings=bindings,
            refused_users=[int(u) for u in data.get("refused_users", [])][-REFUSED_USERS_MAX:],
            kept={parse_topic_key(k): [dict(e) for e in v] for k, v in dict(data.get("kept", {})).items()},
        )
