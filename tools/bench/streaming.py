"""``python -m tools.bench.streaming [--answers N] [--seconds S] [--chars C] [--json OUT]``: streamed answers
on the app-server plane, measured as the user feels them.

Real Codex (the pinned release) under its own defaults, so the window gets its pane app-server; the mock model
streams each answer (``slow S long C``: silent for S/2, then a C-character Markdown answer over S/2, its delta
times recorded); the fake Telegram enforces Telegram's budget. Per chat kind (a private
chat with topics: drafts; a forum group: one edited message) it prints:

* **delta → frame**: for every text delta the mock wrote, the time until a frame (draft, frame message or
  edit) showing that text was accepted by the fake Telegram (the finished answer counts as the frame for
  deltas no frame showed) — p50/p90/max, with the share of deltas shown by a frame before the answer;
* **first frame before the answer**: how long before the finished answer the first frame was shown;
* **Telegram calls per streamed answer**, by method, from the prompt to the answer's frame cleanup.

Everything binds 127.0.0.1 and runs under a temporary folder; the stack (bot, tmux, Codex, servers) stops by
itself. Exit status 1 when a step failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

import trio

from ccbot.render.stream import frame_html
from ccbot.render.tg_html import parse_html
from tools.bench.stats import summarize_ms
from tools.mock_openai.prose import long_markdown
from tools.mock_openai.server import RequestLog

HEAD = "Mock long answer"
NOT_COUNTED = frozenset({"getUpdates", "sendChatAction", "answerCallbackQuery", "getMe", "deleteWebhook",
                         "setMyCommands"})


def shown_chars(answer: str, streamed: int) -> int:
    """How many visible characters a frame must show to include the first ``streamed`` characters of the
    Markdown ``answer`` (its prefix rendered as the bot renders frames)."""
    frame = frame_html(answer[:streamed])
    return 0 if frame is None else len(parse_html(frame).text.rstrip("…"))


def _frames(stack: Any, chat: int, since: float, until: float) -> list[tuple[float, int]]:
    """(accepted time, visible characters) of every frame shown in ``chat`` between the two times."""
    fake = stack.fake
    out = [(d.time, len(d.text.rstrip("…"))) for d in fake.drafts if d.chat_id == chat and since <= d.time <= until]
    for call in fake.calls:
        if not call.ok or str(call.params.get("chat_id")) != str(chat) or not since <= call.done_time <= until:
            continue
        silent_send = call.method == "sendMessage" and call.params.get("disable_notification")
        if silent_send or call.method == "editMessageText":
            text = parse_html(str(call.params.get("text", ""))).text
            if text.startswith(HEAD):
                out.append((call.done_time, len(text.rstrip("…"))))
    return sorted(out)


def _final(stack: Any, chat: int, since: float) -> Any:
    for call in stack.fake.calls_to("sendMessage"):
        text = str(call.params.get("text", ""))
        if call.ok and call.time >= since and str(call.params.get("chat_id")) == str(chat) and HEAD in text \
                and not call.params.get("disable_notification"):
            return call
    return None


async def _one_answer(stack: Any, log: RequestLog, chat: int, topic: int, n: int, seconds: float,
                      chars: int) -> dict[str, Any]:
    prompt = f"slow {seconds:g} long {chars} ({n})"
    answer = long_markdown(chars)
    asked = stack.fake.now()
    stack.send(topic, prompt, chat)
    final = await stack.fake.wait_for(lambda: _final(stack, chat, asked), timeout=seconds * 4 + 60)
    await trio.sleep(3.0)  # the frame message's deletion (groups) comes after the answer
    record = next(r for r in reversed(log.records) if r.get("prompt") == prompt)
    frames = _frames(stack, chat, asked, final.done_time)
    latencies: list[float] = []
    by_frame = 0
    for at, streamed in record.get("deltas", []):
        shown = shown_chars(answer, streamed)
        seen = next((t for t, visible in frames if visible >= shown and t >= at), None)
        if seen is not None:
            by_frame += 1
        latencies.append((seen if seen is not None else final.done_time) - at)
    calls = Counter(c.method for c in stack.fake.calls if c.ok and str(c.params.get("chat_id")) == str(chat)
                    and asked <= c.time and c.method not in NOT_COUNTED)
    calls["sendMessageDraft"] = sum(1 for d in stack.fake.drafts if d.chat_id == chat and d.time >= asked)
    return {"latencies": latencies, "by_frame": by_frame, "deltas": len(record.get("deltas", [])),
            "first_frame_lead_s": round(final.done_time - frames[0][0], 2) if frames else None,
            "frames": len(frames), "calls": {k: v for k, v in calls.items() if v}}


async def _chat_kind(codex_bin: str, kind: str, answers: int, seconds: float, chars: int,
                     config: str) -> dict[str, Any]:
    from tests.e2e.stack import OWNER, running_stack

    log = RequestLog()
    # the pane app-servers stop a moment after their panes (their launcher kills them): ignore late writes
    with tempfile.TemporaryDirectory(prefix="ccbot-bench-stream-", ignore_cleanup_errors=True) as tmp:
        async with running_stack(Path(tmp), codex_bin, config=config, telegram_budget=True,
                                 mock_log=log) as stack:
            if kind == "private":
                chat = stack.fake.create_private_chat(OWNER, topics_enabled=True)
                topic = stack.fake.user_creates_topic(chat, OWNER, "dm")
            else:
                chat, topic = stack.group, stack.new_topic("t")
            await stack.start_fresh(topic, "warm up", chat=chat)
            await stack.wait_text(topic, "you said: warm up", timeout=90, chat=chat)
            runs = [await _one_answer(stack, log, chat, topic, n, seconds, chars) for n in range(answers)]
    latencies = [x for run in runs for x in run["latencies"]]
    calls: Counter[str] = Counter()
    for run in runs:
        calls.update(run["calls"])
    return {
        "delta_to_frame_ms": summarize_ms(latencies),
        "shown_by_frame": round(sum(r["by_frame"] for r in runs) / max(1, sum(r["deltas"] for r in runs)), 2),
        "first_frame_lead_s": [r["first_frame_lead_s"] for r in runs],
        "frames_per_answer": [r["frames"] for r in runs],
        "calls_per_answer": {k: round(v / answers, 1) for k, v in sorted(calls.items())},
    }


async def run(answers: int, seconds: float, chars: int, config: str = "defaults") -> dict[str, Any]:
    """Both chat kinds, one stack each (see the module docstring)."""
    from tools.codex_harness import ensure_codex

    codex_bin = str(ensure_codex())
    return {kind: await _chat_kind(codex_bin, kind, answers, seconds, chars, config)
            for kind in ("private", "group")}


def render(result: dict[str, Any]) -> str:
    """The printed table."""
    lines = ["chat      delta→frame p50 / p90 / max ms   by frame  first frame lead s   frames   calls per answer"]
    for kind, r in result.items():
        d = r["delta_to_frame_ms"]
        lines.append(f"{kind:<9} {d.get('p50', '-'):>8} / {d.get('p90', '-'):>7} / {d.get('max', '-'):>7}      "
                     f"{r['shown_by_frame']:>5}     {r['first_frame_lead_s']}   {r['frames_per_answer']}   "
                     f"{r['calls_per_answer']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.streaming", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, default=3, help="streamed answers per chat kind")
    parser.add_argument("--seconds", type=float, default=14.0,
                        help="the mock's slow S: silent for S/2, then streams over S/2")
    parser.add_argument("--chars", type=int, default=1500, help="answer length")
    parser.add_argument("--config", choices=("defaults", "harness"), default="defaults",
                        help="Codex config: defaults (the app-server plane) or harness (daemon off: the tmux "
                             "plane, for the before figures)")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    try:
        result = trio.run(run, args.answers, args.seconds, args.chars, args.config)
    except Exception:  # a failed step: say which, exit 1
        print("streaming bench failed:", file=sys.stderr)
        traceback.print_exc()
        return 1
    print(render(result))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
