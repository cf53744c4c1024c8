"""A write that commits while a team view is being recomputed leaves the athlete's stored view
stale, never wrong: the recompute read its inputs before the write, so storing it would mask the
write until the view expired (PostgreSQL only: SQLite has one writer at a time). And a store that
fails outside a transaction (a deadlock with a writer) still serves the computed answer.

The interleaving is forced with threading.Event, not timing: the recompute is held after it has
read the signals, a soreness report commits, then the recompute goes on and tries to store."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Role
from recovery.models import AthleteRecoveryState
from recovery.selectors import state
from recovery.selectors.dashboard import athletes as views_module
from tests.factories import (
    MembershipFactory,
    SorenessEntryFactory,
    SorenessReportFactory,
    TeamFactory,
    TrainingSessionFactory,
)
from tests.factories.recovery import muscle

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
WAIT = 30  # seconds; only reached if something is broken


@pytest.fixture(scope="module", autouse=True)
def _catalogue_back_after_this_module(django_db_blocker):
    """A transactional test ends with a flush that empties the seeded catalogue; put it back
    when this module is done, so that the next test file on this worker finds it."""
    yield
    contents = getattr(connection, "_test_serialized_contents", None)
    if contents:
        with django_db_blocker.unblock():
            connection.creation.deserialize_db_from_string(contents)


def require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "PostgreSQL only: needs two transactions interleaving; SQLite lets one writer at a time"
        )


def sore(athlete, code: str, severity: int) -> None:
    report = SorenessReportFactory(athlete=athlete, reported_at=timezone.now())
    SorenessEntryFactory(report=report, muscle_group=muscle(code), side="left", severity=severity)


@pytest.mark.parametrize("row", ["stored before", "missing"])
def test_a_write_during_a_recompute_leaves_the_view_stale(monkeypatch, row):
    require_postgres()
    team = TeamFactory()
    coach = MembershipFactory(team=team, role=Role.COACH).user
    athlete = MembershipFactory(team=team, role=Role.ATHLETE).user
    TrainingSessionFactory(athlete=athlete, date=timezone.localdate() - timedelta(days=1))
    sore(athlete, "hamstrings", 4)
    url = f"/api/v1/teams/{team.pk}/dashboard/"
    if row == "missing":
        AthleteRecoveryState.objects.all().delete()
    else:
        AthleteRecoveryState.objects.update(views_version=None)  # stored, but stale

    inputs_read, written = threading.Event(), threading.Event()
    metrics_on_days = views_module.metrics_on_days

    def held(**kwargs):  # after the signals query, before storing
        inputs_read.set()
        assert written.wait(WAIT)
        return metrics_on_days(**kwargs)

    monkeypatch.setattr(views_module, "metrics_on_days", held)
    result: dict = {}

    def recompute() -> None:
        try:
            client = APIClient()
            client.force_authenticate(coach)
            result["response"] = client.get(url)
        finally:
            connection.close()

    thread = threading.Thread(target=recompute)
    thread.start()
    assert inputs_read.wait(WAIT)
    sore(athlete, "gastrocnemius", 9)  # commits now, between the read and the store
    written.set()
    thread.join(WAIT)
    assert not thread.is_alive()

    (answered,) = result["response"].json()["athletes"]
    assert [g["muscle_group"] for g in answered["sore_groups"]] == ["hamstrings"]  # read before
    state = AthleteRecoveryState.objects.get(athlete=athlete)
    assert state.views_version != state.version  # not stored as current: stale, not wrong

    monkeypatch.setattr(views_module, "metrics_on_days", metrics_on_days)
    client = APIClient()
    client.force_authenticate(coach)
    (now,) = client.get(url).json()["athletes"]
    assert [g["muscle_group"] for g in now["sore_groups"]] == ["gastrocnemius", "hamstrings"]
    state.refresh_from_db()
    assert state.views_version == state.version


def test_a_failed_store_serves_the_answer_and_leaves_the_state_stale(
    client_for, member, team, monkeypatch
):
    athlete = MembershipFactory(team=team, role=Role.ATHLETE).user
    sore(athlete, "gastrocnemius", 6)

    def deadlock(part, parts):
        with state._best_effort():
            raise OperationalError("deadlock detected")

    monkeypatch.setattr(state, "store", deadlock)
    (row,) = (
        client_for(member("coach")).get(f"/api/v1/teams/{team.pk}/dashboard/").json()["athletes"]
    )
    assert row["sore_groups"][0]["muscle_group"] == "gastrocnemius"
    assert AthleteRecoveryState.objects.get(athlete=athlete).views_version is None
