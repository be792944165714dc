"""The folder listing the binding dialogue's browser shows (file system I/O; run it in a worker thread)."""

from __future__ import annotations

import os
from pathlib import Path

from ccbot.ui.browser import Listing

__all__ = ["list_subdirs"]


def list_subdirs(path: Path, show_hidden: bool) -> Listing:
    """Names of ``path``'s sub-folders (symlinks to folders included), sorted case-insensitively.

    Dot-folders are left out unless ``show_hidden``. A folder that cannot be listed gives
    ``Listing((), unreadable=True)``; never raises ``OSError``.
    """
    names: list[str] = []
    try:
        with os.scandir(path) as it:
            for entry in it:
                if not show_hidden and entry.name.startswith("."):
                    continue
                try:
                    if entry.is_dir():  # follows symlinks; dangling links are not folders
                        names.append(entry.name)
                except OSError:
                    continue
    except OSError:
        return Listing((), True)
    names.sort(key=lambda n: (n.casefold(), n))
    return Listing(tuple(names), False)
