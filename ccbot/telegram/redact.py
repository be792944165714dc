"""Scrub bot tokens and other secrets out of text before it is logged or shown.

Pure module: ``redact(text, secrets)`` returns ``text`` with every occurrence of

* each non-empty string in ``secrets`` (also in its percent-encoded form, as it appears in URLs),
* anything shaped like a bot-token URL segment, ``bot<digits>:<token>`` (``:`` possibly ``%3A``),
* anything shaped like a bare bot token, ``<digits>:<30+ token chars>``,

replaced by ``<redacted>``. It never raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote

REDACTED = "<redacted>"

_TOKEN_SHAPES = re.compile(
    r"bot\d+(?::|%3A)[A-Za-z0-9_-]+"  # the /bot<token>/ URL segment, whatever the token's length
    r"|\d{3,}(?::|%3A)[A-Za-z0-9_-]{30,}",  # a bare token (real ones have 35 chars)
    re.IGNORECASE,
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with secrets and token-shaped substrings replaced by ``<redacted>``."""
    variants: set[str] = set()
    for secret in secrets:
        if secret:
            variants.add(secret)
            variants.add(quote(secret, safe=""))
    # Longest first, so a secret containing another is replaced whole.
    for variant in sorted(variants, key=len, reverse=True):
        text = text.replace(variant, REDACTED)
    return _TOKEN_SHAPES.sub(REDACTED, text)
