"""systemd notifications (``sd_notify``): READY=1 once started, WATCHDOG=1 from the long-poll loop.

Without ``NOTIFY_SOCKET`` (not under systemd, or ``Type=exec``) every call does nothing. Errors sending
are swallowed: a notification is never worth crashing the bot. With ``WatchdogSec=`` in the unit, a long
poll that stalls beyond it (no getUpdates round trip completes) gets the service restarted by systemd.
"""

from __future__ import annotations

import os
import socket

import trio


class Notifier:
    """The systemd notification socket from ``NOTIFY_SOCKET`` (read once, at construction); ``sent`` records what
    was delivered.
    """

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        # "@name" is an abstract socket: the leading NUL is spelled "@" in the variable
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self.sent: list[str] = []

    @property
    def enabled(self) -> bool:
        """Whether ``NOTIFY_SOCKET`` named a socket; without one every ``notify`` does nothing."""
        return bool(self.address)

    async def notify(self, state: str) -> None:
        """Send ``state`` (e.g. "READY=1", "WATCHDOG=1", "STOPPING=1")."""
        if not self.enabled:
            return
        sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            await sock.connect(self.address)
            await sock.send(state.encode())
            self.sent.append(state)
        except OSError:
            pass
        finally:
            sock.close()
