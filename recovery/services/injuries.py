"""Writes of injuries, recorded by therapists.

Status moves forward, active -> rehab -> resolved (active -> resolved when no rehabilitation
was needed), and a resolved injury may become active again (re-injury). `resolved_date` belongs
to resolved injuries only: it defaults to today (UTC) on resolving and is cleared on re-injury.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import TypedDict, Unpack

from django.db import transaction
from django.utils import timezone
from rest_framework import exceptions

from accounts.access import Access, Resource
from backend.api.concurrency import NO_PRECONDITION, IfMatch
from recovery.models import Injury, InjuryStatus, MuscleGroup
from recovery.services.common import (
    athlete_for_new_record,
    create_once,
    delete_version,
    require_write,
    save_new_version,
)

TRANSITIONS: dict[str, frozenset[str]] = {
    InjuryStatus.ACTIVE: frozenset({InjuryStatus.REHAB, InjuryStatus.RESOLVED}),
    InjuryStatus.REHAB: frozenset({InjuryStatus.RESOLVED}),
    InjuryStatus.RESOLVED: frozenset({InjuryStatus.ACTIVE}),
}


class InjuryFields(TypedDict, total=False):
    muscle_group: MuscleGroup
    side: str | None
    onset_date: date
    status: str
    resolved_date: date | None
    notes: str


CONTENT = InjuryFields.__optional_keys__
"""What the client writes: a repeated create is the same injury when these are equal (a
`resolved_date` the server chose, when the client sent none, is left out)."""


@transaction.atomic
def injury_record(
    *,
    access: Access,
    athlete_id: uuid.UUID | None = None,
    record_id: uuid.UUID | None = None,
    **fields: Unpack[InjuryFields],
) -> tuple[Injury, bool]:
    """Record an injury of an athlete; returns it and whether it is new (False: a repeat of a
    create stored under `record_id` with the same content)."""
    athlete_id = athlete_for_new_record(
        access=access, resource=Resource.INJURY, athlete_id=athlete_id
    )
    status = fields.get("status", InjuryStatus.ACTIVE)
    resolved_date = _resolved_date(status, fields.get("resolved_date"), fields["onset_date"])
    return create_once(
        Injury,
        record_id=record_id,
        athlete_id=athlete_id,
        fields={
            **fields,
            "status": status,
            "resolved_date": resolved_date,
            "created_by": access.user,
        },
        compare=CONTENT if "resolved_date" in fields else CONTENT - {"resolved_date"},
    )


@transaction.atomic
def injury_update(
    *,
    access: Access,
    injury: Injury,
    if_match: IfMatch = NO_PRECONDITION,
    **changes: Unpack[InjuryFields],
) -> Injury:
    """Change some fields; a status change must follow TRANSITIONS from the stored status."""
    require_write(access=access, resource=Resource.INJURY, athlete_id=injury.athlete_id)

    def checked(stored: Injury) -> dict[str, object]:
        status = changes.get("status", stored.status)
        if status != stored.status and status not in TRANSITIONS[stored.status]:
            raise exceptions.ValidationError(
                {"status": [f"An injury cannot go from {stored.status} to {status}."]},
                code="invalid_transition",
            )
        kept = stored.resolved_date if status == InjuryStatus.RESOLVED else None
        resolved_date = _resolved_date(
            status,
            changes.get("resolved_date", kept),
            changes.get("onset_date", stored.onset_date),
        )
        return {**changes, "resolved_date": resolved_date}

    return save_new_version(injury, checked, if_match=if_match)


@transaction.atomic
def injury_delete(*, access: Access, injury: Injury, if_match: IfMatch = NO_PRECONDITION) -> None:
    require_write(access=access, resource=Resource.INJURY, athlete_id=injury.athlete_id)
    delete_version(injury, if_match=if_match)


def _resolved_date(status: str, resolved_date: date | None, onset_date: date) -> date | None:
    if status != InjuryStatus.RESOLVED:
        if resolved_date is not None:
            raise exceptions.ValidationError(
                {"resolved_date": ["Only a resolved injury has a resolved date."]},
                code="not_allowed",
            )
        return None
    resolved_date = resolved_date or timezone.now().date()
    if resolved_date < onset_date:
        raise exceptions.ValidationError(
            {"resolved_date": ["Must be on or after onset_date."]}, code="before_onset"
        )
    return resolved_date
