"""Optimistic concurrency for versioned records (DESIGN.md section 5), in one place.

- Every response that returns one record carries a strong `ETag` made of its `version`: `"4"`.
  A client holding a row from a list (no per-row header) builds the same tag from `version`.
- Writes honour `If-Match` (RFC 9110 section 13.1.1, strong comparison: weak tags never match).
  A stale one is 412 `precondition_failed` with the record as it is now under `current`; `*`
  matches any existing version. Where a view requires a precondition (massage sessions, which
  several staff edit) a write without one is 428 `precondition_required` (RFC 6585). Elsewhere a
  write without `If-Match` applies to the current version: last write wins.
- A read with `If-None-Match` naming the current tag is 304 without a body.

The views parse the header (`ConditionalRecordMixin.if_match`) and the services enforce it
(`recovery.services.common`): after their permission check (a 403 wins over a 428), and with the
version check and the write in one conditional `UPDATE ... WHERE id = %s AND version = %s`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from django.db.models import Model
from django.utils.http import parse_etags
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from backend.api.errors import Conflict, DomainError, problem
from backend.api.schema import AutoSchema, ProblemSerializer

STRONG_VERSION_TAG = re.compile(r'"(\d{1,10})"')


class Versioned(Protocol):
    pk: Any
    version: int


def etag(version: int) -> str:
    """The strong entity tag of a record at `version`."""
    return f'"{version}"'


class RecordProblem(DomainError):
    """A write refused because of the stored record; the view adds it, as the caller may see
    it, under `current` (nothing when `record` is None or the caller may not see it)."""

    def __init__(self, detail: str | None = None, *, record: Model | None = None) -> None:
        super().__init__(detail)
        self.record = record


class PreconditionFailed(RecordProblem):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "precondition_failed"
    default_detail = (
        "The record changed since the version named in If-Match. `current` holds it as it is "
        "now (its ETag is in the ETag header): merge, then send the write again with that ETag."
    )


class PreconditionRequired(DomainError):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_code = "precondition_required"
    default_detail = (
        "Several people edit this record: send If-Match with the ETag of the version your change "
        'is based on (the ETag header of its last response, or `"<version>"`).'
    )


class IdConflict(RecordProblem, Conflict):
    default_code = "id_conflict"
    default_detail = "This id is already used by another record; generate a new UUID."


@dataclass(frozen=True)
class IfMatch:
    """What a request's `If-Match` asks of the record it writes.

    `sent`: the header was there; `versions`: the versions it names (None for `*`);
    `required`: a write without it is refused (428)."""

    sent: bool = False
    versions: frozenset[int] | None = None
    required: bool = False

    @classmethod
    def parse(cls, header: str | None, *, required: bool = False) -> IfMatch:
        if header is None or not header.strip():  # an empty header names no version: absent
            return cls(required=required)
        tags = parse_etags(header)
        if tags == ["*"]:
            return cls(sent=True, versions=None, required=required)
        # Only strong tags count (weak ones never match, RFC 9110 8.8.3.2); anything malformed
        # matches nothing, so the write is refused with 412 and the current tag.
        versions = frozenset(
            int(match[1]) for tag in tags if (match := STRONG_VERSION_TAG.fullmatch(tag))
        )
        return cls(sent=True, versions=versions, required=required)

    def matches(self, version: int) -> bool:
        return self.versions is None or version in self.versions

    def check(self, record: Versioned) -> None:
        """428 when required and missing; 412 (with the record) when it names another version."""
        if not self.sent:
            if self.required:
                raise PreconditionRequired()
            return
        if not self.matches(record.version):
            raise PreconditionFailed(record=record if isinstance(record, Model) else None)


NO_PRECONDITION = IfMatch()


# --- views --------------------------------------------------------------------------------------


ETAG_HEADER = OpenApiParameter(
    "ETag",
    str,
    OpenApiParameter.HEADER,
    response=[200, 201, 304, 412],
    description='Strong ETag of the record\'s version, `"<version>"` (412: of the current '
    "record). Send it back in If-Match to write only that version, or in If-None-Match to get "
    "304 while it is current.",
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    str,
    OpenApiParameter.HEADER,
    description="The ETag of the copy the client holds: 304 without a body while it is current.",
)
_IF_MATCH_FORMAT = (
    "The ETag of the version the change is based on: the ETag header of its last response, or "
    '`"<version>"` from the record (a list row carries `version`). If the record has changed '
    "since, the write is refused with 412 and the current record under `current`. `*` matches "
    "any existing version."
)
IF_MATCH_OPTIONAL = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=f"Optional. {_IF_MATCH_FORMAT} Without If-Match the write applies to the "
    "current version, whatever it is: the last write wins.",
)
IF_MATCH_REQUIRED = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description=f"Required: several staff edit massage sessions, so every edit names the version "
    f"it is based on (without it: 428). {_IF_MATCH_FORMAT}",
)
NOT_MODIFIED = OpenApiResponse(description="Not modified: the ETag in If-None-Match is current.")
EXAMPLE_ID = "0b8f2a46-5f7e-4c44-9d0e-3c1f6f1a2b7d"


def _example(
    code: str, status_code: int, detail: str, *, name: str | None = None, **extra: Any
) -> OpenApiExample:
    return OpenApiExample(
        name or code,
        value=problem(status_code=status_code, code=code, detail=detail, **extra),
        response_only=True,
        status_codes=[str(status_code)],
    )


PRECONDITION_REQUIRED = OpenApiResponse(
    ProblemSerializer,
    description="Precondition required: send If-Match (`precondition_required`).",
    examples=[_example("precondition_required", 428, str(PreconditionRequired.default_detail))],
)


_PROBLEMS: dict[type[Any], type[Any]] = {}


def problem_with_current(record_serializer: type[serializers.BaseSerializer[Any]]) -> type[Any]:
    """The problem body of a refused write, typed with the resource's record as `current` (one
    class per resource, so that the schema has one component for it)."""
    if record_serializer in _PROBLEMS:
        return _PROBLEMS[record_serializer]
    name = record_serializer.__name__.removesuffix("Serializer")
    _PROBLEMS[record_serializer] = type(
        f"{name}ProblemSerializer",
        (ProblemSerializer,),
        {
            "__module__": __name__,
            "__doc__": f"A problem about a stored {name} record: RFC 9457 problem details, "
            "with the record as it is now under `current` when the caller may see it.",
            # Not read-only, only so that the schema does not list it as required (read-only
            # fields are): this serializer documents responses and never reads a body.
            "current": record_serializer(
                required=False,
                help_text="The stored record as the caller may see it: on 412 "
                "`precondition_failed` and on 409 `id_conflict` for the caller's own id; absent "
                "when the id belongs to a record of another athlete.",
            ),
        },
    )
    return _PROBLEMS[record_serializer]


def _precondition_failed(serializer: type[Any]) -> OpenApiResponse:
    return OpenApiResponse(
        problem_with_current(serializer),
        description="Precondition failed: If-Match names an older version "
        "(`precondition_failed`); `current` holds the record as it is now.",
        examples=[
            _example(
                "precondition_failed",
                412,
                str(PreconditionFailed.default_detail),
                current={"id": EXAMPLE_ID, "version": 5, "...": "the rest of the record"},
            )
        ],
    )


def _create_conflict(serializer: type[Any]) -> OpenApiResponse:
    return OpenApiResponse(
        problem_with_current(serializer),
        description="Conflict: the client `id` is taken (`id_conflict`: by a record of this "
        "athlete with different content, shown under `current`, or by a record of another "
        "athlete, not shown), or a request with this Idempotency-Key is still being processed "
        "(`request_in_progress`).",
        examples=[
            _example(
                "id_conflict",
                409,
                "A record with this id already exists with different content; `current` holds "
                "it as stored.",
                current={"id": EXAMPLE_ID, "version": 1, "...": "the rest of the record"},
            ),
            _example(
                "id_conflict", 409, str(IdConflict.default_detail), name="id_of_another_athlete"
            ),
            _example(
                "request_in_progress",
                409,
                "A request with this Idempotency-Key is still being processed; retry shortly.",
            ),
        ],
    )


class ConditionalRecordSchema(AutoSchema):
    """Documents what ConditionalRecordMixin does on each action of the view."""

    def _action(self) -> str | None:
        return getattr(self.view, "action", None)

    def _record_serializer(self) -> type[Any]:
        return self.view.serializer_class  # type: ignore[attr-defined]

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        view, action = self.view, self._action()
        if action in getattr(view, "if_match_actions", ()):
            required = action in getattr(view, "if_match_required", ())
            parameters.append(IF_MATCH_REQUIRED if required else IF_MATCH_OPTIONAL)
        if action == "retrieve":
            parameters.append(IF_NONE_MATCH)
        if action in getattr(view, "etag_actions", ()) or action in getattr(
            view, "if_match_actions", ()
        ):
            parameters.append(ETAG_HEADER)
        return parameters

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        view, action = self.view, self._action()
        added: dict[str, OpenApiResponse] = {}
        if action == "retrieve":
            added["304"] = NOT_MODIFIED
        if action == "create":
            responses.pop("409", None)  # request_in_progress, plus id_conflict
            added["409"] = _create_conflict(self._record_serializer())
        if action in getattr(view, "if_match_actions", ()):
            added["412"] = _precondition_failed(self._record_serializer())
            if action in getattr(view, "if_match_required", ()):
                added["428"] = PRECONDITION_REQUIRED
        for code, response in added.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return dict(sorted(responses.items()))


def _version_in(data: Any, *, key: str | None = None) -> int | None:
    if key is not None:
        data = data.get(key) if isinstance(data, Mapping) else None
    version = data.get("version") if isinstance(data, Mapping) else None
    return version if isinstance(version, int) else None


def _client_holds(request: Request, tag: str) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 13.1.2)."""
    held = parse_etags(request.headers.get("If-None-Match", ""))
    return "*" in held or tag in (item.removeprefix("W/") for item in held)


class ConditionalRecordMixin(GenericAPIView):
    """ETag on every response that returns one record, If-Match on writes, If-None-Match on
    reads, and the current record under `current` when a write is refused because of it.

    A view names its write actions that take If-Match (`if_match_actions`) and those that
    require it (`if_match_required`); its handlers pass `self.if_match()` to the service."""

    schema = ConditionalRecordSchema()
    if_match_actions: frozenset[str] = frozenset()
    if_match_required: frozenset[str] = frozenset()

    @property
    def etag_actions(self) -> frozenset[str]:
        """Actions whose response is one record (deleting returns none)."""
        return frozenset({"retrieve", "create"} | self.if_match_actions) - {"destroy"}

    def if_match(self) -> IfMatch:
        """The request's If-Match, for the service that writes (it checks it atomically)."""
        return IfMatch.parse(
            self.request.headers.get("If-Match"),
            required=getattr(self, "action", None) in self.if_match_required,
        )

    def current_representation(self, record: Model) -> Any:
        """The record as stored now, shaped as the caller may see it; None if they may not."""
        visible = self.get_queryset().filter(pk=record.pk).first()
        return None if visible is None else self.get_serializer(visible).data

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, RecordProblem) and exc.record is not None and "current" not in exc.extra:
            current = self.current_representation(exc.record)
            if current is not None:
                exc.extra["current"] = current
        return super().handle_exception(exc)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(response, Response):
            response = self._conditional(request, response)
        return super().finalize_response(request, response, *args, **kwargs)

    def _conditional(self, request: Request, response: Response) -> Response:
        if response.status_code == status.HTTP_412_PRECONDITION_FAILED:
            version = _version_in(response.data, key="current")
        elif (
            status.is_success(response.status_code)
            and getattr(self, "action", None) in self.etag_actions
        ):
            version = _version_in(response.data)
        else:
            version = None
        if version is None:
            return response
        tag = etag(version)
        if (
            request.method in ("GET", "HEAD")
            and response.status_code == status.HTTP_200_OK
            and _client_holds(request, tag)
        ):
            response = Response(status=status.HTTP_304_NOT_MODIFIED)
        response["ETag"] = tag
        return response
