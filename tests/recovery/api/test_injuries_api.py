"""Injuries over HTTP: the role matrix of DESIGN.md section 1 (therapists write), the side rule,
the status life cycle with its resolved date, filters and constant queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from recovery.models import Injury
from tests.factories import InjuryFactory, MembershipFactory
from tests.factories.recovery import RELATIONS, user_related_to

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/injuries/"
READ = dict.fromkeys(RELATIONS, 404) | {
    "anonymous": 401,
    "self": 200,
    "therapist": 200,
    "coach": 200,
    "admin": 200,
}
WRITE = READ | {"self": 403, "coach": 403, "admin": 403}


def url(injury: Injury) -> str:
    return reverse("recovery:injury-detail", args=[injury.pk])


def payload(athlete_, **overrides: object) -> dict[str, object]:
    return {
        "athlete": str(athlete_.pk),
        "muscle_group": "hamstrings",
        "side": "left",
        "onset_date": (timezone.localdate() - timedelta(days=2)).isoformat(),
        **overrides,
    }


def error_fields(response) -> set[str]:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    return {error["field"] for error in response.json()["errors"]}


def ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.fixture
def athlete(member):
    return member("athlete")


@pytest.fixture
def therapist(member):
    return member("therapist")


@pytest.mark.parametrize(("relation", "expected"), READ.items())
def test_retrieve_follows_the_role_matrix(client_for, team, athlete, relation, expected):
    injury = InjuryFactory(athlete=athlete)
    response = client_for(user_related_to(athlete, team, relation)).get(url(injury))
    assert response.status_code == expected


@pytest.mark.parametrize(("relation", "expected"), READ.items())
def test_list_shows_exactly_the_injuries_the_caller_may_read(
    client_for, team, athlete, relation, expected
):
    injury = InjuryFactory(athlete=athlete)
    InjuryFactory()  # another team's athlete
    response = client_for(user_related_to(athlete, team, relation)).get(LIST_URL)
    if expected == 401:
        assert response.status_code == 401
        return
    assert ids(response) == ({str(injury.pk)} if expected == 200 else set())


@pytest.mark.parametrize(("relation", "expected"), WRITE.items())
def test_patch_follows_the_role_matrix(client_for, team, athlete, relation, expected):
    injury = InjuryFactory(athlete=athlete, notes="")
    caller = user_related_to(athlete, team, relation)
    response = client_for(caller).patch(url(injury), {"notes": "MRI booked"})
    assert response.status_code == expected
    injury.refresh_from_db()
    assert injury.notes == ("MRI booked" if expected == 200 else "")


@pytest.mark.parametrize(("relation", "expected"), WRITE.items())
def test_delete_follows_the_role_matrix(client_for, team, athlete, relation, expected):
    injury = InjuryFactory(athlete=athlete)
    response = client_for(user_related_to(athlete, team, relation)).delete(url(injury))
    assert response.status_code == (204 if expected == 200 else expected)
    assert Injury.objects.filter(pk=injury.pk).exists() == (expected != 200)


@pytest.mark.parametrize(("relation", "expected"), (WRITE | {"therapist": 201}).items())
def test_create_follows_the_role_matrix(client_for, team, athlete, relation, expected):
    response = client_for(user_related_to(athlete, team, relation)).post(LIST_URL, payload(athlete))
    if expected == 404:  # not visible: a validation error on `athlete`, never a create
        assert error_fields(response) == {"athlete"}
    else:
        assert response.status_code == expected
    assert Injury.objects.count() == (1 if expected == 201 else 0)


def test_therapist_records_an_active_injury(client_for, athlete, therapist):
    response = client_for(therapist).post(LIST_URL, payload(athlete))
    assert response.status_code == 201
    body = response.json()
    assert (body["athlete"], body["created_by"]) == (str(athlete.pk), str(therapist.pk))
    assert (body["status"], body["resolved_date"]) == ("active", None)


def test_midline_group_is_recorded_without_a_side(client_for, athlete, therapist):
    body = payload(athlete, muscle_group="rectus_abdominis", side=None)
    response = client_for(therapist).post(LIST_URL, body)
    assert response.status_code == 201
    assert response.json()["side"] is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"muscle_group": "spleen"}, "muscle_group"),
        ({"muscle_group": "rectus_abdominis", "side": "left"}, "side"),
        ({"side": None}, "side"),
        ({"status": "healed"}, "status"),
        ({"onset_date": (timezone.localdate() + timedelta(days=2)).isoformat()}, "onset_date"),
        ({"resolved_date": timezone.localdate().isoformat()}, "resolved_date"),
        (
            {"status": "resolved", "resolved_date": "2020-01-01"},
            "resolved_date",
        ),
        ({"athlete": "not-a-uuid"}, "athlete"),
        ({"severity": 3}, "severity"),
    ],
)
def test_bad_field_is_a_problem_naming_it(client_for, athlete, therapist, overrides, field):
    response = client_for(therapist).post(LIST_URL, payload(athlete, **overrides))
    assert error_fields(response) == {field}
    assert Injury.objects.count() == 0


def test_resolving_sets_todays_date_and_reinjury_clears_it(client_for, athlete, therapist):
    injury = InjuryFactory(athlete=athlete, status="active")
    client = client_for(therapist)
    assert client.patch(url(injury), {"status": "rehab"}).json()["resolved_date"] is None
    resolved = client.patch(url(injury), {"status": "resolved"}).json()
    assert resolved["resolved_date"] == timezone.now().date().isoformat()
    kept = client.patch(url(injury), {"notes": "Cleared"}).json()
    assert kept["resolved_date"] == resolved["resolved_date"]
    again = client.patch(url(injury), {"status": "active"}).json()
    assert (again["status"], again["resolved_date"], again["version"]) == ("active", None, 5)


@pytest.mark.parametrize(
    ("before", "after", "allowed"),
    [
        ("active", "rehab", True),
        ("active", "resolved", True),
        ("rehab", "resolved", True),
        ("resolved", "active", True),
        ("rehab", "active", False),
        ("resolved", "rehab", False),
    ],
)
def test_status_moves_only_along_the_life_cycle(
    client_for, athlete, therapist, before, after, allowed
):
    resolved_date = timezone.localdate() if before == "resolved" else None
    injury = InjuryFactory(athlete=athlete, status=before, resolved_date=resolved_date)
    response = client_for(therapist).patch(url(injury), {"status": after})
    if allowed:
        assert response.status_code == 200
    else:
        assert error_fields(response) == {"status"}
    injury.refresh_from_db()
    assert injury.status == (after if allowed else before)


def test_patching_the_side_is_judged_with_the_stored_muscle_group(client_for, athlete, therapist):
    injury = InjuryFactory(athlete=athlete, muscle_group_id="rectus_abdominis", side=None)
    assert error_fields(client_for(therapist).patch(url(injury), {"side": "left"})) == {"side"}


def test_filters_by_status_athlete_team_and_onset_range(client_for, team, member, athlete):
    today = timezone.localdate()
    active = InjuryFactory(athlete=athlete, onset_date=today)
    rehab = InjuryFactory(athlete=athlete, status="rehab", onset_date=today - timedelta(days=40))
    mate = InjuryFactory(athlete=member("athlete"), onset_date=today)
    therapist = member("therapist")
    elsewhere = MembershipFactory(role="athlete").user
    MembershipFactory(user=therapist, team=elsewhere.memberships.get().team, role="therapist")
    away = InjuryFactory(athlete=elsewhere, onset_date=today)
    client = client_for(therapist)
    assert ids(client.get(LIST_URL, {"status": "rehab"})) == {str(rehab.pk)}
    assert ids(client.get(LIST_URL, {"athlete": athlete.pk})) == {str(active.pk), str(rehab.pk)}
    assert ids(client.get(LIST_URL, {"team": team.pk})) == {
        str(i.pk) for i in (active, rehab, mate)
    }
    assert ids(client.get(LIST_URL, {"date_from": today - timedelta(days=7)})) == {
        str(i.pk) for i in (active, mate, away)
    }
    assert error_fields(client.get(LIST_URL, {"status": "healed"})) == {"status"}


@pytest.mark.parametrize("n_injuries", [1, 6])
def test_list_runs_the_same_queries_whatever_the_page_size(
    client_for, django_assert_num_queries, member, athlete, n_injuries
):
    InjuryFactory.create_batch(n_injuries, athlete=athlete)
    client = client_for(member("admin"))
    with django_assert_num_queries(1):
        response = client.get(LIST_URL)
    assert len(response.json()["results"]) == n_injuries
