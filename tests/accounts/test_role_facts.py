"""The two role facts read with the JWT user (`accounts.access.with_role_facts`): whether the
user is an athlete and whether they staff a team. They let an athlete's own list filter by
`athlete = me` alone (the athlete's index, not a walk of the global one) and an athlete's create
skip the profile query; a user who also staffs a team keeps every record that role shows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.access import (
    IS_ATHLETE,
    STAFFS_A_TEAM,
    Resource,
    athlete_filter,
    role_fact,
    with_role_facts,
)
from accounts.auth import issue_tokens
from accounts.models import Role, User
from accounts.services import hash_token, invitation_accept
from recovery.models import TrainingSession
from tests.factories import (
    AthleteFactory,
    InvitationFactory,
    MembershipFactory,
    TeamFactory,
    TrainingSessionFactory,
)

pytestmark = pytest.mark.django_db
SESSIONS = "/api/v1/training-sessions/"


def jwt_client(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user)['access']}")
    return client


def listed(client: APIClient) -> set[str]:
    response = client.get(SESSIONS)
    assert response.status_code == 200
    return {row["id"] for row in response.json()["results"]}


def list_query(captured: CaptureQueriesContext) -> str:
    (sql,) = [
        q["sql"] for q in captured.captured_queries if 'FROM "recovery_trainingsession"' in q["sql"]
    ]
    return sql


def test_the_jwt_user_carries_both_facts():
    athlete = AthleteFactory()
    coach = MembershipFactory(role=Role.COACH).user
    inactive_coach = MembershipFactory(role=Role.COACH, is_active=False).user
    users = {user.pk: user for user in with_role_facts(User.objects.all())}
    assert (
        role_fact(users[athlete.pk], IS_ATHLETE),
        role_fact(users[athlete.pk], STAFFS_A_TEAM),
    ) == (True, False)
    assert (role_fact(users[coach.pk], IS_ATHLETE), role_fact(users[coach.pk], STAFFS_A_TEAM)) == (
        False,
        True,
    )
    assert role_fact(users[inactive_coach.pk], STAFFS_A_TEAM) is False
    assert role_fact(User.objects.get(pk=athlete.pk), IS_ATHLETE) is None  # not read: unknown


def test_an_athlete_who_staffs_no_team_lists_their_own_records_by_their_id_alone():
    team = TeamFactory()
    athlete, teammate = AthleteFactory(team=team), AthleteFactory(team=team)
    own = TrainingSessionFactory(athlete=athlete)
    TrainingSessionFactory(athlete=teammate)
    client = jwt_client(athlete)
    with CaptureQueriesContext(connection) as captured:
        assert listed(client) == {str(own.pk)}
    sql = list_query(captured)
    assert "accounts_membership" not in sql
    assert " OR " not in sql


@pytest.mark.parametrize("coaching", [True, False], ids=["coaching", "coaching ended"])
def test_an_athlete_who_coaches_another_team_sees_its_athletes_while_the_coaching_lasts(coaching):
    user = AthleteFactory()
    coached = TeamFactory()
    MembershipFactory(user=user, team=coached, role=Role.COACH, is_active=coaching)
    own = TrainingSessionFactory(athlete=user)
    theirs = TrainingSessionFactory(athlete=AthleteFactory(team=coached))
    TrainingSessionFactory(athlete=AthleteFactory())  # a stranger's
    expected = {str(own.pk), str(theirs.pk)} if coaching else {str(own.pk)}
    assert listed(jwt_client(user)) == expected


def test_joining_a_team_as_staff_forgets_the_facts_read_with_the_user():
    user = with_role_facts(User.objects.filter(pk=AthleteFactory().pk)).get()
    team = TeamFactory()
    athlete = AthleteFactory(team=team)
    InvitationFactory(team=team, role=Role.COACH, token_hash=hash_token("join-as-coach"))
    invitation_accept(user=user, token="join-as-coach")
    assert role_fact(user, STAFFS_A_TEAM) is None
    visible = TrainingSession.objects.filter(
        athlete_filter(user, resource=Resource.TRAINING_SESSION)
    )
    session = TrainingSessionFactory(athlete=athlete)
    assert session in visible
