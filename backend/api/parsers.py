"""JSON parsing that refuses NUL characters in strings.

PostgreSQL cannot store U+0000 in text, and a lookup with one fails deep in the driver; refusing
it at the door gives a clear 400 for every field of every endpoint instead of a 500 somewhere.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        if _has_nul(data):
            raise ParseError("Strings may not contain NUL (U+0000) characters.")
        return data
