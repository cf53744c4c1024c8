"""The audit log of health-data access: who read whose clinical notes, who exported or erased
whose data, when and from where (the model is `accounts.models.AuditEntry`, append-only).

Reads of clinical notes are noted while a response is serialized, one call per row and no query
(`note_clinical_notes_read`), and written by `AuditMiddleware` after the view: one entry per
athlete per request, listing the session ids, in one INSERT. The entry is written before the
response leaves: if it cannot be written, the request fails (500/503) instead of disclosing notes
that were not logged. Responses that failed (4xx, 5xx) disclosed nothing and log nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from rest_framework import exceptions

from accounts.access import Access, Action, Resource, allowed, team_ids_of
from accounts.models import AuditAction, AuditEntry, Membership, Role, User
from backend.api.client import client_ip, client_user_agent

MAX_PATH = 300
_PENDING_READS = "_audit_pending_clinical_notes_reads"


@dataclass(frozen=True)
class AuditOrigin:
    """Where a request came from, as the audit log keeps it."""

    ip_address: str | None = None
    user_agent: str = ""
    path: str = ""


def origin_of(request: Any) -> AuditOrigin:
    """The origin of a Django or DRF request (client address per `backend.api.client`)."""
    return AuditOrigin(
        ip_address=client_ip(request),
        user_agent=client_user_agent(request),
        path=str(getattr(request, "path", ""))[:MAX_PATH],
    )


def audit_record(
    *,
    actor: User | None,
    action: AuditAction,
    athlete_id: uuid.UUID | None,
    origin: AuditOrigin,
    object_type: str = "",
    object_ids: Iterable[uuid.UUID | str] = (),
    detail: dict[str, Any] | None = None,
    actor_email: str | None = None,
) -> AuditEntry:
    """Append one entry (one INSERT)."""
    fields = _entry_fields(
        actor=actor,
        action=action,
        athlete_id=athlete_id,
        origin=origin,
        object_type=object_type,
        object_ids=object_ids,
        detail=detail,
        actor_email=actor_email,
    )
    return AuditEntry.objects.create(**fields)


def _entry_fields(
    *,
    actor: User | None,
    action: AuditAction,
    athlete_id: uuid.UUID | None,
    origin: AuditOrigin,
    object_type: str = "",
    object_ids: Iterable[uuid.UUID | str] = (),
    detail: dict[str, Any] | None = None,
    actor_email: str | None = None,
) -> dict[str, Any]:
    return {
        "actor_id": actor.pk if actor is not None else None,
        "actor_email": actor_email if actor_email is not None else (actor.email if actor else ""),
        "action": action,
        "athlete_id": athlete_id,
        "object_type": object_type,
        "object_ids": [str(object_id) for object_id in object_ids],
        "detail": detail or {},
        "ip_address": origin.ip_address,
        "user_agent": origin.user_agent,
        "path": origin.path,
    }


@dataclass
class _PendingReads:
    actor: User
    origin: AuditOrigin
    sessions_by_athlete: dict[uuid.UUID, dict[uuid.UUID, None]] = field(default_factory=dict)


def note_clinical_notes_read(request: Any, *, session_id: uuid.UUID, athlete_id: uuid.UUID) -> None:
    """A response is about to include this session's clinical notes: remember it for the log.

    Called once per serialized row; costs no query. The athlete reading their own notes is not
    logged (it is their own record); everyone else is."""
    user = getattr(request, "user", None)
    if not isinstance(user, User) or user.pk == athlete_id:
        return
    http_request: HttpRequest = getattr(request, "_request", request)
    pending: _PendingReads | None = getattr(http_request, _PENDING_READS, None)
    if pending is None or pending.actor.pk != user.pk:
        pending = _PendingReads(actor=user, origin=origin_of(http_request))
        setattr(http_request, _PENDING_READS, pending)
    pending.sessions_by_athlete.setdefault(athlete_id, {})[session_id] = None


def flush_clinical_notes_reads(request: HttpRequest, response: HttpResponse) -> int:
    """Write the entries noted during this request (one INSERT); returns how many."""
    pending: _PendingReads | None = getattr(request, _PENDING_READS, None)
    if pending is None:
        return 0
    delattr(request, _PENDING_READS)
    if response.status_code >= 400:
        return 0
    entries = [
        AuditEntry(
            **_entry_fields(
                actor=pending.actor,
                action=AuditAction.CLINICAL_NOTES_READ,
                athlete_id=athlete_id,
                origin=pending.origin,
                object_type="massage_session",
                object_ids=sessions,
            )
        )
        for athlete_id, sessions in pending.sessions_by_athlete.items()
    ]
    AuditEntry.objects.bulk_create(entries)
    return len(entries)


class AuditMiddleware:
    """Writes the clinical-notes reads a view noted, before its response is sent."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        flush_clinical_notes_reads(request, response)
        return response


def audit_entry_list_visible_to(
    *,
    access: Access,
    team: uuid.UUID | None = None,
    athlete: uuid.UUID | None = None,
    action: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[AuditEntry, AuditEntry]:
    """Entries about the active athletes of the teams the user administers (POLICY: AUDIT_LOG).

    With `team`: a team the user is not in is a 404, one they are in without the right a 403."""
    user = access.user
    if team is not None:
        if access.role_in_team(team) is None:
            raise exceptions.NotFound()
        if not access.can_in_team(Resource.AUDIT_LOG, Action.READ, team_id=team):
            raise exceptions.PermissionDenied("Only the team's admins read its audit log.")
    teams = team_ids_of(user, roles=allowed(Resource.AUDIT_LOG, Action.READ))
    athletes = Membership.objects.filter(team_id__in=teams, role=Role.ATHLETE, is_active=True)
    if team is not None:
        athletes = athletes.filter(team_id=team)
    conditions: dict[str, Any] = {
        "athlete_id": athlete,
        "action": action,
        "at__date__gte": date_from,
        "at__date__lte": date_to,
    }
    return AuditEntry.objects.filter(
        athlete_id__in=athletes.values("user_id"),
        **{lookup: value for lookup, value in conditions.items() if value is not None},
    ).order_by("-at", "-id")
