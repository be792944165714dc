from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from ccbot.logconfig import choose_format, configure_logging

TOKEN = "7100200300:AAH-e2eSecretTokenValue_xyz123"
OPENAI = "sk-test-openai-key-0123456789"


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def restore_logging() -> object:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def test_auto_format_choice() -> None:
    assert choose_format("auto", stream=Tty(), environ={}) == "console"
    assert choose_format("auto", stream=io.StringIO(), environ={}) == "json"
    assert choose_format("auto", stream=Tty(), environ={"JOURNAL_STREAM": "8:123"}) == "journald"
    assert choose_format("json", stream=Tty(), environ={"JOURNAL_STREAM": "8:1"}) == "json"


def test_json_lines_redact_token_everywhere_including_httpx_and_exceptions() -> None:
    out = io.StringIO()
    configure_logging("json", "debug", secrets=[TOKEN, OPENAI], stream=out)
    log = structlog.get_logger("t")
    log.info("calling", url=f"https://api.telegram.org/bot{TOKEN}/getMe", nested={"k": [OPENAI]})
    logging.getLogger("httpx").warning("HTTP Request: POST https://api.telegram.org/bot%s/sendMessage", TOKEN)
    try:
        raise RuntimeError(f"failed https://api.telegram.org/bot{TOKEN}/getUpdates key={OPENAI}")
    except RuntimeError:
        log.exception("boom")
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    records = [json.loads(line) for line in lines]
    assert records[0]["event"] == "calling" and records[0]["level"] == "info"
    assert records[1]["logger"] == "httpx"
    assert records[2]["exception"][0]["exc_type"] == "RuntimeError"
    text = out.getvalue()
    assert TOKEN not in text and TOKEN.split(":")[1] not in text and OPENAI not in text
    assert "<redacted>" in records[0]["url"]
    assert "<redacted>" in json.dumps(records[2]["exception"])


def test_httpx_info_lines_are_silenced() -> None:
    out = io.StringIO()
    configure_logging("json", "debug", secrets=[TOKEN], stream=out)
    logging.getLogger("httpx").info("HTTP Request: GET https://x/bot%s/getMe", TOKEN)
    assert out.getvalue() == ""


def test_journald_lines_carry_syslog_priority() -> None:
    out = io.StringIO()
    configure_logging("journald", "debug", stream=out)
    log = structlog.get_logger("t")
    log.error("bad")
    log.warning("meh")
    log.info("fine")
    log.debug("detail")
    prefixes = [line[:3] for line in out.getvalue().splitlines()]
    assert prefixes == ["<3>", "<4>", "<6>", "<7>"]
    assert json.loads(out.getvalue().splitlines()[0][3:])["event"] == "bad"


def test_level_filters_and_console_renders() -> None:
    out = Tty()
    configure_logging("console", "warning", stream=out)
    structlog.get_logger("t").info("hidden")
    structlog.get_logger("t").warning("shown", window="@3")
    text = out.getvalue()
    assert "hidden" not in text and "shown" in text and "@3" in text
