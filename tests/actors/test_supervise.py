from __future__ import annotations

from typing import Any

import pytest
import trio
from structlog.testing import capture_logs

from ccbot.supervisor import GaveUp, Restart, RestartPolicy, supervise


async def test_restarts_with_backoff_schedule(autojump_clock: trio.abc.Clock) -> None:
    starts: list[float] = []

    async def actor(task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        starts.append(trio.current_time())
        if len(starts) < 4:
            raise RuntimeError("boom")

    policy = RestartPolicy(restart=Restart.TRANSIENT, initial_backoff=1, factor=2, healthy_after=100)
    with capture_logs() as logs:
        await supervise("t", actor, policy)
    assert starts == [0, 1, 3, 7]
    assert sum(1 for entry in logs if entry["event"] == "actor crashed") == 3


async def test_gives_up_after_budget(autojump_clock: trio.abc.Clock) -> None:
    async def actor(task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        raise ValueError("always")

    with pytest.raises(GaveUp, match="'bad'"):
        await supervise("bad", actor, RestartPolicy(max_restarts=3, window=1000, initial_backoff=1))


async def test_failure_before_ready_fails_start(autojump_clock: trio.abc.Clock) -> None:
    async def actor(task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        raise OSError("no config")

    with pytest.RaisesGroup(OSError):
        async with trio.open_nursery() as nursery:
            await nursery.start(supervise, "x", actor)


async def test_cancellation_is_not_a_crash(autojump_clock: trio.abc.Clock) -> None:
    runs = 0

    async def actor(task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        nonlocal runs
        runs += 1
        task_status.started()
        await trio.sleep_forever()

    with capture_logs() as logs:
        async with trio.open_nursery() as nursery:
            await nursery.start(supervise, "x", actor)
            await trio.sleep(5)
            nursery.cancel_scope.cancel()
    assert runs == 1
    assert not [e for e in logs if e["event"] == "actor crashed"]


async def test_channel_clone_survives_restart(autojump_clock: trio.abc.Clock) -> None:
    send, recv = trio.open_memory_channel[int](10)
    got: list[int] = []

    async def actor(task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        async with recv.clone() as mine:
            task_status.started()
            async for item in mine:
                got.append(item)
                if item == 2:
                    raise RuntimeError("crash on 2")

    async with trio.open_nursery() as nursery:
        await nursery.start(supervise, "c", actor, RestartPolicy(initial_backoff=1))
        for i in range(5):
            await send.send(i)
        await trio.sleep(3)
        nursery.cancel_scope.cancel()
    assert got == [0, 1, 2, 3, 4]
