"""The two write paths the benchmark measures (issue #8): a soreness report POST with an
Idempotency-Key, and a sync push of new records. What makes them fast is pinned here as behaviour:
one transaction per POST (the key's claim, the report and the stored answer), the statements it
runs and those it no longer runs, the response built from what was inserted, the catalogue read
once per process, DRF's work done once per serializer class, and the bulk INSERTs. Each shortcut
is checked against what it replaces (DRF's own validation and rendering, Django's bulk_create)."""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.test import APIClient

from accounts.models import Role, User
from backend.api.serializers import represent, validate_data
from recovery.models import (
    IdempotencyRecord,
    MuscleGroup,
    SorenessEntry,
    SorenessReport,
    SyncChange,
    TrainingSession,
)
from recovery.serializers import common as serializer_common
from recovery.serializers.soreness import SorenessReportCreateSerializer, SorenessReportSerializer
from recovery.serializers.training import (
    TrainingSessionCreateSerializer,
    TrainingSessionSerializer,
)
from recovery.services.common import insert_new
from recovery.sync import push
from recovery.views import soreness as soreness_views
from tests.factories import MembershipFactory, SorenessReportFactory, TrainingSessionFactory
from tests.factories.api import athlete_client, push_records, soreness_report_body

REPORTS = "/api/v1/soreness-reports/"
SYNC = "/api/v1/sync/"
PROBLEM = "application/problem+json"
transactional = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def post_report(client: APIClient, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": key or str(uuid.uuid4())}
    return client.post(REPORTS, body, format="json", **headers)


def first_touch(captured: CaptureQueriesContext, table: str) -> str:
    """The verb of the first captured statement that names `table`."""
    for query in captured.captured_queries:
        if f'"{table}"' in query["sql"]:
            return str(query["sql"].split(" ", 1)[0].upper())
    return ""


def tables(captured: CaptureQueriesContext, verb: str) -> list[str]:
    """The tables of the captured statements starting with `verb`, in order."""
    out = []
    for query in captured.captured_queries:
        sql = query["sql"]
        if sql.upper().startswith(verb) and '"' in sql:
            out.append(sql.split('"')[1])
    return out


@pytest.fixture
def commits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """COMMITs sent by the application (a transactional test: nothing wraps it)."""
    sent: list[int] = []
    commit = connection.commit

    def counting() -> None:
        sent.append(1)
        commit()

    monkeypatch.setattr(connection, "commit", counting)
    return sent


# --- the soreness report POST ------------------------------------------------------------------


@transactional
def test_a_post_with_a_key_is_one_transaction_of_a_fixed_list_of_statements(commits):
    _, client = athlete_client()
    assert (
        post_report(client, soreness_report_body()).status_code == 201
    )  # warm: catalogue, serializers
    commits.clear()
    with CaptureQueriesContext(connection) as captured:
        response = post_report(client, soreness_report_body(), key="counted")
    assert response.status_code == 201
    assert len(commits) == 1  # the claim, the report and the stored answer commit together
    selects = tables(captured, "SELECT")
    inserts = tables(captured, "INSERT") + tables(captured, "WITH")  # the change log's WITH
    # One user query (authentication is shared with the Idempotency-Key middleware), which also
    # says the caller is an athlete (an athlete's own report needs no staff relations); no
    # catalogue, and no re-read of the report or its entries for the answer.
    assert selects == ["accounts_user"]
    assert inserts[0] == "recovery_idempotencyrecord"  # the claim comes first
    assert {"recovery_sorenessreport", "recovery_sorenessentry", "recovery_syncchange"} <= set(
        inserts
    )
    assert tables(captured, "UPDATE")[-1] == "recovery_idempotencyrecord"  # the answer, last
    # user, BEGIN, claim, report, change log with the athletes' stored state, entries,
    # answer, COMMIT; on SQLite a SAVEPOINT and RELEASE around the report (PostgreSQL: ON
    # CONFLICT DO NOTHING) and the state on its own (tests/recovery/perf/test_write_statements.py).
    assert len(captured) <= 11, [q["sql"][:80] for q in captured.captured_queries]
    stored = IdempotencyRecord.objects.get(key="counted")
    assert stored.state == IdempotencyRecord.State.DONE
    assert bytes(stored.response_body) == response.content


@pytest.mark.django_db
@pytest.mark.parametrize("entries", [1, 12])
def test_a_post_runs_the_same_statements_for_any_number_of_entries(entries):
    _, client = athlete_client()
    groups = list(MuscleGroup.objects.order_by("sort_order")[:entries])
    body = soreness_report_body(
        entries=[
            {
                "muscle_group": group.code,
                "side": "left" if group.has_sides else None,
                "severity": 3,
                "kind": "doms",
            }
            for group in groups
        ]
    )
    assert post_report(client, soreness_report_body()).status_code == 201
    with CaptureQueriesContext(connection) as captured:
        assert post_report(client, body).status_code == 201
    # The test's own transaction turns the request's into a savepoint: two statements more.
    assert len(captured) <= 14
    assert "recovery_musclegroup" not in tables(captured, "SELECT")


@pytest.mark.django_db
def test_the_answer_to_a_post_is_what_a_get_of_the_report_returns():
    _, client = athlete_client()
    body = soreness_report_body(
        entries=[  # not in the catalogue's order, midline groups (no side) among them
            {"muscle_group": "quadriceps", "side": "right", "severity": 3, "kind": "doms"},
            {"muscle_group": "rectus_abdominis", "side": None, "severity": 7, "kind": "pain"},
            {"muscle_group": "hamstrings", "side": "left", "severity": 5, "kind": "doms"},
            {"muscle_group": "quadriceps", "side": "left", "severity": 2, "kind": "tightness"},
            {"muscle_group": "adductors", "side": "both", "severity": 4, "kind": "doms"},
        ]
    )
    created = post_report(client, body)
    assert created.status_code == 201
    read = client.get(f"{REPORTS}{created.json()['id']}/")
    assert read.status_code == 200
    assert created.json() == read.json()


@transactional
def test_a_failed_commit_is_a_503_and_keeps_neither_the_report_nor_the_key(monkeypatch):
    _, client = athlete_client()
    commit = connection.commit
    failures = [OperationalError("server closed the connection unexpectedly")]

    def failing_once() -> None:
        if failures:
            raise failures.pop()
        commit()

    monkeypatch.setattr(connection, "commit", failing_once)
    body = soreness_report_body()
    response = post_report(client, body, key="k-1")
    assert response.status_code == 503
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "database_unavailable"
    assert int(response["Retry-After"]) > 0
    assert not SorenessReport.objects.exists()
    assert not IdempotencyRecord.objects.exists()
    retry = post_report(client, body, key="k-1")  # the phone retries: it runs, once
    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry
    assert SorenessReport.objects.count() == 1


@pytest.mark.django_db
def test_a_success_the_transaction_cannot_keep_is_not_acknowledged(monkeypatch):
    _, client = athlete_client()
    submit = soreness_views.services.soreness_report_submit

    def submit_then_doom(**kwargs: Any) -> Any:
        result = submit(**kwargs)
        transaction.set_rollback(True)  # as a swallowed database error inside the request would
        return result

    monkeypatch.setattr(soreness_views.services, "soreness_report_submit", submit_then_doom)
    response = post_report(client, soreness_report_body(), key="doomed")
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"


# --- the catalogue, read once per process ------------------------------------------------------


@pytest.fixture
def fresh_catalogue(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Forget the process's copy; returns a function that moves the catalogue's clock on."""
    monkeypatch.setattr(serializer_common, "_catalogue", None)
    now = [1000.0]
    monkeypatch.setattr(serializer_common, "_clock", lambda: now[0])

    def advance(seconds: float) -> None:
        now[0] += seconds

    return advance


@pytest.mark.django_db
def test_the_catalogue_is_read_once_then_again_after_its_ttl(fresh_catalogue):
    def reads() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert serializer_common.muscle_group_by_code("hamstrings") is not None
        return tables(captured, "SELECT").count("recovery_musclegroup")

    assert reads() == 1
    assert reads() == 0
    fresh_catalogue(serializer_common.CATALOGUE_TTL_SECONDS)
    assert reads() == 1


@pytest.mark.django_db
def test_a_group_saved_in_this_process_is_known_at_once(fresh_catalogue):
    assert serializer_common.muscle_group_by_code("tibialis_posterior_x") is None
    MuscleGroup.objects.create(
        code="tibialis_posterior_x", name="Tibialis posterior", region="lower_leg", view="back"
    )
    assert serializer_common.muscle_group_by_code("tibialis_posterior_x") is not None


@pytest.mark.django_db
def test_an_unknown_code_reads_the_catalogue_again_at_most_once_a_second(fresh_catalogue):
    serializer_common.muscle_groups()
    # Added by another process: no signal here.
    MuscleGroup.objects.bulk_create(
        [MuscleGroup(code="serratus_x", name="Serratus", region="trunk", view="front")]
    )
    assert serializer_common.muscle_group_by_code("serratus_x") is None  # read just now
    fresh_catalogue(1.0)
    assert serializer_common.muscle_group_by_code("serratus_x") is not None


# --- DRF's work done once per serializer class -------------------------------------------------

CREATE_SERIALIZERS = [SorenessReportCreateSerializer, TrainingSessionCreateSerializer]


def drf_answer(serializer_class: type[Any], data: Any) -> tuple[str, Any]:
    serializer = serializer_class(data=data, context={})
    if serializer.is_valid():
        return "valid", dict(serializer.validated_data)
    return "invalid", serializers.ValidationError(serializer.errors).detail


def shared_answer(serializer_class: type[Any], data: Any) -> tuple[str, Any]:
    try:
        return "valid", dict(validate_data(serializer_class, data, context={}))
    except serializers.ValidationError as exc:
        return "invalid", exc.detail


def payloads() -> list[Any]:
    today = timezone.localdate().isoformat()
    return [
        soreness_report_body(),
        soreness_report_body(id=str(uuid.uuid4()), notes="  padded  ", mood=None),
        soreness_report_body(entries=[]),
        soreness_report_body(entries=[{"muscle_group": "wings", "side": "left", "severity": 11}]),
        soreness_report_body(entries=[{"muscle_group": "rectus_abdominis", "side": "left"}]),
        soreness_report_body(date="2999-01-01", sleep_quality="4", surprise=True),
        {"date": today, "session_type": "practice", "duration_min": 60, "rpe": 6},
        {"date": today, "session_type": "nap", "duration_min": 0, "rpe": True},
        {"date": today, "session_type": "match", "duration_min": "90", "rpe": 5.0},
        {"date": today, "duration_min": 60, "rpe": 6, "distance_km": "12.345"},
        {"date": today, "duration_min": 60, "rpe": 6, "distance_km": 12.5, "notes": None},
        {},
        None,
        [],
        "report",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("serializer_class", CREATE_SERIALIZERS)
@pytest.mark.parametrize("index", range(len(payloads())))
def test_the_shared_serializer_answers_as_a_new_one_does(serializer_class, index):
    data = payloads()[index]
    assert shared_answer(serializer_class, copy.deepcopy(data)) == drf_answer(
        serializer_class, copy.deepcopy(data)
    )


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 1500),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["practice", "match", "doms", "pain", "left", "both", "hamstrings", ""]),
    st.just(timezone.localdate().isoformat()),
    st.just((timezone.now() - timedelta(hours=1)).isoformat()),
    st.lists(st.integers(0, 3), max_size=2),
)
ENTRY = st.dictionaries(
    st.sampled_from(["muscle_group", "side", "severity", "kind", "is_injury", "note", "x"]),
    VALUES,
)


@pytest.mark.django_db
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    report=st.dictionaries(
        st.sampled_from(
            ["reported_at", "date", "fatigue", "mood", "notes", "id", "athlete", "extra"]
        ),
        VALUES,
    ),
    entries=st.one_of(VALUES, st.lists(ENTRY, max_size=3)),
    session=st.dictionaries(
        st.sampled_from(
            ["date", "session_type", "duration_min", "rpe", "distance_km", "notes", "load_au"]
        ),
        VALUES,
    ),
)
def test_drf_work_done_once_changes_no_answer(report, entries, session):
    """Validation with the shared instance (fields built once, DRF's `to_internal_value` with
    its per-call work done once) answers exactly as a new serializer's is_valid() does, valid
    data and every error alike."""
    report = {**report, "entries": entries}
    for serializer_class, data in (
        (SorenessReportCreateSerializer, report),
        (TrainingSessionCreateSerializer, session),
    ):
        assert shared_answer(serializer_class, copy.deepcopy(data)) == drf_answer(
            serializer_class, copy.deepcopy(data)
        )


@pytest.mark.django_db
def test_represent_is_the_serializers_data():
    report = SorenessReportFactory()
    SorenessEntry.objects.create(report=report, muscle_group_id="hamstrings", side="left",
                                 severity=8, kind="pain", flagged=True)  # fmt: skip
    session = TrainingSessionFactory(distance_km=Decimal("12.50"))
    report = SorenessReport.objects.prefetch_related("entries").get(pk=report.pk)
    assert represent(SorenessReportSerializer, report, context={}) == (
        SorenessReportSerializer(report).data
    )
    assert represent(TrainingSessionSerializer, session, context={}) == (
        TrainingSessionSerializer(session).data
    )


@pytest.mark.django_db
def test_the_shared_serializer_validates_from_many_threads_at_once():
    bodies = [soreness_report_body(fatigue=1 + i % 5, notes=f"n{i}") for i in range(40)]
    expected = [shared_answer(SorenessReportCreateSerializer, body) for body in bodies]
    answers: list[list[tuple[str, Any]]] = []
    barrier = threading.Barrier(4)

    def work() -> None:
        barrier.wait()
        answers.append([shared_answer(SorenessReportCreateSerializer, b) for b in bodies * 5])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [expected * 5] * 4


def test_each_instance_gets_its_own_copy_of_the_built_fields():
    first, second = TrainingSessionSerializer(), TrainingSessionSerializer()
    assert first.fields.keys() == second.fields.keys()
    assert first.fields["rpe"] is not second.fields["rpe"]
    assert first.fields["rpe"].parent is first
    assert second.fields["rpe"].parent is second


# --- bulk INSERTs ------------------------------------------------------------------------------


STARTED = timezone.now() - timedelta(hours=2)


def sessions(athlete: User, n: int) -> list[TrainingSession]:
    day = timezone.localdate()
    return [
        TrainingSession(
            athlete=athlete,
            created_by=athlete,
            date=day - timedelta(days=i % 2),
            started_at=None if i % 3 else STARTED - timedelta(hours=i),
            session_type=("practice", "match")[i % 2],
            duration_min=30 + i,
            rpe=5,
            load_au=5 * (30 + i),
            distance_km=None if i % 2 else Decimal("10.25"),
            avg_heart_rate=None,
            notes="" if i else "first",
        )
        for i in range(n)
    ]


COMPARED = [
    "athlete_id", "date", "started_at", "session_type", "duration_min", "rpe", "load_au",
    "distance_km", "avg_heart_rate", "notes", "created_by_id", "version",
]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("n", [1, 5])
def test_insert_new_stores_what_bulk_create_stores(n):
    athlete = MembershipFactory(role=Role.ATHLETE).user
    ours, django_s = sessions(athlete, n), sessions(athlete, n)
    assert insert_new(TrainingSession, ours) == ours
    TrainingSession.objects.bulk_create(django_s)
    read = {row["id"]: row for row in TrainingSession.objects.values("id", *COMPARED)}
    for mine, theirs in zip(ours, django_s, strict=True):
        assert not mine._state.adding
        assert {k: read[mine.pk][k] for k in COMPARED} == {k: read[theirs.pk][k] for k in COMPARED}
    stamps = TrainingSession.objects.filter(pk__in=[s.pk for s in ours]).values_list(
        "created_at", "updated_at"
    )
    assert all(created and updated for created, updated in stamps)


@pytest.mark.django_db
def test_insert_new_skips_stored_keys_and_says_which_it_inserted():
    athlete = MembershipFactory(role=Role.ATHLETE).user
    stored = TrainingSessionFactory(athlete=athlete)
    batch = sessions(athlete, 3)
    batch[1].pk = stored.pk
    inserted = insert_new(TrainingSession, batch, skip_existing=True)
    assert [s.pk for s in inserted] == [batch[0].pk, batch[2].pk]
    assert TrainingSession.objects.get(pk=stored.pk).duration_min == stored.duration_min
    assert insert_new(TrainingSession, batch, skip_existing=True) == []


# --- the sync push -----------------------------------------------------------------------------


@pytest.fixture
def pusher() -> Callable[[list[dict[str, Any]]], tuple[dict[str, Any], Any]]:
    _, client = athlete_client()

    def push(records: list[dict[str, Any]]) -> tuple[dict[str, Any], Any]:
        with CaptureQueriesContext(connection) as captured:
            response = client.post(SYNC, {"records": records}, format="json")
        assert response.status_code == 200, response.content[:300]
        return response.json(), captured

    return push


@pytest.mark.django_db
def test_a_push_of_new_records_writes_them_without_reading_them_first(pusher):
    pusher(push_records(4))  # warm
    counts = {}
    for n in (50, 500):
        body, captured = pusher(push_records(n))
        assert body["counts"]["created"] == n
        if connection.vendor == "postgresql":  # elsewhere insert_new reads the stored ids
            for table in ("recovery_trainingsession", "recovery_sorenessreport"):
                assert first_touch(captured, table) == "INSERT"  # ids are not looked up first
        counts[n] = len(captured)
    # user, the profile, the two record INSERTs (skipping stored ids), entries, the daily-load
    # refresh (5), the change log (+1 for the athletes' stored state), savepoint: <= 16.
    assert counts[50] == counts[500] <= 16, counts


@pytest.mark.django_db
def test_a_push_mixing_new_stored_and_changed_ids(pusher):
    first = push_records(6)
    body, _ = pusher(first)
    assert body["counts"]["created"] == 6
    changed = copy.deepcopy(first[1])
    changed["data"]["rpe"] = 10
    again = [first[0], changed, *push_records(2), first[2], first[0]]
    body, _ = pusher(again)
    assert [row["result"] for row in body["results"]] == [
        "unchanged", "conflict", "created", "created", "unchanged", "unchanged"
    ]  # fmt: skip
    assert SorenessReport.objects.count() == 4
    assert TrainingSession.objects.filter(rpe=10).count() == 0
    assert SorenessEntry.objects.count() == 4  # entries only for the reports created
    logged = SyncChange.objects.filter(kind__in=["training_session", "soreness_report"])
    records = logged.values_list("record_id", flat=True)
    assert len(records) == len(set(records)) == 8  # a change-log row per record created


@pytest.mark.django_db
@pytest.mark.parametrize("kind", [[], {}, 3, None, True])
def test_a_kind_that_is_no_string_is_an_invalid_record_not_a_server_error(pusher, kind):
    body, _ = pusher([{"kind": kind, "data": {}}, push_records(2)[1]])
    assert [row["result"] for row in body["results"]] == ["invalid", "created"]
    assert body["results"][0]["kind"] is None
    assert body["results"][0]["errors"][0]["field"] == "kind"


@pytest.mark.django_db
def test_push_builds_its_rows_as_keyword_arguments_would(django_assert_num_queries):
    athlete = MembershipFactory(role=Role.ATHLETE).user
    group = MuscleGroup.objects.get(code="hamstrings")
    day = timezone.localdate()
    cases: list[tuple[type[Any], dict[str, Any]]] = [
        (TrainingSession, {"id": uuid.uuid4(), "athlete_id": athlete.pk, "created_by": athlete,
                           "load_au": 300, "date": day, "session_type": "practice",
                           "duration_min": 60, "rpe": 5}),
        (SorenessReport, {"id": uuid.uuid4(), "athlete_id": athlete.pk, "date": day,
                          "reported_at": STARTED, "fatigue": 3}),
        (SorenessEntry, {"id": uuid.uuid4(), "report_id": uuid.uuid4(), "muscle_group": group,
                         "side": "left", "severity": 7, "kind": "pain", "flagged": True}),
    ]  # fmt: skip
    for model, values in cases:
        built, expected = push._new(model, **values), model(**values)
        names = [field.attname for field in model._meta.concrete_fields]
        assert [getattr(built, n) for n in names] == [getattr(expected, n) for n in names]
        assert built._state.adding
    with django_assert_num_queries(0):
        entry = push._new(SorenessEntry, report_id=uuid.uuid4(), muscle_group=group, severity=1,
                          side="left", kind="doms")  # fmt: skip
        assert entry.muscle_group is group
        assert entry.id != push._new(SorenessEntry, muscle_group=group).id  # a default per row
