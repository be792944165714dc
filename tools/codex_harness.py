"""Pinned Codex CLI install check and isolated ``CODEX_HOME`` writer for tests (codex-cli.md §2).

* :func:`ensure_codex` finds (or installs, with npm, into a private prefix per release) a ``codex`` whose
  ``--version`` is the asked release (each of ``ccbot.codex.versions.TESTED_VERSIONS``); it raises
  RuntimeError saying why when it cannot. ``python -m tools.codex_harness install`` installs them all.
* :func:`write_codex_home` writes ``config.toml`` + ``mock_model_catalog.json`` pointing Codex at the
  mock server, with every setting that keeps a run offline, quiet and free of blocking screens.
* :func:`codex_env` is the environment to run Codex with (``CODEX_HOME`` set, proxies dropped).
* :func:`codex_command` is the argv that runs Codex under that environment (for ``tmux new-window``).
* :class:`TmuxCodex` drives one Codex in a private tmux server; :func:`wait_turn_ends` watches the
  rollout, the reliable end-of-turn signal.

Keep ``CODEX_HOME`` outside ``/tmp``: under the temp dir Codex prints a harmless PATH-alias warning
that ends up in the pane after exit. :func:`scratch_dir` makes such directories under ``~/.cache``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import trio

from ccbot.codex.versions import OLDEST_TESTED, TESTED_VERSIONS

PINNED_VERSION = OLDEST_TESTED  # the release the recorded fixtures under tests/data/codex-0.169 come from
MODEL = "mock-model"
BEARER_TOKEN = "mock-key"
APPROVAL_POLICIES = ("on-request", "on-failure", "never")
SANDBOX_MODES = ("workspace-write", "read-only", "danger-full-access")
CONFIG_PROFILES = ("harness", "defaults")
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
BASE_INSTRUCTIONS = (
    "You are Codex, a coding agent running in the Codex CLI. (Offline test run against a mock model.)"
)
INSTALL_TIMEOUT = 900.0
VERSION_TIMEOUT = 30.0

_VERSION = re.compile(r"\b(\d+\.\d+\.\d+)\b")
_found: dict[str, Path] = {}
_GLYPH = "\u203a"  # Codex's composer / prompt marker


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/ccbot`` or ``~/.cache/ccbot``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ccbot"


def local_prefix(version: str = PINNED_VERSION) -> Path:
    """The private npm prefix that holds ``version`` when the codex on PATH is another release."""
    return cache_root() / f"codex-{version}"


def scratch_dir(prefix: str) -> Path:
    """A new empty directory under ``cache_root()/scratch`` (outside /tmp); the caller removes it."""
    parent = cache_root() / "scratch"
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))


def codex_version(binary: Path) -> str | None:
    """The ``x.y.z`` that ``binary --version`` prints, or None if it does not run."""
    version_home = cache_root() / "version-home"
    version_home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CODEX_HOME": str(version_home)}
    try:
        done = subprocess.run(
            [str(binary), "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION.search(done.stdout)
    return match.group(1) if done.returncode == 0 and match else None


def install_codex(prefix: Path, version: str) -> None:
    """``npm install -g --prefix prefix @openai/codex@version`` (the binary lands in ``prefix/bin/codex``);
    raises RuntimeError saying why when npm is missing, fails or times out."""
    package = f"@openai/codex@{version}"
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"codex {version} is not on PATH and npm is not installed to fetch it")
    prefix.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            [npm, "install", "--global", "--prefix", str(prefix), "--no-fund", "--no-audit", package],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"npm install {package} timed out after {INSTALL_TIMEOUT:.0f}s") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"npm install {package} failed (rc={done.returncode}): {' | '.join(tail)}")


def ensure_codex(version: str = PINNED_VERSION, *, install: bool = True) -> Path:
    """A codex binary reporting exactly ``version`` (default :data:`PINNED_VERSION`, the oldest tested).

    Order: ``codex`` on PATH if it reports ``version``, then ``local_prefix(version)/bin/codex``, then
    (``install=True`` and ``CCBOT_NO_CODEX_INSTALL`` unset) ``npm install -g --prefix local_prefix(version)``,
    so every tested release sits side by side without overwriting the global one. Raises RuntimeError with
    the reason when none of these yields ``version``. The answer is cached per process and version.
    """
    if version in _found:
        return _found[version]
    reasons: list[str] = []
    on_path = shutil.which("codex")
    if on_path is not None:
        found = codex_version(Path(on_path))
        if found == version:
            _found[version] = Path(on_path)
            return _found[version]
        reasons.append(f"{on_path} reports {found or 'no version'}")
    else:
        reasons.append("no codex on PATH")
    local = local_prefix(version) / "bin" / "codex"
    if not local.exists():
        if not install or os.environ.get("CCBOT_NO_CODEX_INSTALL"):
            reasons.append(f"{local} missing and installing is disabled")
            raise RuntimeError("; ".join(reasons))
        install_codex(local_prefix(version), version)
    found = codex_version(local)
    if found != version:
        reasons.append(f"{local} reports {found or 'no version'}")
        raise RuntimeError("; ".join(reasons))
    _found[version] = local
    return local


def _toml_string(value: str) -> str:
    """A TOML basic string (JSON string escapes are valid TOML escapes for these characters)."""
    return json.dumps(value, ensure_ascii=False)


def model_catalog() -> dict[str, object]:
    """The smallest model catalog 0.169 accepts; it also silences the fallback-metadata warning."""
    return {
        "models": [
            {
                "slug": MODEL,
                "display_name": MODEL,
                "description": "Offline mock model",
                "context_window": 200000,
                "visibility": "list",
                "supported_in_api": True,
                "priority": 1,
                "shell_type": "shell_command",
                "default_reasoning_level": "medium",
                "supported_reasoning_levels": [{"effort": "medium", "description": "default"}],
                "default_reasoning_summary": "auto",
                "support_verbosity": False,
                "truncation_policy": {"mode": "tokens", "limit": 10000},
                "experimental_supported_tools": [],
                # Offers the freeform apply_patch tool, as Codex's real models do (the mock's ``patch NAME``).
                "apply_patch_tool_type": "freeform",
                "base_instructions": BASE_INSTRUCTIONS,
            }
        ]
    }


def render_config(
    home: Path,
    *,
    port: int,
    workdirs: Sequence[Path],
    approval_policy: str = "on-request",
    sandbox_mode: str = "workspace-write",
    profile: str = "harness",
) -> str:
    """The text of ``config.toml`` (see :func:`write_codex_home`).

    ``profile`` is ``"harness"`` (daemon off, paste-burst detection, animations and tips off: quiet and
    fast) or ``"defaults"``, a user's own config: the mock provider, the approval and sandbox settings and
    folder trust only, so the background daemon, paste-burst detection, animations and tips are at
    Codex's defaults — what users run.
    """
    if profile not in CONFIG_PROFILES:
        raise ValueError(f"profile must be one of {CONFIG_PROFILES}, not {profile!r}")
    if approval_policy not in APPROVAL_POLICIES:
        # "untrusted" in particular is a fatal configuration error in 0.169.
        raise ValueError(f"approval_policy must be one of {APPROVAL_POLICIES}, not {approval_policy!r}")
    if sandbox_mode not in SANDBOX_MODES:
        raise ValueError(f"sandbox_mode must be one of {SANDBOX_MODES}, not {sandbox_mode!r}")
    if not 0 < port < 65536:
        raise ValueError(f"port out of range: {port}")
    catalog = home.resolve() / "mock_model_catalog.json"
    lines = [
        f'model = "{MODEL}"',
        'model_provider = "mock"',
        f"approval_policy = {_toml_string(approval_policy)}",
        f"sandbox_mode = {_toml_string(sandbox_mode)}",
        "check_for_update_on_startup = false",
        f"model_catalog_json = {_toml_string(str(catalog))}",
        "",
        "[model_providers.mock]",
        'name = "Mock"',
        f'base_url = "http://127.0.0.1:{port}/v1"',
        f'experimental_bearer_token = "{BEARER_TOKEN}"',
        'wire_api = "responses"',
        "request_max_retries = 0",
        "stream_max_retries = 0",
    ]
    if profile == "harness":
        lines += [
            "",
            "[analytics]",
            "enabled = false",
            "",
            "[features]",
            "daemon_auto_start = false",
            "plugins = false",
            "",
            "[tui]",
            "screen_reader_detection_done = true",
            "animations = false",
            "show_tooltips = false",
            "disable_paste_burst = true",
        ]
    seen: set[str] = set()
    for workdir in workdirs:
        key = str(Path(workdir).resolve())
        if key in seen:
            continue
        seen.add(key)
        lines += ["", f"[projects.{_toml_string(key)}]", 'trust_level = "trusted"']
    return "\n".join(lines) + "\n"


def write_codex_home(
    home: Path,
    *,
    port: int,
    workdirs: Sequence[Path],
    approval_policy: str = "on-request",
    sandbox_mode: str = "workspace-write",
    profile: str = "harness",
) -> None:
    """Create ``home`` with ``config.toml`` and ``mock_model_catalog.json`` for the mock on ``port``.

    Every directory in ``workdirs`` (resolved) is pre-trusted; ``profile`` as in :func:`render_config`.
    Raises ValueError for a policy or sandbox mode 0.169 does not accept, a bad port or profile.
    """
    text = render_config(
        home, port=port, workdirs=workdirs, approval_policy=approval_policy, sandbox_mode=sandbox_mode,
        profile=profile,
    )
    home.mkdir(parents=True, exist_ok=True)
    (home / "mock_model_catalog.json").write_text(json.dumps(model_catalog(), indent=1) + "\n", "utf-8")
    (home / "config.toml").write_text(text, "utf-8")


DAEMON_PID_FILES = ("app-server-daemon/daemon.pid", "app-server-daemon/daemon-updater.pid")


def stop_codex_daemon(home: Path, *, grace: float = 3.0) -> list[int]:
    """Stop the background app-server daemon (and its updater) that Codex started for ``home``.

    The daemon outlives the panes that started it; its pid files (JSON with ``"pid"``) are
    ``home/app-server-daemon/daemon.pid`` and ``daemon-updater.pid``. A pid is signalled only while its
    command line is a Codex ``app-server`` run from ``home`` (a recycled pid is left alone): SIGTERM, then
    SIGKILL after ``grace`` seconds. Returns the pids signalled.
    """
    import signal
    import time

    stopped: list[int] = []
    for name in DAEMON_PID_FILES:
        try:
            pid = int(json.loads((Path(home) / name).read_text("utf-8"))["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if not _is_daemon_of(pid, Path(home)):
            continue
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
            stopped.append(pid)
    deadline = time.monotonic() + grace
    while any(_is_daemon_of(pid, Path(home)) for pid in stopped) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in stopped:
        if _is_daemon_of(pid, Path(home)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    return stopped


def _is_daemon_of(pid: int, home: Path) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z" and b"app-server" in argv and str(home.resolve()).encode() in argv[0]


def codex_env(home: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default ``os.environ``) with ``CODEX_HOME=home``, no proxies, ``NO_PROXY`` for loopback."""
    env = dict(os.environ if base is None else base)
    for name in PROXY_VARIABLES:
        env.pop(name, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["CODEX_HOME"] = str(Path(home).resolve())
    return env


def codex_command(binary: Path | str, home: Path, *args: str) -> list[str]:
    """``env -u <proxies> NO_PROXY=… CODEX_HOME=… <binary> --no-daemon <args>`` as an argv.

    Suitable as a tmux window command: the tmux server's own environment is not ours to trust.
    """
    argv = ["env"]
    for name in PROXY_VARIABLES:
        argv += ["-u", name]
    argv += [
        "NO_PROXY=127.0.0.1,localhost",
        "no_proxy=127.0.0.1,localhost",
        f"CODEX_HOME={Path(home).resolve()}",
        str(binary),
    ]
    if args and args[0] == "resume":
        return [*argv, "resume", "--no-daemon", *args[1:]]
    return [*argv, "--no-daemon", *args]


def rollout_files(home: Path) -> list[Path]:
    """All rollout files under ``home/sessions``, oldest thread first (thread ids are UUIDv7)."""
    return sorted(Path(home).glob("sessions/*/*/*/rollout-*.jsonl"), key=lambda p: p.name[-42:-6])


def turn_ends(rollout: Path) -> int:
    """Number of finished turns (``task_complete`` + ``turn_aborted`` events) in a rollout file."""
    count = 0
    try:
        text = rollout.read_text("utf-8")
    except OSError:
        return 0
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # the last line may be half-written
        payload = record.get("payload") if isinstance(record, dict) else None
        if record.get("type") == "event_msg" and isinstance(payload, dict):
            count += payload.get("type") in ("task_complete", "turn_aborted")
    return count


class TmuxCodex:
    """One Codex TUI in its own tmux server (``tmux -L <socket> -f /dev/null``), for tests and recording.

    All waits are bounded: each ``wait_*`` raises ``trio.TooSlowError`` after ``within`` seconds.
    :meth:`kill` (always call it, e.g. in ``finally``) kills the whole tmux server and so Codex.
    """

    def __init__(self, tmux_bin: str, socket_name: str, *, width: int = 120, height: int = 40) -> None:
        self.tmux_bin = tmux_bin
        self.socket_name = socket_name
        self.width = width
        self.height = height
        self.target = "codex:0.0"

    async def tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = await trio.run_process(
            [self.tmux_bin, "-L", self.socket_name, "-f", "/dev/null", *args],
            capture_stdout=True,
            capture_stderr=True,
            env=env,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"tmux {args[0]} failed: {done.stderr.decode(errors='replace').strip()}")
        stdout: bytes = done.stdout
        return stdout.decode("utf-8", errors="replace")

    async def start(self, argv: Sequence[str], cwd: Path, env: dict[str, str]) -> None:
        """Run ``argv`` in a new session; the pane stays (with ``[codex exited rc=N]``) after it exits."""
        command = f'{shlex.join(argv)}; echo "[codex exited rc=$?]"; sleep 3600'
        await self.tmux(
            "new-session",
            "-d",
            "-s",
            "codex",
            "-x",
            str(self.width),
            "-y",
            str(self.height),
            "-c",
            str(cwd),
            command,
            env=env,
        )

    async def capture(self, *, ansi: bool = False) -> str:
        args = ["capture-pane", "-p", "-t", self.target]
        if ansi:
            args.insert(2, "-e")
        return await self.tmux(*args)

    async def send_text(self, text: str) -> None:
        await self.tmux("send-keys", "-t", self.target, "-l", "--", text)

    async def press(self, *keys: str) -> None:
        await self.tmux("send-keys", "-t", self.target, *keys)

    async def wait_for(
        self, predicate: Callable[[str], bool], within: float, *, interval: float = 0.05
    ) -> str:
        """Poll the pane until ``predicate(capture text)``; returns that capture."""
        with trio.fail_after(within):
            while True:
                text = await self.capture()
                if predicate(text):
                    return text
                await trio.sleep(interval)

    async def submit(self, text: str, *, within: float = 10.0) -> None:
        """Type ``text``, press Enter, and press it once more if the composer still holds the text."""
        await self.send_text(text)
        first = text.splitlines()[0] if text else ""
        await self.wait_for(lambda screen: f"{_GLYPH} {first}" in screen, within)
        await self.press("Enter")
        with trio.move_on_after(1.5):
            await self.wait_for(lambda screen: not _composer_holds(screen, first), within)
            return
        await self.press("Enter")
        await self.wait_for(lambda screen: not _composer_holds(screen, first), within)

    async def kill(self) -> None:
        """Kill this tmux server (and so Codex) and remove its socket file, which tmux 3.3 leaves behind."""
        with trio.move_on_after(5):
            try:
                socket_path = (await self.tmux("display-message", "-p", "#{socket_path}")).strip()
            except RuntimeError:
                socket_path = ""  # no server running
            await trio.run_process(
                [self.tmux_bin, "-L", self.socket_name, "kill-server"],
                check=False,
                capture_stdout=True,
                capture_stderr=True,
            )
            if socket_path:
                await trio.Path(socket_path).unlink(missing_ok=True)


def _composer_holds(screen: str, first_line: str) -> bool:
    """True while the bottom-most U+203A line (the composer) still shows ``first_line``."""
    composer = [line for line in screen.splitlines() if line.startswith(_GLYPH)]
    return bool(composer) and composer[-1].rstrip() == f"{_GLYPH} {first_line}".rstrip()


async def wait_turn_ends(home: Path, count: int, within: float) -> Path:
    """Wait until the newest rollout under ``home`` has at least ``count`` finished turns; return it."""
    with trio.fail_after(within):
        while True:
            files = rollout_files(home)
            if files and turn_ends(files[-1]) >= count:
                return files[-1]
            await trio.sleep(0.1)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tools.codex_harness install``: make every tested Codex release runnable (side by side,
    the global install untouched) and print each binary; exit 1 naming the release that failed."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tools.codex_harness")
    parser.add_argument("action", choices=["install"])
    parser.parse_args(argv)
    for version in TESTED_VERSIONS:
        try:
            print(f"codex {version}: {ensure_codex(version)}")
        except RuntimeError as exc:
            print(f"codex {version}: {exc}")
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
