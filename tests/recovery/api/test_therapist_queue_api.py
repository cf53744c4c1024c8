"""GET /api/v1/therapist-queue/: the athletes of the caller's therapist teams, most urgent first
(urgency = top focus score + points for open flags and injuries), with their top focus and next
planned session; therapists only, in a fixed number of queries."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from django.utils import timezone
from freezegun import freeze_time

from accounts.models import Role
from recovery.selectors.dashboard import INJURY_POINTS, OPEN_FLAG_POINTS
from recovery.selectors.recommendation import recommendations_for
from tests.factories import (
    InjuryFactory,
    MassageSessionFactory,
    MembershipFactory,
    SorenessEntryFactory,
    SorenessReportFactory,
    TeamFactory,
)
from tests.factories.recovery import muscle

pytestmark = pytest.mark.django_db

NOW = "2025-03-14 12:00:00"
URL = "/api/v1/therapist-queue/"


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"{text}+00:00")


def athlete(team, name: str):
    return MembershipFactory(team=team, role=Role.ATHLETE, user__full_name=name).user


def sore(user, when: str, code: str, side: str, severity: int, kind: str = "doms") -> None:
    report = SorenessReportFactory(athlete=user, reported_at=at(when))
    SorenessEntryFactory(
        report=report, muscle_group=muscle(code), side=side, severity=severity, kind=kind
    )


@pytest.fixture
def clinic(team, member):
    """A therapist of two teams (and coach of a third) with athletes of known urgency."""
    therapist = member("therapist")
    team.name = "A team"
    team.save()
    second = TeamFactory(name="B team")
    MembershipFactory(user=therapist, team=second, role=Role.THERAPIST)
    coached = TeamFactory(name="C team")
    MembershipFactory(user=therapist, team=coached, role=Role.COACH)

    ann = athlete(team, "Ann Archer")
    MembershipFactory(user=ann, team=second, role=Role.ATHLETE)  # in both: listed once, A team
    sore(ann, "2025-03-13T08:00:00", "hamstrings", "left", 6)
    future = MassageSessionFactory(athlete=ann, scheduled_at=at("2025-03-15T10:00:00"))
    MassageSessionFactory(athlete=ann, scheduled_at=at("2025-03-13T10:00:00"))  # past, planned
    MassageSessionFactory(athlete=ann, scheduled_at=at("2025-03-14T18:00:00"), status="cancelled")

    ben = athlete(team, "Ben Baker")
    sore(ben, "2025-03-13T09:00:00", "hamstrings", "right", 8, "pain")  # open flag
    InjuryFactory(athlete=ben, muscle_group=muscle("hamstrings"), side="right")

    cat = athlete(team, "Cat Cole")  # nothing to report
    dan = athlete(team, "Dan Drew")
    InjuryFactory(athlete=dan, muscle_group=muscle("adductors"), status="rehab")
    InjuryFactory(athlete=dan, muscle_group=muscle("quadriceps"), status="resolved")
    eve = athlete(second, "Eve Evans")

    athlete(coached, "Zed Zane")  # coached only: never in the queue
    MembershipFactory(team=team, role=Role.ATHLETE, is_active=False)  # left the team
    return {
        "therapist": therapist,
        "team": team,
        "second": second,
        "coached": coached,
        "ann": ann,
        "ben": ben,
        "cat": cat,
        "dan": dan,
        "eve": eve,
        "future": future,
    }


@freeze_time(NOW)
def test_queue_ranks_by_urgency_with_its_parts(client_for, clinic):
    response = client_for(clinic["therapist"]).get(URL)
    assert response.status_code == 200, response.content
    rows = {row["athlete"]["name"]: row for row in response.json()}
    assert set(rows) == {"Ann Archer", "Ben Baker", "Cat Cole", "Dan Drew", "Eve Evans"}

    ids = [clinic[key].pk for key in ("ann", "ben", "cat", "dan", "eve")]
    recommendations = recommendations_for(athlete_ids=ids, at=timezone.now())
    score = {pk: recommendations[pk].focus[0].score for pk in ids}
    expected = {
        "Ann Archer": (score[clinic["ann"].pk], 0, 0.0),
        "Ben Baker": (score[clinic["ben"].pk], 1, INJURY_POINTS["active"]),
        "Cat Cole": (score[clinic["cat"].pk], 0, 0.0),
        "Dan Drew": (score[clinic["dan"].pk], 0, INJURY_POINTS["rehab"]),
        "Eve Evans": (score[clinic["eve"].pk], 0, 0.0),
    }
    for name, (focus, flags, injuries) in expected.items():
        row = rows[name]
        assert row["urgency_components"] == {
            "focus": focus,
            "open_flags": OPEN_FLAG_POINTS * flags,
            "injuries": injuries,
        }
        assert row["urgency"] == round(focus + OPEN_FLAG_POINTS * flags + injuries, 3)
        assert row["open_flags"] == flags

    order = [row["athlete"]["name"] for row in response.json()]
    assert order[:2] == ["Ben Baker", "Ann Archer"]  # the open flag first, then the soreness
    urgencies = [row["urgency"] for row in response.json()]
    assert urgencies == sorted(urgencies, reverse=True)

    ann, ben = rows["Ann Archer"], rows["Ben Baker"]
    assert OPEN_FLAG_POINTS == 10.0
    assert INJURY_POINTS == {"active": 3.0, "rehab": 1.0}
    assert ann["team"] == {"id": str(clinic["team"].pk), "name": "A team"}
    assert rows["Eve Evans"]["team"] == {"id": str(clinic["second"].pk), "name": "B team"}
    assert ann["top_focus"] == {
        "muscle_group": "hamstrings",
        "name": muscle("hamstrings").name,
        "side": "left",
        "score": score[clinic["ann"].pk],
        "reason": recommendations[clinic["ann"].pk].focus[0].reasons[0],
        "technique": recommendations[clinic["ann"].pk].focus[0].technique.value,
    }
    assert ann["top_focus"]["reason"].startswith("soreness 6/10")
    assert ann["planned_session"] == {
        "id": str(clinic["future"].pk),
        "scheduled_at": "2025-03-15T10:00:00Z",
    }
    assert (ben["active_injuries"], rows["Dan Drew"]["active_injuries"]) == (1, 1)
    assert ben["planned_session"] is None
    assert (ben["top_focus"]["muscle_group"], ben["top_focus"]["side"]) != ("hamstrings", "right")


@freeze_time(NOW)
def test_resolved_flag_no_longer_counts(client_for, clinic):
    from recovery.models import SorenessEntry

    SorenessEntry.objects.filter(report__athlete=clinic["ben"]).update(
        flag_resolved_at=at("2025-03-14T09:00:00")
    )
    rows = {row["athlete"]["name"]: row for row in client_for(clinic["therapist"]).get(URL).json()}
    assert rows["Ben Baker"]["open_flags"] == 0
    assert rows["Ben Baker"]["urgency_components"]["open_flags"] == 0.0


@freeze_time(NOW)
def test_team_filter(client_for, clinic):
    client = client_for(clinic["therapist"])
    response = client.get(URL, {"team": clinic["second"].pk})
    assert response.status_code == 200
    assert {(row["athlete"]["name"], row["team"]["name"]) for row in response.json()} == {
        ("Ann Archer", "B team"),
        ("Eve Evans", "B team"),
    }
    assert client.get(URL, {"team": clinic["coached"].pk}).status_code == 404  # coach there
    assert client.get(URL, {"team": TeamFactory().pk}).status_code == 404
    assert client.get(URL, {"team": "00000000-0000-4000-8000-000000000000"}).status_code == 404
    response = client.get(URL, {"team": "not-a-uuid"})
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["team"]


@pytest.mark.parametrize("role", ["coach", "admin", "athlete"])
def test_non_therapists_get_403(client_for, member, role):
    response = client_for(member(role)).get(URL)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_inactive_therapist_gets_403_and_anonymous_401(client_for, team):
    former = MembershipFactory(team=team, role=Role.THERAPIST, is_active=False).user
    assert client_for(former).get(URL).status_code == 403
    response = client_for(None).get(URL)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_therapist_of_an_empty_team_gets_an_empty_queue(client_for, member):
    assert client_for(member("therapist")).get(URL).json() == []


@freeze_time(NOW)
@pytest.mark.parametrize("n_athletes", [5, 60])
def test_query_count_does_not_grow_with_the_athletes(
    client_for, member, team, django_assert_num_queries, n_athletes
):
    therapist = member("therapist")
    for index in range(n_athletes):
        user = member("athlete")
        sore(user, "2025-03-13T08:00:00", "hamstrings", "left", 3 + index % 5, "pain")
        InjuryFactory(athlete=user, onset_date=date(2025, 3, 1))
        MassageSessionFactory(athlete=user, scheduled_at=at("2025-03-15T10:00:00"))
    # the therapist's teams (1), the athletes with the next session, sport, time zone and stored
    # views (1); their views being missing: the signals with the catalogue and the load metrics
    # (2) and storing the views (1). Then stored and current: the first two only.
    with django_assert_num_queries(5):
        response = client_for(therapist).get(URL)
    assert len(response.json()) == n_athletes
    assert all(row["planned_session"] is not None for row in response.json())
    with django_assert_num_queries(2):
        again = client_for(therapist).get(URL)
    assert again.json() == response.json()
