"""One error format for the whole API: RFC 9457 `application/problem+json`.

Every error body has `type`, `title`, `status`, `detail` and a stable machine `code`; validation errors
add `errors: [{field, message, code}]` with dotted paths into the request body (`entries.1.severity`).
DRF exceptions, Django's 404/403/400/500 handlers, simplejwt's token errors and our own domain
errors all come through here, so the mobile app branches on `code` and never parses text.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://recovery-api.example/problems/"


class DomainError(exceptions.APIException):
    """A rule of the domain was broken; services raise subclasses with their own status and code."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    default_detail = "The request breaks a rule of the domain."
    default_code = "domain_error"

    def __init__(self, detail: str | None = None, *, code: str | None = None, **extra: Any):
        super().__init__(detail=detail, code=code)
        self.extra = extra


class Conflict(DomainError):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


class RetryLater(exceptions.APIException):
    """An error the client should retry after `retry_after` seconds (sent as `Retry-After`)."""

    retry_after: int = 5


class DatabaseUnavailable(RetryLater):
    """The database connection broke (restart, failover, killed backend): nothing was stored
    by the request's transaction, and the same request may be sent again."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database is unavailable for a moment; nothing was stored. Retry shortly."
    default_code = "database_unavailable"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is larger than the server accepts."
    default_code = "payload_too_large"


def problem(
    *, status_code: int, code: str, detail: str, title: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "type": f"{TYPE_BASE}{code}",
        "title": title or HTTPStatus(status_code).phrase,
        "status": status_code,
        "detail": printable(detail),
        "code": code,
        **extra,
    }


def flatten_errors(detail: Any, path: str = "") -> list[dict[str, str]]:
    """Turn DRF's nested error structure into a flat list of {field, message, code}."""
    if isinstance(detail, Mapping):
        out: list[dict[str, str]] = []
        for key, value in detail.items():
            name = "" if key in ("non_field_errors", "__all__") else str(key)
            out.extend(flatten_errors(value, f"{path}.{name}" if path and name else path or name))
        return out
    if isinstance(detail, Sequence) and not isinstance(detail, str):
        out = []
        for index, value in enumerate(detail):
            if isinstance(value, Mapping | list):
                out.extend(flatten_errors(value, f"{path}.{index}" if path else str(index)))
            else:
                out.extend(flatten_errors(value, path))
        return out
    code = getattr(detail, "code", None) or "invalid"
    return [{"field": printable(path), "message": printable(str(detail)), "code": str(code)}]


_LONE_SURROGATES = re.compile("[\ud800-\udfff]")


def printable(text: str) -> str:
    """`text` as valid UTF-8: messages echo the client's input (an unknown choice, an unknown
    field's name), and a lone surrogate sent as `"\\ud800"` in JSON cannot be encoded in a
    response (a 500); it becomes U+FFFD."""
    return _LONE_SURROGATES.sub("\ufffd", text)


def _first_code(detail: Any, default: str) -> str:
    code = getattr(detail, "code", None)
    return str(code) if code else default


def exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every exception a view raises becomes a problem+json response."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, OperationalError | InterfaceError):
        # Not a bug in the request or the code: a lost connection, a failover, a statement timeout.
        # Logged (it matters to operators) and answered as retryable, not as a 500.
        view = context.get("view")
        logger.warning("Database unavailable in %s: %s", type(view).__name__, exc)
        exc = DatabaseUnavailable()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        )
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: Django's handler500 answers with a problem that reveals nothing

    headers: dict[str, str] = {}
    if isinstance(exc, exceptions.AuthenticationFailed | exceptions.NotAuthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    wait = getattr(exc, "wait", None) if isinstance(exc, exceptions.Throttled) else None
    if isinstance(exc, RetryLater):
        wait = exc.retry_after
    if wait is not None:
        headers["Retry-After"] = str(max(1, math.ceil(wait)))

    body = _problem_body(exc)
    set_rollback()
    return Response(
        body, status=exc.status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE
    )


def _problem_body(exc: exceptions.APIException) -> dict[str, Any]:
    status_code = exc.status_code
    if isinstance(exc, exceptions.ValidationError):
        return problem(
            status_code=status_code,
            code="validation_error",
            title="Validation error",
            detail="The request has invalid fields; see errors.",
            errors=flatten_errors(exc.detail),
        )
    detail = exc.detail
    extra: dict[str, Any] = dict(getattr(exc, "extra", {}) or {})
    if isinstance(detail, Mapping):
        # simplejwt: {"detail": ..., "code": "token_not_valid", "messages": [...]}
        code = str(detail.get("code") or exc.default_code)
        message = str(detail.get("detail") or exc.default_detail)
    elif isinstance(detail, list):
        code = _first_code(detail[0] if detail else None, str(exc.default_code))
        message = " ".join(str(item) for item in detail)
    else:
        code = _first_code(detail, str(exc.default_code))
        message = str(detail)
    if isinstance(exc, exceptions.Throttled):
        code = "throttled"
    return problem(status_code=status_code, code=code, detail=message, **extra)


def _json_problem(status_code: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse(
        problem(status_code=status_code, code=code, detail=detail),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )


# Django-level handlers (errors raised outside DRF views: unknown URLs, middleware, crashes).
def handler400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    if isinstance(exception, RequestDataTooBig):
        return _json_problem(413, "payload_too_large", PayloadTooLarge.default_detail)
    return _json_problem(400, "bad_request", "The request could not be understood.")


def handler403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _json_problem(403, "permission_denied", "You do not have permission to do this.")


def handler404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _json_problem(404, "not_found", "Not found.")


def handler500(request: HttpRequest) -> JsonResponse:
    logger.error("Unhandled server error on %s %s", request.method, request.path)
    return _json_problem(500, "server_error", "Something went wrong on our side; it was logged.")
