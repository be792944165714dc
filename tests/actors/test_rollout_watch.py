"""RolloutWatch: one task wakes the owner of a rollout file that changed (real files, autojump clock)."""

from __future__ import annotations

from pathlib import Path

import trio
import trio.testing

from ccbot.actors.rollout_watch import RolloutWatch


class Wakes:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def test_check_wakes_only_owners_of_changed_files(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("x\n")
    b.write_text("y\n")
    watch, wake_a, wake_b = RolloutWatch(), Wakes(), Wakes()
    watch.watch("A", str(a), wake_a)
    watch.watch("B", str(b), wake_b)
    assert watch.check() == 0  # the state at watch() is the baseline
    with open(a, "a") as fh:
        fh.write("more\n")
    assert watch.check() == 1
    assert (wake_a.count, wake_b.count) == (1, 0)
    assert watch.check() == 0  # once per change
    b.unlink()  # a vanished file is a change too
    assert watch.check() == 1 and wake_b.count == 1
    watch.unwatch("A")
    watch.unwatch("nobody")
    with open(a, "a") as fh:
        fh.write("unwatched\n")
    assert watch.check() == 0 and wake_a.count == 1


def test_moving_a_watch_to_another_file_takes_that_file_as_it_is(tmp_path: Path) -> None:
    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    old.write_text("1\n")
    new.write_text("2\n")
    watch, wake = RolloutWatch(), Wakes()
    watch.watch("W", str(old), wake)
    watch.watch("W", str(new), wake)
    assert watch.watching("W") == str(new)
    with open(old, "a") as fh:
        fh.write("ignored\n")
    assert watch.check() == 0
    with open(new, "a") as fh:
        fh.write("seen\n")
    assert watch.check() == 1 and wake.count == 1


async def test_run_checks_every_interval(tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text("")
    watch, wake = RolloutWatch(interval=0.1), Wakes()
    watch.watch("W", str(path), wake)
    async with trio.open_nursery() as nursery:
        await nursery.start(watch.run)
        await trio.sleep(1.0)
        assert wake.count == 0
        with open(path, "a") as fh:
            fh.write("line\n")
        started = trio.current_time()
        with trio.fail_after(1.0):
            while wake.count == 0:
                await trio.sleep(0.01)
        assert trio.current_time() - started <= 0.1 + 1e-9
        nursery.cancel_scope.cancel()
