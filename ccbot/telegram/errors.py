"""The ``TelegramError`` tree raised by :mod:`ccbot.telegram.api`.

::

    TelegramError                 .description, .error_code, .method
    ├── RetryAfter                429 (or any error carrying parameters.retry_after); .retry_after seconds
    ├── BadRequest                400
    │   ├── MessageNotModified    "message is not modified" (an edit with identical content: treat as success)
    │   ├── ThreadNotFound        "message thread not found" / "TOPIC_DELETED" (the topic is gone)
    │   ├── TopicClosed           "TOPIC_CLOSED"
    │   ├── CantParseEntities     "can't parse entities" (bad HTML: resend as plain text)
    │   ├── MessageToEditNotFound "message to edit not found"
    │   ├── QueryTooOld           "query is too old" (answerCallbackQuery too late: ignore)
    │   └── FileTooBig            "file is too big" (getFile), or over download_file's max_bytes
    ├── Unauthorized              401 (bad token: fatal)
    ├── Forbidden                 403 (blocked / kicked)
    ├── NotFound                  404 (unknown method, or a file download that is gone)
    ├── Conflict                  409 (another getUpdates poller, or a webhook is set)
    ├── ServerError               5xx
    └── NetworkError              transport errors, timeouts, non-JSON or malformed bodies

Pure module. No exception text ever contains the request URL (which carries the bot token): callers
build messages only from the method name and the server's description.
"""

from __future__ import annotations

import re
from collections.abc import Mapping


class TelegramError(Exception):
    """A Bot API call failed.

    ``description`` is the server's text (or ours for local failures), ``error_code`` the Bot API
    ``error_code`` / HTTP status when one exists, ``method`` the Bot API method name.
    """

    def __init__(self, description: str, *, error_code: int | None = None, method: str = "") -> None:
        self.description = description
        self.error_code = error_code
        self.method = method
        code = f" ({error_code})" if error_code is not None else ""
        super().__init__(f"{method or 'telegram'}{code}: {description}")


class RetryAfter(TelegramError):
    """Flood control: wait ``retry_after`` seconds, then retry the same request."""

    def __init__(
        self, description: str, *, retry_after: float, error_code: int | None = 429, method: str = ""
    ) -> None:
        super().__init__(description, error_code=error_code, method=method)
        self.retry_after = retry_after


class BadRequest(TelegramError):
    """HTTP 400."""


class MessageNotModified(BadRequest):
    """The edit would not change the message."""


class ThreadNotFound(BadRequest):
    """The forum topic (message thread) does not exist (deleted, or General passed explicitly)."""


class TopicClosed(BadRequest):
    """The topic is closed and the bot may not post in it."""


class CantParseEntities(BadRequest):
    """The text's HTML (or other parse mode) markup was rejected."""


class MessageToEditNotFound(BadRequest):
    """The message to edit does not exist (any more)."""


class QueryTooOld(BadRequest):
    """The callback query expired or its id is invalid."""


class FileTooBig(BadRequest):
    """The file exceeds the download limit (server-side 20 MB, or ``download_file``'s ``max_bytes``)."""


class Unauthorized(TelegramError):
    """HTTP 401: the token is invalid."""


class Forbidden(TelegramError):
    """HTTP 403: e.g. the bot was blocked or kicked."""


class NotFound(TelegramError):
    """HTTP 404."""


class Conflict(TelegramError):
    """HTTP 409: another getUpdates request or an active webhook."""


class ServerError(TelegramError):
    """HTTP 5xx."""


class NetworkError(TelegramError):
    """The request did not produce a Bot API answer: transport failure, timeout or a garbled body."""


# Matched case-insensitively against the description, first hit wins.
_BAD_REQUEST_KINDS: tuple[tuple[str, type[BadRequest]], ...] = (
    ("message is not modified", MessageNotModified),
    ("message thread not found", ThreadNotFound),
    ("topic_deleted", ThreadNotFound),
    ("topic_closed", TopicClosed),
    ("can't parse entities", CantParseEntities),
    ("message to edit not found", MessageToEditNotFound),
    ("query is too old", QueryTooOld),
    ("file is too big", FileTooBig),
)

_BY_STATUS: dict[int, type[TelegramError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
}

_RETRY_AFTER_TEXT = re.compile(r"retry after (\d+(?:\.\d+)?)", re.IGNORECASE)


def _retry_after(body: Mapping[str, object], code: int, description: str) -> float | None:
    params = body.get("parameters")
    if isinstance(params, Mapping):
        value = params.get("retry_after")
        if isinstance(value, int | float) and not isinstance(value, bool):
            return max(float(value), 0.0)
    if code != 429:
        return None
    # A 429 without parameters (proxies, fakes): the text still says "retry after N".
    match = _RETRY_AFTER_TEXT.search(description)
    return float(match.group(1)) if match else 1.0


def error_from_response(method: str, status: int, body: Mapping[str, object]) -> TelegramError:
    """Map a failed Bot API answer to the most specific ``TelegramError``.

    ``status`` is the HTTP status; ``body`` the decoded JSON envelope (``{"ok": false, "error_code",
    "description", "parameters"?}``), possibly empty. The body's ``error_code`` wins over ``status``
    (they are equal for the real server). A 429, or any error whose ``parameters`` carry
    ``retry_after``, becomes :class:`RetryAfter`; a 429 without a usable value waits 1 s.
    """
    raw_code = body.get("error_code")
    code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else status
    raw_description = body.get("description")
    description = raw_description if isinstance(raw_description, str) else f"HTTP {status}"

    retry_after = _retry_after(body, code, description)
    if retry_after is not None:
        return RetryAfter(description, retry_after=retry_after, error_code=code, method=method)
    if code == 400:
        lowered = description.lower()
        for needle, cls in _BAD_REQUEST_KINDS:
            if needle in lowered:
                return cls(description, error_code=code, method=method)
    if code >= 500:
        return ServerError(description, error_code=code, method=method)
    cls_for_code = _BY_STATUS.get(code, TelegramError)
    return cls_for_code(description, error_code=code, method=method)
