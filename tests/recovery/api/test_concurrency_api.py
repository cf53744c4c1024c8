"""Safe retries and concurrent edits over HTTP (DESIGN.md section 5, issue 7): client-chosen ids
on create for the four kinds of records, ETag / If-Match / If-None-Match on their detail
endpoints, and, on PostgreSQL, real concurrent requests."""

from __future__ import annotations

import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.db import IntegrityError, connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Role, Team, User
from recovery.models import (
    Injury,
    MassageSession,
    MuscleGroup,
    SorenessEntry,
    SorenessReport,
    TrainingSession,
    TreatedArea,
)
from tests.factories import (
    InjuryFactory,
    MassageSessionFactory,
    MembershipFactory,
    SorenessEntryFactory,
    TeamFactory,
    TrainingSessionFactory,
    TreatedAreaFactory,
)

PROBLEM = "application/problem+json"
PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}
SECRET = "Other athlete's private note 7f3a"
ON_POSTGRES = "postgresql" in settings.DATABASES["default"]["ENGINE"]
pytestmark = pytest.mark.django_db  # the concurrency tests mark themselves transaction=True
postgres_only = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="needs concurrent connections and row locks: SQLite serialises writers, so these run "
    "on PostgreSQL (DATABASE_URL=postgres://...)",
)


# --- the four kinds of records ------------------------------------------------------------------


def entry(muscle_group: str, side: str | None, severity: int, kind: str) -> dict[str, Any]:
    return {"muscle_group": muscle_group, "side": side, "severity": severity, "kind": kind}


def area(muscle_group: str, side: str | None, pressure: str = "moderate") -> dict[str, Any]:
    return {
        "muscle_group": muscle_group,
        "side": side,
        "technique": "trigger_point",
        "pressure": pressure,
        "minutes": 10,
    }


@dataclass(frozen=True)
class Kind:
    """How to create, change and find one kind of record through the API."""

    name: str
    list_url: str
    detail: str  # route name of the detail endpoint
    model: type[Model]
    writer: str  # the role that creates it for an athlete of the team
    payload: Callable[[User], dict[str, Any]]
    retry: Callable[[dict[str, Any]], dict[str, Any]]  # the same content, sent differently
    other: Callable[[dict[str, Any]], dict[str, Any]]  # different content
    foreign: Callable[[User], Model]  # a stored record of `athlete`, with SECRET in it
    change: dict[str, Any]  # a valid PATCH body
    children: Callable[[], int] = lambda: 0


TRAINING = Kind(
    name="training_session",
    list_url="/api/v1/training-sessions/",
    detail="recovery:training-session-detail",
    model=TrainingSession,
    writer="athlete",
    payload=lambda athlete: {
        "date": "2025-03-14",
        "started_at": "2025-03-14T17:30:00+01:00",
        "session_type": "practice",
        "duration_min": 90,
        "rpe": 6,
        "distance_km": 7.4,
        "notes": "Small-sided games",
    },
    retry=lambda body: {**body, "started_at": "2025-03-14T16:30:00Z", "distance_km": "7.40"},
    other=lambda body: {**body, "rpe": 7},
    foreign=lambda athlete: TrainingSessionFactory(athlete=athlete, notes=SECRET),
    change={"rpe": 8},
)
SORENESS = Kind(
    name="soreness_report",
    list_url="/api/v1/soreness-reports/",
    detail="recovery:soreness-report-detail",
    model=SorenessReport,
    writer="athlete",
    payload=lambda athlete: {
        "reported_at": "2025-03-15T08:05:00+01:00",
        "date": "2025-03-15",
        "sleep_quality": 4,
        "entries": [
            entry("hamstrings", "left", 6, "doms"),
            entry("rectus_abdominis", None, 3, "tightness"),
            entry("adductors", "right", 7, "pain"),
        ],
    },
    retry=lambda body: {
        **body,
        "reported_at": "2025-03-15T07:05:00Z",
        "entries": body["entries"][::-1],
    },
    other=lambda body: {
        **body,
        "entries": [*body["entries"][:-1], entry("adductors", "right", 8, "pain")],
    },
    foreign=lambda athlete: (
        SorenessEntryFactory(report__athlete=athlete, report__notes=SECRET).report
    ),
    change={},
    children=lambda: SorenessEntry.objects.count(),
)
INJURY = Kind(
    name="injury",
    list_url="/api/v1/injuries/",
    detail="recovery:injury-detail",
    model=Injury,
    writer="therapist",
    payload=lambda athlete: {
        "athlete": str(athlete.pk),
        "muscle_group": "hamstrings",
        "side": "left",
        "onset_date": "2025-03-12",
        "notes": "Grade 1 strain in sprint drill",
    },
    retry=lambda body: {**body, "status": "active"},  # the default, now said
    other=lambda body: {**body, "side": "right"},
    foreign=lambda athlete: InjuryFactory(athlete=athlete, notes=SECRET),
    change={"notes": "MRI booked"},
)
MASSAGE = Kind(
    name="massage_session",
    list_url="/api/v1/massage-sessions/",
    detail="recovery:massage-session-detail",
    model=MassageSession,
    writer="therapist",
    payload=lambda athlete: {
        "athlete": str(athlete.pk),
        "scheduled_at": "2025-03-14T16:00:00Z",
        "complaint": "Tight left hamstring after Saturday's match.",
        "treated_areas": [area("hamstrings", "left"), area("quadriceps", "both")],
    },
    retry=lambda body: {
        **body,
        "scheduled_at": "2025-03-14T17:00:00+01:00",
        "treated_areas": body["treated_areas"][::-1],
    },
    other=lambda body: {
        **body,
        "treated_areas": [area("hamstrings", "left", "firm"), area("quadriceps", "both")],
    },
    foreign=lambda athlete: (
        TreatedAreaFactory(
            session=MassageSessionFactory(athlete=athlete, complaint=SECRET, clinical_notes=SECRET)
        ).session
    ),
    change={"complaint": "Calf cramps."},
    children=lambda: TreatedArea.objects.count(),
)
KINDS = [TRAINING, SORENESS, INJURY, MASSAGE]
EDITABLE = [TRAINING, INJURY, MASSAGE]  # soreness reports are append-only (no PUT/PATCH)


def by_name(kinds: list[Kind]) -> Any:
    return pytest.mark.parametrize("kind", kinds, ids=[kind.name for kind in kinds])


def detail_url(kind: Kind, pk: Any) -> str:
    return reverse(kind.detail, args=[pk])


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


def tag(version: int) -> dict[str, str]:
    return {"HTTP_IF_MATCH": f'"{version}"'}


def team_with(role: str) -> tuple[Team, User, User]:
    """A team with an athlete and a user of `role` (the athlete themself for "athlete")."""
    team = TeamFactory()
    athlete = MembershipFactory(team=team, role=Role.ATHLETE).user
    writer = athlete if role == "athlete" else MembershipFactory(team=team, role=Role(role)).user
    return team, athlete, writer


def client_of(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def stored_record(kind: Kind, athlete: User, writer: User) -> Model:
    """A record of `kind` for `athlete`, created through the API by `writer` (version 1)."""
    response = client_of(writer).post(kind.list_url, kind.payload(athlete), format="json")
    assert response.status_code == 201, response.content
    return kind.model._default_manager.get(pk=response.json()["id"])


# --- client-chosen ids --------------------------------------------------------------------------


@by_name(KINDS)
def test_sending_the_same_record_again_returns_it_and_creates_nothing(kind):
    _, athlete, writer = team_with(kind.writer)
    client, body = client_of(writer), {"id": str(uuid.uuid4()), **kind.payload(athlete)}
    first = client.post(kind.list_url, body, format="json")
    again = client.post(kind.list_url, kind.retry(body), format="json")
    assert (first.status_code, again.status_code) == (201, 200), again.content
    assert again.json() == first.json()
    assert first["ETag"] == again["ETag"] == '"1"'
    assert kind.model._default_manager.count() == 1
    children = kind.children()
    client.post(kind.list_url, body, format="json")
    assert kind.children() == children  # nested rows are not stored twice either


@by_name(KINDS)
def test_the_same_id_with_other_content_is_409_with_the_stored_record(kind):
    _, athlete, writer = team_with(kind.writer)
    client, body = client_of(writer), {"id": str(uuid.uuid4()), **kind.payload(athlete)}
    stored = client.post(kind.list_url, body, format="json").json()
    conflict = problem(
        client.post(kind.list_url, kind.other(body), format="json"), 409, "id_conflict"
    )
    assert conflict["current"] == stored
    assert kind.model._default_manager.count() == 1
    assert client.get(detail_url(kind, body["id"])).json() == stored  # unchanged


@by_name(KINDS)
@pytest.mark.parametrize("owner", ["other_team_athlete", "teammate"])
def test_an_id_of_another_athletes_record_is_409_and_reveals_nothing(kind, owner):
    team, athlete, writer = team_with(kind.writer)
    other_athlete = (
        MembershipFactory(team=team, role=Role.ATHLETE).user
        if owner == "teammate"
        else MembershipFactory(role=Role.ATHLETE).user
    )
    foreign = kind.foreign(other_athlete)
    count, children = kind.model._default_manager.count(), kind.children()
    body = {**kind.payload(athlete), "id": str(foreign.pk)}
    response = client_of(writer).post(kind.list_url, body, format="json")
    conflict = problem(response, 409, "id_conflict")
    assert set(conflict) == PROBLEM_KEYS  # no `current`, nothing else
    text = response.content.decode()
    assert SECRET not in text
    assert str(other_athlete.pk) not in text
    assert (kind.model._default_manager.count(), kind.children()) == (count, children)


def test_an_unknown_id_is_just_created_with_that_id():
    _, athlete, _ = team_with("athlete")
    record_id = str(uuid.uuid4())
    response = client_of(athlete).post(
        TRAINING.list_url, {"id": record_id, **TRAINING.payload(athlete)}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["id"] == record_id


# --- ETag, If-Match, If-None-Match --------------------------------------------------------------


@by_name(KINDS)
def test_every_record_response_carries_a_strong_etag_of_its_version(kind):
    _, athlete, writer = team_with(kind.writer)
    client = client_of(writer)
    created = client.post(kind.list_url, kind.payload(athlete), format="json")
    assert created["ETag"] == '"1"'
    read = client.get(detail_url(kind, created.json()["id"]))
    assert read["ETag"] == '"1"'
    assert "ETag" not in client.get(kind.list_url)  # a list has no single version


@by_name(EDITABLE)
def test_matching_if_match_applies_the_change_and_moves_the_etag(kind):
    _, athlete, writer = team_with(kind.writer)
    record = stored_record(kind, athlete, writer)
    response = client_of(writer).patch(
        detail_url(kind, record.pk), kind.change, format="json", **tag(1)
    )
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 2
    assert response["ETag"] == '"2"'
    record.refresh_from_db()
    assert record.version == 2


@by_name(EDITABLE)
def test_stale_if_match_is_412_with_the_current_record(kind):
    _, athlete, writer = team_with(kind.writer)
    record = stored_record(kind, athlete, writer)
    client = client_of(writer)
    url = detail_url(kind, record.pk)
    assert client.patch(url, kind.change, format="json", **tag(1)).status_code == 200
    current = client.get(url).json()
    stale = client.patch(url, {**kind.change}, format="json", **tag(1))
    body = problem(stale, 412, "precondition_failed")
    assert body["current"] == current
    assert stale["ETag"] == '"2"'
    record.refresh_from_db()
    assert record.version == 2


def test_put_with_stale_if_match_is_412_and_changes_nothing():
    _, athlete, _ = team_with("athlete")
    session = TrainingSessionFactory(athlete=athlete, rpe=5, version=3)
    body = {**TRAINING.payload(athlete), "rpe": 9}
    response = client_of(athlete).put(
        detail_url(TRAINING, session.pk), body, format="json", **tag(2)
    )
    assert problem(response, 412, "precondition_failed")["current"]["version"] == 3
    session.refresh_from_db()
    assert (session.rpe, session.version) == (5, 3)


@by_name(KINDS)
def test_delete_honours_if_match(kind):
    _, athlete, writer = team_with(kind.writer)
    record = stored_record(kind, athlete, writer)
    client, url = client_of(writer), detail_url(kind, record.pk)
    problem(client.delete(url, **tag(7)), 412, "precondition_failed")
    assert kind.model._default_manager.filter(pk=record.pk).exists()
    assert client.delete(url, **tag(1)).status_code == 204
    assert not kind.model._default_manager.filter(pk=record.pk).exists()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("*", 200),
        ('"1"', 200),
        ('"7", "1"', 200),
        ('W/"1"', 412),  # weak tags never match (strong comparison, RFC 9110 13.1.1)
        ("1", 412),  # not an entity tag
        ('"one"', 412),
    ],
)
def test_if_match_uses_the_strong_comparison(header, expected):
    _, athlete, _ = team_with("athlete")
    session = TrainingSessionFactory(athlete=athlete)
    response = client_of(athlete).patch(
        detail_url(TRAINING, session.pk), {"rpe": 8}, HTTP_IF_MATCH=header
    )
    assert response.status_code == expected
    session.refresh_from_db()
    assert session.version == (2 if expected == 200 else 1)


def test_without_if_match_the_last_write_wins_outside_massage_sessions():
    _, athlete, therapist = team_with("therapist")
    session = TrainingSessionFactory(athlete=athlete, rpe=5, duration_min=60)
    url = detail_url(TRAINING, session.pk)
    assert client_of(athlete).patch(url, {"rpe": 8}).status_code == 200
    response = client_of(therapist).patch(url, {"duration_min": 30})
    assert response.status_code == 200
    assert (response.json()["rpe"], response.json()["load_au"]) == (8, 240)
    assert response["ETag"] == '"3"'


@pytest.mark.parametrize(
    ("method", "action", "body"),
    [
        ("patch", "detail", {"complaint": "Calf cramps."}),
        ("post", "complete", {"pain_after": 2}),
        ("post", "cancel", {"reason": "Travel"}),
        ("post", "amendments", {"text": "Pressure was firm."}),
    ],
)
def test_massage_session_edits_without_if_match_are_428(method, action, body):
    _, athlete, therapist = team_with("therapist")
    status = "completed" if action == "amendments" else "planned"
    session = TreatedAreaFactory(
        session=MassageSessionFactory(athlete=athlete, therapist=therapist, status=status)
    ).session
    url = reverse(f"recovery:massage-session-{action}", args=[session.pk])
    client = client_of(therapist)
    problem(getattr(client, method)(url, body, format="json"), 428, "precondition_required")
    stored = MassageSession.objects.get(pk=session.pk)
    assert (stored.version, stored.status, stored.amendments.count()) == (1, status, 0)
    with_tag = getattr(client, method)(url, body, format="json", **tag(1))
    assert with_tag.status_code in (200, 201), with_tag.content
    assert with_tag["ETag"] == '"2"'


def test_massage_session_stale_if_match_on_an_action_is_412():
    _, athlete, therapist = team_with("therapist")
    session = TreatedAreaFactory(
        session=MassageSessionFactory(athlete=athlete, therapist=therapist, version=4)
    ).session
    client = client_of(therapist)
    url = reverse("recovery:massage-session-complete", args=[session.pk])
    body = problem(client.post(url, {}, **tag(3)), 412, "precondition_failed")
    assert (body["current"]["version"], body["current"]["status"]) == (4, "planned")
    assert MassageSession.objects.get(pk=session.pk).status == "planned"


def test_403_comes_before_428():
    _, athlete, coach = team_with("coach")
    session = MassageSessionFactory(athlete=athlete)
    response = client_of(coach).patch(detail_url(MASSAGE, session.pk), {"complaint": "x"})
    problem(response, 403, "permission_denied")


@by_name(KINDS)
def test_if_none_match_with_the_current_etag_is_304(kind):
    _, athlete, writer = team_with(kind.writer)
    record = stored_record(kind, athlete, writer)
    client, url = client_of(writer), detail_url(kind, record.pk)
    etag = client.get(url)["ETag"]
    not_modified = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified["ETag"] == etag
    assert client.get(url, HTTP_IF_NONE_MATCH='W/"1"').status_code == 304  # weak comparison
    kind.model._default_manager.filter(pk=record.pk).update(version=2)
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert (changed.status_code, changed["ETag"]) == (200, '"2"')


def test_the_version_check_and_the_write_are_one_update_statement():
    _, athlete, _ = team_with("athlete")
    session = TrainingSessionFactory(athlete=athlete)
    client = client_of(athlete)
    with CaptureQueriesContext(connection) as queries:
        response = client.patch(detail_url(TRAINING, session.pk), {"rpe": 8}, **tag(1))
    assert response.status_code == 200
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    [update] = [sql for sql in writes if '"recovery_trainingsession"' in sql]
    assert re.search(
        r'WHERE \(?"recovery_trainingsession"\."id" = .+ AND "recovery_trainingsession"\."version" = 1\)?$',
        update,
    ), update
    assert '"version" = ("recovery_trainingsession"."version" + 1)' in update
    assert not any("FOR UPDATE" in q["sql"] for q in queries.captured_queries)


# --- real concurrency (PostgreSQL) --------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _catalogue_back_after_the_last_flush(django_db_setup, django_db_blocker):
    """The tests below commit for real, and each ends with a flush of every table, the
    catalogue the migrations seed included. `serialized_rollback` reloads it before each of
    them; this reloads it once more after the last, for the test files that run next in this
    process (they expect the migrated catalogue)."""
    yield
    contents = getattr(connection, "_test_serialized_contents", None)
    if not (ON_POSTGRES and contents):
        return
    with django_db_blocker.unblock():
        if not MuscleGroup.objects.exists():  # flushed by the last test here: every table empty
            connection.creation.deserialize_db_from_string(contents)


def run_together(n: int, request: Callable[[int], Any]) -> list[Any]:
    """`request(i)` in n threads released at once; each closes its own database connection."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def worker(index: int) -> None:
        try:
            barrier.wait()
            results[index] = request(index)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@by_name(EDITABLE)
def test_ten_concurrent_patches_with_one_if_match_make_one_change(kind):
    _, athlete, writer = team_with(kind.writer)
    record = stored_record(kind, athlete, writer)
    url = detail_url(kind, record.pk)

    def patch(index: int) -> int:
        response = client_of(writer).patch(url, kind.change, format="json", **tag(1))
        return response.status_code

    statuses = Counter(run_together(10, patch))
    print(f'\n{kind.name}: 10 concurrent PATCHes with If-Match "1": {dict(statuses)}')
    assert statuses == {200: 1, 412: 9}
    record.refresh_from_db()
    assert record.version == 2


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_ten_concurrent_patches_without_if_match_all_apply_on_the_latest_version():
    _, athlete, therapist = team_with("therapist")
    session = TrainingSessionFactory(athlete=athlete, rpe=5, duration_min=60)
    url = detail_url(TRAINING, session.pk)
    changes = [{"rpe": 8} if i % 2 else {"duration_min": 30 + i} for i in range(10)]

    def patch(index: int) -> int:
        return client_of(therapist).patch(url, changes[index], format="json").status_code

    statuses = Counter(run_together(10, patch))
    print(f"\n10 concurrent PATCHes without If-Match: {dict(statuses)}")
    assert statuses == {200: 10}
    session.refresh_from_db()
    assert session.version == 11  # none lost
    assert session.load_au == session.rpe * session.duration_min  # computed on the latest row


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@by_name(KINDS)
def test_twenty_concurrent_creates_with_one_id_make_one_record(kind, monkeypatch):
    _, athlete, writer = team_with(kind.writer)
    body = {"id": str(uuid.uuid4()), **kind.payload(athlete)}
    lost_races: list[str] = []  # INSERTs that failed on the id and compared with the winner's row
    save = kind.model.save

    def counting_save(self: Model, *args: Any, **kwargs: Any) -> None:
        try:
            save(self, *args, **kwargs)
        except IntegrityError:
            lost_races.append(str(self.pk))
            raise

    monkeypatch.setattr(kind.model, "save", counting_save)

    def create(index: int) -> tuple[int, bytes]:
        response = client_of(writer).post(kind.list_url, body, format="json")
        return response.status_code, response.content

    results = run_together(20, create)
    statuses = Counter(status for status, _ in results)
    print(
        f"\n{kind.name}: 20 concurrent creates with one id: {dict(statuses)}, "
        f"{len(lost_races)} lost the INSERT race"
    )
    assert statuses == {201: 1, 200: 19}
    assert kind.model._default_manager.filter(pk=body["id"]).count() == 1
    assert kind.model._default_manager.count() == 1
    assert len({content for _, content in results}) == 1  # every answer is the stored record
