"""`Idempotency-Key` on POST (IETF draft "The Idempotency-Key HTTP Header Field").

A phone that lost the answer to a POST sends it again with the same key. The first response is
stored per (user, key) for IDEMPOTENCY_TTL; a repeat with the same request replays it, marked
`Idempotent-Replayed: true`; the same key with a different request gets 422.

One transaction per request: the claim of the key, the request's own writes and the stored
answer commit together, or nothing does. The claim is an `INSERT ... ON CONFLICT DO NOTHING` of
the (user, key) row, before the view runs: the unique constraint lets exactly one of any number
of concurrent requests through. A concurrent duplicate's INSERT waits on the unique index until
the first request's transaction ends: committed, it finds the stored answer and replays it;
rolled back (a server error), it claims the key and runs the request itself. So a repeat is never
a check-then-insert, and an answer is never acknowledged unless the writes behind it committed
(a failed COMMIT, e.g. a lost connection, is a 503 `database_unavailable`).

Responses that must not be replayed are forgotten so the client can retry: server errors (5xx,
rolled back whole), throttling (429) and 409s. A row left "in flight" by an older version of this
middleware (which committed the claim first) still answers 409 `request_in_progress` until it is
IN_FLIGHT_TIMEOUT old, and is then taken over. Unauthenticated requests are left alone.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Field
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from accounts.auth import JWTAuthentication
from accounts.models import User
from backend.api.errors import PROBLEM_CONTENT_TYPE, DatabaseUnavailable, problem
from backend.db import prepared_cursor
from recovery.models import IdempotencyRecord

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
IDEMPOTENCY_TTL = timedelta(
    days=7
)  # phones stay offline for days; 24 h (the draft's example) is too short
IN_FLIGHT_TIMEOUT = timedelta(
    seconds=60
)  # a row committed "in flight" (older versions) after this died: take it over
MAX_KEY_LENGTH = 255
NOT_STORED_STATUSES = frozenset({409, 429})
CLAIM_ATTEMPTS = 3  # a conflicting row can vanish before it is read (expired and purged): again


def _problem(status: int, code: str, detail: str, **headers: str) -> JsonResponse:
    response = JsonResponse(
        problem(status_code=status, code=code, detail=detail),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )
    for name, value in headers.items():
        response[name] = value
    return response


def _database_unavailable() -> JsonResponse:
    return _problem(
        DatabaseUnavailable.status_code,
        DatabaseUnavailable.default_code,
        str(DatabaseUnavailable.default_detail),
        **{"Retry-After": str(DatabaseUnavailable.retry_after)},
    )


def _authenticated_user(request: HttpRequest) -> User | None:
    # The view's authentication reuses this answer (JWTAuthentication keeps it on the request).
    try:
        result = JWTAuthentication().authenticate(request)
    except Exception:  # invalid token: the view answers 401 itself
        return None
    user = result[0] if result else None
    return user if isinstance(user, User) else None


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.get_full_path()}\n".encode())
    digest.update(request.body)
    return digest.hexdigest()


_CLAIM_FIELDS = (
    "user",
    "key",
    "fingerprint",
    "state",
    "response_content_type",
    "created_at",
    "expires_at",
)


def _field(name: str) -> Field[Any, Any]:
    field = IdempotencyRecord._meta.get_field(name)
    assert isinstance(field, Field)
    return field


def _column(name: str) -> str:
    return connection.ops.quote_name(str(_field(name).column))


def _prepared(names: tuple[str, ...], values: tuple[Any, ...]) -> list[Any]:
    return [
        _field(name).get_db_prep_save(value, connection)
        for name, value in zip(names, values, strict=True)
    ]


def _insert_claim(user: User, key: str, fingerprint: str, now: datetime) -> int | None:
    """The id of the (user, key) row inserted now, or None when the key is taken (seen once
    the transaction holding it has ended)."""
    values = (
        user.pk,
        key,
        fingerprint,
        IdempotencyRecord.State.IN_FLIGHT.value,
        "",
        now,
        now + IDEMPOTENCY_TTL,
    )
    table = connection.ops.quote_name(IdempotencyRecord._meta.db_table)
    columns = ", ".join(_column(name) for name in _CLAIM_FIELDS)
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(values))}) "
        f"ON CONFLICT ({_column('user')}, {_column('key')}) DO NOTHING RETURNING {_column('id')}"
    )
    with prepared_cursor() as cursor:
        cursor.execute(sql, _prepared(_CLAIM_FIELDS, values))
        row = cursor.fetchone()
    return None if row is None else int(row[0])


_STORED_FIELDS = ("state", "response_status", "response_content_type", "response_body")


def _store(record_id: int, response: HttpResponse) -> None:
    """The answer, for replays. An UPDATE that may match nothing: the request may have deleted
    the row (an erasure deletes the account's replays)."""
    values = (
        IdempotencyRecord.State.DONE.value,
        response.status_code,
        response.get("Content-Type", ""),
        response.content,
    )
    table = connection.ops.quote_name(IdempotencyRecord._meta.db_table)
    assignments = ", ".join(f"{_column(name)} = %s" for name in _STORED_FIELDS)
    with prepared_cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {assignments} WHERE {_column('id')} = %s",
            [*_prepared(_STORED_FIELDS, values), record_id],
        )


def _claim(user: User, key: str, fingerprint: str) -> tuple[int | None, IdempotencyRecord | None]:
    """Claim the key in the current transaction: (row id, None) if this request owns it now,
    else (None, the row holding the first request's answer)."""
    for _ in range(CLAIM_ATTEMPTS):
        now = timezone.now()
        claimed = _insert_claim(user, key, fingerprint, now)
        if claimed is not None:
            return claimed, None
        record = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if record is None:
            continue  # deleted since the INSERT saw it: claim again
        expired = record.expires_at <= now
        abandoned = (
            record.state == IdempotencyRecord.State.IN_FLIGHT
            and record.created_at <= now - IN_FLIGHT_TIMEOUT
        )
        if not (expired or abandoned):
            return None, record
        # Conditional UPDATE: of several requests taking over at once, exactly one wins.
        won = IdempotencyRecord.objects.filter(pk=record.pk, created_at=record.created_at).update(
            fingerprint=fingerprint,
            state=IdempotencyRecord.State.IN_FLIGHT,
            response_status=None,
            response_content_type="",
            response_body=None,
            created_at=now,
            expires_at=now + IDEMPOTENCY_TTL,
        )
        if won:
            return record.pk, None
        record = IdempotencyRecord.objects.filter(pk=record.pk).first()
        if record is not None:
            return None, record
    raise OperationalError("the Idempotency-Key row kept changing")  # pragma: no cover


def _answer_of(record: IdempotencyRecord, fingerprint: str) -> HttpResponse:
    """What a repeat of the request that owns `record` gets."""
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
        try:
            with transaction.atomic():
                return self._run_once(request, user, key, fingerprint)
        except (OperationalError, InterfaceError) as exc:
            # The claim, the store or the COMMIT failed: nothing of the request was kept.
            logger.warning("Database unavailable around an Idempotency-Key request: %s", exc)
            return _database_unavailable()

    def _run_once(
        self, request: HttpRequest, user: User, key: str, fingerprint: str
    ) -> HttpResponse:
        """Inside the request's transaction: claim the key, run the view, store its answer."""
        record_id, first = _claim(user, key, fingerprint)
        if record_id is None:
            assert first is not None
            return _answer_of(first, fingerprint)
        response = self.get_response(request)
        if transaction.get_rollback():
            # Something failed inside the transaction and was handled: nothing is kept, and a
            # success that could not be stored is not acknowledged.
            return response if response.status_code >= 400 else _database_unavailable()
        if response.status_code >= 500:
            transaction.set_rollback(True)  # nothing of a failed request is kept, the key neither
            return response
        if response.status_code in NOT_STORED_STATUSES:
            IdempotencyRecord.objects.filter(pk=record_id).delete()
            return response
        _store(record_id, response)
        return response
