"""What every write of an athlete's record shares: which athlete a new record is for and whether
the actor may write it (through `accounts.access`), creates with a client-chosen id that are safe
to retry, and versioned writes that honour `If-Match` (backend/api/concurrency.py).

Creates (`create_once`): the phone may choose the record's UUID. Sending the same record again
(same id, same content) returns the stored one and creates nothing; the same id with other content
is a 409 `id_conflict` carrying the stored record; an id taken by another athlete's record is a 409
`id_conflict` that says nothing about it. "Same content" is the client-writable fields, nested rows
included in any order. Concurrent creates with one id race on the primary key: the losers' INSERT
waits for the winner's transaction and then inserts nothing (PostgreSQL, `ON CONFLICT DO NOTHING`)
or fails inside a savepoint (elsewhere), and they compare with the winner's row instead.

Writes (`save_new_version`, `delete_version`): the version check and the write are one statement,
`UPDATE ... SET ..., version = version + 1 WHERE id = %s AND version = %s`, where the version is
the one the change was computed from. When it matches no row, someone wrote in between: with
If-Match that is a 412; without, the change is computed again on the row as it is now, locked.
"""

from __future__ import annotations

import functools
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import IntegrityError, connections, router, transaction
from django.db.models import (
    BooleanField,
    CharField,
    DateField,
    F,
    Field,
    IntegerField,
    Model,
    TextField,
    UUIDField,
)
from django.db.models.signals import post_save, pre_save
from django.utils import timezone
from rest_framework import exceptions

from accounts.access import IS_ATHLETE, Access, Action, Relation, Resource, allowed, role_fact
from accounts.models import AthleteProfile
from backend.api.concurrency import NO_PRECONDITION, IdConflict, IfMatch, PreconditionFailed
from backend.db import prepared_cursor
from recovery.models import SyncedRecord

RecordT = TypeVar("RecordT", bound=SyncedRecord)
ModelT = TypeVar("ModelT", bound=Model)
Changes = Mapping[str, Any] | Callable[[RecordT], Mapping[str, Any]]

_IS_ATHLETE = "_recovery_is_athlete"

DIFFERENT_CONTENT = (
    "A record with this id already exists with different content; `current` holds it as "
    "stored. Use a new UUID for a new record, or change this one with PATCH and If-Match."
)


def athlete_for_new_record(
    *, access: Access, resource: Resource, athlete_id: uuid.UUID | None
) -> uuid.UUID:
    """The athlete a new record is for: `athlete_id`, or the caller when omitted and the caller
    is an athlete. An athlete the caller cannot see (or who is not one) is a 400 on `athlete`
    (no existence leak, never a create); one they see but may not write for is a 403."""
    omitted = athlete_id is None
    athlete_id = access.user.pk if athlete_id is None else athlete_id
    if athlete_id == access.user.pk and _self_may_write(access, resource):
        return athlete_id  # an athlete's own record: their staff relations are not needed
    visible = bool(access.relations_to_athlete(athlete_id) & allowed(resource, Action.READ))
    if athlete_id == access.user.pk:  # SELF counts only for athletes
        visible = visible and _is_athlete(access)
    if not visible and omitted:
        raise exceptions.ValidationError(
            {"athlete": ["Required: name the athlete this record is for."]}, code="required"
        )
    if not visible:
        raise exceptions.ValidationError(
            {"athlete": ["No athlete with this id that you can see."]}, code="does_not_exist"
        )
    require_write(access=access, resource=resource, athlete_id=athlete_id)
    return athlete_id


def _self_may_write(access: Access, resource: Resource) -> bool:
    """Whether the actor, as the athlete themself, may see and write `resource`: then no other
    relation can change the answer, and none is loaded."""
    self_rights = {Relation.SELF} & allowed(resource, Action.READ) & allowed(resource, Action.WRITE)
    return bool(self_rights) and _is_athlete(access)


def _is_athlete(access: Access) -> bool:
    """Whether the actor has an athlete profile: read with the user when they came from the JWT
    (`accounts.access.with_role_facts`), else asked once per request (the answer is kept with the
    request's Access, like the relations it loads)."""
    known = access.__dict__.get(_IS_ATHLETE)
    if known is None:
        known = role_fact(access.user, IS_ATHLETE)
    if known is None:
        known = AthleteProfile.objects.filter(user_id=access.user.pk).exists()
    access.__dict__[_IS_ATHLETE] = known
    return bool(known)


def require_write(
    *, access: Access, resource: Resource, athlete_id: uuid.UUID, message: str | None = None
) -> None:
    """403 unless POLICY lets the actor write `resource` of this (visible) athlete."""
    if not access.can(resource, Action.WRITE, athlete_id=athlete_id):
        raise exceptions.PermissionDenied(
            message or "Your role does not allow changing this record."
        )


# --- creates with a client-chosen id ------------------------------------------------------------


@dataclass(frozen=True)
class Nested:
    """The rows a record is created with (a report's entries, a session's treated areas).

    `rows` are the field values of each row (server-set ones included); `compare` names the
    client-writable ones, which decide whether a repeated create has the same content."""

    model: type[Model]
    parent_field: str
    related_name: str
    rows: Sequence[Mapping[str, Any]]
    compare: Collection[str]
    order: Callable[[Any], Any] | None = None
    """The model's `Meta.ordering` as a sort key. Given, the created rows become the parent's
    prefetched `related_name`, in that order: rendering the new record reads nothing back."""

    def create(self, parent: Model) -> None:
        rows = [self.model(**{self.parent_field: parent}, **row) for row in self.rows]
        insert_new(self.model, rows)
        if self.order is not None:
            keep_prefetched(parent, self.related_name, sorted(rows, key=self.order))

    def same_as_stored(self, parent: Model) -> bool:
        """Equal as multisets: the order the rows are sent in does not matter."""
        stored = getattr(parent, self.related_name).all()
        new = (self.model(**row) for row in self.rows)
        return Counter(_values(row, self.compare) for row in stored) == Counter(
            _values(row, self.compare) for row in new
        )


def keep_prefetched(parent: Model, related_name: str, rows: Sequence[Model]) -> None:
    """Make `rows` what `parent.<related_name>.all()` returns, as `prefetch_related` does, so
    that serializing rows just written reads nothing back."""
    queryset = getattr(parent, related_name).all()
    queryset._result_cache = list(rows)
    queryset._prefetch_done = True
    cache = parent.__dict__.setdefault("_prefetched_objects_cache", {})
    cache[parent._meta.get_field(related_name).cache_name] = queryset  # type: ignore[union-attr]


def catalogue_order(row: Any) -> tuple[int, bool, str]:
    """The sort key of `Meta.ordering = [<parent>, "muscle_group__sort_order", "side"]` (soreness
    entries, treated areas) among one parent's rows, with NULL sides where the database puts
    them (last on PostgreSQL, first on SQLite)."""
    side = row.side
    nulls_last = connections[router.db_for_read(type(row))].features.nulls_order_largest
    return (row.muscle_group.sort_order, (side is None) == nulls_last, side or "")


def _values(instance: Model, names: Collection[str]) -> tuple[Hashable, ...]:
    """The stored form of each field (`muscle_group_id`, not the object), in a fixed order."""
    attnames = {field.name: field.attname for field in instance._meta.concrete_fields}
    return tuple(getattr(instance, attnames[name]) for name in sorted(names))


def create_once(
    model: type[RecordT],
    *,
    record_id: uuid.UUID | None,
    athlete_id: uuid.UUID,
    fields: Mapping[str, Any],
    compare: Collection[str],
    nested: Nested | None = None,
) -> tuple[RecordT, bool]:
    """Create a record of `athlete_id` with `fields` (and `nested` rows), under the client's id
    when given, and say whether it is new. The record, its nested rows and what their signals
    write are stored together: in the caller's transaction, or in one of their own.

    A record already stored under that id is returned unchanged (False) when it is this
    athlete's and its `compare` fields and nested rows equal the new ones: a retry creates
    nothing. Otherwise it is a 409 `id_conflict`, carrying the stored record only when it is
    this athlete's (the view shows it if the caller may see it), never another athlete's.

    A new id is the common case, so the INSERT comes first. On PostgreSQL it is `INSERT ... ON
    CONFLICT (id) DO NOTHING RETURNING id` (`insert_new`): a taken id (a retry, or a concurrent
    create, waited for until it commits) inserts nothing and raises nothing, so no savepoint is
    needed; the signals `save()` sends are sent for the new row. Elsewhere the INSERT is
    `save()` in a savepoint (a transaction of its own when the caller has none): when the id is
    taken, it fails, the savepoint leaves the caller's transaction usable. Either way the
    stored row is then compared."""
    record = model(athlete_id=athlete_id, **fields)
    if record_id is not None:
        record.pk = record_id
    using = router.db_for_write(model)
    manager = model._default_manager.using(using)
    if connections[using].vendor == "postgresql":
        # No savepoint: an error in here (never a taken id) fails the caller's transaction.
        with transaction.atomic(using=using, savepoint=False):
            if _insert_new(record, nested, using=using):
                return record, True
        stored = manager.filter(pk=record.pk).first()
        if stored is None:  # deleted since the INSERT found it
            raise IntegrityError(f"{model.__name__} {record.pk} was deleted while being created")
    else:
        try:
            with transaction.atomic(using=using):
                _insert(record, nested)
            return record, True
        except IntegrityError:
            stored = None if record_id is None else manager.filter(pk=record_id).first()
            if stored is None:
                raise
    return _same_or_conflict(stored, record, compare=compare, nested=nested), False


def _insert(record: Model, nested: Nested | None) -> None:
    record.save(force_insert=True)
    if nested is not None:
        nested.create(record)


def _insert_new(record: Model, nested: Nested | None, *, using: str) -> bool:
    """PostgreSQL: insert the record unless its id is stored, with what `save()` would have
    done around it (`pre_save` and `post_save`: the change log, the per-day loads), then its
    nested rows. Whether it was inserted."""
    model = type(record)
    pre_save.send(sender=model, instance=record, raw=False, using=using, update_fields=None)
    if not insert_new(model, [record], skip_existing=True):
        return False
    post_save.send(
        sender=model, instance=record, created=True, update_fields=None, raw=False, using=using
    )
    if nested is not None:
        nested.create(record)
    return True


def _same_or_conflict(
    stored: RecordT, new: RecordT, *, compare: Collection[str], nested: Nested | None
) -> RecordT:
    if stored.athlete_id != new.athlete_id:  # type: ignore[attr-defined]
        raise IdConflict()
    same = _values(stored, compare) == _values(new, compare)
    if not same or (nested is not None and not nested.same_as_stored(stored)):
        raise IdConflict(DIFFERENT_CONTENT, record=stored)
    return stored


# --- versioned writes ---------------------------------------------------------------------------


def save_new_version(
    record: RecordT, changes: Changes[RecordT], *, if_match: IfMatch = NO_PRECONDITION
) -> RecordT:
    """Write `changes` and bump `version` with one conditional UPDATE; returns the record as
    written. Call it inside a transaction, after the permission check.

    `changes` is the new field values, or a function computing them from the record as stored
    (it validates there, e.g. a status transition, and raises to refuse). It runs on `record` as
    read by the caller; if the row has changed since, If-Match decides: a named version that is
    no longer current is a 412 with the record as it is now, and `*` or no If-Match computes the
    change again on the row, read with a lock so that the second UPDATE cannot miss. Receivers
    of `post_save` hear of the write as if `save()` had made it."""
    current = record
    for locked in (False, True):
        if_match.check(current)
        values = dict(changes(current) if callable(changes) else changes)
        now = timezone.now()
        written = (
            type(current)
            ._default_manager.filter(pk=current.pk, version=current.version)
            .update(**values, version=F("version") + 1, updated_at=now)
        )
        if written:
            for name, value in values.items():
                setattr(current, name, value)
            current.version += 1
            current.updated_at = now
            _saved(current, update_fields={*values, "version", "updated_at"})
            return current
        if locked:
            break
        current = _reread(current, if_match=if_match)
    raise RuntimeError("a conditional UPDATE of a locked row matched nothing")  # pragma: no cover


def _saved(record: SyncedRecord, *, update_fields: set[str]) -> None:
    """What `save()` tells its receivers (the sync change log among them), which an UPDATE
    through a queryset does not."""
    model = type(record)
    post_save.send(
        sender=model,
        instance=record,
        created=False,
        update_fields=frozenset(update_fields),
        raw=False,
        using=router.db_for_write(model, instance=record),
    )


def delete_version(
    record: RecordT,
    *,
    if_match: IfMatch = NO_PRECONDITION,
    check: Callable[[RecordT], None] | None = None,
) -> None:
    """Delete the record if If-Match still holds (and `check` passes) on the row as it is now,
    locked from the check to the delete. Call it inside a transaction, after the permission
    check."""
    current = _reread(record, if_match=if_match)
    if_match.check(current)
    if check is not None:
        check(current)
    current.delete()


def _reread(record: RecordT, *, if_match: IfMatch) -> RecordT:
    """The record's row as it is now, locked until the transaction ends. Gone: 404, or 412 when
    If-Match was sent (it names a version that no longer exists)."""
    current = type(record)._default_manager.select_for_update().filter(pk=record.pk).first()
    if current is None:
        if if_match.sent:
            raise PreconditionFailed("The record no longer exists.")
        raise exceptions.NotFound()
    return current


# --- bulk inserts of new rows -------------------------------------------------------------------

# Field types whose Python values psycopg sends as they are (the backend's adapt_* functions and
# get_db_prep_save return them unchanged on PostgreSQL): no per-value preparation.
_AS_IS_ON_POSTGRESQL: tuple[type[Field[Any, Any]], ...] = (
    UUIDField,
    IntegerField,
    BooleanField,
    CharField,
    TextField,
    DateField,  # DateTimeField too (a subclass); aware datetimes from the API
)


@dataclass(frozen=True)
class _Column:
    field: Field[Any, Any]
    attname: str
    is_pk: bool
    stamped: bool  # auto_now / auto_now_add: the batch's time
    prepared: bool  # values go through get_db_prep_save (not one of _AS_IS_ON_POSTGRESQL)
    db_type: str  # without its parameters (varchar, not varchar(8)), as Django does for UNNEST


@functools.cache
def _insert_shape(model: type[Model], using: str) -> tuple[str, tuple[_Column, ...], str]:
    """What `insert_new` needs of a model, worked out once per process: `INSERT INTO t (...)`,
    the columns in that order, and the quoted primary key."""
    connection = connections[using]
    quote = connection.ops.quote_name
    fields = model._meta.local_concrete_fields
    columns = []
    for field in fields:
        target = field.target_field if field.is_relation else field  # type: ignore[attr-defined]
        columns.append(
            _Column(
                field=field,
                attname=field.attname,
                is_pk=field is model._meta.pk,
                stamped=getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False),
                prepared=not isinstance(target, _AS_IS_ON_POSTGRESQL),
                db_type=str(field.db_type(connection)).split("(")[0],
            )
        )
    names = ", ".join(quote(str(field.column)) for field in fields)
    insert_into = f"INSERT INTO {quote(model._meta.db_table)} ({names})"
    return insert_into, tuple(columns), quote(str(model._meta.pk.column))


def insert_new(
    model: type[Model], objs: Sequence[ModelT], *, skip_existing: bool = False
) -> list[ModelT]:
    """`bulk_create(objs)` for new rows, without Django's per-value work on PostgreSQL: one
    `INSERT ... SELECT ... FROM UNNEST(<an array per column>)`, built straight from the objects'
    attributes; a column whose value is the same in every row (the athlete, the day, the
    timestamps, defaults) is sent once instead of as an array. Every column is written from the
    object (defaults were applied when it was built); `auto_now` / `auto_now_add` timestamps get
    the batch's time, as `pre_save` gives them. Sends no signals, like `bulk_create`: log the
    change and refresh what derives from it.

    The objects must have their primary keys (a UUID default gives them one when they are
    built). `skip_existing`: an object whose primary key is stored is left out (`ON CONFLICT DO
    NOTHING`; a row another transaction is inserting is waited for). Returns the objects
    inserted. Other databases (one writer at a time): the stored keys are read first, then
    `bulk_create`."""
    if not objs:
        return []
    if any(obj.pk is None for obj in objs):
        raise ValueError("insert_new() writes every column: give each object its primary key")
    using = router.db_for_write(model)
    connection = connections[using]
    manager = model._default_manager.using(using)
    if connection.vendor != "postgresql":
        new = list(objs)
        if skip_existing:
            keys = [obj.pk for obj in objs]
            stored = set(manager.filter(pk__in=keys).values_list("pk", flat=True))
            new = [obj for obj in objs if obj.pk not in stored]
        manager.bulk_create(new)
        return new
    now = timezone.now()
    insert_into, columns, key = _insert_shape(model, using)
    selected: list[str] = []  # per column: a value sent once, or the column of the arrays
    once: list[Any] = []
    arrays: list[Any] = []
    array_types: list[str] = []
    for column in columns:
        if column.stamped:
            for obj in objs:
                setattr(obj, column.attname, now)
        values = [getattr(obj, column.attname) for obj in objs]
        if column.prepared:
            values = [column.field.get_db_prep_save(value, connection) for value in values]
        if not column.is_pk and all(value == values[0] for value in values):
            selected.append(f"%s::{column.db_type}")
            once.append(values[0])
        else:
            selected.append(f"rows.c{len(arrays)}")
            arrays.append(values)
            array_types.append(f"%s::{column.db_type}[]")
    aliases = ", ".join(f"c{index}" for index in range(len(arrays)))
    sql = (
        f"{insert_into} SELECT {', '.join(selected)} "
        f"FROM UNNEST({', '.join(array_types)}) AS rows({aliases})"
    )
    with prepared_cursor(using) as cursor:
        if not skip_existing:
            cursor.execute(sql, [*once, *arrays])
            new = list(objs)
        else:
            conflict = f" ON CONFLICT ({key}) DO NOTHING RETURNING {key}"
            cursor.execute(sql + conflict, [*once, *arrays])
            pk = model._meta.pk
            inserted = {pk.to_python(row[0]) for row in cursor.fetchall()}
            new = [obj for obj in objs if pk.to_python(obj.pk) in inserted]
    for obj in new:
        obj._state.adding = False
        obj._state.db = using
    return new
