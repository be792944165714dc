"""Forum topics in supergroups and private chats: ids, General rules, service messages, errors."""

from __future__ import annotations

import httpx

from tools.fakegram import GENERAL, FakeTelegram

from .support import OTHER_USER, USER, fails, ok

NOT_FOUND = "Bad Request: message thread not found"


async def test_user_topic_ids_and_general_rules(client: httpx.AsyncClient, fake: FakeTelegram) -> None:
    group = fake.create_forum_group("Dev")
    thread = fake.user_creates_topic(group, USER, "build")
    fake.user_sends_text(group, USER, "in the topic", thread_id=thread)
    fake.user_sends_text(group, USER, "in general")
    created, in_topic, in_general = [u["message"] for u in await ok(client, "getUpdates")]
    # The topic id is the message_id of its forum_topic_created service message.
    assert created["message_id"] == thread
    assert created["forum_topic_created"] == {"name": "build", "icon_color": 7322096}
    assert created["message_thread_id"] == thread and created["is_topic_message"] is True
    assert in_topic["message_thread_id"] == thread and in_topic["is_topic_message"] is True
    assert in_topic["reply_to_message"]["message_id"] == thread
    assert in_topic["chat"] == {"id": group, "type": "supergroup", "title": "Dev", "is_forum": True}
    # The General topic is never emitted as a thread id.
    assert "message_thread_id" not in in_general and "is_topic_message" not in in_general


async def test_bot_sends_to_topics_and_general(client: httpx.AsyncClient, fake: FakeTelegram) -> None:
    group = fake.create_forum_group("Dev")
    thread = fake.user_creates_topic(group, USER, "build")
    sent = await ok(client, "sendMessage", chat_id=group, message_thread_id=thread, text="hi topic")
    assert sent["message_thread_id"] == thread and sent["is_topic_message"] is True
    general = await ok(client, "sendMessage", chat_id=group, text="hi general")
    assert "message_thread_id" not in general and "is_topic_message" not in general
    # Negative thread ids count as absent.
    await ok(client, "sendMessage", chat_id=group, message_thread_id=-5, text="also general")
    await fails(client, "sendMessage", 400, NOT_FOUND, chat_id=group, message_thread_id=GENERAL, text="x")
    await fails(client, "sendMessage", 400, NOT_FOUND, chat_id=group, message_thread_id=9999, text="x")
    await fails(client, "sendChatAction", 400, NOT_FOUND, chat_id=group, message_thread_id=1, action="typing")
    assert [m.text for m in fake.bot_messages(group, thread)] == ["hi topic"]
    assert [m.text for m in fake.bot_messages(group, GENERAL)] == ["hi general", "also general"]
    assert len(fake.bot_messages(group)) == 3


async def test_deleted_topic_sends_no_update_and_later_sends_fail(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    group = fake.create_forum_group("Dev")
    thread = fake.user_creates_topic(group, USER, "doomed")
    await ok(client, "sendMessage", chat_id=group, message_thread_id=thread, text="before")
    seen = await ok(client, "getUpdates")
    fake.user_deletes_topic(group, thread)
    assert await ok(client, "getUpdates", offset=seen[-1]["update_id"] + 1) == []
    await fails(client, "sendMessage", 400, NOT_FOUND, chat_id=group, message_thread_id=thread, text="after")
    assert fake.bot_messages(group, thread) == []
    assert [m.text for m in fake.bot_messages(group, thread, include_deleted=True)] == ["before"]


async def test_closed_topic_blocks_non_admin_bot_only(client: httpx.AsyncClient, fake: FakeTelegram) -> None:
    admin_group = fake.create_forum_group("Admin", bot_is_admin=True)
    plain_group = fake.create_forum_group("Plain", bot_is_admin=False)
    for group in (admin_group, plain_group):
        thread = fake.user_creates_topic(group, USER, "t")
        fake.user_closes_topic(group, USER, thread)
        if group == admin_group:
            await ok(client, "sendMessage", chat_id=group, message_thread_id=thread, text="admins may")
        else:
            await fails(
                client,
                "sendMessage",
                400,
                "Bad Request: TOPIC_CLOSED",
                chat_id=group,
                message_thread_id=thread,
                text="x",
            )
            fake.user_reopens_topic(group, USER, thread)
            await ok(client, "sendMessage", chat_id=group, message_thread_id=thread, text="reopened")


async def test_private_chat_topics(client: httpx.AsyncClient, fake: FakeTelegram) -> None:
    with_topics = fake.create_private_chat(USER, topics_enabled=True)
    without = fake.create_private_chat(OTHER_USER, topics_enabled=False)
    thread = fake.user_creates_topic(with_topics, USER, None)
    created = (await ok(client, "getUpdates"))[0]["message"]
    assert created["forum_topic_created"]["is_name_implicit"] is True
    assert created["message_thread_id"] == thread and created["is_topic_message"] is True
    assert "is_forum" not in created["chat"]
    sent = await ok(client, "sendMessage", chat_id=with_topics, message_thread_id=thread, text="x")
    assert sent["message_thread_id"] == thread and "reply_to_message" not in sent
    await fails(client, "sendMessage", 400, NOT_FOUND, chat_id=without, message_thread_id=thread, text="x")
    await fails(
        client, "sendMessage", 400, NOT_FOUND, chat_id=with_topics, message_thread_id=thread + 50, text="x"
    )
    # Renaming the implicit topic clears the flag.
    await ok(client, "editForumTopic", chat_id=with_topics, message_thread_id=thread, name="named")
    assert fake.topic(with_topics, thread).name == "named"
    assert fake.topic(with_topics, thread).is_name_implicit is False


async def test_bot_topic_management(client: httpx.AsyncClient, fake: FakeTelegram) -> None:
    group = fake.create_forum_group("Dev")
    topic = await ok(client, "createForumTopic", chat_id=group, name="codex", icon_color=16766590)
    thread = topic["message_thread_id"]
    assert topic == {"message_thread_id": thread, "name": "codex", "icon_color": 16766590}
    service = fake.messages(group, thread)[0]
    assert service.message_id == thread and service.service == {
        "forum_topic_created": {"name": "codex", "icon_color": 16766590}
    }
    assert await ok(client, "editForumTopic", chat_id=group, message_thread_id=thread, name="renamed") is True
    await fails(
        client,
        "editForumTopic",
        400,
        "Bad Request: TOPIC_NOT_MODIFIED",
        chat_id=group,
        message_thread_id=thread,
        name="renamed",
    )
    assert await ok(client, "closeForumTopic", chat_id=group, message_thread_id=thread) is True
    assert fake.topic(group, thread).closed is True
    assert await ok(client, "reopenForumTopic", chat_id=group, message_thread_id=thread) is True
    await fails(
        client,
        "deleteMessage",
        400,
        "Bad Request: message can't be deleted",
        chat_id=group,
        message_id=thread,
    )
    assert await ok(client, "deleteForumTopic", chat_id=group, message_thread_id=thread) is True
    await fails(client, "closeForumTopic", 400, NOT_FOUND, chat_id=group, message_thread_id=thread)
    await fails(
        client,
        "createForumTopic",
        400,
        "Bad Request: invalid icon_color specified",
        chat_id=group,
        name="x",
        icon_color=123,
    )
    assert await ok(client, "getUpdates") == []  # none of this reaches the bot


async def test_topic_creation_needs_a_forum_and_rights(client: httpx.AsyncClient, fake: FakeTelegram) -> None:
    no_rights = fake.create_forum_group("G", bot_is_admin=False)
    plain_private = fake.create_private_chat(USER, topics_enabled=False)
    await fails(
        client,
        "createForumTopic",
        400,
        "Bad Request: not enough rights to create a topic",
        chat_id=no_rights,
        name="x",
    )
    await fails(
        client,
        "createForumTopic",
        400,
        "Bad Request: the chat is not a forum",
        chat_id=plain_private,
        name="x",
    )


async def test_privacy_mode_hides_plain_text_from_non_admin_bot(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    group = fake.create_forum_group("G", bot_is_admin=False)
    fake.user_sends_text(group, USER, "just chatting")
    fake.user_sends_text(group, USER, "/new@fakegram_bot now")
    fake.user_sends_text(group, USER, "see /help")
    texts = [u["message"]["text"] for u in await ok(client, "getUpdates")]
    assert texts == ["/new@fakegram_bot now", "see /help"]
    updates = await ok(client, "getUpdates")
    assert updates[0]["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 17}]
    assert updates[1]["message"]["entities"] == [{"type": "bot_command", "offset": 4, "length": 5}]
    fake.set_bot_admin(group, True)
    fake.user_sends_text(group, USER, "now visible")
    assert (await ok(client, "getUpdates"))[-1]["message"]["text"] == "now visible"
