"""Feature plug-ins that extend the sessions layer (history, screenshots, approvals, media).

Each feature is a function ``install(topics)`` that registers callback handlers, message converters,
window requests (``topics.window_extra["request:<name>"]``) and screen-effect hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ccbot.actors.topics import Topics

from ccbot.features import (
    approvals,
    history,
    media,
    screenshot,
    status_panel,
)

FEATURES: list[Callable[[Topics], None]] = [
    media.install,
    screenshot.install,
    approvals.install,
    status_panel.install,
    history.install,
]
