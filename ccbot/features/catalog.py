"""The features the bot installs into ``Topics``, in order."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ccbot.features import approvals, history, media, plane_approvals, screenshot, status_panel

if TYPE_CHECKING:
    from ccbot.actors.topics import Topics

FEATURES: list[Callable[[Topics], None]] = [
    media.install,
    screenshot.install,
    approvals.install,
    plane_approvals.install,
    status_panel.install,
    history.install,
]
