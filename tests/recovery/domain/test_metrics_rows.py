"""The flat rows (`metrics_rows`, `MetricsRow`) the metrics endpoint is built from: the same
numbers as `DayMetrics`, item for item, in the documented order."""

import dataclasses
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from recovery.domain.metrics import (
    ROW_FIELDS,
    DayMetrics,
    Derived,
    Reason,
    compute_metrics,
    daily_loads,
    day_metrics,
    metrics_for_range,
    metrics_rows,
)

DAY_1 = date(2024, 1, 1)
realistic_load = st.one_of(st.just(0.0), st.integers(1, 2_000).map(float))


def as_row(day: DayMetrics) -> tuple[object, ...]:
    """A DayMetrics spelled the MetricsRow way: each Derived as (value, reason)."""
    items: list[object] = []
    for field in dataclasses.fields(day):
        value = getattr(day, field.name)
        if isinstance(value, Derived):
            items.extend((value.value, value.reason))
        else:
            items.append(value)
    return tuple(items)


def test_row_fields_are_the_day_metrics_fields_with_each_derived_as_value_and_reason():
    expected: list[str] = []
    for field in dataclasses.fields(DayMetrics):
        expected.append(field.name)
        if field.type == "Derived":
            expected.append(f"{field.name}_reason")
    assert tuple(expected) == ROW_FIELDS


def test_the_design_spike_as_rows():
    """DESIGN.md vector: 28 days at 50 AU, then 7 at 100 -> coupled 1.6, uncoupled 2.0."""
    loads = {DAY_1 + timedelta(days=i): 50.0 if i < 28 else 100.0 for i in range(35)}
    end = DAY_1 + timedelta(days=34)
    rows = metrics_rows(
        first_day=DAY_1, loads_by_day=loads, start=DAY_1 - timedelta(days=1), end=end
    )
    before, first, last = rows[0], rows[1], rows[-1]
    named = dict(zip(ROW_FIELDS, last, strict=True))
    assert (named["day"], named["history_days"], named["load_au"]) == (end, 35, 100.0)
    assert (named["acwr_coupled"], named["acwr_coupled_reason"]) == (1.6, None)
    assert (named["acwr_uncoupled"], named["acwr_uncoupled_reason"]) == (2.0, None)
    assert named["risk_band"] == "high"
    assert (
        dict(zip(ROW_FIELDS, first, strict=True))["acwr_ewma_reason"] is Reason.INSUFFICIENT_HISTORY
    )
    assert before[:2] == (DAY_1 - timedelta(days=1), 0)


@given(st.lists(realistic_load, max_size=60), st.integers(0, 70), st.integers(0, 30))
def test_rows_are_the_day_metrics_item_for_item(
    loads: list[float], offset: int, length: int
) -> None:
    by_day = {DAY_1 + timedelta(days=i): x for i, x in enumerate(loads) if x}
    start = DAY_1 + timedelta(days=offset - 10)  # may begin before the first day
    end = start + timedelta(days=length)
    rows = metrics_rows(first_day=DAY_1, loads_by_day=by_day, start=start, end=end)
    days = metrics_for_range(first_day=DAY_1, loads_by_day=by_day, start=start, end=end)
    assert rows == [as_row(day) for day in days]
    assert [day_metrics(row) for row in rows] == days
    if end >= DAY_1:
        # And both are the whole-series computation's rows for those days.
        series = daily_loads(first_day=DAY_1, last_day=end, loads_by_day=by_day)
        full = compute_metrics(first_day=DAY_1, loads_au=series)
        assert [d for d in days if d.day >= DAY_1] == full[max(0, (start - DAY_1).days) :]


def test_day_metrics_shares_the_undefined_values_and_builds_the_defined_ones():
    row = metrics_rows(
        first_day=DAY_1,
        loads_by_day={DAY_1 + timedelta(days=i): 10.0 * (i % 3) for i in range(28)},
        start=DAY_1 + timedelta(days=27),
        end=DAY_1 + timedelta(days=27),
    )[0]
    day = day_metrics(row)
    assert day.acwr_coupled == Derived(value=day.acwr_coupled.value, reason=None)
    assert day.acwr_coupled.value is not None
    early = day_metrics(
        metrics_rows(first_day=DAY_1, loads_by_day={DAY_1: 5.0}, start=DAY_1, end=DAY_1)[0]
    )
    assert early.monotony == Derived(value=None, reason=Reason.INSUFFICIENT_HISTORY)
