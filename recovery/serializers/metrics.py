"""Load metrics of one athlete over a date range (DESIGN.md section 3; docs/metrics.md).

A day's row is a plain dict built by `metrics_day_rows` from the domain's flat `MetricsRow`
tuple and written as JSON text by `day_json`, once, when the per-day table is written (no
serializer instance, no dataclass per data point); the endpoint splices the stored texts into its
answer (docs/performance.md). The serializers below only DOCUMENT that shape in the OpenAPI
schema, each field with its formula and source.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import date
from typing import Any
from uuid import UUID

import orjson
from rest_framework import serializers

from backend.api.renderers import JSONText, default
from recovery.domain.metrics import CONVENTIONS, MetricsRow, Reason, RiskBand

DECIMALS = 3
"""Every float in the response is rounded to 3 decimals (the domain keeps full precision)."""

RISK_BAND_CHOICES = [band.value for band in RiskBand]
REASON_CHOICES = [reason.value for reason in Reason]

_MAGIC = 6755399441055744.0
"""1.5 x 2**52: for |y| < 2**51, (y + _MAGIC) - _MAGIC is y rounded to an integer (half to even)."""


def round3(value: float) -> float | None:
    """`round(value, 3)`, the same float, in about half the time; None for NaN or Infinity
    (never produced by the domain). A year of metrics rounds about 5,000 floats per request.

    `round` goes through a decimal string. Here: y = value x 1000 (within 1e-5 of the exact
    product for |value| < 1e8) is rounded to the integer r; when y is not within 0.001 of a
    half, r is the integer the exact product rounds to, and r / 1000 (a correctly rounded
    division) is the float nearest the rounded decimal: `round`'s result. Otherwise, and for
    larger values, `round` itself. Zero keeps the sign `round` gives it (-0.0 for a negative)."""
    if -1e8 < value < 1e8:
        y = value * 1000.0
        r = (y + _MAGIC) - _MAGIC
        if -0.499 < y - r < 0.499:
            return r / 1000.0 if r else value * 0.0
    return round(value, DECIMALS) if math.isfinite(value) else None


def _undefined(reason: Reason) -> dict[str, Any]:
    return {"value": None, "reason": reason.value}


_UNDEFINED = {reason: _undefined(reason) for reason in Reason}
_BAND: dict[RiskBand | None, str | None] = {None: None, **{b: b.value for b in RiskBand}}
_CONVENTIONS = asdict(CONVENTIONS)


def metrics_day_rows(rows: Iterable[MetricsRow]) -> list[dict[str, Any]]:
    """Each day's metrics as the API returns them: floats rounded to 3 decimals, no NaN or
    Infinity, an undefined value as {"value": null, "reason": ...}. One loop over flat tuples
    building dict displays."""
    r = round3
    undefined = _UNDEFINED
    band = _BAND
    out: list[dict[str, Any]] = []
    append = out.append
    for (day, history, load, week, acute, chronic, uncoupled, acwr_c, acwr_c_reason, acwr_u,
         acwr_u_reason, ewma_a, ewma_c, acwr_e, acwr_e_reason, monotony, monotony_reason, strain,
         strain_reason, ctl, atl, tsb, risk, risk_ewma) in rows:  # fmt: skip
        append(
            {
                "date": day,  # a date: the renderer writes YYYY-MM-DD
                "history_days": history,
                "load_au": r(load),
                "week_load_au": r(week),
                "acute_au": None if acute is None else r(acute),
                "chronic_au": None if chronic is None else r(chronic),
                "chronic_uncoupled_au": None if uncoupled is None else r(uncoupled),
                "acwr_coupled": undefined[acwr_c_reason]
                if acwr_c_reason is not None
                else {"value": None if acwr_c is None else r(acwr_c), "reason": None},
                "acwr_uncoupled": undefined[acwr_u_reason]
                if acwr_u_reason is not None
                else {"value": None if acwr_u is None else r(acwr_u), "reason": None},
                "ewma_acute_au": None if ewma_a is None else r(ewma_a),
                "ewma_chronic_au": None if ewma_c is None else r(ewma_c),
                "acwr_ewma": undefined[acwr_e_reason]
                if acwr_e_reason is not None
                else {"value": None if acwr_e is None else r(acwr_e), "reason": None},
                "monotony": undefined[monotony_reason]
                if monotony_reason is not None
                else {"value": None if monotony is None else r(monotony), "reason": None},
                "strain": undefined[strain_reason]
                if strain_reason is not None
                else {"value": None if strain is None else r(strain), "reason": None},
                "ctl": r(ctl),
                "atl": r(atl),
                "tsb": r(tsb),
                "risk_band": band[risk],
                "risk_band_ewma": band[risk_ewma],
            }
        )
    return out


def day_json(row: MetricsRow) -> str:
    """One day's metrics as the API writes it (`metrics_day_rows`, then the JSON text): what the
    per-day table stores for each day (`AthleteDailyLoad.metrics_json`), so a year of days is
    read as text instead of being computed and encoded on every request."""
    return orjson.dumps(metrics_day_rows((row,))[0], default=default).decode()


def athlete_metrics_payload(
    *, athlete_id: UUID, time_zone: str, start: date, end: date, days: Sequence[str]
) -> dict[str, Any]:
    """The response: `days` are the days' JSON texts (`day_json`), spliced in unparsed."""
    return {
        "athlete": str(athlete_id),
        "time_zone": time_zone,
        "date_from": start.isoformat(),
        "date_to": end.isoformat(),
        "conventions": dict(_CONVENTIONS),
        "days": JSONText(f"[{','.join(days)}]"),
        "latest": JSONText(days[-1]) if days else None,
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
