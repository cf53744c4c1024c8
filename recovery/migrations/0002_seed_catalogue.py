"""Seed the muscle-group and sport catalogue (version 1).

The data and its sources are in recovery/domain/catalogue.py and docs/catalogue.md (DESIGN.md
appendices A and B). After this migration the rows belong to the admin: later catalogue changes
are new data migrations, never edits of this one.
"""

from django.db import migrations

from recovery.domain.catalogue import MUSCLE_GROUPS, SPORTS


def seed(apps, schema_editor):
    MuscleGroup = apps.get_model("recovery", "MuscleGroup")
    Sport = apps.get_model("recovery", "Sport")
    SportDemand = apps.get_model("recovery", "SportDemand")
    for order, group in enumerate(MUSCLE_GROUPS):
        MuscleGroup.objects.update_or_create(
            code=group.code,
            defaults={
                "name": group.name,
                "region": group.region,
                "view": group.view,
                "has_sides": group.has_sides,
                "description": group.description,
                "sort_order": order,
            },
        )
    for sport in SPORTS:
        Sport.objects.update_or_create(
            code=sport.code, defaults={"name": sport.name, "source": sport.source}
        )
        for group_code, weight in sport.demand.items():
            SportDemand.objects.update_or_create(
                sport_id=sport.code, muscle_group_id=group_code, defaults={"weight": weight}
            )


def unseed(apps, schema_editor):
    apps.get_model("recovery", "SportDemand").objects.all().delete()
    apps.get_model("recovery", "Sport").objects.filter(teams__isnull=True).delete()
    apps.get_model("recovery", "MuscleGroup").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("recovery", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
