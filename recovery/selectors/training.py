from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.access import Resource, athlete_filter
from accounts.models import User
from recovery.models import TrainingSession


def training_session_list_visible_to(
    *, user: User, session_type: str | None = None
) -> QuerySet[TrainingSession, Any]:
    sessions = TrainingSession.objects.filter(
        athlete_filter(user, resource=Resource.TRAINING_SESSION)
    )
    return sessions.filter(session_type=session_type) if session_type else sessions
