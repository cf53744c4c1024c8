"""Load metrics (recovery.domain.metrics) against hand-computed tables, the DESIGN test vectors,
a naive reference implementation and hypothesis properties. Definitions: docs/metrics.md."""

import ast
import dataclasses
import itertools
import math
import statistics
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfoNotFoundError

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recovery.domain import metrics
from recovery.domain.metrics import (
    ACUTE_DAYS,
    ACWR_CAUTION_MAX,
    ACWR_LOW_BELOW,
    ACWR_MODERATE_MAX,
    ATL_ALPHA,
    ATL_DAYS,
    CHRONIC_DAYS,
    CONVENTIONS,
    CTL_ALPHA,
    CTL_DAYS,
    EWMA_ACUTE_LAMBDA,
    EWMA_ACUTE_SPAN,
    EWMA_CHRONIC_LAMBDA,
    EWMA_CHRONIC_SPAN,
    MAX_DAILY_LOAD_AU,
    MIN_POSITIVE_LOAD_AU,
    UNCOUPLED_CHRONIC_DAYS,
    DayMetrics,
    Derived,
    Reason,
    RiskBand,
    compute_metrics,
    daily_loads,
    local_date,
    metrics_for_range,
    risk_band,
    session_load_au,
)

DAY_1 = date(2024, 1, 1)
INSUFFICIENT = Derived(value=None, reason=Reason.INSUFFICIENT_HISTORY)
CHRONIC_ZERO = Derived(value=None, reason=Reason.CHRONIC_ZERO)
NO_VARIATION = Derived(value=None, reason=Reason.NO_VARIATION)


def last(loads_au: Sequence[float]) -> DayMetrics:
    return compute_metrics(first_day=DAY_1, loads_au=loads_au)[-1]


def numbers(row: DayMetrics) -> Iterator[float]:
    """Every number in a row, including the values inside ``Derived`` fields."""
    for field in dataclasses.fields(row):
        value = getattr(row, field.name)
        if isinstance(value, Derived):
            value = value.value
        if isinstance(value, float):
            yield value


# ---------------------------------------------------------------------------------------------
# Conventions
# ---------------------------------------------------------------------------------------------


def test_conventions_are_pinned() -> None:
    assert (ACUTE_DAYS, CHRONIC_DAYS, UNCOUPLED_CHRONIC_DAYS) == (7, 28, 21)
    assert (EWMA_ACUTE_SPAN, EWMA_CHRONIC_SPAN, CTL_DAYS, ATL_DAYS) == (7, 28, 42, 7)
    assert EWMA_ACUTE_LAMBDA == 0.25
    assert pytest.approx(2 / 29) == EWMA_CHRONIC_LAMBDA
    assert pytest.approx(1 - math.exp(-1 / 42), rel=1e-15) == CTL_ALPHA
    assert pytest.approx(1 - math.exp(-1 / 7), rel=1e-15) == ATL_ALPHA
    assert (ACWR_LOW_BELOW, ACWR_MODERATE_MAX, ACWR_CAUTION_MAX) == (0.8, 1.3, 1.5)


def test_conventions_serialise_for_the_api() -> None:
    assert dataclasses.asdict(CONVENTIONS) == {
        "load": "srpe_au",
        "acute_days": 7,
        "chronic_days": 28,
        "uncoupled_chronic_days": 21,
        "ewma_acute_span": 7,
        "ewma_chronic_span": 28,
        "ewma_seed": "first_day_load",
        "ctl_days": 42,
        "atl_days": 7,
        "ctl_atl_seed": 0.0,
        "tsb_from": "previous_day",
        "monotony_days": 7,
        "monotony_sd": "sample",
        "acwr_low_below": 0.8,
        "acwr_moderate_max": 1.3,
        "acwr_caution_max": 1.5,
    }


def test_enum_values_are_the_api_strings() -> None:
    assert [r.value for r in Reason] == [
        "insufficient_history",
        "chronic_zero",
        "no_variation",
        "no_data",
    ]
    assert [b.value for b in RiskBand] == ["low", "moderate", "caution", "high"]


def test_domain_module_imports_only_the_standard_library() -> None:
    tree = ast.parse(Path(metrics.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported <= {
        "__future__",
        "collections",
        "dataclasses",
        "datetime",
        "enum",
        "math",
        "typing",
        "zoneinfo",
    }


# ---------------------------------------------------------------------------------------------
# DESIGN test vectors
# ---------------------------------------------------------------------------------------------


def test_design_vector_28_days_at_50_then_7_days_at_100() -> None:
    row = last([50.0] * 28 + [100.0] * 7)
    # acute = 7 x 100 / 7; chronic = (21 x 50 + 7 x 100) / 28 = 1750 / 28; uncoupled = 21 x 50 / 21
    assert (row.acute_au, row.chronic_au, row.chronic_uncoupled_au) == (100.0, 62.5, 50.0)
    assert row.acwr_coupled == Derived(value=1.6, reason=None)
    assert row.acwr_uncoupled == Derived(value=2.0, reason=None)
    # Both EWMAs sit at exactly 50 for 28 days, then close 1 - (1 - l)^7 of the gap to 100.
    ewma_acute = 100 - 50 * 0.75**7
    ewma_chronic = 100 - 50 * (27 / 29) ** 7
    assert row.ewma_acute_au == pytest.approx(ewma_acute, rel=1e-12)  # 93.3259...
    assert row.ewma_chronic_au == pytest.approx(ewma_chronic, rel=1e-12)  # 69.6798...
    assert row.acwr_ewma.value == pytest.approx(ewma_acute / ewma_chronic, rel=1e-12)
    assert row.acwr_ewma.value == pytest.approx(1.339, abs=5e-4)
    assert (row.risk_band, row.risk_band_ewma) == (RiskBand.HIGH, RiskBand.CAUTION)


# Day 28 + k of the same series: the acute window holds k days at 100, the uncoupled window is
# still all 50. Coupled = 4 (7 + k) / (28 + k); uncoupled = (7 + k) / 7.
@pytest.mark.parametrize(
    ("k", "coupled", "uncoupled", "band"),
    [
        (0, 1.0, 1.0, RiskBand.MODERATE),
        (1, 32 / 29, 8 / 7, RiskBand.MODERATE),
        (2, 1.2, 9 / 7, RiskBand.MODERATE),
        (3, 40 / 31, 10 / 7, RiskBand.MODERATE),
        (4, 1.375, 11 / 7, RiskBand.CAUTION),
        (5, 48 / 33, 12 / 7, RiskBand.CAUTION),
        (6, 52 / 34, 13 / 7, RiskBand.HIGH),
        (7, 1.6, 2.0, RiskBand.HIGH),
    ],
)
def test_ramp_from_50_to_100_day_by_day(
    k: int, coupled: float, uncoupled: float, band: RiskBand
) -> None:
    row = compute_metrics(first_day=DAY_1, loads_au=[50.0] * 28 + [100.0] * 7)[27 + k]
    assert row.day == DAY_1 + timedelta(days=27 + k)
    assert row.acute_au == pytest.approx(50 + 50 * k / 7)
    assert row.chronic_au == pytest.approx(50 + 50 * k / 28)
    assert row.chronic_uncoupled_au == 50.0
    assert row.acwr_coupled.value == pytest.approx(coupled, rel=1e-15)
    assert row.acwr_uncoupled.value == pytest.approx(uncoupled, rel=1e-15)
    assert row.risk_band == band


def test_design_vector_constant_50_gives_exactly_1_from_day_28_and_null_before() -> None:
    rows = compute_metrics(first_day=DAY_1, loads_au=[50.0] * 60)
    for row in rows[:27]:
        assert row.acwr_coupled == row.acwr_uncoupled == row.acwr_ewma == INSUFFICIENT
        assert row.risk_band is None
        assert row.risk_band_ewma is None
    for row in rows[27:]:
        assert row.acwr_coupled.value == 1.0
        assert row.acwr_uncoupled.value == 1.0
        assert row.acwr_ewma.value == 1.0
        assert row.risk_band == row.risk_band_ewma == RiskBand.MODERATE
    assert rows[27].history_days == 28


def test_design_vector_monotony_and_strain() -> None:
    rows = compute_metrics(first_day=DAY_1, loads_au=[0, 80, 40, 0, 90, 60, 80])
    # total 350, mean 50; deviations -50 30 -10 -50 40 10 30; squares sum to 8600;
    # sample SD = sqrt(8600 / 6) = 37.859; monotony = 50 / 37.859 = 1.3207; strain = 350 x 1.3207
    row = rows[-1]
    assert row.week_load_au == 350.0
    assert row.monotony.value == pytest.approx(50 / math.sqrt(8600 / 6), rel=1e-14)
    assert row.monotony.value == pytest.approx(1.321, abs=5e-4)
    assert row.strain.value == pytest.approx(350 * 50 / math.sqrt(8600 / 6), rel=1e-14)
    assert row.strain.value == pytest.approx(462.2, abs=0.05)
    for early in rows[:6]:
        assert early.monotony == early.strain == INSUFFICIENT


def test_design_vector_ctl_after_42_days_of_100() -> None:
    rows = compute_metrics(first_day=DAY_1, loads_au=[100.0] * 42)
    # From CTL_0 = 0: CTL_n = 100 (1 - (1 - a)^n) = 100 (1 - exp(-n / 42)); n = 42 gives 1 - 1/e.
    assert rows[-1].ctl == pytest.approx(100 * (1 - math.exp(-1)), rel=1e-12)
    assert round(rows[-1].ctl, 2) == 63.21
    assert rows[6].atl == pytest.approx(100 * (1 - math.exp(-1)), rel=1e-12)


# ---------------------------------------------------------------------------------------------
# Hand-computed tables
# ---------------------------------------------------------------------------------------------

FIRST_DAYS = [100.0, 0.0, 50.0, 0.0, 0.0, 70.0, 30.0, 40.0]


# Windows that reach back before the first day average over the days of history they hold.
# EWMA acute: e = 100, then e += 0.25 (x - e); chronic likewise with 2/29.
@pytest.mark.parametrize(
    ("index", "acute", "chronic", "uncoupled", "week", "ewma_acute"),
    [
        (0, 100.0, 100.0, None, 100.0, 100.0),
        (1, 50.0, 50.0, None, 100.0, 75.0),
        (2, 50.0, 50.0, None, 150.0, 68.75),
        (3, 37.5, 37.5, None, 150.0, 51.5625),
        (4, 30.0, 30.0, None, 150.0, 38.671875),
        (5, 220 / 6, 220 / 6, None, 220.0, 46.50390625),
        (6, 250 / 7, 250 / 7, None, 250.0, 42.3779296875),
        (7, 190 / 7, 290 / 8, 100.0, 190.0, 41.783447265625),
    ],
)
def test_first_days_of_history(
    index: int,
    acute: float,
    chronic: float,
    uncoupled: float | None,
    week: float,
    ewma_acute: float,
) -> None:
    row = compute_metrics(first_day=DAY_1, loads_au=FIRST_DAYS)[index]
    assert row.history_days == index + 1
    assert row.load_au == FIRST_DAYS[index]
    assert row.acute_au == pytest.approx(acute, rel=1e-15)
    assert row.chronic_au == pytest.approx(chronic, rel=1e-15)
    assert row.chronic_uncoupled_au == uncoupled
    assert row.week_load_au == week
    assert row.ewma_acute_au == ewma_acute  # all exact binary fractions
    assert row.acwr_coupled == row.acwr_uncoupled == row.acwr_ewma == INSUFFICIENT


def test_first_days_ewma_chronic_and_monotony() -> None:
    rows = compute_metrics(first_day=DAY_1, loads_au=FIRST_DAYS)
    assert rows[0].ewma_chronic_au == 100.0  # seeded with the first day's load
    assert rows[1].ewma_chronic_au == pytest.approx(100 * 27 / 29, rel=1e-15)
    # Day 7, window [100, 0, 50, 0, 0, 70, 30]: S = 250, sum of squares 18300,
    # 7 x 18300 - 250^2 = 65600, monotony^2 = 6 x 250^2 / (7 x 65600).
    monotony = math.sqrt(6 * 250**2 / (7 * 65600))
    assert rows[6].monotony.value == pytest.approx(monotony, rel=1e-15)  # 0.90368
    assert rows[6].strain.value == pytest.approx(250 * monotony, rel=1e-15)  # 225.92
    assert rows[6].monotony.value == pytest.approx(
        statistics.fmean(FIRST_DAYS[:7]) / statistics.stdev(FIRST_DAYS[:7]), rel=1e-14
    )


def test_ctl_atl_tsb_table() -> None:
    rows = compute_metrics(first_day=DAY_1, loads_au=[100.0, 100.0, 0.0])
    a, b = CTL_ALPHA, ATL_ALPHA
    ctl = [100 * a, 100 * a + a * (100 - 100 * a), 0.0]
    ctl[2] = ctl[1] * (1 - a)
    atl = [100 * b, 100 * b + b * (100 - 100 * b), 0.0]
    atl[2] = atl[1] * (1 - b)
    for i, row in enumerate(rows):
        assert row.ctl == pytest.approx(ctl[i], rel=1e-14)
        assert row.atl == pytest.approx(atl[i], rel=1e-14)
    # Form for day t is yesterday's balance; both start at 0 the day before the first day.
    assert rows[0].tsb == 0.0
    assert rows[1].tsb == pytest.approx(ctl[0] - atl[0], rel=1e-14)
    assert rows[2].tsb == pytest.approx(ctl[1] - atl[1], rel=1e-14)
    assert rows[2].tsb == pytest.approx(100 * (1 - (1 - a) ** 2) - 100 * (1 - (1 - b) ** 2))


def test_tsb_is_always_yesterdays_ctl_minus_atl() -> None:
    loads = [float((i * 53) % 400) for i in range(90)]
    rows = compute_metrics(first_day=DAY_1, loads_au=loads)
    for yesterday, today in itertools.pairwise(rows):
        assert today.tsb == yesterday.ctl - yesterday.atl


def test_a_spike() -> None:
    row = last([50.0] * 35 + [500.0])
    # acute = (6 x 50 + 500) / 7 = 800/7; chronic = (27 x 50 + 500) / 28 = 1850/28
    assert row.acute_au == pytest.approx(800 / 7)
    assert row.chronic_au == pytest.approx(1850 / 28)
    assert row.chronic_uncoupled_au == 50.0
    assert row.acwr_coupled.value == pytest.approx(4 * 800 / 1850, rel=1e-15)  # 1.7297
    assert row.acwr_uncoupled.value == pytest.approx(16 / 7, rel=1e-15)  # 2.2857
    # EWMAs from exactly 50: 50 + 0.25 x 450 = 162.5 and 50 + (2/29) x 450 = 81.03
    assert row.ewma_acute_au == 162.5
    assert row.ewma_chronic_au == pytest.approx(50 + 900 / 29, rel=1e-15)
    assert row.acwr_ewma.value == pytest.approx(162.5 / (50 + 900 / 29), rel=1e-15)  # 2.0053
    # Week [50 x 6, 500]: S = 800, sum of squares 265000, 7 x 265000 - 800^2 = 1215000
    monotony = math.sqrt(6 * 800**2 / (7 * 1215000))  # 0.67194
    assert row.monotony.value == pytest.approx(monotony, rel=1e-15)
    assert row.strain.value == pytest.approx(800 * monotony, rel=1e-15)  # 537.55
    assert (row.risk_band, row.risk_band_ewma) == (RiskBand.HIGH, RiskBand.HIGH)


def test_all_rest_from_the_first_day() -> None:
    rows = compute_metrics(first_day=DAY_1, loads_au=[0.0] * 35)
    for row in rows[27:]:
        assert row.acwr_coupled == row.acwr_uncoupled == row.acwr_ewma == CHRONIC_ZERO
        assert row.risk_band is None
        assert row.risk_band_ewma is None
    for row in rows[6:]:
        assert row.monotony == row.strain == NO_VARIATION
    for row in rows:
        assert row.ewma_acute_au == row.ewma_chronic_au == row.ctl == row.atl == row.tsb == 0.0
        assert row.acute_au == row.chronic_au == row.week_load_au == 0.0


def test_four_rest_weeks_after_four_training_weeks() -> None:
    rows = compute_metrics(first_day=DAY_1, loads_au=[100.0] * 28 + [0.0] * 28)
    week_off = rows[34]  # 7 rest days: acute 0, chronic 21 x 100 / 28 = 75, uncoupled 100
    assert week_off.acwr_coupled == Derived(value=0.0, reason=None)
    assert week_off.acwr_uncoupled == Derived(value=0.0, reason=None)
    assert week_off.risk_band == RiskBand.LOW
    assert week_off.monotony == week_off.strain == NO_VARIATION  # a week of zeros
    month_off = rows[-1]
    assert month_off.acwr_coupled == month_off.acwr_uncoupled == CHRONIC_ZERO
    # The EWMAs never forget: both decayed from 100, the acute one faster.
    assert month_off.acwr_ewma.value == pytest.approx(0.75**28 / (27 / 29) ** 28, rel=1e-9)
    assert month_off.risk_band_ewma == RiskBand.LOW


def test_return_after_three_weeks_off_has_no_uncoupled_chronic() -> None:
    row = last([100.0] * 30 + [0.0] * 21 + [100.0] * 7)
    assert row.chronic_uncoupled_au == 0.0
    assert row.acwr_uncoupled == CHRONIC_ZERO
    assert row.acwr_coupled == Derived(value=4.0, reason=None)  # 100 / (7 x 100 / 28)
    assert row.risk_band == RiskBand.HIGH


def test_rows_are_consecutive_days_from_first_day() -> None:
    rows = compute_metrics(first_day=date(2024, 2, 27), loads_au=[1.0] * 4)
    assert [r.day for r in rows] == [date(2024, 2, d) for d in (27, 28, 29)] + [date(2024, 3, 1)]
    assert [r.history_days for r in rows] == [1, 2, 3, 4]


def test_empty_series() -> None:
    assert compute_metrics(first_day=DAY_1, loads_au=[]) == []


# ---------------------------------------------------------------------------------------------
# Exactness: no drift in the rolling sums
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("load", [50.0, 0.1, 0.7, 1 / 3, 123.456, 14_400.0, 1e-6, 1e9])
def test_constant_series_is_exact(load: float) -> None:
    rows = compute_metrics(first_day=DAY_1, loads_au=[load] * 40)
    for row in rows:
        assert row.acute_au == row.chronic_au == row.ewma_acute_au == row.ewma_chronic_au == load
    for row in rows[6:]:
        assert row.monotony == row.strain == NO_VARIATION
    for row in rows[7:]:
        assert row.chronic_uncoupled_au == load
    for row in rows[27:]:
        assert row.acwr_coupled.value == row.acwr_uncoupled.value == row.acwr_ewma.value == 1.0


def test_constant_after_a_noisy_history_is_exactly_1() -> None:
    noisy = [(i * 37 % 11) * 0.1 + 0.01 for i in range(200)]
    loads = noisy + [0.3] * 40
    row = last(loads)
    assert row.acwr_coupled.value == 1.0
    assert row.acwr_uncoupled.value == 1.0
    assert row.monotony == NO_VARIATION
    assert row.acute_au == row.chronic_au == 0.3
    # The guard matters: plain running float sums drift off 1 on this very series.
    sum7 = sum28 = 0.0
    for i, x in enumerate(loads):
        sum7 += x - (loads[i - 7] if i >= 7 else 0.0)
        sum28 += x - (loads[i - 28] if i >= 28 else 0.0)
    assert (sum7 / 7) / (sum28 / 28) != 1.0


# ---------------------------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [-1.0, -1e-300, math.nan, math.inf, -math.inf, MAX_DAILY_LOAD_AU * 1.001, 1e-7, 5e-324],
)
def test_bad_loads_raise(bad: float) -> None:
    with pytest.raises(ValueError, match="daily load"):
        compute_metrics(first_day=DAY_1, loads_au=[10.0, bad])


@pytest.mark.parametrize("good", [0.0, MIN_POSITIVE_LOAD_AU, MAX_DAILY_LOAD_AU, 7])
def test_bounds_are_accepted(good: float) -> None:
    assert last([good]).load_au == good


# ---------------------------------------------------------------------------------------------
# Risk band
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("acwr", "band"),
    [
        (None, None),
        (0.0, RiskBand.LOW),
        (0.7999999, RiskBand.LOW),
        (0.8, RiskBand.MODERATE),
        (1.0, RiskBand.MODERATE),
        (1.3, RiskBand.MODERATE),
        (1.3000001, RiskBand.CAUTION),
        (1.5, RiskBand.CAUTION),
        (1.5000001, RiskBand.HIGH),
        (4.0, RiskBand.HIGH),
    ],
)
def test_risk_band_boundaries(acwr: float | None, band: RiskBand | None) -> None:
    assert risk_band(acwr) == band


@pytest.mark.parametrize("bad", [-0.1, math.nan, math.inf])
def test_risk_band_rejects_impossible_ratios(bad: float) -> None:
    with pytest.raises(ValueError, match="ACWR"):
        risk_band(bad)


# ---------------------------------------------------------------------------------------------
# Session load and local day
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rpe", "minutes", "load"),
    [(7, 60, 420.0), (0, 90, 0.0), (10, 1440, 14_400.0), (2.5, 30, 75.0)],
)
def test_session_load_is_rpe_times_minutes(rpe: float, minutes: float, load: float) -> None:
    assert session_load_au(rpe=rpe, duration_min=minutes) == load


@pytest.mark.parametrize(
    ("rpe", "minutes"), [(-1, 60), (11, 60), (math.nan, 60), (5, -1), (5, 1441)]
)
def test_session_load_rejects_values_off_the_scale(rpe: float, minutes: float) -> None:
    with pytest.raises(ValueError, match="must be between"):
        session_load_au(rpe=rpe, duration_min=minutes)


@pytest.mark.parametrize(
    ("started_at_utc", "tz", "day"),
    [
        # London in winter is UTC: 23:30 UTC is 23:30 local, same day.
        (datetime(2024, 1, 15, 23, 30), "Europe/London", date(2024, 1, 15)),
        # London in summer is UTC+1: 22:30 UTC is 23:30 BST (same day), 23:30 UTC is the next day.
        (datetime(2024, 7, 1, 22, 30), "Europe/London", date(2024, 7, 1)),
        (datetime(2024, 7, 1, 23, 30), "Europe/London", date(2024, 7, 2)),
        (datetime(2024, 7, 1, 23, 30), "UTC", date(2024, 7, 1)),
        # The night the UK clocks go forward (31 March 2024, 01:00 UTC).
        (datetime(2024, 3, 30, 23, 30), "Europe/London", date(2024, 3, 30)),
        (datetime(2024, 3, 31, 22, 30), "Europe/London", date(2024, 3, 31)),
        (datetime(2024, 3, 31, 23, 30), "Europe/London", date(2024, 4, 1)),
        # Sydney, daylight saving ends 7 April 2024 03:00 AEDT (UTC+11) -> 02:00 AEST (UTC+10).
        (datetime(2024, 4, 6, 12, 30), "Australia/Sydney", date(2024, 4, 6)),  # 23:30 AEDT
        (datetime(2024, 4, 6, 13, 30), "Australia/Sydney", date(2024, 4, 7)),  # 00:30 AEDT
        (datetime(2024, 4, 7, 13, 30), "Australia/Sydney", date(2024, 4, 7)),  # 23:30 AEST
        (datetime(2024, 4, 7, 14, 30), "Australia/Sydney", date(2024, 4, 8)),  # 00:30 AEST
        # Sydney, daylight saving starts 6 October 2024 02:00 AEST -> 03:00 AEDT.
        (datetime(2024, 10, 5, 13, 30), "Australia/Sydney", date(2024, 10, 5)),  # 23:30 AEST
        (datetime(2024, 10, 6, 12, 30), "Australia/Sydney", date(2024, 10, 6)),  # 23:30 AEDT
        (datetime(2024, 10, 6, 13, 30), "Australia/Sydney", date(2024, 10, 7)),  # 00:30 AEDT
    ],
)
def test_local_date_is_the_day_the_session_started_in_the_team_zone(
    started_at_utc: datetime, tz: str, day: date
) -> None:
    assert local_date(started_at_utc.replace(tzinfo=UTC), tz) == day


def test_local_date_accepts_any_aware_datetime() -> None:
    started_at = datetime(2024, 7, 2, 1, 30, tzinfo=timezone(timedelta(hours=2)))  # 23:30 UTC
    assert local_date(started_at, "Europe/London") == date(2024, 7, 2)
    assert local_date(started_at, "America/New_York") == date(2024, 7, 1)


def test_local_date_rejects_naive_datetimes_and_unknown_zones() -> None:
    with pytest.raises(ValueError, match="aware"):
        local_date(datetime(2024, 1, 1, 12, 0), "Europe/London")
    with pytest.raises(ZoneInfoNotFoundError):
        local_date(datetime(2024, 1, 1, 12, 0, tzinfo=UTC), "Mars/Olympus_Mons")


# ---------------------------------------------------------------------------------------------
# Daily series and ranges
# ---------------------------------------------------------------------------------------------


def test_daily_loads_fills_rest_days_and_ignores_days_outside_the_range() -> None:
    loads = {
        date(2023, 12, 31): 999.0,  # before the range
        date(2024, 1, 1): 300.0,
        date(2024, 1, 3): 450.5,
        date(2024, 1, 5): 120.0,
        date(2024, 1, 6): 999.0,  # after the range
    }
    series = daily_loads(first_day=DAY_1, last_day=date(2024, 1, 5), loads_by_day=loads)
    assert series == [300.0, 0.0, 450.5, 0.0, 120.0]
    assert daily_loads(first_day=DAY_1, last_day=DAY_1, loads_by_day={}) == [0.0]


def test_daily_loads_rejects_a_reversed_range() -> None:
    with pytest.raises(ValueError, match="before"):
        daily_loads(first_day=DAY_1, last_day=date(2023, 12, 31), loads_by_day={})


LOADS_BY_DAY = {DAY_1 + timedelta(days=i): float(100 + (i * 29) % 300) for i in range(0, 80, 2)}


def test_range_inside_history_equals_the_full_computation() -> None:
    full = compute_metrics(
        first_day=DAY_1,
        loads_au=daily_loads(
            first_day=DAY_1, last_day=date(2024, 3, 20), loads_by_day=LOADS_BY_DAY
        ),
    )
    start, end = date(2024, 2, 10), date(2024, 3, 20)
    rows = metrics_for_range(first_day=DAY_1, loads_by_day=LOADS_BY_DAY, start=start, end=end)
    assert rows == full[(start - DAY_1).days :]
    assert rows[0].day == start
    assert rows[-1].day == end


def test_range_carries_the_whole_history() -> None:
    start = date(2024, 3, 1)
    row = metrics_for_range(first_day=DAY_1, loads_by_day=LOADS_BY_DAY, start=start, end=start)
    assert len(row) == 1
    assert row[0].history_days == (start - DAY_1).days + 1
    fresh = metrics_for_range(first_day=start, loads_by_day={}, start=start, end=start)
    assert row[0].ctl != fresh[0].ctl


def test_range_before_the_first_day_gets_empty_rows() -> None:
    first_day = date(2024, 1, 3)
    rows = metrics_for_range(
        first_day=first_day, loads_by_day={first_day: 200.0}, start=DAY_1, end=first_day
    )
    assert [r.day for r in rows] == [date(2024, 1, 1), date(2024, 1, 2), first_day]
    assert rows[0] == DayMetrics(
        day=DAY_1,
        history_days=0,
        load_au=0.0,
        week_load_au=0.0,
        acute_au=None,
        chronic_au=None,
        chronic_uncoupled_au=None,
        acwr_coupled=INSUFFICIENT,
        acwr_uncoupled=INSUFFICIENT,
        ewma_acute_au=None,
        ewma_chronic_au=None,
        acwr_ewma=INSUFFICIENT,
        monotony=INSUFFICIENT,
        strain=INSUFFICIENT,
        ctl=0.0,
        atl=0.0,
        tsb=0.0,
        risk_band=None,
        risk_band_ewma=None,
    )
    assert rows[2].history_days == 1
    assert rows[2].load_au == rows[2].ewma_acute_au == 200.0


def test_range_entirely_before_the_first_day() -> None:
    rows = metrics_for_range(
        first_day=date(2024, 2, 1), loads_by_day={}, start=DAY_1, end=date(2024, 1, 10)
    )
    assert len(rows) == 10
    assert {r.history_days for r in rows} == {0}


def test_range_ignores_loads_after_the_end() -> None:
    end = date(2024, 2, 15)
    rows = metrics_for_range(first_day=DAY_1, loads_by_day=LOADS_BY_DAY, start=end, end=end)
    only_past = {d: v for d, v in LOADS_BY_DAY.items() if d <= end}
    assert rows == metrics_for_range(first_day=DAY_1, loads_by_day=only_past, start=end, end=end)


def test_range_rejects_reversed_ranges_and_loads_before_the_first_day() -> None:
    with pytest.raises(ValueError, match="end is before start"):
        metrics_for_range(first_day=DAY_1, loads_by_day={}, start=date(2024, 2, 1), end=DAY_1)
    with pytest.raises(ValueError, match="before first_day"):
        metrics_for_range(
            first_day=DAY_1, loads_by_day={date(2023, 12, 31): 1.0}, start=DAY_1, end=DAY_1
        )


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------

positive_loads = st.floats(min_value=MIN_POSITIVE_LOAD_AU, max_value=MAX_DAILY_LOAD_AU)
any_load = st.one_of(st.just(0.0), positive_loads)
realistic_load = st.one_of(st.just(0.0), st.integers(1, 2_000).map(float))


def close(got: float | None, expected: float | None, rel: float = 1e-9) -> bool:
    if got is None or expected is None:
        return got is expected
    return got == pytest.approx(expected, rel=rel, abs=1e-9)


def reference(loads: Sequence[float]) -> list[tuple[float | None, ...]]:
    """The definitions written the slow, obvious way (windows re-averaged every day)."""
    out: list[tuple[float | None, ...]] = []
    ewma_a = ewma_c = loads[0] if loads else 0.0
    for i, x in enumerate(loads):
        week = loads[max(0, i - 6) : i + 1]
        month = loads[max(0, i - 27) : i + 1]
        before = loads[max(0, i - 27) : max(0, i - 6)]
        ewma_a = 0.25 * x + 0.75 * ewma_a
        ewma_c = 2 / 29 * x + 27 / 29 * ewma_c
        acute, chronic = statistics.fmean(week), statistics.fmean(month)
        uncoupled = statistics.fmean(before) if before else None
        full = i >= 27
        coupled_acwr = acute / chronic if full and chronic else None
        uncoupled_acwr = acute / uncoupled if full and uncoupled else None
        ewma_acwr = ewma_a / ewma_c if full and ewma_c else None
        sd = statistics.stdev(week) if i >= 6 else 0.0
        monotony = acute / sd if sd else None
        strain = math.fsum(week) * monotony if monotony else None
        row = (acute, chronic, uncoupled, coupled_acwr, uncoupled_acwr, ewma_a, ewma_c, ewma_acwr)
        out.append((*row, monotony, strain))
    return out


def as_tuple(row: DayMetrics) -> tuple[float | None, ...]:
    return (
        row.acute_au,
        row.chronic_au,
        row.chronic_uncoupled_au,
        row.acwr_coupled.value,
        row.acwr_uncoupled.value,
        row.ewma_acute_au,
        row.ewma_chronic_au,
        row.acwr_ewma.value,
        row.monotony.value,
        row.strain.value,
    )


@given(st.lists(realistic_load, max_size=90))
def test_agrees_with_the_naive_definitions(loads: list[float]) -> None:
    rows = compute_metrics(first_day=DAY_1, loads_au=loads)
    for row, expected in zip(rows, reference(loads), strict=True):
        assert all(map(close, as_tuple(row), expected))


@given(st.lists(any_load, max_size=100))
def test_never_nan_or_infinity_and_reasons_are_consistent(loads: list[float]) -> None:
    for row in compute_metrics(first_day=DAY_1, loads_au=loads):
        assert all(math.isfinite(v) for v in numbers(row))
        for derived in (row.acwr_coupled, row.acwr_uncoupled, row.acwr_ewma, row.monotony):
            assert (derived.value is None) != (derived.reason is None)
        assert (row.strain.reason, row.risk_band, row.risk_band_ewma) == (
            row.monotony.reason,
            risk_band(row.acwr_coupled.value),
            risk_band(row.acwr_ewma.value),
        )


@given(st.lists(any_load, min_size=1, max_size=100))
def test_ewma_stays_within_the_loads_seen(loads: list[float]) -> None:
    for i, row in enumerate(compute_metrics(first_day=DAY_1, loads_au=loads)):
        seen = loads[: i + 1]
        for ewma in (row.ewma_acute_au, row.ewma_chronic_au):
            assert ewma is not None
            assert min(seen) <= ewma <= max(seen)
        assert 0.0 <= row.ctl <= max(seen)
        assert 0.0 <= row.atl <= max(seen)


@given(positive_loads, st.integers(min_value=28, max_value=70))
def test_acwr_of_a_constant_positive_series_is_exactly_1_once_defined(
    load: float, days: int
) -> None:
    rows = compute_metrics(first_day=DAY_1, loads_au=[load] * days)
    for row in rows[27:]:
        assert row.acwr_coupled.value == row.acwr_uncoupled.value == row.acwr_ewma.value == 1.0
        assert row.monotony == NO_VARIATION


def ratios(row: DayMetrics) -> tuple[Derived, ...]:
    return (row.acwr_coupled, row.acwr_uncoupled, row.acwr_ewma, row.monotony)


@given(
    st.lists(st.one_of(st.just(0.0), st.floats(1e-3, 1e6)), max_size=60),
    st.integers(min_value=-8, max_value=8),
)
def test_scaling_by_a_power_of_two_leaves_every_ratio_exactly_unchanged(
    loads: list[float], exponent: int
) -> None:
    k = 2.0**exponent
    rows = compute_metrics(first_day=DAY_1, loads_au=loads)
    scaled = compute_metrics(first_day=DAY_1, loads_au=[k * x for x in loads])
    for row, row_k in zip(rows, scaled, strict=True):
        assert ratios(row) == ratios(row_k)
        assert row_k.strain.value == (None if row.strain.value is None else k * row.strain.value)


@settings(max_examples=200)
@given(st.lists(realistic_load, max_size=60), st.floats(min_value=0.01, max_value=100))
def test_scaling_by_any_k_leaves_every_ratio_unchanged(loads: list[float], k: float) -> None:
    rows = compute_metrics(first_day=DAY_1, loads_au=loads)
    scaled = compute_metrics(first_day=DAY_1, loads_au=[k * x for x in loads])
    for row, row_k in zip(rows, scaled, strict=True):
        for derived, derived_k in zip(ratios(row), ratios(row_k), strict=True):
            assert derived.reason == derived_k.reason
            assert close(derived_k.value, derived.value)


@given(st.lists(realistic_load, max_size=60), st.integers(0, 70), st.integers(0, 30))
def test_any_range_matches_the_full_series(loads: list[float], offset: int, length: int) -> None:
    by_day = {DAY_1 + timedelta(days=i): x for i, x in enumerate(loads) if x}
    first_day = DAY_1
    start = DAY_1 + timedelta(days=offset - 10)  # may begin before the first day
    end = start + timedelta(days=length)
    rows = metrics_for_range(first_day=first_day, loads_by_day=by_day, start=start, end=end)
    assert [r.day for r in rows] == [start + timedelta(days=i) for i in range(length + 1)]
    if end >= first_day:
        full = compute_metrics(
            first_day=first_day,
            loads_au=daily_loads(first_day=first_day, last_day=end, loads_by_day=by_day),
        )
        in_history = [r for r in rows if r.day >= first_day]
        assert in_history == full[max(0, (start - first_day).days) :]
    assert all(r.history_days == 0 for r in rows if r.day < first_day)
