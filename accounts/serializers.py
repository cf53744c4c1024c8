from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import (
    AthleteProfile,
    AuditEntry,
    Invitation,
    Membership,
    Organisation,
    Role,
    Team,
    User,
)
from backend.api.serializers import StrictSerializerMixin
from recovery.models import (
    Injury,
    MassageAmendment,
    MassageSession,
    SorenessEntry,
    SorenessReport,
    Sport,
    TrainingSession,
    TreatedArea,
)


class UserSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name"]
        read_only_fields = fields


class OrganisationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "name"]
        read_only_fields = fields


class TeamSerializer(serializers.ModelSerializer):
    organisation = OrganisationSerializer(read_only=True)
    sport = serializers.CharField(source="sport_id", read_only=True, help_text="Sport code.")

    class Meta:
        model = Team
        fields = ["id", "name", "organisation", "sport", "time_zone"]
        read_only_fields = fields


class MembershipSerializer(serializers.ModelSerializer):
    user = UserSummarySerializer(read_only=True)
    team = serializers.UUIDField(source="team_id", read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True)

    class Meta:
        model = Membership
        fields = [
            "id",
            "user",
            "team",
            "team_name",
            "role",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class MembershipUpdateSerializer(StrictSerializerMixin, serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    is_active = serializers.BooleanField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Send role, is_active or both.", code="empty")
        return attrs


class MyMembershipSerializer(serializers.ModelSerializer):
    team = TeamSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "team", "role", "is_active"]
        read_only_fields = fields


class AthleteProfileSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    primary_sport = serializers.SlugRelatedField(
        slug_field="code", queryset=Sport.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = AthleteProfile
        fields = [
            "primary_sport",
            "position",
            "dominant_side",
            "share_clinical_notes_with_coaches",
            "updated_at",
        ]
        read_only_fields = ["updated_at"]


class MeSerializer(serializers.ModelSerializer):
    memberships = MyMembershipSerializer(many=True, read_only=True)
    athlete_profile = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "full_name", "memberships", "athlete_profile"]
        read_only_fields = ["id", "email", "memberships", "athlete_profile"]

    @extend_schema_field(AthleteProfileSerializer(allow_null=True))
    def get_athlete_profile(self, user: User) -> dict[str, Any] | None:
        profile = getattr(user, "athlete_profile", None)
        return AthleteProfileSerializer(profile).data if profile else None


class MeUpdateSerializer(StrictSerializerMixin, serializers.Serializer):
    full_name = serializers.CharField(max_length=150, min_length=1)


class AthleteSerializer(serializers.ModelSerializer):
    """An athlete as team staff see them."""

    profile = AthleteProfileSerializer(source="athlete_profile", read_only=True)
    teams = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "full_name", "email", "profile", "teams"]
        read_only_fields = fields

    def get_teams(self, user: User) -> list[str]:
        return [str(m.team_id) for m in getattr(user, "athlete_memberships", [])]


class PasswordChangeSerializer(StrictSerializerMixin, serializers.Serializer):
    current_password = serializers.CharField(write_only=True, trim_whitespace=False)
    new_password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=128)


class TokenObtainRequestSerializer(StrictSerializerMixin, serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=128)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="Access token (JWT), about 15 minutes.")
    refresh = serializers.CharField(help_text="Refresh token (JWT), rotated on every refresh.")


class TokenRefreshRequestSerializer(StrictSerializerMixin, serializers.Serializer):
    refresh = serializers.CharField()


class LogoutRequestSerializer(StrictSerializerMixin, serializers.Serializer):
    refresh = serializers.CharField(help_text="The refresh token to revoke.")


class RegisterSerializer(StrictSerializerMixin, serializers.Serializer):
    token = serializers.CharField(max_length=128, help_text="The invitation token.")
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=128)
    full_name = serializers.CharField(max_length=150, min_length=1)


class RegisteredSerializer(serializers.Serializer):
    user = UserSummarySerializer()
    membership = MyMembershipSerializer()
    tokens = TokenPairSerializer()


class InvitationAcceptSerializer(StrictSerializerMixin, serializers.Serializer):
    token = serializers.CharField(max_length=128)


class InvitationSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(
        choices=["pending", "used", "revoked", "expired"], read_only=True
    )
    team = serializers.UUIDField(source="team_id", read_only=True)
    email = serializers.CharField(
        read_only=True, help_text="Only this address may use it; empty when anyone may."
    )

    class Meta:
        model = Invitation
        fields = ["id", "team", "role", "email", "status", "expires_at", "created_at", "used_at"]
        read_only_fields = fields


class InvitationCreatedSerializer(InvitationSerializer):
    token = serializers.CharField(
        read_only=True, help_text="Shown once: send it to the invitee. Only its hash is stored."
    )

    class Meta(InvitationSerializer.Meta):
        fields = [*InvitationSerializer.Meta.fields, "token"]
        read_only_fields = fields


class InvitationCreateSerializer(StrictSerializerMixin, serializers.Serializer):
    team = serializers.UUIDField()
    role = serializers.ChoiceField(choices=Role.choices)
    email = serializers.EmailField(
        required=False, help_text="If given, only this address may use the invitation."
    )
    expires_in_days = serializers.IntegerField(min_value=1, max_value=30, default=7)


# --- Audit log and personal data (GDPR) --------------------------------------------------------


class AuditEntrySerializer(serializers.ModelSerializer):
    """One entry of the audit log: who did what to whose data, when and from where. Entries
    carry ids, never health content."""

    actor = serializers.UUIDField(
        source="actor_id", allow_null=True, read_only=True, help_text="The user who acted."
    )
    athlete = serializers.UUIDField(
        source="athlete_id",
        allow_null=True,
        read_only=True,
        help_text="The athlete whose data it was.",
    )
    object_ids = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Ids of the records concerned, e.g. the massage sessions whose notes were read.",
    )
    detail = serializers.DictField(
        read_only=True, help_text="Counts and codes (for an erasure: rows deleted per model)."
    )

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "at",
            "actor",
            "actor_email",
            "action",
            "athlete",
            "object_type",
            "object_ids",
            "detail",
            "ip_address",
            "user_agent",
            "path",
        ]
        read_only_fields = fields


class MeEraseSerializer(StrictSerializerMixin, serializers.Serializer):
    password = serializers.CharField(
        write_only=True,
        trim_whitespace=False,
        max_length=128,
        help_text="The current password, to confirm the erasure.",
    )


class ExportUserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name", "date_joined", "last_login", "is_active"]
        read_only_fields = fields


class ExportMembershipSerializer(serializers.ModelSerializer):
    team = serializers.UUIDField(source="team_id", read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True)
    organisation_name = serializers.CharField(source="team.organisation.name", read_only=True)

    class Meta:
        model = Membership
        fields = [
            "id",
            "team",
            "team_name",
            "organisation_name",
            "role",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ExportTrainingSessionSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrainingSession
        fields = [
            "id",
            "date",
            "started_at",
            "session_type",
            "duration_min",
            "rpe",
            "load_au",
            "distance_km",
            "avg_heart_rate",
            "notes",
            "created_by",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ExportSorenessEntrySerializer(serializers.ModelSerializer):
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
        read_only_fields = fields


class ExportSorenessReportSerializer(serializers.ModelSerializer):
    entries = ExportSorenessEntrySerializer(many=True, read_only=True)

    class Meta:
        model = SorenessReport
        fields = [
            "id",
            "reported_at",
            "date",
            "sleep_quality",
            "fatigue",
            "stress",
            "mood",
            "general_soreness",
            "notes",
            "entries",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ExportTreatedAreaSerializer(serializers.ModelSerializer):
    class Meta:
        model = TreatedArea
        fields = [
            "id",
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
        read_only_fields = fields


class ExportMassageAmendmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = MassageAmendment
        fields = ["id", "author", "created_at", "text"]
        read_only_fields = fields


class ExportMassageSessionSerializer(serializers.ModelSerializer):
    """A massage session about the athlete, complete: their own health record includes the
    therapist's clinical notes (right of access, GDPR Art. 15)."""

    treated_areas = ExportTreatedAreaSerializer(many=True, read_only=True)
    amendments = ExportMassageAmendmentSerializer(many=True, read_only=True)

    class Meta:
        model = MassageSession
        fields = [
            "id",
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
            "aftercare_stretches",
            "aftercare_hydration",
            "aftercare_self_care",
            "next_focus",
            "next_session_in_days",
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
        read_only_fields = fields


class ExportInjurySerializer(serializers.ModelSerializer):
    class Meta:
        model = Injury
        fields = [
            "id",
            "muscle_group",
            "side",
            "onset_date",
            "status",
            "resolved_date",
            "notes",
            "created_by",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class PersonalDataExportSerializer(serializers.Serializer):
    """Everything the API holds about the signed-in user, in one machine-readable document
    (GDPR Art. 15 access and Art. 20 portability)."""

    format = serializers.CharField(
        read_only=True, help_text="Always `recovery-api/personal-data-export`."
    )
    format_version = serializers.IntegerField(
        read_only=True, help_text="Bumped when the document's shape changes."
    )
    exported_at = serializers.DateTimeField(read_only=True)
    user = ExportUserSerializer(read_only=True)
    memberships = ExportMembershipSerializer(many=True, read_only=True)
    athlete_profile = AthleteProfileSerializer(read_only=True, allow_null=True)
    training_sessions = ExportTrainingSessionSerializer(many=True, read_only=True)
    soreness_reports = ExportSorenessReportSerializer(many=True, read_only=True)
    massage_sessions = ExportMassageSessionSerializer(
        many=True,
        read_only=True,
        help_text="Sessions where the user is the athlete, with clinical notes, treated areas "
        "and amendments.",
    )
    injuries = ExportInjurySerializer(many=True, read_only=True)
    access_log = AuditEntrySerializer(
        many=True,
        read_only=True,
        help_text="Who read, exported or erased this user's health data (the audit log).",
    )
