"""The therapist's queue: the athletes of their therapist teams, most urgent first."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone
from rest_framework.exceptions import NotFound, PermissionDenied

from accounts.access import Relation, team_ids_of
from accounts.models import Membership, Role, User
from backend.compiled import CompiledQuery, Placeholders, compile_query, compiled_sql
from recovery.models import MassageSession, MassageStatus
from recovery.selectors import state
from recovery.selectors.dashboard.athletes import Target, athlete_views
from recovery.selectors.dashboard.shapes import (
    TherapistQueueItem,
)
from recovery.selectors.dashboard.team import ref
from recovery.selectors.load import zone_of as team_zone_named


def _next_planned(at: datetime, field: str) -> Subquery:
    sessions = MassageSession.objects.filter(
        athlete_id=OuterRef("user_id"), status=MassageStatus.PLANNED, scheduled_at__gte=at
    )
    return Subquery(sessions.order_by("scheduled_at", "id").values(field)[:1])


@cache
def _teams_query(vendor: str) -> CompiledQuery:
    """The teams where the user is an active therapist (`accounts.access.team_ids_of`)."""
    p = Placeholders()
    teams = team_ids_of(User(pk=p.uuid("user")), roles=frozenset({Relation.THERAPIST}))
    return compile_query(*compiled_sql(teams.values_list("team_id")), p)


@cache
def _athletes_query(vendor: str) -> CompiledQuery:
    """The active athletes of some teams (by team name and id, then athlete id) with their team
    and its time zone, the next planned session from now and the stored views: compiled once
    per database vendor (`state.compile_with_state`)."""
    p = Placeholders()
    now = p.datetime("now")
    athletes = (
        Membership.objects.filter(team_id__in=p.uuids("teams"), role=Role.ATHLETE, is_active=True)
        .annotate(
            athlete=F("user_id"),
            athlete_name=F("user__full_name"),
            athlete_team=F("team_id"),
            athlete_team_name=F("team__name"),
            athlete_team_zone=F("team__time_zone"),
            next_session_id=_next_planned(now, "id"),
            next_session_at=_next_planned(now, "scheduled_at"),
        )
        .order_by()
        .values_list(
            "athlete",
            "athlete_name",
            "athlete_team",
            "athlete_team_name",
            "athlete_team_zone",
            "next_session_id",
            "next_session_at",
        )
    )
    return state.compile_with_state(
        athletes, "views", p, order_by="a.athlete_team_name, a.athlete_team, a.athlete"
    )


def therapist_queue(
    *, user: User, team_id: uuid.UUID | None = None, now: datetime | None = None
) -> list[TherapistQueueItem]:
    """Athletes of the teams where `user` is an active therapist, most urgent first (see the
    urgency constants). 403 for a user who is nobody's therapist; `team_id` must be one of
    their therapist teams, else 404. An athlete in several of them is listed once, with the
    first team by name. The top focus, open flags and injuries come from the athletes' stored
    views while current (`athlete_views`, any day). Queries: the therapist's teams, the athletes
    (their team's time zone, the next planned session and the stored view), and for the athletes whose
    view is missing or stale the signals, the load metrics and the upsert that stores them,
    whatever the number of athletes and teams."""
    now = now or timezone.now()
    teams = [team for (team,) in _teams_query(connection.vendor).rows(user=user.pk)]
    if not teams:
        raise PermissionDenied("The therapist queue is for the therapists of a team.")
    if team_id is not None:
        if team_id not in teams:
            raise NotFound()
        teams = [team_id]
    rows = _athletes_query(connection.vendor).rows(now=now, teams=teams)
    athletes: dict[uuid.UUID, tuple[Any, ...]] = {}
    for row in rows:
        athletes.setdefault(row[0], row)
    # The view of the team the athlete is listed with (the same as their dashboard's when they
    # are in one team); the queue reads only its parts that do not depend on the day.
    targets = []
    for athlete_id, row in athletes.items():
        zone = team_zone_named(row[4])
        targets.append(
            Target(
                athlete_id=athlete_id,
                stored=state.stored_from(*row[7:]),
                day=now.astimezone(zone).date(),
                zone=zone,
            )
        )
    views = athlete_views(targets, at=now, now=now, store=True, any_day=True)
    items: list[TherapistQueueItem] = []
    for athlete_id, (_, name, team, team_name, _, session_id, session_at, *_) in athletes.items():
        queue = views[athlete_id].queue_data()
        items.append(
            {
                "athlete": ref(athlete_id, name),
                "team": ref(team, team_name),
                "urgency": queue["urgency"],
                "urgency_components": queue["urgency_components"],
                "top_focus": queue["top_focus"],
                "open_flags": queue["open_flags"],
                "active_injuries": queue["active_injuries"] + queue["rehab_injuries"],
                "planned_session": (
                    None if session_id is None else {"id": session_id, "scheduled_at": session_at}
                ),
                "computed_at": queue["computed_at"],  # type: ignore[typeddict-item]
            }
        )
    items.sort(key=lambda i: (-i["urgency"], i["athlete"]["name"], str(i["athlete"]["id"])))
    return items
