"""structlog set-up: console on a TTY, JSON lines otherwise, syslog-prefixed JSON under journald.

Every record — ours and the stdlib ones from httpx, httpcore and libtmux — passes through one
``ProcessorFormatter`` whose last step before rendering redacts secrets (the bot token, the OpenAI key and
any ``bot<id>:<token>`` URL fragment), including inside rendered exception text.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any, TextIO

import structlog

from ccbot.telegram.redact import redact

FORMATS = ("auto", "console", "json", "journald")
LEVELS = ("debug", "info", "warning", "error")
_SYSLOG_PRIORITY = {"critical": 2, "exception": 3, "error": 3, "warning": 4, "info": 6, "debug": 7}

EventDict = MutableMapping[str, Any]
Processor = Callable[[Any, str, EventDict], Any]


def choose_format(requested: str, *, stream: TextIO, environ: MutableMapping[str, str] | None = None) -> str:
    """Resolve ``auto``: journald when ``JOURNAL_STREAM`` is set, console on a TTY, JSON otherwise."""
    env = os.environ if environ is None else environ
    if requested != "auto":
        return requested
    if env.get("JOURNAL_STREAM"):
        return "journald"
    return "console" if stream.isatty() else "json"


def _scrub(value: Any, secrets: Sequence[str]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_scrub(v, secrets) for v in value)
    return value


def make_redactor(secrets: Sequence[str]) -> Processor:
    """A processor that redacts every string (recursively) in the event dict."""
    frozen = tuple(s for s in secrets if s)

    def redact_secrets(_logger: Any, _name: str, event_dict: EventDict) -> EventDict:
        for key in list(event_dict):
            event_dict[key] = _scrub(event_dict[key], frozen)
        return event_dict

    return redact_secrets


def _journald_renderer(json_renderer: Processor) -> Processor:
    def render(logger: Any, name: str, event_dict: EventDict) -> str:
        level = str(event_dict.get("level", "info"))
        prefix = f"<{_SYSLOG_PRIORITY.get(level, 6)}>"
        return prefix + str(json_renderer(logger, name, event_dict))

    return render


def configure_logging(
    fmt: str = "auto",
    level: str = "info",
    *,
    secrets: Sequence[str] = (),
    stream: TextIO | None = None,
) -> str:
    """Install the handler on the root logger and configure structlog. Returns the format chosen.

    Raises ValueError for an unknown format or level (the CLI validates both first).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r}")
    if level not in LEVELS:
        raise ValueError(f"unknown log level {level!r}")
    out = sys.stdout if stream is None else stream
    chosen = choose_format(fmt, stream=out)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor
    if chosen == "console":
        exc_step: Processor = structlog.processors.format_exc_info
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
    else:
        # show_locals=False: frame locals can hold message text, tokens and other secrets.
        exc_step = structlog.processors.ExceptionRenderer(
            structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        )
        json_renderer = structlog.processors.JSONRenderer()
        renderer = _journald_renderer(json_renderer) if chosen == "journald" else json_renderer
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            exc_step,
            make_redactor(secrets),
            renderer,
        ],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request URL at INFO, and the URL holds the bot token.
    for noisy in ("httpx", "httpcore", "libtmux", "hpack"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
    return chosen
