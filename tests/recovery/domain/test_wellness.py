"""Wellness scale, totals and trends (recovery.domain.wellness). Definitions: docs/metrics.md."""

import ast
import math
import statistics
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recovery.domain import wellness
from recovery.domain.metrics import Derived, Reason
from recovery.domain.wellness import (
    WELLNESS_BASELINE_DAYS,
    WELLNESS_ITEM_ANCHORS,
    WELLNESS_ITEM_MAX,
    WELLNESS_ITEM_MIN,
    WELLNESS_ITEMS,
    WELLNESS_MIN_BASELINE_VALUES,
    WELLNESS_TOTAL_MAX,
    WELLNESS_TOTAL_MIN,
    WELLNESS_Z_THRESHOLD,
    TrendDirection,
    WellnessItem,
    WellnessTrend,
    wellness_total,
    wellness_trend,
)

ALL_FIVE = {
    "sleep_quality": 4,
    "fatigue": 3,
    "stress": 5,
    "mood": 4,
    "general_soreness": 2,
}

# Mean 10; deviations +-2 six times and 0 once: sum of squares 24, sample SD sqrt(24 / 6) = 2.
BASELINE_SD_2 = [8.0, 12.0, 8.0, 12.0, 8.0, 12.0, 10.0]


def test_scale_is_pinned() -> None:
    assert [item.value for item in WELLNESS_ITEMS] == [
        "sleep_quality",
        "fatigue",
        "stress",
        "mood",
        "general_soreness",
    ]
    assert (WELLNESS_ITEM_MIN, WELLNESS_ITEM_MAX) == (1, 5)
    assert (WELLNESS_TOTAL_MIN, WELLNESS_TOTAL_MAX) == (5, 25)
    assert (WELLNESS_BASELINE_DAYS, WELLNESS_MIN_BASELINE_VALUES) == (28, 7)
    assert WELLNESS_Z_THRESHOLD == 1.0
    assert [d.value for d in TrendDirection] == ["better", "worse", "stable"]


def test_every_item_has_five_anchors_worst_first() -> None:
    assert set(WELLNESS_ITEM_ANCHORS) == set(WellnessItem)
    assert all(len(labels) == 5 for labels in WELLNESS_ITEM_ANCHORS.values())
    assert WELLNESS_ITEM_ANCHORS[WellnessItem.FATIGUE][0] == "always tired"
    assert WELLNESS_ITEM_ANCHORS[WellnessItem.FATIGUE][-1] == "very fresh"


def test_module_imports_only_the_standard_library_and_the_domain() -> None:
    tree = ast.parse(Path(wellness.__file__).read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= {
        "__future__",
        "collections.abc",
        "dataclasses",
        "enum",
        "math",
        "statistics",
        "types",
        "typing",
        "recovery.domain.metrics",
    }


# ---------------------------------------------------------------------------------------------
# Totals
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("items", "total"),
    [
        ({}, None),
        (dict.fromkeys(ALL_FIVE), None),
        ({"fatigue": 3}, 3),
        ({"fatigue": 3, "mood": None, "stress": 1}, 4),
        (ALL_FIVE, 18),
        (dict.fromkeys(ALL_FIVE, 5), 25),
        (dict.fromkeys(ALL_FIVE, 1), 5),
        ({WellnessItem.SLEEP_QUALITY: 2}, 2),
    ],
)
def test_total_is_the_sum_of_the_answered_items(items: dict[str, int | None], total: int) -> None:
    assert wellness_total(items) == total


@pytest.mark.parametrize(
    ("items", "total"),
    [
        (ALL_FIVE, 18),
        ({**ALL_FIVE, "mood": None}, None),
        ({"fatigue": 3}, None),
        ({}, None),
    ],
)
def test_total_of_complete_reports_only(items: dict[str, int | None], total: int | None) -> None:
    assert wellness_total(items, require_all=True) == total


@pytest.mark.parametrize(
    "items",
    [
        {"hunger": 3},
        {"fatigue": 0},
        {"fatigue": 6},
        {"fatigue": True},
        {"fatigue": 3.0},
        {"fatigue": "3"},
    ],
)
def test_total_rejects_unknown_items_and_values_off_the_scale(items: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=r"unknown wellness items|must be an integer"):
        wellness_total(items)


# ---------------------------------------------------------------------------------------------
# Trend against the athlete's own baseline
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("latest", "z", "direction"),
    [
        (14.0, 2.0, TrendDirection.BETTER),
        (12.0, 1.0, TrendDirection.BETTER),  # the threshold itself counts
        (11.9, 0.95, TrendDirection.STABLE),
        (10.0, 0.0, TrendDirection.STABLE),
        (8.1, -0.95, TrendDirection.STABLE),
        (8.0, -1.0, TrendDirection.WORSE),
        (5.0, -2.5, TrendDirection.WORSE),
    ],
)
def test_trend_table(latest: float, z: float, direction: TrendDirection) -> None:
    trend = wellness_trend(latest=latest, baseline=BASELINE_SD_2)
    assert (trend.baseline_n, trend.baseline_mean, trend.baseline_sd) == (7, 10.0, 2.0)
    assert trend.latest == latest
    assert trend.z_score.reason is None
    assert trend.z_score.value == pytest.approx(z)
    assert trend.direction == direction


def test_trend_when_lower_is_better() -> None:
    assert wellness_trend(latest=12.0, baseline=BASELINE_SD_2, higher_is_better=False) == (
        WellnessTrend(
            latest=12.0,
            baseline_n=7,
            baseline_mean=10.0,
            baseline_sd=2.0,
            z_score=Derived(value=1.0, reason=None),
            direction=TrendDirection.WORSE,
        )
    )


@pytest.mark.parametrize("n", [0, 1, WELLNESS_MIN_BASELINE_VALUES - 1])
def test_trend_needs_a_minimum_baseline(n: int) -> None:
    trend = wellness_trend(latest=18.0, baseline=([15.0, 20.0] * 4)[:n])
    assert trend == WellnessTrend(
        latest=18.0,
        baseline_n=n,
        baseline_mean=None,
        baseline_sd=None,
        z_score=Derived(value=None, reason=Reason.INSUFFICIENT_HISTORY),
        direction=None,
    )


def test_trend_without_a_latest_value() -> None:
    trend = wellness_trend(latest=None, baseline=BASELINE_SD_2)
    assert trend.z_score == Derived(value=None, reason=Reason.NO_DATA)
    assert (trend.baseline_mean, trend.baseline_sd, trend.direction) == (10.0, 2.0, None)
    short = wellness_trend(latest=None, baseline=[])
    assert short.z_score == Derived(value=None, reason=Reason.NO_DATA)


@pytest.mark.parametrize(
    ("latest", "higher_is_better", "direction"),
    [
        (20.0, True, TrendDirection.STABLE),
        (19.0, True, TrendDirection.WORSE),
        (21.0, True, TrendDirection.BETTER),
        (19.0, False, TrendDirection.BETTER),
    ],
)
def test_constant_baseline_has_no_z_score_but_still_a_direction(
    latest: float, higher_is_better: bool, direction: TrendDirection
) -> None:
    trend = wellness_trend(latest=latest, baseline=[20.0] * 10, higher_is_better=higher_is_better)
    assert trend.z_score == Derived(value=None, reason=Reason.NO_VARIATION)
    assert (trend.baseline_mean, trend.baseline_sd) == (20.0, 0.0)
    assert trend.direction == direction


def test_constant_baseline_is_exact_for_awkward_values() -> None:
    trend = wellness_trend(latest=0.1, baseline=[0.1] * 7)
    assert (trend.baseline_mean, trend.baseline_sd) == (0.1, 0.0)
    assert trend.direction == TrendDirection.STABLE


@pytest.mark.parametrize(
    ("latest", "baseline"),
    [(math.nan, BASELINE_SD_2), (math.inf, BASELINE_SD_2), (10.0, [*BASELINE_SD_2, math.nan])],
)
def test_trend_rejects_non_finite_values(latest: float, baseline: list[float]) -> None:
    with pytest.raises(ValueError, match="finite"):
        wellness_trend(latest=latest, baseline=baseline)


totals = st.integers(WELLNESS_TOTAL_MIN, WELLNESS_TOTAL_MAX).map(float)


@given(st.one_of(st.none(), totals), st.lists(totals, max_size=28), st.booleans())
def test_trend_properties(
    latest: float | None, baseline: list[float], higher_is_better: bool
) -> None:
    trend = wellness_trend(latest=latest, baseline=baseline, higher_is_better=higher_is_better)
    assert (trend.z_score.value is None) != (trend.z_score.reason is None)
    assert trend.baseline_n == len(baseline)
    if trend.z_score.value is not None:
        assert math.isfinite(trend.z_score.value)
        assert latest is not None
        assert trend.z_score.value == pytest.approx(
            (latest - statistics.fmean(baseline)) / statistics.stdev(baseline)
        )
        signed = trend.z_score.value if higher_is_better else -trend.z_score.value
        expected = (
            TrendDirection.BETTER
            if signed >= WELLNESS_Z_THRESHOLD
            else TrendDirection.WORSE
            if signed <= -WELLNESS_Z_THRESHOLD
            else TrendDirection.STABLE
        )
        assert trend.direction == expected
    elif trend.z_score.reason != Reason.NO_VARIATION:
        assert trend.direction is None
