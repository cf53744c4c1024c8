"""Plumbing shared by the viewsets of athletes' records: the list filters every one of them takes
(`athlete`, `team`, a date range) and creating, updating and deleting through the resource's
services, with ETag / If-Match (backend/api/concurrency.py). A viewset names its services in three
one-line hooks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Model, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from accounts.access import Access, access_for
from accounts.models import Membership, Role
from backend.api.concurrency import ConditionalRecordMixin, IfMatch
from backend.api.params import date_range_params, uuid_param
from backend.api.serializers import represent, validate_data
from backend.api.views import ScopedQuerysetMixin

MAX_RANGE_DAYS = 366

CLIENT_ID_RULES = (
    "The client may choose the record's `id` (a UUID, for offline-first writes). Sending the same "
    "record again (same `id`, same content) returns the stored one with 200 and creates nothing; "
    "the same `id` with different content is a 409 `id_conflict` with the stored record under "
    "`current`; an `id` already used by a record of another athlete is a 409 `id_conflict` that "
    "says nothing about that record."
)

RECORD_FILTERS = [
    OpenApiParameter("athlete", OpenApiTypes.UUID, description="Only this athlete's records."),
    OpenApiParameter(
        "team", OpenApiTypes.UUID, description="Only records of this team's active athletes."
    ),
    OpenApiParameter(
        "date_from", OpenApiTypes.DATE, description="First local date, inclusive (YYYY-MM-DD)."
    ),
    OpenApiParameter(
        "date_to",
        OpenApiTypes.DATE,
        description=f"Last local date, inclusive; not before date_from, and the range spans at "
        f"most {MAX_RANGE_DAYS} days.",
    ),
]


def choice_filter(name: str, values: Sequence[str], description: str) -> OpenApiParameter:
    return OpenApiParameter(name, str, enum=list(values), description=description)


def choice_param(request: Request, name: str, values: Sequence[str]) -> str | None:
    value = request.query_params.get(name)
    if not value:
        return None
    if value not in values:
        raise ValidationError({name: [f"Must be one of: {', '.join(values)}."]}, code="invalid")
    return value


class RecordFilter(BaseFilterBackend):
    """Applies RECORD_FILTERS; the view names the record's athlete (`athlete_path`) and its
    local date (`date_field`)."""

    def filter_queryset(self, request: Request, queryset: QuerySet[Any, Any], view: Any) -> Any:
        athlete_path: str = view.athlete_path
        filters: dict[str, Any] = {}
        athlete = uuid_param(request, "athlete")
        if athlete:
            filters[athlete_path] = athlete
        team = uuid_param(request, "team")
        if team:
            filters[f"{athlete_path}__in"] = Membership.objects.filter(
                team_id=team, role=Role.ATHLETE, is_active=True
            ).values("user_id")
        first, last = date_range_params(request, max_days=MAX_RANGE_DAYS)
        if first:
            filters[f"{view.date_field}__gte"] = first
        if last:
            filters[f"{view.date_field}__lte"] = last
        return queryset.filter(**filters)


class AthleteRecordViewSet(
    ConditionalRecordMixin,
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """List, retrieve, create and delete an athlete's records. Visibility is the selector's
    (`scoped_queryset`: 404 outside it); the services decide what a caller who sees the record
    may do (403), then whether If-Match holds (412)."""

    create_serializer_class: type[BaseSerializer[Any]]
    filter_backends = [RecordFilter]
    athlete_path = "athlete"
    date_field = "date"
    if_match_actions = frozenset({"destroy"})

    def create_record(self, access: Access, data: dict[str, Any]) -> tuple[Model, bool]:
        raise NotImplementedError

    def delete_record(self, access: Access, record: Any, if_match: IfMatch) -> None:
        raise NotImplementedError

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        context = self.get_serializer_context()
        data = validate_data(self.create_serializer_class, request.data, context=context)
        record, created = self.create_record(access_for(request), data)
        return Response(
            represent(self.get_serializer_class(), record, context=context),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def perform_destroy(self, instance: Any) -> None:
        self.delete_record(access_for(self.request), instance, self.if_match())


class EditableRecordViewSet(mixins.UpdateModelMixin, AthleteRecordViewSet):
    """Adds PUT and PATCH, validated by `serializer_class` and saved by `update_record`."""

    if_match_actions = frozenset({"update", "partial_update", "destroy"})

    def update_record(
        self, access: Access, record: Any, data: dict[str, Any], if_match: IfMatch
    ) -> Model:
        raise NotImplementedError

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = self.update_record(
            access_for(self.request),
            serializer.instance,
            serializer.validated_data,
            self.if_match(),
        )
