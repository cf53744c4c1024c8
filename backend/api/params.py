"""Parsing query parameters into values, with problem+json 400s that name the parameter."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request


def _bad(name: str, message: str) -> ValidationError:
    return ValidationError({name: [message]}, code="invalid")


def uuid_param(request: Request, name: str) -> uuid.UUID | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise _bad(name, "Must be a valid UUID.") from exc


def date_param(request: Request, name: str) -> date | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise _bad(name, "Must be a date as YYYY-MM-DD.") from exc


def datetime_param(request: Request, name: str) -> datetime | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise _bad(name, "Must be an ISO 8601 timestamp with a UTC offset.")
    try:
        # In UTC: PostgreSQL refuses offsets beyond +-15:59 that Python parses (a 500 otherwise).
        return parsed.astimezone(UTC)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00+05:00 is before year 1 in UTC
        raise _bad(name, "Must be a timestamp between years 1 and 9999 in UTC.") from exc


def date_range_params(
    request: Request, *, max_days: int, start: str = "date_from", end: str = "date_to"
) -> tuple[date | None, date | None]:
    """Optional date range; reversed or longer than max_days is a 400."""
    first, last = date_param(request, start), date_param(request, end)
    if first and last:
        if last < first:
            raise _bad(end, f"Must be on or after {start}.")
        if (last - first).days + 1 > max_days:
            raise _bad(end, f"The range may span at most {max_days} days.")
    return first, last
