"""Reads behind "where should the next session focus?" (DESIGN.md section 4).

`recommendations_for` gathers the inputs of `recovery.domain.recommendation.recommend` for many
athletes in a FIXED number of queries (eight, whatever the number of athletes) and calls the pure
function once per athlete. `massage_session_comparison` puts a completed session next to the
recommendation it was planned from and the soreness reported around it (plan vs outcome).

Access is the caller's business: these functions take athlete ids the caller may already see.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, time, timedelta
from enum import Enum
from typing import Any
from uuid import UUID

from django.db.models import Prefetch, Q, Subquery
from django.db.models.functions import Coalesce
from rest_framework.exceptions import NotFound

from accounts.models import User
from backend.api.errors import Conflict
from recovery.domain.recommendation import (
    DOMS_ZERO_WEIGHT_H,
    POST_MATCH_TO_H,
    InjurySignal,
    InjuryStatus,
    LoadContext,
    MuscleGroupRef,
    Recommendation,
    Side,
    SorenessKind,
    SorenessSignal,
    Technique,
    TreatmentRecord,
    recommend,
)
from recovery.models import (
    Injury,
    MassageSession,
    MassageStatus,
    MuscleGroup,
    SessionType,
    SorenessEntry,
    SportDemand,
    TrainingSession,
    TreatedArea,
)
from recovery.selectors.load import (
    DEFAULT_TIME_ZONE,
    athlete_team_memberships,
    daily_loads_by_athlete,
    local_day,
    metrics_on,
    zone_of,
)
from recovery.selectors.massage import massage_session_list_visible_to

# Soreness older than the DOMS time course (7 days) weighs nothing in the score.
SORENESS_WINDOW = timedelta(hours=DOMS_ZERO_WEIGHT_H)
# Treatments: the follow-up window is 28 days; older ones still give "N days since last treated"
# (the gap factor caps at 14 days), so a quarter of a year is read.
TREATMENT_WINDOW = timedelta(days=90)
# Only a match in the last 72 h changes the session mode; a day of margin covers sessions that
# have a local date but no start time.
MATCH_WINDOW = timedelta(hours=POST_MATCH_TO_H) + timedelta(days=1)
# A session with a date but no start time is taken to have started at local noon.
MATCH_TIME_WHEN_UNKNOWN = time(12, 0)
# Plan vs outcome: soreness in the 72 h after the session against the last report in the 7 days
# before it (the DOMS time course).
FOLLOW_UP_WINDOW = timedelta(hours=72)
BASELINE_WINDOW = SORENESS_WINDOW
ACTIVE_INJURY_STATUSES = (InjuryStatus.ACTIVE.value, InjuryStatus.REHAB.value)


@dataclass(frozen=True)
class _Athlete:
    sport: str | None
    sport_name: str
    time_zone: str


def _side(value: str | None) -> Side | None:
    return Side(value) if value else None


def _sport_word(name: str) -> str:
    """The sport as it reads in a reason: "Football (soccer)" -> "football"."""
    name = name.split(" (", 1)[0].strip()
    return name[:1].lower() + name[1:]


def _athletes(athlete_ids: Collection[UUID]) -> dict[UUID, _Athlete]:
    """Sport (primary, else the team's) and time zone of each athlete: one query."""
    team = athlete_team_memberships()
    rows = (
        User.objects.filter(pk__in=list(athlete_ids))
        .annotate(
            team_sport=Subquery(team.values("team__sport_id")[:1]),
            team_sport_name=Subquery(team.values("team__sport__name")[:1]),
            team_time_zone=Subquery(team.values("team__time_zone")[:1]),
        )
        .values_list(
            "pk",
            "athlete_profile__primary_sport_id",
            "athlete_profile__primary_sport__name",
            "team_sport",
            "team_sport_name",
            "team_time_zone",
        )
    )
    found = {
        pk: _Athlete(
            sport=own_sport or team_sport,
            sport_name=_sport_word((own_sport and own_name) or team_name or ""),
            time_zone=time_zone or DEFAULT_TIME_ZONE,
        )
        for pk, own_sport, own_name, team_sport, team_name, time_zone in rows
    }
    unknown = _Athlete(sport=None, sport_name="", time_zone=DEFAULT_TIME_ZONE)
    return {athlete_id: found.get(athlete_id, unknown) for athlete_id in athlete_ids}


def _groups() -> list[MuscleGroupRef]:
    return [
        MuscleGroupRef(code=code, name=name, has_sides=has_sides, region=region or None)
        for code, name, has_sides, region in MuscleGroup.objects.order_by(
            "sort_order", "code"
        ).values_list("code", "name", "has_sides", "region")
    ]


def _demand(sports: Iterable[str]) -> dict[str, dict[str, float]]:
    by_sport: dict[str, dict[str, float]] = defaultdict(dict)
    rows = SportDemand.objects.filter(sport_id__in=sorted(set(sports))).values_list(
        "sport_id", "muscle_group_id", "weight"
    )
    for sport, group, weight in rows:
        by_sport[sport][group] = weight
    return by_sport


def _soreness(ids: list[UUID], at: datetime) -> dict[UUID, list[SorenessSignal]]:
    by_athlete: dict[UUID, list[SorenessSignal]] = defaultdict(list)
    rows = SorenessEntry.objects.filter(
        report__athlete_id__in=ids,
        report__reported_at__gt=at - SORENESS_WINDOW,
        report__reported_at__lte=at,
    ).values_list(
        "report__athlete_id",
        "muscle_group_id",
        "side",
        "severity",
        "kind",
        "is_injury",
        "report__reported_at",
    )
    for athlete_id, group, side, severity, kind, injury, reported_at in rows:
        by_athlete[athlete_id].append(
            SorenessSignal(
                muscle_group=group,
                side=_side(side),
                severity=severity,
                kind=SorenessKind(kind),
                injury=injury,
                reported_at=reported_at,
            )
        )
    return by_athlete


def _treatments(ids: list[UUID], at: datetime) -> dict[UUID, list[TreatmentRecord]]:
    """Treated areas of completed sessions; a session is dated by its start (else scheduled) time."""
    by_athlete: dict[UUID, list[TreatmentRecord]] = defaultdict(list)
    rows = (
        TreatedArea.objects.filter(
            session__athlete_id__in=ids, session__status=MassageStatus.COMPLETED
        )
        .annotate(treated_at=Coalesce("session__started_at", "session__scheduled_at"))
        .filter(treated_at__lte=at, treated_at__gte=at - TREATMENT_WINDOW)
        .values_list(
            "session__athlete_id",
            "muscle_group_id",
            "side",
            "treated_at",
            "technique",
            "trigger_points_found",
            "session__pain_before",
            "session__pain_after",
        )
    )
    for athlete_id, group, side, treated_at, technique, points, before, after in rows:
        by_athlete[athlete_id].append(
            TreatmentRecord(
                muscle_group=group,
                side=_side(side),
                treated_at=treated_at,
                technique=Technique(technique),
                trigger_points_found=points,
                pain_before=before,
                pain_after=after,
            )
        )
    return by_athlete


def _injuries(
    ids: list[UUID], athletes: Mapping[UUID, _Athlete], at: datetime
) -> dict[UUID, list[InjurySignal]]:
    """Active and rehab injuries whose onset is not after the local day of `at`."""
    by_athlete: dict[UUID, list[InjurySignal]] = defaultdict(list)
    rows = Injury.objects.filter(athlete_id__in=ids, status__in=ACTIVE_INJURY_STATUSES).values_list(
        "athlete_id", "muscle_group_id", "side", "status", "onset_date"
    )
    for athlete_id, group, side, status, onset in rows:
        if onset <= local_day(at, athletes[athlete_id].time_zone):
            by_athlete[athlete_id].append(
                InjurySignal(muscle_group=group, side=_side(side), status=InjuryStatus(status))
            )
    return by_athlete


def _last_matches(
    ids: list[UUID], athletes: Mapping[UUID, _Athlete], at: datetime
) -> dict[UUID, datetime]:
    """Start of each athlete's latest match up to `at` (only the last 72 h matter to the domain)."""
    since = at - MATCH_WINDOW
    rows = (
        TrainingSession.objects.filter(athlete_id__in=ids, session_type=SessionType.MATCH)
        .filter(
            Q(started_at__gte=since, started_at__lte=at)
            | Q(
                started_at__isnull=True,
                date__gte=since.date() - timedelta(days=1),
                date__lte=at.date() + timedelta(days=1),
            )
        )
        .values_list("athlete_id", "started_at", "date")
    )
    latest: dict[UUID, datetime] = {}
    for athlete_id, started_at, day in rows:
        if started_at is None:
            zone = zone_of(athletes[athlete_id].time_zone)
            started_at = datetime.combine(day, MATCH_TIME_WHEN_UNKNOWN, tzinfo=zone)
        if since <= started_at <= at and started_at >= latest.get(athlete_id, since):
            latest[athlete_id] = started_at
    return latest


def _load_contexts(
    ids: list[UUID],
    athletes: Mapping[UUID, _Athlete],
    at: datetime,
    match_at: datetime | None,
    last_matches: Mapping[UUID, datetime],
) -> dict[UUID, LoadContext]:
    """Today's metrics (the local day of `at` in each athlete's team time zone): one query.

    `metrics_by_athlete` takes one day for all; athletes of teams in different time zones may be
    on different local days at the same instant, so the series is read once up to the latest of
    those days and each athlete's day is computed from it (the same query and domain call)."""
    days = {athlete_id: local_day(at, athletes[athlete_id].time_zone) for athlete_id in ids}
    series = daily_loads_by_athlete(athlete_ids=ids, until=max(days.values()))
    contexts: dict[UUID, LoadContext] = {}
    for athlete_id in ids:
        metrics = metrics_on(series.get(athlete_id), days[athlete_id])
        contexts[athlete_id] = LoadContext(
            acwr=metrics.acwr_coupled.value if metrics else None,
            risk_band=metrics.risk_band.value if metrics and metrics.risk_band else None,
            acute_au=metrics.acute_au if metrics else None,
            chronic_au=metrics.chronic_au if metrics else None,
            last_match_at=last_matches.get(athlete_id),
            next_match_at=match_at,
        )
    return contexts


def recommendations_for(
    *,
    athlete_ids: Collection[UUID],
    at: datetime,
    match_at: datetime | None = None,
    limit: int = 8,
) -> dict[UUID, Recommendation]:
    """The recommendation for each athlete at the instant `at` (aware), with an upcoming match at
    `match_at` if given. Eight queries whatever the number of athletes: the catalogue, the
    athletes' sports and time zones, the sports' demand, soreness entries of the 7 days up to
    `at`, treated areas of completed sessions of the 90 days up to `at`, active and rehab
    injuries, the daily loads, and matches of the last 4 days."""
    ids = list(dict.fromkeys(athlete_ids))
    if not ids:
        return {}
    groups = _groups()
    athletes = _athletes(ids)
    demand = _demand(a.sport for a in athletes.values() if a.sport)
    soreness = _soreness(ids, at)
    treatments = _treatments(ids, at)
    injuries = _injuries(ids, athletes, at)
    loads = _load_contexts(ids, athletes, at, match_at, _last_matches(ids, athletes, at))
    return {
        athlete_id: recommend(
            now=at,
            groups=groups,
            demand=demand.get(athletes[athlete_id].sport or "", {}),
            soreness=soreness.get(athlete_id, []),
            treatments=treatments.get(athlete_id, []),
            injuries=injuries.get(athlete_id, []),
            load=loads[athlete_id],
            sport_name=athletes[athlete_id].sport_name,
            limit=limit,
        )
        for athlete_id in ids
    }


def iso_datetime(value: datetime) -> str:
    """ISO 8601 in UTC as the API renders timestamps (`2025-03-10T12:00:00Z`)."""
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return iso_datetime(value)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def recommendation_as_dict(recommendation: Recommendation) -> dict[str, Any]:
    """JSON-ready: enums as their string values, timestamps ISO 8601, tuples as lists. This is
    the API response and the snapshot stored on a session planned from it."""
    plain: dict[str, Any] = _plain(asdict(recommendation))
    return plain


# --- Plan vs outcome --------------------------------------------------------------------------


class SessionNotCompleted(Conflict):
    default_code = "massage_session.not_completed"
    default_detail = "The session is not completed yet: there is no outcome to compare."


@dataclass(frozen=True)
class RecommendedArea:
    rank: int
    muscle_group: str
    name: str
    side: str | None
    technique: str | None
    pressure: str | None
    treated: bool
    treated_techniques: list[str]


@dataclass(frozen=True)
class TreatedAreaSummary:
    muscle_group: str
    name: str
    side: str | None
    technique: str
    pressure: str
    minutes: int | None


@dataclass(frozen=True)
class AvoidedButTreated:
    muscle_group: str
    name: str
    side: str | None
    treated_side: str | None
    reason_code: str
    reason: str
    message: str


@dataclass(frozen=True)
class PainChange:
    before: int | None
    after: int | None
    change: int | None


@dataclass(frozen=True)
class SorenessPoint:
    severity: int
    reported_at: str


@dataclass(frozen=True)
class SorenessFollowUp:
    muscle_group: str
    name: str
    side: str | None
    before: SorenessPoint | None
    after: SorenessPoint | None
    change: int | None


@dataclass(frozen=True)
class MassageComparison:
    session: UUID
    athlete: UUID
    session_at: str
    completed_at: str | None
    planned_from_recommendation: bool
    recommendation_generated_at: str | None
    session_mode: str | None
    recommended: list[RecommendedArea]
    not_recommended: list[TreatedAreaSummary]
    avoided_treated: list[AvoidedButTreated]
    pain: PainChange
    soreness: list[SorenessFollowUp]

    def as_dict(self) -> dict[str, Any]:
        plain: dict[str, Any] = _plain(asdict(self))
        plain["session"], plain["athlete"] = str(self.session), str(self.athlete)
        return plain


def _sides(side: str | None) -> frozenset[str]:
    """The sides a (group, side) covers: left or right itself; both, or none (midline), both."""
    return frozenset({side}) if side in (Side.LEFT, Side.RIGHT) else frozenset({"left", "right"})


def _overlaps(group_a: str, side_a: str | None, group_b: str, side_b: str | None) -> bool:
    return group_a == group_b and bool(_sides(side_a) & _sides(side_b))


def _label(name: str, side: str | None) -> str:
    if side is None:
        return name
    return f"{name} ({'both sides' if side == Side.BOTH else side})"


def _items(snapshot: Any, key: str) -> list[Mapping[str, Any]]:
    items = snapshot.get(key) if isinstance(snapshot, Mapping) else None
    if not isinstance(items, list):
        return []
    return [item for item in items if isinstance(item, Mapping) and item.get("muscle_group")]


def _soreness_follow_up(
    session: MassageSession, areas: list[TreatedArea], session_at: datetime
) -> list[SorenessFollowUp]:
    """Per treated (group, side): the last report in the 7 days before the session and the worst
    report in the 72 h after it (max severity over the entries on that group and side)."""
    units: dict[tuple[str, str | None], str] = {}
    for area in areas:
        units.setdefault((area.muscle_group_id, area.side), area.muscle_group.name)
    rows = list(
        SorenessEntry.objects.filter(
            report__athlete_id=session.athlete_id,
            muscle_group_id__in={group for group, _ in units},
            report__reported_at__gt=session_at - BASELINE_WINDOW,
            report__reported_at__lte=session_at + FOLLOW_UP_WINDOW,
        ).values_list("muscle_group_id", "side", "severity", "report__reported_at")
    )
    follow_up: list[SorenessFollowUp] = []
    for (group, side), name in units.items():
        before_by_time: dict[datetime, int] = {}
        after: tuple[int, datetime] | None = None
        for entry_group, entry_side, severity, reported_at in rows:
            if not _overlaps(group, side, entry_group, entry_side):
                continue
            if reported_at <= session_at:
                before_by_time[reported_at] = max(severity, before_by_time.get(reported_at, 0))
            elif after is None or (severity, -reported_at.timestamp()) > (
                after[0],
                -after[1].timestamp(),
            ):
                after = (severity, reported_at)
        last = max(before_by_time, default=None)
        before = SorenessPoint(before_by_time[last], iso_datetime(last)) if last else None
        later = SorenessPoint(after[0], iso_datetime(after[1])) if after else None
        change = later.severity - before.severity if later and before else None
        follow_up.append(SorenessFollowUp(group, name, side, before, later, change))
    return follow_up


def massage_session_comparison(*, user: User, session_id: UUID) -> MassageComparison:
    """Plan vs outcome of a completed session the user may see (404 otherwise; 409 when it is
    not completed). A session planned without a recommendation has an empty recommended list.
    Three queries: the session, its treated areas, the soreness entries around it."""
    session = (
        massage_session_list_visible_to(user=user)
        .prefetch_related(None)
        .prefetch_related(
            Prefetch("treated_areas", queryset=TreatedArea.objects.select_related("muscle_group"))
        )
        .filter(pk=session_id)
        .first()
    )
    if session is None:
        raise NotFound()
    if session.status != MassageStatus.COMPLETED:
        raise SessionNotCompleted()
    areas = list(session.treated_areas.all())
    session_at = session.started_at or session.scheduled_at
    snapshot = session.recommendation_snapshot
    focus, avoid = _items(snapshot, "focus"), _items(snapshot, "avoid")

    recommended = []
    for rank, item in enumerate(focus, start=1):
        group, side = str(item["muscle_group"]), item.get("side")
        matched = [a for a in areas if _overlaps(group, side, a.muscle_group_id, a.side)]
        recommended.append(
            RecommendedArea(
                rank=int(item.get("rank") or rank),
                muscle_group=group,
                name=str(item.get("name") or group),
                side=side,
                technique=item.get("technique"),
                pressure=item.get("pressure"),
                treated=bool(matched),
                treated_techniques=sorted({a.technique for a in matched}),
            )
        )
    not_recommended = [
        TreatedAreaSummary(
            a.muscle_group_id, a.muscle_group.name, a.side, a.technique, a.pressure, a.minutes
        )
        for a in areas
        if not any(
            _overlaps(r.muscle_group, r.side, a.muscle_group_id, a.side) for r in recommended
        )
    ]
    avoided_treated = []
    for item in avoid:
        group, side = str(item["muscle_group"]), item.get("side")
        name = str(item.get("name") or group)
        for area in areas:
            if _overlaps(group, side, area.muscle_group_id, area.side):
                reason = str(item.get("reason") or "")
                avoided_treated.append(
                    AvoidedButTreated(
                        muscle_group=group,
                        name=name,
                        side=side,
                        treated_side=area.side,
                        reason_code=str(item.get("reason_code") or ""),
                        reason=reason,
                        message=f"{_label(name, area.side)} was treated although the "
                        f"recommendation said to avoid it ({reason}).",
                    )
                )
    before, after = session.pain_before, session.pain_after
    return MassageComparison(
        session=session.pk,
        athlete=session.athlete_id,
        session_at=iso_datetime(session_at),
        completed_at=iso_datetime(session.completed_at) if session.completed_at else None,
        planned_from_recommendation=isinstance(snapshot, Mapping),
        recommendation_generated_at=(
            snapshot.get("generated_at") if isinstance(snapshot, Mapping) else None
        ),
        session_mode=snapshot.get("session_mode") if isinstance(snapshot, Mapping) else None,
        recommended=recommended,
        not_recommended=not_recommended,
        avoided_treated=avoided_treated,
        pain=PainChange(
            before, after, after - before if before is not None and after is not None else None
        ),
        soreness=_soreness_follow_up(session, areas, session_at),
    )
