"""Serializer pieces every athlete record shares: the client's id and the athlete on create,
muscle groups by catalogue code with the side rule, and dates that are not in the future."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
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


CATALOGUE_TTL_SECONDS = 60.0
"""How long a process trusts its copy of the muscle-group catalogue. A change in the admin is
seen at once by the process that made it (signals) and by the others within this time; a code
the copy does not know is looked up again (at most once a second) before it is refused."""
_MISS_RELOAD_SECONDS = 1.0
_clock = time.monotonic

_catalogue: tuple[float, dict[str, MuscleGroup]] | None = None


def muscle_groups(*, reload: bool = False) -> dict[str, MuscleGroup]:
    """The catalogue by code, read at most once per CATALOGUE_TTL_SECONDS per process (it is
    seeded by a migration and edited rarely, in the admin). Treat the map and its rows as
    read-only: they are shared by every request of the process."""
    global _catalogue
    now = _clock()
    cached = _catalogue
    if cached is None or reload or now - cached[0] >= CATALOGUE_TTL_SECONDS:
        cached = (now, {group.code: group for group in MuscleGroup.objects.all()})
        _catalogue = cached
    return cached[1]


def muscle_group_by_code(code: str) -> MuscleGroup | None:
    """The group with this code, or None; an unknown code reads the catalogue again first (a
    group added in another process), unless the copy was read within the last second."""
    group = muscle_groups().get(code)
    cached = _catalogue
    stale = cached is None or _clock() - cached[0] >= _MISS_RELOAD_SECONDS
    if group is None and stale:
        group = muscle_groups(reload=True).get(code)
    return group


@receiver([post_save, post_delete], sender=MuscleGroup)
def _forget_catalogue(**kwargs: Any) -> None:
    global _catalogue
    _catalogue = None


class MuscleGroupField(serializers.SlugRelatedField):
    """A muscle group by its catalogue code. The code is the primary key, so reading needs no
    query, and codes are resolved from the process's copy of the catalogue (`muscle_groups`)."""

    default_error_messages = {
        "does_not_exist": "Unknown muscle group {value}; see /api/v1/muscle-groups/.",
        "invalid": "Must be a muscle-group code.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "Muscle-group code from /api/v1/muscle-groups/.")
        queryset = None if kwargs.get("read_only") else MuscleGroup.objects.all()
        super().__init__(slug_field="code", queryset=queryset, **kwargs)

    def use_pk_only_optimization(self) -> bool:
        return True

    def to_representation(self, value: Any) -> str:
        return str(value.pk)

    def to_internal_value(self, data: Any) -> MuscleGroup:
        if not isinstance(data, str):
            self.fail("invalid")
        group = muscle_group_by_code(data)
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
