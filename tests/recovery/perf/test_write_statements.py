"""The statements a create runs, and what must not change while they are cut
(recovery/services/common.py `create_once`, recovery/sync/log.py `record_many`).

On PostgreSQL a create with a client id is `INSERT ... ON CONFLICT (id) DO NOTHING RETURNING id`
without a savepoint, and the change-log rows and the athletes' state bump are one statement.
Kept: a repeat creates and logs nothing, other content is a 409 `id_conflict`, the receivers of
`save()`'s signals hear of a new record once, a failure part-way keeps nothing (the key's claim
neither), and a conflict leaves the caller's transaction usable. SQLite keeps the savepoint."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models.signals import post_save, pre_save
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.access import Access
from backend.api.concurrency import IdConflict
from recovery.models import (
    AthleteDailyLoad,
    AthleteRecoveryState,
    IdempotencyRecord,
    MuscleGroup,
    SorenessEntry,
    SorenessReport,
    SyncChange,
    SyncKind,
    SyncOp,
    TrainingSession,
)
from recovery.services.soreness import soreness_report_submit
from recovery.sync import log
from tests.factories import AthleteFactory, TeamFactory
from tests.factories.api import athlete_client, soreness_report_body

REPORTS = "/api/v1/soreness-reports/"
SESSIONS = "/api/v1/training-sessions/"
transactional = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def report_body(**overrides: Any) -> dict[str, Any]:
    """A report of two entries (hamstrings left, quadriceps both)."""
    return soreness_report_body(entries=soreness_report_body()["entries"][:2], **overrides)


def post(client: APIClient, url: str, body: dict[str, Any], key: str | None = None) -> Any:
    return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()))


def statement(sql: str) -> tuple[str, ...]:
    """A statement as its verb and the tables it names, in order (savepoint names left out)."""
    verb = sql.split(" ", 1)[0].upper()
    if verb in {"SAVEPOINT", "RELEASE", "ROLLBACK"}:
        return (verb,)
    names = sql.split('"')[1::2]
    return (
        verb,
        *dict.fromkeys(name for name in names if name.startswith(("accounts_", "recovery_"))),
    )


@transactional
def test_a_report_post_with_a_key_runs_this_list_of_statements():
    _, client = athlete_client()
    assert post(client, REPORTS, report_body()).status_code == 201  # warm: catalogue, serializers
    with CaptureQueriesContext(connection) as captured:
        assert post(client, REPORTS, report_body()).status_code == 201
    statements = [statement(query["sql"]) for query in captured.captured_queries]
    # The user is read with whether they are an athlete and whether they staff a team
    # (accounts.access.with_role_facts): the athlete's own report asks nothing more.
    user = ("SELECT", "accounts_user", "accounts_athleteprofile", "accounts_membership")
    authenticate = [user, ("BEGIN",)]
    claim = [("INSERT", "recovery_idempotencyrecord")]
    answer = [("UPDATE", "recovery_idempotencyrecord"), ("COMMIT",)]
    if connection.vendor == "postgresql":
        # No savepoint; the change-log rows and the state bump in one statement.
        assert statements == [
            *authenticate,
            *claim,
            ("INSERT", "recovery_sorenessreport"),
            ("WITH", "recovery_syncchange", "recovery_athleterecoverystate"),
            ("INSERT", "recovery_sorenessentry"),
            *answer,
        ]
        (insert,) = [q["sql"] for q in captured.captured_queries if "sorenessreport" in q["sql"]]
        assert "ON CONFLICT" in insert
    else:
        assert statements == [
            *authenticate,
            *claim,
            ("SAVEPOINT",),
            ("INSERT", "recovery_sorenessreport"),
            ("INSERT", "recovery_syncchange"),
            ("INSERT", "recovery_athleterecoverystate"),
            ("INSERT", "recovery_sorenessentry"),
            ("RELEASE",),
            *answer,
        ]


@pytest.fixture
def saves() -> Iterator[list[tuple[str, type, bool | None]]]:
    """The `pre_save` / `post_save` signals sent for records and entries: (signal, model,
    created)."""
    heard: list[tuple[str, type, bool | None]] = []

    def pre(sender: type, **kwargs: Any) -> None:
        heard.append(("pre_save", sender, None))

    def post_(sender: type, created: bool, **kwargs: Any) -> None:
        heard.append(("post_save", sender, created))

    models = (SorenessReport, SorenessEntry, TrainingSession)
    for model in models:
        pre_save.connect(pre, sender=model, dispatch_uid=f"test-pre-{model.__name__}")
        post_save.connect(post_, sender=model, dispatch_uid=f"test-post-{model.__name__}")
    yield heard
    for model in models:
        pre_save.disconnect(sender=model, dispatch_uid=f"test-pre-{model.__name__}")
        post_save.disconnect(sender=model, dispatch_uid=f"test-post-{model.__name__}")


@pytest.mark.django_db
def test_a_repeat_creates_logs_and_bumps_nothing_and_other_content_is_a_409(saves):
    athlete, client = athlete_client()
    body = report_body(id=str(uuid.uuid4()))
    assert post(client, REPORTS, body).status_code == 201
    # As `save()` tells them, once; entries are bulk rows (no signals), as before.
    assert saves == [("pre_save", SorenessReport, None), ("post_save", SorenessReport, True)]
    logged = SyncChange.objects.count()
    version = AthleteRecoveryState.objects.get(pk=athlete.pk).version

    saves.clear()
    entries_reordered = {**body, "entries": body["entries"][::-1]}
    again = post(client, REPORTS, entries_reordered)
    assert again.status_code == 200
    other = post(client, REPORTS, {**body, "sleep_quality": 2})
    assert other.status_code == 409
    assert other.json()["code"] == "id_conflict"
    assert other.json()["current"]["sleep_quality"] == 4
    assert [s for s in saves if s[0] == "post_save"] == []
    assert SorenessReport.objects.filter(athlete=athlete).count() == 1
    assert SorenessEntry.objects.filter(report__athlete=athlete).count() == 2
    assert SyncChange.objects.count() == logged
    assert AthleteRecoveryState.objects.get(pk=athlete.pk).version == version


@pytest.mark.django_db
def test_another_athletes_id_is_a_409_that_shows_nothing():
    _, client = athlete_client()
    _, other = athlete_client()
    body = report_body(id=str(uuid.uuid4()))
    assert post(client, REPORTS, body).status_code == 201
    taken = post(other, REPORTS, body)
    assert taken.status_code == 409
    assert taken.json()["code"] == "id_conflict"
    assert "current" not in taken.json()
    assert SorenessReport.objects.count() == 1


@pytest.mark.django_db
def test_a_new_training_session_brings_its_day_load_along(saves):
    athlete, client = athlete_client()
    day = timezone.localdate()
    body = {"id": str(uuid.uuid4()), "date": str(day), "session_type": "practice", "rpe": 5}
    assert post(client, SESSIONS, {**body, "duration_min": 60}).status_code == 201
    assert ("post_save", TrainingSession, True) in saves
    assert AthleteDailyLoad.objects.get(athlete=athlete, day=day).load_au == 300
    assert post(client, SESSIONS, {**body, "duration_min": 60}).status_code == 200
    assert AthleteDailyLoad.objects.get(athlete=athlete, day=day).load_au == 300  # not twice


@pytest.mark.django_db
def test_a_conflict_leaves_the_callers_transaction_usable():
    athlete = AthleteFactory()
    access = Access(user=athlete)
    group = MuscleGroup.objects.get(pk="hamstrings")
    record_id = uuid.uuid4()
    fields: dict[str, Any] = {"reported_at": timezone.now(), "date": timezone.localdate()}
    entries: list[Any] = [{"muscle_group": group, "side": "left", "severity": 3, "kind": "doms"}]
    with transaction.atomic():
        _, created = soreness_report_submit(
            access=access, entries=entries, record_id=record_id, sleep_quality=4, **fields
        )
        assert created
        with pytest.raises(IdConflict):
            soreness_report_submit(
                access=access, entries=entries, record_id=record_id, sleep_quality=1, **fields
            )
        assert not transaction.get_rollback()
        assert SorenessReport.objects.get(pk=record_id).sleep_quality == 4  # still answers


@pytest.mark.django_db
def test_a_409_forgets_the_key_and_a_failure_part_way_keeps_nothing():
    _, client = athlete_client()
    body = report_body(id=str(uuid.uuid4()))
    assert post(client, REPORTS, body).status_code == 201
    assert post(client, REPORTS, {**body, "sleep_quality": 1}, key="k1").status_code == 409
    assert not IdempotencyRecord.objects.filter(key="k1").exists()  # deleted after the 409

    def broken(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        if sql.startswith("INSERT") and SorenessEntry._meta.db_table in sql:
            raise RuntimeError("disk full")
        return execute(sql, *args)

    fresh = report_body(id=str(uuid.uuid4()))
    logged = SyncChange.objects.count()
    client.raise_request_exception = False
    with connection.execute_wrapper(broken):
        assert post(client, REPORTS, fresh, key="k2").status_code == 500
    assert not SorenessReport.objects.filter(pk=fresh["id"]).exists()
    assert SyncChange.objects.count() == logged
    assert not IdempotencyRecord.objects.filter(key="k2").exists()
    assert post(client, REPORTS, fresh, key="k2").status_code == 201  # the key is free again


@pytest.mark.django_db
def test_record_many_logs_every_change_and_bumps_each_athlete_once():
    team = TeamFactory()
    first, second = AthleteFactory(team=team), AthleteFactory(team=team)
    AthleteRecoveryState.objects.filter(pk=second.pk).delete()  # a missing row is created
    AthleteRecoveryState.objects.update_or_create(pk=first.pk, defaults={"version": 7})
    kind, upsert = SyncKind.SORENESS_REPORT, SyncOp.UPSERT
    changes = [
        log.Change(kind, uuid.uuid4(), first.pk, upsert),
        log.Change(kind, uuid.uuid4(), second.pk, upsert),
        log.Change(kind, uuid.uuid4(), first.pk, upsert),
        log.Change(SyncKind.STAFF_MEMBERSHIP, first.pk, None, SyncOp.SCOPE, team_id=team.pk),
    ]
    SyncChange.objects.all().delete()
    with CaptureQueriesContext(connection) as captured:
        log.record_many(changes)
    assert len(captured) == (1 if connection.vendor == "postgresql" else 2)
    assert sorted(SyncChange.objects.values_list("record_id", "athlete_id")) == sorted(
        (change.record_id, change.athlete_id) for change in changes
    )
    assert len({row.txid for row in SyncChange.objects.all()}) == 1
    assert AthleteRecoveryState.objects.get(pk=first.pk).version == 8
    assert AthleteRecoveryState.objects.get(pk=second.pk).version == 1

    with CaptureQueriesContext(connection) as captured:  # scope events only: no state to bump
        log.record_many(changes[3:])
    assert len(captured) == 1
    assert AthleteRecoveryState.objects.get(pk=first.pk).version == 8


@transactional
def test_without_a_key_the_create_is_a_transaction_of_its_own():
    """No request transaction around it: a failure at the entries leaves no report."""
    athlete, client = athlete_client()

    def broken(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        if sql.startswith("INSERT") and SorenessEntry._meta.db_table in sql:
            raise RuntimeError("disk full")
        return execute(sql, *args)

    client.raise_request_exception = False
    with connection.execute_wrapper(broken):
        assert client.post(REPORTS, report_body(), format="json").status_code == 500
    assert not SorenessReport.objects.filter(athlete=athlete).exists()
    assert not SyncChange.objects.filter(athlete_id=athlete.pk).exists()
    assert client.post(REPORTS, report_body(), format="json").status_code == 201
