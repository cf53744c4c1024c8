from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.access import Resource, athlete_filter
from accounts.models import User
from recovery.models import Injury


def injury_list_visible_to(*, user: User, status: str | None = None) -> QuerySet[Injury, Any]:
    injuries = Injury.objects.filter(athlete_filter(user, resource=Resource.INJURY))
    return injuries.filter(status=status) if status else injuries
