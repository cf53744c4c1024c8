"""Querysets compiled once and run with new values (backend.compiled): the same rows
as the queryset built with those values, lists of any length, values converted as the ORM
converts them, and a placeholder that is not a parameter refused at compile time."""

from __future__ import annotations

import pytest

from accounts.models import Membership, Role
from backend.compiled import Placeholders, compile_query, compiled_sql
from tests.factories import MembershipFactory, TeamFactory

pytestmark = pytest.mark.django_db


def athletes_of_teams():
    p = Placeholders()
    teams = Membership.objects.filter(team_id__in=p.uuids("teams"), role=Role.ATHLETE)
    return compile_query(
        *compiled_sql(teams.order_by("user_id").values_list("user_id", "team_id")), p
    )


def test_a_compiled_query_runs_with_any_number_of_ids():
    teams = [TeamFactory() for _ in range(3)]
    members = [MembershipFactory(team=team, role=Role.ATHLETE) for team in teams for _ in range(2)]
    query = athletes_of_teams()
    for wanted in (teams[:1], teams):
        expected = list(
            Membership.objects.filter(team__in=wanted, role=Role.ATHLETE)
            .order_by("user_id")
            .values_list("user_id", "team_id")
        )
        assert query.rows(teams=[t.pk for t in wanted]) == expected  # UUIDs, as the ORM gives
    assert len(members) == 6


def test_a_placeholder_that_is_not_a_parameter_is_refused():
    p = Placeholders()
    p.uuid("unused")
    team = p.uuid("team")
    with pytest.raises(RuntimeError):
        compile_query(*compiled_sql(Membership.objects.filter(team_id=team).values_list("pk")), p)
