"""Writes to massage / neuromuscular therapy sessions (DESIGN.md section 2).

A session is planned, then completed (signed by the therapist and locked) or cancelled. While planned
it is edited freely; once completed, corrections are appended as amendments with author and time,
never silent edits. Only therapists of a team the athlete is in write sessions (accounts.access).
Every function is atomic and works on the row locked for the transition it makes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied, ValidationError

from accounts.access import Access, Action, Resource
from accounts.models import User
from backend.api.errors import Conflict
from recovery.models import MassageAmendment, MassageSession, MassageStatus, TreatedArea

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


class IdInUse(Conflict):
    default_code = "massage_session.id_in_use"
    default_detail = "This id belongs to another record; generate a new UUID."


def _require_write(access: Access, athlete_id: uuid.UUID, *, clinical_notes: bool) -> None:
    if not access.can(Resource.MASSAGE_SESSION, Action.WRITE, athlete_id=athlete_id):
        raise PermissionDenied("Only therapists of the athlete's team may write massage sessions.")
    if clinical_notes and not access.can(
        Resource.CLINICAL_NOTES, Action.WRITE, athlete_id=athlete_id
    ):
        raise PermissionDenied("Only therapists of the athlete's team may write clinical notes.")


def _locked(
    access: Access, session: MassageSession, *, clinical_notes: bool = False
) -> MassageSession:
    """The session's row, locked for this transaction, once the actor may write it."""
    _require_write(access, session.athlete_id, clinical_notes=clinical_notes)
    return MassageSession.objects.select_for_update().get(pk=session.pk)


_ALREADY: Mapping[str, type[Conflict]] = {
    MassageStatus.COMPLETED: AlreadyCompleted,
    MassageStatus.CANCELLED: AlreadyCancelled,
}


def _require_planned(session: MassageSession, *, to: MassageStatus) -> None:
    if session.status == to:
        raise _ALREADY[to]()
    if session.status != MassageStatus.PLANNED:
        raise NotPlanned()


def _session_fields(fields: Mapping[str, Any]) -> Mapping[str, Any]:
    unknown = set(fields) - SESSION_FIELDS
    if unknown:
        raise TypeError(f"not massage session fields: {sorted(unknown)}")
    return fields


def _apply(session: MassageSession, fields: Mapping[str, Any]) -> None:
    for name, value in _session_fields(fields).items():
        setattr(session, name, value)


def _replace_treated_areas(session: MassageSession, treated_areas: TreatedAreas) -> None:
    session.treated_areas.all().delete()
    TreatedArea.objects.bulk_create(TreatedArea(session=session, **area) for area in treated_areas)


def _save(session: MassageSession) -> MassageSession:
    session.version += 1
    session.save()
    return session


@transaction.atomic
def massage_session_plan(
    *,
    access: Access,
    athlete: User,
    session_id: uuid.UUID | None = None,
    treated_areas: TreatedAreas = (),
    **fields: Any,
) -> tuple[MassageSession, bool]:
    """Plan a session; returns it and whether it was created. Sending a client `session_id` again
    returns the stored session and creates nothing (a safe retry)."""
    _require_write(access, athlete.pk, clinical_notes="clinical_notes" in fields)
    session, created = MassageSession.objects.get_or_create(
        pk=session_id or uuid.uuid4(),
        defaults={"athlete": athlete, "therapist": access.user, **_session_fields(fields)},
    )
    if not created:
        if (session.athlete_id, session.therapist_id) != (athlete.pk, access.user.pk):
            raise IdInUse()
        return session, False
    _replace_treated_areas(session, treated_areas)
    return session, True


@transaction.atomic
def massage_session_update(
    *,
    access: Access,
    session: MassageSession,
    treated_areas: TreatedAreas | None = None,
    **fields: Any,
) -> MassageSession:
    """Edit a planned session; `treated_areas`, when given, replaces the list."""
    session = _locked(access, session, clinical_notes="clinical_notes" in fields)
    if session.status != MassageStatus.PLANNED:
        raise SessionLocked()
    _apply(session, fields)
    if treated_areas is not None:
        _replace_treated_areas(session, treated_areas)
    return _save(session)


@transaction.atomic
def massage_session_delete(*, access: Access, session: MassageSession) -> None:
    """Delete a planned session (a completed or cancelled one is kept: cancel a planned one)."""
    session = _locked(access, session)
    if session.status != MassageStatus.PLANNED:
        raise SessionLocked()
    session.delete()


@transaction.atomic
def massage_session_complete(
    *,
    access: Access,
    session: MassageSession,
    treated_areas: TreatedAreas | None = None,
    **fields: Any,
) -> MassageSession:
    """Record the outcome, sign and lock the session. At least one treated area is required."""
    session = _locked(access, session, clinical_notes="clinical_notes" in fields)
    _require_planned(session, to=MassageStatus.COMPLETED)
    _apply(session, fields)
    if treated_areas is not None:
        _replace_treated_areas(session, treated_areas)
    if not session.treated_areas.exists():
        raise ValidationError(
            {"treated_areas": ["Record at least one treated area to complete the session."]},
            code="required",
        )
    session.status = MassageStatus.COMPLETED
    session.completed_at = timezone.now()
    session.signed_by = access.user
    return _save(session)


@transaction.atomic
def massage_session_cancel(
    *, access: Access, session: MassageSession, reason: str
) -> MassageSession:
    session = _locked(access, session)
    _require_planned(session, to=MassageStatus.CANCELLED)
    session.status = MassageStatus.CANCELLED
    session.cancelled_reason = reason
    return _save(session)


@transaction.atomic
def massage_session_amend(
    *, access: Access, session: MassageSession, text: str
) -> MassageAmendment:
    """Append a correction to a completed (locked) session, with its author and time."""
    session = _locked(access, session)
    if session.status != MassageStatus.COMPLETED:
        raise NotCompleted()
    amendment = MassageAmendment.objects.create(session=session, author=access.user, text=text)
    _save(session)
    return amendment
