"""/history: pages from real 0.169 rollouts, and the request + page buttons through a real ``Topics``."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import trio

from ccbot.actors.topics import Topics
from ccbot.features import history
from ccbot.features.history import history_pages, read_history_pages
from ccbot.messages import Outbound
from ccbot.render.tg_html import parse_html
from ccbot.ui.callbacks import HISTORY_PAGE, NOOP, encode
from ccbot.ui.history import PAGE_CHARS, visible_length
from tests.actors.test_feature_fakes import CHAT, FakeBot, FakeTmux, bind, make_topics, query
from tests.conftest import DATA

PLAIN = DATA / "codex-0.169" / "rollouts" / "plain.jsonl"
LONG = DATA / "codex-0.169" / "rollouts" / "long.jsonl"
MAIN = DATA / "rollouts" / "codex-0.169-main.jsonl"


def test_plain_rollout_is_one_page_with_prompt_and_answer_once() -> None:
    (page,) = read_history_pages(PLAIN)
    text = parse_html(page).text
    # 0.169 writes each message twice (item_completed + response_item): shown once, prompt first.
    assert text.count("hello mock") == 2  # the prompt, and the answer quoting it
    assert text.index("\u276f hello mock") < text.index("MOCK_REPLY: you said: hello mock")
    assert "environment_context" not in text  # injected context is not a prompt


def test_main_rollout_pages_are_newest_first_and_within_limit() -> None:
    lines = MAIN.read_bytes().splitlines(keepends=True)
    pages = history_pages(lines)
    assert len(pages) >= 2
    prompts = [json.loads(x)["payload"]["item"]["content"][0]["text"] for x in lines
               if b'"UserMessage"' in x and json.loads(x)["type"] == "event_msg"]
    assert "\u276f " + prompts[0] in parse_html(pages[-1]).text  # the first prompt is on the oldest page
    assert "\u276f " + prompts[-1].split("\n")[0] in parse_html(pages[0]).text  # the last on the newest
    for page in pages:
        parse_html(page)
        assert visible_length(page) <= PAGE_CHARS


def test_an_unfinished_last_line_is_left_out(tmp_path: Path) -> None:
    data = PLAIN.read_bytes()
    partial = tmp_path / "r.jsonl"
    partial.write_bytes(data + b'{"timestamp":"x","type":"event_msg","payload":{"type":"item_com')
    assert read_history_pages(partial) == read_history_pages(PLAIN)
    assert history_pages([]) == []


async def test_history_request_and_paging_edit_the_same_message(tmp_path: Path) -> None:
    send, recv = trio.open_memory_channel[Outbound](100)
    bot = FakeBot()
    topics = make_topics(tmp_path, send, FakeTmux())
    history.install(topics)
    binding = bind(topics, 11, "@1", "%1")
    binding.rollout_path = str(LONG)
    pages = read_history_pages(LONG)
    assert len(pages) >= 3
    async with trio.open_nursery() as nursery:
        topics._nursery = nursery  # what Topics.run provides: spawned feature tasks run here
        nursery.start_soon(bot.run, recv)
        with trio.fail_after(5):
            window = SimpleNamespace(key=binding.key, rollout_path=binding.rollout_path)
            await request_history(topics, window)
            for _ in range(400):  # the page is read and sent by a spawned task
                if bot.of("send_message"):
                    break
                await trio.sleep(0.01)
            (sent,) = bot.of("send_message")
            assert sent["text"] == pages[0]
            row = sent["reply_markup"].rows[0]
            assert [b.text for b in row] == ["◀ Older", f"[{len(pages)}/{len(pages)}]"]
            (session,) = [s for s in topics.ui.values() if s.kind == history.KIND]
            await topics.on_callback((CHAT, 11), query(11, bot.next_id, row[0].callback_data, "q1"))
            await topics.on_callback((CHAT, 11), query(11, bot.next_id, encode(NOOP, session.token), "q2"))
            beyond = encode(HISTORY_PAGE, session.token, 99)
            await topics.on_callback((CHAT, 11), query(11, bot.next_id, beyond, "q3"))
            for _ in range(10):
                await trio.lowlevel.checkpoint()
        nursery.cancel_scope.cancel()
    (edit,) = bot.of("edit_message_text")
    assert edit["message_id"] == bot.next_id and edit["text"] == pages[1]
    assert [b.text for b in edit["reply_markup"].rows[0]] == ["◀ Older", f"[{len(pages) - 1}/{len(pages)}]",
                                                              "Newer ▶"]
    assert bot.answers() == [None, None, "This button is out of date."]


async def test_history_before_the_first_prompt(tmp_path: Path) -> None:
    send, _recv = trio.open_memory_channel[Outbound](10)
    topics = make_topics(tmp_path, send, FakeTmux())
    history.install(topics)
    said: list[str] = []

    async def say(text: str) -> None:
        said.append(text)

    binding = bind(topics, 11, "@1", "%1")
    window = SimpleNamespace(key=binding.key, rollout_path=binding.rollout_path, say=say)
    await request_history(topics, window)
    assert len(said) == 1 and "No conversation yet" in said[0]
    assert not topics.ui


def test_a_compressed_rollout_has_the_same_pages_found_in_either_form(tmp_path: Path) -> None:
    zipped = DATA / "rollouts" / "codex-0.169-main.jsonl.zst"
    assert read_history_pages(zipped) == read_history_pages(MAIN)
    stored = tmp_path / "rollout-x.jsonl.zst"
    stored.write_bytes(zipped.read_bytes())
    # a binding remembers the plain path; the thread was compressed since
    assert read_history_pages(tmp_path / "rollout-x.jsonl") == read_history_pages(MAIN)


async def request_history(topics: Topics, window: SimpleNamespace) -> None:
    """What the window actor does for ``/history``: run the handler registered for ``ShowHistory``."""
    handler = topics.hooks.handler_for(history.ShowHistory())
    assert handler is not None
    await handler(window, history.ShowHistory())  # type: ignore[arg-type]
