"""``python -m tools.mock_openai [--port N] [--port-file F] [--log F.jsonl] [--lifetime S]``.

Prints ``LISTENING 127.0.0.1:<port>`` once bound, writes the port to ``--port-file``, and exits after
``--lifetime`` seconds (default one hour) so a forgotten server never lingers.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

import trio

from tools.mock_openai.server import RequestLog, serve_mock_openai


async def _run(port: int, port_file: Path | None, log: RequestLog, lifetime: float) -> None:
    with trio.move_on_after(lifetime):
        async with trio.open_nursery() as nursery:
            bound = await nursery.start(functools.partial(serve_mock_openai, port=port, log=log))
            if port_file is not None:
                tmp = port_file.with_name(port_file.name + ".tmp")
                tmp.write_text(f"{bound}\n", encoding="utf-8")
                tmp.replace(port_file)
            print(f"LISTENING 127.0.0.1:{bound}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mock_openai", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", type=Path)
    parser.add_argument("--log", type=Path, help="append every request as a JSON line")
    parser.add_argument("--lifetime", type=float, default=3600.0, help="exit after this many seconds")
    args = parser.parse_args(argv)
    try:
        trio.run(_run, args.port, args.port_file, RequestLog(args.log), args.lifetime)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
