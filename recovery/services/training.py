"""Writes of training sessions. Internal load is session RPE: `load_au = rpe x duration_min`
(Foster et al., 2001), computed here on every save, never sent by the client."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import TypedDict, Unpack

from django.db import transaction

from accounts.access import Access, Resource
from recovery.models import TrainingSession
from recovery.services.common import (
    athlete_for_new_record,
    create_once,
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


@transaction.atomic
def training_session_log(
    *,
    access: Access,
    athlete_id: uuid.UUID | None = None,
    record_id: uuid.UUID | None = None,
    **fields: Unpack[TrainingSessionFields],
) -> tuple[TrainingSession, bool]:
    """Log a session for an athlete (the caller when omitted); returns it and whether it is new
    (False: a retry of a create already stored under `record_id`)."""
    athlete_id = athlete_for_new_record(
        access=access, resource=Resource.TRAINING_SESSION, athlete_id=athlete_id
    )
    return create_once(
        TrainingSession,
        record_id=record_id,
        athlete_id=athlete_id,
        created_by=access.user,
        load_au=fields["rpe"] * fields["duration_min"],
        **fields,
    )


@transaction.atomic
def training_session_update(
    *, access: Access, session: TrainingSession, **changes: Unpack[TrainingSessionFields]
) -> TrainingSession:
    require_write(access=access, resource=Resource.TRAINING_SESSION, athlete_id=session.athlete_id)
    rpe = changes.get("rpe", session.rpe)
    duration_min = changes.get("duration_min", session.duration_min)
    return save_new_version(session, {**changes, "load_au": rpe * duration_min})


@transaction.atomic
def training_session_delete(*, access: Access, session: TrainingSession) -> None:
    require_write(access=access, resource=Resource.TRAINING_SESSION, athlete_id=session.athlete_id)
    session.delete()
