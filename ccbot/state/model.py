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
    return f"{key[0]}:{key[1]}"


def parse_topic_key(text: str) -> TopicKey:
    """Inverse of topic_key_str. Raises ValueError on anything else."""
    chat, sep, topic = text.rpartition(":")
    if not sep:
        raise ValueError(f"bad topic key {text!r}")
    return int(chat), int(topic)


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
    # Text handed to the window but not typed yet ({"text", "message_id", "origin"}): survives a kill
    pending_inputs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> TopicKey:
        return (self.chat_id, self.topic_id)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Binding:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(slots=True)
class State:
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

    def binding_for_window(self, window_id: str) -> Binding | None:
        for binding in self.bindings.values():
            if binding.window_id == window_id:
                return binding
        return None

    def to_json(self) -> dict[str, Any]:
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
