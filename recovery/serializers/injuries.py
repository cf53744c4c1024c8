from __future__ import annotations

from rest_framework import serializers

from backend.api.serializers import StrictSerializerMixin
from recovery.models import Injury
from recovery.serializers.common import (
    LOCAL_DATE_HELP,
    SIDE_KWARGS,
    AthleteRecordCreateSerializer,
    MuscleGroupField,
    MuscleGroupSideMixin,
    validate_local_date,
)


class InjurySerializer(MuscleGroupSideMixin, StrictSerializerMixin, serializers.ModelSerializer):
    """An injury; the body of PUT and PATCH is its editable fields."""

    muscle_group = MuscleGroupField()

    class Meta:
        model = Injury
        fields = [
            "id",
            "athlete",
            "muscle_group",
            "side",
            "onset_date",
            "status",
            "resolved_date",
            "notes",
            "version",
            "created_at",
            "updated_at",
            "created_by",
        ]
        read_only_fields = ["id", "athlete", "version", "created_at", "updated_at", "created_by"]
        extra_kwargs = {
            "athlete": {"help_text": "User id of the athlete."},
            "side": SIDE_KWARGS,
            "onset_date": {
                "validators": [validate_local_date],
                "help_text": f"Local date the injury happened. {LOCAL_DATE_HELP}",
            },
            "status": {
                "help_text": "active -> rehab -> resolved (active -> resolved when no rehab was "
                "needed); resolved -> active for a re-injury. Other changes are a 400. Default "
                "active."
            },
            "resolved_date": {
                "validators": [validate_local_date],
                "help_text": "Only for resolved injuries, on or after onset_date; defaults to "
                "today (UTC) when the status becomes resolved, cleared on re-injury.",
            },
            "version": {"help_text": "Bumped by every change."},
            "created_by": {"help_text": "User id of the therapist who recorded it."},
        }


class InjuryCreateSerializer(AthleteRecordCreateSerializer, InjurySerializer):
    """An injury to record (therapists of the athlete's team)."""
