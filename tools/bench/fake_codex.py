"""A synthetic Codex for the bench: the program each benchmark tmux pane runs.

What it does, and why:

* creates ``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<local time>-<uuid7>.jsonl``, writes the
  ``session_meta`` line and keeps the file open for writing for its whole life (ccbot reads output only from
  a rollout the pane's process tree holds open, see ``ccbot.codex.procfs``);
* draws a Codex 0.169-like idle screen (banner, composer ``\u203a Ask Codex to do anything``, the footer
  ``  <model> <effort> · <cwd>`` and the hint line), so ``ccbot.screen.parse`` sees a READY composer;
* reads the terminal in raw mode: typed bytes go into the composer (echoed at once) and every read is
  logged as ``{"t": <CLOCK_MONOTONIC seconds>, "kind": "input", "composer": <text so far>}``; Enter submits:
  it logs ``submit`` and appends a whole turn (``task_started``, the prompt, an ``AgentMessage`` reply
  ``"echo: <prompt>"``, ``task_complete``) to the rollout in one write, the way the bot expects a turn.

The first event-log line is ``{"kind": "ready", "rollout": <path>, "pid": <pid>}``. Other processes (the
bench) may append lines to the same rollout with ``O_APPEND``; each append is one ``write``.

Run: ``python -m tools.bench.fake_codex --codex-home DIR --events FILE [--cwd DIR]``. Exits on SIGTERM,
SIGHUP or end of input.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import termios
import time
import tty
from pathlib import Path

from tools.bench.lines import LineMaker, rollout_relpath, uuid7

MODEL_FOOTER = "  mock-model default · "
HINTS = "  ← for agents · ? for shortcuts"
PLACEHOLDER = "Ask Codex to do anything"


def idle_screen(rows: int, cols: int, cwd: str, composer: str) -> list[str]:
    """The screen as ``rows`` lines (no escapes): banner at the top, composer, blank, footer, hints at the
    bottom. An empty ``composer`` shows the placeholder. Lines are cut to ``cols`` characters."""
    rows = max(rows, 8)
    lines = [""] * rows
    lines[1] = "  >_ OpenAI Codex (v0.169.0)"
    lines[2] = "     " + cwd
    lines[rows - 4] = "\u203a " + (composer or PLACEHOLDER)
    lines[rows - 2] = MODEL_FOOTER + cwd
    lines[rows - 1] = HINTS
    return [line[:cols] for line in lines]


def screen_bytes(rows: int, cols: int, cwd: str, composer: str) -> bytes:
    """Full repaint: home, then each row cleared and written at its position; cursor left on the composer."""
    parts = ["\x1b[H"]
    for index, line in enumerate(idle_screen(rows, cols, cwd, composer)):
        parts.append(f"\x1b[{index + 1};1H\x1b[2K{line}")
    parts.append(f"\x1b[{max(rows, 8) - 3};{3 + len(composer)}H")
    return "".join(parts).encode()


def clean_input(data: str) -> str:
    """Drop bracketed-paste markers and other escape sequences from typed input (keeps CR and text)."""
    data = data.replace("\x1b[200~", "").replace("\x1b[201~", "")
    out = []
    i = 0
    while i < len(data):
        ch = data[i]
        if ch == "\x1b":
            i += 1
            if i < len(data) and data[i] == "[":
                i += 1
                while i < len(data) and not ("@" <= data[i] <= "~"):
                    i += 1
            i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


class FakeCodex:
    def __init__(self, codex_home: Path, events: Path, cwd: str) -> None:
        now = time.time()
        self.cwd = cwd
        self.thread_id = uuid7(int(now * 1000), os.urandom(10))
        self.maker = LineMaker(self.thread_id, cwd=cwd, rng=random.Random())
        self.path = codex_home / rollout_relpath(now, self.thread_id)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.write(self.fd, self.maker.session_meta(now).encode())
        self.events = open(events, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - lives as long as we do
        self.composer = ""
        self.log({"kind": "ready", "rollout": str(self.path), "pid": os.getpid(), "thread": self.thread_id})

    def log(self, event: dict[str, object]) -> None:
        self.events.write(json.dumps({"t": time.monotonic(), **event}) + "\n")

    def paint(self) -> None:
        size = os.get_terminal_size(sys.stdout.fileno())
        os.write(sys.stdout.fileno(), screen_bytes(size.lines, size.columns, self.cwd, self.composer))

    def submit(self) -> None:
        text = self.composer
        self.composer = ""
        self.paint()
        self.log({"kind": "submit", "text": text})
        if not text.strip():
            return
        now = time.time()
        turn = self.maker.new_turn_id(now)
        reply = f"echo: {text}"
        lines = [
            self.maker.task_started(now, turn),
            *self.maker.user_message(now, turn, text),
            *self.maker.agent_message(now, turn, reply),
            self.maker.task_complete(now, turn, reply, 5),
        ]
        os.write(self.fd, "".join(lines).encode())

    def feed(self, data: str) -> None:
        for ch in clean_input(data):
            if ch in "\r\n":
                self.submit()
            elif ch in "\x7f\b":
                self.composer = self.composer[:-1]
            elif ch >= " ":
                self.composer += ch
        self.paint()
        self.log({"kind": "input", "composer": self.composer})

    def run(self) -> None:
        stdin = sys.stdin.fileno()
        saved = termios.tcgetattr(stdin)
        tty.setraw(stdin)
        try:
            self.paint()
            while True:
                data = os.read(stdin, 65536)
                if not data:
                    return
                self.feed(data.decode("utf-8", "replace"))
        finally:
            termios.tcsetattr(stdin, termios.TCSADRAIN, saved)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fake_codex")
    parser.add_argument("--codex-home", type=Path, required=True)
    parser.add_argument("--events", type=Path, required=True)
    parser.add_argument("--cwd", default=os.getcwd())
    args = parser.parse_args(argv)

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    FakeCodex(args.codex_home, args.events, args.cwd).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
