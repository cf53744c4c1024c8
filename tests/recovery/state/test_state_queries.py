"""Queries of the team views and the recommendation with the athletes' state stored (hit), missing
(cold), or stale for one athlete, counted as the benchmark counts them (a real JWT, so the
authentication's user lookup is included): the same at 6 and 60 athletes, at most 8 (issue #8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from accounts.auth import issue_tokens
from accounts.models import Role
from recovery.models import AthleteRecoveryState
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
MAX_QUERIES = 8


def busy_athlete(team, index: int):
    athlete = MembershipFactory(team=team, role=Role.ATHLETE).user
    for day in range(0, 21, 3):
        TrainingSessionFactory(athlete=athlete, date=TODAY - timedelta(days=day))
    for hours in (6, 30):
        report = SorenessReportFactory(
            athlete=athlete, reported_at=NOW - timedelta(hours=hours), sleep_quality=4,
            fatigue=3, stress=4, mood=4, general_soreness=3,
        )  # fmt: skip
        SorenessEntryFactory(report=report, severity=3 + index % 5)
    session = MassageSessionFactory(
        athlete=athlete, status="completed", scheduled_at=NOW - timedelta(days=4)
    )
    TreatedAreaFactory(session=session)
    MassageSessionFactory(athlete=athlete, scheduled_at=NOW + timedelta(days=1))
    InjuryFactory(athlete=athlete, onset_date=TODAY - timedelta(days=2))
    return athlete


def counts(client, url: str, athlete) -> dict[str, int]:
    """Queries of one GET: cold (no stored state), hit (stored), one athlete stale."""

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200, response.content
        return len(captured)

    AthleteRecoveryState.objects.all().delete()
    cold = count()
    hit = count()
    AthleteRecoveryState.objects.filter(athlete=athlete).update(version=F("version") + 1)
    one = count()
    return {"cold": cold, "hit": hit, "one stale": one}


def client_of(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user)['access']}")
    return api_client


def test_team_dashboard(api_client):
    found = {}
    for size in (6, 60):
        team = TeamFactory()
        coach = MembershipFactory(team=team, role=Role.COACH).user
        athletes = [busy_athlete(team, i) for i in range(size)]
        client = client_of(api_client, coach)
        found[size] = counts(client, f"/api/v1/teams/{team.pk}/dashboard/", athletes[3])
    # user, the team if the caller is its staff, the athletes with their stored views; for those
    # stale: the signals (one UNION), the load metrics and the upsert that stores them
    assert found[6] == found[60] == {"cold": 6, "hit": 3, "one stale": 6}
    assert max(found[60].values()) <= MAX_QUERIES


def test_therapist_queue(api_client):
    found = {}
    for size in (6, 60):
        team = TeamFactory()
        therapist = MembershipFactory(team=team, role=Role.THERAPIST).user
        athletes = [busy_athlete(team, i) for i in range(size)]
        found[size] = counts(
            client_of(api_client, therapist), "/api/v1/therapist-queue/", athletes[3]
        )
    # user, the therapist's teams, the athletes with their stored views; for those stale: the
    # signals, the load metrics and the upsert
    assert found[6] == found[60] == {"cold": 6, "hit": 3, "one stale": 6}


def test_recommendation(api_client):
    team = TeamFactory()
    therapist = MembershipFactory(team=team, role=Role.THERAPIST).user
    athlete = busy_athlete(team, 0)
    found = counts(
        client_of(api_client, therapist), f"/api/v1/athletes/{athlete.pk}/recommendation/", athlete
    )
    # user, the athlete (visible to the caller) with the stored recommendation; when stale: the
    # signals with the athlete's sport and time zone, the load metrics and the upsert
    assert found == {"cold": 5, "hit": 2, "one stale": 5}
