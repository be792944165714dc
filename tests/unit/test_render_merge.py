"""Tests for ccbot.render.merge.merge_rendered."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccbot.render.merge import MERGEABLE, merge_rendered
from ccbot.render.messages import Rendered


def piece(kind: str, text: str, turn: str | None = "t1") -> Rendered:
    return Rendered(kind, f"<b>{text}</b>" if kind == "tool" else text, text, turn)


def test_tool_lines_and_the_turn_end_merge_into_one_message() -> None:
    merged = merge_rendered([piece("tool", "Ran a"), piece("tool", "Ran b"), piece("turn_done", "✓ Done")])
    assert merged == [
        Rendered("turn_done", "<b>Ran a</b>\n<b>Ran b</b>\n✓ Done", "Ran a\nRan b\n✓ Done", "t1")
    ]


def test_an_assistant_answer_is_never_merged() -> None:
    pieces = [piece("tool", "Ran a"), piece("assistant", "Answer"), piece("turn_done", "✓ Done")]
    assert merge_rendered(pieces) == pieces
    pieces = [piece("assistant", "a"), piece("assistant", "b")]
    assert merge_rendered(pieces) == pieces


def test_users_and_errors_stand_alone() -> None:
    pieces = [
        piece("status", "s"),
        piece("user", "\u276f x"),
        piece("tool", "t"),
        piece("error", "✗"),
        piece("tool", "u"),
    ]
    assert merge_rendered(pieces) == pieces


def test_no_merging_across_turns() -> None:
    pieces = [piece("tool", "a", "t1"), piece("tool", "b", "t2")]
    assert merge_rendered(pieces) == pieces
    ended = [piece("tool", "a"), piece("turn_done", "done"), piece("status", "late")]
    assert [m.plain for m in merge_rendered(ended)] == ["a\ndone", "late"]
    interrupted = [piece("interrupted", "■"), piece("tool", "b")]
    assert merge_rendered(interrupted) == interrupted


def test_bounded_by_piece_count() -> None:
    pieces = [piece("tool", str(i)) for i in range(10)]
    merged = merge_rendered(pieces, max_pieces=4)
    assert [m.plain for m in merged] == ["0\n1\n2\n3", "4\n5\n6\n7", "8\n9"]
    with pytest.raises(ValueError):
        merge_rendered(pieces, max_pieces=0)


def test_bounded_by_visible_length() -> None:
    pieces = [piece("tool", c * 30) for c in "abcde"]
    merged = merge_rendered(pieces, limit=100)
    # 30 + 1 + 30 + 1 + 30 = 92 fits; a fourth piece would make 123.
    assert [len(m.plain) for m in merged] == [92, 61]


def test_thinking_and_status_merge_with_tools() -> None:
    pieces = [
        Rendered("thinking", "<blockquote expandable>plan</blockquote>", "plan", "t1"),
        piece("tool", "Ran x"),
        piece("status", "Context compacted"),
    ]
    (merged,) = merge_rendered(pieces)
    assert merged.html == "<blockquote expandable>plan</blockquote>\n<b>Ran x</b>\nContext compacted"
    assert merged.kind == "status"


_kinds = st.sampled_from(
    ["assistant", "thinking", "tool", "user", "status", "turn_done", "error", "interrupted"]
)
_pieces = st.lists(
    st.builds(piece, _kinds, st.text("abc \n", min_size=1, max_size=40), st.sampled_from(["t1", "t2", None])),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(_pieces, st.integers(1, 6), st.integers(40, 200))
def test_merge_keeps_everything_in_order_within_bounds(
    pieces: list[Rendered], max_pieces: int, limit: int
) -> None:
    merged = merge_rendered(pieces, limit=limit, max_pieces=max_pieces)
    # Every output is a contiguous run of inputs joined by newlines, covering the input in order.
    index = 0
    for message in merged:
        run = [pieces[index]]
        index += 1
        while "\n".join(p.html for p in run) != message.html:
            assert index < len(pieces)
            run.append(pieces[index])
            index += 1
        assert message.plain == "\n".join(p.plain for p in run)
        if len(run) > 1:
            assert all(p.kind in MERGEABLE for p in run)
            assert len({p.turn_id for p in run}) == 1
            assert all(p.kind not in ("turn_done", "interrupted") for p in run[:-1])
            assert len(run) <= max_pieces
            assert len(message.plain.rstrip(" \n")) <= limit
            assert message.kind == run[-1].kind
    assert index == len(pieces)
