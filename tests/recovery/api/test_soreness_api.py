"""Soreness reports and their flags over HTTP: the role matrix of DESIGN.md section 1, nested
entries validated and stored all or nothing, flags raised by the service and resolved by the
team's therapist, filters and constant queries."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from recovery.models import SorenessEntry, SorenessReport
from tests.factories import MembershipFactory, SorenessEntryFactory, SorenessReportFactory
from tests.factories.recovery import RELATIONS, user_related_to

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/soreness-reports/"
FLAGS_URL = "/api/v1/soreness-flags/"
READ = dict.fromkeys(RELATIONS, 404) | {
    "anonymous": 401,
    "self": 200,
    "therapist": 200,
    "coach": 200,
    "admin": 200,
}
WRITE = READ | {"therapist": 403, "coach": 403, "admin": 403}
RESOLVE = READ | {"self": 403, "coach": 403, "admin": 403}


def url(report: SorenessReport) -> str:
    return reverse("recovery:soreness-report-detail", args=[report.pk])


def resolve_url(entry: SorenessEntry) -> str:
    return reverse("recovery:soreness-flag-resolve", args=[entry.pk])


def entry(**overrides: object) -> dict[str, object]:
    return {
        "muscle_group": "hamstrings",
        "side": "left",
        "severity": 4,
        "kind": "doms",
        **overrides,
    }


def payload(*entries: dict[str, object], **overrides: object) -> dict[str, object]:
    now = timezone.now()
    return {
        "reported_at": now.isoformat(),
        "date": now.date().isoformat(),
        "entries": list(entries) or [entry()],
        **overrides,
    }


def error_fields(response) -> set[str]:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    return {error["field"] for error in response.json()["errors"]}


def ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.fixture
def athlete(member):
    return member("athlete")


@pytest.mark.parametrize(("relation", "expected"), READ.items())
def test_retrieve_follows_the_role_matrix(client_for, team, athlete, relation, expected):
    report = SorenessEntryFactory(report__athlete=athlete).report
    response = client_for(user_related_to(athlete, team, relation)).get(url(report))
    assert response.status_code == expected
    if expected == 200:
        assert [row["muscle_group"] for row in response.json()["entries"]] == ["hamstrings"]


@pytest.mark.parametrize(("relation", "expected"), READ.items())
def test_list_shows_exactly_the_reports_the_caller_may_read(
    client_for, team, athlete, relation, expected
):
    report = SorenessReportFactory(athlete=athlete)
    SorenessReportFactory()  # another team's athlete
    response = client_for(user_related_to(athlete, team, relation)).get(LIST_URL)
    if expected == 401:
        assert response.status_code == 401
        return
    assert ids(response) == ({str(report.pk)} if expected == 200 else set())


@pytest.mark.parametrize(("relation", "expected"), WRITE.items())
def test_delete_follows_the_role_matrix(client_for, team, athlete, relation, expected):
    report = SorenessEntryFactory(report__athlete=athlete).report
    response = client_for(user_related_to(athlete, team, relation)).delete(url(report))
    assert response.status_code == (204 if expected == 200 else expected)
    assert SorenessReport.objects.filter(pk=report.pk).exists() == (expected != 200)


@pytest.mark.parametrize(("relation", "expected"), (WRITE | {"self": 201}).items())
def test_only_the_athlete_submits_their_reports(client_for, team, athlete, relation, expected):
    response = client_for(user_related_to(athlete, team, relation)).post(
        LIST_URL, payload(athlete=str(athlete.pk))
    )
    if expected == 404:  # not visible: a validation error on `athlete`, never a create
        assert error_fields(response) == {"athlete"}
    else:
        assert response.status_code == expected
    assert SorenessReport.objects.count() == (1 if expected == 201 else 0)


def test_reports_cannot_be_edited(client_for, athlete):
    report = SorenessReportFactory(athlete=athlete)
    assert client_for(athlete).patch(url(report), {"mood": 5}).status_code == 405


def test_athlete_submits_a_report_with_entries_and_wellness(client_for, athlete):
    body = payload(
        entry(muscle_group="quadriceps", side="both", severity=5, kind="tightness"),
        entry(muscle_group="rectus_abdominis", side=None, severity=2, kind="doms"),
        sleep_quality=4,
        fatigue=2,
        general_soreness=3,
    )
    response = client_for(athlete).post(LIST_URL, body)
    assert response.status_code == 201, response.content
    stored = response.json()
    assert stored["athlete"] == str(athlete.pk)
    assert (stored["sleep_quality"], stored["fatigue"], stored["mood"]) == (4, 2, None)
    assert {(e["muscle_group"], e["side"]) for e in stored["entries"]} == {
        ("quadriceps", "both"),
        ("rectus_abdominis", None),
    }
    assert SorenessEntry.objects.filter(report_id=stored["id"]).count() == 2


@pytest.mark.parametrize(
    ("fields", "flagged"),
    [
        ({"kind": "pain", "severity": 7}, True),
        ({"kind": "pain", "severity": 6}, False),
        ({"kind": "doms", "severity": 10}, False),
        ({"kind": "tightness", "severity": 2, "is_injury": True}, True),
    ],
)
def test_pain_of_seven_or_an_injury_mark_raises_a_flag(client_for, athlete, fields, flagged):
    response = client_for(athlete).post(LIST_URL, payload(entry(**fields)))
    assert response.status_code == 201
    assert response.json()["entries"][0]["flagged"] is flagged


@pytest.mark.parametrize(
    ("bad_entry", "field"),
    [
        (entry(severity=11), "entries.1.severity"),
        (entry(severity=-1), "entries.1.severity"),
        (entry(kind="cramp"), "entries.1.kind"),
        (entry(muscle_group="spleen"), "entries.1.muscle_group"),
        (entry(muscle_group="rectus_abdominis", side="left"), "entries.1.side"),
        (entry(side=None), "entries.1.side"),
        (entry(side=""), "entries.1.side"),
        (entry(colour="red"), "entries.1.colour"),
    ],
)
def test_one_bad_entry_is_a_problem_naming_it_and_nothing_is_stored(
    client_for, athlete, bad_entry, field
):
    response = client_for(athlete).post(LIST_URL, payload(entry(), bad_entry))
    assert error_fields(response) == {field}
    assert SorenessReport.objects.count() == 0
    assert SorenessEntry.objects.count() == 0


def test_every_bad_entry_is_named_at_once(client_for, athlete):
    body = payload(entry(severity=11), entry(), entry(muscle_group="rectus_abdominis"))
    assert error_fields(client_for(athlete).post(LIST_URL, body)) == {
        "entries.0.severity",
        "entries.2.side",
    }


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"fatigue": 0}, "fatigue"),
        ({"mood": 6}, "mood"),
        ({"date": (timezone.localdate() + timedelta(days=2)).isoformat()}, "date"),
        ({"reported_at": (timezone.now() + timedelta(minutes=10)).isoformat()}, "reported_at"),
        ({"entries": []}, "entries"),
        ({"entries": [entry()] * 41}, "entries"),
        ({"flagged": True}, "flagged"),
    ],
)
def test_bad_report_field_is_a_problem_naming_it(client_for, athlete, overrides, field):
    response = client_for(athlete).post(LIST_URL, payload(**overrides))
    assert error_fields(response) == {field}
    assert SorenessReport.objects.count() == 0


def test_retry_with_the_same_client_id_returns_the_stored_report(client_for, athlete):
    body = payload(id=str(uuid.uuid4()))
    first = client_for(athlete).post(LIST_URL, body)
    again = client_for(athlete).post(LIST_URL, body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert SorenessEntry.objects.count() == 1


# No transaction around the request (no Idempotency-Key): the create's own transaction is what
# rolls back. (Inside a caller's transaction a failure fails it, on PostgreSQL: no savepoint.)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_failure_while_storing_entries_rolls_the_report_back(client_for, athlete, before_insert_of):
    def disk_full():
        raise RuntimeError("disk full")

    before_insert_of(SorenessEntry, disk_full)  # the report is written by then
    client = client_for(athlete)
    client.raise_request_exception = False
    assert client.post(LIST_URL, payload()).status_code == 500
    assert SorenessReport.objects.count() == 0


def test_filters_by_kind_athlete_team_and_date_range(client_for, team, member, athlete):
    today = timezone.localdate()
    pain = SorenessEntryFactory(report__athlete=athlete, kind="pain", report__date=today).report
    SorenessEntryFactory(report=pain, kind="pain", muscle_group_id="quadriceps")
    doms = SorenessEntryFactory(
        report__athlete=athlete, kind="doms", report__date=today - timedelta(days=5)
    ).report
    mate = SorenessEntryFactory(report__athlete=member("athlete"), report__date=today).report
    client = client_for(member("coach"))
    assert ids(client.get(LIST_URL, {"kind": "pain"})) == {str(pain.pk)}
    assert ids(client.get(LIST_URL, {"athlete": athlete.pk})) == {str(pain.pk), str(doms.pk)}
    assert ids(client.get(LIST_URL, {"team": team.pk})) == {str(r.pk) for r in (pain, doms, mate)}
    assert ids(client.get(LIST_URL, {"date_to": today - timedelta(days=1)})) == {str(doms.pk)}
    assert error_fields(client.get(LIST_URL, {"kind": "cramp"})) == {"kind"}


@pytest.mark.parametrize("n_reports", [1, 6])
def test_list_runs_the_same_queries_whatever_the_page_size(
    client_for, django_assert_num_queries, member, athlete, n_reports
):
    for _ in range(n_reports):
        SorenessEntryFactory.create_batch(3, report=SorenessReportFactory(athlete=athlete))
    client = client_for(member("therapist"))
    with django_assert_num_queries(2):  # reports, then all their entries
        response = client.get(LIST_URL)
    assert len(response.json()["results"]) == n_reports


# Flags


def flagged_entry(athlete, **overrides):
    return SorenessEntryFactory(report__athlete=athlete, kind="pain", severity=8, **overrides)


@pytest.mark.parametrize(("relation", "expected"), READ.items())
def test_flags_are_listed_to_whoever_reads_the_athletes_reports(
    client_for, team, athlete, relation, expected
):
    flag = flagged_entry(athlete)
    SorenessEntryFactory(report__athlete=athlete, kind="pain", severity=6)  # not flagged
    flagged_entry(MembershipFactory().user)  # another team's athlete
    response = client_for(user_related_to(athlete, team, relation)).get(FLAGS_URL)
    if expected == 401:
        assert response.status_code == 401
        return
    assert ids(response) == ({str(flag.pk)} if expected == 200 else set())


def test_flag_carries_its_report_and_athlete(client_for, member, athlete):
    flag = flagged_entry(athlete, side="right", is_injury=True)
    [row] = client_for(member("therapist")).get(FLAGS_URL).json()["results"]
    assert row == {
        "id": str(flag.pk),
        "report": str(flag.report.pk),
        "athlete": str(athlete.pk),
        "athlete_name": athlete.full_name,
        "date": flag.report.date.isoformat(),
        "reported_at": row["reported_at"],
        "muscle_group": "hamstrings",
        "side": "right",
        "severity": 8,
        "kind": "pain",
        "is_injury": True,
        "note": "",
        "flag_resolved_at": None,
        "flag_resolved_by": None,
    }


@pytest.mark.parametrize(("relation", "expected"), RESOLVE.items())
def test_only_a_therapist_of_the_team_resolves_a_flag(
    client_for, team, athlete, relation, expected
):
    flag = flagged_entry(athlete)
    caller = user_related_to(athlete, team, relation)
    response = client_for(caller).post(resolve_url(flag))
    assert response.status_code == expected
    flag.refresh_from_db()
    assert flag.flag_resolved_by == (caller if expected == 200 else None)
    assert (flag.flag_resolved_at is not None) == (expected == 200)


def test_resolved_flags_leave_the_open_list_and_resolving_again_changes_nothing(
    client_for, member, athlete
):
    flag = flagged_entry(athlete)
    first, second = member("therapist"), member("therapist")
    client_for(first).post(resolve_url(flag))
    client = client_for(second)
    again = client.post(resolve_url(flag))
    assert again.status_code == 200
    assert again.json()["flag_resolved_by"] == str(first.pk)
    assert ids(client.get(FLAGS_URL)) == set()
    assert ids(client.get(FLAGS_URL, {"status": "resolved"})) == {str(flag.pk)}
    assert ids(client.get(FLAGS_URL, {"status": "all"})) == {str(flag.pk)}
    assert error_fields(client.get(FLAGS_URL, {"status": "closed"})) == {"status"}


def test_an_entry_that_is_not_flagged_cannot_be_resolved(client_for, member, athlete):
    entry_ = SorenessEntryFactory(report__athlete=athlete, kind="doms", severity=9)
    assert client_for(member("therapist")).post(resolve_url(entry_)).status_code == 404


def test_flags_filter_by_athlete_and_report_date(client_for, member, athlete):
    today = timezone.localdate()
    recent = flagged_entry(athlete, report__date=today)
    older = flagged_entry(athlete, report__date=today - timedelta(days=9))
    mate = flagged_entry(member("athlete"), report__date=today)
    client = client_for(member("therapist"))
    assert ids(client.get(FLAGS_URL, {"athlete": athlete.pk})) == {str(recent.pk), str(older.pk)}
    assert ids(client.get(FLAGS_URL, {"date_from": today})) == {str(recent.pk), str(mate.pk)}


@pytest.mark.parametrize("n_flags", [1, 6])
def test_flag_list_runs_the_same_queries_whatever_the_page_size(
    client_for, django_assert_num_queries, member, athlete, n_flags
):
    for _ in range(n_flags):
        flagged_entry(athlete)
    client = client_for(member("coach"))
    with django_assert_num_queries(1):
        response = client.get(FLAGS_URL)
    assert len(response.json()["results"]) == n_flags
