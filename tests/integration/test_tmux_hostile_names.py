"""Hostile folder names, window names, environment values and owner marks against a real tmux.

tmux 3.3a expands formats in some arguments (``new-window -c``/``-n``, ``rename-window``,
``new-session -s``): ``#(cmd)`` makes the server run ``cmd``, ``#{…}`` is replaced. Every test here
gives such strings to the adapter and checks that they arrive literally and that nothing ran. Whether a
``#(…)`` job gets to run is a race in tmux (it belongs to the client that ran the command and is killed
when that client exits; unescaped, 3 of 12 such jobs ran in one measurement), so the literal
comparisons are the dependable check and the marker file only an extra one.

Layout per test: the folders live in ``tmp_path/work``, the tmux server runs in ``tmp_path/srv`` (the
test's cwd when it starts the server) with ``HOME=tmp_path/home``; a ``#(touch MARK)`` job would create
``MARK`` in one of those.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
from pathlib import Path

import pytest
import trio

from ccbot.tmux.adapter import (
    _WINDOW_SCRIPT,
    PLACEHOLDER_NAME,
    WRONG_DIRECTORY_STATUS,
    Tmux,
    TmuxNoTarget,
    TmuxWrongDirectory,
)
from ccbot.tmux.keys import escape_format
from tests.conftest import missing
from tests.integration.test_tmux_adapter import TmuxFactory, raw_tmux, socket_of, tmux_factory, wait_until

__all__ = ["tmux_factory"]  # the fixture, imported for use here

pytestmark = pytest.mark.tmux

JOB_GRACE = 0.3  # time a #(…) job would need to leave its marker
HOSTILE = [
    "#(touch {mark})",
    "#{pane_id}",
    "a;b",
    "-x",
    "x;",
    "#[fg=red]",
    "##[x] #",
    "##",
    "~",
    "#W x#",
    "%Y-%m \\;",
    "a\nb",
]


class Place:
    """The directories of one test (see the module docstring) and the marker a job would leave."""

    def __init__(self, tmp_path: Path) -> None:
        self.work = tmp_path / "work"
        self.home = tmp_path / "home"
        self.srv = tmp_path / "srv"
        for d in (self.work, self.home, self.srv):
            d.mkdir()
        self.mark = f"pwned-{secrets.token_hex(6)}"
        self.tmp_path = tmp_path

    def hostile(self, template: str) -> str:
        return template.replace("{mark}", self.mark)

    async def assert_nothing_ran(self, t: Tmux) -> None:
        await trio.sleep(JOB_GRACE)
        server_pid = (await raw_tmux(t._prefix[0], socket_of(t), "display-message", "-p", "#{pid}")).strip()
        server_cwd = Path(os.readlink(f"/proc/{server_pid}/cwd"))
        assert server_cwd == self.srv.resolve()
        assert not list(self.tmp_path.rglob(self.mark))
        for elsewhere in (server_cwd, self.home, Path.home(), Path(__file__).parents[2]):
            assert not (elsewhere / self.mark).exists()


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Place:
    p = Place(tmp_path)
    monkeypatch.chdir(p.srv)  # the tmux server (started by the test's first client) runs here
    return p


def make(tmux_factory: TmuxFactory, place: Place, **kwargs: object) -> Tmux:
    return tmux_factory(env={**os.environ, "HOME": str(place.home)}, **kwargs)


def proc_environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.decode().split("=", 1) for item in raw.split(b"\0") if item)


@pytest.mark.parametrize("template", HOSTILE, ids=repr)
async def test_hostile_folder_and_window_name(tmux_factory: TmuxFactory, place: Place, template: str) -> None:
    name = place.hostile(template)
    folder = place.work / name
    try:
        folder.mkdir()
    except OSError as exc:
        pytest.skip(f"the filesystem refuses the name {name!r}: {exc}")
    real = str(await trio.Path(folder).resolve())
    t = make(tmux_factory, place)
    await t.ensure_session()

    w = await t.new_window(name, folder, ["sleep", "60"], {}, owner=name)

    assert str(w.cwd) == real and w.name == name and w.owner == name
    shown = await raw_tmux(t._prefix[0], socket_of(t), "display-message", "-p", "-t", w.pane_id, "#{pane_current_path}")
    assert shown == real + "\n"
    assert os.readlink(f"/proc/{w.pane_pid}/cwd") == real  # the pane's sh, parent of the program
    listed = [(x.name, x.owner, str(x.cwd)) for x in await t.list_windows() if x.is_ccbot]
    assert listed == [(name, name, real)]
    await t.rename_window(w.window_id, name + "!")
    await t.rename_window(w.window_id, name)
    renamed = [x.name for x in await t.list_windows() if x.is_ccbot]
    # rename-window stores names vis(3)-encoded (see Tmux.rename_window); new-window -n does not.
    assert renamed == [name.replace("\\", "\\\\").replace("\n", "\\n")]
    await place.assert_nothing_ran(t)


async def test_escape_format_against_tmux(tmux_factory: TmuxFactory, place: Place) -> None:
    """Every string of up to four characters from the format-syntax alphabet survives a round trip
    through an expanding argument (rename-window), many per tmux client."""
    t = make(tmux_factory, place)
    await t.ensure_session()
    w = await t.new_window("probe", place.work, ["sleep", "60"], {}, owner="probe")
    alphabet = "#[{(W},;"
    texts = ["".join(p) for n in range(1, 5) for p in itertools.product(alphabet, repeat=n)]
    sep = f"<sep-{secrets.token_hex(6)}>"
    for start in range(0, len(texts), 150):
        batch = texts[start : start + 150]
        commands = []
        for text in batch:
            commands.append(["rename-window", "-t", w.window_id, "--", escape_format(text)])
            commands.append(["display-message", "-p", "-t", w.window_id, "#{window_name}" + sep])
        out = await t._run(*commands)
        assert out.split(sep + "\n")[:-1] == batch
    await place.assert_nothing_ran(t)


async def test_env_values_reach_the_program_literally(tmux_factory: TmuxFactory, place: Place) -> None:
    t = make(tmux_factory, place)
    await t.ensure_session()
    env = {f"HOSTILE_{i}": place.hostile(v) for i, v in enumerate(HOSTILE)}
    w = await t.new_window("env", place.work, ["sleep", "60"], env, owner="env")
    seen = proc_environ(w.pane_pid)
    assert {k: seen.get(k) for k in env} == env
    await place.assert_nothing_ran(t)


async def test_session_name_is_literal(tmux_factory: TmuxFactory, place: Place) -> None:
    session = place.hostile("ccbot-#{pane_id}-#(touch {mark})-##")
    t = make(tmux_factory, place, session_name=session)
    await t.ensure_session()
    await t.ensure_session()  # has-session -t =<name> finds it
    assert len(await t.list_windows()) == 1
    sessions = await raw_tmux(t._prefix[0], socket_of(t), "list-sessions", "-F", "#{session_name}")
    assert sessions == session + "\n"
    await place.assert_nothing_ran(t)


HOSTILE_OWNERS = [
    "-100123:42:9f3c",  # starts like a flag
    "-100123:42:#(touch {mark}) #{pane_id} ## #[fg=red]",
    "x;",
    "line\nbreak",
    "<ccbot-f-0123456789ab><ccbot-r-0123456789ab>",
    "ünï 🚀\t",
]


async def test_owner_round_trip(tmux_factory: TmuxFactory, place: Place) -> None:
    t = make(tmux_factory, place)
    await t.ensure_session()
    owners = [place.hostile(o) for o in HOSTILE_OWNERS]
    windows = [await t.new_window(f"w{i}", place.work, ["sleep", "60"], {}, owner=o) for i, o in enumerate(owners)]
    assert [w.owner for w in windows] == owners
    assert [(await t.window_info(w.window_id)).owner for w in windows] == owners
    listed = await t.list_windows()
    assert [(w.owner, w.is_ccbot) for w in listed] == [("", False)] + [(o, True) for o in owners]

    await t.clear_owner(windows[1].window_id)
    assert (await t.window_info(windows[1].window_id)).owner == ""
    await t.clear_owner(windows[1].window_id)  # nothing to clear: no error
    assert await t.kill_window(windows[0].window_id)
    await t.clear_owner(windows[0].window_id)  # window gone: no error
    assert [w.owner for w in await t.list_windows()] == ["", "", *owners[2:]]
    with pytest.raises(ValueError):
        await t.new_window("x", place.work, ["true"], {}, owner="")
    await place.assert_nothing_ran(t)
    await t.kill_server()
    await t.clear_owner(windows[2].window_id)  # server gone: no error


async def test_claim_window(tmux_factory: TmuxFactory, place: Place) -> None:
    t = make(tmux_factory, place)
    await t.ensure_session()
    by_hand = await raw_tmux(t._prefix[0], socket_of(t), "new-window", "-d", "-P", "-F", "#{window_id}", "sleep", "60")
    hand = by_hand.strip()
    ours = await t.new_window("ours", place.work, ["sleep", "60"], {}, owner="A")
    a, b = "-1:2:a;", place.hostile("-1:3:#(touch {mark})")

    assert (await t.window_info(hand)).owner == ""
    assert await t.claim_window(hand, a)  # unowned: taken
    assert await t.claim_window(hand, a)  # already ours: fine
    assert not await t.claim_window(hand, b)  # another owner holds it
    assert (await t.window_info(hand)).owner == a
    assert await t.claim_window(hand, b, replace=a)  # the caller may take over its own older mark
    assert (await t.window_info(hand)).owner == b
    assert not (await t.window_info(hand)).is_ccbot  # claiming does not mark it as created by ccbot
    assert not await t.claim_window(ours.window_id, b)
    assert (await t.window_info(ours.window_id)).owner == "A"
    await t.clear_owner(hand)
    results: dict[str, bool] = {}

    async def claim(owner: str) -> None:
        results[owner] = await t.claim_window(hand, owner)

    async with trio.open_nursery() as nursery:  # concurrent claims through one adapter: one wins
        for owner in ("C", "D", "E"):
            nursery.start_soon(claim, owner)
    winners = [o for o, won in results.items() if won]
    assert len(winners) == 1 and (await t.window_info(hand)).owner == winners[0]

    for bad in ("", "%1", "=ccbot-test:1", "{last}", "@1 ", "ccbot-test:1"):
        with pytest.raises(ValueError):
            await t.claim_window(bad, "C")
        with pytest.raises(ValueError):
            await t.clear_owner(bad)
    with pytest.raises(ValueError):
        await t.claim_window(hand, "")
    assert await t.kill_window(hand)
    with pytest.raises(TmuxNoTarget):
        await t.claim_window(hand, "C")
    await place.assert_nothing_ran(t)


def _tmux_without_dac_override(tmp_path: Path, tmux_bin: str) -> str:
    """A tmux binary whose server cannot enter mode-0o600 directories even as root.

    As root, chmod alone does not keep anyone out; dropping CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH from the bounding set before exec makes the server (and its panes) obey it.
    """
    if os.geteuid() != 0:
        return tmux_bin
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        missing("setpriv (util-linux), to run tmux as root without CAP_DAC_OVERRIDE")
    wrapper = tmp_path / "tmux-without-dac"
    wrapper.write_text(f'#!/bin/sh\nexec {setpriv} --bounding-set -dac_override,-dac_read_search -- {tmux_bin} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


async def test_wrong_directory_is_refused(tmux_factory: TmuxFactory, place: Place, tmux_bin: str) -> None:
    # A real case, no monkeypatching: the directory exists (stat works) but the tmux server may not
    # enter it, so tmux starts the pane elsewhere without saying so.
    locked = place.work / "locked"
    locked.mkdir()
    ran = place.tmp_path / f"program-ran-{secrets.token_hex(4)}"
    t = make(tmux_factory, place, tmux_bin=_tmux_without_dac_override(place.tmp_path, tmux_bin))
    await t.ensure_session()
    locked.chmod(0o600)
    try:
        with pytest.raises(TmuxWrongDirectory) as caught:
            await t.new_window("locked", locked, ["touch", str(ran)], {}, owner="L")
    finally:
        locked.chmod(0o700)
    assert caught.value.asked == str(await trio.Path(locked).resolve())
    assert caught.value.used != caught.value.asked
    assert repr(caught.value.asked) in str(caught.value)
    assert [w.name for w in await t.list_windows()] == [PLACEHOLDER_NAME]  # the window was killed
    await trio.sleep(JOB_GRACE)
    assert not ran.exists()


async def test_window_script_refuses_a_pane_elsewhere(tmux_factory: TmuxFactory, place: Place) -> None:
    """The pane's own check, apart from the adapter's: the program is not started outside the directory."""
    t = make(tmux_factory, place)
    await t.ensure_session()
    ran = place.tmp_path / f"program-ran-{secrets.token_hex(4)}"
    sock, tmux_bin = socket_of(t), t._prefix[0]
    cmd = ["/bin/sh", "-c", _WINDOW_SCRIPT, "ccbot-window", str(place.work), "touch", str(ran)]
    await raw_tmux(tmux_bin, sock, "set-option", "-gw", "remain-on-exit", "on")
    out = await raw_tmux(tmux_bin, sock, "new-window", "-d", "-P", "-F", "#{pane_id}", "-c", str(place.home), *cmd)
    pane = out.strip()

    async def dead() -> bool:
        return (await t.pane_state(pane)).dead

    await wait_until(dead)
    assert (await t.pane_state(pane)).dead_status == WRONG_DIRECTORY_STATUS
    assert not ran.exists()
    # The same script in the right directory does run the program.
    await raw_tmux(tmux_bin, sock, "new-window", "-d", "-c", str(place.work), *cmd)
    await wait_until(trio.Path(ran).exists)
