"""callback_data codec: exact wire form, 64-byte limit, forged data rejection."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccbot.ui import callbacks as cb
from ccbot.ui.callbacks import MAX_INT, SIGNATURES, BadCallback, Callback, decode, encode, new_token

TOKENS = st.from_regex(r"[0-9A-Za-z]{4,12}", fullmatch=True)
KEYS = st.from_regex(r"[A-Za-z0-9_+-]{1,16}", fullmatch=True)
INTS = st.integers(min_value=0, max_value=MAX_INT)


@st.composite
def valid_calls(draw: st.DrawFn) -> tuple[str, str, tuple[str | int, ...]]:
    kind = draw(st.sampled_from(sorted(SIGNATURES)))
    token = draw(TOKENS)
    args: list[str | int] = [draw(INTS) if code == "i" else draw(KEYS) for code in SIGNATURES[kind]]
    return kind, token, tuple(args)


def test_wire_form_examples() -> None:
    assert encode(cb.BROWSER_OPEN, "aZ09xy", 3) == "br.open:aZ09xy:3"
    assert encode(cb.PICKER_FRESH, "aZ09xy") == "pk.fresh:aZ09xy"
    assert encode(cb.SCREENSHOT_KEY, "aZ09xy", "C-c") == "ss.key:aZ09xy:C-c"
    assert decode("hi.page:Tok123:12") == Callback(cb.HISTORY_PAGE, "Tok123", (12,))
    assert decode("pr.opt:Tok123:0") == Callback(cb.PROMPT_OPT, "Tok123", (0,))
    assert decode("ss.refresh:Tok123") == Callback(cb.SCREENSHOT_REFRESH, "Tok123", ())


def test_every_kind_from_the_brief_exists() -> None:
    expected = {
        "br.open": "i", "br.up": "", "br.page": "i", "br.select": "", "br.cancel": "", "br.hidden": "",
        "pk.resume": "i", "pk.fresh": "", "pk.page": "i", "pk.cancel": "", "pk.window": "i",
        "hi.page": "i", "pr.opt": "i", "ss.key": "k", "ss.refresh": "", "noop": "",
    }  # fmt: skip
    assert expected == SIGNATURES


def test_longest_possible_value_fits() -> None:
    longest_kind = max((k for k, s in SIGNATURES.items() if s == "k"), key=len)
    data = encode(longest_kind, "A" * 12, "k" * 16)
    assert len(data.encode()) <= 64
    data = encode(max((k for k, s in SIGNATURES.items() if s == "i"), key=len), "A" * 12, MAX_INT)
    assert len(data.encode()) <= 64
    data = encode(max(SIGNATURES, key=len), "A" * 12, *(["k"] * len(SIGNATURES[max(SIGNATURES, key=len)])))
    assert len(data.encode()) <= 64


@given(valid_calls())
def test_roundtrip_and_size(call: tuple[str, str, tuple[str | int, ...]]) -> None:
    kind, token, args = call
    data = encode(kind, token, *args)
    assert 1 <= len(data.encode("utf-8")) <= 64
    assert data.isascii()
    assert decode(data) == Callback(kind, token, args)


@given(st.text(max_size=100))
def test_decode_arbitrary_text_only_raises_badcallback(data: str) -> None:
    try:
        result = decode(data)
    except BadCallback:
        return
    assert encode(result.kind, result.token, *result.args) == data


PIECES = [*SIGNATURES, "", "Tok123", "abc", "0", "7", "007", "-1", "+1", " 1", "1 ", "1_0", "\uff11", "9" * 7,
          "Enter", "C-c", "a:b", "k" * 17, "é", "\n", "0x10"]  # fmt: skip


@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=5))
def test_decode_near_miss_data(parts: list[str]) -> None:
    data = ":".join(parts)
    try:
        result = decode(data)
    except BadCallback:
        return
    # Anything accepted must be exactly what encode produces (canonical, no aliases).
    assert encode(result.kind, result.token, *result.args) == data


@pytest.mark.parametrize(
    "data",
    [
        "",
        "br.open",
        "br.open:",
        "br.open:Tok123",  # missing index
        "br.open:Tok123:1:2",  # too many args
        "br.up:Tok123:1",
        "br.open:Tok123:01",  # non-canonical integer
        "br.open:Tok123:-1",
        "br.open:Tok123:+1",
        "br.open:Tok123: 1",
        "br.open:Tok123:1_0",
        "br.open:Tok123:1000000",  # above MAX_INT
        "br.open:Tok123:\uff11",  # fullwidth digit (non-ASCII)
        "br.open:Tok123:x",
        "br.open:T:1",  # token too short
        "br.open:Tok_12:1",  # token not base62
        "br.open:Tok1234567890:1",  # token too long
        "zz.top:Tok123",  # unknown kind
        "BR.OPEN:Tok123:1",
        "ss.key:Tok123:",
        "ss.key:Tok123:a b",
        "ss.key:Tok123:" + "k" * 17,
        "ss.key:Tok123:/etc/passwd",
        "br.select:Tok123\n",
        "pk.resume:Tok123:1" + " " * 60,  # oversized
        "noop:Tok123:é",
    ],
)
def test_forged_data_is_rejected(data: str) -> None:
    with pytest.raises(BadCallback):
        decode(data)


@pytest.mark.parametrize(
    ("kind", "token", "args"),
    [
        ("nope", "Tok123", ()),
        (cb.BROWSER_OPEN, "Tok_12", (1,)),
        (cb.BROWSER_OPEN, "Tok123", ()),
        (cb.BROWSER_OPEN, "Tok123", (True,)),
        (cb.BROWSER_OPEN, "Tok123", (-1,)),
        (cb.BROWSER_OPEN, "Tok123", (MAX_INT + 1,)),
        (cb.BROWSER_OPEN, "Tok123", ("1",)),
        (cb.SCREENSHOT_KEY, "Tok123", (1,)),
        (cb.SCREENSHOT_KEY, "Tok123", ("a:b",)),
        (cb.SCREENSHOT_KEY, "Tok123", ("",)),
        (cb.BROWSER_UP, "Tok123", (1,)),
    ],
)
def test_encode_rejects_what_it_cannot_represent(kind: str, token: str, args: tuple[object, ...]) -> None:
    with pytest.raises(ValueError):
        encode(kind, token, *args)  # type: ignore[arg-type]


def test_new_token_shape() -> None:
    tokens = {new_token() for _ in range(50)}
    assert len(tokens) == 50
    for token in tokens:
        assert len(token) == 6 and token.isascii() and token.isalnum()
        assert decode(encode(cb.NOOP, token)).token == token


def test_int_arg() -> None:
    assert decode("pk.page:Tok123:4").int_arg() == 4
    with pytest.raises(BadCallback):
        decode("ss.key:Tok123:Enter").int_arg()
    with pytest.raises(BadCallback):
        decode("pk.fresh:Tok123").int_arg()
