"""Shared by the security tests (OWASP API1/API3/API5 and the schema fuzzing): a small world of
teams in two organisations built once per test module, and the figures each test reports.

The world is built inside a transaction opened for the whole module and rolled back after it; each
test runs in a savepoint of it (pytest-django's `db`), so a test that deletes or erases something
leaves the world as it was for the next one.

Figures: a test calls `record_figure(request, name, value)`; the values travel on the test reports
(`user_properties`, so they cross pytest-xdist's process boundary) and are summed at the end of the
run by `pytest_terminal_summary`. Under pytest-xdist a subfolder's conftest is not loaded by the
controller when the whole suite runs, so each worker also writes its own sums to the real stderr
when it finishes: either way the figures appear in CI's output without `-s`.
"""

from __future__ import annotations

import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.auth import issue_tokens
from accounts.models import Invitation, Membership, Role, Team, User
from accounts.services import hash_token
from recovery.models import MassageSession, SorenessEntry, SorenessReport
from tests.conftest import seed_catalogue
from tests.factories import (
    InjuryFactory,
    InvitationFactory,
    MassageSessionFactory,
    MembershipFactory,
    OrganisationFactory,
    SorenessEntryFactory,
    SorenessReportFactory,
    TeamFactory,
    TrainingSessionFactory,
    TreatedAreaFactory,
)
from tests.factories.accounts import PASSWORD

FIGURE = "security_figure"
STAFF = ("therapist", "coach", "admin")
ROLES = ("athlete", *STAFF)


@dataclass
class AthleteRecords:
    """One record of each kind for one athlete; massage sessions by the athlete's team therapist."""

    training_session: Any
    soreness_report: SorenessReport
    flag: SorenessEntry
    injury: Any
    massage_planned: MassageSession
    massage_completed: MassageSession


@dataclass
class TeamWorld:
    team: Team
    members: dict[str, User]  # role -> user; "teammate" is a second athlete
    invitation: Invitation


@dataclass
class World:
    """Teams A1 and A2 of organisation A, team B1 of organisation B.

    A1 holds the actors: an athlete, a second athlete (the teammate, who consents to coaches
    reading clinical notes), a therapist, a coach and an admin. A2 and B1 each hold an athlete and
    a therapist. Every athlete has one record of each kind."""

    teams: dict[str, TeamWorld]
    records: dict[uuid.UUID, AthleteRecords]
    tokens: dict[uuid.UUID, dict[str, str]]
    accept_token: str  # a pending invitation to A2 (athlete role, any email)
    register_token: str  # a pending invitation to A1 (athlete role, any email)
    password: str = PASSWORD
    extra: dict[str, Any] = field(default_factory=dict)

    def actor(self, role: str) -> User:
        return self.teams["a1"].members[role]

    def access_token(self, user: User) -> str:
        return self.tokens[user.pk]["access"]

    def refresh_token(self, user: User) -> str:
        return self.tokens[user.pk]["refresh"]

    def auth(self, role: str | None) -> dict[str, str]:
        """Request headers for a role of A1 (none for anonymous)."""
        if role is None or role == "anonymous":
            return {}
        return {"HTTP_AUTHORIZATION": f"Bearer {self.access_token(self.actor(role))}"}


def _records(athlete: User, therapist: User) -> AthleteRecords:
    report = SorenessReportFactory(athlete=athlete)
    SorenessEntryFactory(report=report, muscle_group_id="quadriceps", side="right", severity=3)
    flag = SorenessEntryFactory(report=report, kind="pain", severity=8)
    planned = MassageSessionFactory(
        athlete=athlete, therapist=therapist, clinical_notes="Planned: check left hamstring."
    )
    completed = MassageSessionFactory(
        athlete=athlete,
        therapist=therapist,
        status="completed",
        scheduled_at=timezone.now() - timedelta(days=2),
        completed_at=timezone.now() - timedelta(days=2),
        signed_by=therapist,
        clinical_notes="Guarding on palpation of the left hamstring; refer if it persists.",
        pain_before=5,
        pain_after=2,
    )
    TreatedAreaFactory(session=completed)
    return AthleteRecords(
        training_session=TrainingSessionFactory(athlete=athlete),
        soreness_report=report,
        flag=flag,
        injury=InjuryFactory(athlete=athlete, created_by=therapist),
        massage_planned=planned,
        massage_completed=completed,
    )


def _team(team: Team, roles: tuple[str, ...], token: str) -> TeamWorld:
    members = {}
    for role in roles:
        membership = MembershipFactory(
            team=team, role=Role.ATHLETE if role == "teammate" else Role(role)
        )
        members[role] = membership.user
    invitation = InvitationFactory(team=team, token_hash=hash_token(token))
    return TeamWorld(team=team, members=members, invitation=invitation)


def build_world() -> World:
    org_a, org_b = OrganisationFactory(), OrganisationFactory()
    teams = {
        "a1": _team(
            TeamFactory(organisation=org_a), (*ROLES, "teammate"), f"a1-{uuid.uuid4().hex}"
        ),
        "a2": _team(
            TeamFactory(organisation=org_a), ("athlete", "therapist"), f"a2-{uuid.uuid4().hex}"
        ),
        "b1": _team(
            TeamFactory(organisation=org_b), ("athlete", "therapist"), f"b1-{uuid.uuid4().hex}"
        ),
    }
    teammate = teams["a1"].members["teammate"]
    teammate.athlete_profile.share_clinical_notes_with_coaches = True
    teammate.athlete_profile.save()
    records = {}
    for world_team in teams.values():
        therapist = world_team.members["therapist"]
        for role in ("athlete", "teammate"):
            if role in world_team.members:
                athlete = world_team.members[role]
                records[athlete.pk] = _records(athlete, therapist)
    users = [user for world_team in teams.values() for user in world_team.members.values()]
    accept_token, register_token = f"accept-{uuid.uuid4().hex}", f"register-{uuid.uuid4().hex}"
    InvitationFactory(team=teams["a2"].team, token_hash=hash_token(accept_token))
    InvitationFactory(team=teams["a1"].team, token_hash=hash_token(register_token))
    return World(
        teams=teams,
        records=records,
        tokens={user.pk: issue_tokens(user) for user in users},
        accept_token=accept_token,
        register_token=register_token,
    )


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """The world, built once per module in a transaction rolled back after the module."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            seed_catalogue()
            built = build_world()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    yield built
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


def membership_of(user: User, team: Team) -> Membership:
    return Membership.objects.get(user=user, team=team)


# --- figures ------------------------------------------------------------------------------------


def record_figure(request: pytest.FixtureRequest, name: str, value: int = 1) -> None:
    """Add `value` to the run's figure `name` (e.g. "access matrix: cases")."""
    request.node.user_properties.append((FIGURE, (name, value)))


_figures: Counter[str] = Counter()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "teardown":  # the teardown report carries everything the test recorded
        return
    for key, value in report.user_properties:
        if key == FIGURE:
            name, amount = value
            _figures[name] += amount


def _lines() -> list[str]:
    return [f"{name}: {_figures[name]}" for name in sorted(_figures)]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _figures:
        terminalreporter.section("security figures")
        for line in _lines():
            terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session) -> None:
    worker = getattr(session.config, "workerinput", None)
    if worker is None or not _figures:
        return  # not an xdist worker: pytest_terminal_summary prints them
    capture = session.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        sys.stderr.write(f"\n[{worker['workerid']}] security figures\n")
        for line in _lines():
            sys.stderr.write(f"[{worker['workerid']}] {line}\n")
        sys.stderr.flush()
