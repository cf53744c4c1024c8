"""Idempotency-Key in one transaction (recovery/idempotency.py), with real concurrency on
PostgreSQL: the key's claim, the request's writes and the stored answer commit together, so a
repeat sent while the first request runs waits for it and replays its answer (no 409), and a
repeat of a request that failed runs it again. Run with -s to see the figures."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.auth import issue_tokens
from recovery.models import IdempotencyRecord, SorenessEntry, SorenessReport
from recovery.views import soreness as soreness_views
from tests.conftest import require_postgres
from tests.factories import AthleteFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

URL = "/api/v1/soreness-reports/"
WAIT = 20.0


def report() -> dict[str, Any]:
    now = timezone.now() - timedelta(minutes=5)
    return {
        "reported_at": now.isoformat(),
        "date": now.date().isoformat(),
        "fatigue": 3,
        "entries": [
            {"muscle_group": "hamstrings", "side": "left", "severity": 5, "kind": "doms"},
            {"muscle_group": "quadriceps", "side": "both", "severity": 3, "kind": "doms"},
        ],
    }


def sender(access: str, body: dict[str, Any], key: str) -> Any:
    """A function that POSTs the body with the key from its own thread and connection."""

    def send() -> Any:
        client = APIClient()
        client.raise_request_exception = False
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        try:
            return client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        finally:
            connection.close()

    return send


def in_thread(send: Any, name: str) -> tuple[threading.Thread, list[Any]]:
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(send()), name=name)
    thread.start()
    return thread, result


def test_twenty_concurrent_posts_with_one_key_store_one_report_and_all_get_its_answer():
    require_postgres()
    access = issue_tokens(AthleteFactory())["access"]
    send = sender(access, report(), "one-key")
    barrier = threading.Barrier(20)
    responses: list[Any] = [None] * 20

    def worker(index: int) -> None:
        barrier.wait()
        responses[index] = send()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    replayed = sum(r.get("Idempotent-Replayed") == "true" for r in responses)
    statuses = sorted({r.status_code for r in responses})
    print(
        f"\n20 concurrent soreness POSTs, one key: statuses {statuses}, {replayed} replayed, "
        f"reports {SorenessReport.objects.count()}"
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1  # the one answer, replayed byte for byte
    assert replayed == 19
    assert SorenessReport.objects.count() == 1
    assert SorenessEntry.objects.count() == 2
    assert IdempotencyRecord.objects.get().state == IdempotencyRecord.State.DONE


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> dict[str, threading.Event]:
    """The request sent from the thread named "first" stops after storing its report, inside
    its transaction, until `release` is set; `fail` makes it fail then (a server error)."""
    events = {"stored": threading.Event(), "release": threading.Event(), "fail": threading.Event()}
    submit = soreness_views.services.soreness_report_submit

    def held_submit(**kwargs: Any) -> Any:
        result = submit(**kwargs)
        if threading.current_thread().name == "first":
            events["stored"].set()
            assert events["release"].wait(WAIT)
            if events["fail"].is_set():
                raise RuntimeError("the first request fails after its writes")
        return result

    monkeypatch.setattr(soreness_views.services, "soreness_report_submit", held_submit)
    return events


def test_a_repeat_waits_for_the_first_request_and_replays_its_answer(held):
    require_postgres()
    access = issue_tokens(AthleteFactory())["access"]
    send = sender(access, report(), "lost-answer")
    first, first_result = in_thread(send, "first")
    assert held["stored"].wait(WAIT)
    repeat, repeat_result = in_thread(send, "repeat")
    time.sleep(0.5)
    assert repeat.is_alive()  # waiting on the key's row, not answered 409
    held["release"].set()
    first.join(WAIT)
    repeat.join(WAIT)
    (original,), (replay,) = first_result, repeat_result
    assert original.status_code == replay.status_code == 201
    assert not original.has_header("Idempotent-Replayed")
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.content == original.content
    assert SorenessReport.objects.count() == 1


def test_a_repeat_of_a_request_that_failed_runs_it_again(held):
    require_postgres()
    access = issue_tokens(AthleteFactory())["access"]
    send = sender(access, report(), "failed-first")
    first, first_result = in_thread(send, "first")
    assert held["stored"].wait(WAIT)
    repeat, repeat_result = in_thread(send, "repeat")
    time.sleep(0.5)
    assert repeat.is_alive()
    held["fail"].set()
    held["release"].set()
    first.join(WAIT)
    repeat.join(WAIT)
    (failed,), (retried,) = first_result, repeat_result
    assert failed.status_code == 500
    assert retried.status_code == 201
    assert not retried.has_header("Idempotent-Replayed")  # it ran: nothing of the first was kept
    assert SorenessReport.objects.count() == 1
    assert SorenessEntry.objects.count() == 2
    stored = IdempotencyRecord.objects.get()
    assert bytes(stored.response_body) == retried.content
