"""The sync push brings the per-day load table along by adding the pushed sessions' loads to the
stored day loads (`refresh_daily_loads(added=...)`), not by summing every session of the days
pushed again: the table still reads as the raw series does, whatever days the batch covers
(days with stored sessions, back-dated before the first, after a gap, one day twice), retries
add nothing, and the refresh reads no training sessions."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recovery.models import AthleteDailyLoad, TrainingSession
from recovery.services.daily_loads import refresh_daily_loads
from tests.recovery.perf.test_daily_loads import D0, assert_table_matches_sessions, train

pytestmark = pytest.mark.django_db

URL = "/api/v1/sync/"


def session(day, *, rpe: int = 5, minutes: int = 60, athlete=None) -> dict:
    data = {
        "id": str(uuid.uuid4()),
        "date": day.isoformat(),
        "session_type": "practice",
        "duration_min": minutes,
        "rpe": rpe,
    }
    if athlete is not None:
        data["athlete"] = str(athlete.pk)
    return {"kind": "training_session", "data": data}


def push(client, records: list) -> list[str]:
    response = client.post(URL, {"records": records}, format="json")
    assert response.status_code == 200, response.content
    return [row["result"] for row in response.json()["results"]]


def test_pushed_loads_add_to_the_stored_days(client_for, member):
    athlete = member("athlete")
    for offset in (10, 11, 20):
        train(athlete, D0 + timedelta(days=offset), minutes=40)
    client = client_for(athlete)
    batches = [
        [session(D0 + timedelta(days=11)), session(D0 + timedelta(days=11), rpe=3)],  # stored day
        [session(D0 + timedelta(days=30)), session(D0 + timedelta(days=25), minutes=20)],  # gaps
        [session(D0 + timedelta(days=2), rpe=8)],  # before the first session
        [session(D0 + timedelta(days=20)), session(D0 + timedelta(days=45))],
    ]
    for records in batches:
        assert push(client, records) == ["created"] * len(records)
        assert_table_matches_sessions(athlete)
    assert push(client, batches[0]) == ["unchanged", "unchanged"]  # a retry adds nothing
    assert_table_matches_sessions(athlete)
    day = AthleteDailyLoad.objects.get(athlete=athlete, day=D0 + timedelta(days=11))
    assert day.load_au == 40 * 5 + 60 * 5 + 60 * 3


def test_a_batch_for_several_athletes(client_for, member):
    athletes = [member("athlete"), member("athlete")]
    train(athletes[0], D0 + timedelta(days=5))
    records = [
        session(D0 + timedelta(days=offset), athlete=athlete)
        for athlete in athletes
        for offset in (5, 7, 7)
    ]
    assert push(client_for(member("therapist")), records) == ["created"] * 6
    for athlete in athletes:
        assert_table_matches_sessions(athlete)


def test_the_push_refresh_reads_the_day_rows_not_the_sessions(client_for, member):
    athlete = member("athlete")
    for _ in range(3):
        train(athlete, D0 + timedelta(days=1))
    with CaptureQueriesContext(connection) as queries:
        push(client_for(athlete), [session(D0 + timedelta(days=1)) for _ in range(5)])
    table = TrainingSession._meta.db_table
    sums = [q["sql"] for q in queries.captured_queries if "SUM(" in q["sql"].upper()]
    assert not [sql for sql in sums if table in sql], sums
    assert_table_matches_sessions(athlete)


def test_refresh_with_added_loads_equals_a_rebuild(member):
    athlete = member("athlete")
    for offset in (0, 3, 9):
        train(athlete, D0 + timedelta(days=offset))
    new = [
        TrainingSession(
            athlete=athlete, date=D0 + timedelta(days=o), duration_min=30, rpe=4, load_au=120
        )
        for o in (3, 12, 12)
    ]
    TrainingSession.objects.bulk_create(new)  # no signals: the caller hands over the loads
    added: dict = {}
    for row in new:
        added[(athlete.pk, row.date)] = added.get((athlete.pk, row.date), 0) + row.load_au
    refresh_daily_loads(athlete_ids=[athlete.pk], from_day=D0 + timedelta(days=3), added=added)
    assert_table_matches_sessions(athlete)
