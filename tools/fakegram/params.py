"""Request parameter decoding for the fake Bot API: query string, urlencoded, JSON and multipart.

:func:`parse_params` takes the raw query string, the Content-Type header and the body and returns
:class:`Params`. Values keep their transport type: strings from the query string, forms and multipart
text parts; arbitrary JSON values from a JSON body; :class:`UploadedFile` for multipart file parts.
The typed accessors convert the way the real server does (``"123"`` is an integer, JSON-serialised
strings such as ``reply_markup`` are decoded on demand).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

__all__ = ["Params", "UploadedFile", "parse_params"]


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """One multipart file part."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes


_UNSET = object()


class Params:
    """Decoded parameters of one Bot API call; body values override query-string values."""

    def __init__(self, values: dict[str, object], files: dict[str, UploadedFile]) -> None:
        self.values = values
        self.files = files

    def has(self, name: str) -> bool:
        return name in self.values or name in self.files

    def raw(self, name: str) -> object | None:
        return self.values.get(name)

    def get_str(self, name: str) -> str | None:
        """The parameter as text; JSON objects/arrays are re-serialised, numbers printed."""
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        return json.dumps(value)

    def get_int(self, name: str) -> int | None:
        """An integer from a JSON number or a decimal string; None when absent or malformed."""
        value = self.values.get(name)
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+\s*", value):
            return int(value)
        return None

    def get_float(self, name: str) -> float | None:
        value = self.values.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return None
        return None

    def get_bool(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def get_json(self, name: str, default: object = _UNSET) -> object:
        """A JSON-valued parameter, decoded from a string if needed.

        Returns ``default`` (None unless given) when absent; raises ``ValueError`` when a string
        value is not valid JSON.
        """
        value = self.values.get(name, _UNSET)
        if value is _UNSET or value is None:
            return None if default is _UNSET else default
        if isinstance(value, str):
            return json.loads(value)
        return value

    def get_file(self, name: str) -> UploadedFile | str | None:
        """An uploaded file, or the string (file_id, URL) given instead; ``attach://x`` is followed."""
        if name in self.files:
            return self.files[name]
        value = self.get_str(name)
        if value is None:
            return None
        return self.attached(value) or value

    def attached(self, reference: str) -> UploadedFile | None:
        if reference.startswith("attach://"):
            return self.files.get(reference[len("attach://") :])
        return None

    def summary(self) -> dict[str, object]:
        """JSON-friendly view for the call log: files become ``{"file": name, "size": n}``."""
        out: dict[str, object] = dict(self.values)
        for name, upload in self.files.items():
            out[name] = {
                "file": upload.filename,
                "size": len(upload.data),
                "content_type": upload.content_type,
            }
        return out


def parse_params(query: str, content_type: str | None, body: bytes) -> Params:
    """Decode one request. Malformed bodies yield whatever could be decoded (never raise)."""
    values: dict[str, object] = dict(parse_qsl(query, keep_blank_values=True))
    files: dict[str, UploadedFile] = {}
    mime, options = _parse_header_value(content_type or "")
    if mime == "application/json" and body.strip():
        try:
            decoded = json.loads(body)
        except ValueError:
            decoded = None
        if isinstance(decoded, dict):
            values.update(decoded)
    elif mime == "application/x-www-form-urlencoded":
        values.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif mime == "multipart/form-data" and "boundary" in options:
        for headers, data in _split_multipart(body, options["boundary"].encode("latin-1")):
            _, disposition = _parse_header_value(headers.get("content-disposition", ""))
            name = disposition.get("name")
            if name is None:
                continue
            if "filename" in disposition:
                files[name] = UploadedFile(name, disposition["filename"], headers.get("content-type"), data)
            else:
                values[name] = data.decode("utf-8", "replace")
    return Params(values, files)


_PARAM = re.compile(r';\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def _parse_header_value(value: str) -> tuple[str, dict[str, str]]:
    """``type/sub; a=b; c="d"`` → (lowercased main value, {param: value})."""
    main, _, rest = value.partition(";")
    options: dict[str, str] = {}
    for match in _PARAM.finditer(";" + rest):
        raw = match.group(2).strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        options[match.group(1).lower()] = raw
    return main.strip().lower(), options


def _split_multipart(body: bytes, boundary: bytes) -> list[tuple[dict[str, str], bytes]]:
    parts: list[tuple[dict[str, str], bytes]] = []
    chunks = (b"\r\n" + body).split(b"\r\n--" + boundary)
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        _, _, chunk = chunk.partition(b"\r\n")  # rest of the delimiter line
        head, _, data = chunk.partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, sep, val = line.partition(":")
            if sep:
                headers[key.strip().lower()] = val.strip()
        parts.append((headers, data))
    return parts
