"""The team dashboard and the soreness heat map: who may read them, which day, and the views.

Time: a team's days are local days in its time zone. "As of" a day means as of the END of that
local day (the next local midnight, excluded): records after it are ignored, so a past day shows
the team as it was then. Training sessions are read by their stored local `date`; soreness by
`reported_at`; massage sessions by when they took place; injuries by onset and resolution dates.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from django.db import connection
from django.db.models import Avg, Count, F, Max, QuerySet
from django.utils import timezone
from rest_framework.exceptions import NotFound, ValidationError

from accounts.access import Action, Resource, allowed
from accounts.models import Membership, Role, Team, User
from backend.api.renderers import JSONText
from backend.compiled import CompiledQuery, Placeholders, compile_query, compiled_sql
from recovery.domain.metrics import RiskBand
from recovery.models import SorenessEntry
from recovery.selectors import state
from recovery.selectors.dashboard.athletes import Target, ViewText, athlete_views, day_end
from recovery.selectors.dashboard.shapes import (
    DECIMALS,
    EARLIEST_DAY,
    MAX_DAYS_AHEAD,
    TOP_SORE_GROUPS_PER_TEAM,
    HeatmapCell,
    PersonRef,
    SorenessHeatmap,
    TeamDashboard,
    TeamSoreGroup,
    TeamSummary,
    UnreportedAthlete,
)


# --- Access and days ----------------------------------------------------------------------------
def team_for_staff(*, user: User, team_id: uuid.UUID) -> Team:
    """The team (its id, name and time zone) if the user may read its dashboard: an active
    membership with a role that `accounts.access.POLICY` allows (its coaches, therapists and
    admins); 404 otherwise (its athletes, other teams' staff, unknown ids: the same answer, no
    existence leak). One query, compiled once."""
    rows = _team_query(connection.vendor).rows(team=team_id, user=user.pk)
    if not rows:
        raise NotFound()
    pk, name, time_zone = rows[0]
    return Team(pk=pk, name=name, time_zone=time_zone)


@cache
def _team_query(vendor: str) -> CompiledQuery:
    p = Placeholders()
    roles = sorted(r.value for r in allowed(Resource.TEAM_DASHBOARD, Action.READ))
    team = Team.objects.filter(
        pk=p.uuid("team"),
        memberships__user_id=p.uuid("user"),
        memberships__is_active=True,
        memberships__role__in=roles,
    ).values_list("pk", "name", "time_zone")
    return compile_query(*compiled_sql(team), p)


def team_zone(team: Team) -> ZoneInfo:
    try:
        return ZoneInfo(team.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def as_of_day(*, team: Team, requested: date | None, now: datetime | None = None) -> date:
    """The requested day, or today in the team's time zone; later than tomorrow is a 400."""
    today = (now or timezone.now()).astimezone(team_zone(team)).date()
    if requested is None:
        return today
    if requested < EARLIEST_DAY:
        raise ValidationError(
            {"date": [f"Must be on or after {EARLIEST_DAY.isoformat()}."]}, code="invalid"
        )
    latest = today + timedelta(days=MAX_DAYS_AHEAD)
    if requested > latest:
        raise ValidationError(
            {"date": [f"Must be on or before {latest.isoformat()} (tomorrow, team time)."]},
            code="invalid",
        )
    return requested


def ref(pk: uuid.UUID, name: str) -> PersonRef:
    return {"id": pk, "name": name}


# --- Heat map -----------------------------------------------------------------------------------
def _team_athlete_ids(team_id: uuid.UUID) -> QuerySet[Membership, Any]:
    return Membership.objects.filter(team_id=team_id, role=Role.ATHLETE, is_active=True).values(
        "user_id"
    )


def soreness_heatmap(*, team: Team, last_day: date, days: int) -> SorenessHeatmap:
    """Per muscle group and side, over the `days` local days ending with `last_day`: entries of the
    team's active athletes, how many athletes, mean and max severity. One aggregate query.

    Every entry counts, severity 0 (reported as recovered) included: the mean is that of what was
    reported. Cells are in body-map order (catalogue sort order, then side)."""
    zone = team_zone(team)
    first_day = last_day - timedelta(days=days - 1)
    rows = (
        SorenessEntry.objects.filter(
            report__athlete_id__in=_team_athlete_ids(team.pk),
            report__reported_at__gte=day_end(first_day - timedelta(days=1), zone),
            report__reported_at__lt=day_end(last_day, zone),
        )
        .values(
            "muscle_group_id",
            "side",
            "muscle_group__name",
            "muscle_group__region",
            "muscle_group__view",
            "muscle_group__sort_order",
        )
        .annotate(
            entries=Count("id"),
            athletes=Count("report__athlete_id", distinct=True),
            mean_severity=Avg("severity"),
            max_severity=Max("severity"),
        )
        .order_by("muscle_group__sort_order", "muscle_group_id", "side")
    )
    cells: list[HeatmapCell] = [
        {
            "muscle_group": row["muscle_group_id"],
            "name": row["muscle_group__name"],
            "region": row["muscle_group__region"],
            "view": row["muscle_group__view"],
            "side": row["side"],
            "entries": row["entries"],
            "athletes": row["athletes"],
            "mean_severity": round(float(row["mean_severity"]), DECIMALS),
            "max_severity": row["max_severity"],
        }
        for row in rows
    ]
    return {
        "team": ref(team.pk, team.name),
        "date_from": first_day,
        "date_to": last_day,
        "days": days,
        "cells": cells,
    }


# --- Dashboard ------------------------------------------------------------------------------------
@cache
def _athletes_query(vendor: str) -> CompiledQuery:
    """The team's active athletes by name, with their stored views: compiled once per database
    vendor (`state.compile_with_state`)."""
    p = Placeholders()
    athletes = (
        Membership.objects.filter(team_id=p.uuid("team"), role=Role.ATHLETE, is_active=True)
        .annotate(athlete=F("user_id"), athlete_name=F("user__full_name"))
        .order_by()
        .values_list("athlete", "athlete_name")
    )
    return state.compile_with_state(athletes, "views", p, order_by="a.athlete_name, a.athlete")


def team_dashboard(*, team: Team, day: date, now: datetime | None = None) -> TeamDashboard:
    """Every active athlete of the team as of the end of `day`, and the team summary.

    Today's rows are the athletes' stored views while current (`athlete_views`), spliced into
    the answer as stored text (`JSONText`: 600 rows are not parsed into objects and rendered
    again); the team summary adds up their small summary lines. Queries, whatever the number of
    athletes: the athletes with their stored views (one); for the athletes whose view is missing
    or stale, the signals and the load metrics (two) and the upsert that stores them (one); plus
    the caller's access and the team, read by the view. Another day is computed for every
    athlete and not stored."""
    now = now or timezone.now()
    zone = team_zone(team)
    end = day_end(day, zone)
    today = day == now.astimezone(zone).date()
    # The recommendation is for the next session: as of now while the day is not over, else as
    # of its last instant (the recommendation includes records at `at`; the day excludes `end`).
    at = min(end - timedelta(microseconds=1), now)
    rows = _athletes_query(connection.vendor).rows(now=now, team=team.pk)
    athletes = [(row[0], row[1]) for row in rows]
    targets = [
        Target(athlete_id=athlete_id, stored=state.stored_from(*row[2:]), day=day, zone=zone)
        for (athlete_id, _), row in zip(athletes, rows, strict=True)
    ]
    views = athlete_views(targets, at=at, now=now, store=today)
    return {
        "team": ref(team.pk, team.name),
        "date": day,
        "as_of": end,
        "time_zone": str(zone),
        "summary": _summary(
            [(athlete_id, name, views[athlete_id]) for athlete_id, name in athletes]
        ),
        "athletes": _rows_json(athletes, views),
    }


def _rows_json(athletes: list[tuple[uuid.UUID, str]], views: dict[uuid.UUID, ViewText]) -> JSONText:
    """The `DashboardAthlete`s as one JSON array: each stored row with the athlete put first
    (`{"athlete":{...},` + the row's members), as the renderer would write the parsed row."""
    rows = [
        f'{{"athlete":{orjson.dumps(ref(athlete_id, name)).decode()},{views[athlete_id].row[1:]}'
        for athlete_id, name in athletes
    ]
    return JSONText(f"[{','.join(rows)}]")


def _summary(athletes: list[tuple[uuid.UUID, str, ViewText]]) -> TeamSummary:
    """Risk bands, the most sore groups and who has not reported, from the athletes' summary
    lines."""
    bands: dict[str, int] = {band.value: 0 for band in RiskBand} | {"unknown": 0}
    unreported: list[UnreportedAthlete] = []
    entries: dict[str, int] = defaultdict(int)
    severity: dict[str, int] = defaultdict(int)
    reporters: dict[str, int] = defaultdict(int)
    names: dict[str, str] = {}
    for athlete_id, name, text in athletes:
        view = text.summary_data()
        bands[view["risk_band"] or "unknown"] += 1
        if view["unreported"]:
            unreported.append(
                {"athlete": ref(athlete_id, name), "last_report_at": view["last_report_at"]}  # type: ignore[typeddict-item]
            )
        for group, group_name, n, total in view["sore"]:
            entries[group] += n
            severity[group] += total
            reporters[group] += 1
            names[group] = group_name
    # Most entries first, then highest mean severity (sides together). An integer sum over a
    # count is the mean `statistics.fmean` gives for the entries themselves.
    ranked = sorted(entries, key=lambda g: (-entries[g], -severity[g] / entries[g], g))
    most_sore: list[TeamSoreGroup] = [
        {
            "muscle_group": group,
            "name": names[group],
            "entries": entries[group],
            "athletes": reporters[group],
            "mean_severity": round(severity[group] / entries[group], DECIMALS),
        }
        for group in ranked[:TOP_SORE_GROUPS_PER_TEAM]
    ]
    return {
        "athletes": len(athletes),
        "risk_bands": bands,
        "most_sore_groups": most_sore,
        "without_soreness_report": unreported,
    }
