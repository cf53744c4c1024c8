"""Onboarding: admins invite, people register or accept; misuse gets clear errors and writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Invitation, Membership, Role, User
from tests.factories import MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db
REGISTER = reverse("accounts:register")
INVITATIONS = reverse("accounts:invitation-list")
ACCEPT = reverse("accounts:invitation-accept")


def invite(client, team, role="athlete", **extra) -> str:
    response = client.post(INVITATIONS, {"team": str(team.pk), "role": role, **extra})
    assert response.status_code == 201, response.content
    return response.json()["token"]


def register(api_client, token, email="new@example.com", password="a-long-passphrase-7"):
    return api_client.post(
        REGISTER, {"token": token, "email": email, "password": password, "full_name": "New Person"}
    )


def test_admin_invites_and_new_person_registers_with_the_role(client_for, api_client, team, member):
    token = invite(client_for(member("admin")), team, role="therapist")
    api_client.force_authenticate(None)
    response = register(api_client, token)
    assert response.status_code == 201
    body = response.json()
    assert body["membership"]["role"] == "therapist"
    assert body["membership"]["team"]["id"] == str(team.pk)
    assert body["tokens"]["access"]
    assert Invitation.objects.get().token_hash != token  # only the hash is stored


def test_registered_athlete_gets_a_profile_with_the_team_sport(
    client_for, api_client, team, member
):
    token = invite(client_for(member("admin")), team)
    api_client.force_authenticate(None)
    register(api_client, token)
    user = User.objects.get(email="new@example.com")
    assert user.athlete_profile.primary_sport_id == team.sport_id


@pytest.mark.parametrize("role", ["athlete", "therapist", "coach"])
def test_non_admins_cannot_invite(client_for, team, member, role):
    response = client_for(member(role)).post(INVITATIONS, {"team": str(team.pk), "role": "admin"})
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_admin_cannot_invite_into_a_team_they_are_not_in(client_for, member):
    response = client_for(member("admin")).post(
        INVITATIONS, {"team": str(TeamFactory().pk), "role": "athlete"}
    )
    assert response.status_code == 404
    assert not Invitation.objects.exists()


def test_used_token_cannot_be_reused(client_for, api_client, team, member):
    token = invite(client_for(member("admin")), team)
    api_client.force_authenticate(None)
    assert register(api_client, token).status_code == 201
    response = register(api_client, token, email="second@example.com")
    assert response.status_code == 400
    assert response.json()["code"] == "invitation_used"
    assert not User.objects.filter(email="second@example.com").exists()


def test_expired_token_is_refused(client_for, api_client, team, member):
    token = invite(client_for(member("admin")), team)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    api_client.force_authenticate(None)
    response = register(api_client, token)
    assert response.status_code == 400
    assert response.json()["code"] == "invitation_expired"
    assert not User.objects.filter(email="new@example.com").exists()


def test_unknown_token_is_refused(api_client):
    response = register(api_client, "made-up-token")
    assert response.status_code == 400
    assert response.json()["code"] == "invitation_invalid"


def test_revoked_token_is_refused(client_for, api_client, team, member):
    admin_client = client_for(member("admin"))
    token = invite(admin_client, team)
    invitation = Invitation.objects.get()
    assert (
        admin_client.delete(reverse("accounts:invitation-detail", args=[invitation.pk])).status_code
        == 204
    )
    api_client.force_authenticate(None)
    assert register(api_client, token).json()["code"] == "invitation_revoked"


def test_token_for_another_email_is_refused(client_for, api_client, team, member):
    token = invite(client_for(member("admin")), team, email="invited@example.com")
    api_client.force_authenticate(None)
    response = register(api_client, token, email="someone-else@example.com")
    assert response.json()["code"] == "invitation_email_mismatch"


def test_weak_password_and_bad_email_name_fields_and_write_nothing(
    client_for, api_client, team, member
):
    token = invite(client_for(member("admin")), team)
    api_client.force_authenticate(None)
    response = api_client.post(
        REGISTER, {"token": token, "email": "not-an-email", "password": "x", "full_name": ""}
    )
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} >= {"email", "full_name"}
    weak = register(api_client, token, password="password")
    assert weak.status_code == 400
    assert {e["field"] for e in weak.json()["errors"]} == {"password"}
    assert not User.objects.filter(email="new@example.com").exists()
    assert Invitation.objects.get().used_at is None


def test_existing_user_accepts_while_signed_in(client_for, team, member):
    token = invite(client_for(member("admin")), team, role="coach")
    person = UserFactory()
    response = client_for(person).post(ACCEPT, {"token": token})
    assert response.status_code == 201
    assert Membership.objects.get(user=person, team=team).role == Role.COACH


def test_accept_when_already_member_is_refused(client_for, team, member):
    admin = member("admin")
    token = invite(client_for(admin), team, role="coach")
    response = client_for(admin).post(ACCEPT, {"token": token})
    assert response.status_code == 400
    assert Membership.objects.get(user=admin).role == Role.ADMIN


def test_invitation_list_shows_only_own_teams(client_for, team, member):
    admin = member("admin")
    invite(client_for(admin), team)
    other_admin = MembershipFactory(team=TeamFactory(), role=Role.ADMIN).user
    invite(client_for(other_admin), other_admin.memberships.get().team)
    rows = client_for(admin).get(INVITATIONS).json()["results"]
    assert [row["team"] for row in rows] == [str(team.pk)]
    assert "token" not in rows[0]
