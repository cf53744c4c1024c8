"""The stored running state (`recovery.domain.metrics.LoadState`) gives exactly the metrics of
`compute_metrics`: equal dataclasses, float for float, for any series of whole-AU daily loads,
read on a stored day or on a later day rolled on with rest days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recovery.domain.metrics import (
    LoadState,
    advance_state,
    compute_metrics,
    metrics_from_state,
    roll_state,
)

DAY_1 = date(2024, 1, 1)
loads = st.lists(
    st.one_of(st.just(0), st.integers(min_value=0, max_value=14_400)), min_size=1, max_size=120
)


def states_of(series: list[int]) -> list[LoadState]:
    states: list[LoadState] = []
    for i, load in enumerate(series):
        states.append(
            advance_state(states[-1] if states else None, day=DAY_1 + timedelta(i), load_au=load)
        )
    return states


def on_or_before(states: list[LoadState], day: date) -> LoadState | None:
    """The state a reader finds for `day`: that day's, else the last one before it."""
    found = [s for s in states if s.day <= day]
    return found[-1] if found else None


def read(states: list[LoadState], day: date):
    latest = on_or_before(states, day)
    assert latest is not None
    return metrics_from_state(
        roll_state(latest, day),
        week_before=on_or_before(states, day - timedelta(7)),
        month_before=on_or_before(states, day - timedelta(28)),
    )


@settings(max_examples=200, deadline=None)
@given(loads)
def test_every_stored_day_reads_as_compute_metrics(series):
    expected = compute_metrics(first_day=DAY_1, loads_au=[float(x) for x in series])
    states = states_of(series)
    assert [read(states, row.day) for row in expected] == expected


@settings(max_examples=200, deadline=None)
@given(loads, st.integers(min_value=1, max_value=60))
def test_a_later_day_rolls_the_last_state_on_with_rest_days(series, rest_days):
    padded = [float(x) for x in series] + [0.0] * rest_days
    expected = compute_metrics(first_day=DAY_1, loads_au=padded)
    states = states_of(series)
    assert [read(states, row.day) for row in expected] == expected


def test_roll_state_to_its_own_day_is_the_same_state():
    state = advance_state(None, day=DAY_1, load_au=300)
    assert roll_state(state, DAY_1) is state


@pytest.mark.parametrize("load", [-1, True, 10**10])
def test_a_load_that_is_not_whole_au_in_range_is_refused(load):
    with pytest.raises(ValueError, match="whole number"):
        advance_state(None, day=DAY_1, load_au=load)


def test_days_must_follow_each_other():
    first = advance_state(None, day=DAY_1, load_au=100)
    with pytest.raises(ValueError, match="consecutive"):
        advance_state(first, day=DAY_1 + timedelta(2), load_au=100)
    with pytest.raises(ValueError, match="back in time"):
        roll_state(first, DAY_1 - timedelta(1))
