"""Writing the change log (`SyncChange`): ids only, in the writer's transaction.

`txid` is what makes pulls miss nothing (docs/sync.md): on PostgreSQL the id of the transaction
that writes the row, read by the INSERT itself (`pg_current_xact_id()`, no extra query); on SQLite
0, because there one writer at a time means commit order is `id` order. `changed_at` is the
database's clock. Rows are hints that something changed: a pull renders each record as it is at
pull time, so a row too many costs a little bandwidth and a row missing loses data. When in doubt,
write one.

Every writer of an athlete's records comes through here, so this is also where the athletes'
stored state is invalidated (`AthleteRecoveryState`, `recovery.selectors.state`): each batch
bumps the `version` of the athletes it names, in the same transaction, with ONE statement
(creating the rows that are missing, so that a reader computing a state for an athlete that had
none cannot store it over this write; rows in id order, so concurrent writers lock them in the
same order). On PostgreSQL `record_many` writes the log rows and the bump with one statement.
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

from accounts.models import AthleteProfile, Membership, User
from backend.db import prepared_cursor
from recovery.models import (
    AthleteRecoveryState,
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
STATE_BATCH_SIZE = 500
# Column order of the PostgreSQL INSERT in record_many (its SELECT list follows it).
_UNNEST_COLUMNS = ("txid", "changed_at", "kind", "record_id", "athlete_id", "team_id", "op")


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
    """Rows for many changes, and the bump of their athletes' stored state. On PostgreSQL one
    statement: an INSERT ... SELECT FROM UNNEST (an array per column: 2 ms for 500 rows, where
    bulk_create compiled the two expressions of every row for 26 ms) in a data-modifying WITH,
    whose returned athletes the state upsert bumps. Elsewhere bulk INSERTs of up to
    BULK_BATCH_SIZE rows, then `invalidate_states`."""
    changes = list(changes)
    if not changes:
        return
    if connections[using].vendor == "postgresql":
        _insert_unnest(changes, using=using)
        return
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
    SyncChange.objects.using(using).bulk_create(rows, batch_size=BULK_BATCH_SIZE)
    invalidate_states([row.athlete_id for row in rows], using=using)


def _insert_unnest(changes: Sequence[Change], *, using: str) -> None:
    """The change-log rows and the state bump of their athletes (distinct, in id order, as
    `invalidate_states` orders them), in one statement: the WITH's INSERT runs to completion
    whatever the outer statement does with its rows."""
    connection = connections[using]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in _UNNEST_COLUMNS)  # plain fields: column = name
    athlete = quote("athlete_id")
    changed = (
        f"SELECT DISTINCT {athlete}, 1 FROM changed WHERE {athlete} IS NOT NULL ORDER BY {athlete}"
    )
    sql = (
        f"WITH changed AS (INSERT INTO {quote(SyncChange._meta.db_table)} ({columns}) "
        f"SELECT {PG_TXID_SQL}, STATEMENT_TIMESTAMP(), c.kind, c.record_id, c.athlete_id, "
        "c.team_id, c.op FROM UNNEST(%s::varchar[], %s::uuid[], %s::uuid[], %s::uuid[], "
        f"%s::varchar[]) AS c(kind, record_id, athlete_id, team_id, op) RETURNING {athlete}) "
        f"{_state_upsert(connection, changed)}"
    )
    params: list[Any] = [
        [str(change.kind) for change in changes],
        [change.record_id for change in changes],
        [change.athlete_id for change in changes],
        [change.team_id for change in changes],
        [str(change.op) for change in changes],
    ]
    with prepared_cursor(using) as cursor:
        cursor.execute(sql, params)


# --- The athletes' stored state ------------------------------------------------------------------
def _state_upsert(connection: Any, select_sql: str) -> str:
    """INSERT ... ON CONFLICT that bumps the version of every athlete id `select_sql` gives (one
    column, distinct, in order), creating missing rows at version 1."""
    quote = connection.ops.quote_name
    table = quote(AthleteRecoveryState._meta.db_table)
    athlete = quote(AthleteRecoveryState._meta.get_field("athlete").column)
    version = quote("version")
    return (
        f"INSERT INTO {table} ({athlete}, {version}) {select_sql} "
        f"ON CONFLICT ({athlete}) DO UPDATE SET {version} = {table}.{version} + 1"
    )


def invalidate_states(
    athlete_ids: Iterable[uuid.UUID | None], *, using: str = DEFAULT_DB_ALIAS
) -> None:
    """Bump the stored state of these athletes: one statement (per 500 athletes)."""
    ids = sorted({athlete_id for athlete_id in athlete_ids if athlete_id is not None})
    if not ids:
        return
    connection = connections[using]
    field = AthleteRecoveryState._meta.get_field("athlete")
    for start in range(0, len(ids), STATE_BATCH_SIZE):
        batch = ids[start : start + STATE_BATCH_SIZE]
        values = ", ".join(["(%s, 1)"] * len(batch))
        with connection.cursor() as cursor:
            cursor.execute(
                _state_upsert(connection, f"VALUES {values}"),
                [field.get_db_prep_value(athlete_id, connection) for athlete_id in batch],
            )


def invalidate_athlete_states(
    athlete_ids: Iterable[uuid.UUID], *, using: str = DEFAULT_DB_ALIAS
) -> None:
    """Bump the stored state of these users (their profile or memberships changed: their sport
    or time zone may have): one statement."""
    ids = sorted(set(athlete_ids))
    if ids:
        connection = connections[using]
        prep = User._meta.pk.get_db_prep_value
        _bump_athletes(
            connection,
            f"u.{connection.ops.quote_name('id')} IN ({', '.join(['%s'] * len(ids))})",
            [prep(athlete_id, connection) for athlete_id in ids],
        )


def invalidate_team_states(team_id: uuid.UUID, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Bump the stored state of every member of a team (its sport or time zone may have
    changed): one statement."""
    connection = connections[using]
    quote = connection.ops.quote_name
    members = (
        f"u.{quote('id')} IN (SELECT {quote('user_id')} FROM "
        f"{quote(Membership._meta.db_table)} WHERE {quote('team_id')} = %s)"
    )
    _bump_athletes(connection, members, [User._meta.pk.get_db_prep_value(team_id, connection)])


def invalidate_all_states(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """Bump every athlete's stored state (a catalogue edit: names, sides, regions and demand are
    in every recommendation): one statement."""
    _bump_athletes(connections[using], "1 = 1", [])


def _bump_athletes(connection: Any, where: str, params: list[Any]) -> None:
    """Bump the state of the users `where` selects (alias `u`) who are athletes (with a profile)
    or have a state row. Not the others: an erased user, whose profile and state are deleted,
    gets none back from the deactivation of their memberships."""
    quote = connection.ops.quote_name
    pk = quote(User._meta.pk.column)
    profiles = quote(AthleteProfile._meta.db_table)
    states = quote(AthleteRecoveryState._meta.db_table)
    select = (
        f"SELECT u.{pk}, 1 FROM {quote(User._meta.db_table)} u WHERE {where} AND ("
        f"EXISTS (SELECT 1 FROM {profiles} p WHERE p.{quote('user_id')} = u.{pk}) OR "
        f"EXISTS (SELECT 1 FROM {states} s WHERE s.{quote('athlete_id')} = u.{pk})) "
        f"ORDER BY u.{pk}"
    )
    with connection.cursor() as cursor:
        cursor.execute(_state_upsert(connection, select), params)


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
    selects, athletes = [], []
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
        athlete = (
            source.queryset.using(using)
            .order_by()
            .annotate(state_athlete=F(source.athlete))
            .values_list("state_athlete")
        )
        athlete.query.select_for_update = False
        athletes.append(athlete)
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
    changed = athletes[0].union(*athletes[1:], all=True) if len(athletes) > 1 else athletes[0]
    sql, params = changed.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            _state_upsert(
                connection,
                f"SELECT state_athlete, 1 FROM ({sql}) changed WHERE state_athlete IS NOT NULL "
                "GROUP BY state_athlete ORDER BY state_athlete",
            ),
            params,
        )
