"""Turning a recommendation into a planned massage session (DESIGN.md section 4: "a therapist can
turn it into a planned session"). The session is planned through the massage service, with the
recommendation as computed at that moment stored as its snapshot, in one transaction."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from rest_framework.exceptions import PermissionDenied

from accounts.access import Access, Action, Resource
from accounts.models import User
from recovery.domain.recommendation import Recommendation, SessionMode
from recovery.models import MassageSession, MassageType
from recovery.selectors.recommendation import recommendation_as_dict, recommendations_for
from recovery.services.massage import massage_session_plan

DEFAULT_DURATION_MIN = 45
"""The model's default, for a recommendation with nothing in focus."""
MIN_DURATION_MIN, MAX_DURATION_MIN = 5, 240
NEXT_FOCUS_MAX_CHARS = 500


def _duration(recommendation: Recommendation) -> int:
    if not recommendation.duration_min:
        return DEFAULT_DURATION_MIN
    return min(max(recommendation.duration_min, MIN_DURATION_MIN), MAX_DURATION_MIN)


def _session_type(recommendation: Recommendation) -> str:
    if recommendation.session_mode is SessionMode.PRE_EVENT:
        return MassageType.PRE_EVENT
    return MassageType.RECOVERY


def _next_focus(recommendation: Recommendation) -> str:
    """The top focus item's summary ("Hamstrings (left): soreness 6/10 ..."), cut to fit."""
    if not recommendation.focus:
        return ""
    summary = recommendation.focus[0].summary
    if len(summary) <= NEXT_FOCUS_MAX_CHARS:
        return summary
    return summary[: NEXT_FOCUS_MAX_CHARS - 3].rstrip() + "..."


@transaction.atomic
def massage_session_plan_from_recommendation(
    *,
    access: Access,
    athlete: User,
    scheduled_at: datetime,
    at: datetime,
    match_at: datetime | None = None,
    duration_min: int | None = None,
    session_type: str | None = None,
) -> MassageSession:
    """Plan a session for `athlete` with the caller as therapist, from the recommendation at
    `at`: status planned, the whole recommendation stored as `recommendation_snapshot`,
    `next_focus` summarising its top item, no treated areas yet. Therapists of the athlete's
    team only (403 for anyone else who can see the athlete)."""
    if not access.can(Resource.MASSAGE_SESSION, Action.WRITE, athlete_id=athlete.pk):
        raise PermissionDenied("Only therapists of the athlete's team may plan massage sessions.")
    recommendation = recommendations_for(athlete_ids=[athlete.pk], at=at, match_at=match_at)[
        athlete.pk
    ]
    session, _ = massage_session_plan(
        access=access,
        athlete=athlete,
        scheduled_at=scheduled_at,
        duration_min=duration_min or _duration(recommendation),
        session_type=session_type or _session_type(recommendation),
        next_focus=_next_focus(recommendation),
    )
    snapshot = recommendation_as_dict(recommendation)
    # Part of creating the session (version 1), not an edit: set in the same transaction.
    MassageSession.objects.filter(pk=session.pk).update(recommendation_snapshot=snapshot)
    session.recommendation_snapshot = snapshot
    return session
