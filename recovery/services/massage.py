"""Writes to massage / neuromuscular therapy sessions (DESIGN.md section 2).

A session is planned, then completed (signed by the therapist and locked) or cancelled. While planned
it is edited freely; once completed, corrections are appended as amendments with author and time,
never silent edits. Only therapists of a team the athlete is in write sessions, and clinical notes
(accounts.access).

Creating with a client id and versioned writes are the shared ones (recovery.services.common):
every change is one conditional UPDATE of the version it was checked against, so a transition is
never made from a status that changed in between. Several staff edit a session, so the API
requires If-Match on its edits (the views pass it as `if_match`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from accounts.access import Access, Resource
from accounts.models import User
from backend.api.concurrency import NO_PRECONDITION, IfMatch
from backend.api.errors import Conflict
from recovery.models import MassageAmendment, MassageSession, MassageStatus, TreatedArea
from recovery.services.common import (
    Nested,
    create_once,
    delete_version,
    require_write,
    save_new_version,
)

# What a therapist writes on a planned session (the aftercare object maps to aftercare_* fields).
SESSION_FIELDS = frozenset(
    {
        "session_type",
        "scheduled_at",
        "started_at",
        "duration_min",
        "complaint",
        "pain_before",
        "posture_notes",
        "gait_notes",
        "range_of_motion_notes",
        "palpation_notes",
        "pain_after",
        "athlete_feedback",
        "aftercare_stretches",
        "aftercare_hydration",
        "aftercare_self_care",
        "next_focus",
        "next_session_in_days",
        "clinical_notes",
    }
)
TREATED_AREA_FIELDS = frozenset(
    {
        "muscle_group",
        "side",
        "technique",
        "pressure",
        "pressure_rating",
        "minutes",
        "pain_during",
        "trigger_points_found",
        "notes",
    }
)
TreatedAreas = Iterable[Mapping[str, Any]]


class SessionLocked(Conflict):
    default_code = "massage_session.locked"
    default_detail = (
        "The session is completed or cancelled and kept as a record: it can no longer be edited "
        "or deleted. Append an amendment to a completed session instead."
    )


class AlreadyCompleted(Conflict):
    default_code = "massage_session.already_completed"
    default_detail = "The session is already completed."


class AlreadyCancelled(Conflict):
    default_code = "massage_session.already_cancelled"
    default_detail = "The session is already cancelled."


class NotPlanned(Conflict):
    default_code = "massage_session.not_planned"
    default_detail = "Only a planned session can be completed or cancelled."


class NotCompleted(Conflict):
    default_code = "massage_session.not_completed"
    default_detail = "Amendments are appended to completed sessions; edit a planned one directly."


def _require_write(access: Access, athlete_id: uuid.UUID, *, clinical_notes: bool) -> None:
    require_write(
        access=access,
        resource=Resource.MASSAGE_SESSION,
        athlete_id=athlete_id,
        message="Only therapists of the athlete's team may write massage sessions.",
    )
    if clinical_notes:
        require_write(
            access=access,
            resource=Resource.CLINICAL_NOTES,
            athlete_id=athlete_id,
            message="Only therapists of the athlete's team may write clinical notes.",
        )


_ALREADY: Mapping[str, type[Conflict]] = {
    MassageStatus.COMPLETED: AlreadyCompleted,
    MassageStatus.CANCELLED: AlreadyCancelled,
}


def _require_planned(session: MassageSession, *, to: MassageStatus) -> None:
    if session.status == to:
        raise _ALREADY[to]()
    if session.status != MassageStatus.PLANNED:
        raise NotPlanned()


def _session_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - SESSION_FIELDS
    if unknown:
        raise TypeError(f"not massage session fields: {sorted(unknown)}")
    return dict(fields)


def _treated_areas(treated_areas: TreatedAreas) -> Nested:
    rows = [dict(area) for area in treated_areas]
    return Nested(TreatedArea, "session", "treated_areas", rows, compare=TREATED_AREA_FIELDS)


def _replace_treated_areas(session: MassageSession, treated_areas: Nested) -> None:
    session.treated_areas.all().delete()
    treated_areas.create(session)


@transaction.atomic
def massage_session_plan(
    *,
    access: Access,
    athlete: User,
    session_id: uuid.UUID | None = None,
    treated_areas: TreatedAreas = (),
    **fields: Any,
) -> tuple[MassageSession, bool]:
    """Plan a session with the caller as therapist; returns it and whether it was created.
    Sending a client `session_id` again with the same content (the treated areas in any order)
    returns the stored session and creates nothing; other content is a 409 `id_conflict`."""
    _require_write(access, athlete.pk, clinical_notes="clinical_notes" in fields)
    return create_once(
        MassageSession,
        record_id=session_id,
        athlete_id=athlete.pk,
        fields={**_session_fields(fields), "therapist": access.user},
        compare=SESSION_FIELDS,
        nested=_treated_areas(treated_areas),
    )


@transaction.atomic
def massage_session_update(
    *,
    access: Access,
    session: MassageSession,
    if_match: IfMatch = NO_PRECONDITION,
    treated_areas: TreatedAreas | None = None,
    **fields: Any,
) -> MassageSession:
    """Edit a planned session; `treated_areas`, when given, replaces the list."""
    _require_write(access, session.athlete_id, clinical_notes="clinical_notes" in fields)
    changes = _session_fields(fields)

    def editable(stored: MassageSession) -> dict[str, Any]:
        if stored.status != MassageStatus.PLANNED:
            raise SessionLocked()
        return changes

    session = save_new_version(session, editable, if_match=if_match)
    if treated_areas is not None:
        _replace_treated_areas(session, _treated_areas(treated_areas))
    return session


@transaction.atomic
def massage_session_delete(
    *, access: Access, session: MassageSession, if_match: IfMatch = NO_PRECONDITION
) -> None:
    """Delete a planned session (a completed or cancelled one is kept: cancel a planned one)."""
    _require_write(access, session.athlete_id, clinical_notes=False)

    def deletable(stored: MassageSession) -> None:
        if stored.status != MassageStatus.PLANNED:
            raise SessionLocked()

    delete_version(session, if_match=if_match, check=deletable)


@transaction.atomic
def massage_session_complete(
    *,
    access: Access,
    session: MassageSession,
    if_match: IfMatch = NO_PRECONDITION,
    treated_areas: TreatedAreas | None = None,
    **fields: Any,
) -> MassageSession:
    """Record the outcome, sign and lock the session. At least one treated area is required:
    sent here, or recorded on the session before."""
    _require_write(access, session.athlete_id, clinical_notes="clinical_notes" in fields)
    areas = None if treated_areas is None else _treated_areas(treated_areas)
    outcome = _session_fields(fields)

    def signed(stored: MassageSession) -> dict[str, Any]:
        _require_planned(stored, to=MassageStatus.COMPLETED)
        if not (stored.treated_areas.exists() if areas is None else areas.rows):
            raise ValidationError(
                {"treated_areas": ["Record at least one treated area to complete the session."]},
                code="required",
            )
        return {
            **outcome,
            "status": MassageStatus.COMPLETED,
            "completed_at": timezone.now(),
            "signed_by": access.user,
        }

    session = save_new_version(session, signed, if_match=if_match)
    if areas is not None:
        _replace_treated_areas(session, areas)
    return session


@transaction.atomic
def massage_session_cancel(
    *, access: Access, session: MassageSession, reason: str, if_match: IfMatch = NO_PRECONDITION
) -> MassageSession:
    _require_write(access, session.athlete_id, clinical_notes=False)

    def cancelled(stored: MassageSession) -> dict[str, Any]:
        _require_planned(stored, to=MassageStatus.CANCELLED)
        return {"status": MassageStatus.CANCELLED, "cancelled_reason": reason}

    return save_new_version(session, cancelled, if_match=if_match)


@transaction.atomic
def massage_session_amend(
    *, access: Access, session: MassageSession, text: str, if_match: IfMatch = NO_PRECONDITION
) -> MassageAmendment:
    """Append a correction to a completed (locked) session, with its author and time; the
    session's version moves on, since its representation now lists one more amendment."""
    _require_write(access, session.athlete_id, clinical_notes=False)

    def amendable(stored: MassageSession) -> dict[str, Any]:
        if stored.status != MassageStatus.COMPLETED:
            raise NotCompleted()
        return {}

    session = save_new_version(session, amendable, if_match=if_match)
    return MassageAmendment.objects.create(session=session, author=access.user, text=text)
