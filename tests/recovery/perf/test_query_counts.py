"""What the benchmark (bench/run) proved, kept as query counts: every benchmarked endpoint runs
the same number of queries at two data sizes, counted as the benchmark counts them (a real JWT,
so the authentication's user lookup is included). Timings are the benchmark's business."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.auth import issue_tokens
from accounts.models import Role
from recovery.models import MuscleGroup
from tests.factories import (
    InjuryFactory,
    MassageSessionFactory,
    MembershipFactory,
    SorenessEntryFactory,
    SorenessReportFactory,
    TeamFactory,
    TrainingSessionFactory,
    TreatedAreaFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC) - timedelta(minutes=1)  # real time: the per-user throttle reads the clock
TODAY = NOW.date()


def jwt(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user)['access']}")
    return api_client


def busy_athlete(team, index: int = 0):
    """An athlete with a month of training, soreness, a treatment, a match and an injury."""
    athlete = MembershipFactory(team=team, role=Role.ATHLETE).user
    for day in range(0, 30, 2):
        TrainingSessionFactory(
            athlete=athlete, date=TODAY - timedelta(days=day), duration_min=60, rpe=5 + day % 4,
            load_au=60 * (5 + day % 4),
        )  # fmt: skip
    TrainingSessionFactory(
        athlete=athlete, date=TODAY - timedelta(days=1), session_type="match",
        started_at=NOW - timedelta(hours=30),
    )  # fmt: skip
    for hours in (10, 34):
        report = SorenessReportFactory(
            athlete=athlete, reported_at=NOW - timedelta(hours=hours),
            date=(NOW - timedelta(hours=hours)).date(), sleep_quality=4, fatigue=3, stress=4,
            mood=4, general_soreness=3,
        )  # fmt: skip
        SorenessEntryFactory(report=report, severity=3 + index % 5)
    session = MassageSessionFactory(
        athlete=athlete, status="completed", scheduled_at=NOW - timedelta(days=4)
    )
    TreatedAreaFactory(session=session)
    InjuryFactory(athlete=athlete, onset_date=TODAY - timedelta(days=2))
    return athlete


@pytest.mark.parametrize("n_athletes", [6, 40])
def test_team_dashboard_queries_do_not_grow_with_the_team(
    api_client, django_assert_num_queries, n_athletes
):
    team = TeamFactory()
    coach = MembershipFactory(team=team, role=Role.COACH).user
    for index in range(n_athletes):
        busy_athlete(team, index)
    client = jwt(api_client, coach)
    # user, access, team, athletes, load metrics, signals (UNION), catalogue, wellness
    with django_assert_num_queries(8):
        response = client.get(f"/api/v1/teams/{team.pk}/dashboard/")
    assert response.status_code == 200
    assert response.json()["summary"]["athletes"] == n_athletes


@pytest.mark.parametrize("n_athletes", [5, 30])
def test_therapist_queue_queries_do_not_grow_with_the_athletes(
    api_client, django_assert_num_queries, n_athletes
):
    team = TeamFactory()
    therapist = MembershipFactory(team=team, role=Role.THERAPIST).user
    for index in range(n_athletes):
        busy_athlete(team, index)
    client = jwt(api_client, therapist)
    # user, the therapist's teams, athletes, catalogue, signals, load metrics
    with django_assert_num_queries(6):
        response = client.get("/api/v1/therapist-queue/")
    assert response.status_code == 200
    assert len(response.json()) == n_athletes


@pytest.mark.parametrize("n_days", [7, 366])
def test_athlete_metrics_at_most_four_queries_for_any_range(
    api_client, django_assert_num_queries, n_days
):
    team = TeamFactory()
    coach = MembershipFactory(team=team, role=Role.COACH).user
    athlete = busy_athlete(team)
    for day in range(30, 400, 3):
        TrainingSessionFactory(athlete=athlete, date=TODAY - timedelta(days=day))
    client = jwt(api_client, coach)
    params = {"date_from": str(TODAY - timedelta(days=n_days - 1)), "date_to": str(TODAY)}
    with django_assert_num_queries(3):  # user, the athlete with their time zone, daily loads
        response = client.get(f"/api/v1/athletes/{athlete.pk}/metrics/", params)
    assert len(response.json()["days"]) == n_days


@pytest.mark.parametrize("history_days", [3, 90])
def test_recommendation_queries_do_not_grow_with_the_history(
    api_client, django_assert_num_queries, history_days
):
    team = TeamFactory()
    therapist = MembershipFactory(team=team, role=Role.THERAPIST).user
    athlete = busy_athlete(team)
    for day in range(history_days):
        report = SorenessReportFactory(
            athlete=athlete, reported_at=NOW - timedelta(days=day, hours=2)
        )
        SorenessEntryFactory(report=report)
        if day % 7 == 0:
            session = MassageSessionFactory(
                athlete=athlete, status="completed", scheduled_at=NOW - timedelta(days=day)
            )
            TreatedAreaFactory.create_batch(3, session=session)
    client = jwt(api_client, therapist)
    # user, the athlete with sport and zone, catalogue, signals (UNION), load metrics
    with django_assert_num_queries(5):
        response = client.get(f"/api/v1/athletes/{athlete.pk}/recommendation/")
    assert response.status_code == 200


def test_training_list_first_and_deep_page_run_the_same_queries(
    api_client, django_assert_num_queries
):
    team = TeamFactory()
    coach = MembershipFactory(team=team, role=Role.COACH).user
    athlete = MembershipFactory(team=team, role=Role.ATHLETE).user
    TrainingSessionFactory.create_batch(60, athlete=athlete)
    client = jwt(api_client, coach)
    counts = []
    url = "/api/v1/training-sessions/?page_size=5"
    for _ in range(8):
        with django_assert_num_queries(2) as captured:  # user, the page
            response = client.get(url)
        counts.append(len(captured))
        url = response.json()["next"]
    assert counts == [2] * 8
    assert "COUNT(" not in " ".join(q["sql"] for q in captured.captured_queries)


def test_soreness_post_runs_the_same_queries_whatever_the_entries(api_client, muscle_groups):
    team = TeamFactory()
    athlete = MembershipFactory(team=team, role=Role.ATHLETE).user
    client = jwt(api_client, athlete)
    counts = []
    for n_entries in (1, 10):
        body = {
            "reported_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
            "date": str(timezone.localdate()),
            "entries": [
                {"muscle_group": code, "side": "both", "severity": 3, "kind": "doms"}
                for code in muscle_groups[:n_entries]
            ],
        }
        with CaptureQueriesContext(connection) as captured:
            response = client.post(
                "/api/v1/soreness-reports/", body, format="json",
                HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
            )  # fmt: skip
        assert response.status_code == 201, response.content
        counts.append(len(captured))
    assert counts[0] == counts[1]


@pytest.fixture
def muscle_groups() -> list[str]:
    return list(MuscleGroup.objects.order_by("sort_order").values_list("code", flat=True))


def test_sync_push_runs_the_same_queries_for_50_and_500_records(api_client):
    team = TeamFactory()
    athlete = MembershipFactory(team=team, role=Role.ATHLETE).user
    client = jwt(api_client, athlete)
    day = str(timezone.localdate())
    counts = []
    for n_records in (50, 500):
        records = [
            {"kind": "training_session", "data": {"id": str(uuid.uuid4()), "date": day,
             "session_type": "practice", "duration_min": 30 + i % 50, "rpe": 1 + i % 9}}
            for i in range(n_records)
        ]  # fmt: skip
        with CaptureQueriesContext(connection) as captured:
            response = client.post("/api/v1/sync/", {"records": records}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["counts"]["created"] == n_records
        counts.append(len(captured))
    assert counts[0] == counts[1]
