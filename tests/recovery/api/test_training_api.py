"""Training sessions over HTTP: the role matrix of DESIGN.md section 1 for reads and writes, the
computed sRPE load, field validation as problem+json, safe retries, filters and constant queries."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from recovery.models import TrainingSession
from tests.factories import MembershipFactory, TeamFactory, TrainingSessionFactory
from tests.factories.recovery import RELATIONS, user_related_to

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/training-sessions/"
READ = dict.fromkeys(RELATIONS, 404) | {
    "anonymous": 401,
    "self": 200,
    "therapist": 200,
    "coach": 200,
    "admin": 200,
}
WRITE = READ | {"coach": 403, "admin": 403}


def url(session: TrainingSession) -> str:
    return reverse("recovery:training-session-detail", args=[session.pk])


def payload(**overrides: object) -> dict[str, object]:
    return {
        "date": timezone.localdate().isoformat(),
        "session_type": "practice",
        "duration_min": 90,
        "rpe": 6,
        **overrides,
    }


def error_fields(response) -> set[str]:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    return {error["field"] for error in response.json()["errors"]}


@pytest.fixture
def athlete(member):
    return member("athlete")


@pytest.mark.parametrize(("relation", "expected"), READ.items())
def test_retrieve_follows_the_role_matrix(client_for, team, athlete, relation, expected):
    session = TrainingSessionFactory(athlete=athlete)
    response = client_for(user_related_to(athlete, team, relation)).get(url(session))
    assert response.status_code == expected


@pytest.mark.parametrize(("relation", "expected"), READ.items())
def test_list_shows_exactly_the_sessions_the_caller_may_read(
    client_for, team, athlete, relation, expected
):
    session = TrainingSessionFactory(athlete=athlete)
    TrainingSessionFactory()  # another team's athlete
    response = client_for(user_related_to(athlete, team, relation)).get(LIST_URL)
    if expected == 401:
        assert response.status_code == 401
        return
    assert response.status_code == 200
    listed = {row["id"] for row in response.json()["results"]}
    assert listed == ({str(session.pk)} if expected == 200 else set())


def test_athlete_whose_membership_was_deactivated_is_hidden_from_the_team_staff(
    client_for, team, member
):
    membership = MembershipFactory(team=team, is_active=False)
    session = TrainingSessionFactory(athlete=membership.user)
    assert client_for(member("therapist")).get(url(session)).status_code == 404


@pytest.mark.parametrize(("relation", "expected"), WRITE.items())
def test_patch_follows_the_role_matrix(client_for, team, athlete, relation, expected):
    session = TrainingSessionFactory(athlete=athlete, rpe=5, duration_min=60)
    response = client_for(user_related_to(athlete, team, relation)).patch(url(session), {"rpe": 8})
    assert response.status_code == expected
    session.refresh_from_db()
    assert session.rpe == (8 if expected == 200 else 5)


@pytest.mark.parametrize(("relation", "expected"), WRITE.items())
def test_delete_follows_the_role_matrix(client_for, team, athlete, relation, expected):
    session = TrainingSessionFactory(athlete=athlete)
    response = client_for(user_related_to(athlete, team, relation)).delete(url(session))
    assert response.status_code == (204 if expected == 200 else expected)
    assert TrainingSession.objects.filter(pk=session.pk).exists() == (expected != 200)


@pytest.mark.parametrize(
    ("relation", "expected"),
    (WRITE | {"self": 201, "therapist": 201}).items(),
)
def test_create_for_a_named_athlete_follows_the_role_matrix(
    client_for, team, athlete, relation, expected
):
    caller = user_related_to(athlete, team, relation)
    response = client_for(caller).post(LIST_URL, payload(athlete=str(athlete.pk)))
    if expected == 404:  # not visible: a validation error on `athlete`, never a create
        assert error_fields(response) == {"athlete"}
    else:
        assert response.status_code == expected
    assert TrainingSession.objects.count() == (1 if expected == 201 else 0)


def test_athlete_logs_own_session_and_the_server_computes_the_load(client_for, athlete):
    response = client_for(athlete).post(LIST_URL, payload(rpe=7, duration_min=45))
    assert response.status_code == 201
    body = response.json()
    assert body["athlete"] == str(athlete.pk)
    assert body["created_by"] == str(athlete.pk)
    assert body["load_au"] == 315
    assert body["version"] == 1


def test_therapist_must_name_the_athlete(client_for, member):
    response = client_for(member("therapist")).post(LIST_URL, payload())
    assert error_fields(response) == {"athlete"}
    assert response.json()["errors"][0]["code"] == "required"


def test_therapist_logs_for_an_athlete_of_their_team(client_for, member, athlete):
    therapist = member("therapist")
    response = client_for(therapist).post(LIST_URL, payload(athlete=str(athlete.pk)))
    assert response.status_code == 201
    assert response.json()["athlete"] == str(athlete.pk)
    assert response.json()["created_by"] == str(therapist.pk)


def test_unknown_athlete_id_is_a_validation_error(client_for, member):
    response = client_for(member("therapist")).post(LIST_URL, payload(athlete=str(uuid.uuid4())))
    assert error_fields(response) == {"athlete"}


def test_update_recomputes_the_load_and_bumps_the_version(client_for, athlete):
    session = TrainingSessionFactory(athlete=athlete, rpe=5, duration_min=60)
    response = client_for(athlete).patch(url(session), {"duration_min": 30})
    assert response.status_code == 200
    assert response.json()["load_au"] == 150
    assert response.json()["version"] == 2


def test_put_replaces_the_editable_fields(client_for, athlete):
    session = TrainingSessionFactory(athlete=athlete, session_type="practice")
    body = payload(session_type="match", duration_min=95, rpe=9, notes="Cup final")
    response = client_for(athlete).put(url(session), body)
    assert response.status_code == 200
    session.refresh_from_db()
    assert (session.session_type, session.load_au, session.notes) == ("match", 855, "Cup final")


def test_retry_with_the_same_client_id_returns_the_stored_session(client_for, athlete):
    record_id = str(uuid.uuid4())
    first = client_for(athlete).post(LIST_URL, payload(id=record_id))
    again = client_for(athlete).post(LIST_URL, payload(id=record_id))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert TrainingSession.objects.count() == 1


def test_client_id_of_another_athletes_session_is_a_conflict(client_for, athlete):
    taken = TrainingSessionFactory()
    response = client_for(athlete).post(LIST_URL, payload(id=str(taken.pk)))
    assert response.status_code == 409
    assert response.json()["code"] == "id_conflict"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"rpe": -1}, "rpe"),
        ({"rpe": 11}, "rpe"),
        ({"duration_min": 0}, "duration_min"),
        ({"duration_min": 1441}, "duration_min"),
        ({"avg_heart_rate": 29}, "avg_heart_rate"),
        ({"avg_heart_rate": 251}, "avg_heart_rate"),
        ({"session_type": "nap"}, "session_type"),
        ({"date": (timezone.localdate() + timedelta(days=2)).isoformat()}, "date"),
        ({"started_at": (timezone.now() + timedelta(hours=1)).isoformat()}, "started_at"),
        ({"load_au": 1}, "load_au"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_field_is_a_problem_naming_it(client_for, athlete, overrides, field):
    response = client_for(athlete).post(LIST_URL, payload(**overrides))
    assert error_fields(response) == {field}
    assert TrainingSession.objects.count() == 0


def test_tomorrow_is_accepted_for_time_zones_ahead_of_utc(client_for, athlete):
    tomorrow = (timezone.now().date() + timedelta(days=1)).isoformat()
    assert client_for(athlete).post(LIST_URL, payload(date=tomorrow)).status_code == 201


def test_filters_by_athlete_team_type_and_date_range(client_for, team, member, athlete):
    therapist = member("therapist")
    teammate = member("athlete")
    other_team = TeamFactory()
    MembershipFactory(user=therapist, team=other_team, role="therapist")
    elsewhere = MembershipFactory(team=other_team).user
    today = timezone.localdate()
    match = TrainingSessionFactory(athlete=athlete, session_type="match", date=today)
    old = TrainingSessionFactory(athlete=athlete, date=today - timedelta(days=10))
    mate = TrainingSessionFactory(athlete=teammate, date=today)
    away = TrainingSessionFactory(athlete=elsewhere, date=today)
    client = client_for(therapist)

    def listed(**params) -> set[str]:
        response = client.get(LIST_URL, params)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert listed() == {str(s.pk) for s in (match, old, mate, away)}
    assert listed(athlete=athlete.pk) == {str(match.pk), str(old.pk)}
    assert listed(team=team.pk) == {str(match.pk), str(old.pk), str(mate.pk)}
    assert listed(session_type="match") == {str(match.pk)}
    assert listed(date_from=today - timedelta(days=1)) == {str(s.pk) for s in (match, mate, away)}
    assert listed(date_to=today - timedelta(days=1)) == {str(old.pk)}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_from": "2025-03-10", "date_to": "2025-03-01"}, "date_to"),
        ({"date_from": "2024-01-01", "date_to": "2025-01-01"}, "date_to"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"athlete": "me"}, "athlete"),
        ({"session_type": "nap"}, "session_type"),
    ],
)
def test_bad_filter_is_a_problem_naming_the_parameter(client_for, athlete, params, field):
    assert error_fields(client_for(athlete).get(LIST_URL, params)) == {field}


def test_list_is_newest_day_first_and_pages_without_repeats(client_for, athlete):
    today = timezone.localdate()
    sessions = [
        TrainingSessionFactory(athlete=athlete, date=today - timedelta(days=n % 3))
        for n in range(5)
    ]
    client = client_for(athlete)
    first = client.get(LIST_URL, {"page_size": 3}).json()
    second = client.get(first["next"]).json()
    rows = first["results"] + second["results"]
    assert sorted(row["id"] for row in rows) == sorted(str(s.pk) for s in sessions)
    assert [row["date"] for row in rows] == sorted((row["date"] for row in rows), reverse=True)


@pytest.mark.parametrize("n_sessions", [1, 6])
def test_list_runs_the_same_queries_whatever_the_page_size(
    client_for, django_assert_num_queries, member, athlete, n_sessions
):
    TrainingSessionFactory.create_batch(n_sessions, athlete=athlete)
    client = client_for(member("coach"))
    with django_assert_num_queries(1):
        response = client.get(LIST_URL)
    assert len(response.json()["results"]) == n_sessions
