"""The sessions layer (``Topics``), split into its layers; see ``routing`` for its contracts."""

from ccbot.actors.topics.core import RunningWindow, new_owner_mark
from ccbot.actors.topics.routing import Topics
from ccbot.ui.session import UiSession

__all__ = ["RunningWindow", "Topics", "UiSession", "new_owner_mark"]
