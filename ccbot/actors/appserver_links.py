"""One connection per app-server, shared by the windows it serves (the app-server plane's links).

A window ccbot starts has an app-server of its own; every window bound by hand to a ``codex`` of Codex's
shared daemon is served by that one daemon. ``AppServerLinks`` keeps one :class:`Link` per socket address:
one WebSocket connection, handshaken once (``initialize``, ``initialized``), whose every notification and
server request is copied to each attached window, and whose ``thread/resume`` is made once per thread (the
answer is kept for the next window asking: the connection already receives that thread's events).

Contract:

* ``attach(address)`` (an async context manager, used by a window actor) yields a :class:`LinkView`:
  ``request`` / ``notify`` / ``respond`` on the shared client, ``resume(thread_id)``, and ``incoming``, this
  window's copy of the server's messages from the moment it attached. A connection or handshake that fails
  raises from ``attach`` (``OSError``, ``WsError``, ``AppServerError``, ``trio.TooSlowError``), for the
  window's backoff.
* When the connection ends, every attached window's ``incoming`` ends (``EndOfChannel``) and its requests
  fail (``ConnectionLost``); a window that re-attaches makes a new connection. A window that falls
  ``INCOMING_BUFFER`` messages behind has its ``incoming`` ended alone (it re-attaches and re-syncs): it
  never slows down the other windows.
* A link is closed when its last window detaches.
* ``run`` owns the nursery the links' tasks live in; Topics starts it in its windows nursery, so links stop
  with the windows they serve.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
import trio

from ccbot import __version__
from ccbot.codex.appserver import protocol
from ccbot.codex.appserver.client import AppServerClient, AppServerError, ConnectionLost
from ccbot.codex.appserver.protocol import Incoming
from ccbot.codex.appserver.transport import WsConnection, WsError, connect_unix
from ccbot.codex.appserver.views import RequestId

__all__ = ["INCOMING_BUFFER", "LINK_ERRORS", "AppServerLinks", "LinkView"]

log = structlog.get_logger("ccbot.appserver")

CLIENT_NAME = "ccbot"
HANDSHAKE_TIMEOUT = 10.0
INCOMING_BUFFER = 1000
# What a lost or refused connection raises (to a window: retry with backoff; anything else is a bug).
LINK_ERRORS: tuple[type[Exception], ...] = (OSError, WsError, AppServerError, trio.TooSlowError)


@dataclass(eq=False)
class Link:
    """One connection to the app-server at ``address`` and the windows attached to it."""

    address: str
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    client: AppServerClient | None = None
    views: set[trio.MemorySendChannel[Incoming]] = field(default_factory=set)
    resumed: dict[str, object] = field(default_factory=dict)  # thread id -> its thread/resume result
    closed: bool = False

    def fan_out(self, message: Incoming) -> None:
        for view in list(self.views):
            try:
                view.send_nowait(message)
            except trio.WouldBlock:
                log.warning("a window fell behind its app-server; it re-attaches", address=self.address)
                self.views.discard(view)
                view.close()
            except trio.BrokenResourceError:
                self.views.discard(view)

    def close(self) -> None:
        """The connection is gone: every view's ``incoming`` ends."""
        self.closed = True
        self.scope.cancel()
        for view in self.views:
            view.close()
        self.views.clear()


class LinkView:
    """A window's handle on a shared link (see the module docstring)."""

    def __init__(self, link: Link, client: AppServerClient, incoming: trio.MemoryReceiveChannel[Incoming]) -> None:
        self._link = link
        self._client = client
        self.incoming = incoming

    async def request(self, method: str, params: Mapping[str, object] | None = None) -> object:
        """``AppServerClient.request`` on the shared connection."""
        return await self._client.request(method, params)

    async def respond(self, request_id: RequestId, result: object) -> None:
        """``AppServerClient.respond`` on the shared connection."""
        await self._client.respond(request_id, result)

    async def resume(self, thread_id: str) -> object:
        """``thread/resume`` ``thread_id`` once per connection: a later call returns the first answer (the
        thread's events already reach every view). A failed resume is not kept: it is asked again next time."""
        link = self._link
        if thread_id in link.resumed:
            return link.resumed[thread_id]
        result = await self._client.request(protocol.THREAD_RESUME, protocol.thread_resume_params(thread_id))
        if not link.closed:
            link.resumed[thread_id] = result
        return result


class AppServerLinks:
    """The shared app-server connections (see the module docstring)."""

    def __init__(self, connect: Callable[[str], Awaitable[WsConnection]] = connect_unix) -> None:
        self._connect = connect
        self._links: dict[str, Link] = {}
        self._nursery: trio.Nursery | None = None
        # one connection per address, even when two windows attach at once (a hung server delays only its own)
        self._opening: dict[str, trio.Lock] = {}

    def connections(self) -> int:
        """How many connections are open (for tests and diagnostics)."""
        return sum(1 for link in self._links.values() if not link.closed)

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Own the links' nursery until cancelled."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None
            for link in self._links.values():
                link.close()
            self._links.clear()

    @asynccontextmanager
    async def attach(self, address: str) -> AsyncIterator[LinkView]:
        """This window's view of the link to ``address``, connected first if need be (see the module docstring)."""
        async with self._opening.setdefault(address, trio.Lock()):
            link = self._links.get(address)
            if link is None or link.closed:
                if self._nursery is None:
                    raise ConnectionLost("the app-server links are not running")
                link = Link(address)
                self._links[address] = link
                try:
                    await self._nursery.start(self._run_link, link)
                except BaseException:
                    self._forget(link)
                    raise
        assert link.client is not None
        send, receive = trio.open_memory_channel[Incoming](INCOMING_BUFFER)
        link.views.add(send)
        try:
            async with receive:
                yield LinkView(link, link.client, receive)
        finally:
            link.views.discard(send)
            send.close()
            if not link.views:
                self._forget(link)

    def _forget(self, link: Link) -> None:
        link.close()
        if self._links.get(link.address) is link:
            del self._links[link.address]

    async def _run_link(self, link: Link, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Connect, handshake, then copy every incoming message to the views until the connection ends.
        Errors before ``started`` go to the attaching window; later ones only end the link."""
        # this task was spawned by the first window to attach: its log context is that window's, not the link's
        structlog.contextvars.clear_contextvars()
        started = False
        failure: BaseException | None = None
        try:
            with link.scope:
                connection = await self._connect(link.address)
                incoming_send, incoming = trio.open_memory_channel[Incoming](INCOMING_BUFFER)
                client = AppServerClient(connection, incoming_send)
                try:
                    async with trio.open_nursery() as nursery:
                        await nursery.start(client.run)
                        with trio.fail_after(HANDSHAKE_TIMEOUT):
                            await client.request(protocol.INITIALIZE,
                                                 protocol.initialize_params(CLIENT_NAME, __version__))
                            await client.notify(protocol.INITIALIZED)
                        link.client = client
                        task_status.started()
                        started = True
                        log.info("attached to an app-server", address=link.address)
                        async for message in incoming:
                            link.fan_out(message)
                        nursery.cancel_scope.cancel()
                except* LINK_ERRORS as group:
                    failure = _first_leaf(group)
                finally:
                    with trio.CancelScope(shield=True), trio.move_on_after(1):
                        await client.aclose()
        finally:
            self._forget(link)
        if failure is not None:
            if not started:
                raise failure
            log.info("app-server connection ended", address=link.address, error=str(failure))
        elif started:
            log.info("app-server connection ended", address=link.address)


def _first_leaf(group: BaseException) -> BaseException:
    while isinstance(group, BaseExceptionGroup):
        group = group.exceptions[0]
    return group
