"""Command line: ``python -m ccbot [run] [--log-format F] [--log-level L]``, ``replay``, ``doctor``.

Exit codes: 0 clean shutdown; 1 runtime failure; 2 bad configuration or usage (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys

from ccbot.config import ConfigError, load_config
from ccbot.logconfig import FORMATS, LEVELS, configure_logging


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ccbot", description="Drive Codex CLI in tmux from Telegram topics.")
    parser.add_argument("--log-format", choices=FORMATS, default="auto",
                        help="console on a TTY, JSON otherwise, syslog-prefixed JSON under journald (auto)")
    parser.add_argument("--log-level", choices=LEVELS, default="info")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot in the foreground (default)")
    replay = sub.add_parser("replay", help="print the messages the bot would send for a rollout file")
    replay.add_argument("rollout")
    replay.add_argument("--format", choices=("text", "json"), default="text")
    doctor = sub.add_parser("doctor", help="check tmux, Codex, configuration and Telegram; say what to fix")
    doctor.add_argument("--timeout", type=float, help="seconds per Telegram request")
    return parser


def main(argv: list[str] | None = None) -> int:
    """The ``ccbot`` command: ``replay``, ``doctor`` or run the bot (default) with ``argv`` (default: sys.argv).
    Returns the exit status: 2 on a configuration error, otherwise the bot's.
    """
    args_list = sys.argv[1:] if argv is None else argv
    if args_list[:1] == ["replay"]:
        from ccbot.replay import main as replay_main

        return replay_main(args_list[1:])
    if args_list[:1] == ["doctor"]:
        from ccbot.doctor import main as doctor_main

        return doctor_main(args_list[1:])
    args = _parser().parse_args(args_list)
    try:
        cfg = load_config()
    except ConfigError as exc:
        print(f"ccbot: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(args.log_format, args.log_level, secrets=cfg.secrets)
    import trio

    from ccbot.app import main as app_main

    return trio.run(app_main, cfg, restrict_keyboard_interrupt_to_checkpoints=True)


if __name__ == "__main__":
    sys.exit(main())
