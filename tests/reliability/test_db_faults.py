"""Database faults, with figures (docs/reliability.md):

(a) the app's connection is killed between requests: with CONN_HEALTH_CHECKS the next request
    reconnects and succeeds; without, each kill costs one failed (503) request;
(b) the connection is killed in the middle of a multi-row write: 503 problem+json with
    Retry-After, no partial rows, every acknowledged write present, and a retry stores it once;
(c) every app's migrations go back to zero and forward again.

(a)-(c) need PostgreSQL (a second connection that terminates the first, transactional DDL); the
mapping of connection errors to 503 is checked on every database.
"""

from __future__ import annotations

import time
import uuid
from io import StringIO

import psycopg
import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.db import InterfaceError, OperationalError, connection
from django.db.migrations.executor import MigrationExecutor
from django.test.client import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.auth import issue_tokens
from recovery.models import IdempotencyRecord, SorenessEntry, SorenessReport
from tests.factories import AthleteFactory

PROBLEM = "application/problem+json"
ON_POSTGRESQL = "postgresql" in settings.DATABASES["default"]["ENGINE"]
# Decided at collection: a transactional fixture on SQLite would flush tables for nothing.
requires_postgresql = pytest.mark.skipif(
    not ON_POSTGRESQL,
    reason="needs PostgreSQL: a second connection runs pg_terminate_backend on the app's "
    "(CI runs it on PostgreSQL)",
)
OUR_APPS = ["accounts", "recovery"]


def terminate_app_connection() -> int:
    """Kill the backend serving Django's connection from a second connection; wait until gone."""
    pid = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(100):
            alive = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]
            ).fetchone()
            if alive == (0,):
                return pid
            time.sleep(0.02)
    raise AssertionError(f"backend {pid} survived pg_terminate_backend")


# --- 503 mapping (every database) ---------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_a_lost_database_is_503_problem_with_retry_after(client_for, monkeypatch, error):
    from accounts import selectors

    def lost(**kwargs):
        raise error("server closed the connection unexpectedly")

    monkeypatch.setattr(selectors, "me_detail", lost)
    response = client_for(AthleteFactory()).get("/api/v1/me/")
    assert response.status_code == 503
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "database_unavailable"
    assert int(response["Retry-After"]) > 0
    assert "server closed" not in response.content.decode()  # nothing internal leaks


# --- (a) killed between requests ---------------------------------------------------------------


def _wsgi_get(handler: WSGIHandler, path: str, access: str) -> int:
    """One request through Django's real WSGI path (request_started/finished signals included,
    which the test client leaves out): that is where persistent connections are checked."""
    environ = RequestFactory()._base_environ(
        PATH_INFO=path, REQUEST_METHOD="GET", HTTP_AUTHORIZATION=f"Bearer {access}"
    )
    status: list[int] = []
    response = handler(environ, lambda s, headers, exc_info=None: status.append(int(s[:3])))
    b"".join(response)
    response.close()
    return status[0]


def _kill_between_requests(monkeypatch, *, health_checks: bool, kills: int) -> list[int]:
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 600)
    monkeypatch.setitem(connection.settings_dict, "CONN_HEALTH_CHECKS", health_checks)
    connection.close()
    access = issue_tokens(AthleteFactory())["access"]
    handler = WSGIHandler()
    assert _wsgi_get(handler, "/api/v1/me/", access) == 200
    statuses = []
    for _ in range(kills):
        terminate_app_connection()
        statuses.append(_wsgi_get(handler, "/api/v1/me/", access))
        statuses.append(_wsgi_get(handler, "/api/v1/me/", access))
    return statuses


@requires_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_connection_killed_between_requests_costs_no_request_with_health_checks(monkeypatch):
    statuses = _kill_between_requests(monkeypatch, health_checks=True, kills=20)
    failures = sum(1 for s in statuses if s != 200)
    print(
        f"\n(a) 20 kills between requests, CONN_HEALTH_CHECKS on: {failures} failed of {len(statuses)}"
    )
    assert failures == 0


@requires_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_without_health_checks_each_kill_costs_one_503(monkeypatch):
    statuses = _kill_between_requests(monkeypatch, health_checks=False, kills=5)
    failures = [s for s in statuses if s != 200]
    print(
        f"\n(a') 5 kills between requests, CONN_HEALTH_CHECKS off: {len(failures)} failed {failures}"
    )
    assert failures == [503] * 5  # the request after each kill; the one after that reconnects


# --- (b) killed during a multi-row write -------------------------------------------------------


def _report(entries: int = 3) -> dict:
    now = timezone.now()
    return {
        "id": str(uuid.uuid4()),
        "reported_at": now.isoformat(),
        "date": now.date().isoformat(),
        "fatigue": 3,
        "entries": [
            {"muscle_group": group, "side": "left", "severity": 4, "kind": "doms"}
            for group in ["hamstrings", "quadriceps", "gastrocnemius", "adductors"][:entries]
        ],
    }


@requires_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_connection_killed_mid_write_leaves_no_partial_rows_and_loses_no_ack(
    before_insert_of,
):
    athlete = AthleteFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(athlete)['access']}")
    kill_now = {"armed": False}

    def die_if_armed():
        # The report row is written; the connection dies before its entries are.
        if kill_now["armed"]:
            kill_now["armed"] = False
            terminate_app_connection()

    before_insert_of(SorenessEntry, die_if_armed)
    bodies = [_report() for _ in range(12)]
    killed_at = {2, 5, 9}
    outcomes = {}
    for index, body in enumerate(bodies):
        kill_now["armed"] = index in killed_at
        response = client.post(
            "/api/v1/soreness-reports/", body, HTTP_IDEMPOTENCY_KEY=f"report-{index}"
        )
        outcomes[index] = response
        if index in killed_at:
            assert response.status_code == 503, response.content
            assert response["Content-Type"] == PROBLEM
            assert response.json()["code"] == "database_unavailable"
            assert int(response["Retry-After"]) > 0

    acknowledged = [bodies[i]["id"] for i, r in outcomes.items() if 200 <= r.status_code < 300]
    stored = set(map(str, SorenessReport.objects.values_list("id", flat=True)))
    partial = SorenessReport.objects.exclude(
        id__in=SorenessEntry.objects.values("report_id")
    ).count()
    lost = [report_id for report_id in acknowledged if report_id not in stored]
    entries = SorenessEntry.objects.count()
    print(
        f"\n(b) 12 report writes (3 entries each), {len(killed_at)} killed mid-transaction: "
        f"{sum(r.status_code == 503 for r in outcomes.values())} x 503, "
        f"{len(acknowledged)} acknowledged, {len(lost)} acknowledged but missing, "
        f"{partial} partial reports, {entries} entries for {len(stored)} reports"
    )
    assert len(acknowledged) == len(bodies) - len(killed_at)
    assert lost == []
    assert partial == 0
    assert stored == set(acknowledged)
    assert entries == 3 * len(stored)
    assert not IdempotencyRecord.objects.filter(key__in=[f"report-{i}" for i in killed_at]).exists()

    # The phone retries what failed, with the same key and body: each is stored exactly once.
    for index in sorted(killed_at):
        retry = client.post(
            "/api/v1/soreness-reports/", bodies[index], HTTP_IDEMPOTENCY_KEY=f"report-{index}"
        )
        assert retry.status_code == 201
    assert SorenessReport.objects.count() == len(bodies)
    assert SorenessEntry.objects.count() == 3 * len(bodies)


# --- (c) migrations: back to zero and forward again --------------------------------------------


@pytest.mark.skipif(
    not ON_POSTGRESQL,
    reason="the production database's DDL (and its audit trigger) is PostgreSQL's",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_every_app_migrates_to_zero_and_forward_again():
    figures = []
    for app in OUR_APPS:
        started = time.monotonic()
        call_command("migrate", app, "zero", verbosity=0, stdout=StringIO())
        executor = MigrationExecutor(connection)
        unapplied = [key for key in executor.loader.graph.nodes if key[0] == app]
        assert not [key for key in unapplied if key in executor.loader.applied_migrations]
        call_command("migrate", verbosity=0, stdout=StringIO())
        figures.append(f"{app}: {len(unapplied)} migrations, {time.monotonic() - started:.1f} s")
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []
    print(f"\n(c) migrate <app> zero, then migrate: {'; '.join(figures)}")
    # The catalogue seeded by the data migration is back, and the audit trigger with it.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM recovery_musclegroup")
        assert cursor.fetchone()[0] > 0
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'accounts_auditentry_append_only'"
        )
        assert cursor.fetchone() == (1,)
