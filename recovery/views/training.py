from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework.routers import SimpleRouter

from accounts.access import Access
from accounts.models import User
from backend.api.concurrency import IfMatch
from backend.api.pagination import ordered_by
from recovery.models import SessionType, TrainingSession
from recovery.selectors.training import training_session_list_visible_to
from recovery.serializers.training import (
    TrainingSessionCreateSerializer,
    TrainingSessionSerializer,
)
from recovery.services import training as services
from recovery.views.common import (
    CLIENT_ID_RULES,
    RECORD_FILTERS,
    EditableRecordViewSet,
    choice_filter,
    choice_param,
)

LOG_EXAMPLE = OpenApiExample(
    "practice",
    request_only=True,
    value={
        "id": "0b8f2a46-5f7e-4c44-9d0e-3c1f6f1a2b7d",
        "date": "2025-03-14",
        "started_at": "2025-03-14T17:30:00+01:00",
        "session_type": "practice",
        "duration_min": 90,
        "rpe": 6,
        "distance_km": 7.4,
        "notes": "Small-sided games",
    },
)


@extend_schema(tags=["training"])
@extend_schema_view(
    list=extend_schema(
        operation_id="training_sessions_list",
        summary="Training sessions the caller may see, newest day first",
        parameters=[
            *RECORD_FILTERS,
            choice_filter("session_type", SessionType.values, "Only sessions of this type."),
        ],
    ),
    create=extend_schema(
        operation_id="training_sessions_create",
        summary="Log a training session (the athlete, or a therapist of their team)",
        description="`load_au` is computed: RPE x minutes. Coaches and admins read only (403). "
        + CLIENT_ID_RULES,
        request=TrainingSessionCreateSerializer,
        responses={201: TrainingSessionSerializer, 200: TrainingSessionSerializer},
        examples=[LOG_EXAMPLE],
    ),
    retrieve=extend_schema(operation_id="training_sessions_retrieve", summary="One session"),
    update=extend_schema(
        operation_id="training_sessions_update", summary="Replace a session's editable fields"
    ),
    partial_update=extend_schema(
        operation_id="training_sessions_partial_update", summary="Change some of a session's fields"
    ),
    destroy=extend_schema(operation_id="training_sessions_delete", summary="Delete a session"),
)
class TrainingSessionViewSet(EditableRecordViewSet):
    model = TrainingSession
    serializer_class = TrainingSessionSerializer
    create_serializer_class = TrainingSessionCreateSerializer
    pagination_class = ordered_by("-date", "-created_at", "-id")

    def scoped_queryset(self, user: User) -> Any:
        session_type = choice_param(self.request, "session_type", SessionType.values)
        return training_session_list_visible_to(user=user, session_type=session_type)

    def create_record(self, access: Access, data: dict[str, Any]) -> Any:
        return services.training_session_log(access=access, **data)

    def update_record(
        self, access: Access, record: Any, data: dict[str, Any], if_match: IfMatch
    ) -> Any:
        return services.training_session_update(
            access=access, session=record, if_match=if_match, **data
        )

    def delete_record(self, access: Access, record: Any, if_match: IfMatch) -> None:
        services.training_session_delete(access=access, session=record, if_match=if_match)


router = SimpleRouter()
router.register("training-sessions", TrainingSessionViewSet, basename="training-session")
urlpatterns = router.urls
