"""Pull cursors: where a device is in the change log, as an opaque string.

The change log is read in (txid, id) order, up to the **snapshot horizon** of the pull: on
PostgreSQL `pg_snapshot_xmin(pg_current_snapshot())`, the oldest transaction still running. Every
transaction below it has finished, so no row can ever appear below it later: a cursor never moves
past a change that is still being written. (A transaction that began before a pull and commits
after it has a txid at or above that pull's horizon, so the next pull returns it; docs/sync.md.)
On SQLite one writer at a time makes commit order `id` order: rows carry txid 0 and the horizon is
the next id to be assigned.

A cursor is "v1:<mode>:<horizon>:<a>:<b>:<issued_at>", urlsafe base64 without padding:
- mode `d` (delta): every relevant row at or before position (a, b) = (txid, id) was delivered;
  the next page starts after it. At the end of the log the position is `end_of(horizon)`.
- mode `s` (snapshot, a pull without `since`): kind number `a`, last record id `b` (`-` before
  the first); the horizon is taken when the snapshot starts and becomes the delta position when
  it ends.
`issued_at` (Unix seconds) is when the delivered part was complete: cursors older than the
tombstone retention get 410, as the log they need may have been purged.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from rest_framework import status

from backend.api.errors import DomainError
from recovery.models import SyncChange

VERSION = "v1"
DEFAULT_RETENTION_DAYS = 90


class CursorInvalid(DomainError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "sync_cursor_invalid"
    default_detail = (
        "The sync cursor is not one this server issued. Drop it and pull again without `since`."
    )


class ResetRequired(DomainError):
    status_code = status.HTTP_410_GONE
    default_code = "sync_reset_required"
    default_detail = (
        "The sync cursor is older than the change log keeps deletions. Discard the local copy "
        "and pull again without `since` (a full resync)."
    )


class Mode(StrEnum):
    DELTA = "d"
    SNAPSHOT = "s"


@dataclass(frozen=True)
class Cursor:
    mode: Mode
    horizon: int
    a: int  # delta: last txid; snapshot: kind number
    b: str  # delta: last id; snapshot: last record id ("-" before the first)
    issued_at: int

    @property
    def position(self) -> tuple[int, int]:
        return self.a, int(self.b)

    @property
    def last_record(self) -> uuid.UUID | None:
        return None if self.b == "-" else uuid.UUID(self.b)

    def encode(self) -> str:
        text = ":".join(
            [VERSION, self.mode, str(self.horizon), str(self.a), self.b, str(self.issued_at)]
        )
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
            version, mode, horizon, a, b, issued_at = raw.split(":")
            cursor = cls(Mode(mode), int(horizon), int(a), b, int(issued_at))
            if version != VERSION or min(cursor.horizon, cursor.a, cursor.issued_at) < 0:
                raise ValueError(raw)
            if cursor.mode == Mode.DELTA and int(cursor.b) < 0:
                raise ValueError(raw)
            if cursor.mode == Mode.SNAPSHOT and cursor.b != "-":
                cursor = replace(cursor, b=str(uuid.UUID(cursor.b)))
        except (ValueError, UnicodeError, binascii.Error) as exc:
            raise CursorInvalid() from exc
        return cursor


def retention_days() -> int:
    return int(getattr(settings, "SYNC_TOMBSTONE_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))


def current_horizon(using: str = DEFAULT_DB_ALIAS) -> int:
    """Rows with txid (PostgreSQL) or id (SQLite) below this are final: nothing more can appear
    there. One query."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
            return int(cursor.fetchone()[0])
        # SQLite: AUTOINCREMENT ids are never reused; sqlite_sequence holds the last one given.
        cursor.execute(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM sqlite_sequence WHERE name = %s",
            [SyncChange._meta.db_table],
        )
        return int(cursor.fetchone()[0])


def uses_txid(using: str = DEFAULT_DB_ALIAS) -> bool:
    return connections[using].vendor == "postgresql"


def end_of(horizon: int, using: str = DEFAULT_DB_ALIAS) -> tuple[int, int]:
    """The (txid, id) position just before everything at or after `horizon`."""
    return (horizon, 0) if uses_txid(using) else (0, horizon - 1)


def check(cursor: Cursor, *, horizon: int, now: datetime) -> None:
    """400 for a cursor from the future (a horizon this server has not reached), 410 for one
    older than the retention of tombstones."""
    ahead = cursor.horizon > horizon or cursor.issued_at > now.timestamp() + 60
    if cursor.mode == Mode.DELTA and cursor.position > end_of(cursor.horizon):
        raise CursorInvalid()
    if ahead:
        raise CursorInvalid(
            "The sync cursor is ahead of this server (restored database?). Drop it and pull "
            "again without `since`."
        )
    if cursor.issued_at < now.timestamp() - retention_days() * 86400:
        raise ResetRequired()


def unix(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp())
