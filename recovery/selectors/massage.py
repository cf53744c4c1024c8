"""Reads of massage / neuromuscular therapy sessions, scoped to the caller (DESIGN.md section 1)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django.db.models import QuerySet

from accounts.access import Access, Action, Resource, athlete_filter
from accounts.models import Membership, Role, User
from recovery.models import MassageSession


def massage_session_list_visible_to(
    *,
    user: User,
    athlete: uuid.UUID | None = None,
    team: uuid.UUID | None = None,
    therapist: uuid.UUID | None = None,
    status: str | None = None,
    session_type: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[MassageSession]:
    """Sessions of the athletes the user may see, with what the API serializer reads in a fixed
    number of queries. Dates are compared on `scheduled_at`'s date in the server time zone (UTC)."""
    conditions = {
        "athlete_id": athlete,
        "therapist_id": therapist,
        "status": status,
        "session_type": session_type,
        "scheduled_at__date__gte": date_from,
        "scheduled_at__date__lte": date_to,
    }
    queryset = MassageSession.objects.filter(
        athlete_filter(user, resource=Resource.MASSAGE_SESSION),
        **{lookup: value for lookup, value in conditions.items() if value is not None},
    )
    if team is not None:
        team_athletes = Membership.objects.filter(team_id=team, role=Role.ATHLETE, is_active=True)
        queryset = queryset.filter(athlete__in=team_athletes.values("user_id"))
    return (
        queryset.select_related("athlete__athlete_profile")
        .prefetch_related("treated_areas", "amendments")
        .order_by("-scheduled_at", "-id")
    )


def massage_athlete_list_visible_to(*, user: User) -> QuerySet[User, Any]:
    """Athletes a massage session may name in a request body: anyone else reads as unknown."""
    return User.objects.filter(athlete_filter(user, resource=Resource.MASSAGE_SESSION, path="id"))


def clinical_notes_visible(*, access: Access, session: MassageSession) -> bool:
    """May this caller read the session's clinical notes? Coaches only with the athlete's consent;
    `session.athlete.athlete_profile` should be select_related (no query per row)."""
    profile = getattr(session.athlete, "athlete_profile", None)
    return access.can(
        Resource.CLINICAL_NOTES,
        Action.READ,
        athlete_id=session.athlete_id,
        athlete_consents=bool(profile and profile.share_clinical_notes_with_coaches),
    )
