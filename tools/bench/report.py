"""The bench's result: target checks and the printed table (pure: dict in, text out).

``TARGETS`` lists ``(label, path into the result dict, comparison, limit)`` for the main bench,
``CONVERSATION_TARGETS`` those of the conversation scenarios (``tools.bench.conversation``).
``check_targets(result)`` returns one row per target of ``targets_for(result)`` with the measured value
(``None`` when it is missing) and ``ok`` (``None`` when missing). ``render_table(result)`` is the
human-readable summary ``__main__`` prints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

TARGETS: tuple[tuple[str, tuple[str, ...], str, float], ...] = (
    ("output p50 @50 windows (ms)", ("output_latency_ms", "50", "p50"), "<=", 150.0),
    ("output p99 @50 windows (ms)", ("output_latency_ms", "50", "p99"), "<=", 500.0),
    ("output p50 @50 windows, turn start (ms)", ("output_latency_idle_ms", "50", "p50"), "<=", 150.0),
    ("output p99 @50 windows, turn start (ms)", ("output_latency_idle_ms", "50", "p99"), "<=", 500.0),
    ("output p50, real Codex (ms)", ("real_codex", "output_latency_ms", "p50"), "<=", 150.0),
    ("input p50 (ms)", ("input_latency_ms", "p50"), "<=", 100.0),
    ("idle CPU @50 windows (% of a core)", ("idle_cpu_pct",), "<=", 1.0),
    ("parsing (MB/s)", ("parse_mb_s",), ">=", 50.0),
    ("RSS @50 windows (MB)", ("rss_mb",), "<=", 80.0),
    ("startup with the sessions folder (s)", ("startup_s",), "<=", 1.0),
)


CONVERSATION_TARGETS: tuple[tuple[str, tuple[str, ...], str, float], ...] = (
    ("private chat: answer p50 (ms)", ("conversation", "private", "answer_latency_ms", "p50"), "<=", 150.0),
    ("private chat: answer max (ms)", ("conversation", "private", "answer_latency_ms", "max"), "<=", 500.0),
    ("private chat: sendMessage per turn", ("conversation", "private", "per_turn", "sendMessage"), "<=", 1.0),
    ("busy group: /screenshot p99 (ms)", ("busy_group", "screenshot_ms", "p99"), "<=", 3000.0),
    ("200 topics: private p50 change (%)", ("topic_flood", "p50_change_pct"), "<=", 10.0),
)


def targets_for(result: Mapping[str, Any]) -> tuple[tuple[str, tuple[str, ...], str, float], ...]:
    """``TARGETS`` unless the main bench was skipped (``skipped_main``), plus the conversation targets of
    the scenarios present in ``result``."""
    main = () if result.get("skipped_main") else TARGETS
    return main + tuple(t for t in CONVERSATION_TARGETS if t[1][0] in result)


def lookup(result: Mapping[str, Any], path: Sequence[str]) -> Any:
    """``result[path[0]][path[1]]…``, or ``None`` if any step is missing or not a mapping."""
    node: Any = result
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def check_targets(
    result: Mapping[str, Any], targets: Sequence[tuple[str, tuple[str, ...], str, float]] | None = None
) -> list[dict[str, Any]]:
    """One row per target (``targets``; None: ``targets_for(result)``)."""
    rows = []
    for label, path, op, limit in targets_for(result) if targets is None else targets:
        value = lookup(result, path)
        ok: bool | None = None
        if isinstance(value, int | float):
            ok = value <= limit if op == "<=" else value >= limit
        rows.append({"target": label, "value": value, "limit": f"{op} {limit:g}", "ok": ok})
    return rows


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return str(value)


def _latency_row(label: str, summary: Mapping[str, Any] | None) -> str:
    if not summary or not summary.get("n"):
        return f"  {label:<34} (no samples)"
    paced = f"  paced: {summary['paced']}" if summary.get("paced") else ""
    return (
        f"  {label:<34} n={summary['n']:<4} p50={_fmt(summary['p50']):>7}  p90={_fmt(summary['p90']):>7}  "
        f"p99={_fmt(summary['p99']):>7}  max={_fmt(summary['max']):>7}{paced}"
    )


def _calls_row(label: str, run: Mapping[str, Any]) -> str:
    per_turn = run.get("per_turn") or {}
    calls = run.get("calls") or {}
    refused = sum(row.get("refused", 0) for row in calls.values())
    parts = ", ".join(f"{m} {_fmt(float(v))}" for m, v in per_turn.items()) or "none"
    deferred = ", ".join(f"{row['ok']} {m}" for m, row in (run.get("deferred") or {}).items() if row.get("ok"))
    after = f"; after the last answer ({_fmt(run.get('drain_s'))} s): {deferred}" if deferred else ""
    done = (f"; {run.get('answers_with_done_line')}/{run.get('turns')} answers carry their done line, "
            f"{run.get('separate_done_messages')} separate done messages") if "answers_with_done_line" in run else ""
    return f"  {label:<34} calls per turn: {parts}; 429s: {refused}{after}{done}"


def _code_note(section: Mapping[str, Any]) -> list[str]:
    """The scenario's code state as one line (none when it was not recorded)."""
    code = section.get("code") or {}
    changed = " — the bot's code CHANGED during this scenario" if section.get("code_changed_during_run") else ""
    return [f"  (code {code.get('commit')} diff {code.get('diff_sha1')}{changed})"] if code else []


def _change_row(label: str, change: Mapping[str, Any] | None) -> str:
    if not change:
        return f"  {label:<34} (no comparison)"
    return f"  {label:<34} " + ", ".join(f"{k} {v:+.1f} %" for k, v in change.items())


def _scenario_head(title: str, data: Mapping[str, Any]) -> list[str]:
    """A scenario's title, the code it measured, and its failure if it failed."""
    return [title, *_code_note(data), *([f"  failed: {data['error']}"] if "error" in data else [])]


def render_conversation(result: Mapping[str, Any]) -> list[str]:
    """The conversation scenarios' lines (empty when none ran)."""
    lines: list[str] = []
    conv = result.get("conversation")
    if isinstance(conv, Mapping):
        lines.extend(_scenario_head(
            f"Conversation, real Codex 0.169 (Codex config {conv.get('codex_config')!r}), next prompt "
            f"{_fmt(conv.get('pause_s'))} s after each answer; answer = rollout line → sendMessage (ms)", conv))
        for key, label in (("private", "private chat"), ("group", "forum group")):
            run = conv.get(key)
            if isinstance(run, Mapping):
                lines.append(_latency_row(f"{label}, {run.get('turns')} turns", run.get("answer_latency_ms")))
                lines.append(_latency_row(f"{label}, round trip", run.get("round_trip_ms")))
                lines.append(_calls_row(label, run))
    busy = result.get("busy_group")
    if isinstance(busy, Mapping):
        lines.extend(_scenario_head(
            "Busy group: three topics spend the group budget, /screenshot in a fourth (update → photo, ms)", busy))
        if "error" not in busy:
            first = busy.get("after_setup") or {}
            lines.append(f"  {'right after binding the 4 topics':<34} {_fmt(first.get('latency_ms'))} ms "
                         f"({first.get('backlog')} answers held, {first.get('group_calls_last_60s')} group calls "
                         "in the last 60 s)")
            lines.append(_latency_row("/screenshot, conversations ≥ 60 s", busy.get("screenshot_ms")))
            reps = busy.get("repetitions") or []
            lines.append("  at each ask: " + "; ".join(
                f"{r.get('backlog')} held / {r.get('group_calls_last_60s')} calls in 60 s" for r in reps))
            lines.append(_latency_row("answers in the busy group", busy.get("answer_latency_ms")))
    flood = result.get("topic_flood")
    if isinstance(flood, Mapping):
        lines.extend(_scenario_head(
            f"Topic flood: {flood.get('topics')} new topics with a message each in "
            f"{_fmt(flood.get('flood_seconds'))} s, a private chat converses meanwhile (ms)", flood))
        if "error" not in flood:
            for key, label in (("alone", "private chat, before the flood"),
                               ("during_flood", "private chat, during the flood")):
                run = flood.get(key) or {}
                lines.append(_latency_row(label, run.get("answer_latency_ms")))
            lines.append(_calls_row("private chat, during the flood", flood.get("during_flood") or {}))
            lines.append(_change_row("change vs before the flood", flood.get("vs_alone")))
            lines.append(_change_row("change vs scenario conversation", flood.get("vs_conversation")))
    return lines


def render_parse(parse: Mapping[str, Any]) -> str:
    """One line for ``measure_offline``'s result: decode+render and decode-only MB/s of both mixes and
    the share of decode-only throughput that rendering leaves (issue 15 wants >= 0.5)."""
    return (
        f"  decode+render: recorded-lines mix {_fmt(lookup(parse, ('recorded', 'parse_mb_s')))} MB/s, "
        f"synthetic long-thread mix {_fmt(lookup(parse, ('synthetic', 'parse_mb_s')))} MB/s; decode only "
        f"{_fmt(lookup(parse, ('recorded_decode', 'mb_s')))} / "
        f"{_fmt(lookup(parse, ('synthetic_decode', 'mb_s')))} MB/s; ratio "
        f"{_fmt(parse.get('recorded_render_ratio'))} / {_fmt(parse.get('synthetic_render_ratio'))}"
    )


def render_table(result: Mapping[str, Any]) -> str:
    lines = [
        f"ccbot bench ({'quick' if result.get('quick') else 'full'}; {result.get('machine', {}).get('cpus')} "
        f"CPUs, python {result.get('machine', {}).get('python')}, {result.get('machine', {}).get('tmux')})",
    ]
    code, after = result.get("code") or {}, result.get("code_after") or {}
    if code:
        state = f"+ uncommitted changes to {len(code.get('dirty') or [])} files (diff {code.get('diff_sha1')})"
        lines.append(f"code: {code.get('commit')} {state if code.get('dirty') else '(clean)'}"
                     + ("; the bot's code CHANGED during the run" if after and after != code else ""))
    lines.append("")
    if not result.get("skipped_main"):
        lines.extend(_render_main(result))
    lines.extend(render_conversation(result))
    lines.append("")
    lines.append("Targets")
    for row in check_targets(result):
        mark = {True: "ok  ", False: "MISS", None: "n/a "}[row["ok"]]
        lines.append(f"  [{mark}] {row['target']:<40} {_fmt(row['value']):>8}  (target {row['limit']})")
    lines.append(f"Total bench time {_fmt(result.get('elapsed_s'))} s")
    return "\n".join(lines)


def _render_main(result: Mapping[str, Any]) -> list[str]:
    """The main bench's lines."""
    lines: list[str] = []
    lines.append("Output latency, rollout line appended → Bot API call at the fake server (ms)")
    for n, summary in (result.get("output_latency_ms") or {}).items():
        lines.append(_latency_row(f"in a turn, {n} bound windows", summary))
    for n, summary in (result.get("output_latency_idle_ms") or {}).items():
        lines.append(_latency_row(f"turn start, {n} bound windows", summary))
    lines.append("Input latency, message injected → text in the pane (ms)")
    lines.append(_latency_row("50 bound windows", result.get("input_latency_ms")))
    lines.append(_latency_row("… → Codex's reply sent", result.get("input_round_trip_ms")))
    lines.append("Idle cost (bot incl. its tmux clients; tmux server separately)")
    for n, idle in (result.get("idle") or {}).items():
        lines.append(
            f"  {n:>3} windows: bot {_fmt(idle.get('bot_cpu_pct'))} % of a core "
            f"(own {_fmt(idle.get('bot_own_pct'))}, children {_fmt(idle.get('children_pct'))}), "
            f"tmux server {_fmt(idle.get('tmux_server_pct'))} %, RSS {_fmt(idle.get('rss_mb'))} MB"
        )
    lines.append("Throughput")
    lines.append(render_parse(result.get("parse") or {}))
    startup = result.get("startup") or {}
    index = startup.get("index") or {}
    lines.append(
        f"  sessions folder {index.get('files')} files / {_fmt((index.get('bytes') or 0) / 1e6)} MB: "
        f"index cold {_fmt(index.get('cold_s'))} s, warm (restart) {_fmt(index.get('warm_s'))} s, "
        f"steady {_fmt(index.get('steady_s'))} s"
    )
    ready = startup.get("ready_s") or {}
    lines.append("  bot start → ready: " + ", ".join(f"{n} windows {_fmt(v)} s" for n, v in ready.items()))
    burst = result.get("burst") or {}
    lines.append(
        f"Burst: {burst.get('lines')} lines in {_fmt(burst.get('append_seconds'))} s → all delivered after "
        f"{_fmt(burst.get('seconds'))} s (final answer {_fmt(burst.get('final_seconds'))} s); "
        f"{burst.get('messages')} messages ({burst.get('send_messages')} sends + {burst.get('edits')} edits)"
    )
    real = result.get("real_codex")
    if isinstance(real, Mapping) and "error" not in real:
        lines.append(
            f"Real Codex 0.169 (mock model): first reply {_fmt(real.get('first_reply_s'))} s; "
            f"{_fmt(real.get('pause_s'))} s between a reply and the next message"
        )
        lines.append(_latency_row("input (pane polled every 20 ms)", real.get("input_latency_ms")))
        lines.append(_latency_row("output (rollout line → sendMessage)", real.get("output_latency_ms")))
        lines.append(_latency_row("round trip", real.get("round_trip_ms")))
        again = result.get("real_codex_back_to_back")
        if isinstance(again, Mapping) and "error" not in again:
            lines.append(_latency_row("output, 1 s between messages", again.get("output_latency_ms")))
            lines.append(_latency_row("round trip, 1 s between messages", again.get("round_trip_ms")))
    elif isinstance(real, Mapping):
        lines.append(f"Real Codex: not measured ({real['error']})")
    proto = result.get("control_prototype")
    if isinstance(proto, Mapping):
        lines.append(
            f"Prototype, 50 change-driven screen loops (ccbot.tmux.control): idle {_fmt(proto.get('idle_cpu_pct'))} "
            f"% of a core, {proto.get('idle_captures')} captures in {_fmt(proto.get('idle_s'))} s"
        )
        lines.append(_latency_row("typed text → captured", proto.get("typed_to_captured_ms")))
    return lines
