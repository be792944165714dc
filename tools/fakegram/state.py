"""The fake Telegram's state and the shared helpers both sides (bot methods, control API) use.

:class:`FakeState` owns every user, chat, topic, message, file, queued update and inspection record,
plus a change signal: :meth:`FakeState.notify` wakes every waiter (long polls, ``wait_for``). All
mutations happen synchronously inside one trio run, so no locking is needed.
"""

from __future__ import annotations

import mimetypes
import time
from collections.abc import Iterable
from io import BytesIO

import trio

from .budget import BUDGETED_METHODS, BudgetLimits, RateLimiter, Throttle
from .errors import ControlError, too_many_requests
from .faults import FaultPlan
from .model import (
    BotAccount,
    CallbackAnswer,
    CallbackQuery,
    CallRecord,
    Chat,
    ChatAction,
    DraftFrame,
    StoredFile,
    StoredMessage,
    Topic,
    Update,
    User,
)

MAX_DOWNLOAD = 20 << 20
MAX_UPLOAD = 50 << 20
_FILE_DIRS = {"photo": ("photos", ".jpg"), "document": ("documents", ""), "voice": ("voice", ".oga")}


class FakeState:
    """State of one fake Bot API server: the bots it serves and everything they share.

    The constructor's bot is the *default* bot; :meth:`add_bot` adds more that can share chats.
    Attributes that belong to one bot (``token``, ``bot``, ``updates``, ``allowed_updates``,
    ``commands``, ``polls_waiting``, the getMe flags) are read from and written to the default bot;
    other bots' are on :meth:`bot_account`.

    Knobs: ``long_poll_max`` caps getUpdates' timeout (seconds) so test suites stay fast;
    ``callback_query_ttl`` is how long a callback query can be answered;
    ``can_read_all_group_messages`` turns privacy mode off.

    Sending budget (``budget.py`` says what counts and how): on by default, as on the real server.
    ``chat_rate``/``chat_burst`` (per chat), ``group_per_minute`` (per group, all topics) and
    ``global_per_second`` (all chats) are the limits, the Bots FAQ's by default, per bot.
    ``telegram_budget=False`` (or :meth:`set_budget`) turns it off for a test that needs headroom.
    Every 429 answered is kept in :attr:`throttles`.
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        bot_username: str = "fakegram_bot",
        bot_first_name: str = "Fakegram",
        long_poll_max: float | None = None,
        callback_query_ttl: float = 15.0,
        telegram_budget: bool = True,
        chat_rate: float = 1.0,
        chat_burst: int = 3,
        group_per_minute: int = 20,
        global_per_second: int = 30,
        can_read_all_group_messages: bool = False,
        has_topics_enabled: bool = True,
        allows_users_to_create_topics: bool = True,
    ) -> None:
        head = token.split(":", 1)[0]
        self.default_bot = BotAccount(
            token,
            User(int(head) if head.isdigit() else 1000, bot_first_name, bot_username, is_bot=True),
            can_read_all_group_messages=can_read_all_group_messages,
            has_topics_enabled=has_topics_enabled,
            allows_users_to_create_topics=allows_users_to_create_topics,
        )
        self.bots: dict[int, BotAccount] = {self.default_bot.id: self.default_bot}
        self.long_poll_max = long_poll_max
        self.callback_query_ttl = callback_query_ttl
        self._budget_on = telegram_budget
        self._budget_limits = BudgetLimits(chat_rate, chat_burst, group_per_minute, global_per_second)
        self._limiters: dict[int, RateLimiter] = {}
        self.throttles: list[Throttle] = []
        """Every 429 answered (budget or injected), oldest first."""
        self.faults = FaultPlan()

        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.photo_groups: dict[str, tuple[StoredFile, ...]] = {}
        self.calls: list[CallRecord] = []
        self.chat_actions: list[ChatAction] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.callback_queries: dict[str, CallbackQuery] = {}
        self.drafts: list[DraftFrame] = []
        self.internal_errors: list[str] = []
        self.version = 0

        self._changed = trio.Event()
        self._next_group_id = -1001000000001
        self._file_counter = 0
        self._callback_counter = 0

    # --- the default bot's attributes ------------------------------------------------------------

    @property
    def token(self) -> str:
        return self.default_bot.token

    @property
    def bot(self) -> User:
        return self.default_bot.user

    @property
    def updates(self) -> list[Update]:
        return self.default_bot.updates

    @updates.setter
    def updates(self, value: list[Update]) -> None:
        self.default_bot.updates = value

    @property
    def allowed_updates(self) -> frozenset[str]:
        return self.default_bot.allowed_updates

    @allowed_updates.setter
    def allowed_updates(self, value: frozenset[str]) -> None:
        self.default_bot.allowed_updates = value

    @property
    def commands(self) -> dict[tuple[str, str], list[dict[str, str]]]:
        return self.default_bot.commands

    @property
    def polls_waiting(self) -> int:
        """The default bot's getUpdates calls blocked in a long poll (lets tests wait for a poller)."""
        return self.default_bot.polls_waiting

    @property
    def can_read_all_group_messages(self) -> bool:
        return self.default_bot.can_read_all_group_messages

    @can_read_all_group_messages.setter
    def can_read_all_group_messages(self, value: bool) -> None:
        self.default_bot.can_read_all_group_messages = value

    @property
    def has_topics_enabled(self) -> bool:
        return self.default_bot.has_topics_enabled

    @has_topics_enabled.setter
    def has_topics_enabled(self, value: bool) -> None:
        self.default_bot.has_topics_enabled = value

    @property
    def allows_users_to_create_topics(self) -> bool:
        return self.default_bot.allows_users_to_create_topics

    @allows_users_to_create_topics.setter
    def allows_users_to_create_topics(self, value: bool) -> None:
        self.default_bot.allows_users_to_create_topics = value

    # --- bots ------------------------------------------------------------------------------------

    def add_bot(
        self,
        token: str,
        username: str,
        first_name: str | None = None,
        *,
        can_read_all_group_messages: bool = False,
    ) -> int:
        """Serve another bot (its own queue, polls, commands); returns its user id.

        The id is the token's numeric head, as on the real server. The bot joins no chat: pass its
        id to ``create_forum_group(bot_ids=...)`` or :meth:`add_bot_to_chat`. Raises
        ``ControlError`` when the token, id or username (case-insensitive) is already taken.
        """
        head = token.split(":", 1)[0]
        if ":" not in token or not head.isdigit():
            raise ControlError("a bot token looks like <digits>:<secret>")
        bot_id = int(head)
        taken = {b.username.lower() for b in self.bots.values()}
        if bot_id in self.bots or bot_id in self.users or username.lower() in taken:
            raise ControlError(f"bot {bot_id} / @{username} already exists")
        self.bots[bot_id] = BotAccount(
            token,
            User(bot_id, first_name or username, username, is_bot=True),
            can_read_all_group_messages=can_read_all_group_messages,
        )
        self.notify()
        return bot_id

    def bot_account(self, bot_id: int | None = None) -> BotAccount:
        """A bot by id (None: the default bot). Raises ``ControlError`` for an unknown id."""
        if bot_id is None:
            return self.default_bot
        try:
            return self.bots[bot_id]
        except KeyError:
            raise ControlError(f"unknown bot {bot_id}; call add_bot first") from None

    def bot_for_token(self, token: str) -> BotAccount | None:
        for bot in self.bots.values():
            if bot.token == token:
                return bot
        return None

    # --- sending budget --------------------------------------------------------------------------

    @property
    def telegram_budget(self) -> bool:
        """Whether budgeted calls are limited; setting it is :meth:`set_budget` with ``enabled``."""
        return self._budget_on

    @telegram_budget.setter
    def telegram_budget(self, enabled: bool) -> None:
        self.set_budget(enabled)

    @property
    def budget_limits(self) -> BudgetLimits:
        return self._budget_limits

    def set_budget(self, enabled: bool = True, limits: BudgetLimits | None = None) -> None:
        """Turn the budget on or off and optionally change its limits (None: keep them).

        Every bot starts over with a full budget; :attr:`throttles` is kept.
        """
        self._budget_on = enabled
        if limits is not None:
            self._budget_limits = limits
        self._limiters.clear()
        self.notify()

    def reset_budget(self) -> None:
        """Give every bot a full budget again (e.g. after a test's setup traffic)."""
        self._limiters.clear()

    def spend_budget(self, bot_id: int, chat: Chat, thread_id: int | None, method: str) -> None:
        """Admit one budgeted call of ``method`` by ``bot_id`` to ``chat``, or raise the 429.

        Called by a handler once the request is valid and just before it takes effect, so invalid
        or refused calls spend nothing. A refusal is appended to :attr:`throttles`.
        """
        if method not in BUDGETED_METHODS:
            raise ValueError(f"{method} is not a budgeted method")
        if not self._budget_on:
            return
        limiter = self._limiters.get(bot_id)
        if limiter is None:
            limiter = self._limiters[bot_id] = RateLimiter(self._budget_limits)
        now = self.now()
        refusal = limiter.check(chat.id, chat.type != "private", now)
        if refusal is not None:
            self.record_throttle(
                Throttle(now, bot_id, chat.id, thread_id, method, refusal.retry_after, refusal.scope)
            )
            raise too_many_requests(refusal.retry_after)

    def record_throttle(self, throttle: Throttle) -> None:
        """Keep one answered 429 in :attr:`throttles` and wake waiters (``wait_for`` can await one)."""
        self.throttles.append(throttle)
        self.notify()

    # --- change signal ---------------------------------------------------------------------------

    def notify(self) -> None:
        """Record that something changed and wake every waiter."""
        self.version += 1
        event, self._changed = self._changed, trio.Event()
        event.set()

    def change_event(self) -> trio.Event:
        """The event the next :meth:`notify` sets; take it *before* checking a condition."""
        return self._changed

    @staticmethod
    def now() -> float:
        """Monotonic seconds: the trio clock inside a run (autojump-friendly), else time.monotonic."""
        try:
            return trio.current_time()
        except RuntimeError:
            return time.monotonic()

    @staticmethod
    def unix_now() -> int:
        return int(time.time())

    # --- lookups ---------------------------------------------------------------------------------

    def get_chat(self, chat_id: int) -> Chat:
        try:
            return self.chats[chat_id]
        except KeyError:
            raise ControlError(f"unknown chat {chat_id}") from None

    def get_user(self, user_id: int) -> User:
        try:
            return self.users[user_id]
        except KeyError:
            raise ControlError(f"unknown user {user_id}; call add_user first") from None

    def get_message(self, chat_id: int, message_id: int) -> StoredMessage:
        msg = self.get_chat(chat_id).messages.get(message_id)
        if msg is None:
            raise ControlError(f"unknown message {message_id} in chat {chat_id}")
        return msg

    def live_topic(self, chat: Chat, thread_id: int) -> Topic:
        topic = chat.topics.get(thread_id)
        if topic is None or topic.deleted:
            raise ControlError(f"no live topic {thread_id} in chat {chat.id}")
        return topic

    # --- messages --------------------------------------------------------------------------------

    def new_message(
        self, chat: Chat, *, sender_id: int, from_bot: bool, thread_id: int | None, **fields: object
    ) -> StoredMessage:
        """Allocate the chat's next message_id and store a message (no update is queued)."""
        msg = StoredMessage(
            chat_id=chat.id,
            message_id=chat.next_message_id,
            thread_id=thread_id,
            sender_id=sender_id,
            from_bot=from_bot,
            date=self.unix_now(),
        )
        for name, value in fields.items():
            setattr(msg, name, value)
        chat.next_message_id += 1
        chat.messages[msg.message_id] = msg
        return msg

    def chat_json(self, chat: Chat) -> dict[str, object]:
        if chat.type == "private":
            user = self.users.get(chat.user_id or chat.id)
            out: dict[str, object] = {"id": chat.id, "type": "private"}
            if user is not None:
                out["first_name"] = user.first_name
                if user.username:
                    out["username"] = user.username
            return out
        out = {"id": chat.id, "type": "supergroup", "title": chat.title or ""}
        if chat.is_forum:
            out["is_forum"] = True
        return out

    def message_json(self, msg: StoredMessage, *, nested: bool = False) -> dict[str, object]:
        """The Bot API Message object for a stored message, in its current state."""
        chat = self.chats[msg.chat_id]
        sender = self.bots[msg.sender_id].user if msg.from_bot else self.users[msg.sender_id]
        out: dict[str, object] = {"message_id": msg.message_id, "from": sender.to_api()}
        out["chat"] = self.chat_json(chat)
        out["date"] = msg.date
        if msg.thread_id is not None:
            out["message_thread_id"] = msg.thread_id
            if chat.has_topics:
                out["is_topic_message"] = True
        if not nested:
            reply = self._reply_target(chat, msg)
            if reply is not None:
                out["reply_to_message"] = self.message_json(reply, nested=True)
        if msg.edit_date is not None:
            out["edit_date"] = msg.edit_date
        if msg.text is not None:
            out["text"] = msg.text
            if msg.entities:
                out["entities"] = [e.to_api() for e in msg.entities]
        if msg.media_kind is not None:
            out.update(self.media_json(msg.media_kind, msg.files))
        if msg.caption:
            out["caption"] = msg.caption
            if msg.caption_entities:
                out["caption_entities"] = [e.to_api() for e in msg.caption_entities]
        if msg.service:
            out.update(msg.service)
        if msg.reply_markup is not None and "inline_keyboard" in msg.reply_markup:
            out["reply_markup"] = msg.reply_markup
        return out

    def _reply_target(self, chat: Chat, msg: StoredMessage) -> StoredMessage | None:
        if msg.reply_to is not None:
            return chat.messages.get(msg.reply_to)
        # In forum supergroups, messages in a topic reply to the topic's creation message.
        if chat.is_forum and msg.thread_id is not None and msg.thread_id != msg.message_id:
            return chat.messages.get(msg.thread_id)
        return None

    def media_json(self, kind: str, files: Iterable[StoredFile]) -> dict[str, object]:
        items = list(files)
        if kind == "photo":
            sizes = [
                {
                    "file_id": f.file_id,
                    "file_unique_id": f.file_unique_id,
                    "width": f.width,
                    "height": f.height,
                    "file_size": f.size,
                }
                for f in items
            ]
            return {"photo": sizes}
        f = items[-1]
        out: dict[str, object] = {"file_id": f.file_id, "file_unique_id": f.file_unique_id}
        if kind == "voice":
            out["duration"] = f.duration
        if kind == "document" and f.file_name:
            out["file_name"] = f.file_name
        if f.mime_type:
            out["mime_type"] = f.mime_type
        out["file_size"] = f.size
        return {kind: out}

    # --- updates ---------------------------------------------------------------------------------

    def enqueue(self, kind: str, payload: dict[str, object], bot: BotAccount | None = None) -> Update | None:
        """Queue an update for ``bot`` (None: the default bot) unless its allowed_updates excludes it."""
        bot = bot or self.default_bot
        if kind not in bot.allowed_updates:
            return None
        update = Update(bot.next_update_id, kind, payload)
        bot.next_update_id += 1
        bot.updates.append(update)
        self.notify()
        return update

    # --- files -----------------------------------------------------------------------------------

    def store_file(
        self,
        kind: str,
        data: bytes,
        *,
        mime_type: str | None = None,
        file_name: str | None = None,
        width: int = 0,
        height: int = 0,
        duration: int = 0,
    ) -> StoredFile:
        self._file_counter += 1
        n = self._file_counter
        folder, ext = _FILE_DIRS[kind]
        if kind == "document":
            ext = _extension(file_name, mime_type)
        stored = StoredFile(
            file_id=f"FG{kind[:3].upper()}{n:06d}AAAAfakegram",
            file_unique_id=f"AgAD{n:06d}",
            data=data,
            kind=kind,
            file_path=f"{folder}/file_{n}{ext}",
            mime_type=mime_type,
            file_name=file_name,
            width=width,
            height=height,
            duration=duration,
        )
        self.files[stored.file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored

    def store_photo(self, data: bytes) -> tuple[StoredFile, ...]:
        """PhotoSize files, largest last. Raises ``ValueError`` when ``data`` is not an image."""
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(BytesIO(data)) as image:
                width, height = image.size
                thumb: bytes | None = None
                if max(width, height) > 90:
                    small = image.convert("RGB")
                    small.thumbnail((90, 90))
                    out = BytesIO()
                    small.save(out, "JPEG")
                    thumb = out.getvalue()
                    thumb_size = small.size
        except (UnidentifiedImageError, OSError) as exc:
            raise ValueError("not an image") from exc
        sizes: list[StoredFile] = []
        if thumb is not None:
            sizes.append(self.store_file("photo", thumb, width=thumb_size[0], height=thumb_size[1]))
        sizes.append(self.store_file("photo", data, width=width, height=height))
        group = tuple(sizes)
        for f in group:
            self.photo_groups[f.file_id] = group
        return group

    def next_callback_id(self) -> str:
        self._callback_counter += 1
        return str(4_300_000_000_000_000_000 + self._callback_counter)


def _extension(file_name: str | None, mime_type: str | None) -> str:
    if file_name and "." in file_name:
        return "." + file_name.rsplit(".", 1)[1]
    guessed = mimetypes.guess_extension(mime_type or "") if mime_type else None
    return guessed or ""


def guess_mime(file_name: str | None, declared: str | None) -> str | None:
    """The document mime type Telegram would report: the declared one unless generic."""
    if declared and declared != "application/octet-stream":
        return declared.split(";", 1)[0].strip()
    guessed, _ = mimetypes.guess_type(file_name or "")
    return guessed or declared
