"""Load metrics of one athlete over a date range (DESIGN.md section 3; docs/metrics.md).

The rows are plain dicts built by `metrics_day_row` (one small dict per day, no serializer instance
per data point: a year of days must stay cheap). The serializers below only DOCUMENT that shape in
the OpenAPI schema, each field with its formula and source.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import date
from typing import Any
from uuid import UUID

from rest_framework import serializers

from recovery.domain.metrics import CONVENTIONS, DayMetrics, Derived, Reason, RiskBand

DECIMALS = 3
"""Every float in the response is rounded to 3 decimals (the domain keeps full precision)."""

RISK_BAND_CHOICES = [band.value for band in RiskBand]
REASON_CHOICES = [reason.value for reason in Reason]


def _number(value: float | None) -> float | None:
    """Rounded for display; a non-finite value (never produced by the domain) becomes null."""
    if value is None or not math.isfinite(value):
        return None
    return round(value, DECIMALS)


def _derived(derived: Derived) -> dict[str, Any]:
    value = derived.value
    if value is None:
        return {"value": None, "reason": _REASON[derived.reason]}
    return {"value": _number(value), "reason": None}


_REASON: dict[Reason | None, str | None] = {None: None, **{r: r.value for r in Reason}}
_BAND: dict[RiskBand | None, str | None] = {None: None, **{b: b.value for b in RiskBand}}
_CONVENTIONS = asdict(CONVENTIONS)


def metrics_day_row(day: DayMetrics) -> dict[str, Any]:
    """One day's metrics as the API returns them: floats rounded, no NaN or Infinity. Built for
    a year of rows per request: plain dicts, one `_number` per float (docs/performance.md)."""
    number = _number
    return {
        "date": day.day.isoformat(),
        "history_days": day.history_days,
        "load_au": number(day.load_au),
        "week_load_au": number(day.week_load_au),
        "acute_au": number(day.acute_au),
        "chronic_au": number(day.chronic_au),
        "chronic_uncoupled_au": number(day.chronic_uncoupled_au),
        "acwr_coupled": _derived(day.acwr_coupled),
        "acwr_uncoupled": _derived(day.acwr_uncoupled),
        "ewma_acute_au": number(day.ewma_acute_au),
        "ewma_chronic_au": number(day.ewma_chronic_au),
        "acwr_ewma": _derived(day.acwr_ewma),
        "monotony": _derived(day.monotony),
        "strain": _derived(day.strain),
        "ctl": number(day.ctl),
        "atl": number(day.atl),
        "tsb": number(day.tsb),
        "risk_band": _BAND[day.risk_band],
        "risk_band_ewma": _BAND[day.risk_band_ewma],
    }


def athlete_metrics_payload(
    *, athlete_id: UUID, time_zone: str, start: date, end: date, days: list[DayMetrics]
) -> dict[str, Any]:
    rows = [metrics_day_row(day) for day in days]
    return {
        "athlete": str(athlete_id),
        "time_zone": time_zone,
        "date_from": start.isoformat(),
        "date_to": end.isoformat(),
        "conventions": dict(_CONVENTIONS),
        "days": rows,
        "latest": rows[-1] if rows else None,
    }


# --- Schema documentation -----------------------------------------------------------------------

UNDEFINED = (
    " Undefined (value null, with a reason) while the athlete has less than 28 days of history "
    "(`insufficient_history`: the first 27 days), and when the chronic value is 0 "
    "(`chronic_zero`)."
)


class DerivedMetricSerializer(serializers.Serializer):
    """A value that may be undefined: exactly one of `value` and `reason` is null."""

    value = serializers.FloatField(
        allow_null=True, help_text="The value, rounded to 3 decimals; null when undefined."
    )
    reason = serializers.ChoiceField(
        choices=REASON_CHOICES,
        allow_null=True,
        help_text="Why the value is undefined; null when it is defined. "
        "`insufficient_history`: the window is not full yet; `chronic_zero`: the chronic load is "
        "0 (a ratio over 0); `no_variation`: every load of the week is equal (SD 0).",
    )


class MetricsConventionsSerializer(serializers.Serializer):
    """The pinned conventions the numbers were computed with (DESIGN.md section 3)."""

    load = serializers.CharField(
        help_text="`srpe_au`: daily load = sum of the day's session RPE (CR-10) x minutes, in "
        "arbitrary units (Foster et al., 2001)."
    )
    acute_days = serializers.IntegerField(help_text="Rolling acute window, days (7).")
    chronic_days = serializers.IntegerField(
        help_text="Rolling chronic window (coupled), days (28)."
    )
    uncoupled_chronic_days = serializers.IntegerField(
        help_text="Uncoupled chronic window: the days before the acute window (21: 8-28 back)."
    )
    ewma_acute_span = serializers.IntegerField(help_text="EWMA acute span N (7): l = 2/(N+1).")
    ewma_chronic_span = serializers.IntegerField(help_text="EWMA chronic span N (28): l = 2/29.")
    ewma_seed = serializers.CharField(
        help_text="`first_day_load`: both EWMAs start at the first training day's load."
    )
    ctl_days = serializers.IntegerField(help_text="Fitness (CTL) time constant, days (42).")
    atl_days = serializers.IntegerField(help_text="Fatigue (ATL) time constant, days (7).")
    ctl_atl_seed = serializers.FloatField(
        help_text="CTL and ATL on the day before the first training day (0)."
    )
    tsb_from = serializers.CharField(
        help_text="`previous_day`: form for day t is CTL(t-1) - ATL(t-1)."
    )
    monotony_days = serializers.IntegerField(help_text="Monotony and strain window, days (7).")
    monotony_sd = serializers.CharField(
        help_text="`sample`: monotony uses the sample standard deviation (n - 1)."
    )
    acwr_low_below = serializers.FloatField(help_text="ACWR under this is `low` (0.8).")
    acwr_moderate_max = serializers.FloatField(
        help_text="ACWR from 0.8 up to and including this is `moderate` (1.3)."
    )
    acwr_caution_max = serializers.FloatField(
        help_text="ACWR over 1.3 up to and including this is `caution` (1.5); over it, `high`."
    )


class MetricsDaySerializer(serializers.Serializer):
    """Every load metric of one local calendar day. Floats are rounded to 3 decimals."""

    date = serializers.DateField(help_text="The athlete's local calendar day (team time zone).")
    history_days = serializers.IntegerField(
        help_text="Days of history up to and including this day: 1 on the first training day, "
        "0 for a day before it."
    )
    load_au = serializers.FloatField(
        help_text="Daily load: sum of the day's sessions' sRPE = RPE (CR-10) x minutes, AU "
        "(Foster et al., 2001). 0 on a rest day."
    )
    week_load_au = serializers.FloatField(
        help_text="Total load of the last 7 days including this one, AU."
    )
    acute_au = serializers.FloatField(
        allow_null=True,
        help_text="Acute load: mean daily load of the last 7 days including this one (of the days "
        "of history among them), AU. Null before the first training day.",
    )
    chronic_au = serializers.FloatField(
        allow_null=True,
        help_text="Chronic load (coupled): mean daily load of the last 28 days including this one "
        "(of the days of history among them), AU. Null before the first training day.",
    )
    chronic_uncoupled_au = serializers.FloatField(
        allow_null=True,
        help_text="Chronic load (uncoupled): mean daily load 8 to 28 days back (the 21 days "
        "before the acute window), AU. Null while that window holds no history.",
    )
    acwr_coupled = DerivedMetricSerializer(
        help_text="Rolling ACWR, coupled: acute_au / chronic_au (Hulin et al., 2014; Gabbett, "
        "2016)." + UNDEFINED
    )
    acwr_uncoupled = DerivedMetricSerializer(
        help_text="Rolling ACWR, uncoupled: acute_au / chronic_uncoupled_au (Lolli et al., "
        "2019)." + UNDEFINED
    )
    ewma_acute_au = serializers.FloatField(
        allow_null=True,
        help_text="Acute EWMA (Williams et al., 2017): e_t = l x load_t + (1 - l) x e_(t-1) with "
        "l = 2/(7+1) = 0.25, seeded with the first day's load. AU. Null before the first "
        "training day.",
    )
    ewma_chronic_au = serializers.FloatField(
        allow_null=True,
        help_text="Chronic EWMA: the same with l = 2/(28+1), seeded with the first day's load. "
        "AU. Null before the first training day.",
    )
    acwr_ewma = DerivedMetricSerializer(
        help_text="EWMA ACWR: ewma_acute_au / ewma_chronic_au (Williams et al., 2017)." + UNDEFINED
    )
    monotony = DerivedMetricSerializer(
        help_text="Training monotony (Foster, 1998): mean / sample SD (n - 1) of the last 7 "
        "daily loads. Undefined with `insufficient_history` before day 7 and `no_variation` "
        "when the SD is 0."
    )
    strain = DerivedMetricSerializer(
        help_text="Training strain (Foster, 1998): week_load_au x monotony. Undefined when "
        "monotony is."
    )
    ctl = serializers.FloatField(
        help_text="Fitness, chronic training load: CTL_t = CTL_(t-1) + a x (load_t - CTL_(t-1)), "
        "a = 1 - exp(-1/42); 0 the day before the first training day (GoldenCheetah, "
        "intervals.icu). AU/day."
    )
    atl = serializers.FloatField(
        help_text="Fatigue, acute training load: the same with a = 1 - exp(-1/7). AU/day."
    )
    tsb = serializers.FloatField(
        help_text="Form, training stress balance, for this day: CTL_(t-1) - ATL_(t-1) "
        "(yesterday's balance, as TrainingPeaks and GoldenCheetah show it). AU/day."
    )
    risk_band = serializers.ChoiceField(
        choices=RISK_BAND_CHOICES,
        allow_null=True,
        help_text="Band of the coupled rolling ACWR: under 0.8 `low`, 0.8-1.3 `moderate` (the "
        "'sweet spot'), over 1.3 to 1.5 `caution`, over 1.5 `high` (Gabbett, 2016). Null while "
        "the ACWR is undefined. A monitoring aid: its value as an injury predictor is disputed "
        "(Impellizzeri et al., 2020).",
    )
    risk_band_ewma = serializers.ChoiceField(
        choices=RISK_BAND_CHOICES,
        allow_null=True,
        help_text="The same band for the EWMA ACWR.",
    )


class AthleteMetricsSerializer(serializers.Serializer):
    """An athlete's daily load metrics over a date range, with the conventions behind them."""

    athlete = serializers.UUIDField(help_text="The athlete's user id.")
    time_zone = serializers.CharField(
        help_text="IANA time zone of the athlete's team: the days are local days there."
    )
    date_from = serializers.DateField(help_text="First day of the range (inclusive).")
    date_to = serializers.DateField(help_text="Last day of the range (inclusive).")
    conventions = MetricsConventionsSerializer()
    days = MetricsDaySerializer(many=True, help_text="One row per day, oldest first; no gaps.")
    latest = MetricsDaySerializer(help_text="The row of the last day of the range (`date_to`).")
