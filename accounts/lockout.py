"""Login lockout (django-axes) answered the API's way: 429 problem+json `locked_out` with
`Retry-After`.

django-axes counts failed sign-ins per (account, address) pair (AXES_LOCKOUT_PARAMETERS) and, at
AXES_FAILURE_LIMIT failures within AXES_COOLOFF_TIME, refuses that pair, even with the right
password, until the cool-off has passed. The answer never says whether the account exists: an
unknown email is counted and locked exactly like a known one, and both get the same body.

Two paths reach here. The API's sign-in view passes DRF's Request to `authenticate()`, so axes
flags that object and the view raises `LockedOut`. Django's own logins (the admin) are answered
by AxesMiddleware through AXES_LOCKOUT_CALLABLE = `lockout_response`. Both give one body.
"""

from __future__ import annotations

import math
from typing import Any

from axes.helpers import get_cool_off
from django.http import HttpRequest, JsonResponse
from rest_framework import status

from backend.api.errors import PROBLEM_CONTENT_TYPE, RetryLater, problem

LOCKED_OUT_DETAIL = (
    "Too many failed sign-in attempts for this account from this address. Try again later."
)


def cool_off_seconds(request: Any = None) -> int:
    cool_off = get_cool_off(request)
    return max(1, math.ceil(cool_off.total_seconds())) if cool_off else 3600


class LockedOut(RetryLater):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = LOCKED_OUT_DETAIL
    default_code = "locked_out"

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


def login_username(request: Any, credentials: dict[str, Any] | None = None) -> str | None:
    """AXES_USERNAME_CALLABLE: the email being signed in with, normalised as sign-in does, whether
    it arrives as `email` (the API) or `username` (Django's admin form)."""
    for source in (credentials or {}, getattr(request, "data", None) or request.POST):
        for key in ("email", "username"):
            value = source.get(key) if hasattr(source, "get") else None
            if isinstance(value, str) and value.strip():
                return value.strip().lower()
    return None


def is_locked_out(request: Any) -> bool:
    """Did django-axes refuse this sign-in? (it flags the request object it was given)"""
    return bool(getattr(request, "axes_locked_out", False))


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> JsonResponse:
    """AXES_LOCKOUT_CALLABLE: the same problem the API view raises, for non-DRF logins."""
    response = JsonResponse(
        problem(
            status_code=LockedOut.status_code,
            code=LockedOut.default_code,
            detail=LOCKED_OUT_DETAIL,
        ),
        status=LockedOut.status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )
    response["Retry-After"] = str(cool_off_seconds(request))
    return response
