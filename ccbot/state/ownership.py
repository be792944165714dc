"""One thread, one window, one topic: the rule every claim and every delivery obeys (pure).

Across all chats a Codex thread is owned by at most one binding and a tmux window by at most one
binding. A binding may take a thread or a window only when no *other* binding holds it, and a rollout
line is delivered only to the topic whose binding owns the rollout's thread — so a proof gone wrong can
at worst stay silent, never post into another topic. The callers (the binding dialogue and the window
actors) run on one trio thread and call these with no ``await`` between the check and the write, so a
check and its claim cannot interleave with another claim.
"""

from __future__ import annotations

from collections.abc import Mapping

from ccbot.state.model import Binding, TopicKey


def thread_holder(bindings: Mapping[TopicKey, Binding], key: TopicKey, thread_id: str) -> TopicKey | None:
    """The topic of another binding that already owns ``thread_id``; ``None`` when ``key`` may take it."""
    for other_key, binding in bindings.items():
        if other_key != key and binding.thread_id == thread_id:
            return other_key
    return None


def window_holder(bindings: Mapping[TopicKey, Binding], key: TopicKey, window_id: str) -> TopicKey | None:
    """The topic of another binding bound to ``window_id``; ``None`` when ``key`` may bind it."""
    for other_key, binding in bindings.items():
        if other_key != key and binding.window_id == window_id:
            return other_key
    return None


def may_deliver(bindings: Mapping[TopicKey, Binding], binding: Binding, thread_id: str | None) -> bool:
    """Whether a line of ``thread_id``'s rollout may be posted to ``binding``'s topic: the binding is the
    live one for its topic, it owns that thread, and no other binding claims the same thread."""
    return (
        thread_id is not None
        and bindings.get(binding.key) is binding
        and binding.thread_id == thread_id
        and thread_holder(bindings, binding.key, thread_id) is None
    )
