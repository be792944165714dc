"""Link URLs in Telegram HTML: what the server keeps of an ``<a href>`` (TDLib's ``LinkManager::check_link``
and ``parse_url``, re-implemented from their documented behaviour).

Pure: no I/O, no trio.
"""

from __future__ import annotations

import re

__all__ = ["check_link"]

_TG_USER = re.compile(r"tg:(?://)?user\?id=(\d+)", re.IGNORECASE)
_SCHEME = re.compile(r"[^:/?#@\[\]]*")
_AUTHORITY_END = re.compile(r"[/?#]")
# A host / userinfo: allowed ASCII (userinfo also ":"), any non-ASCII, or "%" with two hex digits.
_HOST = re.compile(r"(?:[A-Za-z0-9.\-_!$,~*'();&+=]|[^\x00-\x7f]|%[0-9a-fA-F]{2})*")
_USERINFO = re.compile(r"(?:[A-Za-z0-9.\-_!$,~*'();&+=:]|[^\x00-\x7f]|%[0-9a-fA-F]{2})*")


def _url_part_ok(part: str, allow_colon: bool) -> bool:
    return (_USERINFO if allow_colon else _HOST).fullmatch(part) is not None


def _ascii_lower(text: str) -> str:
    if text.isascii():
        return text.lower()
    return "".join(ch.lower() if ch.isascii() else ch for ch in text)


def check_link(url: str) -> str | None:
    """The normalised URL Telegram stores for a link, or None if Telegram would drop the link."""
    user = _TG_USER.fullmatch(url)
    if user:
        return f"tg://user?id={int(user.group(1))}"
    is_tg = url[:3].lower() == "tg:"
    rest = url[3:] if is_tg else url
    if is_tg and rest.startswith("//"):
        rest = rest[2:]
    parsed = _parse_url(rest)
    if parsed is None:
        return None
    scheme, userinfo, host, port, query = parsed
    if userinfo:
        return None
    if is_tg:
        if scheme == "https" or port or not all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in host):
            return None
        if len(query) > 1 and query[1] == "?":
            query = query[1:]
        return f"tg://{host}{query}"
    if "." not in host:
        return None
    return f"{scheme}://{host}{f':{port}' if port else ''}{query}"


def _parse_url(url: str) -> tuple[str, str, str, int, str] | None:
    """(scheme, userinfo, host, explicit port or 0, path+query+fragment) or None when invalid."""
    head = _SCHEME.match(url)
    scheme_text = _ascii_lower(head.group(0) if head else "")
    scheme = "http"
    rest = url
    if url[len(scheme_text) :].startswith("://"):
        if scheme_text not in ("http", "https"):
            return None
        scheme = scheme_text
        rest = url[len(scheme_text) + 3 :]
    split = _AUTHORITY_END.search(rest)
    authority, query = (rest[: split.start()], rest[split.start() :]) if split else (rest, "")
    port = 0
    colon = max(authority.rfind(":"), authority.rfind("]"), authority.rfind("@"))
    if colon > 0 and authority[colon] == ":":
        digits = authority[colon + 1 :]
        # A missing, zero, malformed or out-of-range port makes the URL invalid.
        if not (digits.isascii() and digits.isdigit()) or not 0 < int(digits) <= 65535:
            return None
        port = int(digits)
        authority = authority[:colon]
    at = authority.rfind("@")
    userinfo, host = (authority[:at], authority[at + 1 :]) if at >= 0 else ("", authority)
    if not host or host == "." or host.startswith("["):
        return None
    query = query.rstrip(" \t\r\n\x0b")
    if not query:
        query = "/"
    if not query.startswith("/"):
        query = "/" + query
    query = "".join(f"%{ord(ch):02x}" if ord(ch) <= 0x20 else ch for ch in query)
    host = _ascii_lower(host)
    if not _url_part_ok(host, allow_colon=False) or not _url_part_ok(userinfo, allow_colon=True):
        return None
    return scheme, userinfo, host, port, query
