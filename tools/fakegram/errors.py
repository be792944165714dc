"""Bot API errors the fake returns, with the real server's exact descriptions where known.

An :class:`ApiError` raised by a method handler becomes the §2.1 error envelope
``{"ok": false, "error_code": N, "description": D[, "parameters": {...}]}`` with HTTP status N.
"""

from __future__ import annotations

CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
THREAD_NOT_FOUND = "Bad Request: message thread not found"
CHAT_NOT_FOUND = "Bad Request: chat not found"
TOPIC_CLOSED = "Bad Request: TOPIC_CLOSED"
MESSAGE_TOO_LONG = "Bad Request: message is too long"
CAPTION_TOO_LONG = "Bad Request: message caption is too long"
TEXT_EMPTY = "Bad Request: message text is empty"
TEXT_MUST_BE_NON_EMPTY = "Bad Request: text must be non-empty"
TEXT_TOO_LONG = "Bad Request: text is too long"
BUTTON_DATA_INVALID = "Bad Request: BUTTON_DATA_INVALID"
EDIT_NOT_FOUND = "Bad Request: message to edit not found"
DELETE_NOT_FOUND = "Bad Request: message to delete not found"
CANT_DELETE = "Bad Request: message can't be deleted"
CANT_EDIT = "Bad Request: message can't be edited"
REPLY_NOT_FOUND = "Bad Request: message to be replied not found"
FILE_TOO_BIG = "Bad Request: file is too big"
WRONG_FILE_ID = "Bad Request: wrong file_id or the file is temporarily unavailable"
WRONG_ACTION = "Bad Request: wrong parameter action in request"
UNSUPPORTED_PARSE_MODE = "Bad Request: unsupported parse_mode"
BOT_BLOCKED = "Forbidden: bot was blocked by the user"
NOT_A_MEMBER = "Forbidden: bot is not a member of the supergroup chat"
METHOD_NOT_FOUND = "Not Found: method not found"


class ApiError(Exception):
    """A Bot API failure: HTTP status = ``error_code``; ``parameters`` is ResponseParameters."""

    def __init__(self, error_code: int, description: str, parameters: dict[str, int] | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def envelope(self) -> dict[str, object]:
        body: dict[str, object] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = dict(self.parameters)
        return body


def bad_request(description: str) -> ApiError:
    """400 with the ``Bad Request: `` prefix added unless already present."""
    if not description.startswith("Bad Request: "):
        description = "Bad Request: " + description
    return ApiError(400, description)


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})


class ControlError(ValueError):
    """A control-API misuse (unknown chat, user, topic...); HTTP control answers 400."""
