"""Idempotency-Key on POST: one effect per key, replays byte for byte, misuse is refused."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.auth import issue_tokens
from accounts.models import Invitation, Role
from recovery.models import IdempotencyRecord
from tests.factories import MembershipFactory

INVITATIONS = reverse("accounts:invitation-list")


def admin_with_team():
    membership = MembershipFactory(role=Role.ADMIN)
    return membership.user, membership.team


def post(client: Client, access: str, body: dict, key: str | None = "key-1"):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {access}"}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(INVITATIONS, body, content_type="application/json", **headers)


@pytest.mark.django_db
def test_repeat_replays_the_first_response_and_creates_nothing():
    admin, team = admin_with_team()
    access = issue_tokens(admin)["access"]
    body = {"team": str(team.pk), "role": "athlete"}
    first = post(Client(), access, body)
    second = post(Client(), access, body)
    assert first.status_code == second.status_code == 201
    assert second.content == first.content  # the one-time token included: same effect
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Invitation.objects.count() == 1


@pytest.mark.django_db
def test_same_key_with_different_body_is_422():
    admin, team = admin_with_team()
    access = issue_tokens(admin)["access"]
    post(Client(), access, {"team": str(team.pk), "role": "athlete"})
    response = post(Client(), access, {"team": str(team.pk), "role": "coach"})
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Invitation.objects.count() == 1


@pytest.mark.django_db
def test_repeat_while_first_in_flight_is_409_and_nothing_runs():
    admin, team = admin_with_team()
    access = issue_tokens(admin)["access"]
    body = {"team": str(team.pk), "role": "athlete"}
    first = post(Client(), access, body)
    IdempotencyRecord.objects.update(state=IdempotencyRecord.State.IN_FLIGHT)
    response = post(Client(), access, body)
    assert response.status_code == 409
    assert response.json()["code"] == "request_in_progress"
    assert response["Retry-After"] == "1"
    assert first.status_code == 201
    assert Invitation.objects.count() == 1


@pytest.mark.django_db
def test_abandoned_in_flight_request_is_taken_over():
    admin, team = admin_with_team()
    access = issue_tokens(admin)["access"]
    body = {"team": str(team.pk), "role": "athlete"}
    post(Client(), access, body)
    Invitation.objects.all().delete()
    IdempotencyRecord.objects.update(
        state=IdempotencyRecord.State.IN_FLIGHT, created_at=timezone.now() - timedelta(minutes=5)
    )
    assert post(Client(), access, body).status_code == 201
    assert Invitation.objects.count() == 1


@pytest.mark.django_db
def test_keys_are_per_user_and_expire():
    admin, team = admin_with_team()
    other = MembershipFactory(team=team, role=Role.ADMIN).user
    body = {"team": str(team.pk), "role": "athlete"}
    post(Client(), issue_tokens(admin)["access"], body)
    post(Client(), issue_tokens(other)["access"], body)
    assert Invitation.objects.count() == 2
    IdempotencyRecord.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    post(Client(), issue_tokens(admin)["access"], body)
    assert Invitation.objects.count() == 3


@pytest.mark.django_db
def test_errors_are_replayed_but_throttling_and_server_errors_are_not(monkeypatch):
    admin, team = admin_with_team()
    access = issue_tokens(admin)["access"]
    bad = {"team": str(team.pk), "role": "captain"}
    assert post(Client(), access, bad, key="bad").status_code == 400
    assert post(Client(), access, bad, key="bad")["Idempotent-Replayed"] == "true"

    from accounts import services

    def crash(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "invitation_create", crash)
    client = Client(raise_request_exception=False)
    assert (
        post(client, access, {"team": str(team.pk), "role": "athlete"}, key="k5").status_code == 500
    )
    assert not IdempotencyRecord.objects.filter(key="k5").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 256])
def test_malformed_key_is_400(key):
    admin, team = admin_with_team()
    response = post(
        Client(), issue_tokens(admin)["access"], {"team": str(team.pk), "role": "athlete"}, key=key
    )
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_invalid"


@pytest.mark.django_db
def test_without_key_every_post_acts():
    admin, team = admin_with_team()
    access = issue_tokens(admin)["access"]
    for _ in range(2):
        post(Client(), access, {"team": str(team.pk), "role": "athlete"}, key=None)
    assert Invitation.objects.count() == 2
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_fifty_concurrent_identical_posts_make_one_record():
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs concurrent connections; SQLite serialises writers (runs on PostgreSQL in CI)"
        )
    admin, team = admin_with_team()
    access = issue_tokens(admin)["access"]
    body = {"team": str(team.pk), "role": "athlete"}
    barrier = threading.Barrier(50)
    statuses: list[int] = []

    def worker() -> None:
        try:
            barrier.wait()
            statuses.append(post(Client(), access, body, key="concurrent").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(
        f"\n50 concurrent POSTs, one key: statuses {sorted(set(statuses))}, rows {Invitation.objects.count()}"
    )
    assert Invitation.objects.count() == 1
    assert set(statuses) <= {201, 409}
    assert statuses.count(201) >= 1
