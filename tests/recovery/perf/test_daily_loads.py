"""The per-day load table follows every write of a training session, in the writing transaction:
reading a day's metrics from it gives what the whole series gives (`metrics_on` over the raw
daily sums), and each row's `metrics_json` is the day as the metrics endpoint computes it from
the sessions, whatever the order of creates, back-dated sessions, edits and deletes, single or in
bulk; and `refresh_daily_loads` repairs a table that was left behind."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from recovery.models import AthleteDailyLoad, AthleteRecoveryState, TrainingSession
from recovery.selectors.load import (
    athlete_metrics_days,
    athlete_metrics_rows,
    daily_loads_by_athlete,
    metrics_on,
    metrics_on_days,
)
from recovery.serializers.metrics import day_json
from recovery.services.daily_loads import refresh_daily_loads
from tests.factories import AthleteFactory, TrainingSessionFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
D0 = TODAY - timedelta(days=60)


def train(athlete, day: date, minutes: int = 60, rpe: int = 5) -> TrainingSession:
    return TrainingSessionFactory(
        athlete=athlete, date=day, duration_min=minutes, rpe=rpe, load_au=minutes * rpe
    )


def assert_table_matches_sessions(athlete) -> None:
    """Every day from before the first session to after the last reads as the raw series does,
    and the rows are gapless from the first session day on."""
    series = daily_loads_by_athlete(athlete_ids=[athlete.pk], until=TODAY + timedelta(days=40))[
        athlete.pk
    ]
    days = [D0 - timedelta(days=3) + timedelta(days=i) for i in range(110)]
    from_table = metrics_on_days(pairs=[(athlete.pk, day) for day in days])
    assert [from_table[(athlete.pk, day)] for day in days] == [
        metrics_on(series, day) for day in days
    ]
    stored = list(
        AthleteDailyLoad.objects.filter(athlete=athlete)
        .order_by("day")
        .values_list("day", flat=True)
    )
    if series.first_day is None:
        assert stored == []
    else:
        assert stored[0] == series.first_day
        assert stored == [stored[0] + timedelta(days=i) for i in range(len(stored))]
        assert stored[-1] >= max(series.loads_by_day)
    assert_stored_metrics_are_the_computed_ones(athlete, days[0], days[-1])


def state_versions(*athletes) -> list[int]:
    """Each athlete's stored-state version (0: no row yet)."""
    stored = dict(
        AthleteRecoveryState.objects.filter(pk__in=[a.pk for a in athletes]).values_list(
            "pk", "version"
        )
    )
    return [stored.get(a.pk, 0) for a in athletes]


def assert_stored_metrics_are_the_computed_ones(athlete, start: date, end: date) -> None:
    """Each stored day's text, and the endpoint's days of the range, are what computing the
    series from the sessions gives."""
    computed = [
        day_json(row) for row in athlete_metrics_rows(athlete_id=athlete.pk, start=start, end=end)
    ]
    by_day = {start + timedelta(days=i): text for i, text in enumerate(computed)}
    for day, text in AthleteDailyLoad.objects.filter(athlete=athlete).values_list(
        "day", "metrics_json"
    ):
        assert text == by_day[day], day
    assert athlete_metrics_days(athlete_id=athlete.pk, start=start, end=end) == computed


def test_creates_in_any_order_keep_the_table_current():
    athlete = AthleteFactory()
    for offset in (10, 11, 15, 40, 12, 0, 40, 55):  # back-dated, same day twice, before the first
        train(athlete, D0 + timedelta(days=offset), minutes=30 + offset)
        assert_table_matches_sessions(athlete)


def test_a_session_after_a_gap_of_over_four_weeks_reads_the_weeks_before_the_gap():
    """The days after a long gap are computed from the states stored before it (rows are only
    written up to the last session): the last 29 before the new session's day."""
    athlete = AthleteFactory()
    for offset in (0, 1, 2, 9, 30, 70, 31, 100, 69):
        train(athlete, D0 + timedelta(days=offset), minutes=20 + offset)
        assert_table_matches_sessions(athlete)


def test_deletes_and_edits_keep_the_table_current():
    athlete = AthleteFactory()
    sessions = [train(athlete, D0 + timedelta(days=offset)) for offset in (0, 3, 9, 20, 21)]
    sessions[-1].delete()  # the last one: rest days may stay behind it
    assert_table_matches_sessions(athlete)
    sessions[0].delete()  # the first one: history now starts later
    assert_table_matches_sessions(athlete)
    moved = sessions[2]
    moved.date = D0 + timedelta(days=30)  # an edit that moves a session to another day
    moved.duration_min = 80
    moved.load_au = 80 * moved.rpe
    moved.save()
    assert_table_matches_sessions(athlete)
    moved.notes = "felt good"
    moved.save(update_fields=["notes"])  # not a load change: nothing to do
    assert_table_matches_sessions(athlete)
    TrainingSession.objects.filter(athlete=athlete).delete()  # the rest, in one delete
    assert_table_matches_sessions(athlete)


def test_a_queryset_delete_over_several_athletes_refreshes_each_once(django_assert_max_num_queries):
    athletes = [AthleteFactory() for _ in range(3)]
    for index, athlete in enumerate(athletes):
        for offset in range(0, 30, 3):
            train(athlete, D0 + timedelta(days=offset + index))
    with django_assert_max_num_queries(8):
        TrainingSession.objects.filter(
            athlete__in=athletes, date__gte=D0 + timedelta(days=12)
        ).delete()
    for athlete in athletes:
        assert_table_matches_sessions(athlete)


def test_deleting_the_athlete_takes_their_rows_along():
    athlete = AthleteFactory()
    train(athlete, D0)
    athlete.delete()
    assert not AthleteDailyLoad.objects.exists()


def test_the_api_writes_keep_the_table_current(client_for, member):
    athlete = member("athlete")
    client = client_for(athlete)
    created = client.post(
        "/api/v1/training-sessions/",
        {"date": str(TODAY - timedelta(days=5)), "session_type": "practice", "duration_min": 60,
         "rpe": 6},
    )  # fmt: skip
    assert created.status_code == 201, created.content
    train(athlete, TODAY - timedelta(days=2))
    assert_table_matches_sessions(athlete)
    url = f"/api/v1/training-sessions/{created.json()['id']}/"
    assert client.patch(url, {"date": str(TODAY - timedelta(days=1))}).status_code == 200
    assert_table_matches_sessions(athlete)
    assert client.patch(url, {"rpe": 9}).status_code == 200
    assert_table_matches_sessions(athlete)
    assert client.delete(url).status_code == 204
    assert_table_matches_sessions(athlete)


def test_bulk_writes_refresh_in_a_constant_number_of_queries(django_assert_num_queries):
    athletes = [AthleteFactory() for _ in range(4)]
    for athlete in athletes:
        train(athlete, D0)
    rows = [
        TrainingSession(
            athlete=athlete, date=D0 + timedelta(days=day), session_type="practice",
            duration_min=45, rpe=day % 10, load_au=45 * (day % 10),
        )
        for athlete in athletes
        for day in range(5, 50, 2)
    ]  # fmt: skip
    TrainingSession.objects.bulk_create(rows)  # no signals: the writer refreshes
    # lock, the state before the day, the daily sums, delete, one INSERT
    with django_assert_num_queries(5):
        refresh_daily_loads(athlete_ids=[a.pk for a in athletes], from_day=D0 + timedelta(days=5))
    for athlete in athletes:
        assert_table_matches_sessions(athlete)


def test_refresh_without_a_day_repairs_what_a_writer_left_behind(django_assert_num_queries):
    athlete, untouched = AthleteFactory(), AthleteFactory()
    for offset in range(0, 40, 4):
        train(athlete, D0 + timedelta(days=offset))
        train(untouched, D0 + timedelta(days=offset))
    TrainingSession.objects.filter(athlete=athlete, date=D0 + timedelta(days=20)).update(
        load_au=999
    )  # an update through a queryset: no signal
    AthleteDailyLoad.objects.filter(athlete=athlete, day__gte=D0 + timedelta(days=32)).delete()
    versions = state_versions(athlete, untouched)
    with django_assert_num_queries(6):  # lock, sums, stored loads, delete, insert, state bump
        refresh_daily_loads(athlete_ids=[athlete.pk, untouched.pk])
    assert_table_matches_sessions(athlete)
    assert_table_matches_sessions(untouched)
    # The repaired athlete's stored views are stale now; the other's are not.
    assert state_versions(athlete, untouched) == [versions[0] + 1, versions[1]]
    with django_assert_num_queries(3):  # nothing differs: nothing written
        refresh_daily_loads(athlete_ids=[athlete.pk, untouched.pk])


def test_the_management_command_rebuilds_every_athlete():
    athlete = AthleteFactory()
    for offset in (0, 6, 13):
        train(athlete, D0 + timedelta(days=offset))
    AthleteDailyLoad.objects.all().delete()
    call_command("refresh_daily_loads", verbosity=0)
    assert_table_matches_sessions(athlete)
