"""Smoke tests of the bench's pure parts (tools/bench): statistics, synthetic rollout lines, the synthetic
Codex screen, /proc parsing and the target checks. No timing is asserted."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccbot.codex import procfs
from ccbot.codex.records import AssistantMessage, CommandRun, TurnComplete, TurnStarted, UserMessage
from ccbot.codex.rollout import RolloutDecoder
from ccbot.codex.sessions import SessionIndex
from ccbot.screen.parse import parse_screen
from ccbot.screen.prompt_state import Kind, classify
from tools.bench.fake_codex import clean_input, idle_screen
from tools.bench.lines import LineMaker, burst_lines, iso_timestamp, rollout_relpath, uuid7
from tools.bench.procstat import parse_cpu, parse_status_kb
from tools.bench.report import check_targets, lookup
from tools.bench.stats import cpu_percent, percentile, summarize_ms

NOW = 1_795_470_001.026  # 2026-11-23T21:40:01.026Z


# -- statistics ----------------------------------------------------------------------------------------


def test_percentile_interpolates_between_ranks() -> None:
    # rank = q/100 * (n-1): for [10, 20, 30, 40], p50 sits halfway between 20 and 30
    assert percentile([40, 10, 30, 20], 50) == 25.0
    assert percentile([10, 20, 30, 40], 0) == 10.0
    assert percentile([10, 20, 30, 40], 100) == 40.0
    # p90 of 1..11 (n=11): rank 9.0 → the 10th value
    assert percentile(list(range(1, 12)), 90) == 10.0
    # p99 of 0..100 (n=101): rank 99 exactly
    assert percentile(list(range(101)), 99) == 99.0


def test_percentile_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)
    with pytest.raises(ValueError):
        percentile([1.0], -1)


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50), st.floats(0, 100), st.floats(0, 100))
def test_percentile_is_monotone_and_bounded(values: list[float], q1: float, q2: float) -> None:
    low, high = sorted((q1, q2))
    a, b = percentile(values, low), percentile(values, high)
    assert min(values) - 1e-6 <= a <= b + 1e-6
    assert b <= max(values) + 1e-6


def test_summary_is_in_milliseconds() -> None:
    summary = summarize_ms([0.1, 0.2, 0.3])
    assert summary["n"] == 3
    assert summary["p50"] == 200.0
    assert summary["max"] == 300.0
    assert summary["mean"] == 200.0
    assert summarize_ms([]) == {"n": 0}
    assert cpu_percent(0.6, 60.0) == pytest.approx(1.0)


# -- synthetic rollout lines ---------------------------------------------------------------------------


def test_uuid7_layout() -> None:
    ms = 0x01A20A5A009B
    text = uuid7(ms, bytes(range(10)))
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", text)
    assert text.replace("-", "")[:12] == f"{ms:012x}"
    with pytest.raises(ValueError):
        uuid7(ms, b"short")


def test_rollout_path_is_what_ccbot_recognises() -> None:
    thread = uuid7(int(NOW * 1000), bytes(10))
    rel = rollout_relpath(NOW, thread)
    assert rel.startswith("sessions/") and rel.count("/") == 4
    name = Path(rel).name
    assert procfs.is_rollout_name(name)
    assert procfs.thread_id_from_path(rel) == thread
    assert procfs.rollout_sort_key(Path(rel))[0] == 2  # ranked as a time-ordered UUIDv7
    assert iso_timestamp(NOW) == "2026-11-23T21:40:01.026Z"


def _decode(lines: list[str]) -> list[object]:
    decoder = RolloutDecoder()
    out: list[object] = []
    for line in lines:
        assert line.endswith("\n") and line.count("\n") == 1
        out += decoder.feed(line[:-1].encode())
    return out


def test_lines_have_the_0169_shape_and_decode_once_each() -> None:
    maker = LineMaker(uuid7(int(NOW * 1000), bytes(10)), cwd="/w", rng=random.Random(1))
    turn = maker.new_turn_id(NOW)
    lines = [
        maker.session_meta(NOW),
        maker.task_started(NOW, turn),
        *maker.user_message(NOW, turn, "hi"),
        *maker.command(NOW, turn, "ls -la", "a\nb\n"),
        *maker.agent_message(NOW, turn, "**done**"),
        maker.task_complete(NOW, turn, "**done**", 1500),
    ]
    parsed = [json.loads(line) for line in lines]
    assert all(set(p) == {"timestamp", "ordinal", "type", "payload"} for p in parsed)
    assert [p["ordinal"] for p in parsed] == list(range(len(lines)))
    records = _decode(lines)
    kinds = [type(r).__name__ for r in records]
    # twins (response_item copies of the prompt and the answer) are dropped by the decoder
    assert kinds.count("UserMessage") == 1 and kinds.count("AssistantMessage") == 1
    assert kinds.count("CommandRun") == 1
    assert isinstance(next(r for r in records if isinstance(r, TurnStarted)), TurnStarted)
    user = next(r for r in records if isinstance(r, UserMessage))
    answer = next(r for r in records if isinstance(r, AssistantMessage))
    run = next(r for r in records if isinstance(r, CommandRun))
    assert (user.text, answer.text, run.command, run.exit_code) == ("hi", "**done**", "ls -la", 0)
    assert isinstance(records[-1], TurnComplete)


def test_session_meta_is_read_by_the_sessions_index(tmp_path: Path) -> None:
    thread = uuid7(int(NOW * 1000), bytes(10))
    maker = LineMaker(thread, cwd=str(tmp_path / "proj"))
    path = tmp_path / rollout_relpath(NOW, thread)
    path.parent.mkdir(parents=True)
    path.write_text(maker.session_meta(NOW) + maker.task_started(NOW, maker.new_turn_id(NOW)))
    index = SessionIndex(tmp_path)
    index.refresh()
    info = index.get(thread)
    assert info is not None and info.cwd == tmp_path / "proj" and not info.is_subagent


@pytest.mark.parametrize(("total", "agents"), [(500, 10), (60, 3), (40, 1)])
def test_burst_has_exact_size_and_its_messages(total: int, agents: int) -> None:
    maker = LineMaker(uuid7(int(NOW * 1000), bytes(10)))
    lines = burst_lines(maker, NOW, total, agents, "MARK")
    assert len(lines) == total
    assert json.loads(lines[0])["payload"]["type"] == "task_started"
    assert json.loads(lines[-1])["payload"]["type"] == "task_complete"
    answers = [r for r in _decode(lines) if isinstance(r, AssistantMessage)]
    assert len(answers) == agents
    assert all("MARK" in a.text for a in answers) and answers[-1].text == "MARK final"
    with pytest.raises(ValueError):
        burst_lines(maker, NOW, 8, 3, "X")


# -- the synthetic Codex screen -------------------------------------------------------------------------


@pytest.mark.parametrize("composer", ["", "hello there", "ping 3 0 123456"])
def test_fake_screen_reads_as_a_ready_codex(composer: str) -> None:
    screen = "\n".join(idle_screen(50, 200, "/tmp/bench/work", composer)) + "\n"
    model = parse_screen(screen)
    assert model.footer is not None and model.footer.cwd == "/tmp/bench/work"
    assert model.composer_text == (composer or None)
    assert classify(model).kind is Kind.READY


def test_clean_input_drops_paste_markers_and_escapes() -> None:
    assert clean_input("\x1b[200~a\nb\x1b[201~\r") == "a\nb\r"
    assert clean_input("x\x1b[Ay") == "xy"
    assert clean_input("plain") == "plain"


# -- /proc parsing and the report ---------------------------------------------------------------------


def test_parse_cpu_counts_fields_after_the_command_name() -> None:
    # comm with spaces and a ')' inside; utime..cstime = 250 100 30 20 ticks at 100 Hz
    stat = "4242 (py (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 100 30 20 20 0 1 0 5 0 0"
    cpu = parse_cpu(stat, ticks=100)
    assert (cpu.user, cpu.system, cpu.children_user, cpu.children_system) == (2.5, 1.0, 0.3, 0.2)
    assert cpu.own == pytest.approx(3.5) and cpu.total == pytest.approx(4.0)
    with pytest.raises(ValueError):
        parse_cpu("garbage", ticks=100)


def test_parse_status_kb() -> None:
    text = "Name:\tpython\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\n"
    assert parse_status_kb(text, "VmRSS") == 40960
    assert parse_status_kb(text, "VmHWM") == 51200
    assert parse_status_kb(text, "VmSwap") is None


def test_targets_compare_both_ways_and_report_missing() -> None:
    result = {"output_latency_ms": {"50": {"p50": 100.0, "p99": 600.0}}, "parse_mb_s": 49.9, "rss_mb": 80.0}
    rows = {r["target"]: r for r in check_targets(result)}
    assert rows["output p50 @50 windows (ms)"]["ok"] is True
    assert rows["output p99 @50 windows (ms)"]["ok"] is False
    assert rows["parsing (MB/s)"]["ok"] is False  # a floor, not a ceiling
    assert rows["RSS @50 windows (MB)"]["ok"] is True  # the limit itself passes
    assert rows["input p50 (ms)"]["ok"] is None and rows["input p50 (ms)"]["value"] is None
    assert lookup(result, ("output_latency_ms", "50", "p99")) == 600.0
    assert lookup(result, ("output_latency_ms", "1", "p99")) is None


def test_streaming_bench_maps_streamed_markdown_to_visible_characters() -> None:
    from ccbot.render.stream import frame_html
    from ccbot.render.tg_html import parse_html
    from tools.bench.streaming import shown_chars
    from tools.mock_openai.prose import long_markdown

    answer = long_markdown(1500)
    shown = [shown_chars(answer, n) for n in range(0, len(answer) + 1, 37)]
    assert shown == sorted(shown) and shown[0] == 0  # a longer prefix never needs fewer visible characters
    full = frame_html(answer)
    assert full is not None and shown_chars(answer, len(answer)) == len(parse_html(full).text)
