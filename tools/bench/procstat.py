"""CPU time and memory of a process from /proc.

Parsing (``parse_cpu``, ``parse_status_kb``) is pure; ``read_cpu`` / ``read_memory`` read /proc and raise
``OSError`` (e.g. ``FileNotFoundError``) when the process is gone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class CpuTimes:
    """Seconds of CPU: the process's own (``user``, ``system``) and that of its children it has waited
    for (``children_user``, ``children_system``; short-lived ``tmux`` clients land here once reaped)."""

    user: float
    system: float
    children_user: float
    children_system: float

    @property
    def own(self) -> float:
        return self.user + self.system

    @property
    def total(self) -> float:
        return self.user + self.system + self.children_user + self.children_system

    def __sub__(self, other: CpuTimes) -> CpuTimes:
        return CpuTimes(
            self.user - other.user,
            self.system - other.system,
            self.children_user - other.children_user,
            self.children_system - other.children_system,
        )


def parse_cpu(stat_text: str, ticks: int = CLOCK_TICKS) -> CpuTimes:
    """Fields 14-17 (utime, stime, cutime, cstime) of /proc/<pid>/stat, in seconds.

    The command name (field 2) may contain spaces and parentheses, so fields are counted after the last
    ``)``. Raises ``ValueError`` for malformed text.
    """
    close = stat_text.rfind(")")
    if close < 0:
        raise ValueError("malformed stat: no ')'")
    rest = stat_text[close + 1 :].split()
    # rest[0] is field 3 (state); utime is field 14 → rest[11].
    if len(rest) < 15:
        raise ValueError("malformed stat: too few fields")
    utime, stime, cutime, cstime = (int(rest[i]) / ticks for i in range(11, 15))
    return CpuTimes(utime, stime, cutime, cstime)


def parse_status_kb(status_text: str, key: str) -> int | None:
    """The value in kB of a ``Key:   1234 kB`` line of /proc/<pid>/status, or ``None`` if absent."""
    for line in status_text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name == key:
            parts = value.split()
            if parts and parts[0].isdigit():
                return int(parts[0])
    return None


def read_cpu(pid: int, proc: Path = Path("/proc")) -> CpuTimes:
    return parse_cpu((proc / str(pid) / "stat").read_text())


@dataclass(frozen=True, slots=True)
class Memory:
    rss_mb: float
    hwm_mb: float


def read_memory(pid: int, proc: Path = Path("/proc")) -> Memory:
    text = (proc / str(pid) / "status").read_text()
    return Memory((parse_status_kb(text, "VmRSS") or 0) / 1024, (parse_status_kb(text, "VmHWM") or 0) / 1024)
