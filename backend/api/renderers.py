"""The JSON renderer of every API response: orjson, with DRF's JSON conventions.

DRF's `JSONRenderer` goes through the standard library's `json` and DRF's encoder; on a year of
daily metrics (366 rows of 19 fields) that is most of the request (docs/performance.md). This one
writes the same JSON with orjson:

- compact, UTF-8 (DRF's COMPACT_JSON and UNICODE_JSON defaults), U+2028/U+2029 escaped as DRF
  does;
- datetimes and times as DRF's encoder writes them (ISO 8601, `Z` for UTC), dates ISO, UUIDs and
  IP addresses as strings, decimals as numbers (COERCE_DECIMAL_TO_STRING is off),
  lazy strings, querysets and other iterables as DRF's encoder does;
- never NaN or Infinity (not JSON): orjson writes a non-finite float as null.

An `indent` asked for in the Accept header (and the browsable API, which asks for 4) and anything
orjson cannot encode (integers beyond 64 bits, an aware `time`) fall back to DRF's own renderer,
which encodes or refuses it as before. Dict keys that are not strings are encoded on a second
attempt (the option costs on every dict). Each attempt walks the data again, so a one-shot
iterator in it would be empty on the next: views return lists. Floats in exponent notation may be
spelled differently (`1e-07` / `1e-7`): the same numbers.

`JSONText` is JSON already written (e.g. stored rows of the team dashboard): orjson splices it into
the response as it is (`orjson.Fragment`), so a view can serve stored JSON without turning it into
Python objects and back. It must have been written the way this renderer writes (compact, by
orjson): it is not checked. The DRF fallback (an indent, the browsable API) parses it first.
"""

from __future__ import annotations

import datetime
import decimal
import ipaddress
from collections.abc import Mapping
from typing import Any

import orjson
from django.db.models.query import QuerySet
from django.utils.encoding import force_str
from django.utils.functional import Promise
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

# Datetimes natively, UTC as `Z`: the text DRF's encoder writes (isoformat, "+00:00" -> "Z");
# keys that are not strings as DRF writes them.
OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z
# The same for string keys only, tried first: OPT_NON_STR_KEYS makes orjson slower on every dict
# (0.39 against 0.24 ms for a year of metrics, 187 kB), and API responses rarely need it.
OPTIONS_STR_KEYS = orjson.OPT_UTC_Z
IPV4_IPV6 = (
    ipaddress.IPv4Address
    | ipaddress.IPv6Address
    | ipaddress.IPv4Network
    | ipaddress.IPv6Network
    | ipaddress.IPv4Interface
    | ipaddress.IPv6Interface
)
_LINE_SEPARATORS = (b"\xe2\x80\xa8", b"\xe2\x80\xa9")


class JSONText:
    """A JSON value already encoded, rendered as it is (see the module docstring). Not a
    dataclass: orjson would encode one as an object of its fields."""

    __slots__ = ("text",)

    def __init__(self, text: str | bytes) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JSONText) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def default(value: Any) -> Any:
    """What orjson does not encode itself, encoded as DRF's JSONEncoder does; `JSONText` as it is."""
    if isinstance(value, JSONText):
        return orjson.Fragment(value.text)
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value.isoformat()  # a subclass of date: orjson encodes date itself only
    if isinstance(value, datetime.timedelta):
        return str(value.total_seconds())
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, IPV4_IPV6):
        return str(value)
    if isinstance(value, Promise):
        return force_str(value)
    if isinstance(value, QuerySet):
        return tuple(value)
    if isinstance(value, bytes):
        return value.decode()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Mapping):
        return dict(value)
    if hasattr(value, "__iter__"):
        return tuple(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class _Encoder(JSONEncoder):
    """DRF's encoder, and `JSONText` parsed (the fallback re-encodes it, e.g. indented)."""

    def default(self, obj: Any) -> Any:
        if isinstance(obj, JSONText):
            return orjson.loads(obj.text)
        return super().default(obj)


class _FallbackRenderer(JSONRenderer):
    encoder_class = _Encoder


class ORJSONRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None  # JSON is UTF-8 (RFC 8259): no charset parameter, as DRF's JSONRenderer

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        if self._indent(accepted_media_type, renderer_context) is not None:
            return _FallbackRenderer().render(data, accepted_media_type, renderer_context)
        try:
            rendered = orjson.dumps(data, default=default, option=OPTIONS_STR_KEYS)
        except orjson.JSONEncodeError:
            try:
                rendered = orjson.dumps(data, default=default, option=OPTIONS)
            except orjson.JSONEncodeError:
                return _FallbackRenderer().render(data, accepted_media_type, renderer_context)
        # isascii() first: a few microseconds, where searching 187 kB for the two separators
        # took 0.26 ms.
        if not rendered.isascii() and (
            _LINE_SEPARATORS[0] in rendered or _LINE_SEPARATORS[1] in rendered
        ):
            rendered = rendered.replace(_LINE_SEPARATORS[0], b"\\u2028").replace(
                _LINE_SEPARATORS[1], b"\\u2029"
            )
        return rendered

    @staticmethod
    def _indent(accepted_media_type: str | None, renderer_context: Mapping[str, Any] | None) -> Any:
        if accepted_media_type and "indent" in accepted_media_type:
            return JSONRenderer().get_indent(accepted_media_type, renderer_context or {})
        return (renderer_context or {}).get("indent")
