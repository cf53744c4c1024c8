"""Writes of training sessions. Internal load is session RPE: `load_au = rpe x duration_min`
(Foster et al., 2001), computed here on every save, never sent by the client."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import TypedDict, Unpack

from django.db import transaction

from accounts.access import Access, Resource
from backend.api.concurrency import NO_PRECONDITION, IfMatch
from recovery.models import TrainingSession
from recovery.services.common import (
    athlete_for_new_record,
    create_once,
    delete_version,
    require_write,
    save_new_version,
)


class TrainingSessionFields(TypedDict, total=False):
    date: date
    started_at: datetime | None
    session_type: str
    duration_min: int
    rpe: int
    distance_km: Decimal | None
    avg_heart_rate: int | None
    notes: str


def training_load_au(*, rpe: int, duration_min: int) -> int:
    """Session RPE load (Foster et al., 2001): RPE x minutes, in AU. Every write of a session
    (this module, the sync batch push) stores it through here."""
    return rpe * duration_min


CONTENT = TrainingSessionFields.__optional_keys__
"""What the client writes: a repeated create is the same session when these are equal."""


def training_session_log(
    *,
    access: Access,
    athlete_id: uuid.UUID | None = None,
    record_id: uuid.UUID | None = None,
    **fields: Unpack[TrainingSessionFields],
) -> tuple[TrainingSession, bool]:
    """Log a session for an athlete (the caller when omitted); returns it and whether it is new
    (False: a repeat of a create stored under `record_id` with the same content)."""
    athlete_id = athlete_for_new_record(
        access=access, resource=Resource.TRAINING_SESSION, athlete_id=athlete_id
    )
    return create_once(
        TrainingSession,
        record_id=record_id,
        athlete_id=athlete_id,
        fields={
            **fields,
            "created_by": access.user,
            "load_au": training_load_au(rpe=fields["rpe"], duration_min=fields["duration_min"]),
        },
        compare=CONTENT,
    )


@transaction.atomic
def training_session_update(
    *,
    access: Access,
    session: TrainingSession,
    if_match: IfMatch = NO_PRECONDITION,
    **changes: Unpack[TrainingSessionFields],
) -> TrainingSession:
    """Change some fields; the load is computed again, from the stored RPE and minutes where
    the change leaves them as they are."""
    require_write(access=access, resource=Resource.TRAINING_SESSION, athlete_id=session.athlete_id)

    def with_load(stored: TrainingSession) -> dict[str, object]:
        rpe = changes.get("rpe", stored.rpe)
        duration_min = changes.get("duration_min", stored.duration_min)
        return {**changes, "load_au": training_load_au(rpe=rpe, duration_min=duration_min)}

    return save_new_version(session, with_load, if_match=if_match)


@transaction.atomic
def training_session_delete(
    *, access: Access, session: TrainingSession, if_match: IfMatch = NO_PRECONDITION
) -> None:
    require_write(access=access, resource=Resource.TRAINING_SESSION, athlete_id=session.athlete_id)
    delete_version(session, if_match=if_match)
