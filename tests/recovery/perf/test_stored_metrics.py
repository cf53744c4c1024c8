"""The metrics endpoint reads each day's metrics as stored text (`AthleteDailyLoad.metrics_json`):
whatever the range (before the first training day, across it, after the last stored day, far
after it), the days are those computed from the sessions, in one query; a row without its text
or a series with a hole is computed instead, with the same answer; and migration 0010 writes the
texts the service writes."""

from __future__ import annotations

import importlib
from datetime import date, timedelta
from types import SimpleNamespace

import orjson
import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse

from recovery.models import AthleteDailyLoad
from recovery.selectors.load import athlete_metrics_days, athlete_metrics_rows
from recovery.serializers.metrics import day_json
from tests.factories import AthleteFactory, TrainingSessionFactory

pytestmark = pytest.mark.django_db

D0 = date(2025, 1, 1)
TRAINING_DAYS = [0, 1, 3, 4, 5, 8, 9, 12, 20, 26, 27, 28, 33, 40, 41, 47, 80, 82, 83]
"""Sessions with a gap of over four weeks (47 -> 80); the last one on day 83."""


def day(offset: int) -> date:
    return D0 + timedelta(days=offset)


@pytest.fixture
def athlete():
    athlete = AthleteFactory()
    for offset in TRAINING_DAYS:
        TrainingSessionFactory(
            athlete=athlete, date=day(offset), rpe=3 + offset % 7, duration_min=30 + offset
        )
    return athlete


def computed(athlete, start: date, end: date) -> list[str]:
    return [
        day_json(row) for row in athlete_metrics_rows(athlete_id=athlete.pk, start=start, end=end)
    ]


@pytest.mark.parametrize(
    ("first", "last"),
    [
        (-30, -1),  # before the first training day
        (-10, 20),  # across it
        (0, 83),  # the stored days exactly
        (10, 60),  # across the gap
        (50, 79),  # inside the gap (stored rest days)
        (60, 130),  # after the last stored day, more than four weeks on
        (84, 84),  # the day after it
        (100, 200),  # nothing stored in the range: all rolled on from the last state
        (-365, 400),  # everything
    ],
)
def test_the_stored_days_are_the_computed_days(athlete, first, last, django_assert_num_queries):
    start, end = day(first), day(last)
    with django_assert_num_queries(1):
        days = athlete_metrics_days(athlete_id=athlete.pk, start=start, end=end)
    assert days == computed(athlete, start, end)
    assert len(days) == last - first + 1


def test_an_athlete_without_training_has_days_without_history(django_assert_num_queries):
    athlete = AthleteFactory()
    with django_assert_num_queries(1):
        days = athlete_metrics_days(athlete_id=athlete.pk, start=day(0), end=day(9))
    assert days == computed(athlete, day(0), day(9))
    assert '"history_days":0' in days[0]


def test_a_row_without_its_text_is_computed_instead(athlete, django_assert_num_queries):
    AthleteDailyLoad.objects.filter(athlete=athlete, day=day(20)).update(metrics_json="")
    with django_assert_num_queries(2):  # the stored days, then the sessions' daily sums
        days = athlete_metrics_days(athlete_id=athlete.pk, start=day(0), end=day(90))
    assert days == computed(athlete, day(0), day(90))


@pytest.mark.parametrize("missing", [0, 10, 70, 82])
def test_a_series_with_a_hole_is_computed_instead(athlete, missing):
    """A hole left by a writer that bypassed the service (a repair is due) gives no wrong
    numbers: the first day, a day in the range, a day of the tail, the day before the last.
    (A lost LAST row reads as a rest day: only the repair command, which compares with the
    sessions, can tell.)"""
    AthleteDailyLoad.objects.filter(athlete=athlete, day=day(missing)).delete()
    for start, end in [(-5, 90), (60, 120), (85, 100)]:
        assert athlete_metrics_days(
            athlete_id=athlete.pk, start=day(start), end=day(end)
        ) == computed(athlete, day(start), day(end))


def test_migration_0010_writes_what_the_service_writes(athlete):
    written = dict(AthleteDailyLoad.objects.values_list("id", "metrics_json"))
    assert all(written.values())
    AthleteDailyLoad.objects.update(metrics_json="")
    migration = importlib.import_module("recovery.migrations.0010_daily_load_metrics_json")
    migration.write_metrics_json(apps, SimpleNamespace(connection=connection))
    assert dict(AthleteDailyLoad.objects.values_list("id", "metrics_json")) == written


def test_the_endpoint_splices_the_stored_days_and_indents_them_when_asked(athlete, client_for):
    url = reverse("recovery:athlete-metrics", args=[athlete.pk])
    params = {"date_from": str(day(-2)), "date_to": str(day(90))}
    client = client_for(athlete)
    plain = client.get(url, params)
    indented = client.get(url, params, HTTP_ACCEPT="application/json; indent=2")
    assert plain.status_code == indented.status_code == 200
    assert b"\n" not in plain.content
    assert b'\n  "days": [' in indented.content
    assert plain.json() == indented.json()
    expected = [orjson.loads(text) for text in computed(athlete, day(-2), day(90))]
    assert plain.json()["days"] == expected
    assert plain.json()["latest"] == expected[-1]
