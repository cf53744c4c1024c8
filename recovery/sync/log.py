"""Writing the change log (`SyncChange`): ids only, in the writer's transaction.

`txid` is what makes pulls miss nothing (docs/sync.md): on PostgreSQL the id of the transaction
that writes the row, read by the INSERT itself (`pg_current_xact_id()`, no extra query); on SQLite
0, because there one writer at a time means commit order is `id` order. `changed_at` is the
database's clock. Rows are hints that something changed: a pull renders each record as it is at
pull time, so a row too many costs a little bandwidth and a row missing loses data. When in doubt,
write one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import BigIntegerField, CharField, Expression, F, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Now

from recovery.models import (
    Injury,
    MassageSession,
    SorenessReport,
    SyncChange,
    SyncKind,
    SyncOp,
    TrainingSession,
)

PG_TXID_SQL = "pg_current_xact_id()::text::bigint"
BULK_BATCH_SIZE = 2000


def txid_expression(using: str = DEFAULT_DB_ALIAS) -> Expression:
    """The writing transaction's id (PostgreSQL), evaluated by the statement that inserts."""
    if connections[using].vendor == "postgresql":
        return RawSQL(PG_TXID_SQL, [], output_field=BigIntegerField())
    return Value(0, output_field=BigIntegerField())


@dataclass(frozen=True)
class Change:
    kind: SyncKind
    record_id: uuid.UUID
    athlete_id: uuid.UUID | None
    op: SyncOp
    team_id: uuid.UUID | None = None


def record(change: Change, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """One row (one INSERT)."""
    record_many([change], using=using)


def record_many(changes: Iterable[Change], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Rows for many changes with bulk INSERTs (one for up to BULK_BATCH_SIZE rows)."""
    txid, now = txid_expression(using), Now()
    rows = [
        SyncChange(
            txid=txid,
            kind=change.kind,
            record_id=change.record_id,
            athlete_id=change.athlete_id,
            team_id=change.team_id,
            op=change.op,
            changed_at=now,
        )
        for change in changes
    ]
    if rows:
        SyncChange.objects.using(using).bulk_create(rows, batch_size=BULK_BATCH_SIZE)


@dataclass(frozen=True)
class Source:
    """Rows of `queryset` to log as `kind`: `record` and `athlete` are paths from its model to
    the record's id and the athlete's id (`pk`/`athlete_id` for a record, `report_id`/
    `report__athlete_id` for a soreness entry standing for its report)."""

    kind: SyncKind
    queryset: QuerySet[Any, Any]
    record: str = "pk"
    athlete: str = "athlete_id"
    distinct: bool = False  # several rows may stand for one record (entries of one report)


RECORD_MODELS: dict[SyncKind, type[Any]] = {
    SyncKind.TRAINING_SESSION: TrainingSession,
    SyncKind.SORENESS_REPORT: SorenessReport,
    SyncKind.MASSAGE_SESSION: MassageSession,
    SyncKind.INJURY: Injury,
}


def records_of(athletes: Any) -> list[Source]:
    """Every synced record of `athletes`: one athlete's id, or a queryset of user ids."""
    lookup = "athlete_id__in" if isinstance(athletes, QuerySet) else "athlete_id"
    return [
        Source(kind, model._default_manager.filter(**{lookup: athletes}))
        for kind, model in RECORD_MODELS.items()
    ]


def record_from(sources: Sequence[Source], *, op: SyncOp, using: str = DEFAULT_DB_ALIAS) -> None:
    """One INSERT ... SELECT for every row of every source (however many: nothing is loaded into
    Python). For the bulk paths: grants of access, consent changes, cascading deletes, demo data."""
    txid = txid_expression(using)
    selects = []
    for source in sources:
        select = (
            source.queryset.using(using)
            .order_by()
            .annotate(
                sync_txid=txid,
                sync_kind=Value(str(source.kind), output_field=CharField()),
                sync_record=F(source.record),
                sync_athlete=F(source.athlete),
                sync_op=Value(str(op), output_field=CharField()),
                sync_at=Now(),
            )
            .values_list(
                "sync_txid", "sync_kind", "sync_record", "sync_athlete", "sync_op", "sync_at"
            )
        )
        if source.distinct:
            select = select.distinct()
        select.query.select_for_update = False  # a deleting queryset may lock; an INSERT needs not
        try:
            select.query.sql_with_params()
        except EmptyResultSet:  # e.g. `pk__in=[]`: nothing to log
            continue
        selects.append(select)
    if not selects:
        return
    query = selects[0].union(*selects[1:], all=True) if len(selects) > 1 else selects[0]
    sql, params = query.query.sql_with_params()
    table = SyncChange._meta.db_table
    connection = connections[using]
    columns = ", ".join(
        connection.ops.quote_name(name)
        for name in ("txid", "kind", "record_id", "athlete_id", "op", "changed_at")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(table)} ({columns}) {sql}",
            params,
        )
