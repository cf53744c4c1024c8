"""``python manage.py load_bench_data --scale team|org``: the benchmark's dataset (bench/run).

The demo generator (``recovery/demo.py``) with the benchmark's team sizes, every athlete with a
weekly massage, a year of history, written in bulk, then the per-day load table refreshed in bulk
and the planner statistics gathered (ANALYZE on PostgreSQL, as autovacuum would have by then).

- ``team``: a writer team of 1 (the athlete whose POSTs and pushes the benchmark sends) and teams
  of 6 and 60 athletes, 365 days (about 19,000 sessions);
- ``org``: the same plus a team of 600 (the scaling check) and 7 teams of 50: 1,017 athletes,
  365 days (about 390,000 sessions, 1.8 million rows in all; 3-4 minutes on PostgreSQL here).

Deterministic: the same ``--seed`` on the same day gives the same rows (dates end today). Prints
the ids the benchmark needs as JSON (``--json PATH`` writes them to a file as well).
"""

from __future__ import annotations

import json
import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any, Final

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Membership, Role, Team
from recovery import demo
from recovery.models import AthleteDailyLoad, TrainingSession

SCALES: Final[dict[str, tuple[int, ...]]] = {
    "team": (1, 6, 60),
    "org": (1, 6, 60, 600, *([50] * 7)),  # about 1,000 athletes
}
DAYS: Final = 365
MASSAGE_SHARE: Final = 1.0  # a massage a week for everyone
WRITER_TEAM: Final = 1  # team size of the writer team (index 0)


class Command(BaseCommand):
    help = (
        "Load the benchmark dataset: --scale team (teams of 1, 6 and 60 athletes) or org (also "
        "600 and 7 x 50), a year of history each. Prints the ids bench/run needs, as JSON."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--scale", required=True, help="team or org")
        parser.add_argument(
            "--seed", type=int, default=demo.DEFAULT_SEED, help="Random seed (default 7)."
        )
        parser.add_argument(
            "--days", type=int, default=DAYS, help=f"Days of history (default {DAYS})."
        )
        parser.add_argument("--json", type=Path, help="Also write the ids to this file.")
        parser.add_argument(
            "--reset", action="store_true", help="Delete demo or bench data loaded before."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        scale = options["scale"]
        if scale not in SCALES:
            raise CommandError(f"Unknown scale {scale!r}: use one of {', '.join(SCALES)}.")
        if options["days"] < 1:
            raise CommandError("--days must be at least 1.")
        try:
            connection.ensure_connection()
            pending = _unapplied_migrations()
        except DatabaseError as exc:
            raise CommandError(f"The database is not reachable: {exc}".strip()) from exc
        if pending:
            raise CommandError(
                f"The database lacks {pending} migration(s): run `manage.py migrate` first."
            )
        settings = demo.DemoOptions(
            days=options["days"],
            seed=options["seed"],
            team_sizes=SCALES[scale],
            massage_share=MASSAGE_SHARE,
        )
        started = time.perf_counter()
        with transaction.atomic():
            if demo.demo_data_exists():
                if not options["reset"]:
                    raise CommandError(
                        "Demo or bench data is already loaded: use an empty database (bench/run "
                        "creates one) or --reset."
                    )
                demo.delete_demo_data()
            result = demo.build_demo(
                settings,
                now=timezone.now(),
                password_hash=make_password(demo.DEMO_PASSWORD),
                catalogue=demo.load_catalogue(),
            )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        dataset = _dataset(scale, settings, result, time.perf_counter() - started)
        text = json.dumps(dataset, indent=2)
        if options["json"]:
            options["json"].parent.mkdir(parents=True, exist_ok=True)
            options["json"].write_text(text + "\n")
        self.stdout.write(text)


def _dataset(
    scale: str, settings: demo.DemoOptions, result: demo.DemoResult, seconds: float
) -> dict[str, Any]:
    """Per team (smallest first): its id, size, time zone, one coach, one therapist and the first
    athlete (by email) with their email; and the row counts."""
    teams = []
    for team in Team.objects.filter(name__in=[login.team for login in result.logins]).annotate(
        size=Count("memberships", filter=_athletes())
    ):
        members = {
            role: Membership.objects.filter(team=team, role=role, is_active=True)
            .order_by("user__email")
            .values_list("user_id", "user__email")
            .first()
            for role in (Role.COACH, Role.THERAPIST, Role.ATHLETE)
        }
        teams.append(
            {
                "id": str(team.pk),
                "name": team.name,
                "size": team.size,
                "time_zone": team.time_zone,
                **{
                    role.value: {"id": str(member[0]), "email": member[1]}
                    for role, member in members.items()
                    if member is not None
                },
            }
        )
    teams.sort(key=lambda t: (t["size"], t["name"]))
    return {
        "scale": scale,
        "seed": settings.seed,
        "days": settings.days,
        "loaded_at": timezone.now().isoformat(),
        "load_seconds": round(seconds, 1),
        "password": demo.DEMO_PASSWORD,
        "counts": {
            **dict(result.counts),
            "recovery.AthleteDailyLoad": AthleteDailyLoad.objects.count(),
            "recovery.TrainingSession": TrainingSession.objects.count(),
        },
        "writer": next(t for t in teams if t["size"] == WRITER_TEAM),
        "teams": [t for t in teams if t["size"] != WRITER_TEAM],
    }


def _unapplied_migrations() -> int:
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def _athletes() -> Q:
    return Q(memberships__role=Role.ATHLETE, memberships__is_active=True)
