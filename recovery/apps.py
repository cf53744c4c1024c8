from __future__ import annotations

import sqlite3
from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created


def use_sqlite_variable_limit(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Let bulk writes use the SQLite library's real limit of bound variables per statement.

    Django 5.2 assumes SQLite's historic compile-time default of 999 and splits a bulk_create of
    500 rows into many INSERTs; SQLite 3.32+ allows 32766 (Debian's build 250000), which Django 6
    reads from the connection too. With it a sync push writes the same number of statements on
    SQLite as on PostgreSQL (recovery/sync/push.py)."""
    if connection.vendor == "sqlite":
        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        connection.features.max_query_params = max(limit, 999)


class RecoveryConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "recovery"
    verbose_name = "Recovery records"

    def ready(self) -> None:
        from recovery.sync import capture

        capture.connect()
        connection_created.connect(use_sqlite_variable_limit, dispatch_uid="recovery-sqlite-limit")

        from recovery.services import daily_loads

        daily_loads.connect()  # the per-day load table follows every training-session write
