"""Training-load metrics of one athlete: `/api/v1/athletes/{athlete_id}/metrics/`.

Two queries whatever the range (the athlete's team time zone if the caller may see them, then the
stored days), one when both ends of the range are given (the default range needs the team's
day first): each day's metrics are stored as the JSON text this endpoint returns, written with
the training sessions they come from (`recovery.services.daily_loads`), so a year of days is read
and spliced in as text (docs/performance.md)."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

from django.urls import path
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import Resource
from backend.api.params import date_range_params
from backend.api.schema import VALIDATION_ERROR
from backend.api.views import released_after_render, request_user
from recovery.selectors.load import (
    athlete_metrics_days,
    athlete_time_zone_visible_to,
    local_day,
    visible_metrics_days,
)
from recovery.serializers.metrics import AthleteMetricsSerializer, athlete_metrics_payload

MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 28
RESOURCE = Resource.LOAD_METRICS

RANGE_PARAMETERS = [
    OpenApiParameter(
        "date_from",
        OpenApiTypes.DATE,
        description=f"First local day (YYYY-MM-DD), inclusive. Default: {DEFAULT_RANGE_DAYS - 1} "
        "days before date_to.",
    ),
    OpenApiParameter(
        "date_to",
        OpenApiTypes.DATE,
        description="Last local day (YYYY-MM-DD), inclusive. Default: today in the athlete's team "
        f"time zone (or date_from, if later). The range may span at most {MAX_RANGE_DAYS} days.",
    ),
]


def metrics_range(first: date | None, last: date | None, *, today: date) -> tuple[date, date]:
    """The requested days (`date_range_params`); by default the last 28 days up to `today`.
    Longer than 366 days is a 400 naming the parameter."""
    if last is None:
        last = today if first is None else max(today, first)
    if first is None:
        first = last - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise ValidationError(
            {"date_from": [f"The range up to today may span at most {MAX_RANGE_DAYS} days."]},
            code="invalid",
        )
    return first, last


class AthleteMetricsView(APIView):
    @extend_schema(
        operation_id="athletes_metrics_retrieve",
        tags=["metrics"],
        summary="An athlete's daily training-load metrics",
        description="One row per local calendar day of the range (team time zone), continuous: "
        "rest days are rows with load 0. Each row carries the daily sRPE load, rolling acute "
        "and chronic loads with the coupled and uncoupled ACWR, EWMAs and their ratio, "
        "monotony and strain, fitness/fatigue/form (CTL/ATL/TSB) and the ACWR risk band; "
        "`conventions` pins the windows and constants used. The series is computed from the "
        "athlete's first training day, so the range only selects which days are shown. "
        "Visible to the athlete and to the therapists, coaches and admins of their teams; "
        "anyone else gets 404. ACWR is a monitoring aid whose value as an injury predictor is "
        "disputed (Impellizzeri et al., 2020). Formulas and sources: docs/metrics.md.",
        parameters=RANGE_PARAMETERS,
        responses={200: AthleteMetricsSerializer, 400: VALIDATION_ERROR},
    )
    def get(self, request: Request, athlete_id: UUID) -> Response:
        user = request_user(request)
        first, last = date_range_params(request, max_days=MAX_RANGE_DAYS)  # a 400 if malformed
        if first is not None and last is not None:  # the range needs no "today": one query
            start, end = first, last
            time_zone, days = visible_metrics_days(
                user=user, athlete_id=athlete_id, resource=RESOURCE, start=start, end=end
            )
        else:
            time_zone = athlete_time_zone_visible_to(
                user=user, athlete_id=athlete_id, resource=RESOURCE
            )
            start, end = metrics_range(first, last, today=local_day(timezone.now(), time_zone))
            days = athlete_metrics_days(athlete_id=athlete_id, start=start, end=end)
        return released_after_render(
            Response(
                athlete_metrics_payload(
                    athlete_id=athlete_id, time_zone=time_zone, start=start, end=end, days=days
                )
            )
        )


urlpatterns = [
    path(
        "athletes/<uuid:athlete_id>/metrics/",
        AthleteMetricsView.as_view(),
        name="athlete-metrics",
    ),
]
