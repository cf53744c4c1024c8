"""Offline sync: `GET /api/v1/sync/` pulls what changed since a cursor, `POST /api/v1/sync/` pushes a
batch of records created offline. The protocol is in docs/sync.md; the work in recovery/sync/."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import access_for
from backend.api.errors import PayloadTooLarge, problem
from backend.api.schema import ProblemSerializer
from backend.api.views import request_user
from recovery.serializers.sync import (
    SyncPullResponseSerializer,
    SyncPushRequestSerializer,
    SyncPushResponseSerializer,
)
from recovery.sync.cursor import CursorInvalid, ResetRequired, retention_days
from recovery.sync.protocol import (
    DEFAULT_PULL_LIMIT,
    MAX_PULL_LIMIT,
    MAX_PUSH_RECORDS,
    PushResult,
)
from recovery.sync.pull import sync_pull
from recovery.sync.push import sync_push


class BatchTooLarge(PayloadTooLarge):
    default_code = "sync_batch_too_large"
    default_detail = f"A sync push takes at most {MAX_PUSH_RECORDS} records; split the batch."


def _problems(description: str, *errors: tuple[int, str, str]) -> OpenApiResponse:
    return OpenApiResponse(
        ProblemSerializer,
        description=description,
        examples=[
            OpenApiExample(
                code,
                value=problem(status_code=status_code, code=code, detail=detail),
                response_only=True,
                status_codes=[str(status_code)],
            )
            for status_code, code, detail in errors
        ],
    )


LIMIT_INVALID = (
    400,
    "validation_error",
    f"The request has invalid fields; see errors (limit: 1 to {MAX_PULL_LIMIT}).",
)
PULL_400 = _problems(
    "A cursor this server did not issue, or one from its future (a restored database): drop "
    "it and pull without `since` (`sync_cursor_invalid`); or a bad `limit` (`validation_error`).",
    (400, CursorInvalid.default_code, str(CursorInvalid.default_detail)),
    LIMIT_INVALID,
)
PULL_410 = _problems(
    "The cursor is older than the change log keeps tombstones: discard the local copy and "
    "resync from scratch (pull without `since`).",
    (410, ResetRequired.default_code, str(ResetRequired.default_detail)),
)
PUSH_400 = _problems(
    "The body is not `{records: [...]}`. (Problems with single records are per-record results "
    "in a 200, never a 400.)",
    (400, "validation_error", "The request has invalid fields; see errors."),
)
PUSH_413 = _problems(
    "Too many records (`sync_batch_too_large`), or a body larger than the server accepts "
    "(`payload_too_large`): split the batch.",
    (413, BatchTooLarge.default_code, str(BatchTooLarge.default_detail)),
    (413, PayloadTooLarge.default_code, str(PayloadTooLarge.default_detail)),
)

PULL_EXAMPLE = OpenApiExample(
    "changes",
    response_only=True,
    value={
        "changes": [
            {
                "kind": "training_session",
                "op": "upsert",
                "id": "0b8f2a46-5f7e-4c44-9d0e-3c1f6f1a2b7d",
                "changed_at": "2025-03-14T18:02:11.204518Z",
                "data": {
                    "id": "0b8f2a46-5f7e-4c44-9d0e-3c1f6f1a2b7d",
                    "athlete": "5d0c8a1e-2b7f-4f3a-8e61-9c4b2a7d1e05",
                    "date": "2025-03-14",
                    "started_at": "2025-03-14T16:30:00Z",
                    "session_type": "practice",
                    "duration_min": 90,
                    "rpe": 6,
                    "load_au": 540,
                    "distance_km": 7.4,
                    "avg_heart_rate": None,
                    "notes": "Small-sided games",
                    "version": 1,
                    "created_at": "2025-03-14T18:02:11.198020Z",
                    "updated_at": "2025-03-14T18:02:11.198020Z",
                    "created_by": "5d0c8a1e-2b7f-4f3a-8e61-9c4b2a7d1e05",
                },
            },
            {
                "kind": "soreness_report",
                "op": "delete",
                "id": "6d1c3f9e-2a47-4b8e-a0f3-91c5d2e7b4a8",
                "changed_at": "2025-03-14T18:05:40.001200Z",
            },
            {
                "kind": "athlete",
                "op": "remove",
                "id": "9a7e4c21-0d3b-4f6a-b2c8-7e5d1f3a9b40",
                "changed_at": "2025-03-14T18:07:02.530000Z",
            },
        ],
        "next_cursor": "djE6ZDo5MTIzNDo5MTIzNDowOjE3NDE5NzU2MjI",
        "has_more": False,
    },
)
PUSH_REQUEST_EXAMPLE = OpenApiExample(
    "offline_batch",
    request_only=True,
    value={
        "records": [
            {
                "kind": "training_session",
                "data": {
                    "id": "0b8f2a46-5f7e-4c44-9d0e-3c1f6f1a2b7d",
                    "date": "2025-03-14",
                    "session_type": "practice",
                    "duration_min": 90,
                    "rpe": 6,
                },
            },
            {
                "kind": "soreness_report",
                "data": {
                    "id": "6d1c3f9e-2a47-4b8e-a0f3-91c5d2e7b4a8",
                    "reported_at": "2025-03-15T08:05:00+01:00",
                    "date": "2025-03-15",
                    "entries": [
                        {
                            "muscle_group": "hamstrings",
                            "side": "left",
                            "severity": 6,
                            "kind": "doms",
                        }
                    ],
                },
            },
            {
                "kind": "training_session",
                "data": {
                    "id": "2c4e6a80-1b3d-4f5a-9c7e-0d2f4b6a8c1e",
                    "date": "2025-03-15",
                    "session_type": "match",
                    "duration_min": 95,
                    "rpe": 11,
                },
            },
        ]
    },
)
PUSH_RESPONSE_EXAMPLE = OpenApiExample(
    "per_record_results",
    response_only=True,
    value={
        "results": [
            {
                "index": 0,
                "kind": "training_session",
                "id": "0b8f2a46-5f7e-4c44-9d0e-3c1f6f1a2b7d",
                "result": "created",
            },
            {
                "index": 1,
                "kind": "soreness_report",
                "id": "6d1c3f9e-2a47-4b8e-a0f3-91c5d2e7b4a8",
                "result": "unchanged",
            },
            {
                "index": 2,
                "kind": "training_session",
                "id": "2c4e6a80-1b3d-4f5a-9c7e-0d2f4b6a8c1e",
                "result": "invalid",
                "code": "validation_error",
                "detail": "The record has invalid fields; see errors.",
                "errors": [
                    {
                        "field": "data.rpe",
                        "message": "Ensure this value is less than or equal to 10.",
                        "code": "max_value",
                    }
                ],
            },
        ],
        "counts": {"created": 1, "unchanged": 1, "conflict": 0, "invalid": 1, "forbidden": 0},
    },
)

PULL_DESCRIPTION = f"""Everything that changed, for the caller, since `since` (a cursor from the
previous pull): creates and updates as `upsert` with the record as its endpoint renders it now,
deletions as tombstones (`delete`: only kind, id and time), and `remove` for each athlete the caller
no longer sees (their team membership, or the caller's, ended). Without `since`: a snapshot of
everything the caller sees, paged the same way, ending with the cursor for the next delta.

Apply a page's changes in order, store `next_cursor`, and pull again while `has_more`. The cursor is
a snapshot horizon: it never passes a change still being written, so nothing is missed (see
docs/sync.md). Cursors older than {retention_days()} days (the tombstone retention) get 410
`sync_reset_required`: resync from scratch."""

PUSH_DESCRIPTION = f"""Up to {MAX_PUSH_RECORDS} records created offline, of mixed kinds, each
with its client-generated `id`. The answer is a result per record, **not all or nothing**: a phone
that logged 300 records offline must not lose 299 good ones to one bad one, and each record stands
alone (its own id, athlete and rules). Invalid records come back with field errors for the user to
fix; the valid new ones are all stored in one transaction. Sending a batch again is safe: stored
ids come back `unchanged` (or `conflict` when the id holds other content)."""


class SyncView(APIView):
    @extend_schema(
        operation_id="sync_pull",
        tags=["sync"],
        summary="Changes since a cursor (delta sync), or a full snapshot without one",
        description=PULL_DESCRIPTION,
        parameters=[
            OpenApiParameter(
                "since",
                OpenApiTypes.STR,
                description="`next_cursor` of the previous pull; omit for a full snapshot.",
            ),
            OpenApiParameter(
                "limit",
                OpenApiTypes.INT,
                description=f"Change-log rows per page, 1-{MAX_PULL_LIMIT} (default "
                f"{DEFAULT_PULL_LIMIT}); records per page in a snapshot.",
            ),
        ],
        responses={
            200: SyncPullResponseSerializer,
            400: PULL_400,
            410: PULL_410,
        },
        examples=[PULL_EXAMPLE],
    )
    def get(self, request: Request) -> Response:
        page = sync_pull(
            user=request_user(request),
            since=request.query_params.get("since") or None,
            limit=_limit(request),
            context={"request": request},
        )
        return Response(page.as_dict())

    @extend_schema(
        operation_id="sync_push",
        tags=["sync"],
        summary="Push a batch of records created offline; a result per record",
        description=PUSH_DESCRIPTION,
        request=SyncPushRequestSerializer,
        responses={
            200: SyncPushResponseSerializer,
            400: PUSH_400,
            413: PUSH_413,
        },
        examples=[PUSH_REQUEST_EXAMPLE, PUSH_RESPONSE_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        records = _records(request.data)
        outcomes = sync_push(
            access=access_for(request), records=records, context={"request": request}
        )
        counts = Counter(outcome.result for outcome in outcomes)
        return Response(
            {
                "results": [outcome.as_dict() for outcome in outcomes],
                "counts": {result.value: counts[result] for result in PushResult},
            }
        )


def _limit(request: Request) -> int:
    value = request.query_params.get("limit")
    if value is None or value == "":
        return DEFAULT_PULL_LIMIT
    if not value.isdigit() or not 1 <= int(value) <= MAX_PULL_LIMIT:
        raise ValidationError(
            {"limit": [f"Must be a whole number from 1 to {MAX_PULL_LIMIT}."]}, code="invalid"
        )
    return int(value)


def _records(body: Any) -> list[Any]:
    """The batch's records: the body must be `{records: [...]}` with at most MAX_PUSH_RECORDS."""
    if not isinstance(body, dict):
        raise ValidationError({"": ["Expected an object: {records: [...]}."]}, code="invalid")
    unknown = sorted(set(body) - {"records"})
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in unknown}, code="unknown_field")
    records = body.get("records")
    if not isinstance(records, list):
        raise ValidationError({"records": ["Expected a list of records."]}, code="not_a_list")
    if len(records) > MAX_PUSH_RECORDS:
        raise BatchTooLarge()
    return records


urlpatterns = [path("sync/", SyncView.as_view(), name="sync")]
