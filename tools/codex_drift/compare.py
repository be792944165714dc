"""What changed between two recordings of Codex (``tools.record_codex`` output folders), as the bot's own
parsers see it (pure; reads files, no trio, no subprocess).

Three views, each naming the parser it touches:

* **screens**: every capture present in both folders goes through ``ccbot.screen.parse.parse_screen``;
  the ScreenModel fields that read differently are listed (``old → new``), then the changed text lines.
  Paths of the recording runs and volatile numbers (clock times, durations, token counts, the version)
  are masked first, so only real drift shows.
* **rollouts**: every rollout present in both goes through ``ccbot.codex.rollout.parse_line``; the record
  kinds whose counts differ, new ``Ignored`` line types and any ``Malformed`` lines are listed, then the raw
  line shapes (``type / payload.type / item.type``) and payload fields that appeared or disappeared.
* **coverage**: captures, rollouts and scenarios present on one side only (a scenario the new Codex could
  not get through is listed with its reason from the manifest).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccbot.codex.records import Ignored, Malformed
from ccbot.codex.rollout import parse_line
from ccbot.screen.parse import parse_screen

SCREEN_PARSER = "ccbot/screen/parse.py"
ROLLOUT_PARSER = "ccbot/codex/rollout.py"
MAX_TEXT_LINES = 12

_VOLATILE = [
    (re.compile(r"\bv?\d+\.\d+\.\d+\b"), "<version>"),
    (re.compile(r"\b\d{1,2}:\d{2}(:\d{2})?\b"), "<time>"),
    (re.compile(r"\b\d+(\.\d+)?\s?(ms|s|m|h)\b"), "<dur>"),
    (re.compile(r"\b\d+(\.\d+)?[kKmM]?(?= tokens| used| left|%)"), "<n>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uuid>"),
]


@dataclass(frozen=True, slots=True)
class Recording:
    """One ``tools.record_codex`` output folder: its manifest and where its files are."""

    root: Path
    manifest: dict[str, Any]

    @classmethod
    def load(cls, root: Path) -> Recording:
        """Read ``root/manifest.json``; raises OSError / ValueError when it is missing or not JSON."""
        return cls(root, json.loads((root / "manifest.json").read_text("utf-8")))

    @property
    def version(self) -> str:
        return str(self.manifest.get("codex_version", "?"))

    def files(self, kind: str) -> dict[str, dict[str, Any]]:
        """Manifest entries of ``kind`` ("capture" / "rollout") by file name stem."""
        return {Path(f["path"]).name.removesuffix(".txt").removesuffix(".jsonl"): f
                for f in self.manifest.get("files", []) if f.get("kind") == kind}

    def mask(self, text: str, session: str) -> str:
        """``text`` with this run's scratch paths and volatile numbers replaced by placeholders."""
        info = self.manifest.get("sessions", {}).get(session, {})
        paths = [(info.get("codex_home"), "<home>"), (info.get("workdir"), "<work>")]
        if info.get("workdir"):  # the run's scratch root holds other folders too (resume_cwd's "other")
            paths.append((str(Path(info["workdir"]).parent), "<scratch>"))
        home = str(Path.home())
        for path, placeholder in paths:
            if not path:
                continue
            text = text.replace(path, placeholder)
            if path.startswith(home + "/"):
                text = text.replace("~" + path[len(home):], placeholder)
        for pattern, placeholder in _VOLATILE:
            text = pattern.sub(placeholder, text)
        return text


@dataclass(slots=True)
class Drift:
    """The differences found, grouped for printing; ``parser_visible`` says whether a parser reads
    anything differently (the exit status of ``python -m tools.codex_drift``)."""

    old: str
    new: str
    screens: list[str] = field(default_factory=list)
    rollouts: list[str] = field(default_factory=list)
    coverage: list[str] = field(default_factory=list)
    parser_visible: bool = False

    def lines(self) -> Iterator[str]:
        """The readable report."""
        yield f"Codex {self.old} (recorded fixtures) → {self.new} (fresh recording)"
        for title, body in (("Screens", self.screens), ("Rollouts", self.rollouts),
                            ("Coverage", self.coverage)):
            yield ""
            yield f"## {title}"
            yield from (body or ["no change"])
        yield ""
        yield ("VERDICT: the parsers read something differently — check the lines above before moving the "
               "tested range up" if self.parser_visible else
               "VERDICT: nothing the parsers read has changed")


MAX_VALUE = 160


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def field_changes(path: str, old: object, new: object) -> list[str]:
    """``path.field: old → new`` for every leaf that differs, descending into dataclasses of one type and
    into tuples of equal length, so a change names the exact field rather than a whole model."""
    if old == new:
        return []
    if (dataclasses.is_dataclass(old) and not isinstance(old, type) and type(old) is type(new)):
        out: list[str] = []
        for f in dataclasses.fields(old):
            out += field_changes(f"{path}.{f.name}", getattr(old, f.name), getattr(new, f.name))
        return out
    if isinstance(old, tuple) and isinstance(new, tuple) and len(old) == len(new):
        return [line for i, (a, b) in enumerate(zip(old, new, strict=True))
                for line in field_changes(f"{path}[{i}]", a, b)]
    return [f"{path}: {_short(old)} → {_short(new)}"]


def compare_screens(old: Recording, new: Recording, drift: Drift) -> None:
    """Add, per capture in both recordings, the ScreenModel fields that differ and the changed lines."""
    old_files, new_files = old.files("capture"), new.files("capture")
    for name in sorted(old_files.keys() & new_files.keys()):
        o, n = old_files[name], new_files[name]
        old_text = old.mask((old.root / o["path"]).read_text("utf-8"), o["session"])
        new_text = new.mask((new.root / n["path"]).read_text("utf-8"), n["session"])
        if old_text == new_text:
            continue
        changed = field_changes("ScreenModel", parse_screen(old_text), parse_screen(new_text))
        if changed:
            drift.parser_visible = True
            drift.screens.append(f"{name}: {SCREEN_PARSER} reads it differently")
            drift.screens += [f"    {line}" for line in changed]
        else:
            drift.screens.append(f"{name}: text changed; {SCREEN_PARSER} reads it the same")
        diff = [line for line in difflib.unified_diff(
            [s.rstrip() for s in old_text.splitlines()], [s.rstrip() for s in new_text.splitlines()],
            lineterm="", n=0) if line[:1] in "+-" and line[:3] not in ("+++", "---")]
        drift.screens += [f"    {line}" for line in diff[:MAX_TEXT_LINES]]
        if len(diff) > MAX_TEXT_LINES:
            drift.screens.append(f"    … {len(diff) - MAX_TEXT_LINES} more changed lines")


def _shape(obj: dict[str, Any]) -> str:
    payload = obj.get("payload") if isinstance(obj.get("payload"), dict) else {}
    item = payload.get("item") if isinstance(payload.get("item"), dict) else {}
    return " / ".join(str(x) for x in (obj.get("type"), payload.get("type"), item.get("type")) if x)


@dataclass(slots=True)
class _RolloutView:
    kinds: Counter[str] = field(default_factory=Counter)
    ignored: Counter[str] = field(default_factory=Counter)
    malformed: list[str] = field(default_factory=list)
    shapes: dict[str, set[str]] = field(default_factory=dict)  # line shape → payload field names


def _view(lines: Iterable[bytes]) -> _RolloutView:
    view = _RolloutView()
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        record = parse_line(raw)
        if isinstance(record, Malformed):
            view.malformed.append(f"line {number}: {record.reason}")
        elif isinstance(record, Ignored):
            view.ignored[record.type] += 1
        else:
            view.kinds[type(record).__name__] += 1
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if isinstance(obj, dict):
            payload = obj.get("payload")
            fields = set(payload) if isinstance(payload, dict) else set()
            view.shapes.setdefault(_shape(obj), set()).update(fields)
    return view


def compare_rollouts(old: Recording, new: Recording, drift: Drift) -> None:
    """Add, per rollout in both recordings, what ``parse_line`` decodes differently, then the raw shapes."""
    old_files, new_files = old.files("rollout"), new.files("rollout")
    for name in sorted(old_files.keys() & new_files.keys()):
        a = _view((old.root / old_files[name]["path"]).read_bytes().split(b"\n"))
        b = _view((new.root / new_files[name]["path"]).read_bytes().split(b"\n"))
        out: list[str] = []
        for kind in sorted(a.kinds.keys() | b.kinds.keys()):
            if (a.kinds[kind] > 0) != (b.kinds[kind] > 0):
                out.append(f"    {kind}: {a.kinds[kind]} → {b.kinds[kind]} records")
        for kind in sorted(b.ignored.keys() - a.ignored.keys()):
            out.append(f"    new line type, decoded as Ignored: {kind} ({b.ignored[kind]} lines)")
        out += [f"    Malformed {m}" for m in b.malformed if m not in a.malformed]
        if out:
            drift.parser_visible = True
            drift.rollouts.append(f"{name}: {ROLLOUT_PARSER} (parse_line) decodes it differently")
            drift.rollouts += out
        shapes: list[str] = []
        for shape in sorted(a.shapes.keys() | b.shapes.keys()):
            if shape not in a.shapes:
                shapes.append(f"    + line shape {shape} (fields: {', '.join(sorted(b.shapes[shape]))})")
            elif shape not in b.shapes:
                shapes.append(f"    - line shape {shape}")
            else:
                added, gone = b.shapes[shape] - a.shapes[shape], a.shapes[shape] - b.shapes[shape]
                if added or gone:
                    change = [f"+{x}" for x in sorted(added)] + [f"-{x}" for x in sorted(gone)]
                    shapes.append(f"    {shape}: payload fields {' '.join(change)}")
        if shapes:
            if not out:
                drift.rollouts.append(f"{name}: raw shapes changed; {ROLLOUT_PARSER} decodes it the same")
            drift.rollouts += shapes


def compare_coverage(old: Recording, new: Recording, drift: Drift) -> None:
    """Add captures, rollouts and scenarios that exist on one side only."""
    for kind in ("capture", "rollout"):
        a, b = old.files(kind), new.files(kind)
        drift.coverage += [f"{kind} {name}: only in {old.version}" for name in sorted(a.keys() - b.keys())]
        drift.coverage += [f"{kind} {name}: new in {new.version}" for name in sorted(b.keys() - a.keys())]
    for scenario, reason in sorted(new.manifest.get("failed", {}).items()):
        drift.parser_visible = True
        drift.coverage.append(f"scenario {scenario}: did not get through on {new.version}: {reason}")


def compare(old_root: Path, new_root: Path) -> Drift:
    """The full drift report of the recording at ``new_root`` against the one at ``old_root``."""
    old, new = Recording.load(old_root), Recording.load(new_root)
    drift = Drift(old.version, new.version)
    compare_screens(old, new, drift)
    compare_rollouts(old, new, drift)
    compare_coverage(old, new, drift)
    return drift
