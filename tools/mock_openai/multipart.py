"""Minimal ``multipart/form-data`` decoding for the fake transcription endpoint (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_BOUNDARY = re.compile(r'boundary=(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)
_DISPOSITION_PARAM = re.compile(r';\s*([a-zA-Z*]+)="?([^";]*)"?')


class MultipartError(ValueError):
    """The body is not well-formed multipart/form-data."""


@dataclass(frozen=True)
class Part:
    """One form field: its ``name``, optional ``filename`` and ``content_type``, and raw ``data``."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None


def boundary_of(content_type: str) -> str:
    """The boundary parameter of a Content-Type header; raises MultipartError if absent."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise MultipartError(f"not multipart/form-data: {content_type!r}")
    match = _BOUNDARY.search(content_type)
    if not match:
        raise MultipartError("multipart Content-Type without a boundary")
    return match.group(1) or match.group(2)


def parse_multipart(body: bytes, content_type: str) -> dict[str, Part]:
    """Fields by name (the last one wins). Raises MultipartError on malformed input."""
    delimiter = b"--" + boundary_of(content_type).encode("latin-1")
    if delimiter not in body:
        raise MultipartError("boundary not found in body")
    fields: dict[str, Part] = {}
    chunks = body.split(delimiter)
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.removeprefix(b"\r\n")
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise MultipartError("part without a header block")
        data = data.removesuffix(b"\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("latin-1").split("\r\n"):
            key, colon, value = line.partition(":")
            if colon:
                headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        params = {k.lower(): v for k, v in _DISPOSITION_PARAM.findall(disposition)}
        name = params.get("name")
        if not name:
            raise MultipartError("part without a name")
        fields[name] = Part(name, data, params.get("filename"), headers.get("content-type"))
    return fields
