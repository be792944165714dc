"""Fixtures for the fakegram tests: a fake with tiny poll caps, served on 127.0.0.1.

These tests use real sockets, so they must not use ``autojump_clock`` (except the few that use the
in-process mock transport). The fake enforces Telegram's sending budget, as by default; a test that
sends faster than Telegram allows says so with ``fake.telegram_budget = False``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tools.fakegram import FakeTelegram, running_fakegram

from .support import OTHER_USER, TOKEN, USER


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    fake = FakeTelegram(TOKEN, long_poll_max=0.5)
    fake.add_user(USER, "Ada", "ada")
    fake.add_user(OTHER_USER, "Bob")
    yield fake
    assert fake.internal_errors == []


@pytest.fixture
async def port(fake: FakeTelegram) -> AsyncIterator[int]:
    async with running_fakegram(fake) as bound:
        yield bound


@pytest.fixture
async def client(port: int) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5.0) as client:
        yield client
