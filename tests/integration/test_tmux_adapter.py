"""The tmux adapter against a real tmux server on a private socket (one per test, killed afterwards).

Input tests type into a window running a small Python reader that puts its tty in raw mode and
appends every byte it receives to a file, so what arrived can be compared byte for byte.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import os
import random
import secrets
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import trio

from ccbot.tmux.adapter import (
    ESCAPE_GAP,
    PLACEHOLDER_NAME,
    Tmux,
    TmuxError,
    TmuxNoTarget,
    TmuxServerDown,
    TmuxTimeout,
    WindowInfo,
)
from ccbot.tmux.keys import UnknownKeyError

pytestmark = pytest.mark.tmux

SESSION = "ccbot-test"
OWNER = "-100123:42:test-owner"  # starts with "-" on purpose: must not be read as a flag
WAIT = 10.0  # upper bound for anything we wait for

READER = r"""
import os, sys, tty
out, bracketed = sys.argv[1], sys.argv[2] == "1"
tty.setraw(0)
if bracketed:
    os.write(1, b"\x1b[?2004h")
fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
# tmux handles pane output in order, so once READY is on screen the paste mode is set too.
os.write(1, b"READY\r\n")
while True:
    data = os.read(0, 65536)
    if not data:
        break
    os.write(fd, data)
"""

TmuxFactory = Callable[..., Tmux]


async def wait_until(predicate: Callable[[], Awaitable[bool]], within: float = WAIT) -> None:
    """Poll ``predicate`` every 20 ms until it is true; TooSlowError after ``within`` s."""
    with trio.fail_after(within):
        while not await predicate():
            await trio.sleep(0.02)


async def raw_tmux(tmux_bin: str, socket_name: str, *args: str, check: bool = True) -> str:
    """Run tmux directly (outside the adapter) to set things up or observe them."""
    with trio.fail_after(WAIT):
        result = await trio.run_process(
            [tmux_bin, "-u", "-L", socket_name, *args], capture_stdout=True, capture_stderr=True, check=check
        )
    return result.stdout.decode()


@pytest.fixture
async def tmux_factory(tmux_bin: str) -> AsyncIterator[TmuxFactory]:
    """Make adapters on fresh ``ccbot-test-<random>`` sockets; every server is killed at the end."""
    made: list[Tmux] = []

    def make(**kwargs: Any) -> Tmux:
        kwargs.setdefault("socket_name", f"ccbot-test-{secrets.token_hex(6)}")
        kwargs.setdefault("tmux_bin", tmux_bin)
        kwargs.setdefault("config_file", "/dev/null")
        kwargs.setdefault("call_timeout", 5.0)
        tmux = Tmux(kwargs.pop("session_name", SESSION), **kwargs)
        made.append(tmux)
        return tmux

    try:
        yield make
    finally:
        with trio.CancelScope(shield=True), trio.move_on_after(WAIT):
            for tmux in made:
                with contextlib.suppress(TmuxError):  # the fake binaries of the failure tests
                    await tmux.kill_server()
                # tmux 3.3a leaves the socket file behind after kill-server (-L: tmux(1) FILES).
                socket_dir = trio.Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"
                await (socket_dir / socket_of(tmux)).unlink(missing_ok=True)


@pytest.fixture
async def tmux(tmux_factory: TmuxFactory) -> Tmux:
    t = tmux_factory()
    await t.ensure_session()
    return t


def socket_of(t: Tmux) -> str:
    return t._prefix[t._prefix.index("-L") + 1]


async def start_reader(t: Tmux, tmp_path: Path, *, bracketed: bool = False) -> tuple[WindowInfo, Path]:
    script = tmp_path / "reader.py"
    script.write_text(READER)
    out = tmp_path / f"received-{secrets.token_hex(4)}.bin"
    argv = [sys.executable, str(script), str(out), str(int(bracketed))]
    window = await t.new_window("reader", tmp_path, argv, {}, owner=OWNER)

    async def ready() -> bool:
        return await trio.Path(out).exists() and "READY" in await t.capture(window.pane_id)

    await wait_until(ready)
    return window, out


async def received(out: Path, size: int) -> bytes:
    """Wait until ``out`` holds at least ``size`` bytes, then give a little time for extra bytes."""

    async def enough() -> bool:
        return (await trio.Path(out).stat()).st_size >= size

    await wait_until(enough)
    await trio.sleep(0.1)  # anything beyond `size` would be a bug; let it show up
    return await trio.Path(out).read_bytes()


# ---------------------------------------------------------------- session and windows


async def test_ensure_session_is_idempotent_with_an_unmarked_placeholder(tmux: Tmux) -> None:
    await tmux.ensure_session()
    await tmux.ensure_session()
    windows = await tmux.list_windows()
    assert len(windows) == 1
    placeholder = windows[0]
    assert placeholder.name == PLACEHOLDER_NAME
    assert not placeholder.is_ccbot and placeholder.owner == ""
    assert placeholder.window_id.startswith("@") and placeholder.pane_id.startswith("%")
    state = await tmux.pane_state(placeholder.pane_id)
    assert (state.width, state.height) == (200, 50)


async def test_concurrent_ensure_session(tmux_factory: TmuxFactory) -> None:
    t = tmux_factory()
    async with trio.open_nursery() as nursery:
        for _ in range(4):
            nursery.start_soon(t.ensure_session)
    assert [w.name for w in await t.list_windows()] == [PLACEHOLDER_NAME]


@pytest.fixture
def real_tmp(tmp_path: Path) -> Path:
    """tmp_path without symlinks, as tmux reports a pane's cwd."""
    return tmp_path.resolve()


async def test_new_window_lifecycle(tmux: Tmux, tmp_path: Path, real_tmp: Path) -> None:
    a = await tmux.new_window("alpha", tmp_path, ["sleep", "60"], {}, owner=OWNER)
    b = await tmux.new_window("beta", tmp_path, ["sleep", "60"], {}, owner=OWNER)
    assert a.is_ccbot and b.is_ccbot
    assert a.owner == b.owner == OWNER
    assert (a.name, b.name) == ("alpha", "beta")
    assert a.cwd == real_tmp
    assert a.window_id != b.window_id and a.pane_id != b.pane_id
    assert a.pane_pid > 0 and not a.pane_dead

    async def running_sleep() -> bool:
        return (await tmux.pane_state(a.pane_id)).current_command == "sleep"

    await wait_until(running_sleep)
    listed = {w.window_id: w for w in await tmux.list_windows()}
    assert set(listed) >= {a.window_id, b.window_id}
    assert [w.is_ccbot for w in listed.values()].count(False) == 1  # only the placeholder
    assert listed[a.window_id].pane_pid == a.pane_pid

    await tmux.rename_window(a.window_id, "-odd; name 🚀;")
    assert (await tmux.window_info(a.window_id)).name == "-odd; name 🚀;"

    assert await tmux.window_exists(a.window_id)
    assert await tmux.kill_window(a.window_id)
    assert not await tmux.window_exists(a.window_id)
    assert not await tmux.kill_window(a.window_id)
    assert not await tmux.window_exists("@99999")
    assert a.window_id not in {w.window_id for w in await tmux.list_windows()}
    with pytest.raises(TmuxNoTarget):
        await tmux.pane_state(a.pane_id)
    with pytest.raises(TmuxNoTarget):
        await tmux.rename_window(a.window_id, "x")


async def test_argv_is_quoted_and_cwd_checked(tmux: Tmux, tmp_path: Path, real_tmp: Path) -> None:
    out = tmp_path / "args.txt"
    argv = ["sh", "-c", 'printf "%s|" "$@" > args.txt; pwd >> args.txt', "sh"]
    argv += ["a b", "$HOME", "it's", "-x;", "*", "`id`", "\\n", ";"]
    await tmux.new_window("argv", tmp_path, argv, {}, owner=OWNER)

    async def written() -> bool:
        return await trio.Path(out).exists() and (await trio.Path(out).read_text()).endswith("\n")

    await wait_until(written)
    assert await trio.Path(out).read_text() == f"a b|$HOME|it's|-x;|*|`id`|\\n|;|{real_tmp}\n"
    with pytest.raises(NotADirectoryError):
        await tmux.new_window("nodir", tmp_path / "missing", ["true"], {}, owner=OWNER)
    with pytest.raises(ValueError):
        await tmux.new_window("noargv", tmp_path, [], {}, owner=OWNER)


async def test_remain_on_exit_keeps_dead_windows(tmux: Tmux, tmp_path: Path) -> None:
    w = await tmux.new_window("dies", tmp_path, ["sh", "-c", "echo goodbye-marker; exit 7"], {}, owner=OWNER)

    async def dead() -> bool:
        return (await tmux.pane_state(w.pane_id)).dead

    await wait_until(dead)
    state = await tmux.pane_state(w.pane_id)
    assert state.dead_status == 7
    # tmux scrolls the screen up one line to print "Pane is dead", so row 0 is in the scrollback.
    after_exit = await tmux.capture(w.pane_id, start=-5)
    assert "goodbye-marker\n" in after_exit and "Pane is dead (status 7" in after_exit
    assert await tmux.window_exists(w.window_id)
    assert {x.window_id: x for x in await tmux.list_windows()}[w.window_id].pane_dead
    assert state.dead_signal is None
    # The pane's sh reports a program killed by signal N as status 128+N.
    killed = await tmux.new_window("killed", tmp_path, ["sh", "-c", "kill -9 $$"], {}, owner=OWNER)
    await wait_until(functools.partial(_is_dead, tmux, killed.pane_id))
    state = await tmux.pane_state(killed.pane_id)
    assert (state.dead_status, state.dead_signal) == (128 + 9, None)
    # A program that exits at once must win neither against remain-on-exit nor against tmux
    # reading its last output (without the linger, about 1 in 13 of these lost the line).
    argv = ["sh", "-c", 'printf "last words %s\\n" "$1"; exit 3', "sh"]
    instant = [await tmux.new_window(f"instant{i}", tmp_path, [*argv, str(i)], {}, owner=OWNER) for i in range(8)]
    for i, x in enumerate(instant):
        await wait_until(functools.partial(_is_dead, tmux, x.pane_id))
        assert (await tmux.pane_state(x.pane_id)).dead_status == 3
        assert await tmux.window_exists(x.window_id)
        assert f"last words {i}\n" in await tmux.capture(x.pane_id, start=-5)


async def _is_dead(tmux: Tmux, pane_id: str) -> bool:
    return (await tmux.pane_state(pane_id)).dead


async def test_capture_plain_ansi_and_scrollback(tmux: Tmux, tmp_path: Path) -> None:
    script = "seq 1 120; printf '\\033[31mRED\\033[0m plain'; exec sleep 60"
    w = await tmux.new_window("cap", tmp_path, ["sh", "-c", script], {}, owner=OWNER)

    async def shown() -> bool:
        return "RED plain" in await tmux.capture(w.pane_id)

    await wait_until(shown)
    visible = await tmux.capture(w.pane_id)
    assert "\x1b" not in visible
    lines = visible.split("\n")
    assert len(lines) == 50 + 1  # 50 rows, each '\n'-terminated
    assert lines[0] == "72" and lines[48] == "120" and lines[49] == "RED plain"
    assert "\x1b[31mRED" in await tmux.capture(w.pane_id, ansi=True)
    history = (await tmux.capture(w.pane_id, start=-200)).split("\n")
    assert history[0] == "1" and "RED plain" in history
    state = await tmux.pane_state(w.pane_id)
    assert (state.cursor_x, state.cursor_y) == (len("RED plain"), 49)
    assert not state.in_mode and not state.dead and state.pid == w.pane_pid


# ---------------------------------------------------------------- typing


LITERALS = [
    "Enter",
    " C-c ",
    ";",
    "a;",
    "b\\;",
    "\\",
    "-x",
    "--",
    "-",
    "{",
    "}",
    "#{pane_id} #[fg=red] ##",
    "~$HOME `id` $(id) 'q' \"d\"",
    "😀👩‍👩‍👧❤️🇺🇸",
    "שלום עולם مرحبا",
    "\t tabs\t\t",
    "line1\nline2\r",
    "e\u0301 \u200b\ufeff\u3000",
    "\x1b",
    "send-keys C-c Enter",
]


async def test_send_text_is_literal(tmux: Tmux, tmp_path: Path) -> None:
    w, out = await start_reader(tmux, tmp_path)
    for text in LITERALS:
        await tmux.send_text(w.pane_id, text)
    expected = "".join(LITERALS).encode()
    assert await received(out, len(expected)) == expected


async def test_send_text_random_unicode(tmux: Tmux, tmp_path: Path) -> None:
    rng = random.Random(20260101)
    ranges = [(1, 0x7F), (0x80, 0x7FF), (0x800, 0xD7FF), (0xE000, 0xFFFF), (0x10000, 0x10FFFF)]
    texts = []
    for _ in range(60):
        chars = []
        for _ in range(rng.randrange(1, 30)):
            lo, hi = rng.choice(ranges)
            chars.append(chr(rng.randint(lo, hi)))
        texts.append("".join(chars))
    w, out = await start_reader(tmux, tmp_path)
    for text in texts:
        await tmux.send_text(w.pane_id, text)
    expected = "".join(texts).encode()
    assert await received(out, len(expected)) == expected


async def test_send_text_100k(tmux: Tmux, tmp_path: Path) -> None:
    text = ("0123456789 héllo; 😀 Enter\tשלום\n" * 4000)[:100_000]
    w, out = await start_reader(tmux, tmp_path)
    await tmux.send_text(w.pane_id, text)
    expected = text.encode()
    assert len(expected) > 100_000
    assert await received(out, len(expected)) == expected


async def test_send_text_drops_nul_and_ignores_empty(tmux: Tmux, tmp_path: Path) -> None:
    w, out = await start_reader(tmux, tmp_path)
    await tmux.send_text(w.pane_id, "")
    await tmux.send_text(w.pane_id, "a\x00b")
    assert await received(out, 2) == b"ab"


async def test_send_keys_named(tmux: Tmux, tmp_path: Path) -> None:
    w, out = await start_reader(tmux, tmp_path)
    with pytest.raises(UnknownKeyError):
        await tmux.send_keys(w.pane_id, "Enter", "C-d")  # nothing is sent if any key is refused
    await tmux.send_keys(w.pane_id, "Enter", "Tab", "esc", "ctrl-c", "BSpace", "↑", "y", "7", "Space")
    expected = b"\r\t\x1b\x03\x7f\x1b[Ay7 "
    assert await received(out, len(expected)) == expected


async def test_paste_is_one_bracketed_paste(tmux: Tmux, tmp_path: Path) -> None:
    w, out = await start_reader(tmux, tmp_path, bracketed=True)
    text = "first line\r\nsecond; Enter C-c\nthird\rfourth \x1b[201~evil\n"
    await tmux.paste_text(w.pane_id, text)
    expected = b"\x1b[200~first line\nsecond; Enter C-c\nthird\nfourth evil\n\x1b[201~"
    got = await received(out, len(expected))
    assert got == expected
    assert (await raw_tmux(tmux._prefix[0], socket_of(tmux), "list-buffers")) == ""


async def test_paste_large_text_arrives_whole(tmux: Tmux, tmp_path: Path) -> None:
    w, out = await start_reader(tmux, tmp_path, bracketed=True)
    text = "".join(f"line {i}: ünïcode 😀 ; Enter\n" for i in range(3000))
    await tmux.paste_text(w.pane_id, text)
    expected = b"\x1b[200~" + text.encode() + b"\x1b[201~"
    assert len(expected) > 90_000
    assert await received(out, len(expected)) == expected


async def test_paste_without_bracketed_mode_keeps_lf(tmux: Tmux, tmp_path: Path) -> None:
    w, out = await start_reader(tmux, tmp_path, bracketed=False)
    await tmux.paste_text(w.pane_id, "a\nb\n")
    await tmux.paste_text(w.pane_id, "")
    assert await received(out, 4) == b"a\nb\n"


async def test_input_leaves_copy_mode(tmux: Tmux, tmp_path: Path) -> None:
    w, out = await start_reader(tmux, tmp_path)
    sock, tmux_bin = socket_of(tmux), tmux._prefix[0]
    expected = b""
    for action, payload in (("text", "typed"), ("keys", "Enter"), ("paste", "pasted")):
        await raw_tmux(tmux_bin, sock, "copy-mode", "-t", w.pane_id)
        assert (await tmux.pane_state(w.pane_id)).in_mode
        if action == "text":
            await tmux.send_text(w.pane_id, payload)
            expected += payload.encode()
        elif action == "keys":
            await tmux.send_keys(w.pane_id, payload)
            expected += b"\r"
        else:
            await tmux.paste_text(w.pane_id, payload)
            expected += payload.encode()
        assert not (await tmux.pane_state(w.pane_id)).in_mode
    assert await received(out, len(expected)) == expected


async def test_concurrent_sends_to_one_pane_do_not_interleave(tmux: Tmux, tmp_path: Path) -> None:
    w, out = await start_reader(tmux, tmp_path)
    # Each text needs several chunks; a lock per pane keeps each one contiguous.
    texts = [c * 10_000 for c in "abc"]
    async with trio.open_nursery() as nursery:
        for text in texts:
            nursery.start_soon(tmux.send_text, w.pane_id, text)
    got = (await received(out, 30_000)).decode()
    assert sorted(got[i : i + 10_000] for i in range(0, 30_000, 10_000)) == texts


# ---------------------------------------------------------------- environment


async def test_env_is_scrubbed(tmux_factory: TmuxFactory, tmp_path: Path) -> None:
    token = "424242:AAH-" + secrets.token_hex(16)
    extra = "extra-secret-" + secrets.token_hex(8)
    caller_env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": token,
        "ALLOWED_USERS": "4242",
        "OPENAI_API_KEY": "sk-" + secrets.token_hex(12),
        "CCBOT_STATE_DIR": "/var/lib/ccbot-test",
        "TMUX": "/nonexistent/socket,1,0",
        "TMUX_PANE": "%77",
        "INNOCENT_LOOKING": f"Bearer {token}",
        "HOLDS_EXTRA": f"x{extra}x",
        "CCBOT_TEST_MARKER_OK": "not-secret",
        "PLAIN_MARKER": "plain-marker-value",
    }
    t = tmux_factory(env=caller_env, secrets=[extra])
    await t.ensure_session()
    out = tmp_path / "env.txt"
    window_env = {"SAFE_VAR": "ok value; with spaces", "LEAK": token, "LEAK2": extra}
    window = await t.new_window("env", tmp_path, ["sh", "-c", "env > env.txt; exec sleep 60"], window_env, owner=OWNER)

    async def written() -> bool:
        return await trio.Path(out).exists() and "SAFE_VAR=" in await trio.Path(out).read_text()

    await wait_until(written)
    seen_by_window = await trio.Path(out).read_text()
    server_env = await raw_tmux(t._prefix[0], socket_of(t), "show-environment", "-g")
    for text in (seen_by_window, server_env):
        assert "PLAIN_MARKER=plain-marker-value" in text  # the scrub is selective, not "empty env"
        assert token not in text and extra not in text
        for name in ("TELEGRAM_BOT_TOKEN", "ALLOWED_USERS", "OPENAI_API_KEY", "CCBOT_", "%77"):
            assert name not in text
    assert "TMUX_PANE" not in server_env
    assert "SAFE_VAR=ok value; with spaces\n" in seen_by_window
    assert "LEAK" not in seen_by_window
    # The window's own TMUX (set by tmux for its panes) points at our server, not the caller's.
    tmux_line = next(line for line in seen_by_window.splitlines() if line.startswith("TMUX="))
    assert "/nonexistent/" not in tmux_line and socket_of(t) in tmux_line
    assert f"TMUX_PANE={window.pane_id}\n" in seen_by_window


# ---------------------------------------------------------------- failures


async def test_server_down(tmux_factory: TmuxFactory) -> None:
    t = tmux_factory()
    with pytest.raises(TmuxServerDown):
        await t.list_windows()
    assert not await t.window_exists("@0")
    await t.kill_server()  # no server: no error
    await t.ensure_session()
    assert len(await t.list_windows()) == 1
    await t.kill_server()
    with pytest.raises(TmuxServerDown):
        await t.list_windows()


async def test_missing_session_on_running_server(tmux: Tmux, tmux_factory: TmuxFactory) -> None:
    other = tmux_factory(socket_name=socket_of(tmux), session_name="another")
    with pytest.raises(TmuxServerDown):
        await other.list_windows()
    await other.ensure_session()
    assert len(await other.list_windows()) == 1
    # Exact session matching: "ccbot-test" must not resolve to a session named by prefix.
    prefixed = tmux_factory(socket_name=socket_of(tmux), session_name="ccbot")
    with pytest.raises(TmuxServerDown):
        await prefixed.list_windows()


async def test_timeout_and_errors_with_fake_binaries(tmux_factory: TmuxFactory, tmp_path: Path) -> None:
    slow = tmp_path / "slow-tmux"
    slow.write_text("#!/bin/sh\nexec sleep 30\n")
    failing = tmp_path / "failing-tmux"
    failing.write_text("#!/bin/sh\necho 'boom: something broke' >&2\nexit 1\n")
    down = tmp_path / "down-tmux"
    down.write_text("#!/bin/sh\necho 'no server running on /tmp/tmux-0/x' >&2\nexit 1\n")
    for script in (slow, failing, down):
        script.chmod(0o755)

    t = tmux_factory(tmux_bin=str(slow), call_timeout=0.3)
    with trio.fail_after(3):
        with pytest.raises(TmuxTimeout):
            await t.list_windows()
    with pytest.raises(TmuxError, match="boom: something broke"):
        await tmux_factory(tmux_bin=str(failing)).capture("%0")
    with pytest.raises(TmuxServerDown):
        await tmux_factory(tmux_bin=str(down)).pane_state("%0")
    with pytest.raises(TmuxError, match="cannot start"):
        await tmux_factory(tmux_bin=str(tmp_path / "nope")).list_windows()


def test_constructor_validation() -> None:
    with pytest.raises(ValueError):
        Tmux("a:b")
    with pytest.raises(ValueError):
        Tmux("a.b")
    with pytest.raises(ValueError):
        Tmux("")
    with pytest.raises(ValueError):
        Tmux("ok", socket_name="x", socket_path="/tmp/y")


async def test_utf8_names_without_a_utf8_locale(tmux_factory: TmuxFactory, tmp_path: Path) -> None:
    # Without -u a tmux client in the C locale prints non-ASCII characters as '_'.
    bare = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    t = tmux_factory(env=bare)
    await t.ensure_session()
    w = await t.new_window("naïve 🚀 -x;", tmp_path, ["sleep", "60"], {}, owner=OWNER)
    assert w.name == "naïve 🚀 -x;"
    assert [x.name for x in await t.list_windows() if x.is_ccbot] == ["naïve 🚀 -x;"]


async def test_new_window_does_not_switch_the_attached_view(tmux: Tmux, tmux_bin: str, tmp_path: Path) -> None:
    socket = socket_of(tmux)
    await tmux.ensure_session()
    before = await raw_tmux(tmux_bin, socket, "display-message", "-p", "-t", f"={SESSION}:", "#{window_id}")
    first = await tmux.new_window("one", tmp_path, ["sleep", "30"], {}, owner=OWNER)
    second = await tmux.new_window("two", tmp_path, ["sleep", "30"], {}, owner=OWNER)
    after = await raw_tmux(tmux_bin, socket, "display-message", "-p", "-t", f"={SESSION}:", "#{window_id}")
    assert before.strip() == after.strip()
    assert first.index < second.index
    names = [w.name for w in await tmux.list_windows()]
    assert names[-2:] == ["one", "two"]


NEEDED_GAP = 0.05  # measured: Codex still merged Escape and a letter 5 ms apart, not 20 ms apart


CHUNK_READER = r"""
import os, sys, time, tty
out = sys.argv[1]
tty.setraw(0)
fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
os.write(1, b"READY\r\n")
while True:
    data = os.read(0, 65536)
    if not data:
        break
    os.write(fd, repr((time.monotonic(), data)).encode() + b"\n")
"""


async def test_nothing_follows_an_escape_closely_enough_to_become_alt_key(tmux: Tmux, tmp_path: Path) -> None:
    """Codex reads Escape + a character arriving together as Alt+character (it ate the first letter of the
    text after /esc): every Escape reaches the pane in a read of its own, and the next input at least
    ESCAPE_GAP later."""
    script = tmp_path / "chunks.py"
    script.write_text(CHUNK_READER)
    out = tmp_path / "chunks.txt"
    window = await tmux.new_window("chunks", tmp_path, [sys.executable, str(script), str(out)], {}, owner=OWNER)

    async def ready() -> bool:
        return await trio.Path(out).exists() and "READY" in await tmux.capture(window.pane_id)

    await wait_until(ready)
    pane = window.pane_id
    await tmux.send_keys(pane, "Escape")
    await tmux.send_text(pane, "alpha")
    await tmux.send_keys(pane, "Escape", "y")  # one call: still two reads apart
    await tmux.send_keys(pane, "Escape")
    await tmux.paste_text(pane, "pasted")
    expected = b"\x1balpha\x1by\x1bpasted"

    async def all_read() -> bool:
        text = await trio.Path(out).read_text()
        return b"".join(ast.literal_eval(line)[1] for line in text.splitlines()) == expected

    await wait_until(all_read)
    reads = [ast.literal_eval(line) for line in (await trio.Path(out).read_text()).splitlines()]
    assert ESCAPE_GAP >= NEEDED_GAP
    escapes = [i for i, (_, data) in enumerate(reads) if data.startswith(b"\x1b") and data != b"\x1b"]
    assert escapes == [], reads  # no read starts with Escape and carries more
    for i, (at, data) in enumerate(reads[:-1]):
        if data == b"\x1b":
            assert reads[i + 1][0] - at >= NEEDED_GAP, reads
