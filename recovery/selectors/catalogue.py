"""The muscle-group and sport catalogue: the same for every signed-in user."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from recovery.models import MuscleGroup, Sport, SportDemand


def muscle_group_list() -> QuerySet[MuscleGroup, Any]:
    return MuscleGroup.objects.order_by("sort_order", "code")


def sport_list() -> QuerySet[Sport, Any]:
    return Sport.objects.order_by("name", "code").prefetch_related(
        Prefetch("demands", queryset=SportDemand.objects.order_by("-weight", "muscle_group_id"))
    )
