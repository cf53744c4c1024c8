"""The metrics endpoint's fast paths give exactly what the plain ones gave: `round3` is `round(x,
3)`, the rows built from flat tuples are the rows built from `DayMetrics`, the visibility query
compiled once answers as `athlete_visible_to`, the renderer's shortcuts write the same bytes, and
a year of days builds no serializer and no `DayMetrics` per day (docs/performance.md)."""

from __future__ import annotations

import math
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from django.urls import reverse
from hypothesis import example, given
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer

from accounts.access import Resource
from accounts.models import Role
from backend.api.renderers import ORJSONRenderer
from recovery.domain import metrics as domain
from recovery.domain.metrics import DayMetrics, Derived, metrics_for_range, metrics_rows
from recovery.selectors import load
from recovery.selectors.load import (
    athlete_metrics,
    athlete_metrics_rows,
    athlete_time_zone_visible_to,
    athlete_visible_to,
)
from recovery.serializers.metrics import DECIMALS, metrics_day_rows, round3
from tests.factories import MembershipFactory, TeamFactory, TrainingSessionFactory

D0 = date(2025, 1, 1)


# --- round3 ------------------------------------------------------------------------------------


def same_float(got: float | None, expected: float) -> bool:
    """Equal, and the same sign for zeros (-0.0 is written "-0.0")."""
    return got == expected and math.copysign(1.0, got) == math.copysign(1.0, expected)


@given(
    st.one_of(
        st.floats(allow_nan=False, allow_infinity=False),
        st.floats(min_value=-1e9, max_value=1e9),
        st.floats(min_value=-2.0, max_value=2.0),
        st.integers(-(10**12), 10**12).map(lambda n: n / 2000),  # the halves: ties in decimal
        st.integers(-(10**9), 10**9).map(lambda n: n / 1000),
    )
)
@example(0.0005)
@example(0.0015)
@example(2.675)  # just below 2.675 in binary: 2.67
@example(-2.675)
@example(1.0005)
@example(-0.0004)  # rounds to -0.0
@example(-0.0)
@example(0.0)
@example(99_999_999.9995)
@example(-99_999_999.9995)
@example(1e8)
@example(123456789.123456)
@example(5e-324)
@example(1.7976931348623157e308)
def test_round3_is_round_to_3_decimals(value: float) -> None:
    assert same_float(round3(value), round(value, DECIMALS))


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_round3_of_a_non_finite_value_is_none(value: float) -> None:
    assert round3(value) is None


# --- Rows from tuples, rows from DayMetrics ------------------------------------------------------


def _number(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, DECIMALS)


def _derived(derived: Derived) -> dict[str, Any]:
    if derived.value is None:
        return {"value": None, "reason": derived.reason and derived.reason.value}
    return {"value": _number(derived.value), "reason": None}


def reference_row(day: DayMetrics) -> dict[str, Any]:
    """The row as the endpoint built it from a DayMetrics before (one `round` per float)."""
    return {
        "date": day.day.isoformat(),
        "history_days": day.history_days,
        "load_au": _number(day.load_au),
        "week_load_au": _number(day.week_load_au),
        "acute_au": _number(day.acute_au),
        "chronic_au": _number(day.chronic_au),
        "chronic_uncoupled_au": _number(day.chronic_uncoupled_au),
        "acwr_coupled": _derived(day.acwr_coupled),
        "acwr_uncoupled": _derived(day.acwr_uncoupled),
        "ewma_acute_au": _number(day.ewma_acute_au),
        "ewma_chronic_au": _number(day.ewma_chronic_au),
        "acwr_ewma": _derived(day.acwr_ewma),
        "monotony": _derived(day.monotony),
        "strain": _derived(day.strain),
        "ctl": _number(day.ctl),
        "atl": _number(day.atl),
        "tsb": _number(day.tsb),
        "risk_band": day.risk_band and day.risk_band.value,
        "risk_band_ewma": day.risk_band_ewma and day.risk_band_ewma.value,
    }


@given(
    st.lists(st.one_of(st.just(0.0), st.integers(1, 3_000).map(float)), min_size=1, max_size=80),
    st.integers(0, 90),
    st.integers(0, 40),
)
def test_rows_are_written_as_the_day_metrics_rows_were(
    loads: list[float], offset: int, length: int
) -> None:
    by_day = {D0 + timedelta(days=i): x for i, x in enumerate(loads) if x}
    start = D0 + timedelta(days=offset - 10)
    end = start + timedelta(days=length)
    args = {"first_day": D0, "loads_by_day": by_day, "start": start, "end": end}
    rows = metrics_day_rows(metrics_rows(**args))
    expected = [reference_row(day) for day in metrics_for_range(**args)]
    # The same bytes through both renderers (a row's date is a date, written YYYY-MM-DD).
    assert ORJSONRenderer().render(rows) == ORJSONRenderer().render(expected)
    assert JSONRenderer().render(rows) == JSONRenderer().render(expected)


# --- The queries ---------------------------------------------------------------------------------


@pytest.fixture
def athlete(db):
    return MembershipFactory(team=TeamFactory(time_zone="Asia/Tokyo"), role=Role.ATHLETE).user


@pytest.mark.parametrize(
    "who",
    [
        "self",
        "coach",
        "therapist",
        "admin",
        "teammate",
        "deactivated_coach",
        "other_team_coach",
        "staff_asking_for_a_non_athlete",
        "unknown_id",
    ],
)
def test_the_compiled_visibility_query_answers_as_athlete_visible_to(
    athlete, django_assert_num_queries, who
):
    team = athlete.memberships.get().team
    athlete_id = athlete.pk
    if who == "self":
        user = athlete
    elif who == "deactivated_coach":
        user = MembershipFactory(team=team, role=Role.COACH, is_active=False).user
    elif who == "other_team_coach":
        user = MembershipFactory(team=TeamFactory(), role=Role.COACH).user
    elif who == "teammate":
        user = MembershipFactory(team=team, role=Role.ATHLETE).user
    else:
        role = {"staff_asking_for_a_non_athlete": "coach", "unknown_id": "coach"}.get(who, who)
        user = MembershipFactory(team=team, role=Role(role)).user
        if who == "staff_asking_for_a_non_athlete":
            athlete_id = user.pk
        if who == "unknown_id":
            athlete_id = uuid.uuid4()
    try:
        expected: str | None = athlete_visible_to(
            user=user, athlete_id=athlete_id, resource=Resource.LOAD_METRICS
        ).time_zone
    except NotFound:
        expected = None
    with django_assert_num_queries(1):
        try:
            got: str | None = athlete_time_zone_visible_to(
                user=user, athlete_id=athlete_id, resource=Resource.LOAD_METRICS
            )
        except NotFound:
            got = None
    assert got == expected
    assert (got is None) == (who not in {"self", "coach", "therapist", "admin"})


def test_an_athlete_without_a_team_is_in_utc_and_the_query_is_compiled_once(
    athlete, django_assert_num_queries
):
    athlete.memberships.update(is_active=False)
    load._athlete_time_zone_sql.cache_clear()
    for _ in range(3):
        zone = athlete_time_zone_visible_to(
            user=athlete, athlete_id=athlete.pk, resource=Resource.LOAD_METRICS
        )
        assert zone == "UTC"
    assert load._athlete_time_zone_sql.cache_info().misses == 1


def test_athlete_metrics_rows_read_the_daily_sums_in_one_query(athlete, django_assert_num_queries):
    for i in range(0, 60, 2):
        TrainingSessionFactory(athlete=athlete, date=D0 + timedelta(days=i), rpe=5, duration_min=30)
        TrainingSessionFactory(athlete=athlete, date=D0 + timedelta(days=i), rpe=3, duration_min=7)
    TrainingSessionFactory(athlete=athlete, date=D0 + timedelta(days=90), rpe=5, duration_min=30)
    start, end = D0 + timedelta(days=40), D0 + timedelta(days=70)
    with django_assert_num_queries(1):
        rows = athlete_metrics_rows(athlete_id=athlete.pk, start=start, end=end)
    assert [domain.day_metrics(row) for row in rows] == athlete_metrics(
        athlete_id=athlete.pk, start=start, end=end
    )
    by_day = {D0 + timedelta(days=i): 171.0 for i in range(0, 60, 2)}  # 150 + 21 AU
    assert rows == metrics_rows(first_day=D0, loads_by_day=by_day, start=start, end=end)


# --- The endpoint --------------------------------------------------------------------------------


def test_a_year_of_days_builds_no_serializer_and_no_day_metrics(
    athlete, client_for, monkeypatch, django_assert_num_queries
):
    for i in range(0, 400, 2):
        TrainingSessionFactory(athlete=athlete, date=D0 + timedelta(days=i), rpe=6, duration_min=50)
    end = D0 + timedelta(days=399)
    params = {"date_from": str(end - timedelta(days=365)), "date_to": str(end)}
    url = reverse("recovery:athlete-metrics", args=[athlete.pk])
    client = client_for(athlete)
    client.get(url, params)  # the first request imports every view (serializer declarations)
    built = {"serializers": 0, "day_metrics": 0}
    serializer_init = serializers.BaseSerializer.__init__
    day_metrics_init = DayMetrics.__init__

    def count_serializer(self: Any, *args: Any, **kwargs: Any) -> None:
        built["serializers"] += 1
        serializer_init(self, *args, **kwargs)

    def count_day_metrics(self: Any, *args: Any, **kwargs: Any) -> None:
        built["day_metrics"] += 1
        day_metrics_init(self, *args, **kwargs)

    monkeypatch.setattr(serializers.BaseSerializer, "__init__", count_serializer)
    monkeypatch.setattr(DayMetrics, "__init__", count_day_metrics)
    with django_assert_num_queries(1):  # the athlete's time zone if visible, and the days
        response = client.get(url, params)
    assert response.status_code == 200
    assert len(response.json()["days"]) == 366
    assert built == {"serializers": 0, "day_metrics": 0}


def test_the_payload_is_released_once_rendered(athlete, client_for):
    """The view and the response refer to each other, so they wait for the garbage collector;
    the year of rows must not wait with them."""
    TrainingSessionFactory(athlete=athlete, date=D0, rpe=6, duration_min=50)
    url = reverse("recovery:athlete-metrics", args=[athlete.pk])
    response = client_for(athlete).get(
        url, {"date_from": str(D0), "date_to": str(D0 + timedelta(days=365))}
    )
    assert response.status_code == 200
    assert response.data is None
    assert response.json()["days"][0]["load_au"] == 300.0


# --- The renderer's shortcuts --------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"ascii": "plain", "n": [1, 2.5, None], "day": date(2025, 3, 14)},
        {"non_str_key": {3: "three", None: "none"}, "also": [1]},
        {"unicode_only": "Müller, 痛み"},
        {"separators": "a\u2029b\u2028c", 7: "and a non-str key"},
    ],
)
def test_the_renderer_writes_what_drf_writes(payload):
    assert ORJSONRenderer().render(payload) == JSONRenderer().render(payload)
