"""Unit tests for the pure check logic of ``ccbot.doctor`` (facts in, ✓/!/✗ lines out)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccbot.codex.appserver.schema import schema_drift
from ccbot.codex.versions import (
    NEWEST_TESTED,
    OLDEST_TESTED,
    TESTED_VERSIONS,
    in_tested_range,
    parse_version,
)
from ccbot.config import load_config
from ccbot.doctor import (
    ApiFailure,
    ChatFacts,
    Check,
    CodexFacts,
    CodexHomeFacts,
    Level,
    ProtocolFacts,
    StateFacts,
    TelegramFacts,
    TmuxFacts,
    chat_check,
    codex_checks,
    codex_home_checks,
    config_check,
    exit_code,
    failure_of,
    gather_codex,
    gather_codex_home,
    gather_state,
    parse_tmux_version,
    platform_check,
    protocol_check,
    render,
    scan_rollout,
    state_checks,
    summarize_state,
    telegram_checks,
    tmux_checks,
)
from ccbot.state.model import SCHEMA_VERSION, Binding, State
from ccbot.telegram.errors import error_from_response
from ccbot.telegram.types import User
from tests.conftest import DATA

TOKEN = "7100200300:AAH-unitSecretTokenValue_abc987"
MAIN_0169 = DATA / "rollouts" / "codex-0.169-main.jsonl"


def levels(checks: list[Check]) -> dict[str, Level]:
    return {c.name: c.level for c in checks}


def bot(*, topics: bool = True, read_all: bool = False) -> User:
    return User(id=99, is_bot=True, first_name="Bot", username="the_bot",
                has_topics_enabled=topics, can_read_all_group_messages=read_all)


# --- output and exit code ------------------------------------------------------------------------------


def test_line_format_and_fix_arrow() -> None:
    assert Check("tmux", Level.FAIL, "not found", "install it").line() == "✗ tmux: not found → install it"
    assert Check("tmux", Level.OK, "3.4").line() == "✓ tmux: 3.4"
    assert Check("x", Level.WARN, "hm").line().startswith("! ")


def test_render_redacts_the_token_and_token_shapes() -> None:
    checks = [Check("a", Level.FAIL, f"saw {TOKEN} here"), Check("b", Level.OK, f"url /bot{TOKEN}/getMe")]
    lines = render(checks, [TOKEN])
    assert all(TOKEN not in line for line in lines)
    assert all("<redacted>" in line for line in lines)
    # even a secret we were not told about is caught by its shape
    other = "5550001112:ZZZ-anotherTokenShapedValue_1234567"
    assert other not in render([Check("c", Level.OK, other)])[0]


def test_exit_code() -> None:
    ok, warn, fail = Check("a", Level.OK, ""), Check("b", Level.WARN, ""), Check("c", Level.FAIL, "")
    assert exit_code([ok, warn]) == 0
    assert exit_code([ok, warn, fail]) == 1
    assert exit_code([]) == 0
    assert exit_code([ok], config_ok=False) == 2


# --- config, platform ------------------------------------------------------------------------------------


def test_config_check_ok_and_bad(tmp_path: Path) -> None:
    cfg = load_config({"HOME": str(tmp_path), "TELEGRAM_BOT_TOKEN": TOKEN, "ALLOWED_USERS": "1,2",
                       "OPENAI_API_KEY": "sk-secret-value-123"})
    good = config_check(cfg, None, dotenv_exists=True)
    assert good.level is Level.OK
    assert "2 allowed users" in good.text and "transcription on" in good.text and ".env" in good.text
    assert TOKEN not in good.line() and "sk-secret" not in good.line()
    bad = config_check(None, "ALLOWED_USERS: not set (comma-separated numeric Telegram user ids)")
    assert bad.level is Level.FAIL and bad.text.startswith("ALLOWED_USERS: not set")


def test_platform_check() -> None:
    assert platform_check("linux", True).level is Level.OK
    assert platform_check("darwin", False).level is Level.FAIL
    assert platform_check("linux", False).level is Level.FAIL


# --- tmux ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("tmux 3.3a", (3, 3)), ("tmux 3.4\n", (3, 4)), ("tmux next-3.6", (3, 6)), ("tmux 2.9a", (2, 9)),
     ("tmux 10.12", (10, 12)), ("tmux master", None), ("tmux openbsd-7.4", None), ("", None),
     ("screen 4.09", None)],
)
def test_parse_tmux_version(text: str, expected: tuple[int, int] | None) -> None:
    assert parse_tmux_version(text) == expected


@given(st.integers(0, 99), st.integers(0, 99), st.sampled_from(["", "a", "b", "c"]))
def test_tmux_version_round_trip_and_threshold(major: int, minor: int, suffix: str) -> None:
    text = f"tmux {major}.{minor}{suffix}"
    assert parse_tmux_version(text) == (major, minor)
    first = tmux_checks(TmuxFacts("/usr/bin/tmux", text))[0]
    assert first.level is (Level.OK if (major, minor) >= (3, 3) else Level.FAIL)


def test_tmux_checks_missing_failed_unparsable() -> None:
    missing = tmux_checks(TmuxFacts(None))
    assert [c.level for c in missing] == [Level.FAIL] and "not found" in missing[0].text
    broken = tmux_checks(TmuxFacts("/usr/bin/tmux", None, "exec format error"))
    assert broken[0].level is Level.FAIL and "exec format error" in broken[0].text
    odd = tmux_checks(TmuxFacts("/usr/bin/tmux", "tmux master"))
    assert odd[0].level is Level.WARN


def test_tmux_server_and_session_lines() -> None:
    refused = "error creating /tmp/tmux-0/x (Permission denied)"
    down = tmux_checks(TmuxFacts("/t", "tmux 3.4", server_error=refused))
    assert levels(down)["tmux server"] is Level.FAIL
    assert "Permission denied" in next(c for c in down if c.name == "tmux server").text
    running = tmux_checks(TmuxFacts("/t", "tmux 3.4", socket_label="socket 'ccbot'", session_windows=3))
    session = next(c for c in running if c.name == "tmux session")
    assert session.level is Level.OK and "3 windows" in session.text and "'ccbot'" in session.text
    absent = next(c for c in tmux_checks(TmuxFacts("/t", "tmux 3.4")) if c.name == "tmux session")
    assert absent.level is Level.OK and "not running" in absent.text
    weird = tmux_checks(TmuxFacts("/t", "tmux 3.4", session_error="protocol version mismatch"))
    assert levels(weird)["tmux session"] is Level.WARN


# --- codex -----------------------------------------------------------------------------------------------


def test_parse_codex_version() -> None:
    assert parse_version("codex-cli 0.169.0\n") == (0, 169, 0)
    assert parse_version("codex-cli 0.170.12") == (0, 170, 12)
    assert parse_version("codex") is None


@given(st.integers(0, 3), st.integers(0, 400), st.integers(0, 50))
def test_the_tested_range_is_0_169_x_to_0_171_x(major: int, minor: int, patch: int) -> None:
    inside = major == 0 and 169 <= minor <= 171
    assert in_tested_range((major, minor, patch)) == inside
    facts = CodexFacts(("codex",), "/usr/bin/codex", f"codex-cli {major}.{minor}.{patch}\n",
                       config_toml={"features": {"daemon_auto_start": False}})
    first = codex_checks(facts)[0]
    assert first.level is (Level.OK if inside else Level.WARN)
    assert "0.169.x to 0.171.x" in first.text  # the range is named either way


def test_protocol_check_names_what_the_installed_schema_lacks() -> None:
    schema = json.loads((DATA / "appserver-0.169" / "schema.json").read_text())
    assert protocol_check(ProtocolFacts(tuple(schema_drift(schema)))).level is Level.OK
    requests = schema["definitions"]["ServerRequest"]["oneOf"]
    schema["definitions"]["ServerRequest"]["oneOf"] = [
        r for r in requests if r["properties"]["method"]["enum"] != ["item/commandExecution/requestApproval"]]
    check = protocol_check(ProtocolFacts(tuple(schema_drift(schema))))
    assert check.level is Level.WARN and "item/commandExecution/requestApproval" in check.text
    assert "0.169.x to 0.171.x" in check.fix
    failed = protocol_check(ProtocolFacts(None, "unrecognized subcommand 'app-server'"))
    assert failed.level is Level.WARN and "unrecognized subcommand" in failed.text


def test_the_tested_versions_are_the_ends_of_the_range() -> None:
    assert TESTED_VERSIONS == (OLDEST_TESTED, NEWEST_TESTED)
    for version in TESTED_VERSIONS:
        parsed = parse_version(version)
        assert parsed is not None and in_tested_range(parsed)


def test_codex_not_found_and_failing() -> None:
    missing = codex_checks(CodexFacts(("codex-wrapper", "--x"), None))
    assert len(missing) == 1 and missing[0].level is Level.FAIL and "'codex-wrapper'" in missing[0].text
    failing = codex_checks(CodexFacts(("codex",), "/bin/codex", None, "Segmentation fault"))
    assert failing[0].level is Level.FAIL and "Segmentation fault" in failing[0].text


@pytest.mark.parametrize(
    ("command", "config", "in_process"),
    [
        (("codex",), None, False),
        (("codex",), {"features": {"daemon_auto_start": True}}, False),
        (("codex",), {"features": {"daemon_auto_start": False}}, True),
        (("codex", "--no-daemon"), None, True),
        (("codex", "-c", "features.daemon_auto_start=false"), None, True),
        (("codex",), {"daemon_auto_start": False}, False),  # not under [features]: Codex ignores it
    ],
)
def test_daemon_mode_names_the_plane(command: tuple[str, ...], config: dict[str, object] | None,
                                     in_process: bool) -> None:
    checks = codex_checks(CodexFacts(command, "/bin/codex", "codex-cli 0.169.0", config_toml=config))
    check = next(c for c in checks if c.name == "codex daemon")
    assert check.level is Level.OK
    assert ("own app-server" in check.text) is not in_process and ("in-process" in check.text) is in_process
    if not in_process:
        assert "shared app-server" in check.text  # hand-started windows are followed, not refused


def test_unreadable_codex_config_is_a_warning() -> None:
    checks = codex_checks(CodexFacts(("codex",), "/bin/codex", "codex-cli 0.169.0", config_error="bad toml"))
    assert levels(checks)["codex config"] is Level.WARN and "codex daemon" not in levels(checks)


# --- rollouts and CODEX_HOME -------------------------------------------------------------------------------


def test_scan_real_0169_rollout() -> None:
    data = MAIN_0169.read_bytes()
    scan = scan_rollout(data)
    assert scan.lines == sum(1 for line in data.split(b"\n") if line.strip())
    assert scan.malformed == 0 and scan.decoder_error is None
    assert scan.first_is_meta and scan.meta is not None and scan.meta.cli_version == "0.169.0"
    assert not scan.unfinished_tail and not scan.truncated


def test_scan_counts_bad_lines_and_skips_an_unfinished_tail() -> None:
    lines = MAIN_0169.read_bytes().split(b"\n")
    broken = b"\n".join([*lines[:3], b"{not json", *lines[3:10]]) + b"\n" + b'{"timestamp": "half'
    scan = scan_rollout(broken)
    assert scan.malformed == 1 and scan.first_malformed is not None
    assert scan.first_malformed[0] == 4 and "JSON" in scan.first_malformed[1]
    assert scan.unfinished_tail and scan.lines == 11
    cut = scan_rollout(broken, truncated=True)
    assert not cut.unfinished_tail and cut.truncated


def test_scan_empty_and_headless() -> None:
    assert scan_rollout(b"").lines == 0
    assert scan_rollout(b'{"partial').lines == 0 and scan_rollout(b'{"partial').unfinished_tail
    lines = MAIN_0169.read_bytes().split(b"\n")
    headless = scan_rollout(b"\n".join(lines[1:]))
    assert not headless.first_is_meta and headless.malformed == 0


def home(**kw: object) -> CodexHomeFacts:
    return CodexHomeFacts(Path("/home/dev/.codex"), **kw)  # type: ignore[arg-type]


def test_codex_home_checks() -> None:
    assert codex_home_checks(home(exists=False))[0].level is Level.WARN
    assert codex_home_checks(home(is_dir=False))[0].level is Level.FAIL
    assert codex_home_checks(home(sessions_exists=False))[0].level is Level.OK
    denied = codex_home_checks(home(walk_errors=("/home/dev/.codex/sessions/2026: Permission denied",)))
    assert denied[0].level is Level.FAIL and "Permission denied" in denied[0].text
    counted = codex_home_checks(home(rollouts=7))
    assert len(counted) == 1 and "7 rollouts" in counted[0].text


def newest(scan: object = None, error: str | None = None) -> Check:
    facts = home(rollouts=1, newest=Path("/s/rollout-x.jsonl"), scan=scan, newest_error=error)
    checks = codex_home_checks(facts)
    assert len(checks) == 2
    return checks[1]


def test_newest_rollout_verdicts() -> None:
    good = newest(scan_rollout(MAIN_0169.read_bytes()))
    assert good.level is Level.OK and "121 lines decoded" in good.text and "0.169.0" in good.text
    lines = MAIN_0169.read_bytes().split(b"\n")
    bad = newest(scan_rollout(b"\n".join([lines[0], b"[1,2]", *lines[1:]])))
    assert bad.level is Level.WARN and "1 of 122 lines" in bad.text and "line 2" in bad.text
    inside = lines[0].replace(b'"cli_version":"0.169.0"', b'"cli_version":"0.171.3"')
    assert inside != lines[0]
    assert newest(scan_rollout(b"\n".join([inside, *lines[1:]]))).level is Level.OK
    other = lines[0].replace(b'"cli_version":"0.169.0"', b'"cli_version":"0.172.0"')
    newer = newest(scan_rollout(b"\n".join([other, *lines[1:]])))
    assert newer.level is Level.WARN and "0.172.0" in newer.text and "0.169.x to 0.171.x" in newer.fix
    assert newest(scan_rollout(b"")).level is Level.OK
    assert newest(error="Permission denied").level is Level.FAIL


# --- state file --------------------------------------------------------------------------------------------


def test_summarize_current_and_v0_state() -> None:
    state = State(telegram_offset=17, bindings={
        (-100123, 5): Binding(-100123, 5, "@1", "a", "/w"),
        (-100123, 9): Binding(-100123, 9, "@2", "b", "/w"),
        (42, 0): Binding(42, 0, "@3", "c", "/w"),
    })
    s = summarize_state(json.dumps(state.to_json()).encode())
    assert s.problem is None and s.schema == SCHEMA_VERSION and s.offset == 17
    assert dict(s.chats) == {-100123: (5, 9), 42: (0,)}
    v0 = summarize_state(b'{"offset": 3, "topics": {"-1007:4": {"window": "@1"}}}')
    assert v0.schema == 0 and dict(v0.chats) == {-1007: (4,)} and v0.offset == 3


@given(st.dictionaries(st.tuples(st.integers(-(10**13), 10**13), st.integers(0, 10**6)), st.just(None),
                       max_size=20))
def test_summarize_state_finds_every_binding(keys: dict[tuple[int, int], None]) -> None:
    state = State(bindings={k: Binding(k[0], k[1], "@1", "w", "/") for k in keys})
    s = summarize_state(json.dumps(state.to_json()).encode())
    found = {(chat, topic) for chat, topics in s.chats.items() for topic in topics}
    assert found == set(keys)


@pytest.mark.parametrize("raw", [b"{oops", b"[1, 2]", b'{"schema": 1, "bindings": {"nope": {}}}',
                                 b'{"schema": 1, "bindings": []}', b'{"schema": "x"}', b"\xff\xfe"])
def test_summarize_state_problems_never_raise(raw: bytes) -> None:
    assert summarize_state(raw).problem is not None


def test_state_checks() -> None:
    path = Path("/cc/state.json")
    assert levels(state_checks(StateFacts(path, None)))["state"] is Level.OK
    restored = state_checks(StateFacts(path, None, backup_exists=True))
    assert restored[0].level is Level.WARN and ".bak" in restored[0].text
    corrupt = state_checks(StateFacts(path, summarize_state(b"{oops"), backup_exists=True))
    assert corrupt[0].level is Level.WARN and ".corrupt-" in corrupt[0].fix and ".bak" in corrupt[0].fix
    future = json.dumps({"schema": SCHEMA_VERSION + 1}).encode()
    newer = state_checks(StateFacts(path, summarize_state(future)))
    assert newer[0].level is Level.FAIL and "newer" in newer[0].text
    older = state_checks(StateFacts(path, summarize_state(b'{"topics": {}}')))
    assert older[0].level is Level.OK and "state.json.v0.bak" in older[0].text
    unreadable = state_checks(StateFacts(path, None, read_error="Permission denied"))
    assert unreadable[0].level is Level.FAIL
    leftover = state_checks(StateFacts(path, summarize_state(b'{"schema": 1}'),
                                       leftovers=("state.json.corrupt-1700000000",)))
    assert [c.level for c in leftover] == [Level.OK, Level.WARN]
    assert "state.json.corrupt-1700000000" in leftover[1].text


# --- Telegram ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (401, {"ok": False, "error_code": 401, "description": "Unauthorized"}, "unauthorized"),
        (404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}, "missing"),
        (403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
         "forbidden"),
        (400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}, "bad_request"),
        (429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 5"}, "flood"),
        (502, {}, "server"),
        (409, {"ok": False, "error_code": 409, "description": "Conflict"}, "conflict"),
    ],
)
def test_failure_of(status: int, body: dict[str, object], kind: str) -> None:
    failure = failure_of(error_from_response("getChat", status, body))
    assert failure.kind == kind and failure.code == status


def test_unauthorized_is_one_failure_line() -> None:
    checks = telegram_checks(TelegramFacts("https://api.telegram.org", None,
                                           ApiFailure("unauthorized", "Unauthorized", 401)))
    assert [c.level for c in checks] == [Level.FAIL]
    assert "rejected the token" in checks[0].text and "TELEGRAM_BOT_TOKEN" in checks[0].fix


def test_unreachable_is_a_failure() -> None:
    refused = ApiFailure("network", "ConnectError: [Errno 111] Connection refused")
    checks = telegram_checks(TelegramFacts("http://127.0.0.1:9", None, refused))
    assert [c.level for c in checks] == [Level.FAIL] and "Connection refused" in checks[0].text


def test_webhook_set_fails_and_shows_only_the_host() -> None:
    info = {"url": "https://hooks.example.org/secret-path-xyz", "pending_update_count": 4}
    facts = TelegramFacts("https://api.telegram.org", bot(), webhook=info)
    hook = next(c for c in telegram_checks(facts) if c.name == "webhook")
    assert hook.level is Level.FAIL and "hooks.example.org" in hook.text and "secret-path" not in hook.line()
    assert "4 updates waiting" in hook.text
    clear = TelegramFacts("u", bot(), webhook={"url": "", "pending_update_count": 0})
    assert levels(telegram_checks(clear))["webhook"] is Level.OK
    unknown = TelegramFacts("u", bot(), webhook_error=ApiFailure("missing", "Not Found: method not found"))
    assert levels(telegram_checks(unknown))["webhook"] is Level.WARN


GROUP = {"id": -1001, "type": "supergroup", "title": "Dev", "is_forum": True}
PRIVATE = {"id": 42, "type": "private", "first_name": "Ann"}
MISSING = ApiFailure("missing", "Not Found: method not found", 404)


def test_privacy_line() -> None:
    admin = ChatFacts(-1001, (3,), GROUP, None, {"status": "administrator", "can_manage_topics": True})
    unknown = ChatFacts(-1001, (3,), GROUP, None, None, MISSING)
    private = ChatFacts(42, (0,), PRIVATE)
    cases = [
        (bot(read_all=True), (unknown,), Level.OK),
        (bot(), (admin,), Level.OK),
        (bot(), (unknown,), Level.WARN),
        (bot(), (private,), Level.OK),
        (bot(), (), Level.WARN),
    ]
    for me, chats, expected in cases:
        got = levels(telegram_checks(TelegramFacts("u", me, chats=chats)))["privacy"]
        assert got is expected, (me, chats)


def test_threaded_mode_line() -> None:
    group = ChatFacts(-1001, (3,), GROUP, None, {"status": "administrator"})
    private = ChatFacts(42, (0,), PRIVATE)
    assert levels(telegram_checks(TelegramFacts("u", bot(topics=True))))["threaded mode"] is Level.OK
    assert levels(telegram_checks(TelegramFacts("u", bot(topics=False), chats=(group,))))["threaded mode"] \
        is Level.OK
    assert levels(telegram_checks(TelegramFacts("u", bot(topics=False), chats=(private,))))["threaded mode"] \
        is Level.WARN
    assert levels(telegram_checks(TelegramFacts("u", bot(topics=False))))["threaded mode"] is Level.WARN


def test_no_chats_line() -> None:
    checks = telegram_checks(TelegramFacts("u", bot()))
    assert levels(checks)["chats"] is Level.OK
    assert not any(c.name.startswith("chat ") for c in checks)


@pytest.mark.parametrize(
    ("facts", "me", "expected", "needle"),
    [
        (ChatFacts(-1001, (3,), GROUP, None, {"status": "administrator"}), bot(), Level.OK, "admin"),
        (ChatFacts(-1001, (3,), GROUP, None, {"status": "creator"}), bot(), Level.OK, "owns"),
        (ChatFacts(-1001, (3,), GROUP, None, {"status": "member"}), bot(), Level.FAIL, "privacy mode on"),
        (ChatFacts(-1001, (3,), GROUP, None, {"status": "member"}), bot(read_all=True), Level.OK,
         "privacy mode is off"),
        (ChatFacts(-1001, (3,), GROUP, None, {"status": "restricted", "can_send_messages": False}), bot(),
         Level.FAIL, "restricted"),
        (ChatFacts(-1001, (3,), GROUP, None, {"status": "kicked"}), bot(), Level.FAIL, "kicked"),
        (ChatFacts(-1001, (3,), GROUP, None, {"status": "left"}), bot(), Level.FAIL, "not in the group"),
        (ChatFacts(-1001, (3,), GROUP, None, None, MISSING), bot(), Level.WARN, "not checked"),
        (ChatFacts(-1001, (3,), None, MISSING, {"status": "administrator"}), bot(), Level.WARN, "getChat"),
        (ChatFacts(-1001, (3,), {**GROUP, "is_forum": False}, None, {"status": "administrator"}), bot(),
         Level.FAIL, "Topics are off"),
        (ChatFacts(-1001, (3,), {"id": -1001, "type": "group", "title": "Old"}), bot(), Level.FAIL,
         "forum supergroup"),
        (ChatFacts(-1001, (3,), None, ApiFailure("bad_request", "Bad Request: chat not found", 400)), bot(),
         Level.FAIL, "chat not found"),
        (ChatFacts(-1001, (3,), None, ApiFailure("network", "ReadTimeout")), bot(), Level.WARN,
         "not checked"),
        (ChatFacts(42, (0,), PRIVATE), bot(), Level.OK, "private chat with Ann"),
        (ChatFacts(42, (5, 6), PRIVATE), bot(topics=False), Level.WARN, "Threaded Mode is off"),
        (ChatFacts(42, (0,), PRIVATE), bot(topics=False), Level.OK, "1 topic bound"),
        (ChatFacts(42, (0,), None, ApiFailure("forbidden", "Forbidden: bot was blocked by the user", 403)),
         bot(), Level.FAIL, "blocked"),
        (ChatFacts(42, (0,), None, MISSING), bot(), Level.WARN, "getChat not available"),
    ],
)
def test_chat_check(facts: ChatFacts, me: User, expected: Level, needle: str) -> None:
    check = chat_check(facts, me)
    assert check.level is expected, check.line()
    assert needle in check.text
    assert check.name == f"chat {facts.chat_id}"
    if expected is Level.FAIL:
        assert check.fix, "a failure must say what to do"


def test_every_failure_names_a_fix() -> None:
    failing: list[Check] = [
        *tmux_checks(TmuxFacts(None)),
        *tmux_checks(TmuxFacts("/t", "tmux 2.9", server_error="nope")),
        *codex_checks(CodexFacts(("codex",), None)),
        *codex_home_checks(home(is_dir=False)),
        *state_checks(StateFacts(Path("/s"), None, read_error="EIO")),
        *telegram_checks(TelegramFacts("u", None, ApiFailure("other", "weird"))),
        platform_check("win32", False),
        config_check(None, "X: bad"),
    ]
    assert all(c.fix for c in failing if c.level is Level.FAIL)
    assert sum(c.level is Level.FAIL for c in failing) >= 9


def test_tmux_minimum_is_3_3() -> None:
    for text, expected in (("tmux 3.2a", Level.FAIL), ("tmux 3.3", Level.OK), ("tmux 3.3a", Level.OK),
                           ("tmux 2.99", Level.FAIL), ("tmux 4.0", Level.OK)):
        assert tmux_checks(TmuxFacts("/t", text))[0].level is expected, text


# --- the file-system gatherers (tmp_path only; no tmux, no network) -----------------------------------------


def test_gather_state_never_moves_a_corrupt_file(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_bytes(b"{half a file")
    (tmp_path / "state.json.corrupt-1700000000").write_text("{}")
    before = sorted(p.name for p in tmp_path.iterdir())
    facts = gather_state(state)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert state.read_bytes() == b"{half a file"
    assert facts.summary is not None and facts.summary.problem is not None
    assert facts.leftovers == ("state.json.corrupt-1700000000",)
    assert gather_state(tmp_path / "absent.json").summary is None


def test_gather_codex_home_counts_and_picks_the_newest_by_mtime(tmp_path: Path) -> None:
    day = tmp_path / "sessions" / "2026" / "11" / "23"
    day.mkdir(parents=True)
    data = MAIN_0169.read_bytes()
    old = day / "rollout-2026-11-23T10-00-00-01a20a5a-009b-7f71-8ca7-000000000001.jsonl"
    new = day / "rollout-2026-11-23T09-00-00-01a20a5a-009b-7f71-8ca7-000000000002.jsonl"
    old.write_bytes(b"{broken\n")
    new.write_bytes(data)
    (day / "notes.txt").write_text("not a rollout")
    os.utime(old, (1_000_000, 1_000_000))
    os.utime(new, (2_000_000, 2_000_000))
    facts = gather_codex_home(tmp_path)
    assert facts.rollouts == 2 and facts.newest == new
    assert facts.scan is not None and facts.scan.malformed == 0 and facts.scan.lines == 121
    assert not gather_codex_home(tmp_path / "nope").exists
    assert not gather_codex_home(day / "notes.txt").is_dir
    empty = tmp_path / "empty-home"
    empty.mkdir()
    assert not gather_codex_home(empty).sessions_exists


def test_gather_codex_home_scans_a_compressed_newest_rollout(tmp_path: Path) -> None:
    day = tmp_path / "sessions" / "2026" / "11" / "23"
    day.mkdir(parents=True)
    zipped = day / "rollout-2026-11-23T10-00-00-01a20a5a-009b-7f71-8ca7-000000000001.jsonl.zst"
    zipped.write_bytes((DATA / "rollouts" / "codex-0.169-main.jsonl.zst").read_bytes())
    facts = gather_codex_home(tmp_path)
    assert facts.rollouts == 1 and facts.newest == zipped
    assert facts.scan is not None and facts.scan.malformed == 0 and facts.scan.lines == 121
    zipped.write_bytes(zipped.read_bytes()[:200])  # cut inside its frame
    assert gather_codex_home(tmp_path).newest_error == f"{zipped.name}: truncated zstd data"


def test_gather_codex_runs_version_outside_codex_home(tmp_path: Path) -> None:
    codex_home = tmp_path / "codex-home"
    codex_home.mkdir()
    (codex_home / "config.toml").write_text("[features]\ndaemon_auto_start = false\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    seen = tmp_path / "seen-codex-home"
    script = bin_dir / "fakecodex"
    script.write_text(f'#!/bin/sh\nprintf "%s" "$CODEX_HOME" > {seen}\necho "codex-cli 0.169.4 $1"\n')
    script.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    before = sorted(p.name for p in codex_home.iterdir())
    facts = gather_codex(("fakecodex",), env, codex_home)
    assert facts.path == str(script)
    assert facts.version_output is not None and "--version" in facts.version_output
    used = Path(seen.read_text())
    assert used != codex_home and not used.exists()
    assert sorted(p.name for p in codex_home.iterdir()) == before
    assert facts.config_toml == {"features": {"daemon_auto_start": False}}
    assert levels(codex_checks(facts)) == {"codex": Level.OK, "codex daemon": Level.OK}
    assert gather_codex(("no-such-codex-here",), env, codex_home).path is None
    failing = bin_dir / "badcodex"
    failing.write_text("#!/bin/sh\necho 'boom' >&2\nexit 3\n")
    failing.chmod(0o755)
    bad = gather_codex(("badcodex",), env, codex_home)
    assert bad.version_output is None and bad.error == "boom"
