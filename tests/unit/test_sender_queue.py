"""The sender's per-chat queue (lanes, coalescing keys, merge rules) and Reply forwarding, without trio's
scheduler: pure data-structure tests."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from ccbot.actors.sender import ChatQueue, coalesce_key_of, merge
from ccbot.messages import Lane, Outbound, Priority, Reply


def edit(message_id: int, text: str, *, chat: int = 1, keyboard: object = None, **kw: Any) -> Outbound:
    kwargs = {"chat_id": chat, "message_id": message_id, "text": text}
    if keyboard is not None:
        kwargs["reply_markup"] = keyboard
    return Outbound(chat, "edit_message_text", kwargs, **kw)


def markup(message_id: int, keyboard: object, **kw: Any) -> Outbound:
    return Outbound(1, "edit_message_reply_markup", {"chat_id": 1, "message_id": message_id,
                                                     "reply_markup": keyboard}, **kw)


def media(message_id: int, caption: str, **kw: Any) -> Outbound:
    return Outbound(1, "edit_message_media", {"chat_id": 1, "message_id": message_id, "photo": b"",
                                              "caption": caption}, **kw)


def send(text: str, **kw: Any) -> Outbound:
    return Outbound(1, "send_message", {"chat_id": 1, "text": text}, **kw)


def drain(queue: ChatQueue) -> list[tuple[str, Any]]:
    out = []
    while queue.head() is not None:
        item = queue.pop()
        out.append((item.method, item.kwargs.get("text", item.kwargs.get("caption"))))
    return out


# -- keys -------------------------------------------------------------------------------------------------
def test_edits_are_keyed_by_their_message_only() -> None:
    assert coalesce_key_of(edit(7, "a")) == coalesce_key_of(markup(7, None)) == coalesce_key_of(media(7, "c"))
    assert coalesce_key_of(edit(7, "a")) != coalesce_key_of(edit(8, "a"))
    assert coalesce_key_of(edit(7, "a")) != coalesce_key_of(edit(7, "a", chat=2))
    # an explicit key cannot join an edit to another message's edits
    assert coalesce_key_of(edit(7, "a", coalesce_key="status")) != coalesce_key_of(edit(8, "b", coalesce_key="status"))


def test_explicit_keys_join_one_method_only_and_sends_are_never_keyed() -> None:
    assert coalesce_key_of(send("a")) is None
    assert coalesce_key_of(send("a", coalesce_key="k")) == coalesce_key_of(send("b", coalesce_key="k"))
    photo = Outbound(1, "send_photo", {"chat_id": 1, "photo": b""}, coalesce_key="k")
    assert coalesce_key_of(photo) != coalesce_key_of(send("a", coalesce_key="k"))


# -- merge rules ------------------------------------------------------------------------------------------
def test_merge_keeps_what_both_edits_would_leave() -> None:
    text_then_keys = merge(edit(7, "t", keyboard="old"), markup(7, "new"))
    assert text_then_keys is not None
    assert (text_then_keys.method, dict(text_then_keys.kwargs)) == (
        "edit_message_text", {"chat_id": 1, "message_id": 7, "text": "t", "reply_markup": "new"})
    keys_then_text = merge(markup(7, "k"), edit(7, "t"))
    assert keys_then_text is not None
    assert keys_then_text.method == "edit_message_text" and "reply_markup" not in keys_then_text.kwargs
    media_then_keys = merge(media(7, "c"), markup(7, None))
    assert media_then_keys is not None
    assert media_then_keys.method == "edit_message_media" and media_then_keys.kwargs["reply_markup"] is None
    assert merge(edit(7, "t"), media(7, "c")) is None
    assert merge(media(7, "c"), edit(7, "t")) is None


def test_merged_item_is_durable_if_either_was_and_in_the_more_urgent_lane() -> None:
    older = edit(7, "v1", lane=Lane.ANSWER)
    newer = edit(7, "v2", lane=Lane.PROGRESS, priority=Priority.BEST_EFFORT, expires_after=1.0)
    merged = merge(older, newer)
    assert merged is not None
    assert (merged.kwargs["text"], merged.lane, merged.priority, merged.expires_after) == (
        "v2", Lane.ANSWER, Priority.DURABLE, None)
    assert merged.reply is newer.reply


# -- queue ------------------------------------------------------------------------------------------------
def test_lanes_then_fifo() -> None:
    queue = ChatQueue()
    for text, lane in [("p0", Lane.PROGRESS), ("a0", Lane.ANSWER), ("u0", Lane.USER), ("a1", Lane.ANSWER),
                       ("u1", Lane.USER), ("p1", Lane.PROGRESS)]:
        queue.add(send(text, lane=lane))
    assert [t for _, t in drain(queue)] == ["u0", "u1", "a0", "a1", "p0", "p1"]


def test_newer_edit_takes_the_older_ones_place() -> None:
    queue = ChatQueue()
    queue.add(edit(7, "v1", lane=Lane.PROGRESS))
    queue.add(send("x", lane=Lane.PROGRESS))
    assert queue.add(edit(7, "v2", lane=Lane.PROGRESS))
    assert not queue.add(edit(8, "w", lane=Lane.PROGRESS))
    assert drain(queue) == [("edit_message_text", "v2"), ("send_message", "x"), ("edit_message_text", "w")]


def test_more_urgent_newer_edit_goes_to_the_back_of_its_lane() -> None:
    queue = ChatQueue()
    queue.add(edit(7, "v1", lane=Lane.PROGRESS))
    queue.add(send("u", lane=Lane.USER))
    queue.add(edit(7, "v2", lane=Lane.USER))
    assert drain(queue) == [("send_message", "u"), ("edit_message_text", "v2")]


def test_less_urgent_newer_edit_keeps_the_older_ones_lane_and_place() -> None:
    queue = ChatQueue()
    queue.add(edit(7, "v1", lane=Lane.USER))
    queue.add(send("u", lane=Lane.USER))
    queue.add(edit(7, "v2", lane=Lane.PROGRESS))
    assert drain(queue) == [("edit_message_text", "v2"), ("send_message", "u")]


def test_retry_goes_to_the_head_and_takes_newer_edits_with_it() -> None:
    queue = ChatQueue()
    retried = edit(7, "v1", lane=Lane.PROGRESS)
    queue.add(send("x", lane=Lane.PROGRESS))
    newer = edit(7, "v2", lane=Lane.PROGRESS)
    queue.add(newer)
    assert queue.add(retried, front=True)
    assert drain(queue) == [("edit_message_text", "v2"), ("send_message", "x")]
    assert not queue.keyed


def test_retry_of_a_send_goes_to_the_head_of_its_lane() -> None:
    queue = ChatQueue()
    queue.add(send("b"))
    queue.add(send("a"), front=True)
    assert [t for _, t in drain(queue)] == ["a", "b"]


def test_text_and_media_edit_of_one_message_stay_apart_in_order() -> None:
    queue = ChatQueue()
    queue.add(edit(7, "t", lane=Lane.PROGRESS))
    assert not queue.add(media(7, "c", lane=Lane.PROGRESS))
    queue.add(edit(7, "t2", lane=Lane.PROGRESS))  # not merged with the media edit: appended
    assert drain(queue) == [("edit_message_text", "t"), ("edit_message_media", "c"), ("edit_message_text", "t2")]


def test_only_best_effort_items_expire() -> None:
    queue = ChatQueue()
    stale = send("typing", priority=Priority.BEST_EFFORT, expires_after=3.0)
    kept = send("answer", expires_after=3.0)
    queue.add(stale)
    queue.add(kept)
    assert queue.drop_expired(2.0) == []
    assert queue.drop_expired(5.0) == [stale]
    assert queue.pop() is kept


# -- reply forwarding -------------------------------------------------------------------------------------
def test_a_long_chain_of_replaced_replies_settles_without_recursion() -> None:
    replies = [Reply() for _ in range(20_000)]
    for older, newer in itertools.pairwise(replies):
        newer.forward_to(older)
    replies[-1].resolve("done")
    assert all(r.done for r in replies)


async def test_forwarding_from_a_settled_reply_settles_at_once() -> None:
    done = Reply()
    done.fail(ValueError("no"))
    late = Reply()
    done.forward_to(late)
    with pytest.raises(ValueError, match="no"):
        await late.wait()
