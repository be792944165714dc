"""`python -m ccbot replay ROLLOUT.jsonl [--format text|json]`: show what the bot would post.

Decodes a Codex rollout file with the same decoder, renderer and merger the bot uses and prints
the resulting messages in order, one block per message. Lines that cannot be decoded are
reported on stderr with their line number and skipped. Exit status: 0 when the file was read
(even with bad lines), 1 when it cannot be read, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from ccbot.codex.records import Malformed, Record
from ccbot.codex.rollout import RolloutDecoder
from ccbot.codex.stored import read_rollout
from ccbot.render.merge import merge_rendered
from ccbot.render.messages import Rendered, RenderOptions, render_conversation

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ccbot replay", description="Print the Telegram messages the bot would send for a Codex rollout."
    )
    parser.add_argument("rollout", type=Path, help="a Codex rollout-*.jsonl (or .jsonl.zst) file")
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )
    parser.add_argument("--no-merge", action="store_true", help="show every rendered piece on its own")
    parser.add_argument("--hide-user", action="store_true", help="do not echo the user's prompts")
    return parser


def decode_file(data: bytes, name: str, errors: TextIO) -> list[Record]:
    """Decode rollout bytes; report bad lines to `errors` as `name:N: reason`."""
    decoder = RolloutDecoder()
    records: list[Record] = []
    lines = data.split(b"\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        for record in decoder.feed(line):
            if isinstance(record, Malformed):
                unfinished = number == len(lines) and not data.endswith(b"\n")
                note = " (last line has no newline: probably still being written)" if unfinished else ""
                print(f"{name}:{number}: skipped: {record.reason}{note}", file=errors)
            else:
                records.append(record)
    return records


def _write_text(messages: list[Rendered], out: TextIO) -> None:
    for index, message in enumerate(messages, start=1):
        if index > 1:
            out.write("\n")
        out.write(f"--- #{index} {message.kind} ---\n{message.html}\n")


def _write_json(messages: list[Rendered], out: TextIO) -> None:
    for index, message in enumerate(messages, start=1):
        obj = {
            "index": index,
            "kind": message.kind,
            "turn_id": message.turn_id,
            "html": message.html,
            "plain": message.plain,
        }
        out.write(json.dumps(obj, ensure_ascii=False) + "\n")


def main(argv: list[str]) -> int:
    """Run the replay sub-command with `argv` (without the sub-command name); return the exit code."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage message
        return exc.code if isinstance(exc.code, int) else 2
    path: Path = args.rollout
    try:
        data = read_rollout(path)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        print(f"ccbot replay: cannot read {path}: {reason}", file=sys.stderr)
        return 1
    records = decode_file(data, str(path), sys.stderr)
    messages = render_conversation(records, RenderOptions(echo_user=not args.hide_user))
    if not args.no_merge:
        messages = merge_rendered(messages)
    if args.format == "json":
        _write_json(messages, sys.stdout)
    else:
        _write_text(messages, sys.stdout)
    return 0
