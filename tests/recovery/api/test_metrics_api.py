"""Load metrics over HTTP: who may read them, the numbers on a hand-built series, the default range
in the team's time zone, 400s for bad ranges, and a query count that does not grow with the range."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

import pytest
from django.urls import reverse
from freezegun import freeze_time

from accounts.models import Role
from recovery.domain.metrics import CONVENTIONS
from tests.factories import MembershipFactory, TeamFactory, TrainingSessionFactory

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
D0 = date(2025, 1, 1)
DAY_FIELDS = {
    "date",
    "history_days",
    "load_au",
    "week_load_au",
    "acute_au",
    "chronic_au",
    "chronic_uncoupled_au",
    "acwr_coupled",
    "acwr_uncoupled",
    "ewma_acute_au",
    "ewma_chronic_au",
    "acwr_ewma",
    "monotony",
    "strain",
    "ctl",
    "atl",
    "tsb",
    "risk_band",
    "risk_band_ewma",
}


def url(athlete_id) -> str:
    return reverse("recovery:athlete-metrics", args=[athlete_id])


def train(user, day: date, load_au: int) -> None:
    TrainingSessionFactory(athlete=user, date=day, rpe=5, duration_min=load_au // 5)


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["code"] == code
    return body


@pytest.fixture
def athlete(member):
    return member("athlete")


@pytest.fixture
def actor(team, member, athlete):
    def make(who: str):
        if who == "anonymous":
            return None
        if who == "own_athlete":
            return athlete
        if who == "teammate":
            return member("athlete")
        if who == "deactivated_coach":
            return MembershipFactory(team=team, role=Role.COACH, is_active=False).user
        if who.startswith("other_team_"):
            return MembershipFactory(team=TeamFactory(), role=Role(who[11:])).user
        return member(who)

    return make


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", 401),
        ("own_athlete", 200),
        ("therapist", 200),
        ("coach", 200),
        ("admin", 200),
        ("teammate", 404),
        ("other_team_therapist", 404),
        ("other_team_coach", 404),
        ("other_team_admin", 404),
        ("deactivated_coach", 404),
    ],
)
@pytest.mark.parametrize(
    "params",
    [{}, {"date_from": "2025-01-01", "date_to": "2025-01-31"}],
    ids=["default range (two queries)", "both ends given (one query)"],
)
def test_read_matrix(client_for, actor, athlete, who, expected, params):
    train(athlete, date(2025, 1, 10), 300)
    response = client_for(actor(who)).get(url(athlete.pk), params)
    assert response.status_code == expected, response.content
    if expected == 404:
        problem(response, 404, "not_found")
    if expected == 401:
        problem(response, 401, "not_authenticated")
    if expected == 200 and params:
        assert response.json()["days"][9]["load_au"] == 300


@pytest.mark.parametrize("params", [{}, {"date_from": "2025-01-01", "date_to": "2025-01-31"}])
def test_unknown_id_and_a_staff_members_own_id_are_404(client_for, member, params):
    coach = member("coach")
    client = client_for(coach)
    problem(client.get(url(uuid.uuid4()), params), 404, "not_found")
    problem(client.get(url(coach.pk), params), 404, "not_found")  # not an athlete: no metrics


@freeze_time("2025-03-10 23:30:00")
def test_both_ends_given_answer_as_the_default_range_does(client_for, member):
    """The one-query path (both ends given) and the two-query path (the default range, worked out
    from the team's day) give the same answer for the same days, the time zone included."""
    team = TeamFactory(time_zone="Pacific/Auckland")
    athlete = member("athlete", team)
    for i in range(0, 60, 2):
        train(athlete, date(2025, 1, 20) + timedelta(days=i), 200 + i * 10)
    client = client_for(athlete)
    default = client.get(url(athlete.pk))
    given = client.get(url(athlete.pk), {"date_from": "2025-02-12", "date_to": "2025-03-11"})
    assert default.status_code == given.status_code == 200
    assert given.content == default.content
    assert given.json()["time_zone"] == "Pacific/Auckland"


def test_metrics_of_a_hand_built_series(client_for, athlete):
    """DESIGN.md vector: 28 days at 50 AU then 7 at 100 -> coupled 1.6, uncoupled 2.0, EWMA 1.339."""
    TrainingSessionFactory(athlete=athlete, date=D0, rpe=5, duration_min=5)  # 25 AU
    TrainingSessionFactory(athlete=athlete, date=D0, rpe=5, duration_min=5)  # + 25 = 50 that day
    for i in range(1, 28):
        train(athlete, D0 + timedelta(days=i), 50)
    for i in range(28, 35):
        train(athlete, D0 + timedelta(days=i), 100)
    last = D0 + timedelta(days=34)

    response = client_for(athlete).get(
        url(athlete.pk), {"date_from": D0.isoformat(), "date_to": last.isoformat()}
    )

    assert response.status_code == 200, response.content
    assert "NaN" not in response.content.decode()
    assert "Infinity" not in response.content.decode()
    body = json.loads(response.content)
    days = body["days"]
    assert body["athlete"] == str(athlete.pk)
    assert body["conventions"]["chronic_days"] == CONVENTIONS.chronic_days == 28
    assert body["conventions"]["ewma_seed"] == "first_day_load"
    assert [row["date"] for row in days] == [
        (D0 + timedelta(days=i)).isoformat() for i in range(35)
    ]
    assert set(days[0]) == DAY_FIELDS
    assert days[0]["load_au"] == 50.0
    assert days[0]["history_days"] == 1
    # Early days: ratios undefined, with the reason.
    for row in days[:27]:
        for ratio in ("acwr_coupled", "acwr_uncoupled", "acwr_ewma"):
            assert row[ratio] == {"value": None, "reason": "insufficient_history"}
        assert row["risk_band"] is None
    assert days[5]["monotony"] == {"value": None, "reason": "insufficient_history"}
    assert days[6]["monotony"] == {"value": None, "reason": "no_variation"}
    # Day 28 of a constant series: every ratio exactly 1.
    assert days[27]["acwr_coupled"] == {"value": 1.0, "reason": None}
    assert days[27]["acwr_uncoupled"] == {"value": 1.0, "reason": None}
    assert days[27]["risk_band"] == "moderate"
    # The spike.
    latest = body["latest"]
    assert latest == days[-1]
    assert latest["date"] == last.isoformat()
    assert latest["acwr_coupled"] == {"value": 1.6, "reason": None}
    assert latest["acwr_uncoupled"] == {"value": 2.0, "reason": None}
    assert latest["acwr_ewma"]["value"] == pytest.approx(1.339, abs=1e-3)
    assert latest["acute_au"] == 100.0
    assert latest["chronic_au"] == 62.5
    assert latest["risk_band"] == "high"
    assert latest["risk_band_ewma"] == "caution"
    # Floats are rounded to 3 decimals.
    assert latest["ctl"] == round(latest["ctl"], 3)


def test_days_before_the_first_training_day_are_rows_without_history(client_for, athlete):
    train(athlete, D0 + timedelta(days=2), 50)
    response = client_for(athlete).get(
        url(athlete.pk),
        {"date_from": D0.isoformat(), "date_to": (D0 + timedelta(days=2)).isoformat()},
    )
    days = response.json()["days"]
    assert [row["history_days"] for row in days] == [0, 0, 1]
    assert days[0]["acute_au"] is None
    assert days[0]["ctl"] == 0.0


@freeze_time("2025-03-10 23:30:00")
def test_default_range_is_the_last_28_days_to_today_in_the_team_time_zone(client_for, member):
    team = TeamFactory(time_zone="Pacific/Auckland")  # UTC+13: already 11 March there
    athlete = member("athlete", team)
    body = client_for(athlete).get(url(athlete.pk)).json()
    assert body["time_zone"] == "Pacific/Auckland"
    assert body["date_to"] == "2025-03-11"
    assert body["date_from"] == "2025-02-12"
    assert len(body["days"]) == 28
    assert body["latest"]["date"] == "2025-03-11"


@freeze_time("2025-03-10 12:00:00")
def test_one_sided_ranges_default_the_other_end(client_for, athlete):
    client = client_for(athlete)
    only_to = client.get(url(athlete.pk), {"date_to": "2025-02-01"}).json()
    assert (only_to["date_from"], only_to["date_to"]) == ("2025-01-05", "2025-02-01")
    only_from = client.get(url(athlete.pk), {"date_from": "2025-03-01"}).json()
    assert (only_from["date_from"], only_from["date_to"]) == ("2025-03-01", "2025-03-10")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_from": "2025-02-10", "date_to": "2025-02-01"}, "date_to"),  # reversed
        ({"date_from": "2024-01-01", "date_to": "2025-01-01"}, "date_to"),  # 367 days
        ({"date_from": "2025-02-30"}, "date_from"),
        ({"date_to": "yesterday"}, "date_to"),
        ({"date_from": "2020-01-01"}, "date_from"),  # to today: far more than 366 days
    ],
)
def test_bad_ranges_are_400_naming_the_parameter(client_for, athlete, params, field):
    body = problem(client_for(athlete).get(url(athlete.pk), params), 400, "validation_error")
    assert [error["field"] for error in body["errors"]] == [field]


def test_a_366_day_range_is_accepted(client_for, athlete):
    response = client_for(athlete).get(
        url(athlete.pk), {"date_from": "2024-01-01", "date_to": "2024-12-31"}
    )
    assert response.status_code == 200
    assert len(response.json()["days"]) == 366


@pytest.mark.parametrize("n_days", [7, 366])
def test_query_count_does_not_grow_with_the_range(
    client_for, member, athlete, django_assert_max_num_queries, django_assert_num_queries, n_days
):
    for i in range(0, 400, 3):
        train(athlete, D0 + timedelta(days=i), 40 + i % 7 * 10)
    coach = member("coach")
    end = D0 + timedelta(days=399)
    params = {"date_from": (end - timedelta(days=n_days - 1)).isoformat(), "date_to": str(end)}
    client = client_for(coach)
    with django_assert_max_num_queries(5):
        response = client.get(url(athlete.pk), params)
    assert len(response.json()["days"]) == n_days
    with django_assert_num_queries(1):  # the athlete's time zone if visible, and the days
        client.get(url(athlete.pk), params)
