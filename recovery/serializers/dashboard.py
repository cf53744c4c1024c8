"""Response shapes of the team dashboard, the soreness heat map and the therapist queue.

The views return the plain dicts built by `recovery.selectors.dashboard` (no per-object serializer
work on these hot paths); these serializers document them in the schema, field by field.
"""

from __future__ import annotations

from rest_framework import serializers

from recovery.domain.metrics import Reason, RiskBand
from recovery.domain.wellness import TrendDirection
from recovery.models import InjuryStatus, Side, SorenessKind, Technique
from recovery.selectors.dashboard import (
    HEATMAP_MAX_DAYS,
    INJURY_POINTS,
    OPEN_FLAG_POINTS,
    TOP_SORE_GROUPS_PER_ATHLETE,
    TOP_SORE_GROUPS_PER_TEAM,
)
from recovery.selectors.state import MAX_AGE

# Enum value lists; their component names are pinned in SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].
METRIC_REASON_CHOICES = [reason.value for reason in Reason]
RISK_BAND_CHOICES = [band.value for band in RiskBand]
WELLNESS_DIRECTION_CHOICES = [direction.value for direction in TrendDirection]

COMPUTED_AT_HELP = (
    "When this athlete's figures were computed. Today's are kept and served again until one of "
    "the athlete's records changes, for at most "
    f"{MAX_AGE.total_seconds() / 60:g} minutes, so the top focus (scores move with the hours "
    "since a report or treatment) is as of this instant; another day's are computed on request."
)
REASON_HELP = (
    "Why `value` is null: `insufficient_history` (not enough days yet), `chronic_zero` (no "
    "chronic load), `no_variation` (constant loads or baseline), `no_data` (nothing to score). "
    "Null when `value` is given."
)


def _side() -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=Side.choices,
        allow_null=True,
        help_text="left, right or both; null for a midline group (no sides).",
    )


class DashboardPersonSerializer(serializers.Serializer):
    """A reference to an athlete or a team: id and display name."""

    id = serializers.UUIDField(help_text="The athlete's user id, or the team's id.")
    name = serializers.CharField(help_text="Display name (the athlete's full name, the team name).")


class DashboardValueSerializer(serializers.Serializer):
    """A metric that may be undefined: a number, or null with the reason."""

    value = serializers.FloatField(allow_null=True, help_text="The value (3 decimals), or null.")
    reason = serializers.ChoiceField(
        choices=METRIC_REASON_CHOICES, allow_null=True, help_text=REASON_HELP
    )


class DashboardBandedValueSerializer(DashboardValueSerializer):
    """An ACWR with its risk band."""

    risk_band = serializers.ChoiceField(
        choices=RISK_BAND_CHOICES,
        allow_null=True,
        help_text="ACWR band: under 0.8 low, 0.8-1.3 moderate, up to 1.5 caution, above high; "
        "null when the ACWR is. A monitoring aid, not an injury prediction (docs/metrics.md).",
    )


class DashboardLoadSerializer(serializers.Serializer):
    """Training load as of the day (DESIGN section 3: sRPE in AU, local calendar days)."""

    day_load_au = serializers.FloatField(help_text="Load of the as-of day (sum of sRPE), AU.")
    week_load_au = serializers.FloatField(help_text="Total load of the 7 days ending that day, AU.")
    history_days = serializers.IntegerField(
        help_text="Days since the first training day, that day included (0: no training yet)."
    )
    acwr = DashboardBandedValueSerializer(
        help_text="Rolling ACWR, coupled: 7-day mean / 28-day mean, with its band."
    )
    acwr_ewma = DashboardBandedValueSerializer(
        help_text="EWMA ACWR (Williams et al., 2017; spans 7 and 28 days), with its band."
    )
    monotony = DashboardValueSerializer(
        help_text="Mean / sample SD of the last 7 daily loads (Foster, 1998)."
    )


class DashboardWellnessSerializer(serializers.Serializer):
    """The last wellness total against the athlete's own 28-day baseline (a z-score)."""

    latest_total = serializers.IntegerField(
        allow_null=True,
        help_text="Total of the last complete wellness report of the last 28 days (5 items, "
        "each 1-5, 5 best: 5-25, higher is better); null when there is none.",
    )
    latest_on = serializers.DateField(
        allow_null=True, help_text="Local day of that report; null when there is none."
    )
    baseline_days = serializers.IntegerField(
        help_text="Days with a complete report in the 28 days before it (the baseline)."
    )
    baseline_mean = serializers.FloatField(
        allow_null=True, help_text="Mean of the baseline; null with fewer than 7 days of it."
    )
    z_score = DashboardValueSerializer(
        help_text="(latest - baseline mean) / baseline SD, or null with the reason."
    )
    direction = serializers.ChoiceField(
        choices=WELLNESS_DIRECTION_CHOICES,
        allow_null=True,
        help_text="better (z >= 1), worse (z <= -1) or stable; null when it cannot be told.",
    )


class DashboardSoreGroupSerializer(serializers.Serializer):
    """A muscle group and side reported sore in the 72 h before the as-of moment."""

    muscle_group = serializers.CharField(help_text="Muscle group code, e.g. `hamstrings`.")
    name = serializers.CharField(help_text="Display name of the group.")
    side = _side()
    max_severity = serializers.IntegerField(help_text="Highest severity reported, 1-10.")
    kind = serializers.ChoiceField(
        choices=SorenessKind.choices, help_text="Kind of the entry with that severity."
    )
    reported_at = serializers.DateTimeField(help_text="When that entry was reported.")


class DashboardInjurySerializer(serializers.Serializer):
    """An injury not resolved on the as-of day."""

    muscle_group = serializers.CharField(help_text="Muscle group code.")
    name = serializers.CharField(help_text="Display name of the group.")
    side = _side()
    status = serializers.ChoiceField(
        choices=InjuryStatus.choices,
        help_text="Current status: active or rehab; resolved when it was resolved after the "
        "as-of day (see resolved_date).",
    )
    onset_date = serializers.DateField(help_text="Day the injury began.")
    resolved_date = serializers.DateField(
        allow_null=True, help_text="Day it was resolved, if it is now; null otherwise."
    )


class DashboardTopFocusSerializer(serializers.Serializer):
    """The first item of the athlete's recommendation (where the next session should focus)."""

    muscle_group = serializers.CharField(help_text="Muscle group code.")
    name = serializers.CharField(help_text="Display name of the group.")
    side = _side()
    score = serializers.FloatField(help_text="Recommendation score (docs/recommendation.md).")
    reason = serializers.CharField(
        allow_null=True, help_text="The first plain-language reason for it."
    )
    technique = serializers.ChoiceField(choices=Technique.choices, help_text="Suggested technique.")


class DashboardAthleteSerializer(serializers.Serializer):
    """One active athlete of the team, as of the end of the day."""

    athlete = DashboardPersonSerializer(help_text="The athlete.")
    load = DashboardLoadSerializer(help_text="Training load and ACWR.")
    wellness = DashboardWellnessSerializer(help_text="Wellness trend.")
    sore_groups = DashboardSoreGroupSerializer(
        many=True,
        help_text=f"Top {TOP_SORE_GROUPS_PER_ATHLETE} sore groups of the last 72 h, worst first.",
    )
    open_flags = serializers.IntegerField(
        help_text="Flagged soreness entries (pain 7+ or marked as injury) not resolved by then."
    )
    injuries = DashboardInjurySerializer(
        many=True, help_text="Injuries not resolved on the day, latest onset first."
    )
    last_massage_on = serializers.DateField(
        allow_null=True, help_text="Local day of the last completed massage session; null if none."
    )
    top_focus = DashboardTopFocusSerializer(
        allow_null=True,
        help_text="Recommended top focus for the next session (as of the end of the day, or as "
        "of `computed_at` for today); null when nothing can be recommended.",
    )
    computed_at = serializers.DateTimeField(help_text=COMPUTED_AT_HELP)


class DashboardRiskBandsSerializer(serializers.Serializer):
    """How many athletes are in each band of the coupled rolling ACWR."""

    low = serializers.IntegerField(help_text="ACWR under 0.8.")
    moderate = serializers.IntegerField(help_text="ACWR 0.8 to 1.3.")
    caution = serializers.IntegerField(help_text="ACWR over 1.3 up to 1.5.")
    high = serializers.IntegerField(help_text="ACWR over 1.5.")
    unknown = serializers.IntegerField(
        help_text="No ACWR yet (under 28 days of history) or no chronic load."
    )


class DashboardTeamSoreGroupSerializer(serializers.Serializer):
    """A muscle group (both sides together) reported sore across the team in the last 72 h."""

    muscle_group = serializers.CharField(help_text="Muscle group code.")
    name = serializers.CharField(help_text="Display name of the group.")
    entries = serializers.IntegerField(help_text="Sore entries (severity 1-10) on it.")
    athletes = serializers.IntegerField(help_text="Athletes who reported it.")
    mean_severity = serializers.FloatField(help_text="Mean severity of those entries.")


class DashboardUnreportedAthleteSerializer(serializers.Serializer):
    """An athlete with no soreness report in the last 3 days (72 h)."""

    athlete = DashboardPersonSerializer(help_text="The athlete.")
    last_report_at = serializers.DateTimeField(
        allow_null=True, help_text="Their last report before the as-of moment; null if none ever."
    )


class DashboardTeamSummarySerializer(serializers.Serializer):
    """The team at a glance."""

    athletes = serializers.IntegerField(help_text="Active athletes of the team.")
    risk_bands = DashboardRiskBandsSerializer(help_text="Athletes per ACWR risk band.")
    most_sore_groups = DashboardTeamSoreGroupSerializer(
        many=True,
        help_text=f"Top {TOP_SORE_GROUPS_PER_TEAM} sore groups of the last 72 h: most entries "
        "first, then highest mean severity.",
    )
    without_soreness_report = DashboardUnreportedAthleteSerializer(
        many=True, help_text="Athletes with no soreness report in the last 3 days, by name."
    )


class TeamDashboardSerializer(serializers.Serializer):
    """The team dashboard as of the end of a local day (team time zone)."""

    team = DashboardPersonSerializer(help_text="The team.")
    date = serializers.DateField(help_text="The as-of day (local to the team).")
    as_of = serializers.DateTimeField(
        help_text="End of that day (next local midnight): later records are ignored."
    )
    time_zone = serializers.CharField(help_text="The team's IANA time zone.")
    summary = DashboardTeamSummarySerializer(help_text="Team summary.")
    athletes = DashboardAthleteSerializer(
        many=True, help_text="Every active athlete of the team, by name."
    )


class SorenessHeatmapCellSerializer(serializers.Serializer):
    """One muscle group and side of the body map over the window."""

    muscle_group = serializers.CharField(help_text="Muscle group code.")
    name = serializers.CharField(help_text="Display name of the group.")
    region = serializers.CharField(help_text="Body region (e.g. `thigh`, `trunk`).")
    view = serializers.CharField(help_text="Where the body map draws it: front, back or both.")
    side = _side()
    entries = serializers.IntegerField(help_text="Soreness entries (severity 0 included).")
    athletes = serializers.IntegerField(help_text="Athletes who reported it.")
    mean_severity = serializers.FloatField(help_text="Mean severity of the entries, 0-10.")
    max_severity = serializers.IntegerField(help_text="Highest severity reported, 0-10.")


class SorenessHeatmapSerializer(serializers.Serializer):
    """Soreness reported by the team's active athletes over a window of local days."""

    team = DashboardPersonSerializer(help_text="The team.")
    date_from = serializers.DateField(help_text="First day of the window (local).")
    date_to = serializers.DateField(help_text="Last day of the window (local), included.")
    days = serializers.IntegerField(
        min_value=1, max_value=HEATMAP_MAX_DAYS, help_text="Length of the window in days."
    )
    cells = SorenessHeatmapCellSerializer(
        many=True, help_text="Groups and sides with at least one entry, in body-map order."
    )


class TherapistQueuePlannedSessionSerializer(serializers.Serializer):
    """The athlete's next planned massage session (any therapist)."""

    id = serializers.UUIDField(help_text="Massage session id.")
    scheduled_at = serializers.DateTimeField(help_text="When it is scheduled.")


class TherapistQueueUrgencySerializer(serializers.Serializer):
    """The parts of the urgency, which sum to it."""

    focus = serializers.FloatField(help_text="Score of the recommendation's top focus.")
    open_flags = serializers.FloatField(help_text=f"{OPEN_FLAG_POINTS:g} per open flag.")
    injuries = serializers.FloatField(
        help_text=", ".join(
            f"{points:g} per {status} injury" for status, points in INJURY_POINTS.items()
        )
        + "."
    )


class TherapistQueueItemSerializer(serializers.Serializer):
    """An athlete in the therapist's queue."""

    athlete = DashboardPersonSerializer(help_text="The athlete.")
    team = DashboardPersonSerializer(
        help_text="The athlete's team (the first by name if in several of the therapist's)."
    )
    urgency = serializers.FloatField(
        help_text="Top focus score + points for open flags and injuries; higher first."
    )
    urgency_components = TherapistQueueUrgencySerializer(help_text="The parts of the urgency.")
    top_focus = DashboardTopFocusSerializer(
        allow_null=True, help_text="Recommended top focus now; null when there is none."
    )
    open_flags = serializers.IntegerField(help_text="Open (unresolved) soreness flags.")
    active_injuries = serializers.IntegerField(help_text="Injuries not resolved (active or rehab).")
    planned_session = TherapistQueuePlannedSessionSerializer(
        allow_null=True, help_text="The next planned session from now on; null if none."
    )
    computed_at = serializers.DateTimeField(
        help_text="When the athlete's top focus, flags and injuries were computed: they are "
        "kept and served again until one of the athlete's records changes, for at most "
        f"{MAX_AGE.total_seconds() / 60:g} minutes."
    )
