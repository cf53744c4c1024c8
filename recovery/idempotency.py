"""`Idempotency-Key` on POST (IETF draft "The Idempotency-Key HTTP Header Field").

A phone that lost the answer to a POST sends it again with the same key. The first response is
stored per (user, key) for IDEMPOTENCY_TTL; a repeat with the same request replays it, marked
`Idempotent-Replayed: true`. A repeat while the first is still running gets 409; the same key with
a different request gets 422. The INSERT of the (user, key) row is the lock: the database's unique
constraint lets exactly one of any number of concurrent requests through, never a check-then-insert.

Responses that must not be replayed are forgotten so the client can retry: server errors (5xx),
throttling (429) and 409s for a request in flight. Unauthenticated requests are left alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from rest_framework.request import Request

from accounts.auth import JWTAuthentication
from accounts.models import User
from backend.api.errors import PROBLEM_CONTENT_TYPE, problem
from recovery.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
IDEMPOTENCY_TTL = timedelta(
    days=7
)  # phones stay offline for days; 24 h (the draft's example) is too short
IN_FLIGHT_TIMEOUT = timedelta(
    seconds=60
)  # a request still "in flight" after this died: take it over
MAX_KEY_LENGTH = 255
NOT_STORED_STATUSES = frozenset({409, 429})


def _problem(status: int, code: str, detail: str, **headers: str) -> JsonResponse:
    response = JsonResponse(
        problem(status_code=status, code=code, detail=detail),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )
    for name, value in headers.items():
        response[name] = value
    return response


def _authenticated_user(request: HttpRequest) -> User | None:
    try:
        result = JWTAuthentication().authenticate(Request(request))
    except Exception:  # invalid token: the view answers 401 itself
        return None
    user = result[0] if result else None
    return user if isinstance(user, User) else None


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.get_full_path()}\n".encode())
    digest.update(request.body)
    return digest.hexdigest()


def _claim(user: User, key: str, fingerprint: str) -> tuple[IdempotencyRecord, bool]:
    """Insert the (user, key) row; returns (row, True) if this request owns it now."""
    now = timezone.now()
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                user=user, key=key, fingerprint=fingerprint, expires_at=now + IDEMPOTENCY_TTL
            )
        return record, True
    except IntegrityError:
        record = IdempotencyRecord.objects.get(user=user, key=key)
    takeover = IdempotencyRecord.objects.filter(pk=record.pk, created_at=record.created_at)
    expired = record.expires_at <= now
    abandoned = (
        record.state == IdempotencyRecord.State.IN_FLIGHT
        and record.created_at <= now - IN_FLIGHT_TIMEOUT
    )
    if expired or abandoned:
        # Conditional UPDATE: of several requests taking over at once, exactly one wins.
        won = takeover.update(
            fingerprint=fingerprint,
            state=IdempotencyRecord.State.IN_FLIGHT,
            response_status=None,
            response_body=None,
            created_at=now,
            expires_at=now + IDEMPOTENCY_TTL,
        )
        if won:
            record.refresh_from_db()
            return record, True
        record.refresh_from_db()
    return record, False


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(
        bytes(record.response_body or b""),
        status=record.response_status or 200,
        content_type=record.response_content_type or "application/json",
    )
    response[REPLAY_HEADER] = "true"
    return response


class IdempotencyKeyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None:
            return self.get_response(request)
        if not key or len(key) > MAX_KEY_LENGTH:
            return _problem(
                400,
                "idempotency_key_invalid",
                f"{HEADER} must be 1 to {MAX_KEY_LENGTH} characters.",
            )
        user = _authenticated_user(request)
        if user is None:
            return self.get_response(request)
        fingerprint = _fingerprint(request)
        record, owner = _claim(user, key, fingerprint)
        if not owner:
            if record.fingerprint != fingerprint:
                return _problem(
                    422,
                    "idempotency_key_reused",
                    f"This {HEADER} was used with a different request.",
                )
            if record.state == IdempotencyRecord.State.IN_FLIGHT:
                return _problem(
                    409,
                    "request_in_progress",
                    f"A request with this {HEADER} is still being processed; retry shortly.",
                    **{"Retry-After": "1"},
                )
            return _replay(record)
        response = self.get_response(request)
        if response.status_code >= 500 or response.status_code in NOT_STORED_STATUSES:
            record.delete()
            return response
        # An UPDATE, not save(): the request may have deleted the row (an erasure deletes the
        # account's replays), and a completed request must not turn into a 500 afterwards.
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            state=IdempotencyRecord.State.DONE,
            response_status=response.status_code,
            response_content_type=response.get("Content-Type", ""),
            response_body=response.content,
        )
        return response
