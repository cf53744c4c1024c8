from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import AthleteProfile, Invitation, Membership, Organisation, Role, Team, User
from backend.api.serializers import StrictSerializerMixin
from recovery.models import Sport


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
