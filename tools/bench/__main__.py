"""``python -m tools.bench [--quick] [--json OUT.json] [--no-real-codex] [--conversation | --only-conversation]
[--scenarios conversation,busy_group,topic_flood] [--only-parse]``: run the bench, print the table.

``--conversation`` adds the conversation scenarios with the real Codex CLI under Telegram's budget
(``tools.bench.conversation``: answer latency and calls per turn in a private chat and a group, /screenshot
in a busy group, a private chat during a flood of new topics); ``--only-conversation`` runs only those;
``--scenarios`` picks some of them (and implies ``--conversation``). ``--only-parse`` measures only the
offline throughput (decode only and decode+render of both mixes, and their ratio), with no bot, tmux or Codex.

Everything runs on 127.0.0.1 under a temporary folder that is removed at the end; the tmux server (own
``-L`` socket), the bot subprocesses and the fake servers are stopped even when a step fails. Exit status:
0 after a complete run (targets missed or not), 1 when a step failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from tools.bench import conversation, live, offline
from tools.bench.codestate import code_state
from tools.bench.report import check_targets, render_parse, render_table
from tools.bench.stats import summarize_ms

ROOT = Path(__file__).resolve().parents[2]
WINDOW_COUNTS = (1, 10, 50)


@dataclass(frozen=True)
class Config:
    quick: bool
    parse_bytes: int
    session_files: int
    session_bytes: int
    idle_small_s: float  # idle measurement at 1 and 10 windows
    idle_s: float  # at 50 windows
    sampled_windows: int  # windows that get output samples (the rest are bound and idle)
    plan: live.OutputPlan
    input_windows: int
    input_rounds: int
    real_pings: int
    residual_idle: bool  # also measure idle at 50 windows with the screen poll slowed to 60 s


# Output samples are spaced about 1.6 s apart per window: with the turn's typing action every 4.5 s that
# stays under ccbot's per-chat pacing (1 call/s after a burst of 3), and a window's turns are spaced so
# that its group gets at most ~18 calls a minute (Telegram: 20 per group), so the figures are the bot's
# own pipeline; pacing is what the burst and the real-Codex run show.
QUICK = Config(True, 40_000_000, 2_000, 200_000_000, 3.0, 12.0, 10, live.OutputPlan(1, 4, 1.6), 20, 1, 3, False)
FULL = Config(
    False,
    120_000_000,
    10_000,
    1_000_000_000,
    30.0,
    60.0,
    25,
    live.OutputPlan(3, 4, 1.6, rest=26.0),
    39,
    2,
    10,
    True,
)


def recorded_rollouts() -> list[Path]:
    return [
        *sorted((ROOT / "tests/data/codex-0.169/rollouts").glob("*.jsonl")),
        ROOT / "tests/data/rollouts/codex-0.169-main.jsonl",
    ]


def measure_offline(cfg: Config) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ccbot-bench-parse-") as tmp:
        synthetic, recorded = Path(tmp) / "synthetic.jsonl", Path(tmp) / "recorded.jsonl"
        offline.write_corpus(synthetic, cfg.parse_bytes)
        offline.write_recorded_mix(recorded, recorded_rollouts(), cfg.parse_bytes)
        out = {
            "synthetic": offline.measure_parse(synthetic),
            "synthetic_decode": offline.measure_decode(synthetic),
            "recorded": offline.measure_parse(recorded),
            "recorded_decode": offline.measure_decode(recorded),
        }
    # decode+render throughput as a share of decode-only throughput, same run (issue 15: >= 0.5)
    for mix in ("synthetic", "recorded"):
        out[f"{mix}_render_ratio"] = round(out[mix]["parse_mb_s"] / out[f"{mix}_decode"]["mb_s"], 3)
    return out


def _idle_dict(cost: live.IdleCost) -> dict[str, Any]:
    children = cost.bot_cpu.children_user + cost.bot_cpu.children_system
    return {
        "seconds": round(cost.seconds, 1),
        "bot_cpu_pct": round(cost.bot_cpu_pct, 2),
        "bot_own_pct": round(100.0 * cost.bot_cpu.own / cost.seconds, 2),
        "children_pct": round(100.0 * children / cost.seconds, 2),
        "tmux_server_pct": None if cost.tmux_cpu_pct is None else round(cost.tmux_cpu_pct, 2),
        "rss_mb": round(cost.rss_mb, 1),
    }


async def measure_live(cfg: Config, result: dict[str, Any], progress: Any) -> None:
    rng = random.Random(42)
    async with live.lab_context() as lab:
        progress(f"building the Codex sessions folder ({cfg.session_files} files)")
        built = await trio.to_thread.run_sync(
            offline.build_sessions, lab.codex_home, cfg.session_files, cfg.session_bytes
        )
        index = await trio.to_thread.run_sync(offline.measure_index, lab.codex_home, lab.root / "index-cache.json")
        result["startup"] = {"index": {**built, **index}, "ready_s": {}, "proven_s": {}}
        progress("starting 50 synthetic Codex windows")
        await lab.create_windows(max(WINDOW_COUNTS))
        result["output_latency_ms"], result["output_latency_idle_ms"], result["idle"] = {}, {}, {}
        for n in WINDOW_COUNTS:
            progress(f"bot with {n} bound windows")
            async with lab.bot_run(lab.windows[:n], f"bot-{n}") as bot:
                result["startup"]["ready_s"][str(n)] = round(bot.ready_s, 3)
                result["startup"]["proven_s"][str(n)] = round(bot.proven_s, 3)
                await trio.sleep(1.0)
                cost = await live.idle_cost(lab, bot, cfg.idle_s if n == 50 else cfg.idle_small_s)
                result["idle"][str(n)] = _idle_dict(cost)
                samples = await live.output_samples(lab, lab.windows[: min(n, cfg.sampled_windows)], cfg.plan, rng)
                for key, kind in (("output_latency_ms", "in_turn"), ("output_latency_idle_ms", "idle")):
                    mine = [s for s in samples if s.kind == kind and s.latency is not None]
                    result[key][str(n)] = {
                        **summarize_ms([s.latency for s in mine if s.latency is not None]),
                        "paced": sum(s.paced for s in mine),
                    }
                result.setdefault("output_samples", {})[str(n)] = [
                    [
                        s.kind,
                        s.window,
                        None if s.latency is None else round(s.latency * 1000, 1),
                        None if s.after_previous is None else round(s.after_previous * 1000, 1),
                    ]
                    for s in samples
                ]
                lost = sum(s.latency is None for s in samples)
                if lost:
                    result.setdefault("problems", []).append(f"{lost} output samples at {n} windows never arrived")
                if n == 50:
                    result["idle_cpu_pct"] = result["idle"]["50"]["bot_cpu_pct"]
                    result["rss_mb"] = result["idle"]["50"]["rss_mb"]
                    progress("input latency")
                    inputs = await live.input_samples(
                        lab, lab.windows[10 : 10 + cfg.input_windows], cfg.input_rounds, 0.3
                    )
                    result["input_latency_ms"] = summarize_ms([s.latency for s in inputs if s.latency is not None])
                    result["input_round_trip_ms"] = summarize_ms(
                        [s.round_trip for s in inputs if s.round_trip is not None]
                    )
                    if any(s.latency is None for s in inputs):
                        result.setdefault("problems", []).append("some input samples never reached the pane")
                    progress("burst")
                    b = await live.burst(lab, lab.windows[49], 500, 10, 5.0, timeout=120.0)
                    result["burst"] = {
                        "seconds": b.seconds,
                        "messages": b.send_messages + b.edits,
                        "final_seconds": b.final_seconds,
                        "lines": b.lines,
                        "append_seconds": b.append_seconds,
                        "send_messages": b.send_messages,
                        "edits": b.edits,
                        "chat_actions": b.chat_actions,
                    }
                    memory = live.read_memory(bot.pid)
                    result["rss_end_mb"], result["rss_hwm_mb"] = (
                        round(memory.rss_mb, 1),
                        round(memory.hwm_mb, 1),
                    )
                    result["startup_s"] = result["startup"]["ready_s"]["50"]
                errors = bot.errors()
                if errors:
                    result.setdefault("problems", []).append(
                        f"bot logged {len(errors)} errors with {n} windows: {errors[0].get('event')}"
                    )
        if cfg.residual_idle:
            # What is left when (nearly) no tmux clients are spawned: the lower bound of the control-mode fix.
            progress("bot with 50 windows, screen poll every 60 s")
            async with lab.bot_run(
                lab.windows[:50], "bot-50-poll60", extra_env={"MONITOR_POLL_INTERVAL": "60"}
            ) as slow:
                await trio.sleep(1.0)
                result["idle"]["50 (screen poll 60 s)"] = _idle_dict(await live.idle_cost(lab, slow, cfg.idle_s))


def machine() -> dict[str, Any]:
    tmux = subprocess.run(["tmux", "-V"], capture_output=True, text=True, check=False).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "tmux": tmux,
        "kernel": platform.release(),
    }


async def run(
    cfg: Config,
    real_codex: bool,
    scenarios: Sequence[str] = (),
    main_bench: bool = True,
) -> dict[str, Any]:
    """The whole bench: the main measurements unless ``main_bench`` is False (then ``skipped_main`` is set),
    then the named conversation ``scenarios`` (``tools.bench.conversation.SCENARIOS``) under their plan
    (``QUICK_PLAN`` with ``cfg.quick``), each under its own key."""
    started = time.monotonic()

    def progress(text: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {text}", file=sys.stderr, flush=True)

    result: dict[str, Any] = {"quick": cfg.quick, "machine": machine(), "code": code_state()}
    if main_bench:
        await run_main(cfg, real_codex, result, progress)
    else:
        result["skipped_main"] = True
    if scenarios:
        plan = conversation.QUICK_PLAN if cfg.quick else conversation.FULL_PLAN
        result.update(await conversation.run_scenarios(plan, scenarios, progress))
    result["code_after"] = code_state()  # differs from "code" when the bot changed during the run
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    result["targets"] = check_targets(result)
    return result


async def run_main(cfg: Config, real_codex: bool, result: dict[str, Any], progress: Any) -> None:
    """The original bench: parsing, the synthetic-window runs, the real Codex run, the prototype."""
    progress("parsing throughput")
    result["parse"] = await trio.to_thread.run_sync(measure_offline, cfg)
    result["parse_mb_s"] = result["parse"]["recorded"]["parse_mb_s"]
    await measure_live(cfg, result, progress)
    if real_codex:
        progress("real Codex run")
        try:
            from tools.bench.realcodex import run_real_codex

            result["real_codex"] = await run_real_codex(cfg.real_pings)
            if not cfg.quick:
                progress("real Codex run, back-to-back messages")
                result["real_codex_back_to_back"] = await run_real_codex(cfg.real_pings, pause=1.0)
        except RuntimeError as exc:
            result["real_codex"] = {"error": str(exc)}
    if not cfg.quick:
        progress("prototype: change-driven screen loops with ccbot.tmux.control")
        from tools.bench import control_proto

        result["control_prototype"] = await control_proto.measure(50, idle=30.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller counts and durations (< 2 minutes)")
    parser.add_argument("--json", type=Path, help="write the results as JSON to this file")
    parser.add_argument("--no-real-codex", action="store_true", help="skip the run with the real Codex CLI")
    parser.add_argument("--conversation", action="store_true",
                        help="also run the conversation scenarios (real Codex, Telegram's budget enforced)")
    parser.add_argument("--only-conversation", action="store_true",
                        help="run only the conversation scenarios")
    parser.add_argument("--only-parse", action="store_true",
                        help="measure only decode and decode+render throughput (no bot, tmux or Codex)")
    parser.add_argument("--scenarios", type=lambda v: [x.strip() for x in v.split(",") if x.strip()],
                        help=f"comma-separated subset of {','.join(conversation.SCENARIOS)} (implies --conversation)")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    if args.only_parse:
        parse = measure_offline(cfg)
        print(render_parse(parse))
        if args.json is not None:
            doc = {"quick": cfg.quick, "machine": machine(), "code": code_state(), "parse": parse}
            args.json.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return 0
    scenarios: list[str] = []
    if args.scenarios:
        unknown = sorted(set(args.scenarios) - set(conversation.SCENARIOS))
        if unknown:
            parser.error(f"unknown scenarios {unknown}; choose from {', '.join(conversation.SCENARIOS)}")
        scenarios = list(args.scenarios)
    elif args.conversation or args.only_conversation:
        scenarios = list(conversation.SCENARIOS)
    result = trio.run(run, cfg, not args.no_real_codex, scenarios, not args.only_conversation)
    print(render_table(result))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    failed = [name for name in scenarios if "error" in result.get(name, {})]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
