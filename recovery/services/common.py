"""What every write of an athlete's record shares: which athlete a new record is for and whether
the actor may write it (through `accounts.access`), safe retries of client-chosen ids, and
versioned saves."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from django.db.models import F
from rest_framework import exceptions

from accounts.access import Access, Action, Resource, allowed
from accounts.models import AthleteProfile
from backend.api.errors import Conflict
from recovery.models import SyncedRecord

RecordT = TypeVar("RecordT", bound=SyncedRecord)


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


def require_write(*, access: Access, resource: Resource, athlete_id: uuid.UUID) -> None:
    """403 unless POLICY lets the actor write `resource` of this (visible) athlete."""
    if not access.can(resource, Action.WRITE, athlete_id=athlete_id):
        raise exceptions.PermissionDenied("Your role does not allow changing this record.")


def create_once(
    model: type[RecordT], *, record_id: uuid.UUID | None, athlete_id: uuid.UUID, **fields: Any
) -> tuple[RecordT, bool]:
    """Create a record (with the client's id when given) and say whether it is new. A retried
    create finds the record stored under that id and gets it back unchanged: nothing is created
    twice. An id already taken by another athlete's record is a 409."""
    if record_id is not None:
        stored = model._default_manager.filter(pk=record_id).first()
        if stored is not None and stored.athlete_id != athlete_id:  # type: ignore[attr-defined]
            raise Conflict("This id is already used by another record.", code="id_conflict")
        if stored is not None:
            return stored, False
    record = model(athlete_id=athlete_id, **fields)
    if record_id is not None:
        record.pk = record_id
    record.save(force_insert=True)
    return record, True


def save_new_version(record: RecordT, changes: dict[str, Any]) -> RecordT:
    """Apply `changes` and bump `version` in the database (concurrent saves never share one)."""
    for name, value in changes.items():
        setattr(record, name, value)
    record.version = F("version") + 1
    record.save()
    record.refresh_from_db(fields=["version"])
    return record
