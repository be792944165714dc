"""Decoding multipart/form-data request bodies in tests (shared by the Bot API and transcription tests)."""

from __future__ import annotations

import email.parser
import email.policy

import httpx


def multipart(request: httpx.Request) -> dict[str, tuple[str | None, str, bytes]]:
    """Multipart form fields: name -> (filename, content type, raw bytes)."""
    content_type = request.headers["content-type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    raw = b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.content
    parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    fields = {}
    for part in parsed.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        assert isinstance(name, str) and isinstance(payload, bytes)
        fields[name] = (part.get_filename(), part.get_content_type(), payload)
    return fields
