"""Teams, memberships and athletes follow DESIGN.md section 1: nobody sees a team they are not in."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Membership, Role
from tests.factories import MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def ids(response) -> set[str]:
    return {row["id"] for row in response.json()["results"]}


def test_team_list_shows_only_own_active_teams(client_for, team, member):
    coach = member("coach")
    TeamFactory()  # another team
    left = MembershipFactory(user=coach, role=Role.COACH, is_active=False).team
    response = client_for(coach).get(reverse("accounts:team-list"))
    assert ids(response) == {str(team.pk)}
    assert client_for(coach).get(reverse("accounts:team-detail", args=[left.pk])).status_code == 404


@pytest.mark.parametrize(
    ("role", "expected"), [("athlete", 403), ("therapist", 200), ("coach", 200), ("admin", 200)]
)
def test_member_list_is_for_staff(client_for, team, member, role, expected):
    user = member(role)
    other = MembershipFactory(team=TeamFactory())  # must never appear
    response = client_for(user).get(reverse("accounts:membership-list"), {"team": team.pk})
    if expected == 200:
        assert response.status_code == 200
        assert str(other.pk) not in ids(response)
        assert {row["team"] for row in response.json()["results"]} == {str(team.pk)}
    else:
        # an athlete sees an empty list, never another member
        assert response.status_code == 200
        assert ids(response) == set()


def test_member_of_another_team_is_404(client_for, member):
    admin = member("admin")
    foreign = MembershipFactory(team=TeamFactory())
    url = reverse("accounts:membership-detail", args=[foreign.pk])
    assert client_for(admin).get(url).status_code == 404
    assert client_for(admin).patch(url, {"role": "coach"}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.role == Role.ATHLETE


@pytest.mark.parametrize(("role", "expected"), [("therapist", 403), ("coach", 403), ("admin", 200)])
def test_only_admins_change_roles(client_for, team, member, role, expected):
    actor = member(role)
    target = MembershipFactory(team=team, role=Role.ATHLETE)
    response = client_for(actor).patch(
        reverse("accounts:membership-detail", args=[target.pk]), {"role": "coach"}
    )
    assert response.status_code == expected
    target.refresh_from_db()
    assert target.role == (Role.COACH if expected == 200 else Role.ATHLETE)


def test_athlete_cannot_promote_themself(client_for, team, member):
    athlete = member("athlete")
    mine = Membership.objects.get(user=athlete)
    response = client_for(athlete).patch(
        reverse("accounts:membership-detail", args=[mine.pk]), {"role": "admin"}
    )
    assert response.status_code == 404  # athletes do not see memberships at all
    mine.refresh_from_db()
    assert mine.role == Role.ATHLETE


def test_membership_update_rejects_unknown_role_and_fields(client_for, team, member):
    admin = member("admin")
    target = MembershipFactory(team=team)
    url = reverse("accounts:membership-detail", args=[target.pk])
    response = client_for(admin).patch(url, {"role": "owner", "team": str(TeamFactory().pk)})
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"role", "team"}


def test_admin_cannot_demote_themself(client_for, team, member):
    admin = member("admin")
    mine = Membership.objects.get(user=admin)
    response = client_for(admin).patch(
        reverse("accounts:membership-detail", args=[mine.pk]), {"is_active": False}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "self_demotion"


def test_deactivated_membership_loses_access_at_once(client_for, team, member):
    admin, coach = member("admin"), member("coach")
    athlete = member("athlete")
    coach_client = client_for(coach)
    detail = reverse("accounts:athlete-detail", args=[athlete.pk])
    assert coach_client.get(detail).status_code == 200
    membership = Membership.objects.get(user=coach)
    response = client_for(admin).patch(
        reverse("accounts:membership-detail", args=[membership.pk]), {"is_active": False}
    )
    assert response.status_code == 200
    assert client_for(coach).get(detail).status_code == 404
    assert client_for(coach).get(reverse("accounts:team-detail", args=[team.pk])).status_code == 404


def test_user_with_two_roles_in_two_teams_sees_each_with_its_role(client_for):
    person = UserFactory()
    coached, played = TeamFactory(), TeamFactory()
    MembershipFactory(user=person, team=coached, role=Role.COACH)
    MembershipFactory(user=person, team=played, role=Role.ATHLETE)
    teammate = MembershipFactory(team=played).user
    coached_athlete = MembershipFactory(team=coached).user
    me = client_for(person).get(reverse("accounts:me")).json()
    assert {(m["team"]["id"], m["role"]) for m in me["memberships"]} == {
        (str(coached.pk), "coach"),
        (str(played.pk), "athlete"),
    }
    athletes = ids(client_for(person).get(reverse("accounts:athlete-list")))
    assert athletes == {str(person.pk), str(coached_athlete.pk)}
    assert str(teammate.pk) not in athletes
    members = client_for(person).get(reverse("accounts:membership-list")).json()["results"]
    assert {row["team"] for row in members} == {str(coached.pk)}


@pytest.mark.parametrize("role", ["therapist", "coach", "admin"])
def test_staff_list_athletes_of_their_team_only(client_for, team, member, role):
    staff = member(role)
    athlete = member("athlete")
    MembershipFactory(team=TeamFactory())  # another team's athlete
    response = client_for(staff).get(reverse("accounts:athlete-list"))
    assert ids(response) == {str(athlete.pk)}


def test_athlete_sees_only_themself_in_athlete_list(client_for, team, member):
    athlete, teammate = member("athlete"), member("athlete")
    response = client_for(athlete).get(reverse("accounts:athlete-list"))
    assert ids(response) == {str(athlete.pk)}
    url = reverse("accounts:athlete-detail", args=[teammate.pk])
    assert client_for(athlete).get(url).status_code == 404


def test_athlete_edits_own_profile_and_consent(client_for, team, member):
    athlete = member("athlete")
    url = reverse("accounts:me-athlete-profile")
    response = client_for(athlete).patch(
        url,
        {"share_clinical_notes_with_coaches": True, "position": "winger", "primary_sport": "rugby"},
    )
    assert response.status_code == 200
    assert response.json()["share_clinical_notes_with_coaches"] is True
    assert (
        client_for(athlete).get(reverse("accounts:me")).json()["athlete_profile"]["position"]
        == "winger"
    )


def test_profile_edit_rejects_unknown_sport_and_protected_fields(client_for, team, member):
    athlete = member("athlete")
    response = client_for(athlete).patch(
        reverse("accounts:me-athlete-profile"), {"primary_sport": "quidditch", "user": "x"}
    )
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"primary_sport", "user"}


def test_staff_without_athlete_profile_gets_404_on_own_profile(client_for, team, member):
    response = client_for(member("coach")).get(reverse("accounts:me-athlete-profile"))
    assert response.status_code == 404


@pytest.mark.parametrize("n_athletes", [1, 6])
def test_athlete_list_queries_do_not_grow(
    client_for, team, member, django_assert_num_queries, n_athletes
):
    coach = member("coach")
    for _ in range(n_athletes):
        member("athlete")
    client = client_for(coach)
    with django_assert_num_queries(2):
        response = client.get(reverse("accounts:athlete-list"))
    assert len(response.json()["results"]) == n_athletes
