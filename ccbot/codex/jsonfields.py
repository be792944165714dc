"""Typed reads of one field of a decoded JSON object (pure): the value when it has the wanted type, else a
neutral answer (None, an empty dict or list). Shared by the rollout decoder and the app-server views, which
both read JSON that a newer Codex may shape differently and must never raise on it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def get_str(d: Mapping[str, Any], key: str) -> str | None:
    """`d[key]` if it is a string, else None."""
    v = d.get(key)
    return v if isinstance(v, str) else None


def get_int(d: Mapping[str, Any], key: str) -> int | None:
    """`d[key]` if it is an int (not a bool), else None."""
    v = d.get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def get_dict(d: Mapping[str, Any], key: str) -> dict[str, Any]:
    """`d[key]` if it is an object, else an empty dict."""
    v = d.get(key)
    return v if isinstance(v, dict) else {}


def get_list(d: Mapping[str, Any], key: str) -> list[Any]:
    """`d[key]` if it is a list, else an empty list."""
    v = d.get(key)
    return v if isinstance(v, list) else []
