"""Offline throughput: rollout decoding + rendering speed, and the Codex sessions index on a big folder.

Both functions do blocking file I/O and CPU work in the calling thread and return plain dicts for the
report. Files are written under the given directory, which the caller removes.
"""

from __future__ import annotations

import json
import os
import random
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ccbot.codex.rollout import RolloutDecoder
from ccbot.codex.sessions import SessionIndex
from ccbot.codex.tail import read_lines
from ccbot.render.merge import merge_rendered
from ccbot.render.messages import Rendered, render
from tools.bench.lines import LineMaker, rollout_relpath, synthetic_corpus, uuid7

NOW = 1_795_470_000.0  # a fixed "now" keeps generated files identical between runs


def write_corpus(path: Path, target_bytes: int, seed: int = 7) -> int:
    """Write a synthetic rollout of at least ``target_bytes`` (whole turns); return its size."""
    rng = random.Random(seed)
    thread = uuid7(int(NOW * 1000), rng.randbytes(10))
    lines = synthetic_corpus(rng, NOW, thread, 40)
    chunk = "".join(lines[1:]).encode()  # the turns, without session_meta
    with open(path, "wb") as fh:
        fh.write(lines[0].encode())
        written = len(lines[0])
        while written < target_bytes:
            fh.write(chunk)
            written += len(chunk)
    return path.stat().st_size


def write_recorded_mix(path: Path, sources: list[Path], target_bytes: int) -> int:
    """Write ``sources`` (real recorded rollouts) over and over until ``target_bytes``; return the size."""
    blob = b"".join(p.read_bytes() for p in sources)
    if not blob:
        raise ValueError("no recorded rollouts to repeat")
    with open(path, "wb") as fh:
        written = 0
        while written < target_bytes:
            fh.write(blob)
            written += len(blob)
    return path.stat().st_size


def measure_decode(path: Path) -> dict[str, Any]:
    """Decode only (``read_lines`` + ``RolloutDecoder.feed``), no rendering. Returns MB/s (wall)."""
    size = path.stat().st_size
    decoder = RolloutDecoder()
    offset = 0
    t0 = time.perf_counter()
    while True:
        read = read_lines(path, offset, None)
        if not read.lines:
            break
        for raw, end in read.lines:
            decoder.feed(raw)
            offset = end
    wall = time.perf_counter() - t0
    return {"bytes": size, "seconds": round(wall, 3), "mb_s": round(size / 1e6 / wall, 1)}


def measure_parse(path: Path) -> dict[str, Any]:
    """Decode + render ``path`` the way a window actor does (``read_lines`` in 4 MB reads, one
    ``RolloutDecoder``, ``render`` per record, ``merge_rendered`` per read). Returns MB/s (wall) and
    counts."""
    size = path.stat().st_size
    decoder = RolloutDecoder()
    records = messages = 0
    offset = 0
    cpu0, t0 = time.process_time(), time.perf_counter()
    while True:
        read = read_lines(path, offset, None)
        if not read.lines:
            break
        batch: list[Rendered] = []
        for raw, end in read.lines:
            for record in decoder.feed(raw):
                records += 1
                batch.extend(render(record))
            offset = end
        messages += len(merge_rendered(batch))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {
        "bytes": size,
        "seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "parse_mb_s": round(size / 1e6 / wall, 1),
        "records": records,
        "messages": messages,
    }


def build_sessions(codex_home: Path, files: int, total_bytes: int, seed: int = 11) -> dict[str, Any]:
    """Fill ``codex_home`` like a long-used Codex: ``files`` rollouts (about ``total_bytes`` together)
    spread over day folders, a ``session_index.jsonl`` naming a third of them and a ``history.jsonl`` entry
    per thread. Every rollout starts with a real-sized ``session_meta`` line (a 12 kB instructions text, as
    real Codex writes) followed by real turns. Returns what was written."""
    rng = random.Random(seed)
    per_file = max(1, total_bytes // files)
    body = "".join(synthetic_corpus(rng, NOW, uuid7(int(NOW * 1000), rng.randbytes(10)), 12)[1:]).encode()
    while len(body) < per_file:
        body += body
    instructions = "You are Codex, a coding agent. " * 400  # ~12 kB, like the real base_instructions
    written = 0
    names, history = [], []
    start = datetime(2025, 1, 1, 9, 0, 0)
    for i in range(files):
        created = start + timedelta(minutes=37 * i)
        stamp = created.timestamp()
        thread = uuid7(int(stamp * 1000), rng.randbytes(10))
        maker = LineMaker(thread, cwd=f"/home/dev/project{i % 40}", rng=rng)
        meta = json.loads(maker.session_meta(stamp))
        meta["payload"]["base_instructions"]["text"] = instructions
        head = (json.dumps(meta, separators=(",", ":")) + "\n").encode()
        path = codex_home / rollout_relpath(stamp, thread)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = head + body[: max(0, per_file - len(head))]
        cut = data.rfind(b"\n") + 1
        with open(path, "wb") as fh:
            fh.write(data[:cut])
        os.utime(path, (stamp, stamp))
        written += cut
        if i % 3 == 0:
            names.append(json.dumps({"id": thread, "thread_name": f"task {i}", "updated_at": created.isoformat()}))
        history.append(json.dumps({"session_id": thread, "ts": int(stamp), "text": f"please look at issue {i}"}))
    (codex_home / "session_index.jsonl").write_text("\n".join(names) + "\n")
    (codex_home / "history.jsonl").write_text("\n".join(history) + "\n")
    return {"files": files, "bytes": written}


def measure_index(codex_home: Path, cache_path: Path) -> dict[str, Any]:
    """``SessionIndex.refresh`` timings: cold (no cache file), warm (a new index — i.e. a bot restart —
    with the cache file) and steady (a second refresh of that same index, as every folder pick does)."""
    if cache_path.exists():
        cache_path.unlink()
    t0 = time.perf_counter()
    cold = SessionIndex(codex_home, cache_path=cache_path)
    cold.refresh()
    t1 = time.perf_counter()
    warm = SessionIndex(codex_home, cache_path=cache_path)
    warm.refresh()
    t2 = time.perf_counter()
    warm.refresh()
    t3 = time.perf_counter()
    return {
        "threads": len(cold),
        "cold_s": round(t1 - t0, 3),
        "warm_s": round(t2 - t1, 3),
        "steady_s": round(t3 - t2, 3),
        "cache_bytes": cache_path.stat().st_size if cache_path.exists() else 0,
    }
