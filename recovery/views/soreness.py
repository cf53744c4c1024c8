from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from accounts.access import Access, access_for
from accounts.models import User
from backend.api.concurrency import IfMatch
from backend.api.pagination import ordered_by
from backend.api.views import ScopedQuerysetMixin
from recovery.models import SorenessEntry, SorenessKind, SorenessReport
from recovery.selectors.soreness import (
    FlagStatus,
    soreness_flag_list_visible_to,
    soreness_report_list_visible_to,
)
from recovery.serializers.soreness import (
    SorenessFlagSerializer,
    SorenessReportCreateSerializer,
    SorenessReportSerializer,
)
from recovery.services import soreness as services
from recovery.views.common import (
    CLIENT_ID_RULES,
    RECORD_FILTERS,
    AthleteRecordViewSet,
    RecordFilter,
    choice_filter,
    choice_param,
)

SUBMIT_EXAMPLE = OpenApiExample(
    "after_match",
    request_only=True,
    value={
        "id": "6d1c3f9e-2a47-4b8e-a0f3-91c5d2e7b4a8",
        "reported_at": "2025-03-15T08:05:00+01:00",
        "date": "2025-03-15",
        "sleep_quality": 4,
        "fatigue": 2,
        "stress": 4,
        "mood": 4,
        "general_soreness": 2,
        "entries": [
            {"muscle_group": "hamstrings", "side": "left", "severity": 6, "kind": "doms"},
            {"muscle_group": "rectus_abdominis", "severity": 3, "kind": "tightness"},
            {"muscle_group": "adductors", "side": "right", "severity": 7, "kind": "pain"},
        ],
    },
)


@extend_schema(tags=["soreness"])
@extend_schema_view(
    list=extend_schema(
        operation_id="soreness_reports_list",
        summary="Soreness reports the caller may see, newest first",
        parameters=[
            *RECORD_FILTERS,
            choice_filter("kind", SorenessKind.values, "Only reports with an entry of this kind."),
        ],
    ),
    create=extend_schema(
        operation_id="soreness_reports_create",
        summary="Submit a soreness report with its body-map entries (the athlete)",
        description="Stored all or nothing: one bad entry is a 400 naming `entries.N.<field>` "
        "and nothing is stored. Only the athlete writes their reports (staff: 403). "
        + CLIENT_ID_RULES
        + " The entries are compared in any order.",
        request=SorenessReportCreateSerializer,
        responses={201: SorenessReportSerializer, 200: SorenessReportSerializer},
        examples=[SUBMIT_EXAMPLE],
    ),
    retrieve=extend_schema(operation_id="soreness_reports_retrieve", summary="One report"),
    destroy=extend_schema(
        operation_id="soreness_reports_delete", summary="Delete a report (the athlete)"
    ),
)
class SorenessReportViewSet(AthleteRecordViewSet):
    model = SorenessReport
    serializer_class = SorenessReportSerializer
    create_serializer_class = SorenessReportCreateSerializer
    pagination_class = ordered_by("-reported_at", "-id")

    def scoped_queryset(self, user: User) -> Any:
        kind = choice_param(self.request, "kind", SorenessKind.values)
        return soreness_report_list_visible_to(user=user, kind=kind)

    def create_record(self, access: Access, data: dict[str, Any]) -> Any:
        return services.soreness_report_submit(access=access, **data)

    def delete_record(self, access: Access, record: Any, if_match: IfMatch) -> None:
        services.soreness_report_delete(access=access, report=record, if_match=if_match)


@extend_schema(tags=["soreness"])
@extend_schema_view(
    list=extend_schema(
        operation_id="soreness_flags_list",
        summary="Flagged soreness entries (pain of 7 or more, or injury), newest first",
        parameters=[
            *RECORD_FILTERS,
            choice_filter("status", list(FlagStatus), "open (default), resolved or all."),
        ],
    ),
)
class SorenessFlagViewSet(ScopedQuerysetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    model = SorenessEntry
    serializer_class = SorenessFlagSerializer
    pagination_class = ordered_by("-reported_at", "-id")
    filter_backends = [RecordFilter]
    athlete_path = "report__athlete"
    date_field = "report__date"

    def scoped_queryset(self, user: User) -> Any:
        # `status` filters the list; resolve reaches every flag (resolving again is a no-op).
        status = FlagStatus.ALL
        if self.action == "list":
            status = FlagStatus(choice_param(self.request, "status", list(FlagStatus)) or "open")
        return soreness_flag_list_visible_to(user=user, status=status)

    @extend_schema(
        operation_id="soreness_flags_resolve",
        summary="Resolve a flag (a therapist of the athlete's team)",
        description="Records who resolved it and when; resolving it again changes nothing. "
        "Coaches, admins and the athlete get 403.",
        request=None,
        responses=SorenessFlagSerializer,
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        entry = services.soreness_flag_resolve(access=access_for(request), entry=self.get_object())
        return Response(SorenessFlagSerializer(entry).data)


router = SimpleRouter()
router.register("soreness-reports", SorenessReportViewSet, basename="soreness-report")
router.register("soreness-flags", SorenessFlagViewSet, basename="soreness-flag")
urlpatterns = router.urls
