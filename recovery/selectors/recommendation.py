"""Reads behind "where should the next session focus?" (DESIGN.md section 4).

`recommendations_for` gathers the inputs of `recovery.domain.recommendation.recommend` for many
athletes in a FIXED number of queries (two, whatever the number of athletes) and calls the pure
function once per athlete; `top_focus_for` does the same for `top_focus`, the cheap path of the
dashboards and the therapist queue, which show only the top item. `massage_session_comparison`
puts a completed session next to the recommendation it was planned from and the soreness reported
around it (plan vs outcome).

The two queries (docs/performance.md explains the choice): every signal of the athletes with
their sports and time zones (unless the caller read them: `context_columns`), the catalogue and
the sports' demand in one UNION ALL (`recovery.selectors.signals`), and the load metrics of each athlete's local day, from the per-day table
(`recovery.selectors.load.metrics_on_days`). The recommendation for now, without `at`, is read
from the athlete's stored state when it is current (`recovery.selectors.state`).

Access is the caller's business: these functions take athlete ids the caller may already see.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from typing import Any
from uuid import UUID

from django.db.models import Prefetch
from rest_framework.exceptions import NotFound

from accounts.models import User
from backend.api.errors import Conflict
from recovery.domain.metrics import DayMetrics
from recovery.domain.recommendation import (
    FocusItem,
    InjurySignal,
    InjuryStatus,
    LoadContext,
    Recommendation,
    Side,
    SorenessKind,
    SorenessSignal,
    TopFocusRanker,
    recommend,
)
from recovery.models import MassageSession, MassageStatus, SorenessEntry, TreatedArea
from recovery.selectors.load import (
    UNKNOWN_ATHLETE,
    AthleteContext,
    AthleteRef,
    local_day,
    metrics_on_days,
    zone_of,
)
from recovery.selectors.massage import massage_session_list_visible_to
from recovery.selectors.signals import (
    ACTIVE_INJURY_STATUSES,
    MATCH_WINDOW,
    SORENESS_WINDOW,
    Catalogue,
    Signals,
    side_of,
    signals_for,
)

# A session with a date but no start time is taken to have started at local noon.
MATCH_TIME_WHEN_UNKNOWN = time(12, 0)
# Plan vs outcome: soreness in the 72 h after the session against the last report in the 7 days
# before it (the DOMS time course).
FOLLOW_UP_WINDOW = timedelta(hours=72)
BASELINE_WINDOW = SORENESS_WINDOW


# --- Inputs of the pure function -------------------------------------------------------------------
def _last_match(
    matches: Iterable[tuple[datetime | None, date]], zone_name: str, at: datetime
) -> datetime | None:
    """Start of the athlete's latest match up to `at` (only the last 72 h matter)."""
    since = at - MATCH_WINDOW
    latest: datetime | None = None
    for started_at, day in matches:
        if started_at is None:
            started_at = datetime.combine(day, MATCH_TIME_WHEN_UNKNOWN, tzinfo=zone_of(zone_name))
        if since <= started_at <= at and started_at >= (latest or since):
            latest = started_at
    return latest


@dataclass
class RecommendationInputs:
    """Everything the pure functions need for a set of athletes, read in a fixed number of
    queries; `arguments(athlete_id)` are the keyword arguments of `recommend` / `top_focus`."""

    at: datetime
    match_at: datetime | None
    contexts: Mapping[UUID, AthleteContext]
    signals: Signals
    metrics: Mapping[tuple[UUID, date], DayMetrics | None]

    @property
    def catalogue(self) -> Catalogue:
        return self.signals.catalogue

    def day_of(self, athlete_id: UUID) -> date:
        return local_day(self.at, self.contexts[athlete_id].time_zone)

    def arguments(self, athlete_id: UUID) -> dict[str, Any]:
        context = self.contexts[athlete_id]
        day = self.day_of(athlete_id)
        low = self.at - SORENESS_WINDOW
        soreness = [
            SorenessSignal(
                muscle_group=e.muscle_group,
                side=side_of(e.side),
                severity=e.severity,
                kind=SorenessKind(e.kind),
                injury=e.injury,
                reported_at=e.reported_at,
            )
            for e in self.signals.soreness.get(athlete_id, ())
            if low < e.reported_at <= self.at
        ]
        injuries = [
            InjurySignal(
                muscle_group=i.muscle_group, side=side_of(i.side), status=InjuryStatus(i.status)
            )
            for i in self.signals.injuries.get(athlete_id, ())
            if i.status in ACTIVE_INJURY_STATUSES and i.onset_date <= day
        ]
        metrics = self.metrics.get((athlete_id, day))
        load = LoadContext(
            acwr=metrics.acwr_coupled.value if metrics else None,
            risk_band=metrics.risk_band.value if metrics and metrics.risk_band else None,
            acute_au=metrics.acute_au if metrics else None,
            chronic_au=metrics.chronic_au if metrics else None,
            last_match_at=_last_match(
                self.signals.matches.get(athlete_id, ()), context.time_zone, self.at
            ),
            next_match_at=self.match_at,
        )
        return {
            "now": self.at,
            "groups": self.catalogue.groups,
            "demand": self.catalogue.demand.get(context.sport or "", {}),
            "soreness": soreness,
            "treatments": self.signals.treatments.get(athlete_id, []),
            "injuries": injuries,
            "load": load,
            "sport_name": context.sport_name,
        }


def recommendation_inputs(
    athlete_ids: Collection[UUID],
    *,
    at: datetime,
    match_at: datetime | None = None,
    contexts: Mapping[UUID, AthleteContext] | None = None,
) -> RecommendationInputs:
    """The inputs for each athlete at the instant `at`: two queries, the signals with the
    catalogue and the athletes' contexts (unless the caller passes them), and the load metrics
    of each athlete's local day."""
    ids = list(dict.fromkeys(athlete_ids))
    signals = signals_for(
        ids,
        at=at,
        soreness_from=at - SORENESS_WINDOW,
        soreness_until=at,
        injuries_until=None,  # `arguments` keeps those begun by the athlete's local day
        catalogue=True,
        contexts=contexts is None,
    )
    if contexts is None:
        contexts = {
            athlete_id: signals.contexts.get(athlete_id, UNKNOWN_ATHLETE) for athlete_id in ids
        }
    days = {athlete_id: local_day(at, contexts[athlete_id].time_zone) for athlete_id in ids}
    return RecommendationInputs(
        at=at,
        match_at=match_at,
        contexts=contexts,
        signals=signals,
        metrics=metrics_on_days(pairs=days.items()),
    )


def recommendations_for(
    *,
    athlete_ids: Collection[UUID],
    at: datetime,
    match_at: datetime | None = None,
    limit: int = 8,
) -> dict[UUID, Recommendation]:
    """The recommendation for each athlete at the instant `at` (aware), with an upcoming match at
    `match_at` if given. Two queries whatever the number of athletes: the signals with the
    athletes' sports and time zones, the catalogue and the sports' demand (soreness of the 7 days
    up to `at`, treated areas of completed sessions of the 90 days up to `at`, active and rehab
    injuries, matches of the last 4 days) and the load metrics of each athlete's local day."""
    ids = list(dict.fromkeys(athlete_ids))
    if not ids:
        return {}
    inputs = recommendation_inputs(ids, at=at, match_at=match_at)
    return {
        athlete_id: recommend(**inputs.arguments(athlete_id), limit=limit) for athlete_id in ids
    }


def recommendation_for(
    athlete: AthleteRef, *, at: datetime, match_at: datetime | None = None, limit: int = 8
) -> Recommendation:
    """One athlete's recommendation, the athlete read with `athlete_visible_to(...,
    with_context=True)`: two queries (the signals with the catalogue, the load metrics)."""
    contexts = {athlete.id: athlete.context} if athlete.context else None
    inputs = recommendation_inputs([athlete.id], at=at, match_at=match_at, contexts=contexts)
    return recommend(**inputs.arguments(athlete.id), limit=limit)


def top_focus_for(
    inputs: RecommendationInputs, athlete_ids: Iterable[UUID]
) -> dict[UUID, FocusItem | None]:
    """The first focus item of each athlete's recommendation (`TopFocusRanker`: the same item as
    `recommendations_for(...)[id].focus[0]`, without building the rest). No query."""
    ranker = TopFocusRanker(inputs.catalogue.groups)
    found: dict[UUID, FocusItem | None] = {}
    for athlete_id in athlete_ids:
        arguments = inputs.arguments(athlete_id)
        del arguments["groups"]
        found[athlete_id] = ranker.top(**arguments)
    return found


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
