"""Each athlete's part of the team views (`ViewText`): what the dashboard row shows, what the
team summary adds up and what the therapist queue ranks by, as of the end of a local day.

`athlete_views` serves the stored part (`AthleteRecoveryState.views`, `recovery.selectors.state`)
of every athlete for whom it is current and computes the others together: two queries (the
signals with the catalogue, wellness and the last report and massage; the load metrics) per
batch of up to COMPUTE_BATCH (200) athletes and one conditional upsert to store them, none when
all are current.

Views are handled as JSON text (`ViewText`), never parsed whole: the dashboard splices each
athlete's row into its answer as it is stored and parses only the small line the team summary
adds up; the queue parses only its own line. The stored text is ONE JSON object written on three
lines (orjson's compact JSON has no raw newline, so a newline can only be one of these two):

    {"computed_at":...,"risk_band":...,"last_report_at":...,"unreported":...,"sore":[...],
    "queue":{"open_flags":...,"active_injuries":...,"rehab_injuries":...,"computed_at":...,
      "top_focus":...,"urgency":...,"urgency_components":...},    <- one line
    "row":{"load":...,...,"top_focus":...,"computed_at":...}}

Parsed whole it is the `AthleteView` of the one-line layout before it (its `queue` and `row`
have more keys, which that code ignores), so workers of either version read each other's parts
during a deploy; a part in the one-line layout is treated as stale here and computed again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final
from uuid import UUID
from zoneinfo import ZoneInfo

import orjson

from recovery.domain.metrics import DayMetrics, Derived, Reason, RiskBand
from recovery.domain.recommendation import FocusItem
from recovery.domain.wellness import WELLNESS_BASELINE_DAYS, wellness_trend
from recovery.models import InjuryStatus
from recovery.selectors import state
from recovery.selectors.dashboard.shapes import (
    DECIMALS,
    INJURY_POINTS,
    NO_REPORT_WINDOW,
    OPEN_FLAG_POINTS,
    SORE_WINDOW,
    TOP_SORE_GROUPS_PER_ATHLETE,
    WELLNESS_LATEST_MAX_AGE_DAYS,
    AthleteLoad,
    AthleteWellness,
    DashboardRow,
    InjuryRow,
    QueueInputs,
    SoreGroup,
    TopFocus,
    UrgencyComponents,
    Value,
    ViewSummary,
)
from recovery.selectors.load import UNKNOWN_ATHLETE, local_day, metrics_on_days
from recovery.selectors.recommendation import RecommendationInputs, top_focus_for
from recovery.selectors.signals import (
    SORENESS_WINDOW,
    Catalogue,
    Horizon,
    InjuryRecord,
    Signals,
    SoreEntry,
    WellnessRecord,
    signals_for,
)


@dataclass(frozen=True)
class Target:
    """An athlete whose view is wanted as of the end of `day` in `zone` (the team's), with what
    is stored."""

    athlete_id: UUID
    stored: state.Stored
    day: date
    zone: ZoneInfo

    @property
    def end(self) -> datetime:
        return day_end(self.day, self.zone)


def day_end(day: date, zone: ZoneInfo) -> datetime:
    """The end of a local day: the next local midnight (exclusive), as an aware datetime."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)


class ViewText:
    """One athlete's view as its stored JSON text (see the module docstring), cut into its three
    JSON objects on demand: the queue reads only its own line, the dashboard the other two."""

    __slots__ = ("_first", "_second", "text")

    def __init__(self, text: str, first: int, second: int) -> None:
        self.text, self._first, self._second = text, first, second

    @classmethod
    def of(cls, summary: ViewSummary, queue: QueueInputs, row: DashboardRow) -> ViewText:
        head = state.dumps(summary)[:-1] + ",\n"
        middle = f"{_QUEUE}{state.dumps(queue)},\n"
        return cls(
            f"{head}{middle}{_ROW}{state.dumps(row)}}}", len(head) - 1, len(head) + len(middle) - 1
        )

    @classmethod
    def parse(cls, stored: str) -> ViewText | None:
        """The view of a stored text; None for a text in another layout."""
        first = stored.find("\n")  # the older layout has none: -1
        second = stored.find("\n", first + 1)
        if (
            first < 1
            or second < 0
            or not stored.startswith(_QUEUE, first + 1)
            or not stored.startswith(_ROW, second + 1)
        ):
            return None
        return cls(stored, first, second)

    @property
    def summary(self) -> str:
        """`ViewSummary`: what the team summary adds up."""
        return self.text[: self._first - 1] + "}"

    @property
    def queue(self) -> str:
        """`QueueInputs`: what the therapist queue ranks by and shows."""
        return self.text[self._first + 1 + len(_QUEUE) : self._second - 1]

    @property
    def row(self) -> str:
        """`DashboardRow`: the dashboard row without the athlete, `computed_at` last."""
        return self.text[self._second + 1 + len(_ROW) : -1]

    def summary_data(self) -> ViewSummary:
        data: ViewSummary = orjson.loads(self.summary)
        return data

    def queue_data(self) -> QueueInputs:
        data: QueueInputs = orjson.loads(self.queue)
        return data


_QUEUE: Final = '"queue":'
_ROW: Final = '"row":'


COMPUTE_BATCH: Final = 200
"""Stale views are computed this many athletes at a time: a batch's signals (every report,
treatment, injury and wellness record in their windows) are Python objects until its views are
written, and a cold team of 600 at once peaked at about 45 MB more worker memory. Two queries a
batch, so a team of up to 200 is computed in two."""


def athlete_views(
    targets: Sequence[Target], *, at: datetime, now: datetime, store: bool, any_day: bool = False
) -> dict[UUID, ViewText]:
    """Each target's view, with the recommendation's top focus at `at`. With `store`, the
    stored view is served while current, and the others are computed and stored; with
    `any_day` (the therapist queue, which reads only the parts that do not depend on the day)
    a current view of another day or time zone serves too. Without `store` (a past or future
    day), every view is computed and nothing is stored."""
    views: dict[UUID, ViewText] = {}
    stale: list[Target] = []
    for target in targets:
        view = None
        if store and target.stored.current(None if any_day else _key(target)):
            view = ViewText.parse(target.stored.payload)
        if view is None:
            stale.append(target)
        else:
            views[target.athlete_id] = view
    if not stale:
        return views
    computed: dict[UUID, tuple[ViewText, datetime]] = {}
    for start in range(0, len(stale), COMPUTE_BATCH):
        computed.update(_compute(stale[start : start + COMPUTE_BATCH], at=at, now=now))
    views.update((athlete_id, view) for athlete_id, (view, _) in computed.items())
    if store:
        state.store(
            "views",
            [
                state.NewPart(
                    athlete_id=target.athlete_id,
                    read_version=target.stored.version,
                    computed_at=now,
                    valid_until=computed[target.athlete_id][1],
                    key=_key(target),
                    payload=computed[target.athlete_id][0].text,
                )
                for target in stale
            ],
        )
    return views


def _key(target: Target) -> str:
    return f"{target.day.isoformat()} {target.zone}"


def _compute(
    targets: Sequence[Target], *, at: datetime, now: datetime
) -> dict[UUID, tuple[ViewText, datetime]]:
    """The views and until when each holds: two queries for any number of athletes."""
    ids = [t.athlete_id for t in targets]
    ends = [t.end for t in targets]
    by_day: dict[tuple[date, datetime], list[UUID]] = defaultdict(list)
    for target in targets:
        by_day[(target.day, target.end)].append(target.athlete_id)
    wellness_days = timedelta(days=WELLNESS_LATEST_MAX_AGE_DAYS + WELLNESS_BASELINE_DAYS)
    signals = signals_for(
        ids,
        at=at,
        soreness_from=min(at - SORENESS_WINDOW, min(ends) - SORE_WINDOW),
        soreness_until=max(ends),
        injuries_until=None,  # the queue counts every open injury; rows cut at their day
        resolved_after=min(t.day for t in targets),
        flags_between=(min(at, *ends), max(at, *ends)),
        catalogue=True,
        contexts=True,
        horizons=[
            Horizon(day, end, day - wellness_days, tuple(members))
            for (day, end), members in by_day.items()
        ],
    )
    contexts = {athlete_id: signals.contexts.get(athlete_id, UNKNOWN_ATHLETE) for athlete_id in ids}
    own_days = {athlete_id: local_day(at, c.time_zone) for athlete_id, c in contexts.items()}
    metrics = metrics_on_days(pairs=[*((t.athlete_id, t.day) for t in targets), *own_days.items()])
    inputs = RecommendationInputs(
        at=at, match_at=None, contexts=contexts, signals=signals, metrics=metrics
    )
    focus = top_focus_for(inputs, contexts)
    computed: dict[UUID, tuple[ViewText, datetime]] = {}
    for target in targets:
        athlete_id, end = target.athlete_id, target.end
        view = _view(
            target, signals, metrics.get((athlete_id, target.day)), focus[athlete_id], at, now
        )
        valid_until = min(
            state.expiry(athlete_id, now),
            end,
            state.next_step(signals, athlete_id, at, contexts[athlete_id].time_zone),
        )
        computed[athlete_id] = (view, valid_until)
    return computed


def _view(
    target: Target,
    signals: Signals,
    metrics: DayMetrics | None,
    focus: FocusItem | None,
    at: datetime,
    computed_at: datetime,
) -> ViewText:
    """As of the end of the target's day, the queue's flags at `at`."""
    athlete_id, day, end = target.athlete_id, target.day, target.end
    catalogue = signals.catalogue
    entries = _recent_entries(signals.soreness.get(athlete_id, ()), end)
    wellness = sorted(signals.wellness.get(athlete_id, ()), key=_report_order)  # oldest first
    last_report_at = signals.last_report_at.get(athlete_id)
    last_massage_at = signals.last_massage_at.get(athlete_id)
    injuries = signals.injuries.get(athlete_id, ())
    load = _load(metrics)
    top_focus = _top_focus(focus)
    sore: dict[str, list[int]] = {}
    for entry in entries:
        counted = sore.setdefault(entry.muscle_group, [0, 0])
        counted[0] += 1
        counted[1] += entry.severity
    summary: ViewSummary = {
        "computed_at": computed_at,
        "risk_band": load["acwr"]["risk_band"],
        "last_report_at": last_report_at,
        "unreported": last_report_at is None or last_report_at < end - NO_REPORT_WINDOW,
        "sore": [
            (group, catalogue.names.get(group, group), n, total)
            for group, (n, total) in sorted(sore.items())
        ],
    }
    open_flags = signals.open_flags(athlete_id, at)
    active = sum(i.status == InjuryStatus.ACTIVE for i in injuries)
    rehab = sum(i.status == InjuryStatus.REHAB for i in injuries)
    components = urgency_components(
        focus_score=top_focus["score"] if top_focus else 0.0,
        open_flags=open_flags,
        injuries={InjuryStatus.ACTIVE: active, InjuryStatus.REHAB: rehab},
    )
    queue: QueueInputs = {
        "open_flags": open_flags,
        "active_injuries": active,
        "rehab_injuries": rehab,
        "computed_at": computed_at,
        "top_focus": top_focus,
        "urgency": round(
            components["focus"] + components["open_flags"] + components["injuries"], DECIMALS
        ),
        "urgency_components": components,
    }
    row: DashboardRow = {
        "load": load,
        "wellness": _wellness(wellness, day),
        "sore_groups": _sore_groups(entries, catalogue.names),
        "open_flags": signals.open_flags(athlete_id, end),
        "injuries": _injuries(injuries, catalogue, day),
        "last_massage_on": (
            None if last_massage_at is None else last_massage_at.astimezone(target.zone).date()
        ),
        "top_focus": top_focus,
        "computed_at": computed_at,
    }
    return ViewText.of(summary, queue, row)


def urgency_components(
    *, focus_score: float, open_flags: int, injuries: Mapping[str, int]
) -> UrgencyComponents:
    """The parts of the therapist queue's urgency, which sum to it (see OPEN_FLAG_POINTS,
    INJURY_POINTS)."""
    return {
        "focus": focus_score,
        "open_flags": OPEN_FLAG_POINTS * open_flags,
        "injuries": sum(INJURY_POINTS.get(status, 0.0) * n for status, n in injuries.items()),
    }


def _report_order(report: WellnessRecord) -> str:
    return report.order


# --- The row's parts --------------------------------------------------------------------------------
def _round(value: float | None) -> float | None:
    return None if value is None else round(value, DECIMALS)


def _value(derived: Derived) -> Value:
    return {
        "value": _round(derived.value),
        "reason": None if derived.reason is None else derived.reason.value,
    }


def _band(band: RiskBand | None) -> str | None:
    return None if band is None else band.value


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


def _wellness(reports: Sequence[WellnessRecord], day: date) -> AthleteWellness:
    """The latest complete total against the athlete's own baseline: the last total of each day of
    the 28 days before the latest one's day (wellness domain: z-score, not a fixed cut-off).
    `reports` oldest first."""
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


def _recent_entries(entries: Iterable[SoreEntry], end: datetime) -> list[SoreEntry]:
    """Sore entries (severity above 0) reported in the 72 h before `end`, from the signals the
    recommendation read too (their window covers these 72 h)."""
    start = end - SORE_WINDOW
    return [e for e in entries if e.severity > 0 and start <= e.reported_at < end]


def _sore_groups(entries: Iterable[SoreEntry], names: Mapping[str, str]) -> list[SoreGroup]:
    """One athlete's worst entry per group and side, worst first (ties: latest, then code)."""
    worst: dict[tuple[str, str | None], SoreEntry] = {}
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
            "name": names.get(e.muscle_group, e.muscle_group),
            "side": e.side,
            "max_severity": e.severity,
            "kind": e.kind,
            "reported_at": e.reported_at,
        }
        for e in ranked[:TOP_SORE_GROUPS_PER_ATHLETE]
    ]


def _injuries(records: Iterable[InjuryRecord], catalogue: Catalogue, day: date) -> list[InjuryRow]:
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
            catalogue.sort_order.get(injury.muscle_group, 0),
            injury.side is None,
            injury.side or "",
        )

    return [
        {
            "muscle_group": i.muscle_group,
            "name": catalogue.names.get(i.muscle_group, i.muscle_group),
            "side": i.side,
            "status": i.status,
            "onset_date": i.onset_date,
            "resolved_date": i.resolved_date,
        }
        for i in sorted(filter(shown, records), key=order)
    ]


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
