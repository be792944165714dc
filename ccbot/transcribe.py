"""OpenAI audio transcription client (adapter: one HTTP request per call, over a caller-owned httpx client).

:func:`transcribe` POSTs ``{base_url}/audio/transcriptions`` as multipart (``model`` = :data:`MODEL`,
``file`` = the audio bytes, JSON response) with ``Authorization: Bearer <api key>`` and returns the
transcript text (stripped; may be empty when nothing was recognised).

Every failure is a :class:`TranscriptionError` whose text is safe to log and to show the user: it is
built from the HTTP status and the server's error message, scrubbed with
``ccbot.telegram.redact`` (the API key in any form, bot-token shapes), and raised ``from None`` so no
httpx exception (which may quote the request) rides along as its context. No timeout is applied here
besides the client's own; callers bound the call with a trio cancel scope.
"""

from __future__ import annotations

import json

import httpx

from ccbot.telegram.redact import redact

MODEL = "gpt-4o-transcribe"
MAX_ERROR_CHARS = 300


class TranscriptionError(Exception):
    """Transcription failed. ``str()`` never contains the API key. ``status``: HTTP status, if any."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _valid_key(api_key: str) -> bool:
    # A header value must be printable ASCII; a key with a newline would otherwise fail inside httpx
    # with an exception that may quote it.
    return bool(api_key) and api_key.isascii() and api_key.isprintable() and " " not in api_key


def _server_message(response: httpx.Response, secrets: list[str]) -> str:
    """The ``error.message`` of an OpenAI error body, else the body text; redacted, then shortened (a
    secret cut in half by the shortening would no longer be recognised)."""
    message = response.text
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            message = str(error["message"])
        elif isinstance(error, str):
            message = error
    return redact(message, secrets)[:MAX_ERROR_CHARS].strip()


def _describe_status(status: int, message: str) -> str:
    if status == 401:
        head = "the API key was refused (HTTP 401)"
    elif status == 429:
        head = "rate limit or quota exceeded (HTTP 429)"
    elif status == 413:
        head = "the audio is too large for the transcription API (HTTP 413)"
    elif status >= 500:
        head = f"the transcription service failed (HTTP {status})"
    else:
        head = f"HTTP {status}"
    return f"{head}: {message}" if message else head


async def transcribe(
    client: httpx.AsyncClient,
    audio: bytes,
    *,
    api_key: str,
    base_url: str,
    filename: str = "voice.ogg",
    mime_type: str = "audio/ogg",
    model: str = MODEL,
) -> str:
    """Return the transcript of ``audio``; raise :class:`TranscriptionError` (key-free text) on any failure.

    ``base_url`` is the API root including ``/v1`` (e.g. ``https://api.openai.com/v1``); ``filename``
    tells the API the container format by its extension.
    """
    # The JSON-escaped form too: a server may echo the key inside a JSON string.
    secrets = [api_key, json.dumps(api_key)[1:-1]]
    if not _valid_key(api_key):
        raise TranscriptionError("OPENAI_API_KEY contains characters that cannot be sent in a header")
    url = base_url.rstrip("/") + "/audio/transcriptions"
    try:
        response = await client.post(
            url,
            headers={"Authorization": f"Bearer {api_key}"},
            data={"model": model},
            files={"file": (filename, audio, mime_type)},
        )
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        text = redact(str(exc), secrets)
        raise TranscriptionError(
            f"could not reach the transcription API ({type(exc).__name__}{': ' + text if text else ''})"
        ) from None
    if response.status_code != 200:
        message = _server_message(response, secrets)
        raise TranscriptionError(redact(_describe_status(response.status_code, message), secrets),
                                 response.status_code)
    try:
        body = response.json()
    except ValueError:
        raise TranscriptionError("the transcription API answered with something that is not JSON",
                                 200) from None
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        raise TranscriptionError("the transcription API's answer has no text field", 200)
    return str(body["text"]).strip()
