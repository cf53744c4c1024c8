from __future__ import annotations

from typing import Any

from rest_framework import serializers

from backend.api.serializers import ContextFreeSerializerMixin, StrictSerializerMixin
from recovery.domain.wellness import (
    WELLNESS_ITEM_ANCHORS,
    WELLNESS_ITEM_MAX,
    WELLNESS_ITEM_MIN,
    WellnessItem,
)
from recovery.models import PAIN_FLAG_SEVERITY, SorenessEntry, SorenessReport
from recovery.serializers.common import (
    LOCAL_DATE_HELP,
    SIDE_KWARGS,
    AthleteRecordCreateSerializer,
    MuscleGroupField,
    MuscleGroupSideMixin,
    validate_local_date,
    validate_past_timestamp,
)

MAX_ENTRIES = 40
FLAG_RULE = f"pain of {PAIN_FLAG_SEVERITY} or more, or marked as an injury"


def _wellness_kwargs(item: WellnessItem) -> dict[str, Any]:
    anchors = "; ".join(
        f"{score} = {anchor}"
        for score, anchor in enumerate(WELLNESS_ITEM_ANCHORS[item], start=WELLNESS_ITEM_MIN)
    )
    return {
        "min_value": WELLNESS_ITEM_MIN,
        "max_value": WELLNESS_ITEM_MAX,
        "help_text": f"Optional, McLean scale {WELLNESS_ITEM_MIN}-{WELLNESS_ITEM_MAX}, higher is "
        f"better: {anchors}.",
    }


class SorenessEntrySerializer(
    MuscleGroupSideMixin,
    StrictSerializerMixin,
    ContextFreeSerializerMixin,
    serializers.ModelSerializer,
):
    """One body-map entry: how sore one muscle group (and side) is."""

    muscle_group = MuscleGroupField()

    class Meta:
        model = SorenessEntry
        fields = [
            "id",
            "muscle_group",
            "side",
            "severity",
            "kind",
            "is_injury",
            "note",
            "flagged",
            "flag_resolved_at",
            "flag_resolved_by",
        ]
        read_only_fields = ["id", "flagged", "flag_resolved_at", "flag_resolved_by"]
        extra_kwargs = {
            "side": SIDE_KWARGS,
            "severity": {
                "min_value": 0,
                "max_value": 10,
                "help_text": "0 none to 10 worst imaginable.",
            },
            "kind": {"help_text": "doms (delayed-onset soreness), tightness or pain."},
            "is_injury": {"help_text": "The athlete thinks this is an injury (raises a flag)."},
            "flagged": {"help_text": f"Flagged for the therapist: {FLAG_RULE}."},
            "flag_resolved_at": {"help_text": "When a therapist resolved the flag."},
            "flag_resolved_by": {"help_text": "User id of the therapist who resolved the flag."},
        }


class SorenessReportSerializer(
    StrictSerializerMixin, ContextFreeSerializerMixin, serializers.ModelSerializer
):
    """A soreness report: wellness items and the body-map entries."""

    entries = SorenessEntrySerializer(many=True, read_only=True)

    class Meta:
        model = SorenessReport
        fields = [
            "id",
            "athlete",
            "reported_at",
            "date",
            *(item.value for item in WellnessItem),
            "notes",
            "entries",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "athlete", "version", "created_at", "updated_at"]
        extra_kwargs = {
            "athlete": {"help_text": "User id of the athlete."},
            "reported_at": {
                "validators": [validate_past_timestamp],
                "help_text": "When the athlete filled it in, ISO 8601 with offset; not in the "
                "future (5 minutes of clock skew allowed).",
            },
            "date": {
                "validators": [validate_local_date],
                "help_text": f"The athlete's local calendar day of the report. {LOCAL_DATE_HELP}",
            },
            **{item.value: _wellness_kwargs(item) for item in WellnessItem},
        }


class SorenessReportCreateSerializer(
    AthleteRecordCreateSerializer,
    StrictSerializerMixin,
    ContextFreeSerializerMixin,
    serializers.ModelSerializer,
):
    """A soreness report to submit, with its entries, stored all or nothing."""

    entries = serializers.ListField(
        child=SorenessEntrySerializer(),
        min_length=1,
        max_length=MAX_ENTRIES,
        help_text=f"1-{MAX_ENTRIES} entries. An entry is flagged for the therapist: {FLAG_RULE}.",
    )

    class Meta(SorenessReportSerializer.Meta):
        pass


class SorenessFlagSerializer(serializers.ModelSerializer):
    """A flagged soreness entry, with its report and athlete, for the therapist's attention."""

    report = serializers.UUIDField(source="report_id", read_only=True)
    athlete = serializers.UUIDField(source="report.athlete_id", read_only=True)
    athlete_name = serializers.CharField(source="report.athlete.full_name", read_only=True)
    date = serializers.DateField(source="report.date", read_only=True)
    reported_at = serializers.DateTimeField(source="report.reported_at", read_only=True)
    muscle_group = MuscleGroupField(read_only=True)

    class Meta:
        model = SorenessEntry
        fields = [
            "id",
            "report",
            "athlete",
            "athlete_name",
            "date",
            "reported_at",
            "muscle_group",
            "side",
            "severity",
            "kind",
            "is_injury",
            "note",
            "flag_resolved_at",
            "flag_resolved_by",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "id": {"help_text": "Id of the flagged entry (resolve it with this id)."},
            "flag_resolved_at": {"help_text": "When a therapist resolved it; null while open."},
            "flag_resolved_by": {"help_text": "User id of the therapist who resolved it."},
        }
