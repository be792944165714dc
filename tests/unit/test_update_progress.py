"""UpdateProgress: the saved offset never passes an update in hand; done ones are never handled twice."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ccbot.state.progress import UpdateProgress


@given(st.lists(st.integers(0, 40), min_size=1, max_size=30, unique=True), st.randoms())
def test_offset_and_done_set_under_any_finishing_order(ids: list[int], rnd: object) -> None:
    progress = UpdateProgress()
    for update_id in sorted(ids):
        assert progress.wanted(update_id)
        progress.take(update_id)
        assert not progress.wanted(update_id)  # a repeat while in hand is skipped
    order = list(ids)
    rnd.shuffle(order)  # type: ignore[attr-defined]
    finished: set[int] = set()
    for update_id in order:
        progress.finish(update_id)
        finished.add(update_id)
        pending = set(ids) - finished
        assert all(u >= progress.offset for u in pending)  # never passes an update not done
        assert all(not progress.wanted(u) for u in finished)  # done ones are skipped
        # a restart from what would be saved skips exactly the done ones
        again = UpdateProgress(offset=progress.offset, done_above=set(progress.done_above))
        assert {u for u in ids if again.wanted(u)} == pending
    assert progress.offset == max(ids) + 1 and progress.done_above == set()
