from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import Membership, Role, Team, User
from recovery.domain.catalogue import MUSCLE_GROUPS, SPORTS
from recovery.services import common as services_common
from tests.factories import MembershipFactory, TeamFactory


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for(api_client: APIClient) -> Callable[[User | None], APIClient]:
    """An API client authenticated as `user` (anonymous for None)."""

    def make(user: User | None) -> APIClient:
        api_client.force_authenticate(user)
        return api_client

    return make


@pytest.fixture
def team(db: None) -> Team:
    return TeamFactory()


@pytest.fixture
def member(team: Team) -> Callable[[str], User]:
    """member("coach") -> a new user with that active role in `team`."""

    def make(role: str, team_: Team | None = None) -> User:
        membership: Membership = MembershipFactory(team=team_ or team, role=Role(role))
        return membership.user

    return make


@pytest.fixture
def before_insert_of(monkeypatch: pytest.MonkeyPatch) -> Callable[[type, Callable[[], None]], None]:
    """`arm(model, action)`: `action` runs each time the services insert rows of `model`
    (`insert_new`: nested rows, the push), before they are written; other models' rows go in
    as usual. To fail a write halfway (raise, or cut the connection)."""

    def arm(model: type, action: Callable[[], None]) -> None:
        insert_new = services_common.insert_new

        def inserting(target: type, objs: Any, **kwargs: Any) -> Any:
            if target is model:
                action()
            return insert_new(target, objs, **kwargs)

        monkeypatch.setattr(services_common, "insert_new", inserting)

    return arm


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks and real concurrency; CI runs it on PostgreSQL")


def seed_catalogue() -> bool:
    """Seed the catalogue as migration recovery 0002 does, if it is missing; True if it was."""
    muscle_group = apps.get_model("recovery", "MuscleGroup")
    sport = apps.get_model("recovery", "Sport")
    sport_demand = apps.get_model("recovery", "SportDemand")
    if muscle_group.objects.exists():
        return False
    muscle_group.objects.bulk_create(
        muscle_group(
            code=group.code,
            name=group.name,
            region=group.region,
            view=group.view,
            has_sides=group.has_sides,
            description=group.description,
            sort_order=order,
        )
        for order, group in enumerate(MUSCLE_GROUPS)
    )
    sport.objects.bulk_create(
        (sport(code=s.code, name=s.name, source=s.source) for s in SPORTS), ignore_conflicts=True
    )
    sport_demand.objects.bulk_create(
        sport_demand(sport_id=s.code, muscle_group_id=code, weight=weight)
        for s in SPORTS
        for code, weight in s.demand.items()
    )
    return True


@pytest.fixture(autouse=True)
def _catalogue(request: pytest.FixtureRequest) -> None:
    """The catalogue a data migration seeded, present for every database test.

    A `transaction=True` test ends with a TRUNCATE of every table (Django's flush), catalogue
    included; with `serialized_rollback=True` (the suite's convention) the rows come back only at
    the start of the next such test, so a regular test that runs after it in the same xdist
    worker would find no catalogue. One EXISTS query per database test, three bulk INSERTs (in
    the test's own transaction) when the catalogue is missing."""
    uses_db = request.node.get_closest_marker("django_db") is not None or any(
        name in request.fixturenames for name in ("db", "transactional_db")
    )
    if uses_db:
        request.getfixturevalue("db")
        seed_catalogue()
