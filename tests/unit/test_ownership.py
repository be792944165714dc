"""The ownership rule: one thread, one window, one topic, across chats."""

from __future__ import annotations

from ccbot.state.model import Binding
from ccbot.state.ownership import may_deliver, thread_holder, window_holder

T1 = "01a238a1-8ee2-75d1-9612-6414a0cdabf7"
T2 = "01a238a1-8f75-7781-aa91-ae0b808746b5"


def binding(chat: int, topic: int, window: str, thread: str | None) -> Binding:
    return Binding(chat_id=chat, topic_id=topic, window_id=window, window_name="same-name", cwd="/w",
                   thread_id=thread)


def test_a_thread_held_in_another_chat_with_the_same_last_digits_is_refused() -> None:
    a = binding(-1001234567, 42, "@1", T1)
    b = binding(-1009994567, 42, "@2", None)  # same chat id mod 10000, same topic, same window name
    bindings = {a.key: a, b.key: b}
    assert thread_holder(bindings, b.key, T1) == a.key
    assert thread_holder(bindings, a.key, T1) is None  # the owner itself may keep it
    assert thread_holder(bindings, b.key, T2) is None
    assert window_holder(bindings, b.key, "@1") == a.key
    assert window_holder(bindings, b.key, "@2") is None


def test_delivery_only_to_the_live_binding_that_owns_the_thread() -> None:
    a = binding(-1, 1, "@1", T1)
    b = binding(-2, 1, "@2", T2)
    bindings = {a.key: a, b.key: b}
    assert may_deliver(bindings, a, T1)
    assert not may_deliver(bindings, a, T2)  # another thread's line
    assert not may_deliver(bindings, a, None)  # a rollout of no known thread
    stale = binding(-1, 1, "@1", T1)
    assert not may_deliver(bindings, stale, T1)  # a binding that was replaced or removed
    b.thread_id = T1  # two bindings claim one thread (must never happen): nobody delivers
    assert not may_deliver(bindings, a, T1) and not may_deliver(bindings, b, T1)
