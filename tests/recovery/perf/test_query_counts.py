"""What the benchmark (bench/run) proved, kept as query counts: every benchmarked endpoint runs
the same number of queries at two data sizes, within a bound, counted as the benchmark counts
them (a real JWT, so the authentication's user lookup is included). Each test builds both sizes
and compares them in one place, so "constant" is asserted rather than two numbers that happen
to match. The team reads are counted twice: the second request (as `bench/django_tasks.py
queries` counts) within the bound, and the first one too, which may fill what the second reuses
but must not pay per athlete either. Where issue #8 sets a target the bound is that target
(dashboard <= 8, metrics <= 4); elsewhere the bound is today's count plus room for one more
read, with the queries named. Timings are the benchmark's business."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.auth import issue_tokens
from accounts.models import Role
from recovery.models import MuscleGroup, TrainingSession
from recovery.sync.cursor import current_horizon
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
from tests.factories.api import push_records

NOW = datetime.now(UTC) - timedelta(minutes=1)  # real time: the per-user throttle reads the clock
TODAY = NOW.date()

# The issue's targets.
DASHBOARD_MAX = 8
METRICS_MAX = 4


def jwt(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user)['access']}")
    return api_client


def count(send: Callable[[], Any], *, status: int = 200) -> int:
    """Queries of one request (its answer must be `status`)."""
    with CaptureQueriesContext(connection) as captured:
        response = send()
    assert response.status_code == status, response.content[:500]
    return len(captured)


def warm_count(send: Callable[[], Any]) -> tuple[int, int]:
    """(queries of a first request, queries of the same request sent again)."""
    return count(send), count(send)


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


def history(athlete, days: int) -> None:
    """`days` more days of training, a soreness report every other day, a weekly massage."""
    for day in range(days):
        TrainingSessionFactory(athlete=athlete, date=TODAY - timedelta(days=31 + day))
        if day % 2 == 0:
            report = SorenessReportFactory(
                athlete=athlete, reported_at=NOW - timedelta(days=31 + day, hours=2)
            )
            SorenessEntryFactory(report=report)
        if day % 7 == 0:
            session = MassageSessionFactory(
                athlete=athlete, status="completed", scheduled_at=NOW - timedelta(days=31 + day)
            )
            TreatedAreaFactory.create_batch(3, session=session)


# --- reads ---------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_team_dashboard_queries_are_the_same_for_6_and_40_athletes(api_client):
    """First read, a read again, and a read after one athlete has reported soreness (what a
    coach meets during the day): each the same count for 6 and 40 athletes, the last two within
    the issue's 8."""
    counts = {}
    for size in (6, 40):
        team = TeamFactory()
        coach = MembershipFactory(team=team, role=Role.COACH).user
        athletes = [busy_athlete(team, index) for index in range(size)]
        url = f"/api/v1/teams/{team.pk}/dashboard/"
        bearer = f"Bearer {issue_tokens(coach)['access']}"

        def read(bearer=bearer, url=url):
            api_client.credentials(HTTP_AUTHORIZATION=bearer)
            return api_client.get(url)

        cold, warm = warm_count(read)
        report = {"reported_at": (timezone.now() - timedelta(minutes=1)).isoformat(),
                  "date": str(timezone.localdate()), "entries": [
                      {"muscle_group": "hamstrings", "side": "left", "severity": 6,
                       "kind": "doms"}]}  # fmt: skip
        posted = jwt(api_client, athletes[0]).post(
            "/api/v1/soreness-reports/", report, format="json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )  # fmt: skip
        assert posted.status_code == 201, posted.content[:500]
        counts[size] = (cold, warm, count(read))
        assert read().json()["summary"]["athletes"] == size
    # At the start 8 every time: user, access, team, athletes, load metrics, signals (UNION),
    # catalogue, wellness. With the per-athlete state table: cold = user, team, the athletes
    # with their stored state, signals, load metrics, the states' upsert; warm = the first three.
    cold, warm, after_write = zip(*counts.values(), strict=True)
    assert warm[0] == warm[1] <= DASHBOARD_MAX, counts
    assert after_write[0] == after_write[1] <= DASHBOARD_MAX, counts
    assert cold[0] == cold[1], counts  # a first read does not pay per athlete either


@pytest.mark.django_db
def test_therapist_queue_queries_are_the_same_for_5_and_30_athletes(api_client):
    counts = {}
    for size in (5, 30):
        team = TeamFactory()
        therapist = MembershipFactory(team=team, role=Role.THERAPIST).user
        for index in range(size):
            busy_athlete(team, index)
        client = jwt(api_client, therapist)
        counts[size] = warm_count(lambda client=client: client.get("/api/v1/therapist-queue/"))
        assert len(client.get("/api/v1/therapist-queue/").json()) == size
    cold, warm = zip(*counts.values(), strict=True)
    # Cold (6): user, the therapist's teams, the athletes with their stored state, signals
    # (UNION), load metrics, the states' upsert; warm (3): the first three. Room for one more.
    assert warm[0] == warm[1] <= 7, counts
    assert cold[0] == cold[1], counts


@pytest.mark.django_db
def test_recommendation_queries_are_the_same_for_a_short_and_a_long_history(api_client):
    team = TeamFactory()
    therapist = MembershipFactory(team=team, role=Role.THERAPIST).user
    client = jwt(api_client, therapist)
    counts = {}
    for days in (3, 120):
        athlete = busy_athlete(team)
        history(athlete, days)
        url = f"/api/v1/athletes/{athlete.pk}/recommendation/"
        counts[days] = warm_count(lambda url=url: client.get(url))
    cold, warm = zip(*counts.values(), strict=True)
    # Cold (5): user, the athlete with sport, zone and stored state, signals (UNION), load
    # metrics, the state's upsert; warm (2): the first two. Room for one more.
    assert warm[0] == warm[1] <= 6, counts
    assert cold[0] == cold[1], counts


@pytest.mark.django_db
def test_athlete_metrics_at_most_four_queries_for_7_and_365_days(api_client):
    team = TeamFactory()
    coach = MembershipFactory(team=team, role=Role.COACH).user
    client = jwt(api_client, coach)
    counts = {}
    for days in (7, 365):
        athlete = busy_athlete(team)
        for day in range(30, days + 30, 3):  # a history as long as the range asked for
            TrainingSessionFactory(athlete=athlete, date=TODAY - timedelta(days=day))
        params = {"date_from": str(TODAY - timedelta(days=days - 1)), "date_to": str(TODAY)}
        url = f"/api/v1/athletes/{athlete.pk}/metrics/"
        counts[days] = count(lambda url=url, params=params: client.get(url, params))
        assert len(client.get(url, params).json()["days"]) == days
    # 2 now: user, then the athlete's time zone if visible with the stored days (both ends of
    # the range are given; the default range takes one more, the time zone first).
    assert counts[7] == counts[365] <= METRICS_MAX, counts


@pytest.mark.django_db
def test_training_list_first_and_deep_page_run_the_same_queries_at_two_table_sizes(api_client):
    """Cursor pagination: a page 20 deep costs what the first costs, on a table of 120 or 600
    sessions (three athletes, a session a day each), and never counts the table or skips rows
    with an OFFSET: the cursor holds the last row's (date, created_at, id) and the next page is
    the rows beyond it (backend/api/pagination.py)."""
    counts = {}
    for size in (120, 600):
        team = TeamFactory()
        coach = MembershipFactory(team=team, role=Role.COACH).user
        sessions = [
            TrainingSessionFactory.build(athlete=athlete, date=TODAY - timedelta(days=day))
            for athlete in (MembershipFactory(team=team, role=Role.ATHLETE).user for _ in range(3))
            for day in range(size // 3)
        ]
        TrainingSession.objects.bulk_create(sessions)  # the list reads no derived table
        client = jwt(api_client, coach)
        url, pages = "/api/v1/training-sessions/?page_size=5", []
        for _ in range(21):
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url)
            assert response.status_code == 200
            pages.append(len(captured))
            sql = " ".join(q["sql"] for q in captured.captured_queries).upper()
            assert "COUNT(" not in sql
            assert "OFFSET" not in sql, sql
            url = response.json()["next"]
        counts[size] = (pages[0], pages[-1])
    # 2: user, the page.
    assert set(counts[120]) == set(counts[600]) == {2}, counts


# --- writes --------------------------------------------------------------------------------------
@pytest.fixture
def muscle_groups() -> list[str]:
    return list(MuscleGroup.objects.order_by("sort_order").values_list("code", flat=True))


@pytest.mark.django_db
def test_soreness_post_runs_the_same_queries_for_1_and_10_entries_and_any_history(
    api_client, muscle_groups
):
    team = TeamFactory()
    counts = {}
    for n_entries, days in ((1, 0), (10, 120)):
        athlete = busy_athlete(team)
        history(athlete, days)
        client = jwt(api_client, athlete)
        body = {
            "reported_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
            "date": str(timezone.localdate()),
            "sleep_quality": 4,
            "fatigue": 3,
            "stress": 4,
            "mood": 4,
            "general_soreness": 3,
            "entries": [
                {"muscle_group": code, "side": "both", "severity": 3, "kind": "doms"}
                for code in muscle_groups[:n_entries]
            ],
        }

        def post(client=client, body=body):
            return client.post(
                "/api/v1/soreness-reports/", body, format="json",
                HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
            )  # fmt: skip

        counts[n_entries] = [count(post, status=201) for _ in range(2)]
    # PostgreSQL 9: user, the request's transaction (here a savepoint: 2), the idempotency claim
    # and its stored answer, the access check, the report (ON CONFLICT DO NOTHING: no savepoint
    # of its own), its entries (one bulk INSERT), the change-log row with the athlete's state
    # bump (one statement). SQLite 12: the report's savepoint (2) and the state bump on its own.
    today = 9 if connection.vendor == "postgresql" else 12
    assert counts[1][1] == counts[10][1] <= today + 1, counts


@pytest.mark.django_db
def test_sync_push_runs_the_same_queries_for_50_and_500_records(api_client):
    team = TeamFactory()
    athlete = busy_athlete(team)
    client = jwt(api_client, athlete)
    day, reported_at = str(timezone.localdate()), (timezone.now() - timedelta(minutes=2))
    counts = {}
    for n_records in (50, 500):
        records = push_records(n_records, day, reported_at.isoformat())
        with CaptureQueriesContext(connection) as captured:
            response = client.post("/api/v1/sync/", {"records": records}, format="json")
        assert response.status_code == 200, response.content[:500]
        assert response.json()["counts"]["created"] == n_records
        counts[n_records] = len(captured)
    # PostgreSQL 13, SQLite 16: user, the batch's lookups per kind, one bulk INSERT per table,
    # the daily-load refresh, the change log with the athletes' state (one statement on
    # PostgreSQL), the savepoints around them.
    today = 13 if connection.vendor == "postgresql" else 16
    assert counts[50] == counts[500] <= today + 1, counts


# --- sync pull (committed data: a pull sees only finished transactions) --------------------------
transactional = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(scope="module", autouse=True)
def _catalogue_back_after_this_module(django_db_blocker) -> Iterator[None]:
    """A transactional test ends with a flush that empties the seeded catalogue (see
    tests/recovery/sync/test_sync_pull.py): put it back for the next test file on this worker."""
    yield
    contents = getattr(connection, "_test_serialized_contents", None)
    if contents:
        with django_db_blocker.unblock():
            connection.creation.deserialize_db_from_string(contents)


def settle(timeout: float = 60.0) -> None:
    """PostgreSQL: wait until every transaction begun before now has ended (other test workers
    included), so that a pull's horizon is past our commits."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")
        mark = cursor.fetchone()[0]
    deadline = time.monotonic() + timeout
    while current_horizon() <= mark:
        assert time.monotonic() < deadline, "a transaction elsewhere stays open"
        time.sleep(0.02)


@transactional
def test_sync_pull_of_50_and_500_changes_runs_the_same_queries(api_client):
    team = TeamFactory()
    athlete = MembershipFactory(team=team, role=Role.ATHLETE).user
    client = jwt(api_client, athlete)
    day, reported_at = str(timezone.localdate()), (timezone.now() - timedelta(minutes=2))
    settle()
    cursor = client.get("/api/v1/sync/", {"limit": 500}).json()["next_cursor"]  # empty snapshot
    counts = {}
    for n_changes in (50, 500):
        records = push_records(n_changes, day, reported_at.isoformat())
        assert client.post("/api/v1/sync/", {"records": records}, format="json").status_code == 200
        settle()
        with CaptureQueriesContext(connection) as captured:
            page = client.get("/api/v1/sync/", {"since": cursor, "limit": 500}).json()
        assert len(page["changes"]) == n_changes
        assert {c["kind"] for c in page["changes"]} == {"training_session", "soreness_report"}
        counts[n_changes] = len(captured)
        cursor = page["next_cursor"]
    # 6 now: user, the horizon, the change rows, one query per record kind present (training
    # sessions; soreness reports with their entries prefetched).
    assert counts[50] == counts[500] <= 8, counts
