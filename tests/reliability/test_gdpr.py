"""GDPR: the export holds everything about the user (clinical notes included) and is audited and
throttled; erasure removes personal and health data, anonymises the account, revokes tokens,
keeps the audit log, is atomic, and changes nothing the second time."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import models
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import gdpr
from accounts.audit import AuditOrigin
from accounts.auth import issue_tokens
from accounts.models import (
    AthleteProfile,
    AuditAction,
    AuditEntry,
    Invitation,
    Membership,
    User,
    erased_email,
)
from recovery.models import (
    IdempotencyRecord,
    Injury,
    MassageSession,
    SorenessEntry,
    SorenessReport,
    TrainingSession,
    TreatedArea,
)
from tests.factories import (
    AthleteFactory,
    InjuryFactory,
    InvitationFactory,
    MembershipFactory,
    SorenessEntryFactory,
    TeamFactory,
    TrainingSessionFactory,
    TreatedAreaFactory,
)
from tests.factories.accounts import PASSWORD
from tests.factories.recovery import MassageAmendmentFactory, MassageSessionFactory

pytestmark = pytest.mark.django_db
EXPORT, ME_ERASE = reverse("accounts:me-export"), reverse("accounts:me-erase")
NOTES = "Palpation: taut band in left biceps femoris; referred to physio."
PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _no_throttle_state():
    cache.clear()
    yield
    cache.clear()


def athlete_erase_url(athlete: User) -> str:
    return reverse("accounts:athlete-erase", args=[athlete.pk])


@pytest.fixture
def therapist(member):
    return member("therapist")


@pytest.fixture
def admin(member):
    return member("admin")


def give_records(athlete: User, therapist: User) -> dict:
    """One of each health record, with children."""
    session = MassageSessionFactory(
        athlete=athlete, therapist=therapist, status="completed", clinical_notes=NOTES
    )
    TreatedAreaFactory(session=session)
    MassageAmendmentFactory(session=session, author=therapist)
    report = SorenessEntryFactory(report__athlete=athlete, severity=8, kind="pain").report
    SorenessEntryFactory(report=report, muscle_group_id="quadriceps")
    IdempotencyRecord.objects.create(
        user=athlete,
        key=str(uuid.uuid4()),
        fingerprint="f" * 64,
        response_body=b'{"notes": "health data"}',
        expires_at=timezone.now() + timedelta(days=7),
    )
    return {
        "training": TrainingSessionFactory(athlete=athlete, notes="felt heavy legs"),
        "report": report,
        "massage": session,
        "injury": InjuryFactory(athlete=athlete, created_by=therapist),
    }


@pytest.fixture
def athlete(team, therapist):
    athlete = AthleteFactory(team=team, email="ana@example.com", full_name="Ana Example")
    give_records(athlete, therapist)
    return athlete


def residue(user_id) -> dict[str, int]:
    """Rows still holding the user's health data or replays (every model with an `athlete` key to
    the user, found by introspection, so a new model cannot escape this test)."""
    counts = {}
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if (
                isinstance(field, models.ForeignKey)
                and field.name == "athlete"
                and field.related_model is User
            ):
                counts[model._meta.label] = model._default_manager.filter(
                    athlete_id=user_id
                ).count()
    counts["recovery.IdempotencyRecord"] = IdempotencyRecord.objects.filter(user_id=user_id).count()
    counts["accounts.AthleteProfile"] = AthleteProfile.objects.filter(user_id=user_id).count()
    return counts


def snapshot() -> dict[str, list]:
    """Every row of every model that erasure may touch, as values (to compare before/after)."""
    tracked = [
        User,
        Membership,
        AthleteProfile,
        Invitation,
        AuditEntry,
        TrainingSession,
        SorenessReport,
        SorenessEntry,
        MassageSession,
        TreatedArea,
        Injury,
        IdempotencyRecord,
    ]
    return {m._meta.label: sorted(map(str, m.objects.values_list())) for m in tracked}


# --- export -----------------------------------------------------------------------------------


def test_export_holds_everything_about_the_athlete_with_clinical_notes(client_for, athlete):
    other = AthleteFactory()  # someone else's data must not appear
    TrainingSessionFactory(athlete=other, notes="not yours")
    response = client_for(athlete).get(EXPORT)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Disposition"].startswith('attachment; filename="recovery-personal')
    body = response.json()
    assert body["format"] == "recovery-api/personal-data-export"
    assert body["user"]["email"] == "ana@example.com"
    assert [m["role"] for m in body["memberships"]] == ["athlete"]
    assert body["athlete_profile"]["primary_sport"] == "football"
    assert [t["notes"] for t in body["training_sessions"]] == ["felt heavy legs"]
    assert len(body["soreness_reports"][0]["entries"]) == 2
    (massage,) = body["massage_sessions"]
    assert massage["clinical_notes"] == NOTES
    assert len(massage["treated_areas"]) == len(massage["amendments"]) == 1
    assert len(body["injuries"]) == 1
    assert "not yours" not in response.content.decode()


def test_export_is_audited_and_lists_who_read_the_notes(client_for, athlete, therapist):
    client_for(therapist).get("/api/v1/massage-sessions/")  # a read of the notes, logged
    body = client_for(athlete).get(EXPORT).json()
    assert [e["action"] for e in body["access_log"]] == ["clinical_notes.read"]
    assert body["access_log"][0]["actor_email"] == therapist.email
    (entry,) = AuditEntry.objects.filter(action=AuditAction.EXPORT)
    assert (entry.actor_id, entry.athlete_id) == (athlete.pk, athlete.pk)
    assert entry.detail == {
        "records": {
            "training_sessions": 1,
            "soreness_reports": 1,
            "massage_sessions": 1,
            "injuries": 1,
        }
    }


@pytest.mark.parametrize("n_records", [1, 4])
def test_export_takes_a_fixed_number_of_queries(
    client_for, team, therapist, django_assert_num_queries, n_records
):
    athlete = AthleteFactory(team=team)
    for _ in range(n_records):
        give_records(athlete, therapist)
    client = client_for(athlete)
    # profile, memberships, training, reports + entries, sessions + areas + amendments, injuries,
    # audit entries; then the export's audit INSERT.
    with django_assert_num_queries(11):
        response = client.get(EXPORT)
    assert len(response.json()["massage_sessions"]) == n_records


def test_export_of_a_staff_member_without_a_profile(client_for, therapist):
    body = client_for(therapist).get(EXPORT).json()
    assert body["athlete_profile"] is None
    assert body["massage_sessions"] == []


def test_export_needs_authentication(client_for):
    assert client_for(None).get(EXPORT).status_code == 401


# --- erasure by the athlete -------------------------------------------------------------------


def test_me_erase_with_a_wrong_password_changes_nothing(client_for, athlete):
    before = snapshot()
    response = client_for(athlete).post(ME_ERASE, {"password": "not-my-password-1"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "wrong_password"
    assert snapshot() == before


def test_me_erase_removes_health_data_and_anonymises_the_account(athlete, therapist, team):
    InvitationFactory(team=team, email="ana@example.com")  # pending, for the erased address
    bystander = AthleteFactory(team=team)
    give_records(bystander, therapist)
    tokens = issue_tokens(athlete)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    before = residue(athlete.pk)

    response = client.post(ME_ERASE, {"password": PASSWORD})

    assert response.status_code == 204
    after = residue(athlete.pk)
    print(f"\nerasure: health rows before {sum(before.values())}, after {sum(after.values())}")
    assert sum(before.values()) > 0
    assert set(after.values()) == {0}
    assert sum(residue(bystander.pk).values()) == sum(before.values())  # untouched
    user = User.objects.get(pk=athlete.pk)
    assert user.email == erased_email(athlete.pk)
    assert (user.full_name, user.is_active, user.has_usable_password()) == ("", False, False)
    assert user.erased_at is not None
    assert not Membership.objects.filter(user=user, is_active=True).exists()
    invitation = Invitation.objects.get(team=team)
    assert invitation.email == erased_email(athlete.pk)
    assert invitation.revoked_at is not None
    # Every token is dead.
    assert client.get("/api/v1/me/").status_code == 401
    assert client.post(ME_ERASE, {"password": PASSWORD}).status_code == 401
    refresh = APIClient().post(reverse("accounts:token-refresh"), {"refresh": tokens["refresh"]})
    assert refresh.status_code == 401
    signed_in = APIClient().post(
        reverse("accounts:token-obtain"), {"email": "ana@example.com", "password": PASSWORD}
    )
    assert signed_in.status_code == 401
    # The erasure is in the log; no entry anywhere still names the old address.
    (entry,) = AuditEntry.objects.filter(action=AuditAction.ERASURE)
    assert (entry.actor_id, entry.athlete_id) == (athlete.pk, athlete.pk)
    assert entry.actor_email == erased_email(athlete.pk)
    assert entry.detail["requested_by"] == "self"
    assert entry.detail["deleted"]["recovery.MassageSession"] == 1
    assert not AuditEntry.objects.filter(actor_email__iexact="ana@example.com").exists()


def test_erasure_keeps_earlier_audit_entries_with_their_ids(client_for, athlete, therapist):
    client_for(therapist).get("/api/v1/massage-sessions/")
    client_for(athlete).get(EXPORT)
    kept = {e.pk: (e.action, e.at, e.object_ids) for e in AuditEntry.objects.all()}
    assert client_for(athlete).post(ME_ERASE, {"password": PASSWORD}).status_code == 204
    after = {e.pk: (e.action, e.at, e.object_ids) for e in AuditEntry.objects.all()}
    assert {pk: after[pk] for pk in kept} == kept
    read = AuditEntry.objects.get(action=AuditAction.CLINICAL_NOTES_READ)
    assert read.actor_email == therapist.email  # the reader is not the one erased
    assert AuditEntry.objects.get(action=AuditAction.EXPORT).actor_email == erased_email(athlete.pk)


def test_erasing_twice_changes_nothing_the_second_time(athlete):
    origin = AuditOrigin(ip_address="192.0.2.1")
    assert gdpr.user_erase(actor=athlete, user=athlete, origin=origin) is True
    before = snapshot()
    assert gdpr.user_erase(actor=athlete, user=athlete, origin=origin) is False
    assert snapshot() == before


def test_erasure_is_all_or_nothing(athlete, monkeypatch):
    before = snapshot()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(gdpr, "revoke_refresh_tokens", broken)
    with pytest.raises(RuntimeError):
        gdpr.user_erase(actor=athlete, user=athlete, origin=AuditOrigin())
    assert snapshot() == before


def test_erasure_finds_every_model_keyed_to_an_athlete():
    """Models are found at run time; the known ones must be among them (residue() above checks
    that whatever is found ends up empty)."""
    found = set(gdpr.athlete_record_models())
    assert {TrainingSession, SorenessReport, MassageSession, Injury} <= found
    assert User not in found


# --- erasure by a team admin ------------------------------------------------------------------


def test_team_admin_erases_an_athlete_of_their_team(client_for, admin, athlete):
    response = client_for(admin).post(athlete_erase_url(athlete))
    assert response.status_code == 204
    assert set(residue(athlete.pk).values()) == {0}
    entry = AuditEntry.objects.get(action=AuditAction.ERASURE)
    assert (entry.actor_id, entry.actor_email) == (admin.pk, admin.email)
    assert entry.detail["requested_by"] == "team_admin"
    # Erased: no longer visible, so a second call is a 404 and changes nothing.
    before = snapshot()
    again = client_for(admin).post(athlete_erase_url(athlete))
    assert again.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("role", ["therapist", "coach"])
def test_other_staff_of_the_team_get_403(client_for, member, athlete, role):
    caller = member(role)
    before = snapshot()
    response = client_for(caller).post(athlete_erase_url(athlete))
    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("who", ["other_team_admin", "teammate", "anonymous"])
def test_outsiders_get_404_or_401(client_for, team, athlete, who):
    caller = {
        "other_team_admin": lambda: MembershipFactory(team=TeamFactory(), role="admin").user,
        "teammate": lambda: AthleteFactory(team=team),
        "anonymous": lambda: None,
    }[who]()
    response = client_for(caller).post(athlete_erase_url(athlete))
    assert response.status_code == (401 if caller is None else 404)
    assert sum(residue(athlete.pk).values()) > 0


def test_an_admin_cannot_erase_themselves_through_the_team_endpoint(client_for, team, admin):
    MembershipFactory(user=admin, team=TeamFactory(), role="athlete")
    response = client_for(admin).post(athlete_erase_url(admin))
    assert response.status_code == 403
    assert response.json()["code"] == "erasure.use_me_erase"


def test_an_athlete_of_another_team_too_is_409(client_for, admin, athlete):
    MembershipFactory(user=athlete, team=TeamFactory(), role="athlete")
    response = client_for(admin).post(athlete_erase_url(athlete))
    assert response.status_code == 409
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "erasure.other_teams"
    assert sum(residue(athlete.pk).values()) > 0


def test_erasure_forgets_login_attempts_made_with_the_address(athlete):
    from axes.models import AccessAttempt

    APIClient().post(
        reverse("accounts:token-obtain"), {"email": "ana@example.com", "password": "nope-nope-1"}
    )
    assert AccessAttempt.objects.filter(username="ana@example.com").exists()
    gdpr.user_erase(actor=athlete, user=athlete, origin=AuditOrigin())
    assert not AccessAttempt.objects.filter(username="ana@example.com").exists()
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
