from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework.routers import SimpleRouter

from accounts.access import Access
from accounts.models import User
from backend.api.concurrency import IfMatch
from backend.api.pagination import ordered_by
from recovery.models import Injury, InjuryStatus
from recovery.selectors.injuries import injury_list_visible_to
from recovery.serializers.injuries import InjuryCreateSerializer, InjurySerializer
from recovery.services import injuries as services
from recovery.views.common import (
    CLIENT_ID_RULES,
    RECORD_FILTERS,
    EditableRecordViewSet,
    choice_filter,
    choice_param,
)

RECORD_EXAMPLE = OpenApiExample(
    "hamstring_strain",
    request_only=True,
    value={
        "athlete": "3f6c1d2e-8b9a-4c7d-9e0f-1a2b3c4d5e6f",
        "muscle_group": "hamstrings",
        "side": "left",
        "onset_date": "2025-03-12",
        "status": "active",
        "notes": "Grade 1 strain in sprint drill",
    },
)


@extend_schema(tags=["injuries"])
@extend_schema_view(
    list=extend_schema(
        operation_id="injuries_list",
        summary="Injuries the caller may see, most recent onset first",
        parameters=[
            *RECORD_FILTERS,
            choice_filter("status", InjuryStatus.values, "Only injuries with this status."),
        ],
    ),
    create=extend_schema(
        operation_id="injuries_create",
        summary="Record an injury (a therapist of the athlete's team)",
        description="The date range filter and ordering use `onset_date`. Athletes, coaches and "
        "admins read only (403). " + CLIENT_ID_RULES,
        request=InjuryCreateSerializer,
        responses={201: InjurySerializer, 200: InjurySerializer},
        examples=[RECORD_EXAMPLE],
    ),
    retrieve=extend_schema(operation_id="injuries_retrieve", summary="One injury"),
    update=extend_schema(
        operation_id="injuries_update", summary="Replace an injury's editable fields"
    ),
    partial_update=extend_schema(
        operation_id="injuries_partial_update",
        summary="Change some of an injury's fields, e.g. its status",
    ),
    destroy=extend_schema(operation_id="injuries_delete", summary="Delete an injury"),
)
class InjuryViewSet(EditableRecordViewSet):
    model = Injury
    serializer_class = InjurySerializer
    create_serializer_class = InjuryCreateSerializer
    pagination_class = ordered_by("-onset_date", "-created_at", "-id")
    date_field = "onset_date"

    def scoped_queryset(self, user: User) -> Any:
        status = choice_param(self.request, "status", InjuryStatus.values)
        return injury_list_visible_to(user=user, status=status)

    def create_record(self, access: Access, data: dict[str, Any]) -> Any:
        return services.injury_record(access=access, **data)

    def update_record(
        self, access: Access, record: Any, data: dict[str, Any], if_match: IfMatch
    ) -> Any:
        return services.injury_update(access=access, injury=record, if_match=if_match, **data)

    def delete_record(self, access: Access, record: Any, if_match: IfMatch) -> None:
        services.injury_delete(access=access, injury=record, if_match=if_match)


router = SimpleRouter()
router.register("injuries", InjuryViewSet, basename="injury")
urlpatterns = router.urls
