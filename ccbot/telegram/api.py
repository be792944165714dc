"""``BotApi``: typed async Bot API methods over one ``httpx.AsyncClient``.

The only module of ``ccbot.telegram`` that does I/O. Every method either returns the decoded result
or raises a :class:`~ccbot.telegram.errors.TelegramError` subclass:

* the server answered ``ok: false`` → the subclass chosen by ``error_from_response``;
* transport failure, timeout, non-JSON body, or a result that does not parse → ``NetworkError``.

No exception text or ``repr`` contains the bot token: httpx exceptions are re-raised as
``NetworkError`` with the token scrubbed from their text and their context suppressed, and the request
URL is never part of a message. Methods take no timeouts (wrap calls in trio cancel scopes);
the only per-request timeout is getUpdates' read timeout, which must outlast the long poll.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import httpx

from ccbot.telegram.errors import FileTooBig, NetworkError, error_from_response
from ccbot.telegram.redact import redact
from ccbot.telegram.types import (
    MALFORMED,
    BotCommand,
    File,
    InlineKeyboard,
    Message,
    Update,
    User,
)

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.telegram.org"
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
# getUpdates' HTTP read timeout is the long-poll timeout plus this margin.
POLL_READ_MARGIN = 10.0

Files = Mapping[str, tuple[str, bytes]]
"""Multipart file fields: field name → (filename, content)."""


def _form_value(value: object) -> str:
    """Encode one parameter for a multipart form: scalars as text, objects as JSON strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _drop_none(params: Mapping[str, object]) -> dict[str, object]:
    return {key: value for key, value in params.items() if value is not None}


class BotApi:
    """Bot API client bound to one token.

    ``client`` is owned by the caller (it is never closed here); its default timeouts apply to
    every call except getUpdates. ``base_url`` points at Telegram or a fake server.
    """

    def __init__(self, client: httpx.AsyncClient, token: str, base_url: str = DEFAULT_BASE_URL) -> None:
        self._client = client
        self._token = token
        self._base_url = base_url.rstrip("/")

    def __repr__(self) -> str:
        return f"BotApi(base_url={self._base_url!r})"

    # -- transport -------------------------------------------------------------------------------

    def _network_error(self, method: str, exc: Exception) -> NetworkError:
        text = redact(str(exc), [self._token])
        description = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        return NetworkError(description, method=method)

    def _timeout(self, read_timeout: float | None) -> httpx.Timeout | None:
        if read_timeout is None:
            return None
        default = self._client.timeout
        return httpx.Timeout(
            connect=default.connect, read=read_timeout, write=default.write, pool=default.pool
        )

    async def _call(
        self,
        method: str,
        params: Mapping[str, object],
        *,
        files: Files | None = None,
        read_timeout: float | None = None,
    ) -> Any:
        """POST ``method`` and return the envelope's ``result``.

        ``params`` with value None are left out. Without ``files`` the body is JSON; with them it is
        multipart and complex values (keyboards, media) are sent as JSON strings. Raises
        ``TelegramError`` subclasses (see module docstring).
        """
        url = f"{self._base_url}/bot{self._token}/{method}"
        body = _drop_none(params)
        timeout = self._timeout(read_timeout)
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        try:
            if files:
                form = {key: _form_value(value) for key, value in body.items()}
                multipart = {
                    field: (name, content, mimetypes.guess_type(name)[0] or "application/octet-stream")
                    for field, (name, content) in files.items()
                }
                response = await self._client.post(url, data=form, files=multipart, **extra)
            else:
                response = await self._client.post(url, json=body, **extra)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self._network_error(method, exc) from None
        return self._decode(method, response)

    @staticmethod
    def _decode(method: str, response: httpx.Response) -> Any:
        status = response.status_code
        try:
            envelope = response.json()
        except ValueError:
            raise NetworkError(
                f"non-JSON response (HTTP {status})", error_code=status, method=method
            ) from None
        if not isinstance(envelope, dict) or not isinstance(envelope.get("ok"), bool):
            raise NetworkError(
                f"malformed response envelope (HTTP {status})", error_code=status, method=method
            )
        if envelope["ok"]:
            return envelope.get("result")
        raise error_from_response(method, status, envelope)

    @staticmethod
    def _parse(method: str, parse: Callable[[Any], T], result: Any) -> T:
        try:
            return parse(result)
        except MALFORMED as exc:
            raise NetworkError(
                f"malformed result: {type(exc).__name__}: {exc}", error_code=200, method=method
            ) from None

    def _message(self, method: str, result: Any) -> Message:
        return self._parse(method, Message.from_api, result)

    def _maybe_message(self, method: str, result: Any) -> Message | None:
        # Edits of inline messages answer True instead of the Message.
        return None if result is True or result is None else self._message(method, result)

    # -- methods ---------------------------------------------------------------------------------

    async def get_me(self) -> User:
        """The bot's own user (``getMe``); how the token is checked at start-up."""
        return self._parse("getMe", User.from_api, await self._call("getMe", {}))

    async def get_updates(
        self,
        offset: int | None,
        timeout: int,  # noqa: ASYNC109 (the Bot API's server-side long-poll wait, not a client timeout)
        allowed_updates: Sequence[str] | None = None,
        limit: int = 100,
    ) -> list[Update]:
        """Long-poll for updates; ``timeout`` is the server-side wait in seconds.

        The HTTP read timeout of this request alone is ``timeout + 10`` s. Updates of a kind the
        types module does not model are returned with only ``kind`` set; malformed ones are flagged
        (``Update.malformed``) rather than raised, so the caller can still advance its offset.
        """
        params: dict[str, object] = {
            "offset": offset,
            "timeout": timeout,
            "limit": limit,
            "allowed_updates": None if allowed_updates is None else list(allowed_updates),
        }
        result = await self._call("getUpdates", params, read_timeout=timeout + POLL_READ_MARGIN)

        def parse(items: Any) -> list[Update]:
            if not isinstance(items, list):
                raise TypeError("getUpdates result is not an array")
            return [Update.from_api(item) for item in items]

        return self._parse("getUpdates", parse, result)

    async def send_message(
        self,
        chat_id: int,
        text: str,
        *,
        message_thread_id: int | None = None,
        parse_mode: str | None = "HTML",
        reply_markup: InlineKeyboard | None = None,
        disable_notification: bool = False,
        link_preview: bool = False,
        reply_to_message_id: int | None = None,
    ) -> Message:
        """``reply_to_message_id`` quotes a message; a reply target that is gone does not fail the send."""
        params: dict[str, object] = {
            "chat_id": chat_id,
            "message_thread_id": message_thread_id,
            "text": text,
            "parse_mode": parse_mode,
            "reply_markup": None if reply_markup is None else reply_markup.to_api(),
            "disable_notification": True if disable_notification else None,
            "link_preview_options": None if link_preview else {"is_disabled": True},
            "reply_parameters": None
            if reply_to_message_id is None
            else {"message_id": reply_to_message_id, "allow_sending_without_reply": True},
        }
        return self._message("sendMessage", await self._call("sendMessage", params))

    async def send_message_draft(
        self,
        chat_id: int,
        draft_id: int,
        text: str,
        *,
        message_thread_id: int | None = None,
        parse_mode: str | None = "HTML",
    ) -> None:
        """Show ``text`` as the partial message ``draft_id`` (non-zero) is growing into (``sendMessageDraft``,
        Bot API 9.3: private chats only; frames with the same id animate). Raises TelegramError."""
        params: dict[str, object] = {
            "chat_id": chat_id,
            "message_thread_id": message_thread_id,
            "draft_id": draft_id,
            "text": text,
            "parse_mode": parse_mode,
        }
        await self._call("sendMessageDraft", params)

    async def edit_message_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        parse_mode: str | None = "HTML",
        reply_markup: InlineKeyboard | None = None,
    ) -> Message | None:
        """Replace a message's text; raises ``MessageNotModified`` if nothing would change."""
        params: dict[str, object] = {
            "chat_id": chat_id,
            "message_id": message_id,
            "text": text,
            "parse_mode": parse_mode,
            "reply_markup": None if reply_markup is None else reply_markup.to_api(),
            "link_preview_options": {"is_disabled": True},
        }
        return self._maybe_message("editMessageText", await self._call("editMessageText", params))

    async def edit_message_reply_markup(
        self, chat_id: int, message_id: int, reply_markup: InlineKeyboard | None
    ) -> None:
        """Set a message's inline keyboard; None removes it."""
        markup = reply_markup.to_api() if reply_markup is not None else {"inline_keyboard": []}
        params = {"chat_id": chat_id, "message_id": message_id, "reply_markup": markup}
        await self._call("editMessageReplyMarkup", params)

    async def delete_message(self, chat_id: int, message_id: int) -> None:
        """Delete ``message_id`` in ``chat_id`` (``deleteMessage``)."""
        await self._call("deleteMessage", {"chat_id": chat_id, "message_id": message_id})

    async def answer_callback_query(
        self, callback_query_id: str, text: str | None = None, show_alert: bool = False
    ) -> None:
        """Acknowledge a button press; a late answer raises ``QueryTooOld``."""
        params: dict[str, object] = {
            "callback_query_id": callback_query_id,
            "text": text,
            "show_alert": True if show_alert else None,
        }
        await self._call("answerCallbackQuery", params)

    async def send_chat_action(
        self, chat_id: int, action: str = "typing", *, message_thread_id: int | None = None
    ) -> None:
        """Show ``action`` ("typing", ...) in the chat or its topic for a few seconds (``sendChatAction``)."""
        params = {"chat_id": chat_id, "action": action, "message_thread_id": message_thread_id}
        await self._call("sendChatAction", params)

    async def send_photo(
        self,
        chat_id: int,
        photo: bytes,
        *,
        filename: str = "screen.png",
        caption: str | None = None,
        parse_mode: str | None = "HTML",
        message_thread_id: int | None = None,
        reply_markup: InlineKeyboard | None = None,
    ) -> Message:
        """Upload ``photo`` (multipart field ``photo``)."""
        params: dict[str, object] = {
            "chat_id": chat_id,
            "message_thread_id": message_thread_id,
            "caption": caption,
            "parse_mode": parse_mode if caption is not None else None,
            "reply_markup": None if reply_markup is None else reply_markup.to_api(),
        }
        result = await self._call("sendPhoto", params, files={"photo": (filename, photo)})
        return self._message("sendPhoto", result)

    async def send_document(
        self,
        chat_id: int,
        document: bytes,
        *,
        filename: str,
        caption: str | None = None,
        parse_mode: str | None = "HTML",
        message_thread_id: int | None = None,
    ) -> Message:
        """Upload ``document`` (multipart field ``document``)."""
        params: dict[str, object] = {
            "chat_id": chat_id,
            "message_thread_id": message_thread_id,
            "caption": caption,
            "parse_mode": parse_mode if caption is not None else None,
        }
        result = await self._call("sendDocument", params, files={"document": (filename, document)})
        return self._message("sendDocument", result)

    async def edit_message_media(
        self,
        chat_id: int,
        message_id: int,
        photo: bytes,
        *,
        filename: str = "screen.png",
        caption: str | None = None,
        parse_mode: str | None = "HTML",
        reply_markup: InlineKeyboard | None = None,
    ) -> Message | None:
        """Replace a message's photo with an uploaded one (``media`` refers to it as ``attach://photo``)."""
        media: dict[str, object] = {"type": "photo", "media": "attach://photo"}
        if caption is not None:
            media["caption"] = caption
            if parse_mode is not None:
                media["parse_mode"] = parse_mode
        params: dict[str, object] = {
            "chat_id": chat_id,
            "message_id": message_id,
            "media": media,
            "reply_markup": None if reply_markup is None else reply_markup.to_api(),
        }
        result = await self._call("editMessageMedia", params, files={"photo": (filename, photo)})
        return self._maybe_message("editMessageMedia", result)

    async def get_file(self, file_id: str) -> File:
        """Resolve a file id to a downloadable path; over 20 MB the server answers ``FileTooBig``."""
        return self._parse("getFile", File.from_api, await self._call("getFile", {"file_id": file_id}))

    async def download_file(self, file_path: str, *, max_bytes: int = MAX_DOWNLOAD_BYTES) -> bytes:
        """Stream ``/file/bot<token>/<file_path>`` into memory.

        Raises ``FileTooBig`` (``error_code`` None) as soon as the declared or received size exceeds
        ``max_bytes``, an error from the tree for a non-200 answer, ``NetworkError`` on transport
        failures.
        """
        method = "downloadFile"
        url = f"{self._base_url}/file/bot{self._token}/{file_path.lstrip('/')}"
        try:
            async with self._client.stream("GET", url) as response:
                if response.status_code != 200:
                    await response.aread()
                    try:
                        body = response.json()
                    except ValueError:
                        body = {}
                    raise error_from_response(
                        method, response.status_code, body if isinstance(body, dict) else {}
                    )
                declared = response.headers.get("content-length")
                if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                    raise FileTooBig(f"file is {declared} bytes, limit {max_bytes}", method=method)
                chunks: list[bytes] = []
                received = 0
                async for chunk in response.aiter_bytes():
                    received += len(chunk)
                    if received > max_bytes:
                        raise FileTooBig(f"file exceeds the limit of {max_bytes} bytes", method=method)
                    chunks.append(chunk)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self._network_error(method, exc) from None
        return b"".join(chunks)

    async def set_my_commands(self, commands: Sequence[BotCommand]) -> None:
        """Replace the bot's command menu with ``commands`` (``setMyCommands``)."""
        await self._call("setMyCommands", {"commands": [command.to_api() for command in commands]})

    async def edit_forum_topic(self, chat_id: int, message_thread_id: int, name: str) -> None:
        """Rename forum topic ``message_thread_id`` of ``chat_id`` to ``name`` (``editForumTopic``)."""
        params = {"chat_id": chat_id, "message_thread_id": message_thread_id, "name": name}
        await self._call("editForumTopic", params)

    async def delete_webhook(self) -> None:
        """Remove any webhook so that ``getUpdates`` may be used (``deleteWebhook``)."""
        await self._call("deleteWebhook", {})
