"""Team views for staff (issue 6): the team dashboard, the soreness heat map and the therapist's
queue. Reads only. Each function answers in a fixed number of queries whatever the number of
athletes (bulk selectors for loads and recommendations, SQL aggregates and correlated subqueries
for the rest) and returns plain JSON-ready dicts, which `recovery.serializers.dashboard` documents.

Time: a team's days are local days in its time zone. "As of" a day means as of the END of that
local day (the next local midnight, excluded): records after it are ignored, so a past day shows
the team as it was then. Training sessions are read by their stored local `date`; soreness by
`reported_at`; massage sessions by when they took place; injuries by onset and resolution dates.
"""

from __future__ import annotations

import operator
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import reduce
from statistics import fmean
from typing import Any, Final, TypedDict
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import (
    Avg,
    Count,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError

from accounts.access import Access, Action, Relation, Resource, team_ids_of
from accounts.models import Membership, Role, Team, User
from recovery.domain.metrics import DayMetrics, Derived, Reason, RiskBand
from recovery.domain.recommendation import FocusItem
from recovery.domain.wellness import (
    WELLNESS_BASELINE_DAYS,
    WELLNESS_ITEM_MAX,
    WELLNESS_ITEM_MIN,
    WELLNESS_ITEMS,
    wellness_trend,
)
from recovery.models import (
    Injury,
    InjuryStatus,
    MassageSession,
    MassageStatus,
    SorenessEntry,
    SorenessReport,
)
from recovery.selectors.load import (
    CONTEXT_COLUMNS,
    context_columns,
    context_from,
    local_day,
    metrics_on_days,
)
from recovery.selectors.recommendation import (
    SORENESS_WINDOW,
    Catalogue,
    InjuryRecord,
    RecommendationInputs,
    Signals,
    catalogue_for,
    recommendation_inputs,
    signals_for,
    top_focus_for,
)

# --- Windows and limits -------------------------------------------------------------------------
SORE_WINDOW: Final = timedelta(hours=72)
"""Soreness shown on the dashboard: the 72 h before the as-of moment (DOMS peaks 24-72 h after the
exercise; the acute-injury window of the recommendation rules is 72 h too)."""
NO_REPORT_WINDOW: Final = SORE_WINDOW
"""An athlete with no soreness report in the last 3 days (72 h) is listed in the summary."""
TOP_SORE_GROUPS_PER_ATHLETE: Final = 3
TOP_SORE_GROUPS_PER_TEAM: Final = 5
WELLNESS_LATEST_MAX_AGE_DAYS: Final = 28
"""The latest wellness report must be from the last 28 days: an older one says nothing about now."""
MAX_DAYS_AHEAD: Final = 1
"""The as-of day may be at most tomorrow in the team's time zone (clients a time zone ahead)."""
EARLIEST_DAY: Final = date(1900, 1, 1)
"""Earlier as-of days are a 400 (no records; and windows reaching before year 1 would overflow)."""
HEATMAP_DEFAULT_DAYS: Final = 7
HEATMAP_MAX_DAYS: Final = 90
DECIMALS: Final = 3

# --- Therapist queue urgency --------------------------------------------------------------------
# urgency = top focus score + OPEN_FLAG_POINTS x open flags + sum of INJURY_POINTS by status
# The top focus score (recommendation, DESIGN section 4) already ranks soreness, demand, load and
# time since treated: it spans about 0-13.5, plus 20 for rising soreness after a match.
OPEN_FLAG_POINTS: Final = 10.0
"""An open flag (pain >= 7 or an injury mark, not resolved) means "refer / assess first", and the
recommendation drops the flagged group from its focus, so the flag itself adds nothing to the top
focus score. Each open flag therefore weighs as much as the worst soreness (10/10, the top of the
soreness term): a flagged athlete ranks above any athlete with moderate soreness and level with
the sorest ones; only the post-match tier (20) ranks clearly above it."""
INJURY_POINTS: Final[Mapping[str, float]] = {
    InjuryStatus.ACTIVE: 3.0,
    InjuryStatus.REHAB: 1.0,
}
"""Per injury not resolved (also dropped from the focus): known and under management, so less
than a new flag. An active one weighs like 3/10 soreness (worth a check at the next session; the
threshold of trigger-point work in the recommendation), one in rehab 1 point (planned work)."""


# --- Shapes (JSON-ready; documented by recovery.serializers.dashboard) ---------------------------
class PersonRef(TypedDict):
    id: uuid.UUID
    name: str


class Value(TypedDict):
    value: float | None
    reason: str | None


class BandedValue(Value):
    risk_band: str | None


class AthleteLoad(TypedDict):
    day_load_au: float
    week_load_au: float
    history_days: int
    acwr: BandedValue
    acwr_ewma: BandedValue
    monotony: Value


class AthleteWellness(TypedDict):
    latest_total: int | None
    latest_on: date | None
    baseline_days: int
    baseline_mean: float | None
    z_score: Value
    direction: str | None


class SoreGroup(TypedDict):
    muscle_group: str
    name: str
    side: str | None
    max_severity: int
    kind: str
    reported_at: datetime


class InjuryRow(TypedDict):
    muscle_group: str
    name: str
    side: str | None
    status: str
    onset_date: date
    resolved_date: date | None


class TopFocus(TypedDict):
    muscle_group: str
    name: str
    side: str | None
    score: float
    reason: str | None
    technique: str


class DashboardAthlete(TypedDict):
    athlete: PersonRef
    load: AthleteLoad
    wellness: AthleteWellness
    sore_groups: list[SoreGroup]
    open_flags: int
    injuries: list[InjuryRow]
    last_massage_on: date | None
    top_focus: TopFocus | None


class TeamSoreGroup(TypedDict):
    muscle_group: str
    name: str
    entries: int
    athletes: int
    mean_severity: float


class UnreportedAthlete(TypedDict):
    athlete: PersonRef
    last_report_at: datetime | None


class TeamSummary(TypedDict):
    athletes: int
    risk_bands: dict[str, int]
    most_sore_groups: list[TeamSoreGroup]
    without_soreness_report: list[UnreportedAthlete]


class TeamDashboard(TypedDict):
    team: PersonRef
    date: date
    as_of: datetime
    time_zone: str
    summary: TeamSummary
    athletes: list[DashboardAthlete]


class HeatmapCell(TypedDict):
    muscle_group: str
    name: str
    region: str
    view: str
    side: str | None
    entries: int
    athletes: int
    mean_severity: float
    max_severity: int


class SorenessHeatmap(TypedDict):
    team: PersonRef
    date_from: date
    date_to: date
    days: int
    cells: list[HeatmapCell]


class PlannedSession(TypedDict):
    id: uuid.UUID
    scheduled_at: datetime


class UrgencyComponents(TypedDict):
    focus: float
    open_flags: float
    injuries: float


class TherapistQueueItem(TypedDict):
    athlete: PersonRef
    team: PersonRef
    urgency: float
    urgency_components: UrgencyComponents
    top_focus: TopFocus | None
    open_flags: int
    active_injuries: int
    planned_session: PlannedSession | None


# --- Access and days ----------------------------------------------------------------------------
def team_for_staff(*, access: Access, team_id: uuid.UUID) -> Team:
    """The team if the caller may read its dashboard (its coaches, therapists and admins); 404
    otherwise (its athletes, other teams' staff, unknown ids: the same answer, no existence leak)."""
    if not access.can_in_team(Resource.TEAM_DASHBOARD, Action.READ, team_id=team_id):
        raise NotFound()
    team = Team.objects.filter(pk=team_id).first()
    if team is None:  # deleted since the membership was read
        raise NotFound()
    return team


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


def day_end(day: date, zone: ZoneInfo) -> datetime:
    """The end of a local day: the next local midnight (exclusive), as an aware datetime."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)


def _ref(pk: uuid.UUID, name: str) -> PersonRef:
    return {"id": pk, "name": name}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, DECIMALS)


def _value(derived: Derived) -> Value:
    return {
        "value": _round(derived.value),
        "reason": None if derived.reason is None else derived.reason.value,
    }


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
        "team": _ref(team.pk, team.name),
        "date_from": first_day,
        "date_to": last_day,
        "days": days,
        "cells": cells,
    }


# --- Per-athlete subqueries (one row per athlete, no query per athlete) --------------------------
def _last_report_at(at: datetime) -> Subquery:
    reports = SorenessReport.objects.filter(athlete_id=OuterRef("user_id"), reported_at__lt=at)
    return Subquery(reports.order_by("-reported_at").values("reported_at")[:1])


def _last_massage_at(at: datetime) -> Subquery:
    """When the athlete's last completed session took place (started, else scheduled) before
    `at`; a session signed only after `at` was not completed yet then."""
    sessions = (
        MassageSession.objects.filter(
            athlete_id=OuterRef("user_id"), status=MassageStatus.COMPLETED
        )
        .filter(Q(completed_at__isnull=True) | Q(completed_at__lt=at))
        .annotate(held_at=Coalesce("started_at", "scheduled_at"))
        .filter(held_at__lt=at)
    )
    return Subquery(sessions.order_by("-held_at").values("held_at")[:1])


def _injury_count(status: str) -> Coalesce:
    injuries = (
        Injury.objects.filter(athlete_id=OuterRef("user_id"), status=status)
        .order_by()
        .values("athlete_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(injuries, output_field=IntegerField()), 0)


def _next_planned(at: datetime, field: str) -> Subquery:
    sessions = MassageSession.objects.filter(
        athlete_id=OuterRef("user_id"), status=MassageStatus.PLANNED, scheduled_at__gte=at
    )
    return Subquery(sessions.order_by("scheduled_at", "id").values(field)[:1])


# --- Dashboard parts ------------------------------------------------------------------------------
def _load(metrics: DayMetrics | None) -> AthleteLoad:
    if metrics is None:  # no training up to the day: nothing is defined yet
        no_history = Reason.INSUFFICIENT_HISTORY.value
        return {
            "day_load_au": 0.0,
            "week_load_au": 0.0,
            "history_days": 0,
            "acwr": {"value": None, "reason": no_history, "risk_band": None},
            "acwr_ewma": {"value": None, "reason": no_history, "risk_band": None},
            "monotony": {"value": None, "reason": no_history},
        }
    return {
        "day_load_au": round(metrics.load_au, 1),
        "week_load_au": round(metrics.week_load_au, 1),
        "history_days": metrics.history_days,
        "acwr": {**_value(metrics.acwr_coupled), "risk_band": _band(metrics.risk_band)},
        "acwr_ewma": {**_value(metrics.acwr_ewma), "risk_band": _band(metrics.risk_band_ewma)},
        "monotony": _value(metrics.monotony),
    }


def _band(band: RiskBand | None) -> str | None:
    return None if band is None else band.value


@dataclass(frozen=True)
class _Report:
    on: date
    total: int


def _wellness_reports(
    athlete_ids: Collection[uuid.UUID], day: date, end: datetime
) -> dict[uuid.UUID, list[_Report]]:
    """Reports with a complete wellness total from the window that the latest (28 days) and its
    baseline (28 days before it) can span, oldest first. One query; the total is summed in SQL
    over reports whose five items are all on the 1-5 scale (`wellness_total(require_all=True)`:
    a value off the scale, never written by the API, makes the report unusable)."""
    first = day - timedelta(days=WELLNESS_LATEST_MAX_AGE_DAYS + WELLNESS_BASELINE_DAYS)
    items = [item.value for item in WELLNESS_ITEMS]
    on_scale = {
        f"{item}__{bound}": value
        for item in items
        for bound, value in (("gte", WELLNESS_ITEM_MIN), ("lte", WELLNESS_ITEM_MAX))
    }
    total = reduce(operator.add, (F(item) for item in items))
    rows = (
        SorenessReport.objects.filter(
            athlete_id__in=list(athlete_ids), date__gte=first, date__lte=day, reported_at__lt=end
        )
        .filter(**on_scale)
        .order_by("athlete_id", "reported_at", "id")
        .values_list("athlete_id", "date", total)
    )
    reports: dict[uuid.UUID, list[_Report]] = defaultdict(list)
    for athlete_id, on, wellness in rows:
        reports[athlete_id].append(_Report(on, wellness))
    return reports


def _wellness(reports: Sequence[_Report], day: date) -> AthleteWellness:
    """The latest complete total against the athlete's own baseline: the last total of each day of
    the 28 days before the latest one's day (wellness domain: z-score, not a fixed cut-off)."""
    oldest = day - timedelta(days=WELLNESS_LATEST_MAX_AGE_DAYS - 1)
    latest = reports[-1] if reports and reports[-1].on >= oldest else None
    by_day: dict[date, int] = {}
    if latest is not None:
        since = latest.on - timedelta(days=WELLNESS_BASELINE_DAYS)
        for report in reports:  # oldest first: the day's last report wins
            if since <= report.on < latest.on:
                by_day[report.on] = report.total
    trend = wellness_trend(
        latest=None if latest is None else latest.total, baseline=list(by_day.values())
    )
    return {
        "latest_total": None if latest is None else latest.total,
        "latest_on": None if latest is None else latest.on,
        "baseline_days": trend.baseline_n,
        "baseline_mean": _round(trend.baseline_mean),
        "z_score": _value(trend.z_score),
        "direction": None if trend.direction is None else trend.direction.value,
    }


@dataclass(frozen=True)
class _Entry:
    athlete_id: uuid.UUID
    reported_at: datetime
    muscle_group: str
    name: str
    side: str | None
    severity: int
    kind: str


def _recent_entries(signals: Signals, names: Mapping[str, str], end: datetime) -> list[_Entry]:
    """Sore entries (severity above 0) reported in the 72 h before `end`, from the signals the
    recommendation read too (their window covers these 72 h)."""
    start = end - SORE_WINDOW
    return [
        _Entry(athlete_id, e.reported_at, e.muscle_group, names.get(e.muscle_group, e.muscle_group),
               e.side, e.severity, e.kind)
        for athlete_id, entries in signals.soreness.items()
        for e in entries
        if e.severity > 0 and start <= e.reported_at < end
    ]  # fmt: skip


def _sore_groups(entries: Iterable[_Entry]) -> list[SoreGroup]:
    """One athlete's worst entry per group and side, worst first (ties: latest, then code)."""
    worst: dict[tuple[str, str | None], _Entry] = {}
    for entry in entries:
        key = (entry.muscle_group, entry.side)
        kept = worst.get(key)
        if kept is None or (entry.severity, entry.reported_at) > (kept.severity, kept.reported_at):
            worst[key] = entry
    ranked = sorted(
        worst.values(),
        key=lambda e: (-e.severity, -e.reported_at.timestamp(), e.muscle_group, e.side or ""),
    )
    return [
        {
            "muscle_group": e.muscle_group,
            "name": e.name,
            "side": e.side,
            "max_severity": e.severity,
            "kind": e.kind,
            "reported_at": e.reported_at,
        }
        for e in ranked[:TOP_SORE_GROUPS_PER_ATHLETE]
    ]


def _team_sore_groups(entries: Iterable[_Entry]) -> list[TeamSoreGroup]:
    """The team's most sore groups (sides together): most entries first, then highest mean."""
    severities: dict[str, list[int]] = defaultdict(list)
    athletes: dict[str, set[uuid.UUID]] = defaultdict(set)
    names: dict[str, str] = {}
    for entry in entries:
        severities[entry.muscle_group].append(entry.severity)
        athletes[entry.muscle_group].add(entry.athlete_id)
        names[entry.muscle_group] = entry.name
    ranked = sorted(severities, key=lambda g: (-len(severities[g]), -fmean(severities[g]), g))
    return [
        {
            "muscle_group": group,
            "name": names[group],
            "entries": len(severities[group]),
            "athletes": len(athletes[group]),
            "mean_severity": round(fmean(severities[group]), DECIMALS),
        }
        for group in ranked[:TOP_SORE_GROUPS_PER_TEAM]
    ]


def _injuries(
    signals: Signals, catalogue_names: Mapping[str, str], sort_order: Mapping[str, int], day: date
) -> dict[uuid.UUID, list[InjuryRow]]:
    """Injuries not resolved on `day`: begun by then and still open, or resolved only later
    (shown with their current status and resolution date); latest onset first, then body-map
    order, then side (no side last). From the signals (their window covers these)."""

    def shown(injury: InjuryRecord) -> bool:
        still_open = injury.status != InjuryStatus.RESOLVED or (
            injury.resolved_date is not None and injury.resolved_date > day
        )
        return injury.onset_date <= day and still_open

    def order(injury: InjuryRecord) -> tuple[int, int, bool, str]:
        return (
            -injury.onset_date.toordinal(),
            sort_order.get(injury.muscle_group, 0),
            injury.side is None,
            injury.side or "",
        )

    injuries: dict[uuid.UUID, list[InjuryRow]] = {}
    for athlete_id, records in signals.injuries.items():
        rows: list[InjuryRow] = [
            {
                "muscle_group": i.muscle_group,
                "name": catalogue_names.get(i.muscle_group, i.muscle_group),
                "side": i.side,
                "status": i.status,
                "onset_date": i.onset_date,
                "resolved_date": i.resolved_date,
            }
            for i in sorted(filter(shown, records), key=order)
        ]
        if rows:
            injuries[athlete_id] = rows
    return injuries


def _top_focus(item: FocusItem | None) -> TopFocus | None:
    if item is None:
        return None
    return {
        "muscle_group": item.muscle_group,
        "name": item.name,
        "side": None if item.side is None else item.side.value,
        "score": item.score,
        "reason": item.reasons[0] if item.reasons else None,
        "technique": item.technique.value,
    }


def _local_date(moment: datetime | None, zone: ZoneInfo) -> date | None:
    return None if moment is None else moment.astimezone(zone).date()


# --- Dashboard ------------------------------------------------------------------------------------
def team_dashboard(*, team: Team, day: date, now: datetime | None = None) -> TeamDashboard:
    """Every active athlete of the team as of the end of `day`, and the team summary.

    Queries, whatever the number of athletes: the athletes (flags, last report, last massage,
    sport and time zone as subqueries), the load metrics (per-day table), the signals (soreness,
    treatments, injuries, matches: one UNION), the catalogue with the sports' demand, and the
    wellness reports; plus the caller's access and the team, read by the view."""
    zone = team_zone(team)
    end = day_end(day, zone)
    # The recommendation is for the next session: as of now while the day is not over, else as
    # of its last instant (the recommendation includes records at `at`; the day excludes `end`).
    recommend_at = min(end - timedelta(microseconds=1), now or timezone.now())
    athletes = list(
        Membership.objects.filter(team_id=team.pk, role=Role.ATHLETE, is_active=True)
        .annotate(
            last_report_at=_last_report_at(end),
            last_massage_at=_last_massage_at(end),
            **context_columns("user"),
        )
        .order_by("user__full_name", "user_id")
        .values_list(
            "user_id",
            "user__full_name",
            "last_report_at",
            "last_massage_at",
            *CONTEXT_COLUMNS,
        )
    )
    ids = [row[0] for row in athletes]
    inputs = _dashboard_inputs(athletes, day=day, end=end, at=recommend_at)
    metrics = inputs.metrics
    focus = top_focus_for(inputs, ids)
    entries = _recent_entries(inputs.signals, inputs.catalogue.names, end)
    wellness_reports = _wellness_reports(ids, day, end)
    injuries = _injuries(inputs.signals, inputs.catalogue.names, inputs.catalogue.sort_order, day)

    entries_by_athlete: dict[uuid.UUID, list[_Entry]] = defaultdict(list)
    for entry in entries:
        entries_by_athlete[entry.athlete_id].append(entry)
    rows: list[DashboardAthlete] = []
    bands: dict[str, int] = {band.value: 0 for band in RiskBand} | {"unknown": 0}
    unreported: list[UnreportedAthlete] = []
    open_flags = inputs.signals.open_flags
    for athlete_id, name, last_report_at, last_massage_at, *_ in athletes:
        load = _load(metrics.get((athlete_id, day)))
        bands[load["acwr"]["risk_band"] or "unknown"] += 1
        if last_report_at is None or last_report_at < end - NO_REPORT_WINDOW:
            unreported.append({"athlete": _ref(athlete_id, name), "last_report_at": last_report_at})
        rows.append(
            {
                "athlete": _ref(athlete_id, name),
                "load": load,
                "wellness": _wellness(wellness_reports.get(athlete_id, []), day),
                "sore_groups": _sore_groups(entries_by_athlete.get(athlete_id, [])),
                "open_flags": open_flags.get(athlete_id, 0),
                "injuries": injuries.get(athlete_id, []),
                "last_massage_on": _local_date(last_massage_at, zone),
                "top_focus": _top_focus(focus.get(athlete_id)),
            }
        )
    return {
        "team": _ref(team.pk, team.name),
        "date": day,
        "as_of": end,
        "time_zone": str(zone),
        "summary": {
            "athletes": len(rows),
            "risk_bands": bands,
            "most_sore_groups": _team_sore_groups(entries),
            "without_soreness_report": unreported,
        },
        "athletes": rows,
    }


def _dashboard_inputs(
    athletes: Sequence[tuple[Any, ...]], *, day: date, end: datetime, at: datetime
) -> RecommendationInputs:
    """The recommendation's inputs, read so that the dashboard's own needs come along: the
    metrics of the team's day next to those of each athlete's own local day, and soreness back to
    the start of the dashboard's 72 h as well as the recommendation's 7 days. Three queries
    (none without athletes)."""
    contexts = {row[0]: context_from(*row[4:]) for row in athletes}
    if not contexts:
        return RecommendationInputs(
            at=at, match_at=None, catalogue=Catalogue([], {}, {}, {}), contexts={},
            signals=Signals(), metrics={},
        )  # fmt: skip
    own_days = {athlete_id: local_day(at, c.time_zone) for athlete_id, c in contexts.items()}
    return RecommendationInputs(
        at=at,
        match_at=None,
        catalogue=catalogue_for(c.sport for c in contexts.values() if c.sport),
        contexts=contexts,
        signals=signals_for(
            list(contexts),
            at=at,
            soreness_from=min(at - SORENESS_WINDOW, end - SORE_WINDOW),
            soreness_until=end,
            injuries_until=max(day, *own_days.values()),
            resolved_after=day,
            flags_at=end,
        ),
        metrics=metrics_on_days(
            pairs=[*((athlete_id, day) for athlete_id in contexts), *own_days.items()]
        ),
    )


# --- Therapist queue ------------------------------------------------------------------------------
def urgency_components(
    *, focus_score: float, open_flags: int, injuries: Mapping[str, int]
) -> UrgencyComponents:
    """The parts of the queue's urgency, which sum to it (see OPEN_FLAG_POINTS, INJURY_POINTS)."""
    return {
        "focus": focus_score,
        "open_flags": OPEN_FLAG_POINTS * open_flags,
        "injuries": sum(INJURY_POINTS.get(status, 0.0) * n for status, n in injuries.items()),
    }


def therapist_queue(
    *, user: User, team_id: uuid.UUID | None = None, now: datetime | None = None
) -> list[TherapistQueueItem]:
    """Athletes of the teams where `user` is an active therapist, most urgent first (see the
    urgency constants above). 403 for a user who is nobody's therapist; `team_id` must be one of
    their therapist teams, else 404. An athlete in several of them is listed once, with the first
    team by name. Queries: the therapist's teams, the athletes (flags, injuries, the next planned
    session, sport and time zone as subqueries), and the recommendation's three (catalogue,
    signals, load metrics), whatever the number of athletes."""
    at = now or timezone.now()
    teams = list(
        team_ids_of(user, roles=frozenset({Relation.THERAPIST})).values_list("team_id", flat=True)
    )
    if not teams:
        raise PermissionDenied("The therapist queue is for the therapists of a team.")
    if team_id is not None:
        if team_id not in teams:
            raise NotFound()
        teams = [team_id]
    rows = (
        Membership.objects.filter(team_id__in=teams, role=Role.ATHLETE, is_active=True)
        .annotate(
            active_injuries=_injury_count(InjuryStatus.ACTIVE),
            rehab_injuries=_injury_count(InjuryStatus.REHAB),
            next_session_id=_next_planned(at, "id"),
            next_session_at=_next_planned(at, "scheduled_at"),
            **context_columns("user"),
        )
        .order_by("team__name", "team_id", "user_id")
        .values_list(
            "user_id",
            "user__full_name",
            "team_id",
            "team__name",
            "active_injuries",
            "rehab_injuries",
            "next_session_id",
            "next_session_at",
            *CONTEXT_COLUMNS,
        )
    )
    athletes: dict[uuid.UUID, tuple[Any, ...]] = {}
    for row in rows:
        athletes.setdefault(row[0], row)
    focus: dict[uuid.UUID, FocusItem | None] = {}
    open_flags: Mapping[uuid.UUID, int] = {}
    if athletes:
        contexts = {athlete_id: context_from(*row[8:]) for athlete_id, row in athletes.items()}
        inputs = recommendation_inputs(list(athletes), at=at, contexts=contexts, flags_at=at)
        focus = top_focus_for(inputs, athletes)
        open_flags = inputs.signals.open_flags
    items: list[TherapistQueueItem] = []
    for (
        athlete_id,
        name,
        team,
        team_name,
        active,
        rehab,
        session_id,
        session_at,
        *_,
    ) in athletes.values():
        top = _top_focus(focus.get(athlete_id))
        flags = open_flags.get(athlete_id, 0)
        components = urgency_components(
            focus_score=top["score"] if top else 0.0,
            open_flags=flags,
            injuries={InjuryStatus.ACTIVE: active, InjuryStatus.REHAB: rehab},
        )
        items.append(
            {
                "athlete": _ref(athlete_id, name),
                "team": _ref(team, team_name),
                "urgency": round(
                    components["focus"] + components["open_flags"] + components["injuries"],
                    DECIMALS,
                ),
                "urgency_components": components,
                "top_focus": top,
                "open_flags": flags,
                "active_injuries": active + rehab,
                "planned_session": (
                    None if session_id is None else {"id": session_id, "scheduled_at": session_at}
                ),
            }
        )
    items.sort(key=lambda i: (-i["urgency"], i["athlete"]["name"], str(i["athlete"]["id"])))
    return items
