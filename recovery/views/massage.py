"""Massage / neuromuscular therapy sessions: `/api/v1/massage-sessions/`. Selectors read, services
write; the schema documents each state conflict a write can meet. Several staff edit a session:
its edits require If-Match (428 without it, 412 when stale; backend/api/concurrency.py)."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import TextChoices
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.serializers import Serializer

from accounts.access import access_for
from accounts.models import User
from backend.api.concurrency import ConditionalRecordMixin
from backend.api.errors import Conflict, problem
from backend.api.pagination import ordered_by
from backend.api.params import date_range_params, uuid_param
from backend.api.schema import ProblemSerializer
from backend.api.views import ScopedQuerysetMixin, request_user
from recovery.models import MassageSession, MassageStatus, MassageType
from recovery.selectors.massage import massage_session_list_visible_to
from recovery.serializers.massage import (
    MassageAmendmentSerializer,
    MassageSessionCancelSerializer,
    MassageSessionCompleteSerializer,
    MassageSessionCreateSerializer,
    MassageSessionSerializer,
    MassageSessionUpdateSerializer,
)
from recovery.services import massage as services
from recovery.views.common import CLIENT_ID_RULES

MAX_RANGE_DAYS = 366
UUID_PATTERN = "[0-9a-fA-F-]{36}"

FILTERS = [
    OpenApiParameter("athlete", OpenApiTypes.UUID, description="Only this athlete's sessions."),
    OpenApiParameter("team", OpenApiTypes.UUID, description="Only athletes of this team."),
    OpenApiParameter("therapist", OpenApiTypes.UUID, description="Only this therapist's sessions."),
    OpenApiParameter("status", str, enum=MassageStatus.values),
    OpenApiParameter("session_type", str, enum=MassageType.values),
    OpenApiParameter(
        "date_from", OpenApiTypes.DATE, description="First day of scheduled_at (UTC), inclusive."
    ),
    OpenApiParameter(
        "date_to",
        OpenApiTypes.DATE,
        description=f"Last day of scheduled_at (UTC), inclusive; at most {MAX_RANGE_DAYS} days "
        "after date_from.",
    ),
]

CREATE_EXAMPLE = OpenApiExample(
    "plan_recovery_session",
    request_only=True,
    value={
        "id": "0b9f3c52-6d1e-4c8e-9a43-2f1d7e5a9c10",
        "athlete": "5d0c8a1e-2b7f-4f3a-8e61-9c4b2a7d1e05",
        "session_type": "recovery",
        "scheduled_at": "2025-03-14T16:00:00+00:00",
        "duration_min": 45,
        "complaint": "Tight left hamstring after Saturday's match.",
        "pain_before": 4,
        "treated_areas": [
            {
                "muscle_group": "hamstrings",
                "side": "left",
                "technique": "trigger_point",
                "pressure": "moderate",
                "pressure_rating": 6,
                "minutes": 15,
            },
        ],
    },
)
COMPLETE_EXAMPLE = OpenApiExample(
    "complete_with_outcome",
    request_only=True,
    value={
        "treated_areas": [
            {
                "muscle_group": "hamstrings",
                "side": "left",
                "technique": "trigger_point",
                "pressure": "firm",
                "pressure_rating": 7,
                "minutes": 15,
                "pain_during": 5,
                "trigger_points_found": 2,
            },
            {
                "muscle_group": "rectus_abdominis",
                "side": None,
                "technique": "myofascial_release",
                "pressure": "light",
                "minutes": 5,
            },
        ],
        "pain_after": 2,
        "athlete_feedback": "Much looser.",
        "aftercare": {
            "stretches": "Supine hamstring stretch, 3 x 30 s each side, twice a day.",
            "hydration": "2 litres today.",
            "next_session_in_days": 3,
        },
    },
)


def _conflicts(*errors: type[Conflict]) -> OpenApiResponse:
    return OpenApiResponse(
        ProblemSerializer,
        description="The request conflicts with the stored session; branch on `code`.",
        examples=[
            OpenApiExample(
                error.default_code,
                value=problem(
                    status_code=409, code=error.default_code, detail=str(error.default_detail)
                ),
                response_only=True,
                status_codes=["409"],
            )
            for error in errors
        ],
    )


def _choice_param(request: Request, name: str, choices: type[TextChoices]) -> str | None:
    value = request.query_params.get(name) or None
    if value is not None and value not in choices.values:
        raise ValidationError({name: [f"Must be one of {', '.join(choices.values)}."]})
    return value


def _list_filters(request: Request) -> dict[str, Any]:
    date_from, date_to = date_range_params(request, max_days=MAX_RANGE_DAYS)
    return {
        "athlete": uuid_param(request, "athlete"),
        "team": uuid_param(request, "team"),
        "therapist": uuid_param(request, "therapist"),
        "status": _choice_param(request, "status", MassageStatus),
        "session_type": _choice_param(request, "session_type", MassageType),
        "date_from": date_from,
        "date_to": date_to,
    }


@extend_schema(tags=["massage"])
@extend_schema_view(
    list=extend_schema(
        operation_id="massage_sessions_list",
        summary="Massage sessions of the athletes the user may see",
        description="Newest scheduled first. Clinical notes appear only where the caller may read "
        "them (see `clinical_notes`).",
        parameters=FILTERS,
    ),
    retrieve=extend_schema(operation_id="massage_sessions_retrieve", summary="One massage session"),
)
class MassageSessionViewSet(
    ConditionalRecordMixin,
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    model = MassageSession
    serializer_class = MassageSessionSerializer
    pagination_class = ordered_by("-scheduled_at", "-id")
    lookup_value_regex = UUID_PATTERN
    if_match_actions = frozenset({"partial_update", "destroy", "complete", "cancel", "amend"})
    if_match_required = frozenset({"partial_update", "complete", "cancel", "amend"})

    def scoped_queryset(self, user: User) -> Any:
        filters = _list_filters(self.request) if self.action == "list" else {}
        return massage_session_list_visible_to(user=user, **filters)

    def _respond(self, session_id: uuid.UUID, code: int = status.HTTP_200_OK) -> Response:
        """The session as stored after a write, read back through the caller's scope."""
        user = request_user(self.request)
        session = massage_session_list_visible_to(user=user).get(pk=session_id)
        return Response(self.get_serializer(session).data, status=code)

    def _validated(self, serializer_class: type[Serializer]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    @extend_schema(
        operation_id="massage_sessions_create",
        summary="Plan a session (therapists of the athlete's team)",
        description="Created as `planned`, with the caller as therapist. An athlete the caller "
        "cannot see is a 400 on `athlete`; one they see but may not treat is a 403. "
        + CLIENT_ID_RULES
        + " The treated areas are compared in any order.",
        request=MassageSessionCreateSerializer,
        responses={
            201: MassageSessionSerializer,
            200: OpenApiResponse(
                MassageSessionSerializer,
                description="The same session sent again (same `id` and content): the stored one.",
            ),
        },
        examples=[CREATE_EXAMPLE],
    )
    def create(self, request: Request) -> Response:
        data = self._validated(MassageSessionCreateSerializer)
        session, created = services.massage_session_plan(access=access_for(request), **data)
        return self._respond(session.pk, 201 if created else 200)

    @extend_schema(
        operation_id="massage_sessions_update",
        summary="Edit a planned session",
        description="`treated_areas`, when sent, replaces the list. A completed or cancelled "
        "session is locked (409 `massage_session.locked`).",
        request=MassageSessionUpdateSerializer,
        responses={200: MassageSessionSerializer, 409: _conflicts(services.SessionLocked)},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        session, changes = self.get_object(), self._validated(MassageSessionUpdateSerializer)
        session = services.massage_session_update(
            access=access_for(request), session=session, if_match=self.if_match(), **changes
        )
        return self._respond(session.pk)

    @extend_schema(
        operation_id="massage_sessions_delete",
        summary="Delete a planned session",
        description="Completed and cancelled sessions are kept; cancel a planned one instead.",
        responses={204: None, 409: _conflicts(services.SessionLocked)},
    )
    def destroy(self, request: Request, pk: str) -> Response:
        services.massage_session_delete(
            access=access_for(request), session=self.get_object(), if_match=self.if_match()
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="massage_sessions_complete",
        summary="Complete, sign and lock a planned session",
        description="The body may carry the final treated areas (replacing the list) and the "
        "outcome. At least one treated area is required. The caller signs the session.",
        request=MassageSessionCompleteSerializer,
        responses={
            200: MassageSessionSerializer,
            409: _conflicts(services.AlreadyCompleted, services.NotPlanned),
        },
        examples=[COMPLETE_EXAMPLE],
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str) -> Response:
        session, outcome = self.get_object(), self._validated(MassageSessionCompleteSerializer)
        session = services.massage_session_complete(
            access=access_for(request), session=session, if_match=self.if_match(), **outcome
        )
        return self._respond(session.pk)

    @extend_schema(
        operation_id="massage_sessions_cancel",
        summary="Cancel a planned session, with a reason",
        request=MassageSessionCancelSerializer,
        responses={
            200: MassageSessionSerializer,
            409: _conflicts(services.AlreadyCancelled, services.NotPlanned),
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        session, data = self.get_object(), self._validated(MassageSessionCancelSerializer)
        session = services.massage_session_cancel(
            access=access_for(request),
            session=session,
            reason=data["reason"],
            if_match=self.if_match(),
        )
        return self._respond(session.pk)

    @extend_schema(
        operation_id="massage_sessions_amendments_create",
        summary="Append an amendment to a completed session",
        description="The signed session stays as it was; the amendment is added with the caller "
        "as author and the current time. Returns the session with its amendments.",
        request=MassageAmendmentSerializer,
        responses={201: MassageSessionSerializer, 409: _conflicts(services.NotCompleted)},
    )
    @action(detail=True, methods=["post"], url_path="amendments", url_name="amendments")
    def amend(self, request: Request, pk: str) -> Response:
        session, data = self.get_object(), self._validated(MassageAmendmentSerializer)
        amendment = services.massage_session_amend(
            access=access_for(request), session=session, text=data["text"], if_match=self.if_match()
        )
        return self._respond(amendment.session_id, status.HTTP_201_CREATED)


router = SimpleRouter()
router.register("massage-sessions", MassageSessionViewSet, basename="massage-session")
urlpatterns = router.urls
