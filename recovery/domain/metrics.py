"""Training-load metrics over a continuous daily series (pure Python, no Django).

Every definition, its source, the seeding at the start of history and worked examples are in
``docs/metrics.md``; DESIGN.md section 3 is the origin. In short:

- The input is one load per local calendar day (``daily_loads``), continuous from the athlete's
  first training day; rest days are 0. A day's load is the sum of its sessions' sRPE
  (``session_load_au``: CR-10 RPE x minutes, in arbitrary units, AU).
- ``compute_metrics`` walks the series once and returns one ``DayMetrics`` per day: rolling
  acute/chronic means and ACWRs (coupled and uncoupled), EWMAs and their ratio, monotony and
  strain, CTL/ATL/TSB and the ACWR risk band.
- A value that can be undefined is a ``Derived``: either a number, or ``None`` with the reason.

Exactness: the window sums are kept as exact integers (each load is an exact binary fraction, so
every load is an integer number of ``1/scale`` units for one common ``scale``). Rolling sums
therefore never drift, a constant series gives an ACWR of exactly 1.0 and a standard deviation
of exactly 0, and every ratio is rounded once, at the end.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Final, TypeAlias
from zoneinfo import ZoneInfo

# ---------------------------------------------------------------------------------------------
# Conventions (DESIGN section 3). Pinned here and returned with the numbers (``CONVENTIONS``).
# ---------------------------------------------------------------------------------------------

ACUTE_DAYS: Final = 7
"""Rolling acute window: the last 7 days including today."""
CHRONIC_DAYS: Final = 28
"""Rolling chronic window (coupled): the last 28 days including today."""
UNCOUPLED_CHRONIC_DAYS: Final = CHRONIC_DAYS - ACUTE_DAYS
"""Uncoupled chronic window: the 21 days before the acute window (8 to 28 days back)."""
MONOTONY_DAYS: Final = ACUTE_DAYS
"""Monotony and strain window (Foster, 1998): one week, the acute window (the code shares it)."""

EWMA_ACUTE_SPAN: Final = 7
EWMA_CHRONIC_SPAN: Final = 28
EWMA_ACUTE_LAMBDA: Final = 2 / (EWMA_ACUTE_SPAN + 1)
"""Williams et al. (2017): lambda = 2 / (N + 1); 0.25 for N = 7."""
EWMA_CHRONIC_LAMBDA: Final = 2 / (EWMA_CHRONIC_SPAN + 1)
"""2 / 29 = 0.0689... for N = 28."""

CTL_DAYS: Final = 42
"""Fitness (chronic training load) time constant, days (GoldenCheetah/intervals.icu default)."""
ATL_DAYS: Final = 7
"""Fatigue (acute training load) time constant, days."""
CTL_ALPHA: Final = -math.expm1(-1 / CTL_DAYS)
"""1 - exp(-1/42): the share of today's load that enters CTL."""
ATL_ALPHA: Final = -math.expm1(-1 / ATL_DAYS)
"""1 - exp(-1/7): the share of today's load that enters ATL."""

ACWR_LOW_BELOW: Final = 0.8
"""ACWR < 0.8 is ``low`` (under-loaded relative to the chronic load)."""
ACWR_MODERATE_MAX: Final = 1.3
"""0.8 <= ACWR <= 1.3 is ``moderate`` (Gabbett's 2016 "sweet spot"); both ends included."""
ACWR_CAUTION_MAX: Final = 1.5
"""1.3 < ACWR <= 1.5 is ``caution``; ACWR > 1.5 is ``high`` (Gabbett's "danger zone")."""

MAX_DAILY_LOAD_AU: Final = 1e9
"""Largest accepted daily load. A real day is at most about 10 x 1,440 = 14,400 AU; the bound
only guarantees that every intermediate value (sums, squares, strain) stays finite."""
MIN_POSITIVE_LOAD_AU: Final = 1e-6
"""Smallest accepted non-zero daily load. Loads are 0 or at least this much; the bound keeps
every ratio finite (an acute load over a denormal chronic load would overflow)."""

RPE_MAX: Final = 10.0
"""Top of Foster's modified CR-10 scale used for sRPE."""
MINUTES_PER_DAY: Final = 1440.0


class Reason(StrEnum):
    """Why a ``Derived`` value is undefined. Values are part of the API contract."""

    INSUFFICIENT_HISTORY = "insufficient_history"
    CHRONIC_ZERO = "chronic_zero"
    NO_VARIATION = "no_variation"
    NO_DATA = "no_data"
    """Nothing to score (used by the wellness trend when there is no latest value)."""


@dataclass(frozen=True, slots=True)
class Derived:
    """A value that may be undefined: exactly one of ``value`` and ``reason`` is ``None``."""

    value: float | None
    reason: Reason | None


class RiskBand(StrEnum):
    """ACWR band (DESIGN section 3). A monitoring aid, not an injury prediction."""

    LOW = "low"
    MODERATE = "moderate"
    CAUTION = "caution"
    HIGH = "high"


@dataclass(frozen=True, slots=True)
class Conventions:
    """The pinned conventions, to return next to the numbers (``dataclasses.asdict``)."""

    load: str = "srpe_au"
    acute_days: int = ACUTE_DAYS
    chronic_days: int = CHRONIC_DAYS
    uncoupled_chronic_days: int = UNCOUPLED_CHRONIC_DAYS
    ewma_acute_span: int = EWMA_ACUTE_SPAN
    ewma_chronic_span: int = EWMA_CHRONIC_SPAN
    ewma_seed: str = "first_day_load"
    ctl_days: int = CTL_DAYS
    atl_days: int = ATL_DAYS
    ctl_atl_seed: float = 0.0
    tsb_from: str = "previous_day"
    monotony_days: int = MONOTONY_DAYS
    monotony_sd: str = "sample"
    acwr_low_below: float = ACWR_LOW_BELOW
    acwr_moderate_max: float = ACWR_MODERATE_MAX
    acwr_caution_max: float = ACWR_CAUTION_MAX


CONVENTIONS: Final = Conventions()


@dataclass(frozen=True, slots=True)
class DayMetrics:
    """Every load metric for one local calendar day.

    ``history_days`` is the number of days of history up to and including ``day`` (1 on the
    first training day, 0 for a day before it). Means over a window that reaches back before
    the first training day are taken over the days of history it contains (documented in
    ``docs/metrics.md``); the ACWRs stay undefined until the windows are full.
    """

    day: date
    history_days: int
    load_au: float
    week_load_au: float
    """Total load of the last 7 days including today."""
    acute_au: float | None
    """Mean daily load of the last 7 days (of the days of history among them)."""
    chronic_au: float | None
    """Mean daily load of the last 28 days (coupled; of the days of history among them)."""
    chronic_uncoupled_au: float | None
    """Mean daily load 8 to 28 days back; ``None`` while that window holds no history."""
    acwr_coupled: Derived
    acwr_uncoupled: Derived
    ewma_acute_au: float | None
    ewma_chronic_au: float | None
    acwr_ewma: Derived
    monotony: Derived
    strain: Derived
    ctl: float
    """Fitness: CTL_t = CTL_{t-1} + CTL_ALPHA * (load_t - CTL_{t-1}), AU/day."""
    atl: float
    """Fatigue: the same with ATL_ALPHA, AU/day."""
    tsb: float
    """Form for this day: CTL_{t-1} - ATL_{t-1} (yesterday's balance), AU/day."""
    risk_band: RiskBand | None
    """Band of the coupled rolling ACWR."""
    risk_band_ewma: RiskBand | None
    """Band of the EWMA ACWR."""


def risk_band(acwr: float | None) -> RiskBand | None:
    """Band of an ACWR: < 0.8 low; 0.8 to 1.3 moderate (both included); over 1.3 up to and
    including 1.5 caution; over 1.5 high. ``None`` gives ``None``.

    The comparison uses the unrounded ratio; round only for display.
    """
    if acwr is None:
        return None
    if not 0.0 <= acwr < math.inf:
        raise ValueError(f"ACWR must be finite and non-negative, got {acwr!r}")
    return _band(acwr)


def _band(acwr: float | None) -> RiskBand | None:
    """``risk_band`` without the input check, for ratios computed here (finite, >= 0)."""
    if acwr is None:
        return None
    if acwr < ACWR_LOW_BELOW:
        return RiskBand.LOW
    if acwr <= ACWR_MODERATE_MAX:
        return RiskBand.MODERATE
    if acwr <= ACWR_CAUTION_MAX:
        return RiskBand.CAUTION
    return RiskBand.HIGH


def session_load_au(*, rpe: float, duration_min: float) -> float:
    """Session RPE load (Foster et al., 2001): CR-10 RPE x duration in minutes, in AU."""
    if not 0.0 <= rpe <= RPE_MAX:
        raise ValueError(f"rpe must be between 0 and {RPE_MAX:g}, got {rpe!r}")
    if not 0.0 <= duration_min <= MINUTES_PER_DAY:
        raise ValueError(f"duration_min must be between 0 and {MINUTES_PER_DAY:g}")
    return rpe * duration_min


def local_date(started_at: datetime, tz: str) -> date:
    """The local calendar day a session belongs to: the day, in ``tz``, on which it started.

    ``started_at`` must be timezone-aware (stored in UTC); ``tz`` is an IANA name such as
    ``"Europe/London"``. An unknown name raises ``zoneinfo.ZoneInfoNotFoundError``.
    """
    if started_at.utcoffset() is None:
        raise ValueError("started_at must be timezone-aware")
    return started_at.astimezone(ZoneInfo(tz)).date()


def daily_loads(
    *, first_day: date, last_day: date, loads_by_day: Mapping[date, float]
) -> list[float]:
    """The continuous daily series from ``first_day`` to ``last_day`` inclusive.

    Days missing from ``loads_by_day`` are rest days (0); entries outside the range are ignored.
    """
    n_days = (last_day - first_day).days + 1
    if n_days < 1:
        raise ValueError("last_day is before first_day")
    series = [0.0] * n_days
    for day, load_au in loads_by_day.items():
        index = (day - first_day).days
        if 0 <= index < n_days:
            series[index] = load_au
    return series


def _exact_units(loads_au: Sequence[float]) -> tuple[list[float], list[int], int]:
    """Validate the loads; return them as floats, as exact integer units, and the unit scale.

    Each load is an exact rational ``n / d``; with ``scale`` the least common multiple of the
    denominators (a power of two for floats), ``load = units / scale`` exactly.
    """
    loads = [float(x) for x in loads_au]
    for x in loads:
        if not 0.0 <= x <= MAX_DAILY_LOAD_AU or 0.0 < x < MIN_POSITIVE_LOAD_AU:
            raise ValueError(
                f"daily load must be 0 or between {MIN_POSITIVE_LOAD_AU:g} and "
                f"{MAX_DAILY_LOAD_AU:g} AU, got {x!r}"
            )
    ratios = [x.as_integer_ratio() for x in loads]
    scale = math.lcm(*(d for _, d in ratios))  # math.lcm() of nothing is 1
    units = [n * (scale // d) for n, d in ratios]
    return loads, units, scale


def compute_metrics(*, first_day: date, loads_au: Sequence[float]) -> list[DayMetrics]:
    """Metrics for every day of a continuous daily series, in one O(n) pass.

    ``loads_au[0]`` is ``first_day``, the athlete's first training day (the start of history);
    ``loads_au[i]`` is the day ``i`` days later; rest days are 0. Raises ``ValueError`` for a
    negative, non-finite or out-of-range load.
    """
    return [
        day_metrics(row)
        for row in _metrics_rows(first_day=first_day, loads_au=loads_au, keep_from=0)
    ]


MetricsRow: TypeAlias = tuple[
    date,  # day
    int,  # history_days
    float,  # load_au
    float,  # week_load_au
    float | None,  # acute_au
    float | None,  # chronic_au
    float | None,  # chronic_uncoupled_au
    float | None,  # acwr_coupled (value)
    Reason | None,  # acwr_coupled (reason)
    float | None,  # acwr_uncoupled
    Reason | None,
    float | None,  # ewma_acute_au
    float | None,  # ewma_chronic_au
    float | None,  # acwr_ewma
    Reason | None,
    float | None,  # monotony
    Reason | None,
    float | None,  # strain
    Reason | None,
    float,  # ctl
    float,  # atl
    float,  # tsb
    RiskBand | None,  # risk_band
    RiskBand | None,  # risk_band_ewma
]
"""One day's metrics as a flat tuple: the fields of ``DayMetrics`` in order, each ``Derived``
spelled as two items (value, reason). What a year of rows is built as: a tuple costs a fraction
of a ``DayMetrics`` with its five ``Derived`` (frozen dataclasses set each field through
``object.__setattr__``). ``day_metrics`` turns a row into a ``DayMetrics``."""

ROW_FIELDS: Final = (
    "day",
    "history_days",
    "load_au",
    "week_load_au",
    "acute_au",
    "chronic_au",
    "chronic_uncoupled_au",
    "acwr_coupled",
    "acwr_coupled_reason",
    "acwr_uncoupled",
    "acwr_uncoupled_reason",
    "ewma_acute_au",
    "ewma_chronic_au",
    "acwr_ewma",
    "acwr_ewma_reason",
    "monotony",
    "monotony_reason",
    "strain",
    "strain_reason",
    "ctl",
    "atl",
    "tsb",
    "risk_band",
    "risk_band_ewma",
)
"""The names of a ``MetricsRow``'s items, in order (``<name>_reason``: a ``Derived``'s reason)."""

_UNDEFINED: Final = {reason: Derived(value=None, reason=reason) for reason in Reason}


def _derived(value: float | None, reason: Reason | None) -> Derived:
    return Derived(value, None) if reason is None else _UNDEFINED[reason]


def day_metrics(row: MetricsRow) -> DayMetrics:
    """The ``DayMetrics`` of a ``MetricsRow``."""
    (day, history, load, week, acute, chronic, uncoupled, acwr_c, acwr_c_reason, acwr_u,
     acwr_u_reason, ewma_a, ewma_c, acwr_e, acwr_e_reason, monotony, monotony_reason, strain,
     strain_reason, ctl, atl, tsb, band, band_ewma) = row  # fmt: skip
    return DayMetrics(
        day,
        history,
        load,
        week,
        acute,
        chronic,
        uncoupled,
        _derived(acwr_c, acwr_c_reason),
        _derived(acwr_u, acwr_u_reason),
        ewma_a,
        ewma_c,
        _derived(acwr_e, acwr_e_reason),
        _derived(monotony, monotony_reason),
        _derived(strain, strain_reason),
        ctl,
        atl,
        tsb,
        band,
        band_ewma,
    )


def _metrics_rows(
    *, first_day: date, loads_au: Sequence[float], keep_from: int
) -> list[MetricsRow]:
    """The one pass behind ``compute_metrics`` and ``metrics_rows``; rows are built only from
    index ``keep_from`` on (building a row costs more than the arithmetic, so a short range of a
    long history is cheap).
    """
    loads, units, scale = _exact_units(loads_au)
    rows: list[MetricsRow] = []
    append = rows.append
    # Exact window sums in units of 1/scale (sq7: sum of squares, for the sample SD).
    sum7 = sum28 = sq7 = 0
    # EWMAs are seeded with the first day's load (Williams et al., 2017); CTL and ATL start at 0
    # the day before the first day (GoldenCheetah).
    ewma_acute = ewma_chronic = loads[0] if loads else 0.0
    ctl = atl = 0.0
    lam_a, lam_c, alpha_ctl, alpha_atl = (
        EWMA_ACUTE_LAMBDA,
        EWMA_CHRONIC_LAMBDA,
        CTL_ALPHA,
        ATL_ALPHA,
    )
    insufficient, chronic_zero, no_variation = (
        Reason.INSUFFICIENT_HISTORY,
        Reason.CHRONIC_ZERO,
        Reason.NO_VARIATION,
    )
    band = _band
    ordinal = first_day.toordinal()
    for i, load in enumerate(loads):
        unit = units[i]
        sum7 += unit
        sq7 += unit * unit
        sum28 += unit
        if i >= ACUTE_DAYS:
            old = units[i - ACUTE_DAYS]
            sum7 -= old
            sq7 -= old * old
        if i >= CHRONIC_DAYS:
            sum28 -= units[i - CHRONIC_DAYS]

        # e + l * (x - e) rather than l * x + (1 - l) * e: a constant series stays exactly
        # constant, and for l <= 1/2 the rounded result always lies between e and x, so an
        # EWMA never leaves the range of the loads seen.
        ewma_acute += lam_a * (load - ewma_acute)
        ewma_chronic += lam_c * (load - ewma_chronic)
        tsb = ctl - atl
        ctl += alpha_ctl * (load - ctl)
        atl += alpha_atl * (load - atl)
        if i < keep_from:
            continue

        n7 = ACUTE_DAYS if i >= ACUTE_DAYS - 1 else i + 1
        n28 = CHRONIC_DAYS if i >= CHRONIC_DAYS - 1 else i + 1
        week_load_au = sum7 / scale
        sum_uncoupled = sum28 - sum7
        n_uncoupled = n28 - n7
        uncoupled_au = sum_uncoupled / (n_uncoupled * scale) if n_uncoupled else None

        acwr_coupled: float | None
        acwr_uncoupled: float | None
        acwr_ewma: float | None
        if i >= CHRONIC_DAYS - 1:
            # Ratios of the exact sums, rounded once: (S7 / 7) / (S28 / 28) = 28 * S7 / (7 * S28).
            if sum28:
                acwr_coupled = sum7 * CHRONIC_DAYS / (sum28 * ACUTE_DAYS)
                coupled_reason = None
            else:
                acwr_coupled, coupled_reason = None, chronic_zero
            if sum_uncoupled:
                acwr_uncoupled = sum7 * UNCOUPLED_CHRONIC_DAYS / (sum_uncoupled * ACUTE_DAYS)
                uncoupled_reason = None
            else:
                acwr_uncoupled, uncoupled_reason = None, chronic_zero
            if ewma_chronic:
                acwr_ewma, ewma_reason = ewma_acute / ewma_chronic, None
            else:
                acwr_ewma, ewma_reason = None, chronic_zero
        else:
            acwr_coupled = acwr_uncoupled = acwr_ewma = None
            coupled_reason = uncoupled_reason = ewma_reason = insufficient

        monotony: float | None
        strain: float | None
        if i >= MONOTONY_DAYS - 1:
            # n * sum(x^2) - sum(x)^2 = n * (n - 1) * sample variance, exactly.
            spread = MONOTONY_DAYS * sq7 - sum7 * sum7
            if spread:
                # monotony^2 = mean^2 / variance = (n - 1) * S^2 / (n * spread)
                monotony = math.sqrt((MONOTONY_DAYS - 1) * sum7 * sum7 / (MONOTONY_DAYS * spread))
                strain, monotony_reason = week_load_au * monotony, None
            else:
                monotony, strain, monotony_reason = None, None, no_variation
        else:
            monotony, strain, monotony_reason = None, None, insufficient

        append(
            (
                date.fromordinal(ordinal + i),  # day
                i + 1,  # history_days
                load,  # load_au
                week_load_au,
                sum7 / (n7 * scale),  # acute_au
                sum28 / (n28 * scale),  # chronic_au
                uncoupled_au,  # chronic_uncoupled_au
                acwr_coupled,
                coupled_reason,
                acwr_uncoupled,
                uncoupled_reason,
                ewma_acute,  # ewma_acute_au
                ewma_chronic,  # ewma_chronic_au
                acwr_ewma,
                ewma_reason,
                monotony,
                monotony_reason,
                strain,
                monotony_reason,  # strain is undefined exactly when monotony is
                ctl,
                atl,
                tsb,
                band(acwr_coupled),  # risk_band
                band(acwr_ewma),  # risk_band_ewma
            )
        )
    return rows


def _before_history(day: date) -> MetricsRow:
    """A day before the first training day: no load, no history, nothing defined."""
    insufficient = Reason.INSUFFICIENT_HISTORY
    return (
        day,
        0,
        0.0,
        0.0,
        None,
        None,
        None,
        None,
        insufficient,
        None,
        insufficient,
        None,
        None,
        None,
        insufficient,
        None,
        insufficient,
        None,
        insufficient,
        0.0,
        0.0,
        0.0,
        None,
        None,
    )


def metrics_for_range(
    *, first_day: date, loads_by_day: Mapping[date, float], start: date, end: date
) -> list[DayMetrics]:
    """Metrics for each day from ``start`` to ``end`` inclusive, one row per day.

    The series is computed from ``first_day`` (the athlete's first training day), so the
    EWMAs and CTL/ATL carry their whole history. Days of the range before ``first_day`` get a
    row with load 0, ``history_days`` 0, ``None`` means and EWMAs, every ``Derived`` undefined
    with ``insufficient_history``, and CTL/ATL/TSB 0 (their value before the start).
    ``loads_by_day`` must hold no day before ``first_day``; days after ``end`` are ignored.
    """
    rows = metrics_rows(first_day=first_day, loads_by_day=loads_by_day, start=start, end=end)
    return [day_metrics(row) for row in rows]


def metrics_rows(
    *, first_day: date, loads_by_day: Mapping[date, float], start: date, end: date
) -> list[MetricsRow]:
    """``metrics_for_range`` as flat ``MetricsRow`` tuples, the same numbers: for a long range
    (a year of days in an API response), where building ``DayMetrics`` would cost more than the
    arithmetic."""
    if end < start:
        raise ValueError("end is before start")
    if any(day < first_day for day in loads_by_day):
        raise ValueError("loads_by_day holds a day before first_day")
    start_ordinal, first_ordinal = start.toordinal(), first_day.toordinal()
    last_before = min(end.toordinal(), first_ordinal - 1)
    rows = [_before_history(date.fromordinal(o)) for o in range(start_ordinal, last_before + 1)]
    if end >= first_day:
        series = daily_loads(first_day=first_day, last_day=end, loads_by_day=loads_by_day)
        keep_from = max(0, start_ordinal - first_ordinal)
        rows.extend(_metrics_rows(first_day=first_day, loads_au=series, keep_from=keep_from))
    return rows


# ---------------------------------------------------------------------------------------------
# Stored running state (the per-day table ``recovery.models.AthleteDailyLoad``).
#
# ``compute_metrics`` walks a whole series. To read the metrics of one day without the series,
# the per-day table stores, for each day from the first training day on, the recursive state
# after that day (EWMAs, CTL, ATL, TSB) and exact cumulative sums of the loads and of their
# squares. The metrics of day d then need that day's state and the cumulative sums of days
# d - 7 and d - 28 (three rows); a day after the last stored one is the last state rolled on
# with rest days. Loads here are whole AU (sRPE = RPE x minutes is an integer), so the sums are
# exact integers and every number equals what ``compute_metrics`` gives for the same series:
# the same operations in the same order (tests/recovery/perf/test_load_state.py checks it).
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoadState:
    """The state of an athlete's daily series after ``day`` (its load included)."""

    day: date
    history_days: int
    """Days of history up to and including ``day`` (1 on the first training day)."""
    load_au: int
    cum_load_au: int
    """Sum of the daily loads from the first training day through ``day``."""
    cum_load_sq: int
    """Sum of the squared daily loads over the same days (for the sample SD of monotony)."""
    ewma_acute_au: float
    ewma_chronic_au: float
    ctl: float
    atl: float
    tsb: float
    """Form for ``day``: CTL - ATL of the day before."""


def advance_state(previous: LoadState | None, *, day: date, load_au: int) -> LoadState:
    """The state after ``day`` from the state after the day before (None: ``day`` is the first
    training day). Rest days are steps with load 0; ``roll_state`` takes several at once."""
    if isinstance(load_au, bool) or not 0 <= load_au <= MAX_DAILY_LOAD_AU:
        raise ValueError(f"daily load must be a whole number of AU from 0, got {load_au!r}")
    load = float(load_au)
    if previous is None:
        # Seeded as in ``_metrics_rows``: the EWMAs start at the first day's load, CTL/ATL at 0.
        ewma_acute = ewma_chronic = load
        ctl = atl = 0.0
        history, cum, cum_sq = 0, 0, 0
    else:
        if day.toordinal() != previous.day.toordinal() + 1:
            raise ValueError("advance_state takes consecutive days")
        ewma_acute, ewma_chronic = previous.ewma_acute_au, previous.ewma_chronic_au
        ctl, atl = previous.ctl, previous.atl
        history, cum, cum_sq = previous.history_days, previous.cum_load_au, previous.cum_load_sq
    ewma_acute += EWMA_ACUTE_LAMBDA * (load - ewma_acute)
    ewma_chronic += EWMA_CHRONIC_LAMBDA * (load - ewma_chronic)
    tsb = ctl - atl
    ctl += CTL_ALPHA * (load - ctl)
    atl += ATL_ALPHA * (load - atl)
    return LoadState(
        day,
        history + 1,
        load_au,
        cum + load_au,
        cum_sq + load_au * load_au,
        ewma_acute,
        ewma_chronic,
        ctl,
        atl,
        tsb,
    )


def roll_state(state: LoadState, day: date) -> LoadState:
    """The state on a later ``day`` with no training after ``state.day`` (rest days, load 0);
    ``state`` itself when ``day`` is its day."""
    gap = day.toordinal() - state.day.toordinal()
    if gap < 0:
        raise ValueError("roll_state cannot go back in time")
    if gap == 0:
        return state
    ewma_acute, ewma_chronic = state.ewma_acute_au, state.ewma_chronic_au
    ctl, atl, tsb = state.ctl, state.atl, state.tsb
    lam_a, lam_c, alpha_ctl, alpha_atl = (
        EWMA_ACUTE_LAMBDA,
        EWMA_CHRONIC_LAMBDA,
        CTL_ALPHA,
        ATL_ALPHA,
    )
    for _ in range(gap):
        ewma_acute += lam_a * (0.0 - ewma_acute)
        ewma_chronic += lam_c * (0.0 - ewma_chronic)
        tsb = ctl - atl
        ctl += alpha_ctl * (0.0 - ctl)
        atl += alpha_atl * (0.0 - atl)
    return LoadState(
        day,
        state.history_days + gap,
        0,
        state.cum_load_au,
        state.cum_load_sq,
        ewma_acute,
        ewma_chronic,
        ctl,
        atl,
        tsb,
    )


def metrics_from_state(
    state: LoadState, *, week_before: LoadState | None, month_before: LoadState | None
) -> DayMetrics:
    """Every metric of ``state.day``, equal to ``compute_metrics``'s row for that day.

    ``week_before`` is the state on or before ``state.day - 7`` (its cumulative sums are those of
    that day: no training in between), ``month_before`` the same for ``state.day - 28``; None
    when that day is before the first training day."""
    return day_metrics(
        metrics_row_from_state(state, week_before=week_before, month_before=month_before)
    )


def metrics_row_from_state(
    state: LoadState, *, week_before: LoadState | None, month_before: LoadState | None
) -> MetricsRow:
    """``metrics_from_state`` as a flat ``MetricsRow``: the same numbers as ``metrics_rows``
    gives for that day."""
    i = state.history_days - 1
    sum7 = state.cum_load_au - (week_before.cum_load_au if week_before else 0)
    sq7 = state.cum_load_sq - (week_before.cum_load_sq if week_before else 0)
    sum28 = state.cum_load_au - (month_before.cum_load_au if month_before else 0)
    # From here on, the expressions of ``_metrics_rows`` with scale = 1 (whole AU).
    n7 = ACUTE_DAYS if i >= ACUTE_DAYS - 1 else i + 1
    n28 = CHRONIC_DAYS if i >= CHRONIC_DAYS - 1 else i + 1
    week_load_au = float(sum7)
    sum_uncoupled = sum28 - sum7
    n_uncoupled = n28 - n7
    uncoupled_au = sum_uncoupled / n_uncoupled if n_uncoupled else None
    ewma_acute, ewma_chronic = state.ewma_acute_au, state.ewma_chronic_au
    acwr_coupled: float | None
    acwr_uncoupled: float | None
    acwr_ewma: float | None
    coupled_reason: Reason | None = None
    uncoupled_reason: Reason | None = None
    ewma_reason: Reason | None = None
    if i >= CHRONIC_DAYS - 1:
        if sum28:
            acwr_coupled = sum7 * CHRONIC_DAYS / (sum28 * ACUTE_DAYS)
        else:
            acwr_coupled, coupled_reason = None, Reason.CHRONIC_ZERO
        if sum_uncoupled:
            acwr_uncoupled = sum7 * UNCOUPLED_CHRONIC_DAYS / (sum_uncoupled * ACUTE_DAYS)
        else:
            acwr_uncoupled, uncoupled_reason = None, Reason.CHRONIC_ZERO
        if ewma_chronic:
            acwr_ewma = ewma_acute / ewma_chronic
        else:
            acwr_ewma, ewma_reason = None, Reason.CHRONIC_ZERO
    else:
        acwr_coupled = acwr_uncoupled = acwr_ewma = None
        coupled_reason = uncoupled_reason = ewma_reason = Reason.INSUFFICIENT_HISTORY
    monotony: float | None = None
    strain: float | None = None
    monotony_reason: Reason | None = None
    if i >= MONOTONY_DAYS - 1:
        spread = MONOTONY_DAYS * sq7 - sum7 * sum7
        if spread:
            monotony = math.sqrt((MONOTONY_DAYS - 1) * sum7 * sum7 / (MONOTONY_DAYS * spread))
            strain = week_load_au * monotony
        else:
            monotony_reason = Reason.NO_VARIATION
    else:
        monotony_reason = Reason.INSUFFICIENT_HISTORY
    return (
        state.day,
        state.history_days,
        float(state.load_au),
        week_load_au,
        sum7 / n7,
        sum28 / n28,
        uncoupled_au,
        acwr_coupled,
        coupled_reason,
        acwr_uncoupled,
        uncoupled_reason,
        ewma_acute,
        ewma_chronic,
        acwr_ewma,
        ewma_reason,
        monotony,
        monotony_reason,
        strain,
        monotony_reason,
        state.ctl,
        state.atl,
        state.tsb,
        _band(acwr_coupled),
        _band(acwr_ewma),
    )
