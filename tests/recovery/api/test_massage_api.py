"""Massage sessions over HTTP: who may read and write (DESIGN.md section 1), the clinical-notes
consent rule, the planned -> completed/cancelled life cycle with amendments, validation as
problem+json field errors, atomic writes and list queries that do not grow with the page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.db import DatabaseError
from django.urls import reverse

from accounts.models import AthleteProfile, Role
from recovery.models import MassageSession, MassageStatus, TreatedArea
from tests.factories import MembershipFactory, TeamFactory, TreatedAreaFactory
from tests.factories.recovery import MassageAmendmentFactory, MassageSessionFactory

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
LIST_URL = "/api/v1/massage-sessions/"
NOTES = "Suspected grade 1 strain, left biceps femoris; refer if not better in 72 h."


def url(session: MassageSession, action: str = "detail") -> str:
    return reverse(f"recovery:massage-session-{action}", args=[session.pk])


def if_match(session_or_response) -> dict[str, str]:
    """The If-Match header every edit of a session needs: of a stored session (its version as
    read now) or of a response (its ETag)."""
    if isinstance(session_or_response, MassageSession):
        version = MassageSession.objects.get(pk=session_or_response.pk).version
        return {"HTTP_IF_MATCH": f'"{version}"'}
    return {"HTTP_IF_MATCH": session_or_response["ETag"]}


def area(**overrides: object) -> dict[str, object]:
    return {
        "muscle_group": "hamstrings",
        "side": "left",
        "technique": "trigger_point",
        "pressure": "moderate",
        "minutes": 10,
        **overrides,
    }


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["code"] == code
    return body


def error_fields(response) -> set[str]:
    return {error["field"] for error in problem(response, 400, "validation_error")["errors"]}


def ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.fixture
def athlete(member):
    return member("athlete")


@pytest.fixture
def therapist(member):
    return member("therapist")


@pytest.fixture
def session(athlete, therapist):
    return MassageSessionFactory(athlete=athlete, therapist=therapist, clinical_notes=NOTES)


@pytest.fixture
def actor(team, member, athlete):
    """actor("coach") -> a user related to `athlete` as named (None: anonymous)."""

    def make(who: str):
        if who == "anonymous":
            return None
        if who == "own_athlete":
            return athlete
        if who == "teammate":
            return member("athlete")
        if who == "deactivated_therapist":
            return MembershipFactory(team=team, role=Role.THERAPIST, is_active=False).user
        if who.startswith("other_team_"):
            role = Role(who.removeprefix("other_team_"))
            return MembershipFactory(team=TeamFactory(), role=role).user
        return member(who)

    return make


OUTSIDERS = ["other_team_therapist", "other_team_coach", "teammate", "deactivated_therapist"]


# --- who may read and write -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", 401),
        ("own_athlete", 200),
        ("therapist", 200),
        ("coach", 200),
        ("admin", 200),
        *[(who, 404) for who in OUTSIDERS],
    ],
)
def test_read_matrix(client_for, actor, session, who, expected):
    client = client_for(actor(who))
    detail = client.get(url(session))
    listed = client.get(LIST_URL)
    assert detail.status_code == expected
    if expected == 401:
        problem(listed, 401, "not_authenticated")
    else:
        assert (str(session.pk) in ids(listed)) is (expected == 200)


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", 401),
        ("own_athlete", 403),
        ("therapist", 200),
        ("coach", 403),
        ("admin", 403),
        *[(who, 404) for who in OUTSIDERS],
    ],
)
def test_update_matrix(client_for, actor, session, who, expected):
    response = client_for(actor(who)).patch(
        url(session), {"complaint": "Calf cramps."}, **if_match(session)
    )
    assert response.status_code == expected
    session.refresh_from_db()
    assert (session.complaint == "Calf cramps.") is (expected == 200)


@pytest.mark.parametrize("action", ["detail", "complete", "cancel", "amendments"])
def test_outsiders_get_404_before_their_body_is_read(client_for, actor, session, action):
    client = client_for(actor("other_team_therapist"))
    method = client.patch if action == "detail" else client.post
    problem(method(url(session, action), {"colour": "red"}), 404, "not_found")


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", 401),
        ("own_athlete", 403),
        ("therapist", 201),
        ("coach", 403),
        ("admin", 403),
        *[(who, 400) for who in OUTSIDERS],  # an athlete they cannot see is an unknown id
    ],
)
def test_create_matrix(client_for, actor, athlete, who, expected):
    body = {"athlete": str(athlete.pk), "scheduled_at": "2025-03-14T16:00:00Z"}
    response = client_for(actor(who)).post(LIST_URL, body)
    assert response.status_code == expected
    if expected == 400:
        assert error_fields(response) == {"athlete"}
    assert MassageSession.objects.filter(athlete=athlete).exists() is (expected == 201)


@pytest.mark.parametrize("who", ["own_athlete", "coach", "admin"])
@pytest.mark.parametrize(
    ("method", "action", "body"),
    [
        ("delete", "detail", None),
        ("post", "complete", {}),
        ("post", "cancel", {"reason": "Travel"}),
        ("post", "amendments", {"text": "Note"}),
    ],
)
def test_readers_get_403_on_every_write(client_for, actor, session, who, method, action, body):
    TreatedAreaFactory(session=session)
    if action == "amendments":
        MassageSession.objects.filter(pk=session.pk).update(status=MassageStatus.COMPLETED)
    response = getattr(client_for(actor(who)), method)(url(session, action), body)
    problem(response, 403, "permission_denied")
    assert not session.amendments.exists()
    assert MassageSession.objects.get(pk=session.pk).version == session.version


# --- clinical notes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "consent", "sees_notes"),
    [
        ("athlete", False, True),
        ("therapist", False, True),
        ("coach", False, False),
        ("coach", True, True),
        ("admin", False, False),
        ("admin", True, False),
    ],
)
def test_clinical_notes_visibility(client_for, athlete, member, session, role, consent, sees_notes):
    AthleteProfile.objects.filter(user=athlete).update(share_clinical_notes_with_coaches=consent)
    client = client_for(athlete if role == "athlete" else member(role))
    detail = client.get(url(session)).json()
    [row] = client.get(LIST_URL).json()["results"]
    for body in (detail, row):
        if sees_notes:
            assert body["clinical_notes"] == NOTES
        else:
            assert "clinical_notes" not in body  # absent, not null
            assert body["complaint"] == session.complaint  # the rest of the session is there


def test_coach_sees_notes_once_the_athlete_consents(client_for, athlete, member, session):
    coach = member("coach")
    assert "clinical_notes" not in client_for(coach).get(url(session)).json()
    consent = client_for(athlete).patch(
        reverse("accounts:me-athlete-profile"), {"share_clinical_notes_with_coaches": True}
    )
    assert consent.status_code == 200
    assert client_for(coach).get(url(session)).json()["clinical_notes"] == NOTES


def test_notes_follow_each_athletes_consent_within_one_list(client_for, team, member, therapist):
    coach = member("coach")
    consenting, private = member("athlete"), member("athlete")
    AthleteProfile.objects.filter(user=consenting).update(share_clinical_notes_with_coaches=True)
    for athlete in (consenting, private):
        MassageSessionFactory(athlete=athlete, therapist=therapist, clinical_notes=NOTES)
    rows = client_for(coach).get(LIST_URL).json()["results"]
    by_athlete = {row["athlete"]: row for row in rows}
    assert by_athlete[str(consenting.pk)]["clinical_notes"] == NOTES
    assert "clinical_notes" not in by_athlete[str(private.pk)]


# --- create, edit, life cycle -----------------------------------------------------------------


def test_therapist_plans_a_session_with_areas_and_aftercare(client_for, athlete, therapist):
    session_id = uuid.uuid4()
    body = {
        "id": str(session_id),
        "athlete": str(athlete.pk),
        "session_type": "post_event",
        "scheduled_at": "2025-03-14T16:00:00Z",
        "pain_before": 4,
        "treated_areas": [area(), area(muscle_group="rectus_abdominis", side=None)],
        "aftercare": {"stretches": "Hamstring stretch 3 x 30 s", "next_session_in_days": 3},
        "clinical_notes": NOTES,
    }
    response = client_for(therapist).post(LIST_URL, body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["id"] == str(session_id)
    assert data["therapist"] == str(therapist.pk)
    assert data["status"] == "planned"
    assert data["clinical_notes"] == NOTES
    assert [(a["muscle_group"], a["side"]) for a in data["treated_areas"]] == [
        ("rectus_abdominis", None),
        ("hamstrings", "left"),
    ]
    assert data["aftercare"]["stretches"] == "Hamstring stretch 3 x 30 s"
    stored = MassageSession.objects.get(pk=session_id)
    assert (stored.aftercare_stretches, stored.next_session_in_days) == (
        "Hamstring stretch 3 x 30 s",
        3,
    )


def test_sending_the_same_session_again_returns_the_stored_one(client_for, athlete, therapist):
    body = {
        "id": str(uuid.uuid4()),
        "athlete": str(athlete.pk),
        "scheduled_at": "2025-03-14T17:00:00+01:00",
        "treated_areas": [area(), area(muscle_group="quadriceps", side="right")],
    }
    client = client_for(therapist)
    first = client.post(LIST_URL, body, format="json")
    assert first.status_code == 201, first.content
    # the same content, the areas in another order and the time in another offset
    again = {
        **body,
        "scheduled_at": "2025-03-14T16:00:00Z",
        "treated_areas": body["treated_areas"][::-1],
    }
    replay = client.post(LIST_URL, again, format="json")
    assert replay.status_code == 200, replay.content
    assert replay.json() == first.json()
    assert MassageSession.objects.count() == 1


def test_the_same_id_with_other_content_is_409_with_the_stored_session(
    client_for, athlete, therapist
):
    body = {
        "id": str(uuid.uuid4()),
        "athlete": str(athlete.pk),
        "scheduled_at": "2025-03-14T16:00:00Z",
    }
    client = client_for(therapist)
    stored = client.post(LIST_URL, body).json()
    conflict = problem(
        client.post(LIST_URL, {**body, "complaint": "changed in between"}), 409, "id_conflict"
    )
    assert conflict["current"] == stored
    assert MassageSession.objects.get().complaint == ""


def test_an_id_taken_by_another_athletes_session_is_409_saying_nothing(
    client_for, athlete, member, session
):
    body = {
        "id": str(session.pk),
        "athlete": str(member("athlete").pk),
        "scheduled_at": "2025-03-14T16:00:00Z",
    }
    conflict = problem(client_for(member("therapist")).post(LIST_URL, body), 409, "id_conflict")
    assert "current" not in conflict
    assert str(athlete.pk) not in str(conflict)


def test_patch_replaces_treated_areas_and_bumps_the_version(client_for, therapist, session):
    TreatedAreaFactory(session=session, muscle_group_id="quadriceps")
    TreatedAreaFactory(session=session, muscle_group_id="gastrocnemius")
    response = client_for(therapist).patch(
        url(session), {"treated_areas": [area(side="right")]}, format="json", **if_match(session)
    )
    assert response.status_code == 200, response.content
    assert [(a["muscle_group"], a["side"]) for a in response.json()["treated_areas"]] == [
        ("hamstrings", "right")
    ]
    assert response.json()["version"] == session.version + 1
    kept = client_for(therapist).patch(
        url(session), {"complaint": "Still tight."}, **if_match(response)
    )
    assert len(kept.json()["treated_areas"]) == 1


def test_complete_signs_and_locks_the_session(client_for, member, session, therapist):
    colleague = member("therapist")
    body = {
        "treated_areas": [area(pain_during=6, trigger_points_found=2)],
        "pain_after": 2,
        "athlete_feedback": "Much looser.",
        "aftercare": {"hydration": "2 litres today."},
    }
    response = client_for(colleague).post(
        url(session, "complete"), body, format="json", **if_match(session)
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == "completed"
    assert data["completed_at"] is not None
    assert (data["signed_by"], data["therapist"]) == (str(colleague.pk), str(therapist.pk))
    assert (data["pain_after"], data["aftercare"]["hydration"]) == (2, "2 litres today.")
    assert data["treated_areas"][0]["trigger_points_found"] == 2

    current = if_match(response)
    again = client_for(colleague).post(url(session, "complete"), {}, **current)
    problem(again, 409, "massage_session.already_completed")
    locked = client_for(therapist).patch(url(session), {"complaint": "Edited later"}, **current)
    problem(locked, 409, "massage_session.locked")
    problem(client_for(therapist).delete(url(session)), 409, "massage_session.locked")
    problem(
        client_for(therapist).post(url(session, "cancel"), {"reason": "x"}, **current),
        409,
        "massage_session.not_planned",
    )
    assert MassageSession.objects.get(pk=session.pk).complaint == session.complaint


def test_complete_uses_the_areas_already_recorded(client_for, therapist, session):
    TreatedAreaFactory(session=session)
    response = client_for(therapist).post(url(session, "complete"), {}, **if_match(session))
    assert response.status_code == 200, response.content
    assert len(response.json()["treated_areas"]) == 1


def test_cancel_with_reason_then_everything_conflicts(client_for, therapist, session):
    response = client_for(therapist).post(
        url(session, "cancel"), {"reason": "Athlete ill."}, **if_match(session)
    )
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["cancelled_reason"]) == (
        "cancelled",
        "Athlete ill.",
    )
    client, current = client_for(therapist), if_match(response)
    problem(
        client.post(url(session, "cancel"), {"reason": "x"}, **current),
        409,
        "massage_session.already_cancelled",
    )
    problem(
        client.post(url(session, "complete"), {}, **current), 409, "massage_session.not_planned"
    )
    problem(
        client.patch(url(session), {"complaint": "x"}, **current), 409, "massage_session.locked"
    )


def test_cancel_requires_a_reason(client_for, therapist, session):
    assert error_fields(client_for(therapist).post(url(session, "cancel"), {})) == {"reason"}


def test_planned_session_can_be_deleted(client_for, therapist, session):
    assert client_for(therapist).delete(url(session)).status_code == 204
    assert not MassageSession.objects.filter(pk=session.pk).exists()


def test_amendment_is_appended_to_a_completed_session(client_for, therapist, session):
    TreatedAreaFactory(session=session)
    client = client_for(therapist)
    done = client.post(url(session, "complete"), {}, **if_match(session))
    completed = done.json()
    response = client.post(
        url(session, "amendments"), {"text": "Pressure was firm, not moderate."}, **if_match(done)
    )
    assert response.status_code == 201, response.content
    data = response.json()
    [amendment] = data["amendments"]
    assert (amendment["author"], amendment["text"]) == (
        str(therapist.pk),
        "Pressure was firm, not moderate.",
    )
    assert amendment["created_at"]
    assert data["version"] == completed["version"] + 1
    assert data["treated_areas"] == completed["treated_areas"]  # the signed record is unchanged


def test_amendment_on_a_planned_session_is_409(client_for, therapist, session):
    response = client_for(therapist).post(
        url(session, "amendments"), {"text": "Too early."}, **if_match(session)
    )
    problem(response, 409, "massage_session.not_completed")


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"pain_before": 11}, "pain_before"),
        ({"treated_areas": [area(pain_during=11)]}, "treated_areas.0.pain_during"),
        ({"treated_areas": [area(pressure_rating=0)]}, "treated_areas.0.pressure_rating"),
        (
            {"treated_areas": [area(), area(muscle_group="rectus_abdominis")]},
            "treated_areas.1.side",
        ),
        ({"treated_areas": [area(side=None)]}, "treated_areas.0.side"),
        ({"treated_areas": [area(muscle_group="wings")]}, "treated_areas.0.muscle_group"),
        ({"treated_areas": [area(colour="red")]}, "treated_areas.0.colour"),
        ({"aftercare": {"next_session_in_days": 91}}, "aftercare.next_session_in_days"),
        ({"status": "completed"}, "status"),
        ({"colour": "red"}, "colour"),
        ({}, ""),
    ],
)
def test_invalid_update_names_the_field(client_for, therapist, session, body, field):
    response = client_for(therapist).patch(url(session), body, format="json")
    assert error_fields(response) == {field}


def test_completion_without_any_treated_area_is_400(client_for, therapist, session):
    response = client_for(therapist).post(
        url(session, "complete"), {"pain_after": 1}, **if_match(session)
    )
    assert error_fields(response) == {"treated_areas"}
    assert MassageSession.objects.get(pk=session.pk).status == MassageStatus.PLANNED


# --- atomicity --------------------------------------------------------------------------------


def test_failed_completion_changes_nothing(client_for, therapist, session):
    TreatedAreaFactory(session=session)
    body = {"treated_areas": [], "pain_after": 1}
    response = client_for(therapist).post(
        url(session, "complete"), body, format="json", **if_match(session)
    )
    assert error_fields(response) == {"treated_areas"}
    stored = MassageSession.objects.get(pk=session.pk)
    assert (stored.status, stored.pain_after, stored.treated_areas.count()) == ("planned", None, 1)


def test_update_failing_midway_changes_nothing(client_for, therapist, session, before_insert_of):
    TreatedAreaFactory(session=session, muscle_group_id="quadriceps")
    before = MassageSession.objects.get(pk=session.pk)

    def disk_full() -> None:
        raise DatabaseError("disk full")

    before_insert_of(TreatedArea, disk_full)  # the old areas are deleted by then
    body = {"complaint": "Changed", "treated_areas": [area()]}
    with pytest.raises(DatabaseError):
        client_for(therapist).patch(url(session), body, format="json", **if_match(session))
    assert list(session.treated_areas.values_list("muscle_group_id", flat=True)) == ["quadriceps"]
    after = MassageSession.objects.get(pk=session.pk)
    assert (after.complaint, after.version) == (before.complaint, before.version)


# --- lists ------------------------------------------------------------------------------------


def test_list_filters(client_for, team, member, athlete, therapist):
    other_athlete, other_therapist = member("athlete"), member("therapist")
    other_team = TeamFactory()  # the therapist works for a second team too
    MembershipFactory(user=therapist, team=other_team, role=Role.THERAPIST)
    other_team_athlete = MembershipFactory(team=other_team, role=Role.ATHLETE).user
    in_march = datetime(2025, 3, 14, 16, tzinfo=UTC)
    planned = MassageSessionFactory(athlete=athlete, therapist=therapist, scheduled_at=in_march)
    done = MassageSessionFactory(
        athlete=other_athlete,
        therapist=other_therapist,
        status="completed",
        session_type="treatment",
        scheduled_at=datetime(2025, 1, 2, 9, tzinfo=UTC),
    )
    elsewhere = MassageSessionFactory(athlete=other_team_athlete, scheduled_at=in_march)
    MassageSessionFactory(scheduled_at=in_march)  # a team the therapist is not in: never listed

    client = client_for(therapist)
    everything = {str(planned.pk), str(done.pk), str(elsewhere.pk)}
    assert ids(client.get(LIST_URL)) == everything
    cases = {
        "athlete": (athlete.pk, {planned}),
        "team": (team.pk, {planned, done}),
        "therapist": (other_therapist.pk, {done}),
        "status": ("completed", {done}),
        "session_type": ("treatment", {done}),
    }
    for name, (value, expected) in cases.items():
        assert ids(client.get(LIST_URL, {name: value})) == {str(s.pk) for s in expected}, name
    march = client.get(LIST_URL, {"date_from": "2025-03-14", "date_to": "2025-03-14"})
    assert ids(march) == {str(planned.pk), str(elsewhere.pk)}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_from": "2025-03-10", "date_to": "2025-03-01"}, "date_to"),
        ({"date_from": "2024-01-01", "date_to": "2025-01-01"}, "date_to"),
        ({"date_from": "14/03/2025"}, "date_from"),
        ({"status": "done"}, "status"),
        ({"session_type": "spa"}, "session_type"),
        ({"athlete": "nobody"}, "athlete"),
    ],
)
def test_bad_list_parameters_are_400(client_for, therapist, params, field):
    assert error_fields(client_for(therapist).get(LIST_URL, params)) == {field}


def test_366_day_range_is_allowed(client_for, therapist):
    params = {"date_from": "2024-01-01", "date_to": "2024-12-31"}  # leap year: 366 days
    assert client_for(therapist).get(LIST_URL, params).status_code == 200


def test_list_is_newest_first_and_pages_stably(client_for, athlete, therapist):
    sessions = [
        MassageSessionFactory(
            athlete=athlete, therapist=therapist, scheduled_at=datetime(2025, 3, day, tzinfo=UTC)
        )
        for day in (1, 3, 2, 3)
    ]
    client = client_for(therapist)
    first = client.get(LIST_URL, {"page_size": 3}).json()
    second = client.get(first["next"]).json()
    seen = [row["scheduled_at"][:10] for row in first["results"] + second["results"]]
    assert seen == ["2025-03-03", "2025-03-03", "2025-03-02", "2025-03-01"]
    assert {row["id"] for row in first["results"] + second["results"]} == {
        str(s.pk) for s in sessions
    }


@pytest.mark.parametrize("n_sessions", [1, 6])
@pytest.mark.parametrize("role", ["coach", "therapist"])
def test_list_queries_do_not_grow_with_the_page(
    client_for, member, therapist, django_assert_num_queries, n_sessions, role
):
    for index in range(n_sessions):
        athlete = member("athlete")
        AthleteProfile.objects.filter(user=athlete).update(
            share_clinical_notes_with_coaches=index % 2 == 0
        )
        session = MassageSessionFactory(athlete=athlete, therapist=therapist, status="completed")
        TreatedAreaFactory(session=session, muscle_group_id="quadriceps")
        TreatedAreaFactory(session=session)
        MassageAmendmentFactory(session=session)
    client = client_for(therapist if role == "therapist" else member(role))
    # sessions with athlete profiles, treated areas, amendments, the caller's relations
    with django_assert_num_queries(4):
        response = client.get(LIST_URL)
    assert len(response.json()["results"]) == n_sessions
    assert all(len(row["amendments"]) == 1 for row in response.json()["results"])
