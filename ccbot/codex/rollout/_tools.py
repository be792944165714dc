"""What a tool call did, read from the tool's own text: shell command lines, tool output headers, patches.

All functions are total: an unknown shape yields an empty or neutral answer, never an exception.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from typing import Any

from ccbot.codex.jsonfields import get_dict, get_int
from ccbot.codex.records import PatchStats
from ccbot.codex.rollout._fields import content_text, duration_s

_SHELL_NAMES = frozenset({"bash", "sh", "zsh", "dash", "ksh", "fish"})
_SHELL_TOOLS = frozenset({"shell", "container.exec", "local_shell", "shell_command", "exec_command"})
_HEADER_LINE = re.compile(r"[A-Z][A-Za-z ]*:[^\n]*\n|Process exited with code -?\d+\n")
_EXIT_RE = re.compile(r"^(?:Process exited with code|Exit code:)\s*(-?\d+)\s*$", re.M)
_WALL_RE = re.compile(r"^Wall time:\s*([0-9.]+)\s*seconds?\s*$", re.M)
_PATCH_FILE = re.compile(r"^\*\*\* (Add|Update|Delete) File: (.+)$")


def command_display(command: object) -> str:
    """The command line a person would type: `["/bin/bash", "-lc", "ls"]` → `ls`.

    Accepts an argv list or a string; anything else yields "".
    """
    if isinstance(command, str):
        return command
    if not isinstance(command, list) or not all(isinstance(a, str) for a in command):
        return ""
    argv: list[str] = command
    if len(argv) == 3 and argv[0].rsplit("/", 1)[-1] in _SHELL_NAMES and argv[1] in ("-c", "-lc", "-cl"):
        return argv[2]
    return shlex.join(argv)


def shell_command(name: str, arguments: str) -> str | None:
    """The command line of a shell-tool call named `name` with JSON `arguments`; None for other tools.

    Arguments that are not JSON are taken as the command line itself.
    """
    if name not in _SHELL_TOOLS:
        return None
    try:
        args = json.loads(arguments)
    except ValueError:
        return arguments
    if not isinstance(args, dict):
        return ""
    for key in ("cmd", "command"):
        if key in args:
            return command_display(args[key])
    return ""


def parse_tool_output(raw: object) -> tuple[str, int | None, float | None]:
    """Split a function_call_output `output` into (text, exit_code, duration_s).

    Understands 0.169's `Chunk ID/Wall time/Process exited with code/.../Output:` header, the
    older `Exit code:/Wall time:/Output:` header and the older JSON `{"output", "metadata":
    {"exit_code", "duration_seconds"}}`. Unknown shapes come back as text with no exit code.
    """
    if isinstance(raw, list):
        raw, _ = content_text(raw)
    if not isinstance(raw, str):
        return "", None, None
    text = raw
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("output"), str):
            meta = get_dict(obj, "metadata")
            return obj["output"], get_int(meta, "exit_code"), duration_s(meta.get("duration_seconds"))
    pos = 0
    while (m := _HEADER_LINE.match(text, pos)) is not None and not text.startswith("Output:", pos):
        pos = m.end()
    if text.startswith("Output:\n", pos):
        header, body = text[:pos], text[pos + len("Output:\n") :]
    elif pos > 0:
        header, body = text[:pos], text[pos:]
    else:
        return text, None, None
    exit_m, wall_m = _EXIT_RE.search(header), _WALL_RE.search(header)
    exit_code = int(exit_m.group(1)) if exit_m else None
    duration = float(wall_m.group(1)) if wall_m else None
    return body, exit_code, duration


def patch_stats_from_text(patch: str) -> PatchStats:
    """Files and +/- line counts of an apply_patch envelope (`*** Begin Patch` ...)."""
    files: list[str] = []
    added = removed = 0
    for line in patch.splitlines():
        m = _PATCH_FILE.match(line)
        if m:
            if m.group(2).strip() not in files:
                files.append(m.group(2).strip())
        elif line.startswith("*** "):
            continue
        elif line.startswith("+"):
            added += 1
        elif line.startswith("-"):
            removed += 1
    return PatchStats(tuple(files), added, removed)


def _diff_counts(diff: str) -> tuple[int, int]:
    added = removed = 0
    for line in diff.splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return added, removed


def patch_stats_from_changes(changes: Mapping[str, Any]) -> PatchStats:
    """Stats of a `patch_apply_begin` `changes` map: {path: {add|delete|update: {...}}}."""
    files: list[str] = []
    added = removed = 0
    for path, change in changes.items():
        files.append(path)
        if not isinstance(change, dict):
            continue
        if isinstance(change.get("add"), dict):
            added += len(str(change["add"].get("content", "")).splitlines())
        elif isinstance(change.get("delete"), dict):
            removed += len(str(change["delete"].get("content", "")).splitlines())
        elif isinstance(change.get("update"), dict):
            a, r = _diff_counts(str(change["update"].get("unified_diff", "")))
            added += a
            removed += r
    return PatchStats(tuple(files), added, removed)


def files_from_summary(stdout: str) -> tuple[str, ...]:
    """Paths from apply_patch's `Success. Updated the following files:\\nM path` summary."""
    return tuple(
        line[2:].strip()
        for line in stdout.splitlines()
        if len(line) > 2 and line[0] in "AMD" and line[1] == " "
    )


def parsed_action(parsed: object) -> tuple[str | None, str | None]:
    """(action, target) from Codex's `parsed_cmd` list; mixed lists are "unknown"."""
    items = [p for p in parsed if isinstance(p, dict)] if isinstance(parsed, list) else []
    if not items:
        return None, None
    kinds = {p.get("type") for p in items}
    if len(kinds) != 1:
        return "unknown", None
    kind = items[0].get("type")
    if not isinstance(kind, str):
        return None, None
    targets = [t for p in items if isinstance(t := (p.get("name") or p.get("path") or p.get("query")), str)]
    return kind, (", ".join(targets) if targets else None)

