"""Wellness questionnaire: the item scale, totals, and each athlete's trend against their own
baseline (pure Python, no Django). Details and sources: ``docs/metrics.md``, "Wellness".

One scale for the whole app (DESIGN section 3 lets the direction vary by questionnaire; we pick
one so that every stored value means the same thing): the McLean et al. (2010) items, each
scored **1 to 5 with 5 = best** (the mobile app shows five faces, worst to best). A Hooper
(1-7, 1 = best) answer must be converted before it is stored. So for every item and for the
total, higher is better.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from recovery.domain.metrics import Derived, Reason


class WellnessItem(StrEnum):
    """The optional wellness items of a soreness report (values are the API field names)."""

    SLEEP_QUALITY = "sleep_quality"
    FATIGUE = "fatigue"
    STRESS = "stress"
    MOOD = "mood"
    GENERAL_SORENESS = "general_soreness"


WELLNESS_ITEMS: Final = tuple(WellnessItem)
WELLNESS_ITEM_MIN: Final = 1
"""Worst answer of every item."""
WELLNESS_ITEM_MAX: Final = 5
"""Best answer of every item."""
WELLNESS_TOTAL_MIN: Final = WELLNESS_ITEM_MIN * len(WELLNESS_ITEMS)
"""Total of a complete report at its worst (5)."""
WELLNESS_TOTAL_MAX: Final = WELLNESS_ITEM_MAX * len(WELLNESS_ITEMS)
"""Total of a complete report at its best (25)."""

# Labels for scores 1..5 (index 0 is score 1), after McLean et al. (2010), for the app and docs.
WELLNESS_ITEM_ANCHORS: Final[Mapping[WellnessItem, tuple[str, str, str, str, str]]] = (
    MappingProxyType(
        {
            WellnessItem.SLEEP_QUALITY: (
                "insomnia",
                "restless sleep",
                "difficulty falling asleep",
                "good",
                "very restful",
            ),
            WellnessItem.FATIGUE: (
                "always tired",
                "more tired than normal",
                "normal",
                "fresh",
                "very fresh",
            ),
            WellnessItem.STRESS: (
                "highly stressed",
                "feeling stressed",
                "normal",
                "relaxed",
                "very relaxed",
            ),
            WellnessItem.MOOD: (
                "highly annoyed, irritable or down",
                "snappy with teammates, family or co-workers",
                "less interested in others or activities than usual",
                "generally good mood",
                "very positive mood",
            ),
            WellnessItem.GENERAL_SORENESS: (
                "very sore",
                "more sore or tight than usual",
                "normal",
                "feeling good",
                "feeling great",
            ),
        }
    )
)

WELLNESS_BASELINE_DAYS: Final = 28
"""The caller's baseline: one value per day over the 28 days before the latest (DESIGN)."""
WELLNESS_MIN_BASELINE_VALUES: Final = 7
"""Fewest baseline values for a z-score. From 3 values the true SD lies anywhere between about
0.5 and 6.3 times the estimate (95% interval), which would flag noise; from 7, 0.64 to 2.2."""
WELLNESS_Z_THRESHOLD: Final = 1.0
"""|z| >= 1 (one of the athlete's own SDs) is a change worth showing; below it is stable."""


class TrendDirection(StrEnum):
    BETTER = "better"
    WORSE = "worse"
    STABLE = "stable"


@dataclass(frozen=True, slots=True)
class WellnessTrend:
    """The latest value compared with the athlete's own baseline.

    ``baseline_mean`` and ``baseline_sd`` (sample SD, n - 1) are given once the baseline has
    ``WELLNESS_MIN_BASELINE_VALUES`` values; ``z_score`` = (latest - mean) / SD.
    """

    latest: float | None
    baseline_n: int
    baseline_mean: float | None
    baseline_sd: float | None
    z_score: Derived
    direction: TrendDirection | None


def wellness_total(items: Mapping[str, int | None], *, require_all: bool = False) -> int | None:
    """Sum of the answered items (each 1..5, 5 = best); ``None`` when no item is answered.

    A missing key or a ``None`` value is an unanswered item. A partial total is not comparable
    with a complete one: with ``require_all=True`` the total is ``None`` unless all five items
    are answered (use that for trends). Unknown items or values off the scale raise
    ``ValueError``.
    """
    unknown = set(items) - set(WELLNESS_ITEMS)
    if unknown:
        raise ValueError(f"unknown wellness items: {sorted(unknown)}")
    answered: list[int] = []
    for item, value in items.items():
        if value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not WELLNESS_ITEM_MIN <= value <= WELLNESS_ITEM_MAX
        ):
            raise ValueError(
                f"{item} must be an integer from {WELLNESS_ITEM_MIN} to {WELLNESS_ITEM_MAX}, "
                f"got {value!r}"
            )
        answered.append(value)
    if not answered or (require_all and len(answered) < len(WELLNESS_ITEMS)):
        return None
    return sum(answered)


def wellness_trend(
    *, latest: float | None, baseline: Sequence[float], higher_is_better: bool = True
) -> WellnessTrend:
    """Compare ``latest`` with the athlete's own ``baseline`` (a z-score, not a fixed cut-off).

    ``baseline`` holds the athlete's earlier values, one per day, over the
    ``WELLNESS_BASELINE_DAYS`` before the latest one (the latest excluded). The z-score is
    undefined with ``no_data`` when there is no latest value, ``insufficient_history`` with
    fewer than ``WELLNESS_MIN_BASELINE_VALUES`` baseline values, and ``no_variation`` when the
    baseline SD is 0. ``direction``: ``better`` when z >= 1, ``worse`` when z <= -1, otherwise
    ``stable`` (mirrored when ``higher_is_better`` is false); with a constant baseline, any
    difference from it gives ``better`` or ``worse`` and equality ``stable``; otherwise
    ``None`` when the z-score is undefined.
    """
    values = [float(v) for v in baseline]
    if not all(math.isfinite(v) for v in values) or (
        latest is not None and not math.isfinite(latest)
    ):
        raise ValueError("wellness values must be finite")
    n = len(values)
    if n < WELLNESS_MIN_BASELINE_VALUES:
        return WellnessTrend(
            latest=latest,
            baseline_n=n,
            baseline_mean=None,
            baseline_sd=None,
            z_score=Derived(
                value=None,
                reason=Reason.NO_DATA if latest is None else Reason.INSUFFICIENT_HISTORY,
            ),
            direction=None,
        )
    # Both use exact rational arithmetic inside: a constant baseline has exactly its value as
    # mean and exactly 0 as SD.
    mean = statistics.mean(values)
    sd = statistics.stdev(values)
    direction: TrendDirection | None
    if latest is None:
        z_score, direction = Derived(value=None, reason=Reason.NO_DATA), None
    elif sd == 0.0:
        z_score = Derived(value=None, reason=Reason.NO_VARIATION)
        direction = _direction(latest - mean, threshold=0.0, higher_is_better=higher_is_better)
    else:
        z = (latest - mean) / sd
        z_score = Derived(value=z, reason=None)
        direction = _direction(z, threshold=WELLNESS_Z_THRESHOLD, higher_is_better=higher_is_better)
    return WellnessTrend(
        latest=latest,
        baseline_n=n,
        baseline_mean=mean,
        baseline_sd=sd,
        z_score=z_score,
        direction=direction,
    )


def _direction(change: float, *, threshold: float, higher_is_better: bool) -> TrendDirection:
    """``better``/``worse`` when ``change`` is non-zero and reaches ``threshold`` (inclusive)."""
    if not higher_is_better:
        change = -change
    if change > 0.0 and change >= threshold:
        return TrendDirection.BETTER
    if change < 0.0 and -change >= threshold:
        return TrendDirection.WORSE
    return TrendDirection.STABLE
