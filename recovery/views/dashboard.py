"""Team views for staff: `/api/v1/teams/{team_id}/dashboard/`, `/teams/{team_id}/soreness-heatmap/`
and `/therapist-queue/`. The selectors build plain dicts in a fixed number of queries; the views
parse parameters, check access through the selectors and return those dicts as they are."""

from __future__ import annotations

import uuid
from typing import Any

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api.params import date_param, uuid_param
from backend.api.schema import VALIDATION_ERROR
from backend.api.views import released_after_render, request_user
from recovery.models import InjuryStatus
from recovery.selectors import dashboard as selectors
from recovery.selectors.dashboard import (
    HEATMAP_DEFAULT_DAYS,
    HEATMAP_MAX_DAYS,
    INJURY_POINTS,
    OPEN_FLAG_POINTS,
)
from recovery.selectors.state import MAX_AGE
from recovery.serializers.dashboard import (
    SorenessHeatmapSerializer,
    TeamDashboardSerializer,
    TherapistQueueItemSerializer,
)

TEAM_ID_PARAM = OpenApiParameter(
    "team_id",
    OpenApiTypes.UUID,
    OpenApiParameter.PATH,
    description="The team; 404 unless the caller is its coach, therapist or admin.",
)
DATE_PARAM = OpenApiParameter(
    "date",
    OpenApiTypes.DATE,
    description="As-of day (YYYY-MM-DD, the team's local day): everything is computed as of the "
    "end of that day and later records are ignored. Default: today in the team's time zone; at "
    "most tomorrow.",
)
DAYS_PARAM = OpenApiParameter(
    "days",
    OpenApiTypes.INT,
    description=f"Length of the window in days, ending with `date` (1-{HEATMAP_MAX_DAYS}; "
    f"default {HEATMAP_DEFAULT_DAYS}).",
)
TEAM_PARAM = OpenApiParameter(
    "team",
    OpenApiTypes.UUID,
    description="Only this team; it must be one where the caller is a therapist (else 404).",
)

ATHLETE_ID = "5d0c8a1e-2b7f-4f3a-8e61-9c4b2a7d1e05"
TEAM_ID = "8a4e2f60-1c3b-4d7e-9f05-6b2a1c9d3e47"
FOCUS = {
    "muscle_group": "hamstrings",
    "name": "Hamstrings",
    "side": "left",
    "score": 7.67,
    "reason": "soreness 6/10 yesterday",
    "technique": "effleurage_flush",
}
DASHBOARD_EXAMPLE = OpenApiExample(
    "team_dashboard",
    response_only=True,
    value={
        "team": {"id": TEAM_ID, "name": "First team"},
        "date": "2025-03-14",
        "as_of": "2025-03-15T00:00:00Z",
        "time_zone": "Europe/London",
        "summary": {
            "athletes": 1,
            "risk_bands": {"low": 0, "moderate": 0, "caution": 1, "high": 0, "unknown": 0},
            "most_sore_groups": [
                {
                    "muscle_group": "hamstrings",
                    "name": "Hamstrings",
                    "entries": 1,
                    "athletes": 1,
                    "mean_severity": 6.0,
                }
            ],
            "without_soreness_report": [],
        },
        "athletes": [
            {
                "athlete": {"id": ATHLETE_ID, "name": "Alex Morgan"},
                "load": {
                    "day_load_au": 420.0,
                    "week_load_au": 2310.0,
                    "history_days": 96,
                    "acwr": {"value": 1.42, "reason": None, "risk_band": "caution"},
                    "acwr_ewma": {"value": 1.268, "reason": None, "risk_band": "moderate"},
                    "monotony": {"value": 1.315, "reason": None},
                },
                "wellness": {
                    "latest_total": 15,
                    "latest_on": "2025-03-14",
                    "baseline_days": 20,
                    "baseline_mean": 18.4,
                    "z_score": {"value": -1.7, "reason": None},
                    "direction": "worse",
                },
                "sore_groups": [
                    {
                        "muscle_group": "hamstrings",
                        "name": "Hamstrings",
                        "side": "left",
                        "max_severity": 6,
                        "kind": "doms",
                        "reported_at": "2025-03-13T08:10:00Z",
                    }
                ],
                "open_flags": 0,
                "injuries": [],
                "last_massage_on": "2025-03-05",
                "top_focus": FOCUS,
                "computed_at": "2025-03-14T09:58:12Z",
            }
        ],
    },
)
HEATMAP_EXAMPLE = OpenApiExample(
    "soreness_heatmap",
    response_only=True,
    value={
        "team": {"id": TEAM_ID, "name": "First team"},
        "date_from": "2025-03-08",
        "date_to": "2025-03-14",
        "days": 7,
        "cells": [
            {
                "muscle_group": "hamstrings",
                "name": "Hamstrings",
                "region": "thigh",
                "view": "back",
                "side": "left",
                "entries": 5,
                "athletes": 3,
                "mean_severity": 4.6,
                "max_severity": 7,
            }
        ],
    },
)
QUEUE_EXAMPLE = OpenApiExample(
    "therapist_queue",
    response_only=True,
    value=[
        {
            "athlete": {"id": ATHLETE_ID, "name": "Alex Morgan"},
            "team": {"id": TEAM_ID, "name": "First team"},
            "urgency": 20.67,
            "urgency_components": {"focus": 7.67, "open_flags": 10.0, "injuries": 3.0},
            "top_focus": FOCUS,
            "open_flags": 1,
            "active_injuries": 1,
            "planned_session": {
                "id": "0b9f3c52-6d1e-4c8e-9a43-2f1d7e5a9c10",
                "scheduled_at": "2025-03-15T16:00:00Z",
            },
            "computed_at": "2025-03-14T09:58:12Z",
        }
    ],
)


def _days_param(request: Request) -> int:
    raw = request.query_params.get("days")
    if raw is None or raw == "":
        return HEATMAP_DEFAULT_DAYS
    try:
        days = int(raw)
    except ValueError as exc:
        raise ValidationError({"days": ["Must be a whole number."]}, code="invalid") from exc
    if not 1 <= days <= HEATMAP_MAX_DAYS:
        raise ValidationError({"days": [f"Must be from 1 to {HEATMAP_MAX_DAYS}."]}, code="invalid")
    return days


@extend_schema(tags=["dashboard"])
class TeamDashboardView(APIView):
    @extend_schema(
        operation_id="teams_dashboard_retrieve",
        summary="Team dashboard: load, soreness, wellness, flags and focus per athlete",
        description="For the team's coaches, therapists and admins (anyone else: 404). Every "
        "active athlete as of the end of the day, with the team summary. Today's figures of an "
        "athlete are kept and served again until one of their records changes, for at most "
        f"{MAX_AGE.total_seconds() / 60:g} minutes (each row's `computed_at`). The number of "
        "queries does not grow with the team.",
        parameters=[TEAM_ID_PARAM, DATE_PARAM],
        responses={200: TeamDashboardSerializer, 400: VALIDATION_ERROR},
        examples=[DASHBOARD_EXAMPLE],
    )
    def get(self, request: Request, team_id: uuid.UUID) -> Response:
        team = selectors.team_for_staff(user=request_user(request), team_id=team_id)
        day = selectors.as_of_day(team=team, requested=date_param(request, "date"))
        return released_after_render(Response(selectors.team_dashboard(team=team, day=day)))


@extend_schema(tags=["dashboard"])
class SorenessHeatmapView(APIView):
    @extend_schema(
        operation_id="teams_soreness_heatmap_retrieve",
        summary="Team soreness heat map per muscle group and side",
        description="For the team's coaches, therapists and admins (anyone else: 404). Entries "
        "of the team's active athletes over the window, aggregated per group and side.",
        parameters=[TEAM_ID_PARAM, DAYS_PARAM, DATE_PARAM],
        responses={200: SorenessHeatmapSerializer, 400: VALIDATION_ERROR},
        examples=[HEATMAP_EXAMPLE],
    )
    def get(self, request: Request, team_id: uuid.UUID) -> Response:
        team = selectors.team_for_staff(user=request_user(request), team_id=team_id)
        days = _days_param(request)
        day = selectors.as_of_day(team=team, requested=date_param(request, "date"))
        return Response(selectors.soreness_heatmap(team=team, last_day=day, days=days))


@extend_schema(tags=["dashboard"])
class TherapistQueueView(APIView):
    @extend_schema(
        operation_id="therapist_queue_list",
        summary="The therapist's athletes, most urgent first",
        description="For therapists (403 for anyone without an active therapist membership). "
        "Athletes of the caller's therapist teams, ranked by urgency = the recommendation's top "
        f"focus score + {OPEN_FLAG_POINTS:g} per open flag + "
        f"{INJURY_POINTS[InjuryStatus.ACTIVE]:g} per active and "
        f"{INJURY_POINTS[InjuryStatus.REHAB]:g} per rehab injury, as of each row's "
        f"`computed_at` (at most {MAX_AGE.total_seconds() / 60:g} minutes ago, and never before "
        "the athlete's last change). Not paginated: the whole queue, in a fixed number of "
        "queries.",
        parameters=[TEAM_PARAM],
        responses={200: TherapistQueueItemSerializer(many=True), 400: VALIDATION_ERROR},
        examples=[QUEUE_EXAMPLE],
    )
    def get(self, request: Request) -> Response:
        team_id = uuid_param(request, "team")
        return released_after_render(
            Response(selectors.therapist_queue(user=request_user(request), team_id=team_id))
        )


urlpatterns: list[Any] = [
    path("teams/<uuid:team_id>/dashboard/", TeamDashboardView.as_view(), name="team-dashboard"),
    path(
        "teams/<uuid:team_id>/soreness-heatmap/",
        SorenessHeatmapView.as_view(),
        name="team-soreness-heatmap",
    ),
    path("therapist-queue/", TherapistQueueView.as_view(), name="therapist-queue"),
]
