"""Bot-side Bot API methods of the fake server.

Each handler takes decoded :class:`~tools.fakegram.params.Params` and returns the ``result`` value,
or raises :class:`~tools.fakegram.errors.ApiError`. Handlers are registered in :data:`BOT_METHODS`
under their lowercased name (method names are case-insensitive, as on the real server).

Descriptions marked in ``errors.py`` are the real server's exact strings; the few others
(topic-management rights, icon colours, command validation) are plausible stand-ins.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

import trio

from ccbot.render.tg_html import Entity, HtmlParseError, ParsedText, parse_html

from . import errors as E
from .errors import ApiError, bad_request
from .model import (
    ALL_UPDATE_TYPES,
    DEFAULT_ALLOWED_UPDATES,
    TOPIC_ICON_COLORS,
    BotAccount,
    CallbackAnswer,
    Chat,
    ChatAction,
    DraftFrame,
    StoredFile,
    StoredMessage,
    Topic,
)
from .params import Params, UploadedFile
from .state import MAX_DOWNLOAD, MAX_UPLOAD, FakeState, guess_mime
from .trim import strip_and_trim

Handler = Callable[[Any, BotAccount, Params], object]
BOT_METHODS: dict[str, tuple[str, Handler]] = {}
"""lowercased name → (canonical name, handler)."""

F = TypeVar("F", bound=Handler)

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_RAW_TEXT_BYTES = 1 << 15
SEND_MEDIA = {"photo": "sendPhoto", "document": "sendDocument", "voice": "sendVoice"}


def bot_method(name: str) -> Callable[[F], F]:
    def register(fn: F) -> F:
        BOT_METHODS[name.lower()] = (name, fn)
        return fn

    return register


class BotMethods(FakeState):
    """The methods a bot calls. Mixed into :class:`~tools.fakegram.fake.FakeTelegram`.

    Every handler gets the calling :class:`BotAccount` (found from the URL's token): it acts as
    that bot, sees only chats that bot is in, and edits or deletes only what its rights allow.
    """

    # --- shared validation -----------------------------------------------------------------------

    def _chat(self, bot: BotAccount, p: Params) -> Chat:
        raw = p.raw("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        chat_id = p.get_int("chat_id")
        chat = self.chats.get(chat_id) if chat_id is not None else None
        if chat is None or (chat.type == "private" and bot.id not in chat.bots):
            raise ApiError(400, E.CHAT_NOT_FOUND)
        if bot.id not in chat.bots:
            raise ApiError(403, E.NOT_A_MEMBER)
        return chat

    def _chat_for_send(self, bot: BotAccount, p: Params) -> Chat:
        chat = self._chat(bot, p)
        if chat.bot_blocked:
            raise ApiError(403, E.BOT_BLOCKED)
        return chat

    def _thread(self, bot: BotAccount, chat: Chat, p: Params, *, check_closed: bool = True) -> int | None:
        """The topic a send goes to (None: General / main view), with the real server's errors."""
        thread_id = p.get_int("message_thread_id")
        if thread_id is None or thread_id <= 0:
            return None
        if chat.type == "supergroup" and thread_id == 1:
            raise ApiError(400, E.THREAD_NOT_FOUND)
        topic = chat.topics.get(thread_id) if chat.has_topics else None
        if topic is None or topic.deleted:
            raise ApiError(400, E.THREAD_NOT_FOUND)
        if check_closed and topic.closed and chat.type == "supergroup" and not chat.is_admin(bot.id):
            raise ApiError(400, E.TOPIC_CLOSED)
        return thread_id

    def _formatted(self, p: Params, field: str, entities_field: str, *, caption: bool) -> ParsedText:
        """Parse ``field`` per parse_mode (or explicit entities) and trim it like the server."""
        source = p.get_str(field) or ""
        mode = (p.get_str("parse_mode") or "").strip()
        if mode.lower() == "html":
            try:
                parsed = parse_html(source)
            except HtmlParseError as exc:
                raise bad_request(f"can't parse entities: {exc}") from None
        elif mode.lower() in ("markdown", "markdownv2"):
            raise bad_request(f"fakegram does not emulate parse_mode {mode}")
        elif mode and mode.lower() != "none":
            raise ApiError(400, E.UNSUPPORTED_PARSE_MODE)
        else:
            parsed = ParsedText(source, self._explicit_entities(p, entities_field))
        result = strip_and_trim(parsed)
        limit, message = (MAX_CAPTION, E.CAPTION_TOO_LONG) if caption else (MAX_TEXT, E.MESSAGE_TOO_LONG)
        if len(result.text) > limit:
            raise ApiError(400, message)
        return result

    @staticmethod
    def _explicit_entities(p: Params, name: str) -> tuple[Entity, ...]:
        try:
            raw = p.get_json(name)
        except ValueError:
            raise bad_request(f"can't parse {name} JSON object") from None
        if raw is None:
            return ()
        if not isinstance(raw, list):
            raise bad_request('field "entities" must be of type Array')
        try:
            return tuple(sorted((Entity.from_api(item) for item in raw), key=lambda e: (e.offset, -e.length)))
        except (ValueError, AttributeError):
            raise bad_request("can't parse MessageEntity") from None

    def _text_param(self, p: Params) -> str:
        text = p.get_str("text")
        if not text:
            raise ApiError(400, E.TEXT_EMPTY)
        if len(text.encode("utf-8", "surrogatepass")) > MAX_RAW_TEXT_BYTES:
            raise ApiError(400, E.TEXT_TOO_LONG)
        return text

    @staticmethod
    def _reply_markup(p: Params) -> dict[str, object] | None:
        try:
            markup = p.get_json("reply_markup")
        except ValueError:
            raise bad_request("can't parse reply keyboard markup JSON object") from None
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return markup  # reply keyboards are accepted as they are
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
            )
        for row in rows:
            for button in row:
                _check_button(button)
        return {"inline_keyboard": rows}

    def _reply_to(self, chat: Chat, p: Params) -> int | None:
        try:
            params = p.get_json("reply_parameters")
        except ValueError:
            raise bad_request("can't parse reply parameters JSON object") from None
        message_id = (
            params.get("message_id") if isinstance(params, dict) else p.get_int("reply_to_message_id")
        )
        if message_id is None or message_id == 0:
            return None
        target = chat.messages.get(message_id) if isinstance(message_id, int) else None
        if target is None or target.deleted:
            raise ApiError(400, E.REPLY_NOT_FOUND)
        return target.message_id

    def _message(self, chat: Chat, p: Params, missing: str) -> StoredMessage:
        message_id = p.get_int("message_id")
        msg = chat.messages.get(message_id) if message_id is not None else None
        if msg is None or msg.deleted:
            raise ApiError(400, missing)
        return msg

    def _editable(self, bot: BotAccount, p: Params) -> tuple[Chat, StoredMessage]:
        if p.has("inline_message_id"):
            raise bad_request("fakegram does not emulate inline messages")
        chat = self._chat(bot, p)
        msg = self._message(chat, p, E.EDIT_NOT_FOUND)
        if not msg.from_bot or msg.sender_id != bot.id or msg.is_service:
            raise ApiError(400, E.CANT_EDIT)
        return chat, msg

    def _remember_version(self, msg: StoredMessage) -> None:
        msg.history.append(msg.snapshot(self.now()))
        msg.edit_date = self.unix_now()

    # --- identity, webhook, updates --------------------------------------------------------------

    @bot_method("getMe")
    def get_me(self, bot: BotAccount, p: Params) -> object:
        return {
            **bot.user.to_api(),
            "can_join_groups": True,
            "can_read_all_group_messages": bot.can_read_all_group_messages,
            "supports_inline_queries": False,
            "supports_guest_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
            "has_topics_enabled": bot.has_topics_enabled,
            "allows_users_to_create_topics": bot.allows_users_to_create_topics,
            "can_manage_bots": False,
        }

    @bot_method("deleteWebhook")
    def delete_webhook(self, bot: BotAccount, p: Params) -> object:
        return True

    @bot_method("getWebhookInfo")
    def get_webhook_info(self, bot: BotAccount, p: Params) -> object:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": len(bot.updates)}

    @bot_method("getUpdates")
    async def get_updates(self, bot: BotAccount, p: Params) -> object:
        """Confirm by offset, then long-poll until an update arrives, the timeout, or a newer poll.

        Only a newer getUpdates of the *same* bot ends a pending poll with 409; other bots poll
        independently.
        """
        bot.poll_generation += 1
        generation = bot.poll_generation
        self.notify()  # a pending poll of this bot wakes up and fails with 409
        offset = p.get_int("offset") or 0
        limit = p.get_int("limit")
        limit = 100 if limit is None else min(max(limit, 1), 100)
        timeout = min(max(p.get_float("timeout") or 0.0, 0.0), 50.0)
        if self.long_poll_max is not None:
            timeout = min(timeout, self.long_poll_max)
        self._set_allowed_updates(bot, p)
        if offset < 0:
            del bot.updates[: max(len(bot.updates) + offset, 0)]
        elif 0 < offset <= bot.next_update_id:
            bot.updates = [u for u in bot.updates if u.update_id >= offset]
        deadline = trio.current_time() + timeout
        waiting = False
        try:
            while True:
                if bot.updates:
                    return [u.to_api() for u in bot.updates[:limit]]
                if trio.current_time() >= deadline:
                    return []
                if not waiting:
                    # Counted once per call, not per wake-up: two bots' polls re-notifying on every
                    # wake-up would wake each other forever.
                    waiting = True
                    bot.polls_waiting += 1
                    self.notify()
                changed = self.change_event()
                with trio.move_on_at(deadline):
                    await changed.wait()
                if bot.poll_generation != generation:
                    raise ApiError(409, E.CONFLICT_POLL)
        finally:
            if waiting:
                bot.polls_waiting -= 1
                self.notify()

    def _set_allowed_updates(self, bot: BotAccount, p: Params) -> None:
        try:
            wanted = p.get_json("allowed_updates")
        except ValueError:
            return  # unparsable: the previous setting stays
        if not isinstance(wanted, list):
            return
        known = frozenset(w for w in wanted if isinstance(w, str) and w in ALL_UPDATE_TYPES)
        bot.allowed_updates = known or DEFAULT_ALLOWED_UPDATES

    # --- messages --------------------------------------------------------------------------------

    @bot_method("sendMessage")
    def send_message(self, bot: BotAccount, p: Params) -> object:
        text = self._text_param(p)
        markup = self._reply_markup(p)
        parsed = self._formatted(p, "text", "entities", caption=False)
        chat = self._chat_for_send(bot, p)
        thread_id = self._thread(bot, chat, p)
        reply_to = self._reply_to(chat, p)
        if not parsed.text:
            raise ApiError(400, E.TEXT_MUST_BE_NON_EMPTY)
        self.spend_budget(bot.id, chat, thread_id, "sendMessage")
        msg = self.new_message(
            chat,
            sender_id=bot.id,
            from_bot=True,
            thread_id=thread_id,
            text=parsed.text,
            entities=parsed.entities,
            raw=text,
            parse_mode=p.get_str("parse_mode"),
            reply_markup=markup,
            reply_to=reply_to,
        )
        self.notify()
        return self.message_json(msg)

    @bot_method("editMessageText")
    def edit_message_text(self, bot: BotAccount, p: Params) -> object:
        text = self._text_param(p)
        markup = self._reply_markup(p)
        parsed = self._formatted(p, "text", "entities", caption=False)
        chat, msg = self._editable(bot, p)
        if msg.text is None:
            raise bad_request("there is no text in the message to edit")
        if not parsed.text:
            raise ApiError(400, E.TEXT_MUST_BE_NON_EMPTY)
        if (parsed.text, parsed.entities, markup) == (msg.text, msg.entities, msg.reply_markup):
            raise ApiError(400, E.NOT_MODIFIED)
        self.spend_budget(bot.id, chat, msg.thread_id, "editMessageText")
        self._remember_version(msg)
        msg.text, msg.entities, msg.raw, msg.reply_markup = parsed.text, parsed.entities, text, markup
        msg.parse_mode = p.get_str("parse_mode")
        self.notify()
        return self.message_json(msg)

    @bot_method("editMessageCaption")
    def edit_message_caption(self, bot: BotAccount, p: Params) -> object:
        markup = self._reply_markup(p)
        parsed = self._formatted(p, "caption", "caption_entities", caption=True)
        chat, msg = self._editable(bot, p)
        if msg.media_kind is None:
            raise bad_request("there is no caption in the message to edit")
        if (parsed.text, parsed.entities, markup) == (
            msg.caption or "",
            msg.caption_entities,
            msg.reply_markup,
        ):
            raise ApiError(400, E.NOT_MODIFIED)
        self.spend_budget(bot.id, chat, msg.thread_id, "editMessageCaption")
        self._remember_version(msg)
        msg.caption, msg.caption_entities, msg.raw, msg.reply_markup = (
            parsed.text or None,
            parsed.entities,
            p.get_str("caption"),
            markup,
        )
        self.notify()
        return self.message_json(msg)

    @bot_method("editMessageReplyMarkup")
    def edit_message_reply_markup(self, bot: BotAccount, p: Params) -> object:
        markup = self._reply_markup(p)
        chat, msg = self._editable(bot, p)
        if markup == msg.reply_markup:
            raise ApiError(400, E.NOT_MODIFIED)
        self.spend_budget(bot.id, chat, msg.thread_id, "editMessageReplyMarkup")
        self._remember_version(msg)
        msg.reply_markup = markup
        self.notify()
        return self.message_json(msg)

    @bot_method("deleteMessage")
    def delete_message(self, bot: BotAccount, p: Params) -> object:
        chat = self._chat(bot, p)
        msg = self._message(chat, p, E.DELETE_NOT_FOUND)
        if msg.service is not None and "forum_topic_created" in msg.service:
            raise ApiError(400, E.CANT_DELETE)
        if msg.sender_id != bot.id and chat.type == "supergroup" and not chat.is_admin(bot.id):
            raise ApiError(400, E.CANT_DELETE)
        msg.deleted = True
        self.notify()
        return True

    @bot_method("sendChatAction")
    def send_chat_action(self, bot: BotAccount, p: Params) -> object:
        action = p.get_str("action")
        if action not in CHAT_ACTIONS:
            raise ApiError(400, E.WRONG_ACTION)
        chat = self._chat_for_send(bot, p)
        thread_id = self._thread(bot, chat, p)
        self.chat_actions.append(ChatAction(chat.id, thread_id, action, self.now(), bot.id))
        self.notify()
        return True

    @bot_method("sendMessageDraft")
    def send_message_draft(self, bot: BotAccount, p: Params) -> object:
        draft_id = p.get_int("draft_id")
        if not draft_id:
            raise bad_request("draft_id must be non-zero")
        chat = self._chat_for_send(bot, p)
        if chat.type != "private":
            raise bad_request("TEXTDRAFT_PEER_INVALID")
        thread_id = self._thread(bot, chat, p)
        parsed = self._formatted(p, "text", "entities", caption=False)
        self.spend_budget(bot.id, chat, thread_id, "sendMessageDraft")
        self.drafts.append(DraftFrame(chat.id, thread_id, draft_id, parsed.text, parsed.entities, self.now()))
        self.notify()
        return True

    # --- callback queries ------------------------------------------------------------------------

    @bot_method("answerCallbackQuery")
    def answer_callback_query(self, bot: BotAccount, p: Params) -> object:
        query_id = p.get_str("callback_query_id") or ""
        query = self.callback_queries.get(query_id)
        if (
            query is None
            or query.bot_id not in (None, bot.id)  # another bot's query id is invalid for this one
            or query.answered
            or self.now() - query.created > self.callback_query_ttl
        ):
            raise ApiError(400, E.QUERY_TOO_OLD)
        query.answered = True
        answer = CallbackAnswer(
            query_id, p.get_str("text"), p.get_bool("show_alert"), p.get_str("url"), self.now(), bot.id
        )
        self.callback_answers.append(answer)
        self.notify()
        return True

    # --- media and files -------------------------------------------------------------------------

    def _send_media(self, bot: BotAccount, p: Params, kind: str) -> object:
        markup = self._reply_markup(p)
        caption = self._formatted(p, "caption", "caption_entities", caption=True)
        chat = self._chat_for_send(bot, p)
        thread_id = self._thread(bot, chat, p)
        reply_to = self._reply_to(chat, p)
        files = self._media_files(kind, p.get_file(kind), p)
        self.spend_budget(bot.id, chat, thread_id, SEND_MEDIA[kind])
        msg = self.new_message(
            chat,
            sender_id=bot.id,
            from_bot=True,
            thread_id=thread_id,
            caption=caption.text or None,
            caption_entities=caption.entities,
            raw=p.get_str("caption"),
            parse_mode=p.get_str("parse_mode"),
            media_kind=kind,
            files=files,
            reply_markup=markup,
            reply_to=reply_to,
        )
        self.notify()
        return self.message_json(msg)

    def _media_files(self, kind: str, ref: UploadedFile | str | None, p: Params) -> tuple[StoredFile, ...]:
        """Store an upload, or resolve a file_id sent instead of one."""
        if ref is None or ref == "":
            raise bad_request(f"there is no {kind} in the request")
        if isinstance(ref, str):
            if ref.startswith(("http://", "https://")):
                raise bad_request("failed to get HTTP URL content")
            if ref in self.photo_groups and kind == "photo":
                return self.photo_groups[ref]
            known = self.files.get(ref)
            if known is None or (kind == "photo") != (known.kind == "photo"):
                raise bad_request("wrong file identifier/HTTP URL specified")
            return (known,)
        if not ref.data:
            raise bad_request("file must be non-empty")
        if len(ref.data) > MAX_UPLOAD:
            raise ApiError(413, "Request Entity Too Large")
        if kind == "photo":
            try:
                return self.store_photo(ref.data)
            except ValueError:
                raise bad_request("IMAGE_PROCESS_FAILED") from None
        if kind == "voice":
            return (
                self.store_file(
                    "voice",
                    ref.data,
                    mime_type=guess_mime(ref.filename, ref.content_type) or "audio/ogg",
                    duration=p.get_int("duration") or 1,
                ),
            )
        return (
            self.store_file(
                "document",
                ref.data,
                mime_type=guess_mime(ref.filename, ref.content_type),
                file_name=ref.filename,
            ),
        )

    @bot_method("sendPhoto")
    def send_photo(self, bot: BotAccount, p: Params) -> object:
        return self._send_media(bot, p, "photo")

    @bot_method("sendDocument")
    def send_document(self, bot: BotAccount, p: Params) -> object:
        return self._send_media(bot, p, "document")

    @bot_method("sendVoice")
    def send_voice(self, bot: BotAccount, p: Params) -> object:
        return self._send_media(bot, p, "voice")

    @bot_method("editMessageMedia")
    def edit_message_media(self, bot: BotAccount, p: Params) -> object:
        try:
            media = p.get_json("media")
        except ValueError:
            raise bad_request("can't parse InputMedia JSON object") from None
        if not isinstance(media, dict) or not isinstance(media.get("media"), str):
            raise bad_request("can't parse InputMedia JSON object")
        kind = media.get("type")
        if kind not in ("photo", "document"):
            raise bad_request(f"fakegram does not emulate InputMedia type {kind!r}")
        markup = self._reply_markup(p)
        sub = Params(
            {
                "caption": media.get("caption", ""),
                "parse_mode": media.get("parse_mode"),
                "caption_entities": media.get("caption_entities"),
            },
            {},
        )
        caption = self._formatted(sub, "caption", "caption_entities", caption=True)
        chat, msg = self._editable(bot, p)
        if msg.media_kind is None:
            raise bad_request("there is no media in the message to edit")
        ref = p.attached(media["media"]) or media["media"]
        files = self._media_files(str(kind), ref, p)
        self.spend_budget(bot.id, chat, msg.thread_id, "editMessageMedia")
        self._remember_version(msg)
        msg.media_kind = "photo" if kind == "photo" else "document"
        msg.files = files
        msg.caption, msg.caption_entities = caption.text or None, caption.entities
        msg.raw = sub.get_str("caption")
        msg.reply_markup = markup
        self.notify()
        return self.message_json(msg)

    @bot_method("getFile")
    def get_file(self, bot: BotAccount, p: Params) -> object:
        file_id = p.get_str("file_id")
        if not file_id:
            raise bad_request("file_id not specified")
        stored = self.files.get(file_id)
        if stored is None:
            raise ApiError(400, E.WRONG_FILE_ID)
        if stored.size > MAX_DOWNLOAD:
            raise ApiError(400, E.FILE_TOO_BIG)
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    # --- commands --------------------------------------------------------------------------------

    @staticmethod
    def _scope_key(p: Params) -> tuple[str, str]:
        try:
            scope = p.get_json("scope", {"type": "default"})
        except ValueError:
            raise bad_request("can't parse BotCommandScope JSON object") from None
        return json.dumps(scope, sort_keys=True), p.get_str("language_code") or ""

    @bot_method("setMyCommands")
    def set_my_commands(self, bot: BotAccount, p: Params) -> object:
        try:
            commands = p.get_json("commands")
        except ValueError:
            raise bad_request("can't parse commands JSON object") from None
        if not isinstance(commands, list):
            raise bad_request("expected an Array of BotCommand")
        cleaned: list[dict[str, str]] = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad_request("can't parse BotCommand: expected an Object")
            command, description = item.get("command"), item.get("description")
            if not isinstance(command, str):
                raise bad_request('can\'t parse BotCommand: Field "command" must be of type String')
            if not isinstance(description, str):
                raise bad_request('can\'t parse BotCommand: Field "description" must be of type String')
            command = command.removeprefix("/")
            if not _COMMAND.fullmatch(command):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": command, "description": description})
        key = self._scope_key(p)
        if cleaned:
            bot.commands[key] = cleaned
        else:
            bot.commands.pop(key, None)
        self.notify()
        return True

    @bot_method("getMyCommands")
    def get_my_commands(self, bot: BotAccount, p: Params) -> object:
        return list(bot.commands.get(self._scope_key(p), []))

    @bot_method("deleteMyCommands")
    def delete_my_commands(self, bot: BotAccount, p: Params) -> object:
        bot.commands.pop(self._scope_key(p), None)
        self.notify()
        return True

    # --- forum topics ----------------------------------------------------------------------------

    def _forum(self, bot: BotAccount, p: Params) -> Chat:
        chat = self._chat_for_send(bot, p)
        if not chat.has_topics:
            raise bad_request("the chat is not a forum")
        return chat

    def _topic_to_manage(self, bot: BotAccount, p: Params) -> tuple[Chat, Topic]:
        chat = self._forum(bot, p)
        thread_id = p.get_int("message_thread_id")
        topic = chat.topics.get(thread_id) if thread_id is not None else None
        if topic is None or topic.deleted:
            raise ApiError(400, E.THREAD_NOT_FOUND)
        if chat.type == "supergroup" and not chat.is_admin(bot.id) and topic.creator_bot_id != bot.id:
            raise bad_request("CHAT_ADMIN_REQUIRED")
        return chat, topic

    def _bot_service(
        self, bot: BotAccount, chat: Chat, topic: Topic, service: dict[str, object]
    ) -> StoredMessage:
        # A bot's service messages never become updates (not for itself, nor for other bots).
        msg = self.new_message(chat, sender_id=bot.id, from_bot=True, thread_id=topic.id, service=service)
        self.notify()
        return msg

    @bot_method("createForumTopic")
    def create_forum_topic(self, bot: BotAccount, p: Params) -> object:
        chat = self._forum(bot, p)
        name = p.get_str("name") or ""
        if not 1 <= len(name) <= 128:
            raise bad_request("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_TOO_LONG")
        if chat.type == "supergroup" and not chat.is_admin(bot.id):
            raise bad_request("not enough rights to create a topic")
        color = p.get_int("icon_color") if p.has("icon_color") else TOPIC_ICON_COLORS[0]
        if color not in TOPIC_ICON_COLORS:
            raise bad_request("invalid icon_color specified")
        emoji = p.get_str("icon_custom_emoji_id") or None
        topic = Topic(chat.next_message_id, name, color, emoji, creator_bot_id=bot.id)
        chat.topics[topic.id] = topic
        created: dict[str, object] = {"name": name, "icon_color": color}
        if emoji:
            created["icon_custom_emoji_id"] = emoji
        self._bot_service(bot, chat, topic, {"forum_topic_created": created})
        return topic.to_api()

    @bot_method("editForumTopic")
    def edit_forum_topic(self, bot: BotAccount, p: Params) -> object:
        chat, topic = self._topic_to_manage(bot, p)
        edited: dict[str, object] = {}
        name = p.get_str("name")
        if name is not None and name != topic.name:
            if not 1 <= len(name) <= 128:
                raise bad_request("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_TOO_LONG")
            edited["name"] = name
        emoji = p.get_str("icon_custom_emoji_id")
        if emoji is not None and (emoji or None) != topic.icon_custom_emoji_id:
            edited["icon_custom_emoji_id"] = emoji
        if not edited:
            raise bad_request("TOPIC_NOT_MODIFIED")
        if "name" in edited:
            topic.name = name or topic.name
            topic.is_name_implicit = False
        if "icon_custom_emoji_id" in edited:
            topic.icon_custom_emoji_id = emoji or None
        self._bot_service(bot, chat, topic, {"forum_topic_edited": edited})
        return True

    def _set_closed(self, bot: BotAccount, p: Params, closed: bool) -> object:
        chat, topic = self._topic_to_manage(bot, p)
        if topic.closed == closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = closed
        self._bot_service(bot, chat, topic, {"forum_topic_closed" if closed else "forum_topic_reopened": {}})
        return True

    @bot_method("closeForumTopic")
    def close_forum_topic(self, bot: BotAccount, p: Params) -> object:
        return self._set_closed(bot, p, True)

    @bot_method("reopenForumTopic")
    def reopen_forum_topic(self, bot: BotAccount, p: Params) -> object:
        return self._set_closed(bot, p, False)

    @bot_method("deleteForumTopic")
    def delete_forum_topic(self, bot: BotAccount, p: Params) -> object:
        chat, topic = self._topic_to_manage(bot, p)
        delete_topic(chat, topic)
        self.notify()
        return True

    @bot_method("getChat")
    def get_chat_info(self, bot: BotAccount, p: Params) -> object:
        chat = self._chat(bot, p)
        return self.chat_json(chat)


def delete_topic(chat: Chat, topic: Topic) -> None:
    """Mark a topic and every message in it deleted."""
    topic.deleted = True
    for msg in chat.messages.values():
        if msg.thread_id == topic.id:
            msg.deleted = True


def _check_button(button: object) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
    actions = [name for name in BUTTON_ACTIONS if name in button]
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= 64:
            raise ApiError(400, E.BUTTON_DATA_INVALID)
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if len(actions) > 1:
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must have exactly one action"
        )
