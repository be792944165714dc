"""IntakeCaps: per-chat dialogue and kept-message limits, per-user sessions per minute, told once."""

from __future__ import annotations

from ccbot.ui.caps import IntakeCaps


def test_open_dialogues_per_chat_and_sessions_per_minute() -> None:
    caps = IntakeCaps(max_open=2, per_minute=3)
    assert caps.open_refusal(1, open_in_chat=1, now=0.0) is None
    assert "2 folder choices are already open" in (caps.open_refusal(1, open_in_chat=2, now=0.0) or "")
    for t in (0.0, 10.0, 20.0):
        assert caps.open_refusal(1, 0, t) is None
        caps.opening(1, t)
    assert "3 new sessions in the last minute" in (caps.open_refusal(1, 0, 59.0) or "")
    assert caps.open_refusal(2, 0, 59.0) is None  # another user has their own minute
    assert caps.open_refusal(1, 0, 60.0) is None  # the first one is a minute old


def test_kept_messages_per_chat() -> None:
    caps = IntakeCaps(max_kept=2)
    assert caps.keep_refusal(1) is None
    assert "Not kept" in (caps.keep_refusal(2) or "")


def test_each_topic_is_told_each_limit_once_until_it_gets_a_dialogue() -> None:
    caps = IntakeCaps()
    assert caps.first_time((-1, 5), "a") and not caps.first_time((-1, 5), "a")
    assert caps.first_time((-1, 6), "a") and caps.first_time((-1, 5), "b")
    caps.forget((-1, 5))
    assert caps.first_time((-1, 5), "a") and not caps.first_time((-1, 6), "a")
