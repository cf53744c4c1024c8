from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import Membership, Role, Team, User
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
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks and real concurrency; CI runs it on PostgreSQL")
