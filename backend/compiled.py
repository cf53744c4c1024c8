"""Querysets compiled once per process and run many times with new values.

Building a queryset and compiling it to SQL costs Django more than PostgreSQL takes to run the
hot reads of the team views and the recommendation (docs/performance.md: 0.3-1.5 ms a query,
15 ms for the signals UNION), and the JWT user query with its role facts (`accounts.auth`).
These reads are built once per process and shape with sentinel values (`Placeholders`) where the
request's values go; the SQL is kept, and each run puts the real values in the sentinels'
places. A list placeholder (`uuids`) is one sentinel in an
`IN (...)` that a run expands to as many parameters as it has values.

Only parameters are replaced, never SQL text: the queryset is the ORM's, so lookups, joins and
the access rules (`accounts.access`) are the same as anywhere else, on every database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from django.db import connection
from django.db.models import QuerySet

from accounts.models import User
from backend.db import prepared_cursor

_PLACEHOLDER = "%s"
T = TypeVar("T")


@dataclass
class Placeholders:
    """Sentinel values for a query's inputs, by name: values no request can send."""

    names: dict[Any, tuple[str, bool]] = field(default_factory=dict)
    """Adapted sentinel -> (name, is a list)."""
    _count: int = 0

    def _add(self, name: str, value: T, *, many: bool = False) -> T:
        self._count += 1
        self.names[adapt(value)] = (name, many)
        return value

    def uuid(self, name: str) -> UUID:
        return self._add(name, UUID(int=(0x5E471E1 << 96) + self._count + 1))

    def uuids(self, name: str) -> list[UUID]:
        """A list of ids: one sentinel in the compiled IN (...)."""
        return [self._add(name, UUID(int=(0x5E471E1 << 96) + self._count + 1), many=True)]

    def datetime(self, name: str) -> datetime:
        return self._add(name, datetime(1901, 1, 1, tzinfo=UTC) + timedelta(seconds=self._count))

    def date(self, name: str) -> date:
        return self._add(name, date(1801, 1, 1) + timedelta(days=self._count))


def adapt(value: Any) -> Any:
    """A UUID, datetime (aware) or date as the database driver takes it, as the ORM passes it."""
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return connection.ops.adapt_datefield_value(value)
    return User._meta.pk.get_db_prep_value(value, connection)


Converters = list[tuple[int, list[Any], Any]]
"""(column, the ORM's converters of its value, its expression): what the ORM does to the values
the driver returns (on SQLite: UUIDs, dates and times from text), applied to the raw rows."""


@dataclass(frozen=True)
class CompiledQuery:
    pieces: tuple[str, ...]
    """The SQL split at its parameters."""
    params: tuple[Any, ...]
    slots: Mapping[int, tuple[str, bool]]
    """Index in `params` -> (placeholder name, is a list)."""
    converters: Converters

    def statement(self, values: Mapping[str, Any]) -> tuple[str, list[Any]]:
        sql, params = [self.pieces[0]], []
        for index, param in enumerate(self.params):
            slot = self.slots.get(index)
            if slot is None:
                sql.append(_PLACEHOLDER)
                params.append(param)
            elif slot[1]:
                items = [adapt(value) for value in values[slot[0]]]
                sql.append(", ".join([_PLACEHOLDER] * len(items)))
                params += items
            else:
                sql.append(_PLACEHOLDER)
                params.append(adapt(values[slot[0]]))
            sql.append(self.pieces[index + 1])
        return "".join(sql), params

    def rows(self, **values: Any) -> list[tuple[Any, ...]]:
        sql, params = self.statement(values)
        with prepared_cursor() as cursor:
            cursor.execute(sql, params)
            rows: list[tuple[Any, ...]] = cursor.fetchall()
        if not self.converters:
            return rows
        converted = []
        for row in rows:
            values_ = list(row)
            for position, converters, expression in self.converters:
                value = values_[position]
                for converter in converters:
                    value = converter(value, expression, connection)
                values_[position] = value
            converted.append(tuple(values_))
        return converted


def compiled_sql(queryset: QuerySet[Any, Any]) -> tuple[str, tuple[Any, ...], Converters]:
    """The queryset's SQL, its parameters and the converters of its columns."""
    compiler = queryset.query.get_compiler(using=queryset.db)
    sql, params = compiler.as_sql()
    if compiler.query.combinator:  # a UNION's columns are those of its first query
        compiler = compiler.query.combined_queries[0].get_compiler(using=queryset.db)
        compiler.setup_query()
    found = compiler.get_converters([expression for expression, _, _ in compiler.select])
    converters = [(position, convs, expression) for position, (convs, expression) in found.items()]
    return sql, tuple(params), converters


def compile_query(
    sql: str, params: Sequence[Any], converters: Converters, placeholders: Placeholders
) -> CompiledQuery:
    """`sql` with its `params` and `converters` (from `compiled_sql`, or wrapped around it),
    kept for runs."""
    pieces = sql.split(_PLACEHOLDER)
    slots = {i: placeholders.names[p] for i, p in enumerate(params) if p in placeholders.names}
    if len(pieces) != len(params) + 1 or {name for name, _ in slots.values()} != {
        name for name, _ in placeholders.names.values()
    }:
        raise RuntimeError("every placeholder must be a parameter of the query")
    return CompiledQuery(tuple(pieces), tuple(params), slots, converters)
