"""``python manage.py refresh_daily_loads``: rebuild the per-day load table from the sessions.

The table (`recovery.models.AthleteDailyLoad`) is kept current by every write of a session; this
repairs it after writes that bypassed that (raw SQL, an import), comparing each athlete's stored
loads with the sessions and rewriting from the first day that differs.
"""

from __future__ import annotations

import time
import uuid
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from recovery.models import AthleteDailyLoad, TrainingSession
from recovery.services.daily_loads import refresh_daily_loads


class Command(BaseCommand):
    help = "Rebuild the per-day training-load table from the training sessions (all athletes)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--athlete",
            action="append",
            type=uuid.UUID,
            default=[],
            help="Only this athlete (user id); repeat for several.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ids: list[uuid.UUID] = options["athlete"]
        if not ids:
            ids = sorted(
                set(TrainingSession.objects.values_list("athlete_id", flat=True).distinct())
                | set(AthleteDailyLoad.objects.values_list("athlete_id", flat=True).distinct()),
                key=str,
            )
        if not ids:
            raise CommandError("No training sessions and no daily rows: nothing to refresh.")
        started = time.perf_counter()
        refresh_daily_loads(athlete_ids=ids)
        self.stdout.write(
            f"Refreshed the daily loads of {len(ids)} athletes in "
            f"{time.perf_counter() - started:.1f} s."
        )
