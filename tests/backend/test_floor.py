"""The benchmark floor exists only when enabled, behind the same authentication as the API."""

from __future__ import annotations

import importlib

import pytest
from django.urls import clear_url_caches

import backend.urls
from recovery.models import IdempotencyRecord
from tests.factories import UserFactory
from tests.factories.api import athlete_client


@pytest.fixture
def floor_enabled(settings):
    settings.BENCH_FLOOR_ENABLED = True
    importlib.reload(backend.urls)
    clear_url_caches()
    yield
    settings.BENCH_FLOOR_ENABLED = False
    importlib.reload(backend.urls)
    clear_url_caches()


@pytest.mark.django_db
def test_floor_is_absent_by_default(client_for):
    assert client_for(UserFactory()).get("/api/v1/bench/floor/").status_code == 404


@pytest.mark.django_db
@pytest.mark.usefixtures("floor_enabled")
def test_floor_answers_authenticated_users_only(client_for):
    assert client_for(None).get("/api/v1/bench/floor/").status_code == 401
    response = client_for(UserFactory()).get("/api/v1/bench/floor/")
    assert response.status_code == 200
    assert response.json() == {"ok": True}


@pytest.mark.django_db
@pytest.mark.usefixtures("floor_enabled")
def test_the_write_floor_commits_its_idempotency_key_and_replays_it():
    """POST writes nothing itself: the one row is the key's, with the answer stored for a repeat."""
    user, client = athlete_client()  # a real JWT, as the benchmark sends

    def post():
        return client.post("/api/v1/bench/floor/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    first = post()
    assert (first.status_code, first.json()) == (200, {"ok": True})
    assert "Idempotent-Replayed" not in first
    (stored,) = IdempotencyRecord.objects.filter(user=user)
    assert (stored.key, stored.state, stored.response_status) == ("k-1", "done", 200)
    repeat = post()
    assert (repeat.status_code, repeat.json(), repeat["Idempotent-Replayed"]) == (
        200,
        {"ok": True},
        "true",
    )
    assert IdempotencyRecord.objects.filter(user=user).count() == 1
