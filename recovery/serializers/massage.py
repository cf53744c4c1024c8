"""Massage / neuromuscular therapy sessions: one response shape, one request shape per write."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.access import access_for
from accounts.audit import note_clinical_notes_read
from backend.api.serializers import StrictSerializerMixin
from backend.api.views import request_user
from recovery.models import MassageAmendment, MassageSession, MuscleGroup, TreatedArea
from recovery.selectors.massage import clinical_notes_visible, massage_athlete_list_visible_to

MAX_TREATED_AREAS = 100

CLINICAL_NOTES_HELP = (
    "The therapist's private clinical notes. ABSENT from the response (not null) when the caller "
    "may not read them: a coach without the athlete's consent (share_clinical_notes_with_coaches), "
    "and team admins always. Written by the athlete's team therapists only."
)


class TreatedAreaSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    """One area worked on: muscle group and side, technique, pressure, minutes and pain during."""

    muscle_group = serializers.PrimaryKeyRelatedField(
        queryset=MuscleGroup.objects.all(),
        help_text="Muscle group code from the catalogue, e.g. `hamstrings`.",
        error_messages={"does_not_exist": 'Unknown muscle group "{pk_value}".'},
    )

    class Meta:
        model = TreatedArea
        fields = [
            "muscle_group",
            "side",
            "technique",
            "pressure",
            "pressure_rating",
            "minutes",
            "pain_during",
            "trigger_points_found",
            "notes",
        ]
        extra_kwargs = {
            "side": {
                "allow_blank": False,
                "help_text": "Required for groups with a left and right side; null for midline "
                "groups (`has_sides` false, e.g. `rectus_abdominis`).",
            },
            "pressure_rating": {"help_text": "The therapist's own pressure number, 1-10."},
            "minutes": {"help_text": "Minutes spent on this area."},
            "pain_during": {"help_text": "Pain the athlete felt during the work, 0-10."},
            "trigger_points_found": {"max_value": 100},
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        has_sides, side = attrs["muscle_group"].has_sides, attrs.get("side")
        if has_sides and side is None:
            raise serializers.ValidationError(
                {"side": ["This muscle group has sides: left, right or both."]}, code="required"
            )
        if not has_sides and side is not None:
            raise serializers.ValidationError(
                {"side": ["This muscle group is midline: side must be null."]}, code="no_sides"
            )
        return attrs


class MassageAftercareSerializer(StrictSerializerMixin, serializers.Serializer):
    """The plan the athlete takes home, and when and on what the next session should focus."""

    stretches = serializers.CharField(
        source="aftercare_stretches", max_length=2000, required=False, allow_blank=True
    )
    hydration = serializers.CharField(
        source="aftercare_hydration", max_length=1000, required=False, allow_blank=True
    )
    self_care = serializers.CharField(
        source="aftercare_self_care",
        max_length=2000,
        required=False,
        allow_blank=True,
        help_text="Self-release, ice/heat, sleep and other self-care advice.",
    )
    next_focus = serializers.CharField(max_length=500, required=False, allow_blank=True)
    next_session_in_days = serializers.IntegerField(
        min_value=0, max_value=90, required=False, allow_null=True
    )


class MassageAmendmentSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    """A correction appended to a completed session, with its author and time."""

    class Meta:
        model = MassageAmendment
        fields = ["id", "author", "created_at", "text"]
        read_only_fields = ["id", "author", "created_at"]


class MassageSessionSerializer(serializers.ModelSerializer):
    """A massage / neuromuscular therapy session, structured like a SOAP note."""

    treated_areas = TreatedAreaSerializer(many=True, read_only=True)
    aftercare = MassageAftercareSerializer(source="*", read_only=True)
    amendments = MassageAmendmentSerializer(
        many=True, read_only=True, help_text="Corrections made after signing, oldest first."
    )
    # Not read-only, only so that the schema does not list it as required (read-only fields are):
    # this serializer renders responses and never reads a body.
    clinical_notes = serializers.CharField(required=False, help_text=CLINICAL_NOTES_HELP)

    class Meta:
        model = MassageSession
        fields = [
            "id",
            "athlete",
            "therapist",
            "status",
            "session_type",
            "scheduled_at",
            "started_at",
            "duration_min",
            "complaint",
            "pain_before",
            "posture_notes",
            "gait_notes",
            "range_of_motion_notes",
            "palpation_notes",
            "treated_areas",
            "pain_after",
            "athlete_feedback",
            "aftercare",
            "clinical_notes",
            "recommendation_snapshot",
            "completed_at",
            "signed_by",
            "cancelled_reason",
            "amendments",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [name for name in fields if name != "clinical_notes"]
        extra_kwargs = {
            "therapist": {"help_text": "The therapist who planned the session."},
            "recommendation_snapshot": {
                "help_text": "The recommendation the session was planned from, as it was then."
            },
            "signed_by": {"help_text": "The therapist who completed and signed the session."},
        }

    def to_representation(self, instance: MassageSession) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        request = self.context.get("request")
        if request is None or not clinical_notes_visible(
            access=access_for(request), session=instance
        ):
            del data["clinical_notes"]
        elif instance.clinical_notes:  # disclosed: logged once per request (accounts.audit)
            note_clinical_notes_read(
                request, session_id=instance.pk, athlete_id=instance.athlete_id
            )
        return data


class VisibleAthleteField(serializers.PrimaryKeyRelatedField):
    """An athlete whose sessions the caller may see; any other id reads as unknown (no leak)."""

    def get_queryset(self) -> Any:
        return massage_athlete_list_visible_to(user=request_user(self.context["request"]))


PLANNED_SESSION_FIELDS = [
    "session_type",
    "scheduled_at",
    "started_at",
    "duration_min",
    "complaint",
    "pain_before",
    "posture_notes",
    "gait_notes",
    "range_of_motion_notes",
    "palpation_notes",
    "treated_areas",
    "pain_after",
    "athlete_feedback",
    "aftercare",
    "clinical_notes",
]


class _MassageSessionWriteSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    treated_areas: serializers.ListSerializer[TreatedArea] = serializers.ListSerializer(
        child=TreatedAreaSerializer(),
        required=False,
        max_length=MAX_TREATED_AREAS,
        help_text="The areas worked on. When sent, replaces the whole list.",
    )
    aftercare = MassageAftercareSerializer(source="*", required=False)

    class Meta:
        model = MassageSession
        extra_kwargs: dict[str, dict[str, Any]] = {
            "clinical_notes": {
                "help_text": "The therapist's private notes (who reads them: see "
                "MassageSession.clinical_notes)."
            }
        }


class MassageSessionCreateSerializer(_MassageSessionWriteSerializer):
    """A planned session for an athlete of the therapist's team."""

    id = serializers.UUIDField(
        source="session_id",
        required=False,
        help_text="Optional client-generated UUID. Sending the same record again returns the "
        "stored session (200) and creates nothing.",
    )
    athlete = VisibleAthleteField(help_text="The athlete's user id.")

    class Meta(_MassageSessionWriteSerializer.Meta):
        fields = ["id", "athlete", *PLANNED_SESSION_FIELDS]


class MassageSessionUpdateSerializer(_MassageSessionWriteSerializer):
    """Changes to a planned session; send only what changes."""

    class Meta(_MassageSessionWriteSerializer.Meta):
        fields = PLANNED_SESSION_FIELDS
        extra_kwargs = {
            **_MassageSessionWriteSerializer.Meta.extra_kwargs,
            "scheduled_at": {"required": False},
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Send at least one field to change.", code="empty")
        return attrs


class MassageSessionCompleteSerializer(_MassageSessionWriteSerializer):
    """The outcome that completes (signs and locks) a planned session."""

    class Meta(_MassageSessionWriteSerializer.Meta):
        fields = ["treated_areas", "pain_after", "athlete_feedback", "aftercare"]


class MassageSessionCancelSerializer(StrictSerializerMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="Why the session will not happen.")
