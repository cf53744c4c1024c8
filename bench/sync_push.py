"""Benchmark: one 500-record sync push through the real view, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/recovery_dev .venv/bin/python bench/sync_push.py

Creates a throwaway database next to the one in DATABASE_URL (`test_<name>_sync_bench`, dropped at
the end), an athlete in a team, and pushes 500 new records (250 training sessions, 250 soreness
reports of 3 entries) through the whole stack: WSGI handler, middleware (JWT authentication,
Idempotency-Key), view, validation, one transaction of bulk INSERTs. One warm-up push, then 5
timed ones; prints the best and median time and the queries of one push. Exits 1 if the best time
is over 1 s or a push takes 100 queries or more (docs/sync.md, notes/performance.md E2).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.base")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

RECORDS = 500
RUNS = 5
MAX_SECONDS = 1.0
MAX_QUERIES = 100


def batch() -> list[dict]:
    today = timezone.localdate().isoformat()
    reported = (timezone.now() - timedelta(hours=1)).isoformat()
    records: list[dict] = []
    for i in range(RECORDS):
        if i % 2:
            data = {
                "id": str(uuid.uuid4()),
                "date": today,
                "session_type": "practice",
                "duration_min": 30 + i % 90,
                "rpe": i % 11,
                "notes": "bench",
            }
            records.append({"kind": "training_session", "data": data})
        else:
            entries = [
                {"muscle_group": "hamstrings", "side": "left", "severity": i % 11, "kind": "pain"},
                {"muscle_group": "quadriceps", "side": "both", "severity": 3, "kind": "doms"},
                {"muscle_group": "rectus_abdominis", "severity": 2, "kind": "tightness"},
            ]
            data = {
                "id": str(uuid.uuid4()),
                "reported_at": reported,
                "date": today,
                "sleep_quality": 4,
                "entries": entries,
            }
            records.append({"kind": "soreness_report", "data": data})
    return records


def athlete_client() -> APIClient:
    from accounts.auth import issue_tokens
    from accounts.models import AthleteProfile, Membership, Organisation, Role, Team, User

    organisation = Organisation.objects.create(name=f"Bench club {uuid.uuid4().hex[:8]}")
    team = Team.objects.create(organisation=organisation, name="Bench", sport_id="football")
    athlete = User.objects.create_user(f"bench-{uuid.uuid4().hex[:8]}@example.com", None)
    Membership.objects.create(user=athlete, team=team, role=Role.ATHLETE)
    AthleteProfile.objects.create(user=athlete, primary_sport_id="football")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(athlete)['access']}")
    return client


def push(client: APIClient) -> tuple[float, int]:
    body = {"records": batch()}
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.post(
            "/api/v1/sync/", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
        )
        elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.content[:500]
    assert response.json()["counts"]["created"] == RECORDS, response.json()["counts"]
    return elapsed, len(queries)


def main() -> int:
    if connection.vendor != "postgresql":
        print("Set DATABASE_URL to a PostgreSQL database (the benchmark is for PostgreSQL).")
        return 2
    name = connection.settings_dict["NAME"]
    connection.settings_dict["TEST"]["NAME"] = f"test_{name}_sync_bench"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        client = athlete_client()
        push(client)  # warm-up: imports, first connection, caches
        runs = [push(client) for _ in range(RUNS)]
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    times = [elapsed for elapsed, _ in runs]
    queries = {count for _, count in runs}
    best, median = min(times), statistics.median(times)
    print(
        f"sync push of {RECORDS} records (250 training sessions, 250 soreness reports x 3 "
        f"entries), {RUNS} runs after a warm-up, PostgreSQL {connection.pg_version // 10000}"
    )
    print(f"  best   {best * 1000:7.1f} ms   ({best / RECORDS * 1e6:.0f} us per record)")
    print(f"  median {median * 1000:7.1f} ms")
    print(f"  queries per push: {sorted(queries)}")
    failed = best > MAX_SECONDS or max(queries) >= MAX_QUERIES
    if failed:
        print(f"FAIL: limits are {MAX_SECONDS} s and fewer than {MAX_QUERIES} queries")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
