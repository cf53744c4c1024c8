"""Serializer pieces every athlete record shares: the client's id and the athlete on create,
muscle groups by catalogue code with the side rule, and dates that are not in the future."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from recovery.models import MuscleGroup

# A local calendar date may be one day ahead of UTC's: time zones east of UTC (up to UTC+14)
# are already on tomorrow while the server is still on today.
LOCAL_DATE_LEAD = timedelta(days=1)
# Phones' clocks run a little fast: a timestamp this far ahead still counts as now.
CLOCK_SKEW = timedelta(minutes=5)

LOCAL_DATE_HELP = "Not in the future: at most one day after today in UTC (zones ahead of UTC)."


def validate_local_date(value: date) -> None:
    if value > timezone.now().date() + LOCAL_DATE_LEAD:
        raise serializers.ValidationError("Must not be in the future.", code="future")


def validate_past_timestamp(value: datetime) -> None:
    if value > timezone.now() + CLOCK_SKEW:
        raise serializers.ValidationError("Must not be in the future.", code="future")


class AthleteRecordCreateSerializer(serializers.Serializer):
    """The two fields a create adds to a record's editable ones."""

    id = serializers.UUIDField(
        required=False,
        source="record_id",
        help_text="Optional client-generated UUID (offline-first). Sending the same record again "
        "(same id, same content) returns the stored one with 200 and creates nothing; the same "
        "id with different content, or an id used by another athlete's record, is a 409 "
        "`id_conflict`.",
    )
    athlete = serializers.UUIDField(
        required=False,
        source="athlete_id",
        help_text="User id of the athlete the record is for. Defaults to the caller when the "
        "caller is an athlete; staff must name an athlete of their teams.",
    )


class MuscleGroupField(serializers.SlugRelatedField):
    """A muscle group by its catalogue code. The code is the primary key, so reading needs no
    query, and a request body's codes are resolved from one read of the catalogue."""

    default_error_messages = {
        "does_not_exist": "Unknown muscle group {value}; see /api/v1/muscle-groups/.",
        "invalid": "Must be a muscle-group code.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "Muscle-group code from /api/v1/muscle-groups/.")
        queryset = None if kwargs.get("read_only") else MuscleGroup.objects.all()
        super().__init__(slug_field="code", queryset=queryset, **kwargs)
        self._by_code: dict[str, MuscleGroup] | None = None

    def use_pk_only_optimization(self) -> bool:
        return True

    def to_representation(self, value: Any) -> str:
        return str(value.pk)

    def to_internal_value(self, data: Any) -> MuscleGroup:
        if not isinstance(data, str):
            self.fail("invalid")
        if self._by_code is None:
            self._by_code = {group.code: group for group in MuscleGroup.objects.all()}
        group = self._by_code.get(data)
        if group is None:
            self.fail("does_not_exist", slug_name="code", value=data)
        return group


class MuscleGroupSideMixin:
    """`side` must fit `muscle_group`: left, right or both for a left/right group, none for a
    midline one. A partial update is judged with the stored values it does not change."""

    instance: Any

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)  # type: ignore[misc]
        if "muscle_group" not in attrs and "side" not in attrs:
            return attrs
        group = attrs.get("muscle_group") or self.instance.muscle_group
        side = attrs["side"] if "side" in attrs else getattr(self.instance, "side", None)
        if group.has_sides and not side:
            raise serializers.ValidationError(
                {"side": [f"Required for {group.code}: left, right or both."]}, code="required"
            )
        if not group.has_sides and side:
            raise serializers.ValidationError(
                {"side": [f"{group.code} is a midline group: omit side or send null."]},
                code="not_allowed",
            )
        return attrs


SIDE_KWARGS = {
    "allow_blank": False,
    "help_text": "left, right or both for a left/right group; null or omitted for a midline "
    "group (`has_sides` false in the catalogue).",
}
