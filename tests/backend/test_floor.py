"""The benchmark floor exists only when enabled, behind the same authentication as the API."""

from __future__ import annotations

import importlib

import pytest
from django.urls import clear_url_caches

import backend.urls
from tests.factories import UserFactory


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
