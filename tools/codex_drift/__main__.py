"""``python -m tools.codex_drift [VERSION] [--against DIR] [--codex BIN | --recording DIR] [--keep]``

1. VERSION defaults to the newest published Codex (``npm view @openai/codex version``).
2. It is installed into a temporary npm prefix (nothing global changes).
3. ``tools.record_codex --keep-going`` records every scenario with it against the mock model, into a
   temporary folder (a scenario the new release cannot get through is reported, not fatal).
4. ``tools.codex_drift.compare`` prints what changed against the fixtures (default
   ``tests/data/codex-0.169``) and which parser it touches.

``--codex BIN`` records with an installed binary (skips steps 1 and 2); ``--recording DIR`` skips steps 1 to 3
and compares an existing recording. Exit status: 0 when no parser reads
anything differently, 1 when one does, 2 when installing or recording failed. This is how the tested range
(``ccbot/codex/versions.py``) moves up: run it on the new release, mend what it names, add the release.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from tools.codex_drift.compare import compare
from tools.codex_harness import install_codex, scratch_dir

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "data" / "codex-0.169"
NPM_TIMEOUT = 120.0
RECORD_TIMEOUT = 1800.0


def newest_published() -> str:
    """The ``latest`` version npm reports for @openai/codex; raises RuntimeError when npm cannot say."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed")
    done = subprocess.run([npm, "view", "@openai/codex", "version"], capture_output=True, text=True,
                          timeout=NPM_TIMEOUT, check=False)
    version = done.stdout.strip()
    if done.returncode != 0 or not version:
        raise RuntimeError(f"npm view failed: {(done.stderr or done.stdout).strip()[-300:]}")
    return version


def install(version: str, work: Path) -> Path:
    """Install ``version`` into ``work/prefix``; returns its binary."""
    prefix = work / "prefix"
    print(f"installing codex {version} into {prefix} …", flush=True)
    install_codex(prefix, version)
    return prefix / "bin" / "codex"


def record_with(codex: Path, work: Path) -> Path:
    """Record every scenario with the ``codex`` binary into ``work/recording``; returns that folder."""
    out = work / "recording"
    print(f"recording with {codex} into {out} (a minute or two) …", flush=True)
    done = subprocess.run([sys.executable, "-m", "tools.record_codex", "--out", str(out),
                           "--codex", str(codex), "--keep-going"],
                          cwd=ROOT, timeout=RECORD_TIMEOUT, check=False)
    if done.returncode != 0 or not (out / "manifest.json").exists():
        raise RuntimeError(f"tools.record_codex exited {done.returncode}")
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the steps in the module docstring; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m tools.codex_drift", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("version", nargs="?", help="the Codex release to check (default: newest published)")
    parser.add_argument("--against", type=Path, default=FIXTURES, help="the recorded fixtures to compare with")
    parser.add_argument("--recording", type=Path, help="compare this existing recording instead of recording")
    parser.add_argument("--codex", type=Path, help="record with this installed binary instead of installing one")
    parser.add_argument("--keep", action="store_true", help="keep the temporary install and recording")
    args = parser.parse_args(argv)
    work: Path | None = None
    try:
        if args.recording is not None:
            recording = args.recording
        else:
            work = scratch_dir("drift-")
            codex = args.codex or install(args.version or newest_published(), work)
            recording = record_with(codex, work)
        drift = compare(args.against, recording)
    except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as exc:
        print(f"codex_drift: {exc}", file=sys.stderr)
        return 2
    finally:
        if work is not None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        elif work is not None:
            print(f"kept {work}")
    for line in drift.lines():
        print(line)
    return 1 if drift.parser_visible else 0


if __name__ == "__main__":
    raise SystemExit(main())
