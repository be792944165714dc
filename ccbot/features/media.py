"""Voice notes, photos and documents sent into a bound topic.

Flow: the message converter (on the router's path) only classifies the message and returns
a ``MediaJob`` request for the window; it never downloads. The window actor runs the job in its own task,
in inbox order, so a voice note followed by a text message reaches Codex in that order, and a slow
download or transcription holds up only this topic.

* Voice: size check (``Voice.file_size`` against the 20 MB download limit) → API key check → getFile +
  download (``FileTooBig`` handled) → OpenAI transcription (:mod:`ccbot.transcribe`) → the transcript is
  echoed in the topic and typed like a text message (``WindowPort.deliver_text``: same prompt-safe rules).
* Photo (largest size) / document: size check → download → saved under
  ``$CCBOT_DIR/inbox/<topic>/<safe unique name>`` (:mod:`ccbot.inbox`, created exclusively, mode 0600) →
  a prompt naming the absolute path (plus the caption) is typed.

Every failure is told to the user in the topic with "Nothing was sent to Codex"; the OpenAI key never
appears in a message or a log line (:class:`ccbot.transcribe.TranscriptionError` is scrubbed).
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import structlog
import trio

from ccbot import inbox
from ccbot.features.ports import TopicPort, WindowPort
from ccbot.messages import FeatureRequest, UserText, WindowCommand
from ccbot.state.model import TopicKey
from ccbot.telegram.api import MAX_DOWNLOAD_BYTES
from ccbot.telegram.errors import FileTooBig, TelegramError
from ccbot.telegram.types import Message
from ccbot.transcribe import TranscriptionError, transcribe

if TYPE_CHECKING:
    from ccbot.actors.topics import Topics

log = structlog.get_logger("ccbot.media")

DOWNLOAD_TIMEOUT = 120.0
TRANSCRIBE_TIMEOUT = 180.0
ECHO_LIMIT = 3500  # characters of transcript echoed (the whole transcript is typed)
KINDS = ("voice", "photo", "document")
NOT_SENT = "Nothing was sent to Codex."

NO_KEY_TEXT = (
    "🎤 Voice messages need an OpenAI API key for transcription: set <code>OPENAI_API_KEY</code> "
    "(and <code>OPENAI_BASE_URL</code> for another endpoint) in the bot's environment or "
    f"<code>$CCBOT_DIR/.env</code> and restart the bot. {NOT_SENT}"
)


@dataclass(frozen=True, slots=True)
class MediaJob(FeatureRequest):
    """What to fetch for one media message: the request the converter queues to the window."""

    kind: str  # one of KINDS
    file_id: str
    message_id: int
    file_size: int | None = None
    caption: str | None = None
    file_name: str | None = None
    mime_type: str | None = None


def job_for(message: Message) -> MediaJob | None:
    """The job for a voice / photo / document message, else None. Photos use the largest size."""
    if message.voice is not None:
        v = message.voice
        return MediaJob("voice", v.file_id, message.message_id, v.file_size, mime_type=v.mime_type)
    if message.photo:
        largest = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        return MediaJob("photo", largest.file_id, message.message_id, largest.file_size,
                        caption=message.caption)
    if message.document is not None:
        d = message.document
        return MediaJob("document", d.file_id, message.message_id, d.file_size, caption=message.caption,
                        file_name=d.file_name, mime_type=d.mime_type)
    return None


def file_prompt(kind: str, path: Path, caption: str | None) -> str:
    """The text typed into Codex for a saved photo or document (never just the bare path)."""
    what = "a photo" if kind == "photo" else "a file"
    note = f"I sent you {what}; it is saved at {path}"
    if caption and caption.strip():
        return f"{caption.strip()}\n\n({note})"
    return note


def too_big_text(kind: str, size: int | None) -> str:
    """The HTML reply for a ``kind`` file over the Bot API's download limit (``size`` in bytes shown when known)."""
    size_text = f" ({size / (1024 * 1024):.1f} MB)" if size else ""
    return (f"📎 This {kind} is too big{size_text}: bots can download files of at most "
            f"{MAX_DOWNLOAD_BYTES // (1024 * 1024)} MB. {NOT_SENT}")


def save_unique(directory: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to a new file in ``directory`` (created 0700) named ``name`` or a free variant.

    Never overwrites or follows a symlink (O_EXCL | O_NOFOLLOW); raises ``OSError`` on I/O failure.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    taken = set(os.listdir(directory))
    for _ in range(1000):
        candidate = inbox.unique_name(name, taken)
        path = directory / candidate
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            taken.add(candidate)
            continue
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return path
    raise OSError(f"no free file name for {name!r} in {directory}")


ClientFactory = Callable[[], httpx.AsyncClient]


def _default_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(TRANSCRIBE_TIMEOUT, connect=10.0), trust_env=False)


class MediaFeature:
    """The converter and the window request handler, sharing the Topics' config and Bot API."""

    def __init__(self, topics: TopicPort, client_factory: ClientFactory = _default_client) -> None:
        self.topics = topics
        self.client_factory = client_factory

    async def convert(self, topics: TopicPort, key: TopicKey, message: Message) -> WindowCommand | None:
        """The ``MediaJob`` for a voice, photo or document message, else None (router's converter; no I/O)."""
        return job_for(message)

    async def handle(self, actor: WindowPort, job: MediaJob) -> None:
        """Run ``job`` in the window actor: download, then transcribe (voice) or save under the inbox (photo/document),
        and type the result into Codex with ``deliver_text``.

        Every failure (too big, no OpenAI key, download, transcription, save) is told to the topic as a reply to the
        message and nothing is typed; errors of ``deliver_text`` itself (TmuxError) propagate.
        """
        reply: dict[str, Any] = {"reply_to_message_id": job.message_id}
        if job.file_size is not None and job.file_size > MAX_DOWNLOAD_BYTES:
            await actor.say(too_big_text(job.kind, job.file_size), **reply)
            return
        cfg = self.topics.cfg
        if job.kind == "voice" and not cfg.openai_api_key:
            await actor.say(NO_KEY_TEXT, **reply)
            return
        data, file_path = await self._download(actor, job)
        if data is None:
            return
        if job.kind == "voice":
            await self._voice(actor, job, data, file_path)
        else:
            await self._file(actor, job, data, file_path)

    async def _download(self, actor: WindowPort, job: MediaJob) -> tuple[bytes | None, str | None]:
        reply: dict[str, Any] = {"reply_to_message_id": job.message_id}
        api = self.topics.files
        try:
            with trio.fail_after(DOWNLOAD_TIMEOUT):
                info = await api.get_file(job.file_id)
                if info.file_path is None:
                    raise TelegramError("getFile returned no file_path", method="getFile")
                data: bytes = await api.download_file(info.file_path)
        except FileTooBig:
            await actor.say(too_big_text(job.kind, job.file_size), **reply)
            return None, None
        except TelegramError as exc:
            log.warning("media download failed", kind=job.kind, error=exc.description)
            await actor.say(f"⚠️ Could not download the {job.kind} from Telegram: "
                            f"{html.escape(exc.description)}. {NOT_SENT}", **reply)
            return None, None
        except trio.TooSlowError:
            await actor.say(f"⚠️ Downloading the {job.kind} from Telegram timed out. {NOT_SENT}", **reply)
            return None, None
        return data, info.file_path

    async def _voice(self, actor: WindowPort, job: MediaJob, data: bytes, file_path: str | None) -> None:
        cfg = self.topics.cfg
        reply: dict[str, Any] = {"reply_to_message_id": job.message_id}
        ext = inbox.extension_of(file_path) or ".ogg"
        if ext == ".oga":
            ext = ".ogg"  # Telegram's voice/file_N.oga is OGG/Opus; the API knows it by .ogg
        assert cfg.openai_api_key is not None
        try:
            with trio.fail_after(TRANSCRIBE_TIMEOUT):
                async with self.client_factory() as client:
                    text = await transcribe(client, data, api_key=cfg.openai_api_key,
                                            base_url=cfg.openai_base_url, filename="voice" + ext,
                                            mime_type=job.mime_type or "audio/ogg")
        except TranscriptionError as exc:
            log.warning("transcription failed", error=str(exc), status=exc.status)
            await actor.say(f"⚠️ Transcription failed: {html.escape(str(exc))}. {NOT_SENT}", **reply)
            return
        except trio.TooSlowError:
            await actor.say(f"⚠️ Transcription timed out. {NOT_SENT}", **reply)
            return
        if not text:
            await actor.say(f"🎤 No speech was recognised in this voice message. {NOT_SENT}", **reply)
            return
        log.info("voice transcribed", chars=len(text))
        echo = text if len(text) <= ECHO_LIMIT else text[: ECHO_LIMIT - 1] + "…"
        await actor.say(f"🎤 <i>{html.escape(echo)}</i>", disable_notification=True, **reply)
        await actor.deliver_text(UserText(text, job.message_id, origin="voice"))

    async def _file(self, actor: WindowPort, job: MediaJob, data: bytes, file_path: str | None) -> None:
        reply: dict[str, Any] = {"reply_to_message_id": job.message_id}
        key = actor.key
        directory = self.topics.cfg.ccbot_dir / "inbox" / inbox.topic_dir_name(*key)
        default_ext = inbox.extension_of(file_path) or (".jpg" if job.kind == "photo" else "")
        name = inbox.safe_file_name(job.file_name, default_stem=f"{job.kind}-{job.message_id}",
                                    default_ext=default_ext)
        try:
            path = await trio.to_thread.run_sync(save_unique, directory, name, data)
        except OSError as exc:
            log.error("could not save media", error=str(exc))
            await actor.say(f"⚠️ Could not save the {job.kind}: {html.escape(str(exc))}. {NOT_SENT}",
                            **reply)
            return
        path = path.resolve()
        log.info("media saved", kind=job.kind, path=str(path), size=len(data))
        await actor.say(f"📎 Saved as <code>{html.escape(str(path))}</code>", disable_notification=True,
                        **reply)
        await actor.deliver_text(UserText(file_prompt(job.kind, path, job.caption), job.message_id,
                                          origin=job.kind))


def install(topics: Topics) -> None:
    """Register the media converter and the ``MediaJob`` window request."""
    feature = MediaFeature(topics)
    topics.converters.append(feature.convert)
    topics.hooks.on_request(MediaJob, feature.handle)
