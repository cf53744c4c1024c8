"""Pulls concurrent with writes miss nothing (the snapshot horizon, docs/sync.md), and concurrent
pushes of one batch store each record once. PostgreSQL only: SQLite has one writer at a time, so
there is no interleaving to test there.

Each interleaving is forced with threading.Event, not timing: a second thread's transaction writes
and waits, open, while the test pulls; then it commits and the test pulls again.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from recovery.models import SyncChange, TrainingSession
from recovery.sync.cursor import Cursor, current_horizon
from tests.factories import TrainingSessionFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

URL = "/api/v1/sync/"
WAIT = 30  # seconds; only reached if something is broken


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


def require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "PostgreSQL only: the pull horizon is a PostgreSQL snapshot; SQLite lets one writer "
            "at a time, so a write cannot interleave with a pull there"
        )


def settle(timeout: float = 60.0) -> None:
    """Wait until every transaction begun before now has finished (anywhere in the cluster)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")
        mark = cursor.fetchone()[0]
    deadline = time.monotonic() + timeout
    while current_horizon() <= mark:
        assert time.monotonic() < deadline, "a transaction elsewhere stays open"
        time.sleep(0.02)


def pull(client: APIClient, since: str | None) -> dict:
    response = client.get(URL, {"since": since} if since else {})
    assert response.status_code == 200, response.content
    return response.json()


def pull_all(client: APIClient, since: str | None) -> tuple[set[str], str]:
    ids: set[str] = set()
    while True:
        page = pull(client, since)
        ids |= {change["id"] for change in page["changes"]}
        since = page["next_cursor"]
        if not page["has_more"]:
            return ids, since


@contextmanager
def open_transaction(work: Callable[[], object]) -> Iterator[dict]:
    """Run `work` in a transaction of another thread (its own connection) and keep it open until
    the block ends; then commit. Yields {"result": ..., "txid": ...} once `work` has run."""
    written, release = threading.Event(), threading.Event()
    state: dict = {}

    def run() -> None:
        try:
            with transaction.atomic():
                state["result"] = work()
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_current_xact_id()::text::bigint")
                    state["txid"] = cursor.fetchone()[0]
                written.set()
                assert release.wait(WAIT)
        except BaseException as exc:  # surfaced to the test below
            state["error"] = exc
            written.set()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert written.wait(WAIT)
        assert "error" not in state, state.get("error")
        yield state
    finally:
        release.set()
        thread.join(WAIT)
    assert "error" not in state, state.get("error")


def test_a_change_committed_after_a_pull_that_began_before_it_is_not_missed(client_for, member):
    require_postgres()
    slow_athlete: User = member("athlete")
    quick_athlete: User = member("athlete")  # another athlete: no row the two writes share
    client = client_for(member("therapist"))
    settle()
    _, cursor = pull_all(client, None)

    with open_transaction(lambda: TrainingSessionFactory(athlete=slow_athlete)) as slow:
        # A later transaction commits first: a cursor at "the newest change seen" would step over
        # the slow one, which commits with an older txid after this pull.
        quick = TrainingSessionFactory(athlete=quick_athlete)
        first = pull(client, cursor)
        seen = {change["id"] for change in first["changes"]}
        assert str(slow["result"].pk) not in seen
        assert Cursor.decode(first["next_cursor"]).horizon <= slow["txid"]  # not past it
        assert str(quick.pk) not in seen  # held back too: its txid is above the horizon
    settle()

    second, _ = pull_all(client, first["next_cursor"])
    assert {str(slow["result"].pk), str(quick.pk)} <= second


def test_a_rolled_back_write_leaves_nothing_to_pull(client_for, member):
    require_postgres()
    athlete: User = member("athlete")
    client = client_for(athlete)
    settle()
    _, cursor = pull_all(client, None)
    ghost = uuid.uuid4()

    def write_then_fail() -> None:
        with transaction.atomic():
            TrainingSessionFactory(athlete=athlete, id=ghost)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        write_then_fail()
    settle()

    changes, _ = pull_all(client, cursor)
    assert str(ghost) not in changes
    assert not SyncChange.objects.filter(record_id=ghost).exists()


def test_concurrent_pushes_of_one_batch_store_each_record_once(member):
    require_postgres()
    athlete: User = member("athlete")
    today = timezone.localdate().isoformat()
    records = [
        {
            "kind": "training_session",
            "data": {
                "id": str(uuid.uuid4()),
                "date": today,
                "session_type": "practice",
                "duration_min": 30 + i,
                "rpe": 5,
            },
        }
        for i in range(40)
    ]
    barrier = threading.Barrier(4)
    answers: list = []

    def push() -> None:
        try:
            client = APIClient()
            client.force_authenticate(athlete)
            barrier.wait(WAIT)
            response = client.post(URL, {"records": records}, format="json")
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=push) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)

    assert [status for status, _ in answers] == [200] * 4
    for index in range(len(records)):
        outcomes = sorted(body["results"][index]["result"] for _, body in answers)
        assert outcomes == ["created", "unchanged", "unchanged", "unchanged"]
    assert TrainingSession.objects.filter(athlete=athlete).count() == len(records)
