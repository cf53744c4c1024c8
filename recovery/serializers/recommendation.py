"""Where the next session should focus (DESIGN.md section 4; docs/recommendation.md).

The response bodies are plain dicts (`recommendation_as_dict`, `MassageComparison.as_dict`); the
serializers below DOCUMENT them in the OpenAPI schema. `RecommendationPlanSerializer` validates the
body of "plan a session from the recommendation".
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from backend.api.serializers import StrictSerializerMixin
from recovery.domain.recommendation import AvoidReason, SessionMode, WarningCode
from recovery.models import MassageType, Pressure, Side, Technique
from recovery.selectors.state import MAX_AGE

SESSION_MODE_CHOICES = [mode.value for mode in SessionMode]
WARNING_CODE_CHOICES = [code.value for code in WarningCode]
AVOID_REASON_CHOICES = [reason.value for reason in AvoidReason]

SIDE_HELP = (
    "`left` or `right`; `both` when both sides came out the same; null for a midline group "
    "(`has_sides` false)."
)


class RecommendationWarningSerializer(serializers.Serializer):
    """A warning, for the whole recommendation or for one focus item."""

    code = serializers.ChoiceField(
        choices=WARNING_CODE_CHOICES,
        help_text="Stable code to branch on. Recommendation level: `pre_event_only` (match within "
        "2 h), `match_within_24h`, `post_match_window` (24-72 h after a match), `recent_match` "
        "(0-24 h after), `acwr_high`, `acwr_caution`, `load_spike` (acute/chronic over 1.5), "
        "`injury_active`, `injury_rehab`, `injury_reported`, `pain_flag` (groups excluded), "
        "`maintenance_only` (no current soreness in focus). Item level: `recently_treated` "
        "(within 48 h), `earlier_flag` (a pain flag or injury mark 3-7 days ago).",
    )
    message = serializers.CharField(help_text="Plain-language explanation, for display.")


class ScoreComponentsSerializer(serializers.Serializer):
    """The parts of a focus item's score, each rounded to 3 decimals:
    score = post_match_boost + max(0, soreness + maintenance + follow_up - recent_treatment_penalty).
    """

    soreness = serializers.FloatField(
        help_text="Latest severity (0-10) x its weight along the DOMS time course: 1 up to 48 h, "
        "falling linearly to 0 at 7 days."
    )
    demand = serializers.FloatField(
        help_text="How much the athlete's sport loads the group, 0-1 (sport demand catalogue)."
    )
    exposure = serializers.FloatField(
        help_text="Acute / chronic load (rolling means), clamped to 0.5-1.5; 1 without load data."
    )
    treatment_gap = serializers.FloatField(
        help_text="0.25 just after a treatment rising linearly to 1 at 14 days; 1 when never "
        "treated."
    )
    maintenance = serializers.FloatField(help_text="demand x exposure x treatment_gap (max 1.5).")
    follow_up = serializers.FloatField(
        help_text="From the last treatment within 28 days: +0.5 if trigger points were found, "
        "+1.5 if pain did not improve meaningfully (under 2 points and under 30 %)."
    )
    post_match_boost = serializers.FloatField(
        help_text="20 when soreness is rising 24-72 h after a match (ranks it first), else 0."
    )
    recent_treatment_penalty = serializers.FloatField(
        help_text="Treated within 48 h: 2 falling linearly to 0 at 48 h."
    )


class RecommendationFocusItemSerializer(serializers.Serializer):
    """One muscle group (and side) to work on, ranked, with why and how."""

    rank = serializers.IntegerField(help_text="1 = highest priority.")
    muscle_group = serializers.CharField(help_text="Muscle group code, e.g. `hamstrings`.")
    name = serializers.CharField(help_text="Display name of the muscle group.")
    side = serializers.ChoiceField(choices=Side.choices, allow_null=True, help_text=SIDE_HELP)
    score = serializers.FloatField(help_text="Priority score (unrounded sum, shown to 3 decimals).")
    components = ScoreComponentsSerializer(help_text="The parts of the score.")
    reasons = serializers.ListField(
        child=serializers.CharField(),
        help_text='Plain-language reasons, e.g. "soreness 6/10 yesterday", "high demand in '
        'football (0.67)", "9 days since last treated".',
    )
    technique = serializers.ChoiceField(
        choices=Technique.choices,
        help_text="Suggested technique: trigger-point therapy for localised tender points, muscle "
        "energy technique for restricted range of motion, myofascial release for broad tension, "
        "flush/effleurage for general recovery; light flush only before a match.",
    )
    pressure = serializers.ChoiceField(
        choices=Pressure.choices,
        help_text="Suggested pressure: lighter the more severe the soreness; capped at moderate "
        "after a recent treatment, around a match and in the high ACWR band.",
    )
    minutes = serializers.IntegerField(help_text="Suggested minutes on this group.")
    warnings = RecommendationWarningSerializer(
        many=True, help_text="Item-level warnings (`recently_treated`, `earlier_flag`)."
    )
    summary = serializers.CharField(help_text="\"<Name> (<side>): <reasons joined by ', '>\".")


class RecommendationAvoidItemSerializer(serializers.Serializer):
    """A group NOT to massage: refer / assess first."""

    muscle_group = serializers.CharField(help_text="Muscle group code.")
    name = serializers.CharField(help_text="Display name of the muscle group.")
    side = serializers.ChoiceField(choices=Side.choices, allow_null=True, help_text=SIDE_HELP)
    reason_code = serializers.ChoiceField(
        choices=AVOID_REASON_CHOICES,
        help_text="`injury_active` / `injury_rehab`: an injury with that status; "
        "`injury_reported`: a soreness entry marked as injury in the last 72 h; `pain_flag`: a "
        "pain entry of 7/10 or more in the last 72 h.",
    )
    reason = serializers.CharField(help_text="Plain-language reason, for display.")


class RecommendationSerializer(serializers.Serializer):
    """Where the next massage / neuromuscular therapy session should focus, and why. Computed on
    request from the athlete's soreness, treatment history, injuries, training load and sport; the
    same inputs always give the same output. It prioritises and explains; the therapist's
    assessment decides."""

    generated_at = serializers.DateTimeField(
        help_text="The instant the recommendation is for (`at`; without `at` and `match_at`, "
        "when it was computed: it is kept until the athlete's records change, for at most "
        f"{MAX_AGE.total_seconds() / 60:g} minutes); every age is measured from it."
    )
    session_mode = serializers.ChoiceField(
        choices=SESSION_MODE_CHOICES,
        help_text="`standard`; `pre_match_light` (match within 24 h: short, light flush only); "
        "`pre_event` (match within 2 h: brisk, light, about 10 min, then warm-up); `post_match` "
        "(24-72 h after a match: rising soreness ranks first).",
    )
    duration_min = serializers.IntegerField(help_text="Sum of the focus items' minutes.")
    warnings = RecommendationWarningSerializer(
        many=True, help_text="Recommendation-level warnings."
    )
    focus = RecommendationFocusItemSerializer(
        many=True, help_text="Ranked focus items, at most `limit` (8; 5 before a match)."
    )
    avoid = RecommendationAvoidItemSerializer(
        many=True, help_text="Groups excluded from massage, by code then side."
    )


class RecommendationPlanSerializer(StrictSerializerMixin, serializers.Serializer):
    """Plan a massage session from the recommendation computed now (or at `at`)."""

    scheduled_at = serializers.DateTimeField(help_text="When the session is planned for.")
    duration_min = serializers.IntegerField(
        min_value=5,
        max_value=240,
        required=False,
        help_text="Minutes; default the recommendation's duration (at least 5), or 45 when it "
        "has no focus.",
    )
    session_type = serializers.ChoiceField(
        choices=MassageType.choices,
        required=False,
        help_text="Default `pre_event` when the recommendation's mode is `pre_event`, else "
        "`recovery`.",
    )
    at = serializers.DateTimeField(
        required=False, help_text="The instant to compute the recommendation for; default now."
    )
    match_at = serializers.DateTimeField(
        required=False, help_text="Start of an upcoming match, if any (changes the session mode)."
    )


# --- Plan vs outcome ---------------------------------------------------------------------------


class ComparisonRecommendedItemSerializer(serializers.Serializer):
    rank = serializers.IntegerField(help_text="Rank in the recommendation.")
    muscle_group = serializers.CharField()
    name = serializers.CharField()
    side = serializers.ChoiceField(choices=Side.choices, allow_null=True, help_text=SIDE_HELP)
    technique = serializers.ChoiceField(
        choices=Technique.choices, allow_null=True, help_text="The technique recommended."
    )
    pressure = serializers.ChoiceField(
        choices=Pressure.choices, allow_null=True, help_text="The pressure recommended."
    )
    treated = serializers.BooleanField(
        help_text="A treated area covers this group on at least one of the recommended sides "
        "(`both` and midline cover left and right)."
    )
    treated_techniques = serializers.ListField(
        child=serializers.ChoiceField(choices=Technique.choices),
        help_text="Techniques used on the matching treated areas.",
    )


class ComparisonTreatedAreaSerializer(serializers.Serializer):
    muscle_group = serializers.CharField()
    name = serializers.CharField()
    side = serializers.ChoiceField(choices=Side.choices, allow_null=True)
    technique = serializers.ChoiceField(choices=Technique.choices)
    pressure = serializers.ChoiceField(choices=Pressure.choices)
    minutes = serializers.IntegerField(allow_null=True)


class ComparisonAvoidedTreatedSerializer(serializers.Serializer):
    """A group the recommendation said not to massage that was treated anyway: a warning."""

    muscle_group = serializers.CharField()
    name = serializers.CharField()
    side = serializers.ChoiceField(
        choices=Side.choices, allow_null=True, help_text="The side the recommendation excluded."
    )
    treated_side = serializers.ChoiceField(
        choices=Side.choices, allow_null=True, help_text="The side recorded as treated."
    )
    reason_code = serializers.ChoiceField(choices=AVOID_REASON_CHOICES)
    reason = serializers.CharField()
    message = serializers.CharField(help_text="The warning, for display.")


class ComparisonPainSerializer(serializers.Serializer):
    before = serializers.IntegerField(allow_null=True, help_text="Pain before, 0-10.")
    after = serializers.IntegerField(allow_null=True, help_text="Pain after, 0-10.")
    change = serializers.IntegerField(
        allow_null=True, help_text="after - before (negative = better); null if either is."
    )


class ComparisonSorenessPointSerializer(serializers.Serializer):
    severity = serializers.IntegerField(help_text="0-10.")
    reported_at = serializers.DateTimeField()


class ComparisonSorenessSerializer(serializers.Serializer):
    """Soreness on a treated group and side around the session."""

    muscle_group = serializers.CharField()
    name = serializers.CharField()
    side = serializers.ChoiceField(choices=Side.choices, allow_null=True)
    before = ComparisonSorenessPointSerializer(
        allow_null=True,
        help_text="The last report in the 7 days before the session with an entry on this group "
        "and side (max severity of those entries); null if none.",
    )
    after = ComparisonSorenessPointSerializer(
        allow_null=True,
        help_text="The highest severity reported on this group and side in the 72 h after the "
        "session (the earliest such report); null if none.",
    )
    change = serializers.IntegerField(
        allow_null=True, help_text="after - before severity; null unless both exist."
    )


class MassageSessionComparisonSerializer(serializers.Serializer):
    """A completed session against the recommendation it was planned from (plan vs outcome)."""

    session = serializers.UUIDField(help_text="The massage session id.")
    athlete = serializers.UUIDField()
    session_at = serializers.DateTimeField(
        help_text="When the session took place (started_at, else scheduled_at)."
    )
    completed_at = serializers.DateTimeField(allow_null=True)
    planned_from_recommendation = serializers.BooleanField(
        help_text="False when the session was planned without a recommendation (then "
        "`recommended` is empty)."
    )
    recommendation_generated_at = serializers.DateTimeField(allow_null=True)
    session_mode = serializers.ChoiceField(choices=SESSION_MODE_CHOICES, allow_null=True)
    recommended = ComparisonRecommendedItemSerializer(
        many=True, help_text="The recommended focus, each marked treated or not."
    )
    not_recommended = ComparisonTreatedAreaSerializer(
        many=True, help_text="Treated areas the recommendation did not list."
    )
    avoided_treated = ComparisonAvoidedTreatedSerializer(
        many=True, help_text="Excluded groups that were treated anyway (warnings)."
    )
    pain = ComparisonPainSerializer()
    soreness = ComparisonSorenessSerializer(
        many=True, help_text="Per treated group and side: soreness before vs after."
    )


EXAMPLE_RECOMMENDATION: dict[str, Any] = {
    "generated_at": "2025-03-10T12:00:00Z",
    "session_mode": "post_match",
    "duration_min": 29,
    "warnings": [
        {
            "code": "post_match_window",
            "message": "Match 40 h ago: 24-72 h after a match is when massage eases soreness "
            "most; groups with rising soreness rank first.",
        },
        {
            "code": "pain_flag",
            "message": "Pain of 7/10 or more in the last 72 h: Adductors (left) - no massage "
            "there; refer / assess first.",
        },
    ],
    "focus": [
        {
            "rank": 1,
            "muscle_group": "hamstrings",
            "name": "Hamstrings",
            "side": "left",
            "score": 28.958,
            "components": {
                "soreness": 6.0,
                "demand": 1.0,
                "exposure": 1.3,
                "treatment_gap": 0.737,
                "maintenance": 0.958,
                "follow_up": 2.0,
                "post_match_boost": 20.0,
                "recent_treatment_penalty": 0.0,
            },
            "reasons": [
                "soreness 6/10 4 h ago",
                "soreness rising since the match: 3/10 -> 6/10",
                "very high demand in football (1.00)",
                "training load up 30% on usual (acute 650 AU vs chronic 500 AU)",
                "9 days since last treated",
                "2 trigger points found last time",
                "pain not improved last time (5/10 -> 4/10)",
                "flush / effleurage: general recovery of sore tissue",
            ],
            "technique": "effleurage_flush",
            "pressure": "moderate",
            "minutes": 5,
            "warnings": [],
            "summary": "Hamstrings (left): soreness 6/10 4 h ago, soreness rising since the "
            "match: 3/10 -> 6/10, ...",
        }
    ],
    "avoid": [
        {
            "muscle_group": "adductors",
            "name": "Adductors",
            "side": "left",
            "reason_code": "pain_flag",
            "reason": "pain 7/10 yesterday: no massage there; refer / assess first",
        }
    ],
}
