"""``python manage.py load_demo_data``: a club with months of realistic, reproducible data.

The generator and the shape of the data are described in ``recovery/demo.py``. Dates are relative
to the day of the run; the same ``--seed`` on the same day gives the same rows.
"""

from __future__ import annotations

import time
from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from recovery import demo


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ArgumentTypeError(f"must be at least 1, got {number}")
    return number


class Command(BaseCommand):
    help = (
        "Load demo data: one club, teams in different sports, athletes with months of training, "
        "soreness, massage sessions and injuries. Does nothing if the demo club exists, unless "
        "--reset is given."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--teams", type=_positive, default=demo.DEFAULT_TEAMS, help="Teams (default 4)."
        )
        parser.add_argument(
            "--athletes",
            type=_positive,
            default=demo.DEFAULT_ATHLETES,
            help="Athletes per team (default 25).",
        )
        parser.add_argument(
            "--days",
            type=_positive,
            default=demo.DEFAULT_DAYS,
            help="Days of history ending today (default 180).",
        )
        parser.add_argument(
            "--seed", type=int, default=demo.DEFAULT_SEED, help="Random seed (default 7)."
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo club, its users and their records first, then rebuild.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        settings = demo.DemoOptions(
            teams=options["teams"],
            athletes=options["athletes"],
            days=options["days"],
            seed=options["seed"],
        )
        started = time.perf_counter()
        with transaction.atomic():
            if demo.demo_data_exists():
                if not options["reset"]:
                    self.stdout.write(
                        f'Demo data is already loaded ("{demo.DEMO_ORGANISATION_NAME}" or '
                        f"*.{demo.DEMO_EMAIL_DOMAIN} users exist); nothing changed. "
                        "Run with --reset to rebuild it."
                    )
                    return
                demo.delete_demo_data()
                self.stdout.write("Deleted the previous demo data.")
            result = demo.build_demo(
                settings,
                now=timezone.now(),
                # One hash for every demo user: hashing is deliberately slow (Argon2).
                password_hash=make_password(demo.DEMO_PASSWORD),
                catalogue=demo.load_catalogue(),
            )
        elapsed = time.perf_counter() - started
        self._report(settings, result, elapsed)

    def _report(self, settings: demo.DemoOptions, result: demo.DemoResult, elapsed: float) -> None:
        self.stdout.write(
            self.style.SUCCESS(
                f'Loaded "{demo.DEMO_ORGANISATION_NAME}": {settings.teams} teams x '
                f"{settings.athletes} athletes x {settings.days} days (seed {settings.seed}) "
                f"in {elapsed:.1f} s."
            )
        )
        for label, count in result.counts.items():
            self.stdout.write(f"  {label:<28} {count:>9,}")
        self.stdout.write(
            "Dates end today and move with the day of the run; the shape (pre-season spike "
            "4-5 months back, weekly match days, recent injuries) stays the same."
        )
        self.stdout.write(f"\nDemo logins (password for every demo user: {demo.DEMO_PASSWORD})")
        width = max(len(login.email) for login in result.logins)
        self.stdout.write(f"  {'email':<{width}}  {'role':<10}  team")
        for login in result.logins:
            self.stdout.write(f"  {login.email:<{width}}  {login.role:<10}  {login.team}")
