"""What every write of an athlete's record shares: which athlete a new record is for and whether
the actor may write it (through `accounts.access`), creates with a client-chosen id that are safe
to retry, and versioned writes that honour `If-Match` (backend/api/concurrency.py).

Creates (`create_once`): the phone may choose the record's UUID. Sending the same record again
(same id, same content) returns the stored one and creates nothing; the same id with other content
is a 409 `id_conflict` carrying the stored record; an id taken by another athlete's record is a 409
`id_conflict` that says nothing about it. "Same content" is the client-writable fields, nested rows
included in any order. Concurrent creates with one id race on the primary key: the losers' INSERT
fails inside a savepoint and they compare with the winner's row instead.

Writes (`save_new_version`, `delete_version`): the version check and the write are one statement,
`UPDATE ... SET ..., version = version + 1 WHERE id = %s AND version = %s`, where the version is
the one the change was computed from. When it matches no row, someone wrote in between: with
If-Match that is a 412; without, the change is computed again on the row as it is now, locked.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import IntegrityError, router, transaction
from django.db.models import F, Model
from django.db.models.signals import post_save
from django.utils import timezone
from rest_framework import exceptions

from accounts.access import Access, Action, Resource, allowed
from accounts.models import AthleteProfile
from backend.api.concurrency import NO_PRECONDITION, IdConflict, IfMatch, PreconditionFailed
from recovery.models import SyncedRecord

RecordT = TypeVar("RecordT", bound=SyncedRecord)
Changes = Mapping[str, Any] | Callable[[RecordT], Mapping[str, Any]]

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
    visible = bool(access.relations_to_athlete(athlete_id) & allowed(resource, Action.READ))
    if athlete_id == access.user.pk:  # SELF counts only for athletes
        visible = visible and AthleteProfile.objects.filter(user_id=athlete_id).exists()
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

    def create(self, parent: Model) -> None:
        self.model._default_manager.bulk_create(
            self.model(**{self.parent_field: parent}, **row) for row in self.rows
        )

    def same_as_stored(self, parent: Model) -> bool:
        """Equal as multisets: the order the rows are sent in does not matter."""
        stored = getattr(parent, self.related_name).all()
        new = (self.model(**row) for row in self.rows)
        return Counter(_values(row, self.compare) for row in stored) == Counter(
            _values(row, self.compare) for row in new
        )


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
    when given, and say whether it is new. Call it inside a transaction.

    A record already stored under that id is returned unchanged (False) when it is this
    athlete's and its `compare` fields and nested rows equal the new ones: a retry creates
    nothing. Otherwise it is a 409 `id_conflict`, carrying the stored record only when it is
    this athlete's (the view shows it if the caller may see it), never another athlete's."""
    record = model(athlete_id=athlete_id, **fields)
    if record_id is None:
        record.save(force_insert=True)
    else:
        record.pk = record_id
        stored = model._default_manager.filter(pk=record_id).first()
        if stored is not None:
            return _same_or_conflict(stored, record, compare=compare, nested=nested), False
        try:
            with transaction.atomic():  # a savepoint: a lost race leaves the transaction usable
                record.save(force_insert=True)
        except IntegrityError:
            # Another request inserted this id since the lookup (it waited for that one to
            # commit): compare with the row it stored, as if it had been there all along.
            stored = model._default_manager.filter(pk=record_id).first()
            if stored is None:
                raise
            return _same_or_conflict(stored, record, compare=compare, nested=nested), False
    if nested is not None:
        nested.create(record)
    return record, True


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
