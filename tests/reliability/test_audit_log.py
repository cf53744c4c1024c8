"""The audit log of health-data access: reads of clinical notes by anyone but the athlete are
logged once per request (not per row, no query per row), the log is append-only (model and, on
PostgreSQL, a trigger), and team admins list their athletes' entries."""

from __future__ import annotations

import uuid

import pytest
from django.db import DatabaseError, connection, transaction

from accounts.audit import AuditOrigin, audit_record
from accounts.models import (
    AthleteProfile,
    AuditAction,
    AuditEntry,
    AuditLogIsAppendOnly,
    erased_email,
)
from tests.factories import AthleteFactory, MembershipFactory, TeamFactory
from tests.factories.recovery import MassageSessionFactory

pytestmark = pytest.mark.django_db
LIST_URL = "/api/v1/massage-sessions/"
AUDIT_URL = "/api/v1/audit-entries/"
NOTES = "Suspected grade 1 strain, left biceps femoris."


@pytest.fixture
def athlete(team):
    return AthleteFactory(team=team)


@pytest.fixture
def therapist(member):
    return member("therapist")


def sessions_for(athlete, therapist, n: int, notes: str = NOTES) -> list:
    return [
        MassageSessionFactory(
            athlete=athlete, therapist=therapist, status="completed", clinical_notes=notes
        )
        for _ in range(n)
    ]


def reads() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=AuditAction.CLINICAL_NOTES_READ))


# --- what is logged ---------------------------------------------------------------------------


@pytest.mark.parametrize("n_sessions", [1, 6])
def test_a_list_read_by_the_therapist_is_one_entry_listing_the_sessions(
    client_for, athlete, therapist, django_assert_num_queries, n_sessions
):
    sessions = sessions_for(athlete, therapist, n_sessions)
    client = client_for(therapist)
    # The list's own queries (sessions, treated areas, amendments, the caller's relations) plus
    # ONE insert for the audit entry, however many rows carried notes.
    with django_assert_num_queries(5):
        response = client.get(LIST_URL, HTTP_USER_AGENT="RecoveryApp/2.1 (iOS 18)")
    assert response.status_code == 200
    (entry,) = reads()
    assert entry.actor_id == therapist.pk
    assert entry.actor_email == therapist.email
    assert entry.athlete_id == athlete.pk
    assert entry.object_type == "massage_session"
    assert sorted(entry.object_ids) == sorted(str(s.pk) for s in sessions)
    assert entry.ip_address == "127.0.0.1"
    assert entry.user_agent == "RecoveryApp/2.1 (iOS 18)"
    assert entry.path == LIST_URL
    assert NOTES not in str(entry.detail) + str(entry.object_ids)


def test_one_entry_per_athlete_when_a_page_spans_several(client_for, team, therapist):
    athletes = [AthleteFactory(team=team) for _ in range(3)]
    for athlete in athletes:
        sessions_for(athlete, therapist, 2)
    assert client_for(therapist).get(LIST_URL).status_code == 200
    assert sorted(e.athlete_id for e in reads()) == sorted(a.pk for a in athletes)
    assert all(len(e.object_ids) == 2 for e in reads())


def test_a_detail_read_is_one_entry(client_for, athlete, therapist):
    (session,) = sessions_for(athlete, therapist, 1)
    assert client_for(therapist).get(f"{LIST_URL}{session.pk}/").status_code == 200
    assert [e.object_ids for e in reads()] == [[str(session.pk)]]


def test_the_athlete_reading_their_own_notes_is_not_logged(client_for, athlete, therapist):
    sessions_for(athlete, therapist, 2)
    response = client_for(athlete).get(LIST_URL)
    assert all(row["clinical_notes"] == NOTES for row in response.json()["results"])
    assert reads() == []


@pytest.mark.parametrize(
    ("role", "consent", "logged"),
    [("coach", False, False), ("coach", True, True), ("admin", True, False)],
)
def test_only_readers_who_get_the_notes_are_logged(
    client_for, member, athlete, therapist, role, consent, logged
):
    AthleteProfile.objects.filter(user=athlete).update(share_clinical_notes_with_coaches=consent)
    sessions_for(athlete, therapist, 1)
    reader = member(role)
    response = client_for(reader).get(LIST_URL)
    assert ("clinical_notes" in response.json()["results"][0]) is logged
    assert [e.actor_id for e in reads()] == ([reader.pk] if logged else [])


def test_empty_notes_disclose_nothing_and_log_nothing(client_for, athlete, therapist):
    sessions_for(athlete, therapist, 2, notes="")
    assert client_for(therapist).get(LIST_URL).status_code == 200
    assert reads() == []


def test_a_failed_request_logs_nothing(client_for, athlete, therapist):
    (session,) = sessions_for(athlete, therapist, 1)
    bad_filter = client_for(therapist).get(LIST_URL, {"date_from": "2025-01-01", "date_to": "x"})
    outsider = client_for(AthleteFactory()).get(f"{LIST_URL}{session.pk}/")
    assert (bad_filter.status_code, outsider.status_code) == (400, 404)
    assert reads() == []


def test_the_address_is_remote_addr_unless_proxies_are_configured(
    client_for, athlete, therapist, settings
):
    sessions_for(athlete, therapist, 1)
    client = client_for(therapist)
    client.get(LIST_URL, REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    client.get(LIST_URL, REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.44")
    assert [e.ip_address for e in AuditEntry.objects.order_by("at")] == ["10.0.0.5", "192.0.2.44"]


# --- append-only ------------------------------------------------------------------------------


def _entry(**overrides) -> AuditEntry:
    actor = overrides.pop("actor", None) or AthleteFactory()
    return audit_record(
        actor=actor,
        action=AuditAction.EXPORT,
        athlete_id=actor.pk,
        origin=AuditOrigin(ip_address="192.0.2.1", user_agent="test", path="/x"),
        **overrides,
    )


def test_the_model_refuses_updates_and_deletes():
    entry = _entry()
    entry.actor_email = "someone-else@example.com"
    with pytest.raises(AuditLogIsAppendOnly):
        entry.save()
    with pytest.raises(AuditLogIsAppendOnly):
        entry.delete()
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(action=AuditAction.ERASURE)
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEntry.objects.pseudonymise_actor(actor_id=entry.actor_id, email="x@example.com")
    assert AuditEntry.objects.get(pk=entry.pk).actor_email != "someone-else@example.com"


def _raw(sql: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_the_database_refuses_updates_and_deletes_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip(
            "the append-only trigger is PostgreSQL's (migration accounts 0003); SQLite has only "
            "the model's refusal"
        )
    entry = _entry()
    table = AuditEntry._meta.db_table
    refused = []
    for sql, params in [
        (f"UPDATE {table} SET action = 'erasure' WHERE id = %s", [entry.pk]),
        (f"UPDATE {table} SET actor_email = 'x@example.com' WHERE id = %s", [entry.pk]),
        (
            f"UPDATE {table} SET actor_email = %s WHERE id = %s",
            [erased_email(uuid.uuid4()), entry.pk],
        ),
        (
            f"UPDATE {table} SET actor_email = %s, path = '/changed' WHERE id = %s",
            [erased_email(entry.actor_id), entry.pk],
        ),
        (f"DELETE FROM {table} WHERE id = %s", [entry.pk]),
    ]:
        with pytest.raises(DatabaseError, match="append-only"):
            _raw(sql, params)
        refused.append(sql.split()[0])
    print(f"\nraw SQL against the audit log refused: {len(refused)} of {len(refused)}")
    # The one change let through: the actor's own erased placeholder, nothing else.
    _raw(
        f"UPDATE {table} SET actor_email = %s WHERE id = %s",
        [erased_email(entry.actor_id), entry.pk],
    )
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert stored.actor_email == erased_email(entry.actor_id)
    assert (stored.action, stored.path) == (entry.action, entry.path)


# --- the team admin's list --------------------------------------------------------------------


@pytest.fixture
def admin(member):
    return member("admin")


def test_admin_lists_the_entries_of_their_teams_athletes(client_for, team, admin, athlete):
    mine = _entry(actor=athlete)
    _entry()  # an athlete of another team
    response = client_for(admin).get(AUDIT_URL, {"team": str(team.pk)})
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(mine.pk)]
    row = response.json()["results"][0]
    assert row["action"] == "export"
    assert row["athlete"] == str(athlete.pk)
    assert row["actor_email"] == athlete.email
    assert set(row) == {
        "id",
        "at",
        "actor",
        "actor_email",
        "action",
        "athlete",
        "object_type",
        "object_ids",
        "detail",
        "ip_address",
        "user_agent",
        "path",
    }
    assert client_for(admin).get(AUDIT_URL).json()["results"] == response.json()["results"]


@pytest.mark.parametrize(("role", "status"), [("therapist", 403), ("coach", 403), ("athlete", 403)])
def test_team_members_who_are_not_admins_get_403(client_for, team, member, role, status):
    response = client_for(member(role)).get(AUDIT_URL, {"team": str(team.pk)})
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"


def test_another_teams_admin_gets_404_and_sees_nothing(client_for, team, athlete):
    _entry(actor=athlete)
    outsider = MembershipFactory(team=TeamFactory(), role="admin").user
    assert client_for(outsider).get(AUDIT_URL, {"team": str(team.pk)}).status_code == 404
    assert client_for(outsider).get(AUDIT_URL).json()["results"] == []


def test_anonymous_is_401(client_for, team):
    assert client_for(None).get(AUDIT_URL).status_code == 401


def test_filters_by_athlete_and_action(client_for, team, admin, athlete):
    other = AthleteFactory(team=team)
    _entry(actor=athlete)
    wanted = _entry(actor=other)
    response = client_for(admin).get(AUDIT_URL, {"athlete": str(other.pk), "action": "export"})
    assert [row["id"] for row in response.json()["results"]] == [str(wanted.pk)]
    assert client_for(admin).get(AUDIT_URL, {"action": "nope"}).status_code == 400


@pytest.mark.parametrize("n_entries", [1, 8])
def test_list_queries_do_not_grow(
    client_for, team, admin, athlete, django_assert_num_queries, n_entries
):
    for _ in range(n_entries):
        _entry(actor=athlete)
    client = client_for(admin)
    with django_assert_num_queries(1):
        response = client.get(AUDIT_URL)
    assert len(response.json()["results"]) == n_entries


def test_the_django_admin_shows_the_log_read_only(client):
    entry = _entry()
    superuser = AthleteFactory(is_staff=True, is_superuser=True)
    client.force_login(superuser)
    assert client.get("/admin/accounts/auditentry/").status_code == 200
    assert client.get(f"/admin/accounts/auditentry/{entry.pk}/change/").status_code == 200
    assert client.get("/admin/accounts/auditentry/add/").status_code == 403
    assert client.get(f"/admin/accounts/auditentry/{entry.pk}/delete/").status_code == 403
    assert (
        client.post(f"/admin/accounts/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
