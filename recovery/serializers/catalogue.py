from __future__ import annotations

from rest_framework import serializers

from recovery.domain.catalogue import REGIONS, VIEWS
from recovery.models import MuscleGroup, Sport, SportDemand
from recovery.serializers.common import MuscleGroupField


class MuscleGroupSerializer(serializers.ModelSerializer):
    class Meta:
        model = MuscleGroup
        fields = ["code", "name", "region", "view", "has_sides", "description", "sort_order"]
        read_only_fields = fields
        extra_kwargs = {
            "code": {"help_text": "Stable code used everywhere a muscle group is named."},
            "region": {
                "help_text": "Body region, head to toe: " + ", ".join(code for code, _ in REGIONS)
            },
            "view": {"help_text": "Body-map view it is drawn on: " + ", ".join(VIEWS)},
            "has_sides": {
                "help_text": "True: entries name a side (left, right, both). False: a midline "
                "group, entries send no side."
            },
            "sort_order": {"help_text": "Display order, head to toe."},
        }


class SportDemandSerializer(serializers.ModelSerializer):
    muscle_group = MuscleGroupField(read_only=True)

    class Meta:
        model = SportDemand
        fields = ["muscle_group", "weight"]
        read_only_fields = fields


class SportSerializer(serializers.ModelSerializer):
    demands = SportDemandSerializer(
        many=True,
        read_only=True,
        help_text="Muscle groups the sport loads, highest weight first; groups it does not load "
        "are absent (weight 0).",
    )

    class Meta:
        model = Sport
        fields = ["code", "name", "source", "demands"]
        read_only_fields = fields
