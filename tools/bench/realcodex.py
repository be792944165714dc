"""One run with the real Codex CLI (0.169, against the mock model) for realism.

Uses the end-to-end kit (``tests.e2e.stack.running_stack``: fakegram, the mock OpenAI server, real codex in
real tmux, the bot subprocess). It opens one topic, starts a fresh thread through the bot's own dialogue
(folder browser → new thread), then sends ``pings`` messages one at a time and measures for each:

* ``input``: message injected into the fake server → its text is visible in the pane (``capture-pane``
  polled every 20 ms, so figures carry up to ~25 ms of polling granularity);
* ``output``: the ``MOCK_REPLY`` line is complete in the rollout file (polled every 5 ms) → the bot's
  ``sendMessage`` with that text reached the fake server;
* ``round_trip``: message injected → reply reached the fake server.

Raises ``RuntimeError`` (from ``tools.codex_harness.ensure_codex``) when the pinned Codex is missing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import trio

from tools.bench.stats import summarize_ms


def _rel(t: float | None, base: float) -> float | None:
    return None if t is None else round(t - base, 3)


async def _pane_has(stack: Any, window: str, text: str, within: float) -> float | None:
    with trio.move_on_after(within):
        while True:
            result = await trio.run_process(
                ["tmux", "-L", stack.env["CCBOT_TMUX_SOCKET"], "capture-pane", "-p", "-t", window],
                capture_stdout=True,
                capture_stderr=True,
                check=False,
            )
            if text in result.stdout.decode("utf-8", "replace"):
                return trio.current_time()
            await trio.sleep(0.02)
    return None


async def _line_complete(path: Path, start: int, needle: bytes, within: float) -> float | None:
    with trio.move_on_after(within):
        while True:
            with open(path, "rb") as fh:  # noqa: ASYNC230 - a small local read every 5 ms
                fh.seek(start)
                data = fh.read()
            at = data.find(needle)
            if at >= 0 and data.find(b"\n", at) >= 0:
                return trio.current_time()
            await trio.sleep(0.005)
    return None


async def _store(into: dict[str, float | None], key: str, waiting: Awaitable[float | None]) -> None:
    into[key] = await waiting


async def run_real_codex(pings: int, pause: float = 4.0, config: str = "harness") -> dict[str, Any]:
    """``pause``: seconds between a reply and the next ping (4 s lets ccbot's per-chat pacing bucket, 3 calls
    refilled at 1/s, fill up again, as a person's reading time would; 1 s shows back-to-back pacing).
    ``config``: the Codex config profile of ``running_stack`` (the quiet ``"harness"`` one, as before)."""
    from tests.e2e.stack import running_stack
    from tools.codex_harness import ensure_codex

    codex_bin = str(ensure_codex())
    with tempfile.TemporaryDirectory(prefix="ccbot-bench-codex-") as tmp:
        async with running_stack(Path(tmp), codex_bin, config=config) as s:
            topic = s.new_topic("bench")
            t0 = trio.current_time()
            await s.start_fresh(topic, "hello mock")
            first = await s.wait_text(topic, "MOCK_REPLY: you said: hello mock", timeout=90)
            first_reply = next(
                c.time
                for c in s.fake.calls
                if c.method == "sendMessage" and c.ok and "you said: hello mock" in str(c.params.get("text"))
            )
            windows = [
                line.split()
                for line in s.tmux("list-windows", "-t", "ccbot", "-F", "#{window_id} #{window_name}").splitlines()
            ]
            window = next(w[0] for w in windows if len(w) > 1 and w[1] != "ccbot-placeholder")
            rollout = s.rollouts()[-1]
            inputs, outputs, trips = [], [], []
            timeline: list[dict[str, Any]] = []
            for n in range(pings):
                await trio.sleep(pause)
                text = f"ping number {n}"
                start = rollout.stat().st_size
                sent = trio.current_time()
                s.send(topic, text)
                seen: dict[str, float | None] = {}
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(_store, seen, "pane", _pane_has(s, window, text, 20))
                    nursery.start_soon(
                        _store, seen, "line", _line_complete(rollout, start, f"you said: {text}".encode(), 60)
                    )
                reply = await s.wait_text(topic, f"MOCK_REPLY: you said: {text}", timeout=60)
                del reply
                arrived = next(
                    c.time
                    for c in s.fake.calls
                    if c.time >= sent and c.method == "sendMessage" and c.ok
                    and f"you said: {text}" in str(c.params.get("text"))
                )
                if seen.get("pane") is not None:
                    inputs.append(seen["pane"] - sent)  # type: ignore[operator]
                if seen.get("line") is not None:
                    outputs.append(arrived - seen["line"])  # type: ignore[operator]
                trips.append(arrived - sent)
                timeline.append(
                    {
                        "ping": n,
                        "pane": _rel(seen.get("pane"), sent),
                        "line": _rel(seen.get("line"), sent),
                        "calls": [
                            (c.method, round(c.time - sent, 3), str(c.params.get("text", ""))[:30])
                            for c in s.fake.calls
                            if c.time >= sent - 0.5 and c.method != "getUpdates"
                        ],
                    }
                )
            del first
            return {
                "codex": codex_bin,
                "first_reply_s": round(first_reply - t0, 2),
                "pause_s": pause,
                "input_latency_ms": summarize_ms(inputs),
                "output_latency_ms": summarize_ms(outputs),
                "round_trip_ms": summarize_ms(trips),
                "timeline": timeline,
            }
