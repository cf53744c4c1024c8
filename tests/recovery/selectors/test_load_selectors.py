"""The bulk load reads the dashboard and the recommendation build on: one query whatever the
number of athletes, sums per local day done in SQL, and the domain's metrics of a day."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from accounts.models import Role
from recovery.domain.metrics import Reason
from recovery.selectors.load import (
    AthleteLoadSeries,
    athlete_metrics,
    daily_loads_by_athlete,
    metrics_by_athlete,
    metrics_on,
)
from tests.factories import MembershipFactory, TeamFactory, TrainingSessionFactory

pytestmark = pytest.mark.django_db

D0 = date(2025, 1, 1)


def athlete():
    return MembershipFactory(team=TeamFactory(), role=Role.ATHLETE).user


def train(user, day: date, load_au: int, session_type: str = "practice") -> None:
    """One session of `load_au` = RPE 5 x load/5 minutes (or RPE 1 for small loads)."""
    rpe = 5 if load_au % 5 == 0 else 1
    TrainingSessionFactory(
        athlete=user, date=day, rpe=rpe, duration_min=load_au // rpe, session_type=session_type
    )


def spike_series(user) -> None:
    """DESIGN.md's vector: 28 days at 50 AU, then 7 days at 100 AU."""
    for i in range(28):
        train(user, D0 + timedelta(days=i), 50)
    for i in range(28, 35):
        train(user, D0 + timedelta(days=i), 100)


def test_daily_loads_sum_each_day_in_sql_and_stop_at_until(django_assert_num_queries):
    first, second, idle = athlete(), athlete(), athlete()
    train(first, D0, 30)
    train(first, D0, 20)  # same day: summed
    train(first, D0 + timedelta(days=3), 60)
    train(first, D0 + timedelta(days=10), 70)  # after `until`: not read
    train(second, D0 + timedelta(days=2), 40)

    with django_assert_num_queries(1):
        series = daily_loads_by_athlete(
            athlete_ids=[first.pk, second.pk, idle.pk], until=D0 + timedelta(days=5)
        )

    assert series[first.pk] == AthleteLoadSeries(
        first_day=D0, loads_by_day={D0: 50.0, D0 + timedelta(days=3): 60.0}
    )
    assert series[second.pk].first_day == D0 + timedelta(days=2)
    assert series[idle.pk] == AthleteLoadSeries(first_day=None, loads_by_day={})


def test_no_athletes_is_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert daily_loads_by_athlete(athlete_ids=[], until=D0) == {}
        assert metrics_by_athlete(athlete_ids=[], day=D0) == {}


@pytest.mark.parametrize("n_athletes", [1, 6])
def test_metrics_by_athlete_is_one_query_for_any_number(django_assert_num_queries, n_athletes):
    athletes = [athlete() for _ in range(n_athletes)]
    for user in athletes:
        spike_series(user)
    never_trained = athlete()
    ids = [user.pk for user in athletes] + [never_trained.pk, uuid.uuid4()]

    with django_assert_num_queries(1):
        metrics = metrics_by_athlete(athlete_ids=ids, day=D0 + timedelta(days=34))

    for user in athletes:
        day = metrics[user.pk]
        assert day is not None
        assert day.history_days == 35
        assert day.acwr_coupled.value == pytest.approx(1.6)
        assert day.acwr_uncoupled.value == pytest.approx(2.0)
        assert day.acwr_ewma.value == pytest.approx(1.339, abs=1e-3)
    assert metrics[never_trained.pk] is None
    assert set(metrics) == set(ids)


def test_metrics_of_a_day_before_the_first_training_day_are_none():
    user = athlete()
    train(user, D0 + timedelta(days=5), 50)
    assert metrics_by_athlete(athlete_ids=[user.pk], day=D0) == {user.pk: None}
    assert metrics_on(None, D0) is None


def test_metrics_of_early_days_say_why_ratios_are_undefined():
    user = athlete()
    train(user, D0, 50)
    day = metrics_by_athlete(athlete_ids=[user.pk], day=D0 + timedelta(days=2))[user.pk]
    assert day is not None
    assert day.acwr_coupled.reason is Reason.INSUFFICIENT_HISTORY
    assert day.load_au == 0.0  # a rest day inside the history
    assert day.history_days == 3


def test_athlete_metrics_carry_the_whole_history_into_a_short_range(django_assert_num_queries):
    user = athlete()
    spike_series(user)
    with django_assert_num_queries(1):
        days = athlete_metrics(
            athlete_id=user.pk, start=D0 + timedelta(days=33), end=D0 + timedelta(days=34)
        )
    assert [d.day for d in days] == [D0 + timedelta(days=33), D0 + timedelta(days=34)]
    assert days[-1].acwr_coupled.value == pytest.approx(1.6)


def test_athlete_metrics_without_training_are_rows_without_history():
    user = athlete()
    days = athlete_metrics(athlete_id=user.pk, start=D0, end=D0 + timedelta(days=2))
    assert [d.history_days for d in days] == [0, 0, 0]
    assert {d.acwr_coupled.reason for d in days} == {Reason.INSUFFICIENT_HISTORY}
