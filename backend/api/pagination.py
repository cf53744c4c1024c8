"""Keyset (cursor) pagination for every list: a deep page costs what the first one does (no OFFSET,
no COUNT(*)), and rows inserted while a phone pages through never shift or repeat items.

A list's ordering is total: its last field is unique (the id). A cursor holds the values of every
ordering field of the row it stops at, and the next page is the rows strictly beyond that row in
the list's order, as one row-value comparison: `WHERE (date, created_at, id) < (%s, %s, %s)` on
PostgreSQL, which the index on those columns answers by starting its scan there; Django writes the
equivalent OR-chain on SQLite. A `previous` link reads backwards from the page's first row the same
way. (DRF's own CursorPagination keeps only the first field's value and skips the rows that share
it with an OFFSET: as many rows as a team logs on one date, and capped at 1,000 rows, past which
it repeats pages.)

Cursors are opaque and signed (`django.core.signing`, salted with the model and the ordering): a
malformed, edited or foreign cursor (another list's) is a 400 problem `invalid_cursor`, never a
500 and never a query on values the server did not write.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import BooleanField, Expression, F, Field, Model, Q, QuerySet
from rest_framework import pagination, status
from rest_framework.request import Request
from rest_framework.utils.urls import replace_query_param

from backend.api.errors import DomainError

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class InvalidCursor(DomainError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_cursor"
    default_detail = (
        "The cursor is not one this list issued. Follow `next` or `previous` as given, or start "
        "again from the first page without `cursor`."
    )


@dataclass(frozen=True)
class Keyset:
    """A position in a list: the ordering fields' values of one row, the reading direction
    (`backwards`: the rows before it, for a `previous` link) and whether the row's own position
    is included (only in the link out of a page that came back empty: see `get_next_link`)."""

    values: tuple[Any, ...]
    backwards: bool = False
    inclusive: bool = False


class CursorPagination(pagination.CursorPagination):
    page_size: int | None = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering: tuple[str, ...] = ("-created_at", "-id")

    def paginate_queryset(
        self, queryset: Any, request: Request, view: Any = None
    ) -> list[Any] | None:
        self.request = request
        page_size = self.page_size = self.get_page_size(request)
        if not page_size:
            return None
        self.base_url = request.build_absolute_uri()
        self.ordering = self.get_ordering(request, queryset, view)
        self.fields = [ordering_field(queryset, name.lstrip("-")) for name in self.ordering]
        self.signer = cursor_signer(queryset.model, self.ordering)
        self.position = self.decode_keyset(request)

        backwards = self.position is not None and self.position.backwards
        queryset = queryset.order_by(*(_reversed(self.ordering) if backwards else self.ordering))
        if self.position is not None:
            queryset = queryset.filter(beyond(self.ordering, self.position))
        rows = list(queryset[: page_size + 1])
        more = len(rows) > page_size
        self.page = rows[:page_size]
        if backwards:
            self.page.reverse()
            self.has_next, self.has_previous = True, more
        else:
            self.has_next, self.has_previous = more, self.position is not None
        if (self.has_next or self.has_previous) and self.template is not None:
            self.display_page_controls = True
        return self.page

    # --- links -------------------------------------------------------------------------------
    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        if not self.page:
            return self.link(self._turned())
        return self.link(Keyset(self._values(self.page[-1])))

    def get_previous_link(self) -> str | None:
        if not self.has_previous:
            return None
        if not self.page:
            return self.link(self._turned())
        return self.link(Keyset(self._values(self.page[0]), backwards=True))

    def _turned(self) -> Keyset:
        """The way back out of a page that came back empty (every row beyond its cursor deleted
        since the cursor was issued): every row the cursor did not select, from the same place,
        so the row the cursor names comes back with the page it was on."""
        assert self.position is not None  # an empty page with a link out had a cursor
        return Keyset(
            self.position.values,
            backwards=not self.position.backwards,
            inclusive=not self.position.inclusive,
        )

    def link(self, keyset: Keyset) -> str:
        assert self.base_url is not None  # set with the page
        return str(replace_query_param(self.base_url, self.cursor_query_param, self.encode(keyset)))

    def _values(self, row: Model) -> tuple[Any, ...]:
        return tuple(getattr(row, name.lstrip("-")) for name in self.ordering)

    # --- cursors -----------------------------------------------------------------------------
    def encode(self, keyset: Keyset) -> str:
        kind = int(keyset.backwards) + 2 * int(keyset.inclusive)
        payload = [kind, *(_dump(value) for value in keyset.values)]
        return self.signer.sign_object(payload)

    def decode_keyset(self, request: Request) -> Keyset | None:
        raw = request.query_params.get(self.cursor_query_param)
        if not raw:
            return None
        try:
            payload = self.signer.unsign_object(raw)
            if not isinstance(payload, list) or len(payload) != len(self.fields) + 1:
                raise InvalidCursor()
            kind, *raw_values = payload
            if kind not in (0, 1, 2, 3) or any(value is None for value in raw_values):
                raise InvalidCursor()
            values = tuple(
                field.to_python(value) for field, value in zip(self.fields, raw_values, strict=True)
            )
        except (signing.BadSignature, DjangoValidationError, ValueError, TypeError, zlib.error):
            raise InvalidCursor() from None
        return Keyset(values, backwards=bool(kind & 1), inclusive=bool(kind & 2))


def ordered_by(*fields: str) -> type[CursorPagination]:
    """Keyset pagination over `fields`: non-null model fields, the last one unique (the id), so the
    order is total and a row's values name its place. An index on them makes every page cheap."""
    return type(
        f"CursorPagination_{'_'.join(f.strip('-') for f in fields)}",
        (CursorPagination,),
        {"ordering": fields},
    )


def ordering_field(queryset: QuerySet[Any, Any], name: str) -> Field[Any, Any]:
    """The field an ordering name sorts by: a model field, or an annotation's output field (the
    soreness flags sort entries by their report's `reported_at`)."""
    annotation = queryset.query.annotations.get(name)
    if annotation is not None:
        return annotation.output_field
    field = queryset.model._meta.get_field(name)
    assert isinstance(field, Field)  # not a reverse relation
    return field


def cursor_signer(model: type[Model], ordering: Sequence[str]) -> signing.Signer:
    """Signs the cursors of one list: a cursor of another model or ordering does not verify."""
    return signing.Signer(salt=f"{__name__}:{model._meta.label}:{','.join(ordering)}")


def beyond(ordering: Sequence[str], keyset: Keyset) -> Q:
    """The rows after `keyset` in `ordering` (before it when reading backwards), strictly unless
    the keyset is inclusive.

    Consecutive fields sorted the same way compare as one row value, `(a, b, id) < (x, y, z)`,
    the form a B-tree index scan starts from; a change of direction nests: `a > x OR (a = x AND
    (b, id) < (y, z))`.
    """
    groups: list[tuple[bool, list[str], list[Any]]] = []  # (descending, names, values)
    for name, value in zip(ordering, keyset.values, strict=True):
        descending = name.startswith("-") != keyset.backwards
        if groups and groups[-1][0] == descending:
            groups[-1][1].append(name.lstrip("-"))
            groups[-1][2].append(value)
        else:
            groups.append((descending, [name.lstrip("-")], [value]))
    descending, names, values = groups[-1]
    condition = _past(names, values, descending=descending, inclusive=keyset.inclusive)
    for descending, names, values in reversed(groups[:-1]):
        condition = _past(names, values, descending=descending) | (
            _equal(names, values) & condition
        )
    return condition


def _past(names: list[str], values: list[Any], *, descending: bool, inclusive: bool = False) -> Q:
    return Q(
        RowComparison(names, ("<" if descending else ">") + ("=" if inclusive else ""), values)
    )


def _equal(names: list[str], values: list[Any]) -> Q:
    return Q(RowComparison(names, "=", values))


class RowComparison(Expression):
    """`(a, b, id) < (%s, %s, %s)` (or `>`, `<=`, `>=`, `=`): a row-value comparison, which a
    B-tree index on (a, b, id) answers with a range scan. Where Django says row values are not
    supported (its SQLite backend) the same test is written as an OR-chain. (Django 5.2's tuple
    lookups write the same SQL, through a module it does not document, and take about 45 us more
    to build.)"""

    output_field = BooleanField()

    def __init__(self, names: Sequence[str], operator: str, values: Sequence[Any]) -> None:
        super().__init__()
        self.columns: list[Any] = [F(name) for name in names]
        self.operator = operator
        self.values = list(values)

    def get_source_expressions(self) -> list[Any]:
        return self.columns

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        self.columns = list(exprs)

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[Any, ...]]:
        terms = [  # (column's SQL, its params, the value as the database takes it)
            (*compiler.compile(column), column.output_field.get_db_prep_value(value, connection))
            for column, value in zip(self.columns, self.values, strict=True)
        ]
        if connection.features.supports_tuple_lookups or len(terms) == 1:
            columns = ", ".join(sql for sql, _, _ in terms)
            placeholders = ", ".join(["%s"] * len(terms))
            return f"({columns}) {self.operator} ({placeholders})", (
                *(p for _, params, _ in terms for p in params),
                *(value for _, _, value in terms),
            )
        if self.operator == "=":
            return " AND ".join(f"{sql} = %s" for sql, _, _ in terms), tuple(
                p for _, params, value in terms for p in (*params, value)
            )
        # a < x OR (a = x AND (b < y OR (b = y AND c < z))); `<=` only on the last column
        column, params, value = terms[-1]
        sql, args = f"{column} {self.operator} %s", (*params, value)
        for column, params, value in reversed(terms[:-1]):
            sql = f"({column} {self.operator[0]} %s OR ({column} = %s AND {sql}))"
            args = (*params, value, *params, value, *args)
        return sql, args


def _reversed(ordering: Sequence[str]) -> tuple[str, ...]:
    return tuple(name[1:] if name.startswith("-") else f"-{name}" for name in ordering)


def _dump(value: Any) -> Any:
    """A field value as JSON that the field's `to_python` reads back exactly."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    if value is None:
        raise ValueError("keyset pagination needs non-null ordering fields")
    return value
