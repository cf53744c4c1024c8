"""The catalogue over HTTP: whole lists for any signed-in user, detail by code, and conditional
GETs (ETag, Cache-Control, 304 on If-None-Match)."""

from __future__ import annotations

import pytest

from recovery.domain.catalogue import MUSCLE_GROUPS, SPORTS
from recovery.models import MuscleGroup
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URLS = ["/api/v1/muscle-groups/", "/api/v1/sports/"]


@pytest.mark.parametrize("url", URLS)
def test_anonymous_is_401(client_for, url):
    assert client_for(None).get(url).status_code == 401


def test_muscle_groups_come_whole_in_body_map_order(client_for):
    response = client_for(UserFactory()).get("/api/v1/muscle-groups/")
    assert response.status_code == 200
    rows = response.json()
    assert [row["code"] for row in rows] == [group.code for group in MUSCLE_GROUPS]
    midline = next(row for row in rows if row["code"] == "rectus_abdominis")
    assert midline["has_sides"] is False


def test_muscle_group_by_code(client_for):
    response = client_for(UserFactory()).get("/api/v1/muscle-groups/hamstrings/")
    assert response.status_code == 200
    assert response.json()["code"] == "hamstrings"
    assert response.json()["has_sides"] is True


def test_unknown_code_is_404(client_for):
    response = client_for(UserFactory()).get("/api/v1/sports/quidditch/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_sport_lists_its_demand_with_weights_and_source(client_for):
    response = client_for(UserFactory()).get("/api/v1/sports/football/")
    assert response.status_code == 200
    body = response.json()
    football = next(sport for sport in SPORTS if sport.code == "football")
    assert body["source"] == football.source
    assert {row["muscle_group"]: row["weight"] for row in body["demands"]} == pytest.approx(
        dict(football.demand)
    )
    weights = [row["weight"] for row in body["demands"]]
    assert weights == sorted(weights, reverse=True)


@pytest.mark.parametrize("url", URLS)
def test_responses_carry_etag_and_cache_control(client_for, url):
    response = client_for(UserFactory()).get(url)
    assert response["ETag"].startswith('"')
    assert response["Cache-Control"] == "private, max-age=3600"


@pytest.mark.parametrize("url", [*URLS, "/api/v1/sports/rowing/"])
def test_if_none_match_with_the_current_etag_is_304_without_a_body(client_for, url):
    client = client_for(UserFactory())
    etag = client.get(url)["ETag"]
    response = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag


def test_etag_changes_when_the_catalogue_changes(client_for):
    client = client_for(UserFactory())
    etag = client.get("/api/v1/muscle-groups/")["ETag"]
    MuscleGroup.objects.filter(code="hamstrings").update(name="Hamstring complex")
    response = client.get("/api/v1/muscle-groups/", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response["ETag"] != etag


@pytest.mark.parametrize(("url", "queries"), [(URLS[0], 1), (URLS[1], 2)])
def test_lists_take_a_fixed_number_of_queries(client_for, django_assert_num_queries, url, queries):
    client = client_for(UserFactory())
    with django_assert_num_queries(queries):
        client.get(url)
