"""Request bodies and clients for the write-path tests: what the phone (and the benchmark,
bench/harness/plan.py) send."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework.test import APIClient

from accounts.auth import issue_tokens
from accounts.models import Role, User
from tests.factories.accounts import MembershipFactory


def athlete_client() -> tuple[User, APIClient]:
    """An athlete and a client that sends their real JWT, as the phone (and the benchmark) do."""
    athlete = MembershipFactory(role=Role.ATHLETE).user
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(athlete)['access']}")
    return athlete, client


def soreness_report_body(**overrides: Any) -> dict[str, Any]:
    """A soreness report of three entries, reported five minutes ago."""
    now = timezone.now() - timedelta(minutes=5)
    return {
        "reported_at": now.isoformat(),
        "date": now.date().isoformat(),
        "sleep_quality": 4,
        "fatigue": 3,
        "entries": [
            {"muscle_group": "hamstrings", "side": "left", "severity": 5, "kind": "doms"},
            {"muscle_group": "quadriceps", "side": "both", "severity": 3, "kind": "doms"},
            {"muscle_group": "gastrocnemius", "side": "right", "severity": 2, "kind": "tightness"},
        ],
        **overrides,
    }


def push_records(
    n: int, day: str | None = None, reported_at: str | None = None
) -> list[dict[str, Any]]:
    """The benchmark's batch (bench/lua/sync_push.lua): half new soreness reports of one entry,
    half new training sessions, alternating, every id new; today and two minutes ago by
    default."""
    day = day or timezone.localdate().isoformat()
    reported_at = reported_at or (timezone.now() - timedelta(minutes=2)).isoformat()
    records = []
    for i in range(1, n + 1):
        if i % 2 == 0:
            data = {"id": str(uuid.uuid4()), "date": day, "session_type": "practice",
                    "duration_min": 20 + i % 60, "rpe": 1 + i % 9}  # fmt: skip
            records.append({"kind": "training_session", "data": data})
        else:
            entry = {"muscle_group": "hamstrings", "side": "left", "severity": i % 8,
                     "kind": "doms"}  # fmt: skip
            data = {"id": str(uuid.uuid4()), "reported_at": reported_at, "date": day,
                    "entries": [entry]}  # fmt: skip
            records.append({"kind": "soreness_report", "data": data})
    return records
