"""OWASP API4 (unrestricted resource consumption): every limit the API promises, on real
endpoints: page size, request body size, date-range span, and per-user throttles."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone
from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle

from accounts.models import AuditAction, AuditEntry
from backend.api.pagination import MAX_PAGE_SIZE
from recovery.models import TrainingSession
from tests.factories import AthleteFactory, MembershipFactory, TeamFactory

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _no_throttle_state():
    cache.clear()
    yield
    cache.clear()


def _training_rows(athlete, n: int) -> None:
    today = timezone.localdate()
    TrainingSession.objects.bulk_create(
        TrainingSession(
            athlete=athlete,
            date=today - timedelta(days=i % 300),
            session_type="practice",
            duration_min=60,
            rpe=5,
            load_au=300,
            created_by=athlete,
        )
        for i in range(n)
    )


def test_page_size_is_capped_at_200_rows(client_for):
    athlete = AthleteFactory()
    _training_rows(athlete, MAX_PAGE_SIZE + 5)
    response = client_for(athlete).get("/api/v1/training-sessions/", {"page_size": 100000})
    rows = len(response.json()["results"])
    print(f"\npage_size=100000 on training-sessions: {rows} rows (cap {MAX_PAGE_SIZE})")
    assert response.status_code == 200
    assert rows == MAX_PAGE_SIZE
    assert response.json()["next"]


def test_audit_log_page_size_is_capped_too(client_for):
    team = TeamFactory()
    admin = MembershipFactory(team=team, role="admin").user
    athlete = AthleteFactory(team=team)
    AuditEntry.objects.bulk_create(
        AuditEntry(action=AuditAction.EXPORT, actor_id=athlete.pk, athlete_id=athlete.pk)
        for _ in range(MAX_PAGE_SIZE + 1)
    )
    response = client_for(admin).get("/api/v1/audit-entries/", {"page_size": 100000})
    assert response.status_code == 200
    assert len(response.json()["results"]) == MAX_PAGE_SIZE


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=4096)
def test_body_over_the_limit_is_413_problem_json(client_for):
    athlete = AthleteFactory()
    body = {
        "reported_at": timezone.now().isoformat(),
        "date": timezone.localdate().isoformat(),
        "notes": "x" * 2000,
        "entries": [{"muscle_group": "hamstrings", "side": "left", "severity": 3, "kind": "doms"}]
        * 60,
    }
    size = len(json.dumps(body))
    response = client_for(athlete).post("/api/v1/soreness-reports/", body)
    print(f"\n{size}-byte body with a 4096-byte limit: {response.status_code}")
    assert size > 4096
    assert response.status_code == 413
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "payload_too_large"
    assert not athlete.soreness_reports.exists()


@pytest.mark.parametrize(
    "url",
    ["/api/v1/training-sessions/", "/api/v1/soreness-reports/", "/api/v1/audit-entries/"],
)
def test_date_range_over_366_days_is_400_naming_date_to(client_for, url):
    athlete = AthleteFactory()
    first = date(2025, 1, 1)
    too_long = client_for(athlete).get(
        url, {"date_from": first.isoformat(), "date_to": (first + timedelta(days=366)).isoformat()}
    )
    longest = client_for(athlete).get(
        url, {"date_from": first.isoformat(), "date_to": (first + timedelta(days=365)).isoformat()}
    )
    assert too_long.status_code == 400
    assert too_long["Content-Type"] == PROBLEM
    assert [e["field"] for e in too_long.json()["errors"]] == ["date_to"]
    assert longest.status_code == 200


def test_authenticated_use_is_throttled_per_user_with_retry_after(client_for, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/min"})
    ana, bob = AthleteFactory(), AthleteFactory()
    statuses = [client_for(ana).get("/api/v1/me/").status_code for _ in range(4)]
    throttled = client_for(ana).get("/api/v1/me/")
    assert statuses == [200, 200, 200, 429]
    assert throttled["Content-Type"] == PROBLEM
    assert throttled.json()["code"] == "throttled"
    assert 0 < int(throttled["Retry-After"]) <= 60
    # Per user: someone else on the same address is not slowed down.
    assert client_for(bob).get("/api/v1/me/").status_code == 200


def test_the_default_user_throttle_covers_record_endpoints(client_for, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "2/min"})
    athlete = AthleteFactory()
    statuses = [client_for(athlete).get("/api/v1/training-sessions/").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_export_has_its_own_tighter_scope(client_for, monkeypatch):
    rates = {**ScopedRateThrottle.THROTTLE_RATES, "export": "2/hour"}
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", rates)
    athlete = AthleteFactory()
    statuses = [client_for(athlete).get("/api/v1/me/export/").status_code for _ in range(3)]
    third = client_for(athlete).get("/api/v1/me/export/")
    assert statuses == [200, 200, 429]
    assert int(third["Retry-After"]) > 60
    assert AuditEntry.objects.filter(action=AuditAction.EXPORT).count() == 2
