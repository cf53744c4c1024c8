"""Sync pull (`GET /api/v1/sync/`): a full snapshot without a cursor, then every create, change and
deletion since the cursor, for the records the caller sees now; removals when access is lost; a
fixed number of queries per page; malformed, future and expired cursors refused.

These tests commit (`transaction=True`): on PostgreSQL a pull only returns changes whose
transaction has finished (the snapshot horizon), and a test's own open transaction never has.
`serialized_rollback` brings back the seeded catalogue after each.
"""

from __future__ import annotations

import base64
import time
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.access import Access
from accounts.models import AthleteProfile, Membership, Role
from recovery.models import SyncChange, TrainingSession
from recovery.services import training as training_services
from recovery.sync.cursor import Cursor, Mode, current_horizon
from tests.factories import (
    InjuryFactory,
    MassageSessionFactory,
    MembershipFactory,
    SorenessEntryFactory,
    SorenessReportFactory,
    TeamFactory,
    TrainingSessionFactory,
    TreatedAreaFactory,
)

URL = "/api/v1/sync/"
PROBLEM = "application/problem+json"
NOTES = "Tender left biceps femoris; refer if not better in 72 h."

transactional = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(scope="module", autouse=True)
def _catalogue_back_after_this_module(django_db_blocker):
    """A transactional test ends with a flush that empties the seeded catalogue, and serialized
    rollback reloads it only when the next such test starts. Put it back when this module is
    done, so that the next test file on this worker finds it."""
    yield
    contents = getattr(connection, "_test_serialized_contents", None)
    if contents:
        with django_db_blocker.unblock():
            connection.creation.deserialize_db_from_string(contents)


def settle(timeout: float = 60.0) -> None:
    """PostgreSQL: wait until every transaction that started before now has finished anywhere
    in the cluster (other test workers included), so that a pull's horizon is past our commits.
    SQLite has one writer at a time: nothing to wait for."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")  # ours, committed at once
        mark = cursor.fetchone()[0]
        deadline = time.monotonic() + timeout
        while current_horizon() <= mark:
            assert time.monotonic() < deadline, "a transaction elsewhere stays open"
            time.sleep(0.02)


def pull(client, since: str | None = None, limit: int | None = None) -> dict:
    settle()
    params = {key: value for key, value in (("since", since), ("limit", limit)) if value}
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()


def pull_all(client, since: str | None = None, limit: int | None = None) -> tuple[list, str]:
    """Every page; the changes in order and the cursor to continue from."""
    changes: list[dict] = []
    while True:
        page = pull(client, since, limit)
        changes += page["changes"]
        since = page["next_cursor"]
        if not page["has_more"]:
            return changes, since


def by_id(changes: list[dict]) -> dict[str, dict]:
    return {change["id"]: change for change in changes}


def problem(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == code


@pytest.fixture
def athlete(member):
    return member("athlete")


@pytest.fixture
def coach(member):
    return member("coach")


@transactional
def test_snapshot_then_creates_changes_and_deletions_since_the_cursor(client_for, athlete):
    kept = TrainingSessionFactory(athlete=athlete, rpe=5, duration_min=60)
    changed = TrainingSessionFactory(athlete=athlete, rpe=4, duration_min=30)
    deleted = TrainingSessionFactory(athlete=athlete)
    client = client_for(athlete)

    snapshot, cursor = pull_all(client)
    assert {c["id"] for c in snapshot} == {str(s.pk) for s in (kept, changed, deleted)}
    assert {(c["kind"], c["op"]) for c in snapshot} == {("training_session", "upsert")}
    assert by_id(snapshot)[str(kept.pk)]["data"]["load_au"] == 300

    training_services.training_session_update(
        access=Access(user=athlete), session=changed, rpe=8, duration_min=30
    )
    deleted_id = deleted.pk
    deleted.delete()
    report = SorenessReportFactory(athlete=athlete)
    SorenessEntryFactory(report=report, kind="pain", severity=8)

    changes, cursor = pull_all(client, cursor)
    assert set(by_id(changes)) == {str(changed.pk), str(deleted_id), str(report.pk)}
    update = by_id(changes)[str(changed.pk)]
    assert update["op"] == "upsert"
    assert update["data"]["rpe"] == 8
    assert update["data"]["load_au"] == 240
    tombstone = by_id(changes)[str(deleted_id)]
    assert tombstone.keys() == {"kind", "op", "id", "changed_at"}  # nothing personal
    assert (tombstone["kind"], tombstone["op"]) == ("training_session", "delete")
    created = by_id(changes)[str(report.pk)]
    assert created["data"]["entries"][0]["flagged"] is True

    assert pull(client, cursor)["changes"] == []  # nothing new: the cursor is at the end


@transactional
def test_pages_with_has_more_cover_everything_once(client_for, athlete):
    sessions = TrainingSessionFactory.create_batch(5, athlete=athlete)
    client = client_for(athlete)

    pages = []
    since = None
    while True:
        page = pull(client, since, limit=2)
        pages.append(page)
        since = page["next_cursor"]
        if not page["has_more"]:
            break
    assert [len(page["changes"]) for page in pages[:3]] == [2, 2, 1]
    snapshot_ids = [c["id"] for page in pages for c in page["changes"]]
    assert sorted(snapshot_ids) == sorted(str(s.pk) for s in sessions)

    for session in sessions:
        session.notes = "edited"
        session.save()
    delta_pages = []
    while True:
        page = pull(client, since, limit=2)
        delta_pages.append(page)
        since = page["next_cursor"]
        if not page["has_more"]:
            break
    assert [page["has_more"] for page in delta_pages] == [True, True, False]
    delta_ids = [c["id"] for page in delta_pages for c in page["changes"]]
    assert sorted(delta_ids) == sorted(str(s.pk) for s in sessions)
    assert all(c["data"]["notes"] == "edited" for p in delta_pages for c in p["changes"])


@transactional
def test_another_teams_records_never_appear(client_for, team, athlete, coach):
    own = TrainingSessionFactory(athlete=athlete)
    other_team = TeamFactory()
    stranger = MembershipFactory(team=other_team, role=Role.ATHLETE).user
    foreign = [
        TrainingSessionFactory(athlete=stranger),
        SorenessReportFactory(athlete=stranger),
        InjuryFactory(athlete=stranger),
        MassageSessionFactory(athlete=stranger, clinical_notes=NOTES),
    ]
    client = client_for(coach)

    snapshot, cursor = pull_all(client)
    assert {c["id"] for c in snapshot} == {str(own.pk)}

    foreign[0].notes = "changed"
    foreign[0].save()
    foreign[1].delete()
    TrainingSessionFactory(athlete=stranger)
    MembershipFactory(team=other_team, role=Role.ATHLETE).user.delete()
    changes, _ = pull_all(client, cursor)
    assert changes == []


@transactional
def test_coach_whose_membership_is_deactivated_gets_removals(client_for, team, athlete, coach):
    session = TrainingSessionFactory(athlete=athlete)
    client = client_for(coach)
    _, cursor = pull_all(client)

    membership = Membership.objects.get(user=coach, team=team)
    membership.is_active = False
    membership.save()
    session.notes = "after the coach left"
    session.save()

    changes, _ = pull_all(client, cursor)
    assert [(c["kind"], c["op"], c["id"]) for c in changes] == [
        ("athlete", "remove", str(athlete.pk))
    ]


@transactional
def test_athlete_leaving_the_team_is_removed_for_its_staff_only(client_for, team, athlete, coach):
    TrainingSessionFactory(athlete=athlete)
    teammate = MembershipFactory(team=team, role=Role.ATHLETE).user
    _, coach_cursor = pull_all(client_for(coach))
    _, teammate_cursor = pull_all(client_for(teammate))

    Membership.objects.get(user=athlete, team=team).delete()

    changes, _ = pull_all(client_for(coach), coach_cursor)
    assert [(c["kind"], c["op"], c["id"]) for c in changes] == [
        ("athlete", "remove", str(athlete.pk))
    ]
    changes, _ = pull_all(client_for(teammate), teammate_cursor)
    assert changes == []  # a fellow athlete never saw them: nothing to remove, nothing leaked


@transactional
def test_athlete_still_seen_through_another_team_is_not_removed(client_for, team, athlete, coach):
    second = TeamFactory()
    MembershipFactory(team=second, role=Role.ATHLETE, user=athlete)
    MembershipFactory(team=second, role=Role.COACH, user=coach)
    session = TrainingSessionFactory(athlete=athlete)
    _, cursor = pull_all(client_for(coach))

    Membership.objects.filter(user=athlete, team=team).get().delete()
    session.notes = "still visible"
    session.save()

    changes, _ = pull_all(client_for(coach), cursor)
    assert [(c["op"], c["id"]) for c in changes] == [("upsert", str(session.pk))]


@transactional
def test_joining_a_team_sends_its_history(client_for, team, athlete, member):
    """A coach already syncing another team joins this one: its records arrive as upserts."""
    history = TrainingSessionFactory(athlete=athlete)
    other_team = TeamFactory()
    coach = MembershipFactory(team=other_team, role=Role.COACH).user
    _, cursor = pull_all(client_for(coach))

    MembershipFactory(team=team, role=Role.COACH, user=coach)

    changes, _ = pull_all(client_for(coach), cursor)
    assert [(c["op"], c["id"]) for c in changes] == [("upsert", str(history.pk))]


@transactional
def test_consent_withdrawal_resends_massage_sessions_without_notes(
    client_for, team, athlete, coach, member
):
    therapist = member("therapist")
    AthleteProfile.objects.filter(user=athlete).update(share_clinical_notes_with_coaches=True)
    session = MassageSessionFactory(athlete=athlete, therapist=therapist, clinical_notes=NOTES)
    TreatedAreaFactory(session=session)
    snapshot, coach_cursor = pull_all(client_for(coach))
    assert snapshot[0]["data"]["clinical_notes"] == NOTES
    assert len(snapshot[0]["data"]["treated_areas"]) == 1
    _, therapist_cursor = pull_all(client_for(therapist))

    profile = AthleteProfile.objects.get(user=athlete)
    profile.share_clinical_notes_with_coaches = False
    profile.save()

    changes, coach_cursor = pull_all(client_for(coach), coach_cursor)
    assert [(c["op"], c["id"]) for c in changes] == [("upsert", str(session.pk))]
    assert "clinical_notes" not in changes[0]["data"]
    changes, _ = pull_all(client_for(therapist), therapist_cursor)
    assert changes[0]["data"]["clinical_notes"] == NOTES  # the therapist always reads them

    profile.share_clinical_notes_with_coaches = True
    profile.save()
    changes, _ = pull_all(client_for(coach), coach_cursor)
    assert changes[0]["data"]["clinical_notes"] == NOTES


@transactional
def test_parts_of_records_change_their_record(client_for, athlete, member):
    therapist = member("therapist")
    report = SorenessReportFactory(athlete=athlete)
    entry = SorenessEntryFactory(report=report, kind="pain", severity=9)
    session = MassageSessionFactory(athlete=athlete, therapist=therapist, status="completed")
    area = TreatedAreaFactory(session=session)
    client = client_for(therapist)
    _, cursor = pull_all(client)

    entry.flag_resolved_at = timezone.now()
    entry.save()
    area.delete()

    changes, _ = pull_all(client, cursor)
    assert {(c["kind"], c["op"], c["id"]) for c in changes} == {
        ("soreness_report", "upsert", str(report.pk)),
        ("massage_session", "upsert", str(session.pk)),
    }
    assert by_id(changes)[str(session.pk)]["data"]["treated_areas"] == []


@transactional
def test_deleting_a_user_sends_tombstones_in_one_statement(client_for, team, athlete, coach):
    sessions = TrainingSessionFactory.create_batch(3, athlete=athlete)
    _, cursor = pull_all(client_for(coach))
    with CaptureQueriesContext(connection) as queries:
        athlete.delete()
    inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "recovery_syncchange"')]
    assert len(inserts) <= 3  # the records' tombstones at once, and the membership's scope event
    assert set(SyncChange.objects.filter(op="delete").values_list("record_id", flat=True)) >= {
        s.pk for s in sessions
    }
    changes, _ = pull_all(client_for(coach), cursor)
    assert [(c["kind"], c["op"]) for c in changes] == [("athlete", "remove")]


@transactional
def test_a_page_takes_the_same_number_of_queries_whatever_its_size(
    client_for, team, athlete, member
):
    therapist = member("therapist")
    client = client_for(therapist)

    def write(n: int) -> None:
        for _ in range(n):
            TrainingSessionFactory(athlete=athlete)
            SorenessEntryFactory(report=SorenessReportFactory(athlete=athlete))
            TreatedAreaFactory(session=MassageSessionFactory(athlete=athlete, therapist=therapist))
            InjuryFactory(athlete=athlete)
        TrainingSessionFactory(athlete=athlete).delete()

    counts = []
    _, cursor = pull_all(client)
    for n in (1, 10):
        write(n)
        settle()
        with CaptureQueriesContext(connection) as queries:
            page = client.get(URL, {"since": cursor}).json()
        assert len(page["changes"]) == 4 * n + 1
        counts.append(len(queries))
        cursor = page["next_cursor"]
    assert counts[0] == counts[1]
    assert counts[0] <= 15


@pytest.mark.django_db
def test_malformed_cursors_are_400(client_for, athlete):
    client = client_for(athlete)
    for since in (
        "not-a-cursor",
        base64.urlsafe_b64encode(b"v2:d:1:1:1:1").decode(),
        base64.urlsafe_b64encode(b"v1:x:1:1:1:1").decode(),
        base64.urlsafe_b64encode(b"v1:d:1:-1:1:1").decode(),
        base64.urlsafe_b64encode(b"v1:s:1:0:not-a-uuid:1").decode(),
        "%%%",
    ):
        problem(client.get(URL, {"since": since}), 400, "sync_cursor_invalid")


@pytest.mark.django_db
def test_a_cursor_from_the_future_is_400(client_for, athlete):
    now = int(timezone.now().timestamp())
    ahead = Cursor(Mode.DELTA, current_horizon() + 10_000, 0, "0", now).encode()
    problem(client_for(athlete).get(URL, {"since": ahead}), 400, "sync_cursor_invalid")


@pytest.mark.django_db
def test_a_cursor_older_than_the_retention_is_410(client_for, athlete, settings):
    settings.SYNC_TOMBSTONE_RETENTION_DAYS = 30
    issued = int((timezone.now() - timedelta(days=31)).timestamp())
    old = Cursor(Mode.DELTA, 1, 0, "0", issued).encode()
    problem(client_for(athlete).get(URL, {"since": old}), 410, "sync_reset_required")
    recent = Cursor(Mode.DELTA, 1, 0, "0", issued + 2 * 86400).encode()
    assert client_for(athlete).get(URL, {"since": recent}).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("limit", ["0", "501", "ten", "-1"])
def test_limit_out_of_range_is_400(client_for, athlete, limit):
    problem(client_for(athlete).get(URL, {"limit": limit}), 400, "validation_error")


@pytest.mark.django_db
def test_anonymous_is_401(api_client):
    assert api_client.get(URL).status_code == 401


@transactional
def test_purge_command_deletes_only_rows_older_than_the_retention(athlete):
    from django.core.management import call_command

    TrainingSessionFactory(athlete=athlete)
    old = SyncChange.objects.create(
        txid=0,
        kind="training_session",
        record_id=uuid.uuid4(),
        athlete_id=athlete.pk,
        op="delete",
        changed_at=timezone.now() - timedelta(days=92),
    )
    kept = SyncChange.objects.count() - 1
    call_command("purge_sync_changes", verbosity=0)
    assert not SyncChange.objects.filter(pk=old.pk).exists()
    assert SyncChange.objects.count() == kept
    assert TrainingSession.objects.filter(athlete=athlete).exists()


@transactional
def test_an_erased_athlete_is_removed_from_staff_devices(client_for, team, athlete, coach):
    """GDPR erasure keeps the account row and deactivates memberships in bulk (no signals): the
    erased user's save logs the scope events, so staff devices drop the athlete."""
    from accounts.audit import AuditOrigin
    from accounts.gdpr import user_erase

    TrainingSessionFactory(athlete=athlete)
    _, cursor = pull_all(client_for(coach))
    assert user_erase(actor=athlete, user=athlete, origin=AuditOrigin())

    changes, _ = pull_all(client_for(coach), cursor)
    assert [(c["kind"], c["op"], c["id"]) for c in changes] == [
        ("athlete", "remove", str(athlete.pk))
    ]


@pytest.mark.django_db
def test_bulk_loaded_demo_data_is_in_the_change_log():
    from django.core.management import call_command

    from recovery.models import Injury, MassageSession, SorenessReport

    call_command("load_demo_data", "--teams", "1", "--athletes", "2", "--days", "5", stdout=None)
    records = {
        kind: set(model.objects.values_list("pk", flat=True))
        for kind, model in (
            ("training_session", TrainingSession),
            ("soreness_report", SorenessReport),
            ("massage_session", MassageSession),
            ("injury", Injury),
        )
    }
    logged = {
        kind: set(
            SyncChange.objects.filter(kind=kind, op="upsert").values_list("record_id", flat=True)
        )
        for kind in records
    }
    assert records == logged
    assert records["training_session"]
