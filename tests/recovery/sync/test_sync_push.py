"""Sync push (`POST /api/v1/sync/`): a result per record (created, unchanged, conflict, invalid,
forbidden), never all or nothing; the valid records stored in one transaction with the values the
services derive; safe to repeat; queries that do not grow with the batch."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from recovery.models import (
    Injury,
    MassageSession,
    SorenessEntry,
    SorenessReport,
    SyncChange,
    TrainingSession,
    TreatedArea,
)
from tests.factories import MembershipFactory, TrainingSessionFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/sync/"
PROBLEM = "application/problem+json"
TODAY = timezone.localdate().isoformat()


def training(**overrides: object) -> dict:
    data = {
        "id": str(uuid.uuid4()),
        "date": TODAY,
        "session_type": "practice",
        "duration_min": 60,
        "rpe": 6,
    }
    return {"kind": "training_session", "data": {**data, **overrides}}


def soreness(**overrides: object) -> dict:
    data = {
        "id": str(uuid.uuid4()),
        "reported_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "date": TODAY,
        "sleep_quality": 4,
        "entries": [
            {"muscle_group": "hamstrings", "side": "left", "severity": 8, "kind": "pain"},
            {"muscle_group": "rectus_abdominis", "severity": 2, "kind": "tightness"},
        ],
    }
    return {"kind": "soreness_report", "data": {**data, **overrides}}


def injury(athlete, **overrides: object) -> dict:
    data = {
        "id": str(uuid.uuid4()),
        "athlete": str(athlete.pk),
        "muscle_group": "hamstrings",
        "side": "left",
        "onset_date": TODAY,
    }
    return {"kind": "injury", "data": {**data, **overrides}}


def massage(athlete, **overrides: object) -> dict:
    data = {
        "id": str(uuid.uuid4()),
        "athlete": str(athlete.pk),
        "scheduled_at": (timezone.now() + timedelta(days=1)).isoformat(),
        "clinical_notes": "Reassess in 72 h.",
        "treated_areas": [
            {
                "muscle_group": "quadriceps",
                "side": "right",
                "technique": "effleurage_flush",
                "pressure": "light",
            }
        ],
    }
    return {"kind": "massage_session", "data": {**data, **overrides}}


def push(client, records: list) -> dict:
    response = client.post(URL, {"records": records}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def results(body: dict) -> list[str]:
    return [row["result"] for row in body["results"]]


@pytest.fixture
def athlete(member):
    return member("athlete")


@pytest.fixture
def therapist(member):
    return member("therapist")


def test_one_bad_record_does_not_cost_the_good_ones(client_for, athlete):
    records = [
        training(rpe=7, duration_min=45),
        training(rpe=11),  # invalid: CR-10
        soreness(),
        {"kind": "nap", "data": {}},  # unknown kind
        injury(athlete),  # athletes do not record injuries
        training(),
    ]
    body = push(client_for(athlete), records)

    assert results(body) == ["created", "invalid", "created", "invalid", "forbidden", "created"]
    assert body["counts"] == {
        "created": 3,
        "unchanged": 0,
        "conflict": 0,
        "invalid": 2,
        "forbidden": 1,
    }
    bad = body["results"][1]
    assert bad["code"] == "validation_error"
    assert bad["errors"] == [
        {
            "field": "data.rpe",
            "message": "Ensure this value is less than or equal to 10.",
            "code": "max_value",
        }
    ]
    assert body["results"][3]["kind"] is None
    assert [e["field"] for e in body["results"][3]["errors"]] == ["kind"]
    assert body["results"][4]["code"] == "permission_denied"

    assert TrainingSession.objects.count() == 2
    logged = TrainingSession.objects.get(pk=records[0]["data"]["id"])
    assert (logged.load_au, logged.created_by_id, logged.athlete_id) == (
        315,
        athlete.pk,
        athlete.pk,
    )
    report = SorenessReport.objects.get(pk=records[2]["data"]["id"])
    assert sorted(report.entries.values_list("severity", "flagged")) == [(2, False), (8, True)]
    assert not Injury.objects.exists()
    created_ids = {uuid.UUID(row["id"]) for row in body["results"] if row["result"] == "created"}
    assert set(SyncChange.objects.values_list("record_id", flat=True)) >= created_ids


def test_pushed_sessions_are_in_the_daily_load_table(client_for, athlete):
    from recovery.models import AthleteDailyLoad

    push(client_for(athlete), [training(rpe=5, duration_min=60), training(rpe=4, duration_min=30)])
    day = AthleteDailyLoad.objects.get(athlete=athlete, day=TODAY)
    assert day.load_au == 420


def test_pushing_the_same_batch_again_changes_nothing(client_for, athlete):
    records = [training(), soreness(), training(rpe=11), training(notes="evening run")]
    client = client_for(athlete)
    first = push(client, records)
    counts = (TrainingSession.objects.count(), SorenessEntry.objects.count())

    again = push(client, records)

    assert results(first) == ["created", "created", "invalid", "created"]
    assert results(again) == ["unchanged", "unchanged", "invalid", "unchanged"]
    assert (TrainingSession.objects.count(), SorenessEntry.objects.count()) == counts


def test_entries_in_another_order_are_the_same_report(client_for, athlete):
    record = soreness()
    client = client_for(athlete)
    push(client, [record])
    record["data"]["entries"].reverse()
    assert results(push(client, [record])) == ["unchanged"]


def test_an_id_with_other_content_is_a_conflict_that_says_nothing_about_whose(
    client_for, team, athlete
):
    client = client_for(athlete)
    mine = training(rpe=5)
    push(client, [mine])
    stranger_session = TrainingSessionFactory()  # another team's athlete

    body = push(
        client,
        [
            training(id=mine["data"]["id"], rpe=9),
            training(id=str(stranger_session.pk)),
        ],
    )
    assert results(body) == ["conflict", "conflict"]
    own, foreign = body["results"]
    assert (own["code"], own["detail"]) == (foreign["code"], foreign["detail"])
    assert own["code"] == "id_conflict"
    assert TrainingSession.objects.get(pk=mine["data"]["id"]).rpe == 5
    assert TrainingSession.objects.get(pk=stranger_session.pk).athlete_id != athlete.pk


def test_a_repeated_id_within_one_batch(client_for, athlete):
    first = training()
    body = push(client_for(athlete), [first, first, training(id=first["data"]["id"], rpe=2)])
    assert results(body) == ["created", "unchanged", "conflict"]
    assert TrainingSession.objects.count() == 1


def test_therapist_pushes_sessions_injuries_and_massage(client_for, athlete, therapist):
    records = [
        training(athlete=str(athlete.pk)),
        injury(athlete, status="resolved"),
        massage(athlete),
        soreness(athlete=str(athlete.pk)),  # only the athlete submits soreness
    ]
    body = push(client_for(therapist), records)

    assert results(body) == ["created", "created", "created", "forbidden"]
    injury_row = Injury.objects.get()
    assert (injury_row.created_by_id, injury_row.resolved_date) == (
        therapist.pk,
        timezone.now().date(),
    )
    session = MassageSession.objects.get()
    assert (session.therapist_id, session.status, session.athlete_id) == (
        therapist.pk,
        "planned",
        athlete.pk,
    )
    assert TreatedArea.objects.filter(session=session).count() == 1
    assert results(push(client_for(therapist), records[:3])) == ["unchanged"] * 3


@pytest.mark.parametrize("role", [Role.ATHLETE, Role.COACH, Role.ADMIN])
def test_only_therapists_push_massage_sessions(client_for, team, athlete, member, role):
    caller = athlete if role == Role.ATHLETE else member(role)
    body = push(client_for(caller), [massage(athlete)])
    assert results(body) == ["forbidden"]
    assert not MassageSession.objects.exists()


def test_an_athlete_the_caller_cannot_see_is_invalid_without_a_leak(client_for, therapist):
    stranger = MembershipFactory(role=Role.ATHLETE).user  # another team
    body = push(
        client_for(therapist),
        [training(athlete=str(stranger.pk)), training(athlete=str(uuid.uuid4()))],
    )
    assert results(body) == ["invalid", "invalid"]
    assert body["results"][0]["errors"] == body["results"][1]["errors"]
    assert body["results"][0]["errors"][0]["field"] == "data.athlete"
    assert not TrainingSession.objects.exists()


def test_nested_field_errors_name_their_path(client_for, athlete):
    record = soreness()
    record["data"]["entries"][1]["muscle_group"] = "wings"
    body = push(client_for(athlete), [record])
    assert [e["field"] for e in body["results"][0]["errors"]] == ["data.entries.1.muscle_group"]


@pytest.mark.parametrize("size", [50, 500])
def test_a_batch_is_one_transaction_of_bulk_writes(client_for, athlete, size):
    records = [training() if i % 2 else soreness() for i in range(size)]
    with CaptureQueriesContext(connection) as queries:
        body = push(client_for(athlete), records)
    assert body["counts"]["created"] == size
    # The change log is `WITH ... INSERT` on PostgreSQL (its rows and the state bump together).
    writes = ("INSERT", "WITH")
    inserts = Counter(q["sql"].split('"')[1] for q in queries if q["sql"].startswith(writes))
    assert set(inserts) >= {
        "recovery_athletedailyload",
        "recovery_sorenessentry",
        "recovery_sorenessreport",
        "recovery_syncchange",
        "recovery_trainingsession",
    }
    assert set(inserts.values()) == {1}  # one statement per table, whatever the batch's size
    assert SyncChange.objects.filter(op="upsert").count() >= size


def test_500_records_take_the_queries_50_do(client_for, athlete, therapist):
    def count(size: int, caller, make) -> int:
        with CaptureQueriesContext(connection) as queries:
            body = push(client_for(caller), [make(i) for i in range(size)])
        assert body["counts"]["created"] == size
        return len(queries)

    def mixed_athlete(i: int) -> dict:
        return training() if i % 2 else soreness()

    def mixed_therapist(i: int) -> dict:
        return (training(athlete=str(athlete.pk)), injury(athlete), massage(athlete))[i % 3]

    athlete_counts = [count(size, athlete, mixed_athlete) for size in (50, 500)]
    therapist_counts = [count(size, therapist, mixed_therapist) for size in (48, 498)]
    assert athlete_counts[0] == athlete_counts[1] < 20
    assert therapist_counts[0] == therapist_counts[1] < 20


def test_more_than_500_records_is_413(client_for, athlete):
    response = client_for(athlete).post(URL, {"records": [training()] * 501}, format="json")
    assert response.status_code == 413
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "sync_batch_too_large"
    assert not TrainingSession.objects.exists()


@pytest.mark.parametrize(
    "body", [[], {"records": "all"}, {"records": [], "extra": 1}, {"items": []}]
)
def test_a_body_that_is_not_a_batch_is_400(client_for, athlete, body):
    response = client_for(athlete).post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_an_empty_batch_is_fine(client_for, athlete):
    assert push(client_for(athlete), []) == {
        "results": [],
        "counts": {"created": 0, "unchanged": 0, "conflict": 0, "invalid": 0, "forbidden": 0},
    }


def test_anonymous_is_401(api_client):
    assert api_client.post(URL, {"records": []}, format="json").status_code == 401
