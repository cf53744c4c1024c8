"""JSON parsing that refuses NUL characters in strings.

PostgreSQL cannot store U+0000 in text, and a lookup with one fails deep in the driver; refusing
it at the door gives a clear 400 for every field of every endpoint instead of a 500 somewhere.
"""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Strict JSON has no raw control characters in strings: a NUL can only be written `\u0000`.
NUL_ESCAPE = b"\\u0000"


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _is_utf8(encoding: str) -> bool:
    return encoding.lower().replace("-", "").replace("_", "") == "utf8"


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        data = super().parse(io.BytesIO(raw), media_type, parser_context)
        # Walking a 500-record sync batch costs about 3% of the request: do it only when the
        # bytes can hold an escaped NUL (always for other encodings, where they are not ASCII).
        if (NUL_ESCAPE in raw or not _is_utf8(encoding)) and _has_nul(data):
            raise ParseError("Strings may not contain NUL (U+0000) characters.")
        return data
