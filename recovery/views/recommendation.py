"""Where the next session should focus, planning a session from it, and plan vs outcome:
`/api/v1/athletes/{athlete_id}/recommendation/`, `.../recommendation/plan/` and
`/api/v1/massage-sessions/{id}/comparison/`."""

from __future__ import annotations

from uuid import UUID

from django.urls import path
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import Resource, access_for
from backend.api.errors import problem
from backend.api.params import datetime_param
from backend.api.schema import VALIDATION_ERROR, ProblemSerializer
from backend.api.views import request_user
from recovery.selectors.load import athlete_visible_to
from recovery.selectors.massage import massage_session_list_visible_to
from recovery.selectors.recommendation import (
    SessionNotCompleted,
    massage_session_comparison,
    recommendation_as_dict,
    recommendation_for,
)
from recovery.selectors.state import MAX_AGE, recommendation_now
from recovery.serializers.massage import MassageSessionSerializer
from recovery.serializers.recommendation import (
    EXAMPLE_RECOMMENDATION,
    MassageSessionComparisonSerializer,
    RecommendationPlanSerializer,
    RecommendationSerializer,
)
from recovery.services.common import require_write
from recovery.services.recommendation import massage_session_plan_from_recommendation

AT_PARAMETERS = [
    OpenApiParameter(
        "at",
        OpenApiTypes.DATETIME,
        description="The instant to compute the recommendation for, ISO 8601 with a UTC offset; "
        "default now. Soreness, treatments and load are taken as they were up to then. Without "
        "`at` and `match_at` the answer may be one computed up to "
        f"{MAX_AGE.total_seconds() / 60:g} minutes ago (`generated_at` says when) if nothing "
        "the recommendation depends on has changed since.",
    ),
    OpenApiParameter(
        "match_at",
        OpenApiTypes.DATETIME,
        description="Start of an upcoming match, ISO 8601 with a UTC offset: within 24 h the "
        "session is short and light (`pre_match_light`), within 2 h pre-event only.",
    ),
]

NOT_COMPLETED = OpenApiResponse(
    ProblemSerializer,
    description="The session is not completed: there is no outcome to compare yet.",
    examples=[
        OpenApiExample(
            str(SessionNotCompleted.default_code),
            value=problem(
                status_code=409,
                code=str(SessionNotCompleted.default_code),
                detail=str(SessionNotCompleted.default_detail),
            ),
            response_only=True,
            status_codes=["409"],
        )
    ],
)


class AthleteRecommendationView(APIView):
    @extend_schema(
        operation_id="athletes_recommendation_retrieve",
        tags=["recommendation"],
        summary="Where the athlete's next massage session should focus, and why",
        description="A ranked list of muscle groups (with side), each with a score, the parts "
        "of the score, plain-language reasons, a suggested technique, pressure and minutes; "
        "the groups to avoid (refer / assess first); and warnings. Computed on request from "
        "the soreness reported in the last 7 days, treatments of completed sessions, active "
        "and rehab injuries, the training load (ACWR) on the local day of `at`, the last match "
        "and the athlete's sport demand (primary sport, else the team's); for now (no `at`), "
        "kept and served again until one of those changes, for at most "
        f"{MAX_AGE.total_seconds() / 60:g} minutes. Visible to the "
        "athlete and to the therapists, coaches and admins of their teams; anyone else gets "
        "404. Rules and weights: docs/recommendation.md.",
        parameters=AT_PARAMETERS,
        responses={
            200: OpenApiResponse(
                RecommendationSerializer,
                description="The recommendation.",
                examples=[
                    OpenApiExample(
                        "post_match_footballer",
                        value=EXAMPLE_RECOMMENDATION,
                        response_only=True,
                        status_codes=["200"],
                    )
                ],
            ),
            400: VALIDATION_ERROR,
        },
    )
    def get(self, request: Request, athlete_id: UUID) -> Response:
        user, params = request_user(request), request.query_params
        if not params.get("at") and not params.get("match_at"):  # now: stored while current
            return Response(recommendation_now(user=user, athlete_id=athlete_id))
        athlete = athlete_visible_to(
            user=user, athlete_id=athlete_id, resource=Resource.RECOMMENDATION, with_context=True
        )
        at = datetime_param(request, "at") or timezone.now()
        match_at = datetime_param(request, "match_at")
        recommendation = recommendation_for(athlete, at=at, match_at=match_at)
        return Response(recommendation_as_dict(recommendation))


class AthleteRecommendationPlanView(APIView):
    @extend_schema(
        operation_id="athletes_recommendation_plan",
        tags=["recommendation"],
        summary="Plan a massage session from the recommendation (therapists)",
        description="Computes the recommendation now (or at `at`) and creates a `planned` "
        "session with the caller as therapist: `recommendation_snapshot` holds the "
        "recommendation as computed at that moment, `next_focus` summarises its top item, and "
        "no treated areas are set yet (they are recorded when the session is completed). Only "
        "therapists of the athlete's team: others who can see the athlete get 403, anyone "
        "else 404.",
        request=RecommendationPlanSerializer,
        responses={201: MassageSessionSerializer},
    )
    def post(self, request: Request, athlete_id: UUID) -> Response:
        user, access = request_user(request), access_for(request)
        athlete = athlete_visible_to(
            user=user, athlete_id=athlete_id, resource=Resource.RECOMMENDATION
        )
        require_write(access=access, resource=Resource.MASSAGE_SESSION, athlete_id=athlete.id)
        serializer = RecommendationPlanSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        session = massage_session_plan_from_recommendation(
            access=access,
            athlete=athlete.user,
            at=data.pop("at", None) or timezone.now(),
            **data,
        )
        stored = massage_session_list_visible_to(user=user).get(pk=session.pk)
        body = MassageSessionSerializer(stored, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)


class MassageSessionComparisonView(APIView):
    @extend_schema(
        operation_id="massage_sessions_comparison_retrieve",
        tags=["recommendation"],
        summary="Plan vs outcome of a completed massage session",
        description="The recommended focus groups (from the session's recommendation snapshot) "
        "each marked treated or not; treated areas that were not recommended; groups the "
        "recommendation excluded that were treated anyway (warnings); pain before and after; "
        "and per treated group and side, the highest soreness reported in the 72 h after the "
        "session against the last report in the 7 days before it. A session planned without a "
        "recommendation has an empty `recommended` list. Visible like the session itself.",
        responses={200: MassageSessionComparisonSerializer, 409: NOT_COMPLETED},
    )
    def get(self, request: Request, pk: UUID) -> Response:
        comparison = massage_session_comparison(user=request_user(request), session_id=pk)
        return Response(comparison.as_dict())


urlpatterns = [
    path(
        "athletes/<uuid:athlete_id>/recommendation/",
        AthleteRecommendationView.as_view(),
        name="athlete-recommendation",
    ),
    path(
        "athletes/<uuid:athlete_id>/recommendation/plan/",
        AthleteRecommendationPlanView.as_view(),
        name="athlete-recommendation-plan",
    ),
    path(
        "massage-sessions/<uuid:pk>/comparison/",
        MassageSessionComparisonView.as_view(),
        name="massage-session-comparison",
    ),
]
