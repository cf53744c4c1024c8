"""``python manage.py purge_sync_changes``: delete change-log rows older than the retention.

Run it daily (cron, a scheduled job). Rows are kept SYNC_TOMBSTONE_RETENTION_DAYS (default 90)
plus a margin of one day: a pull cursor older than the retention gets 410 `sync_reset_required`
before it could miss a purged row, including a row written by a transaction that was still
running when that cursor was issued. See docs/sync.md.
"""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from recovery.models import SyncChange
from recovery.sync.cursor import retention_days

MARGIN = timedelta(days=1)


class Command(BaseCommand):
    help = "Delete sync change-log rows (tombstones included) older than the retention."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted; delete nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        cutoff = timezone.now() - timedelta(days=retention_days()) - MARGIN
        old = SyncChange.objects.filter(changed_at__lt=cutoff)
        if options["dry_run"]:
            self.stdout.write(
                f"{old.count()} change-log rows are older than {cutoff:%Y-%m-%d %H:%M} UTC."
            )
            return
        deleted, _ = old.delete()
        self.stdout.write(
            f"Deleted {deleted} change-log rows older than {cutoff:%Y-%m-%d %H:%M} UTC."
        )
