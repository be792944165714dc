"""Pure tmux helpers: key allowlist, text chunking, argument escaping (keys.py) and env scrubbing (env.py)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccbot.tmux.env import MIN_SECRET_LEN, scrub_window_env, scrubbed_environ
from ccbot.tmux.keys import (
    ALLOWED_KEYS,
    MAX_CHUNK_BYTES,
    UnknownKeyError,
    escape_argument,
    resolve_key,
    split_for_send,
)

# ---------------------------------------------------------------- resolve_key


@pytest.mark.parametrize(
    ("friendly", "tmux_name"),
    [
        ("esc", "Escape"),
        ("ESC", "Escape"),
        ("Escape", "Escape"),
        (" enter ", "Enter"),
        ("return", "Enter"),
        ("ctrl-c", "C-c"),
        ("Ctrl+C", "C-c"),
        ("^c", "C-c"),
        ("C-c", "C-c"),
        ("↑", "Up"),
        ("↓", "Down"),
        ("←", "Left"),
        ("→", "Right"),
        ("tab", "Tab"),
        ("space", "Space"),
        ("backspace", "BSpace"),
        ("y", "y"),
        ("p", "p"),
        ("n", "n"),
        ("0", "0"),
        ("9", "9"),
    ],
)
def test_resolve_key_maps_friendly_names(friendly: str, tmux_name: str) -> None:
    assert resolve_key(friendly) == tmux_name


@pytest.mark.parametrize(
    "bad",
    ["", "C-d", "C-z", "F1", "Y", "q", "10", "Enter Enter", "send-keys", "M-x", "C-c;", "Home", "Esc ape"],
)
def test_resolve_key_rejects_everything_else(bad: str) -> None:
    with pytest.raises(UnknownKeyError):
        resolve_key(bad)


def test_allowlist_is_exactly_the_documented_set() -> None:
    expected = {
        "Enter",
        "Escape",
        "Tab",
        "Space",
        "Up",
        "Down",
        "Left",
        "Right",
        "C-c",
        "BSpace",
        "y",
        "p",
        "n",
        "r",
        "f",
    }
    expected |= set("0123456789")
    assert expected == ALLOWED_KEYS
    for name in ALLOWED_KEYS:
        assert resolve_key(name) == name


@given(st.text(max_size=12))
def test_resolve_key_only_ever_returns_allowlisted_names(name: str) -> None:
    try:
        result = resolve_key(name)
    except UnknownKeyError:
        return
    assert result in ALLOWED_KEYS


# ---------------------------------------------------------------- split_for_send


def _escaped_size(piece: str) -> int:
    return len(escape_argument(piece).encode("utf-8"))


@given(st.text(), st.integers(min_value=5, max_value=64))
def test_split_for_send_round_trips_and_respects_the_limit(text: str, limit: int) -> None:
    pieces = split_for_send(text, limit)
    assert "".join(pieces) == text.replace("\x00", "")
    assert all(pieces), "no empty pieces"
    assert all(_escaped_size(p) <= limit for p in pieces)


@given(st.text(alphabet=st.sampled_from(["a", ";", "é", "😀", "\x00", "\n"]), max_size=300))
def test_split_for_send_is_greedy(text: str) -> None:
    # Every piece but the last is full: adding the next character would break the limit.
    limit = 11
    pieces = split_for_send(text, limit)
    for piece, following in itertools.pairwise(pieces):
        assert _escaped_size(piece + following[0]) > limit


def test_split_for_send_examples() -> None:
    assert split_for_send("") == []
    assert split_for_send("\x00\x00") == []
    assert split_for_send("abc") == ["abc"]
    # 4-byte emoji never cut in half: 10 bytes allowed -> two emoji per piece.
    assert split_for_send("😀" * 5, 10) == ["😀😀", "😀😀", "😀"]
    # 'aaaa;' needs 6 bytes once escaped, so with 5 the ';' starts the next piece.
    assert split_for_send("aaaa;", 5) == ["aaaa", ";"]
    assert split_for_send("aaa;", 5) == ["aaa;"]


def test_split_for_send_default_chunks_100k() -> None:
    text = ("héllo wörld; 😀 שלום\t" * 5000)[:100_000]
    pieces = split_for_send(text)
    assert "".join(pieces) == text
    assert all(_escaped_size(p) <= MAX_CHUNK_BYTES for p in pieces)
    # Greedy filling: the count is close to the minimum possible.
    assert len(pieces) <= len(text.encode()) // (MAX_CHUNK_BYTES - 4) + 1


def test_split_for_send_rejects_tiny_limits_and_surrogates() -> None:
    with pytest.raises(ValueError):
        split_for_send("abc", 4)
    with pytest.raises(UnicodeEncodeError):
        split_for_send("a\ud800b")


# ---------------------------------------------------------------- escape_argument


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a;", "a\\;"),
        (";", "\\;"),
        ("b\\;", "b\\\\;"),
        ("a;b", "a;b"),
        ("plain", "plain"),
        ("", ""),
        (";;", ";\\;"),
    ],
)
def test_escape_argument(raw: str, escaped: str) -> None:
    assert escape_argument(raw) == escaped


def _tmux_unescape(arg: str) -> str | None:
    """Model of tmux 3.3a's cmd_parse_from_arguments for one argument: None means 'separator'."""
    if arg.endswith(";"):
        arg = arg[:-1]
        if arg.endswith("\\"):
            return arg[:-1] + ";"
        return None
    return arg


@given(st.text())
def test_escape_argument_survives_tmux_parsing(text: str) -> None:
    assert _tmux_unescape(escape_argument(text)) == text


# ---------------------------------------------------------------- env scrubbing

TOKEN = "123456789:AAE-secret-telegram-token-value"
OPENAI = "sk-proj-0123456789abcdef"


def _environ() -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": "/home/dev",
        "LANG": "C.UTF-8",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "ALLOWED_USERS": "11111,22222",
        "OPENAI_API_KEY": OPENAI,
        "CCBOT_STATE_DIR": "/var/lib/ccbot",
        "CCBOT_WEBHOOK_SECRET": "webhook-secret-xyz",
        "TMUX": "/tmp/tmux-1000/default,123,0",
        "TMUX_PANE": "%3",
        "COPY_OF_TOKEN": f"prefix {TOKEN} suffix",
        "HAS_OPENAI": OPENAI,
        "HAS_WEBHOOK": "x=webhook-secret-xyz",
        "MENTIONS_USERS": "11111,22222",
    }


def test_scrubbed_environ_removes_secrets_by_name_and_value() -> None:
    out = scrubbed_environ(_environ())
    assert out == {
        "PATH": "/usr/bin:/bin",
        "HOME": "/home/dev",
        "LANG": "C.UTF-8",
        # ALLOWED_USERS is removed by name but its value is not a credential to hunt for.
        "MENTIONS_USERS": "11111,22222",
    }


def test_scrubbed_environ_extra_secrets_and_short_values() -> None:
    env = {"A": "contains hunter2-long-pw here", "B": "1", "C": "safe", "CCBOT_TOKEN": "1"}
    out = scrubbed_environ(env, secrets=["hunter2-long-pw", "1"])
    # "1" is shorter than MIN_SECRET_LEN, so it does not remove B; CCBOT_* goes by name.
    assert out == {"B": "1", "C": "safe"}
    assert len("1") < MIN_SECRET_LEN


def test_scrubbed_environ_does_not_modify_its_input() -> None:
    env = _environ()
    before = dict(env)
    scrubbed_environ(env)
    assert env == before


def test_scrub_window_env_uses_the_adapter_secrets_and_drops_bad_names() -> None:
    wanted = {
        "CODEX_HOME": "/x/codex",
        "LEAK": f"Bearer {TOKEN}",
        "": "x",
        "A=B": "y",
        "NO_PROXY": "127.0.0.1",
    }
    assert scrub_window_env(wanted, secrets=[TOKEN]) == {"CODEX_HOME": "/x/codex", "NO_PROXY": "127.0.0.1"}


@given(
    st.dictionaries(
        st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ_", min_size=1, max_size=12),
        st.text(max_size=40),
        max_size=8,
    ),
    st.text(min_size=MIN_SECRET_LEN, max_size=20),
)
def test_no_scrubbed_value_contains_a_secret(env: dict[str, str], secret: str) -> None:
    env = {**env, "TELEGRAM_BOT_TOKEN": secret}
    out = scrubbed_environ(env)
    assert "TELEGRAM_BOT_TOKEN" not in out
    assert all(secret not in v for v in out.values())
    assert all(k in env and env[k] == v for k, v in out.items())
    assert not any(k.startswith("CCBOT_") or k in ("TMUX", "TMUX_PANE") for k in out)
