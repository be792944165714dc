"""Prototype of the change-driven screen loop: what 50 window actors would cost with ``ccbot.tmux.control``.

Not the bot: this process plays 50 window actors' *screen loops* only, the way the proposed wiring would run
them (``doc/performance.md``): read the pane's version, ``pane_state`` + ``capture`` + ``parse_screen``,
then wait for the next change (at most ``safety`` seconds); captures of one pane start at least 0.15 s
apart. It
measures this process's CPU (own + reaped tmux clients) while the 50 synthetic Codex panes are idle, then
types a marker into some panes and measures how long until a capture shows it.

Run: ``python -m tools.bench.control_proto [--idle SECONDS]`` (prints JSON).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from typing import Any

import trio

from ccbot.screen.parse import parse_screen
from ccbot.tmux.adapter import Tmux
from ccbot.tmux.control import ControlClient
from tools.bench.live import SESSION, lab_context
from tools.bench.stats import summarize_ms

MIN_SPACING = 0.15


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


async def measure(windows: int = 50, idle: float = 20.0, safety: float = 30.0, typed: int = 10) -> dict[str, Any]:
    async with lab_context() as lab:
        await lab.create_windows(windows)
        control = ControlClient(SESSION, socket_name=lab.socket)
        tmux = Tmux(SESSION, socket_name=lab.socket)
        captures = 0
        wanted: dict[str, tuple[str, float]] = {}  # pane → (marker, typed at)
        seen_at: list[float] = []
        all_seen = trio.Event()
        typing_done = False

        async def screen_loop(pane: str) -> None:
            nonlocal captures, typing_done
            while True:
                last = trio.current_time()
                seen = control.version(pane)
                await tmux.pane_state(pane)
                text = await tmux.capture(pane)
                parse_screen(text)
                captures += 1
                if pane in wanted and wanted[pane][0] in text:
                    seen_at.append(trio.current_time() - wanted.pop(pane)[1])
                    if not wanted and typing_done:
                        all_seen.set()
                with trio.move_on_after(safety):
                    await control.wait_changed(pane, seen)
                await trio.sleep_until(last + MIN_SPACING)  # a busy pane is captured at most every 0.15 s

        async with trio.open_nursery() as nursery:
            await nursery.start(control.run)
            for window in lab.windows:
                nursery.start_soon(screen_loop, window.pane_id)
            await trio.sleep(2.0)
            cpu0, wall0, captures0 = _cpu(), time.monotonic(), captures
            await trio.sleep(idle)
            cpu1, wall1, idle_captures = _cpu(), time.monotonic(), captures - captures0
            for n, window in enumerate(lab.windows[:typed]):
                marker = f"typed{n:03d}x"
                wanted[window.pane_id] = (marker, trio.current_time())
                await tmux.send_text(window.pane_id, marker)
                await trio.sleep(0.2)
            typing_done = True
            if not wanted:
                all_seen.set()
            with trio.move_on_after(5.0):
                await all_seen.wait()
            nursery.cancel_scope.cancel()
        return {
            "windows": windows,
            "idle_s": round(wall1 - wall0, 1),
            "idle_cpu_pct": round(100.0 * (cpu1 - cpu0) / (wall1 - wall0), 2),
            "idle_captures": idle_captures,
            "typed_to_captured_ms": summarize_ms(seen_at),
            "missed": len(wanted),
            "attaches": control.attaches,
        }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.control_proto")
    parser.add_argument("--idle", type=float, default=20.0)
    args = parser.parse_args()
    print(json.dumps(trio.run(measure, 50, args.idle), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
