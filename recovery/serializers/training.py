from __future__ import annotations

from rest_framework import serializers

from backend.api.serializers import ContextFreeSerializerMixin, StrictSerializerMixin
from recovery.models import TrainingSession
from recovery.serializers.common import (
    LOCAL_DATE_HELP,
    AthleteRecordCreateSerializer,
    validate_local_date,
    validate_past_timestamp,
)


class TrainingSessionSerializer(
    StrictSerializerMixin, ContextFreeSerializerMixin, serializers.ModelSerializer
):
    """A training session; the body of PUT and PATCH is its editable fields."""

    class Meta:
        model = TrainingSession
        fields = [
            "id",
            "athlete",
            "date",
            "started_at",
            "session_type",
            "duration_min",
            "rpe",
            "load_au",
            "distance_km",
            "avg_heart_rate",
            "notes",
            "version",
            "created_at",
            "updated_at",
            "created_by",
        ]
        read_only_fields = [
            "id",
            "athlete",
            "load_au",
            "version",
            "created_at",
            "updated_at",
            "created_by",
        ]
        extra_kwargs = {
            "athlete": {"help_text": "User id of the athlete."},
            "date": {
                "validators": [validate_local_date],
                "help_text": "Local calendar day the session started on (the athlete's time "
                f"zone). {LOCAL_DATE_HELP}",
            },
            "started_at": {
                "validators": [validate_past_timestamp],
                "help_text": "Start time, ISO 8601 with offset (stored in UTC). Optional.",
            },
            "duration_min": {"min_value": 1, "max_value": 1440, "help_text": "Minutes, 1-1440."},
            "rpe": {
                "min_value": 0,
                "max_value": 10,
                "help_text": "Session RPE on Borg's CR-10 scale: 0 rest, 10 maximal.",
            },
            "load_au": {
                "help_text": "Internal load, sRPE = rpe x duration_min in arbitrary units "
                "(Foster et al., 2001). Computed by the server."
            },
            "distance_km": {"min_value": 0, "help_text": "Distance covered in km. Optional."},
            "avg_heart_rate": {
                "min_value": 30,
                "max_value": 250,
                "help_text": "Average heart rate in beats per minute, 30-250. Optional.",
            },
            "version": {"help_text": "Bumped by every change."},
            "created_by": {"help_text": "User id of who logged it (the athlete or a therapist)."},
        }


class TrainingSessionCreateSerializer(AthleteRecordCreateSerializer, TrainingSessionSerializer):
    """A training session to log."""
