"""Everything the recommendation and the team views read about many athletes, in ONE query.

`signals_for` is a UNION ALL of typed SELECTs, one per kind of input, mapped onto the same
columns (`_SIGNAL_COLUMNS`, NULL where a kind has nothing): soreness entries, the last treatment
instants, injuries, matches, open flags and the catalogue with the sports' demand; with
`horizons` (the team views), also each athlete's wellness reports and last soreness report and
massage session as of the end of a local day. One round trip and one statement to compile,
whatever the number of athletes (docs/performance.md); the callers cut their exact windows in
Python.

Access is the caller's business: these functions take athlete ids the caller may already see.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache, reduce
from typing import Any, Final
from uuid import UUID

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    DateField,
    DateTimeField,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    UUIDField,
    Value,
    When,
    Window,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import Cast, Coalesce, Concat, Rank

from accounts.models import AthleteProfile, Membership, Role, User
from backend.compiled import CompiledQuery, Placeholders, compile_query, compiled_sql
from recovery.domain.recommendation import (
    DOMS_ZERO_WEIGHT_H,
    POST_MATCH_TO_H,
    MuscleGroupRef,
    Side,
    Technique,
    TreatmentRecord,
)
from recovery.domain.wellness import WELLNESS_ITEM_MAX, WELLNESS_ITEM_MIN, WELLNESS_ITEMS
from recovery.models import (
    Injury,
    MassageSession,
    MassageStatus,
    MuscleGroup,
    SessionType,
    SorenessEntry,
    SorenessReport,
    SportDemand,
    TrainingSession,
    TreatedArea,
)
from recovery.selectors.load import AthleteContext, context_columns, context_from

# Soreness older than the DOMS time course (7 days) weighs nothing in the score.
SORENESS_WINDOW = timedelta(hours=DOMS_ZERO_WEIGHT_H)
# Treatments: the follow-up window is 28 days; older ones still give "N days since last treated"
# (the gap factor caps at 14 days), so a quarter of a year is read.
TREATMENT_WINDOW = timedelta(days=90)
# Only a match in the last 72 h changes the session mode; a day of margin covers sessions that
# have a local date but no start time.
MATCH_WINDOW = timedelta(hours=POST_MATCH_TO_H) + timedelta(days=1)
ACTIVE_INJURY_STATUSES = ("active", "rehab")


# --- The catalogue and the sports' demand ------------------------------------------------------
@dataclass(frozen=True)
class Catalogue:
    groups: list[MuscleGroupRef]
    names: dict[str, str]
    sort_order: dict[str, int]
    demand: dict[str, dict[str, float]]
    """Sport -> muscle group -> weight, for the sports asked for."""


EMPTY_CATALOGUE: Final = Catalogue([], {}, {}, {})


def side_of(value: str | None) -> Side | None:
    return Side(value) if value else None


# --- The columns of the UNION ---------------------------------------------------------------------
(
    SOURCE_SORENESS,
    SOURCE_TREATMENT,
    SOURCE_INJURY,
    SOURCE_MATCH,
    SOURCE_FLAG,
    SOURCE_GROUP,
    SOURCE_DEMAND,
    SOURCE_WELLNESS,
    SOURCE_LAST,
    SOURCE_CONTEXT,
) = range(10)
_SIGNAL_COLUMNS: Final[dict[str, Any]] = {
    "athlete": UUIDField(),
    "group": CharField(),
    "side": CharField(),
    "moment": DateTimeField(),
    "later": DateTimeField(),
    "day": DateField(),
    "until": DateField(),
    "n1": IntegerField(),
    "n2": IntegerField(),
    "n3": IntegerField(),
    "text": CharField(),
    "flag": BooleanField(),
    "weight": FloatField(),
}


def _null(output: Any) -> Cast:
    """A typed NULL: PostgreSQL types a UNION's columns pairwise, and an untyped NULL met first
    becomes text (then "UNION types text and date cannot be matched")."""
    return Cast(Value(None), output_field=output)


def _part(
    source: int, queryset: QuerySet[Any, Any], **columns: Combinable | str
) -> QuerySet[Any, Any]:
    """One branch of the UNION: `columns` mapped onto _SIGNAL_COLUMNS, NULL elsewhere."""
    values: list[Any] = [Value(source, output_field=IntegerField())]
    for name, output in _SIGNAL_COLUMNS.items():
        value = columns.get(name)
        values.append(
            _null(output) if value is None else F(value) if isinstance(value, str) else value
        )
    return queryset.order_by().values_list(*values)


# --- What comes back ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SoreEntry:
    muscle_group: str
    side: str | None
    severity: int
    kind: str
    injury: bool
    reported_at: datetime


@dataclass(frozen=True)
class InjuryRecord:
    muscle_group: str
    side: str | None
    status: str
    onset_date: date
    resolved_date: date | None


@dataclass(frozen=True)
class FlagRecord:
    """A flagged soreness entry: open from `reported_at` until `resolved_at` (if ever)."""

    reported_at: datetime
    resolved_at: datetime | None

    def open_at(self, moment: datetime) -> bool:
        return self.reported_at < moment and (
            self.resolved_at is None or self.resolved_at >= moment
        )


@dataclass(frozen=True)
class WellnessRecord:
    """A report with a complete wellness total; `order` sorts an athlete's reports by time (its
    UTC timestamp as text, then its id)."""

    order: str
    on: date
    total: int


@dataclass
class Signals:
    """What `signals_for` read, per athlete, in no guaranteed order."""

    soreness: dict[UUID, list[SoreEntry]] = field(default_factory=lambda: defaultdict(list))
    treatments: dict[UUID, list[TreatmentRecord]] = field(default_factory=lambda: defaultdict(list))
    injuries: dict[UUID, list[InjuryRecord]] = field(default_factory=lambda: defaultdict(list))
    matches: dict[UUID, list[tuple[datetime | None, date]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    flags: dict[UUID, list[FlagRecord]] = field(default_factory=lambda: defaultdict(list))
    """Flagged entries that may be open at one of the `flags_between` instants."""
    catalogue: Catalogue = EMPTY_CATALOGUE
    wellness: dict[UUID, list[WellnessRecord]] = field(default_factory=lambda: defaultdict(list))
    last_report_at: dict[UUID, datetime | None] = field(default_factory=dict)
    last_massage_at: dict[UUID, datetime | None] = field(default_factory=dict)
    contexts: dict[UUID, AthleteContext] = field(default_factory=dict)

    def open_flags(self, athlete_id: UUID, moment: datetime) -> int:
        return sum(flag.open_at(moment) for flag in self.flags.get(athlete_id, ()))


@dataclass(frozen=True)
class Horizon:
    """Athletes read as of the end of a local `day` (`end`, excluded): their wellness reports
    of the local days from `wellness_from` to `day`, their last soreness report and last
    completed massage session before `end`."""

    day: date
    end: datetime
    wellness_from: date
    athlete_ids: tuple[UUID, ...]


# --- The query --------------------------------------------------------------------------------------
def signals_for(
    athlete_ids: Collection[UUID],
    *,
    at: datetime,
    soreness_from: datetime,
    soreness_until: datetime,
    injuries_until: date | None,
    resolved_after: date | None = None,
    flags_between: tuple[datetime, datetime] | None = None,
    catalogue: bool = False,
    contexts: bool = False,
    horizons: Sequence[Horizon] = (),
) -> Signals:
    """ONE query (UNION ALL) for the athletes' soreness entries reported from `soreness_from` to
    `soreness_until` (inclusive), treated areas of sessions completed in the 90 days up to `at`
    (only each group and side's last instant), injuries with onset up to `injuries_until` (any,
    with None) that are active or in rehab (or, with `resolved_after`, resolved after that day),
    matches of the 4 days up to `at`; with `flags_between` (earliest, latest), the flagged
    entries reported before the latest instant and not resolved before the earliest; with
    `catalogue`, the muscle groups and the demand of every sport the athletes may follow (their
    own, their teams'); with `contexts`, each athlete's `AthleteContext`; and the `horizons`'
    reads. Compiled once per shape and process (`backend.compiled`)."""
    shape = _Shape(
        flags=flags_between is not None,
        catalogue=catalogue,
        contexts=contexts,
        bounded=injuries_until is not None,
        resolved=resolved_after is not None,
        horizons=len(horizons),
    )
    since = at - MATCH_WINDOW
    values: dict[str, Any] = {
        "ids": list(athlete_ids),
        "at": at,
        "soreness_from": soreness_from,
        "soreness_until": soreness_until,
        "treated_from": at - TREATMENT_WINDOW,
        "match_since": since,
        "match_day_from": since.date() - timedelta(days=1),
        "match_day_to": at.date() + timedelta(days=1),
        "injuries_until": injuries_until,
        "resolved_after": resolved_after,
    }
    if flags_between is not None:
        values["flags_from"], values["flags_until"] = flags_between
    for index, horizon in enumerate(horizons):
        values |= {
            f"h{index}_ids": list(horizon.athlete_ids),
            f"h{index}_day": horizon.day,
            f"h{index}_end": horizon.end,
            f"h{index}_from": horizon.wellness_from,
        }
    return _read(_compiled(connection.vendor, shape).rows(**values))


@dataclass(frozen=True)
class _Shape:
    flags: bool
    catalogue: bool
    contexts: bool
    bounded: bool
    resolved: bool
    horizons: int


@cache
def _compiled(vendor: str, shape: _Shape) -> CompiledQuery:
    p = Placeholders()
    ids, at = p.uuids("ids"), p.datetime("at")
    parts = [
        _soreness(ids, p.datetime("soreness_from"), p.datetime("soreness_until")),
        _treatments(ids, at, p.datetime("treated_from")),
        _injuries(
            ids,
            p.date("injuries_until") if shape.bounded else None,
            p.date("resolved_after") if shape.resolved else None,
        ),
        _matches(
            ids, at, p.datetime("match_since"), p.date("match_day_from"), p.date("match_day_to")
        ),
    ]
    if shape.flags:  # few rows: through the index on `flagged`
        parts.append(_flags(ids, p.datetime("flags_from"), p.datetime("flags_until")))
    if shape.catalogue:
        parts += _catalogue(ids)
    if shape.contexts:
        parts.append(_contexts(ids))
    for i in range(shape.horizons):
        parts += _horizon(
            p.uuids(f"h{i}_ids"), p.date(f"h{i}_day"), p.datetime(f"h{i}_end"), p.date(f"h{i}_from")
        )
    return compile_query(*compiled_sql(parts[0].union(*parts[1:], all=True)), p)


def _soreness(ids: list[UUID], since: datetime, until: datetime) -> QuerySet[Any, Any]:
    return _part(
        SOURCE_SORENESS,
        SorenessEntry.objects.filter(
            report__athlete_id__in=ids,
            report__reported_at__gte=since,
            report__reported_at__lte=until,
        ),
        athlete="report__athlete_id",
        group="muscle_group_id",
        side="side",
        moment="report__reported_at",
        n1="severity",
        text="kind",
        flag="is_injury",
    )


def _treatments(ids: list[UUID], at: datetime, since: datetime) -> QuerySet[Any, Any]:
    window = (
        TreatedArea.objects.filter(
            session__athlete_id__in=ids, session__status=MassageStatus.COMPLETED
        )
        .annotate(treated_at=Coalesce("session__started_at", "session__scheduled_at"))
        .filter(treated_at__lte=at, treated_at__gte=since)
    )
    # Only each (athlete, group, side as recorded)'s last instant can be a unit's last treatment
    # (a unit reads the records of its own side, of "both" and of none): the older records are
    # filtered out in SQL rather than sent (docs/performance.md).
    last_instants = window.annotate(
        last=Window(
            Rank(),
            partition_by=[F("session__athlete_id"), F("muscle_group_id"), F("side")],
            order_by=F("treated_at").desc(),
        )
    ).filter(last=1)
    return _part(
        SOURCE_TREATMENT,
        TreatedArea.objects.filter(pk__in=last_instants.values("pk")).annotate(
            treated_at=Coalesce("session__started_at", "session__scheduled_at")
        ),
        athlete="session__athlete_id",
        group="muscle_group_id",
        side="side",
        moment="treated_at",
        n1="trigger_points_found",
        n2="session__pain_before",
        n3="session__pain_after",
        text="technique",
    )


def _injuries(
    ids: list[UUID], until: date | None, resolved_after: date | None
) -> QuerySet[Any, Any]:
    wanted = Q(status__in=ACTIVE_INJURY_STATUSES)
    if resolved_after is not None:
        wanted |= Q(resolved_date__gt=resolved_after)
    injuries = Injury.objects.filter(athlete_id__in=ids).filter(wanted)
    if until is not None:
        injuries = injuries.filter(onset_date__lte=until)
    return _part(
        SOURCE_INJURY,
        injuries,
        athlete="athlete_id",
        group="muscle_group_id",
        side="side",
        day="onset_date",
        until="resolved_date",
        text="status",
    )


def _matches(
    ids: list[UUID], at: datetime, since: datetime, first_day: date, last_day: date
) -> QuerySet[Any, Any]:
    """Matches started from `since` to `at`, and those with only a date from `first_day` to
    `last_day` (a day of margin each side: a local date, and local noon is assumed)."""
    return _part(
        SOURCE_MATCH,
        TrainingSession.objects.filter(athlete_id__in=ids, session_type=SessionType.MATCH).filter(
            Q(started_at__gte=since, started_at__lte=at)
            | Q(started_at__isnull=True, date__gte=first_day, date__lte=last_day)
        ),
        athlete="athlete_id",
        moment="started_at",
        day="date",
    )


def _flags(ids: list[UUID], earliest: datetime, latest: datetime) -> QuerySet[Any, Any]:
    return _part(
        SOURCE_FLAG,
        SorenessEntry.objects.filter(
            flagged=True, report__athlete_id__in=ids, report__reported_at__lt=latest
        ).filter(Q(flag_resolved_at__isnull=True) | Q(flag_resolved_at__gte=earliest)),
        athlete="report__athlete_id",
        moment="report__reported_at",
        later="flag_resolved_at",
    )


def _catalogue(ids: list[UUID]) -> list[QuerySet[Any, Any]]:
    """The muscle groups, and the demand of the sports the athletes may follow: their own
    primary sport and those of their teams (the context picks one of them)."""
    sports = Q(
        sport_id__in=Membership.objects.filter(
            user_id__in=ids, role=Role.ATHLETE, is_active=True
        ).values("team__sport_id")
    ) | Q(sport_id__in=AthleteProfile.objects.filter(user_id__in=ids).values("primary_sport_id"))
    groups = _part(
        SOURCE_GROUP,
        MuscleGroup.objects.all(),
        group="code",
        text="name",
        flag="has_sides",
        side="region",
        n1="sort_order",
    )
    demand = _part(
        SOURCE_DEMAND,
        SportDemand.objects.filter(sports),
        group="muscle_group_id",
        text="sport_id",
        weight="weight",
    )
    return [groups, demand]


_WELLNESS_ON_SCALE: Final = {
    f"{item.value}__{bound}": value
    for item in WELLNESS_ITEMS
    for bound, value in (("gte", WELLNESS_ITEM_MIN), ("lte", WELLNESS_ITEM_MAX))
}


def _contexts(ids: list[UUID]) -> QuerySet[Any, Any]:
    """Each athlete's `AthleteContext` (`recovery.selectors.load.context_columns`): the sport
    (their own, else their first team's) with its name, and their first team's time zone."""
    own = Q(ctx_own_sport__isnull=False)
    return _part(
        SOURCE_CONTEXT,
        User.objects.filter(pk__in=ids).annotate(**context_columns("pk")),
        athlete="pk",
        group=Coalesce("ctx_own_sport", "ctx_team_sport", output_field=CharField()),
        text=Case(
            When(own, then=F("ctx_own_sport_name")),
            default=F("ctx_team_sport_name"),
            output_field=CharField(),
        ),
        side="ctx_time_zone",
    )


def _horizon(ids: list[UUID], day: date, end: datetime, since: date) -> list[QuerySet[Any, Any]]:
    """As of `end` (the end of the local `day`): wellness reports of the days from `since` to
    `day` whose five items are all on the 1-5 scale (what `wellness_total(require_all=True)`
    accepts), summed in SQL; the last report and the last completed massage session (started,
    else scheduled) before the end; a session signed only after the end was not completed yet
    then."""
    wellness = _part(
        SOURCE_WELLNESS,
        SorenessReport.objects.filter(
            athlete_id__in=ids,
            date__gte=since,
            date__lte=day,
            reported_at__lt=end,
            **_WELLNESS_ON_SCALE,
        ),
        athlete="athlete_id",
        day="date",
        n1=reduce(operator.add, (F(item.value) for item in WELLNESS_ITEMS)),
        # The order of the reports, as text: the timestamp (UTC, the database session's zone)
        # then the id. Thousands of rows: text is read in C, a timestamp by a Python loader.
        text=Concat(Cast("reported_at", CharField()), Value(" "), Cast("id", CharField())),
    )
    reports = SorenessReport.objects.filter(athlete_id=OuterRef("pk"), reported_at__lt=end)
    sessions = (
        MassageSession.objects.filter(athlete_id=OuterRef("pk"), status=MassageStatus.COMPLETED)
        .filter(Q(completed_at__isnull=True) | Q(completed_at__lt=end))
        .annotate(held_at=Coalesce("started_at", "scheduled_at"))
        .filter(held_at__lt=end)
    )
    last = _part(
        SOURCE_LAST,
        User.objects.filter(pk__in=ids),
        athlete="pk",
        moment=Subquery(reports.order_by("-reported_at").values("reported_at")[:1]),
        later=Subquery(sessions.order_by("-held_at").values("held_at")[:1]),
    )
    return [wellness, last]


def _read(rows: Iterable[tuple[Any, ...]]) -> Signals:
    found = Signals()
    groups: list[tuple[int, str, str, bool, str | None]] = []
    demand: dict[str, dict[str, float]] = defaultdict(dict)
    for (
        source,
        athlete,
        group,
        side,
        moment,
        later,
        day,
        until,
        n1,
        n2,
        n3,
        text,
        flag,
        weight,
    ) in rows:
        if source == SOURCE_SORENESS:
            found.soreness[athlete].append(SoreEntry(group, side, n1, text, flag, moment))
        elif source == SOURCE_TREATMENT:
            found.treatments[athlete].append(
                TreatmentRecord(group, side_of(side), moment, Technique(text), n1, n2, n3)
            )
        elif source == SOURCE_INJURY:
            found.injuries[athlete].append(InjuryRecord(group, side, text, day, until))
        elif source == SOURCE_MATCH:
            found.matches[athlete].append((moment, day))
        elif source == SOURCE_FLAG:
            found.flags[athlete].append(FlagRecord(moment, later))
        elif source == SOURCE_GROUP:
            groups.append((n1, group, text, flag, side))
        elif source == SOURCE_DEMAND:
            demand[text][group] = weight
        elif source == SOURCE_WELLNESS:
            found.wellness[athlete].append(WellnessRecord(text, day, n1))
        elif source == SOURCE_CONTEXT:
            found.contexts[athlete] = context_from(group, text, None, None, side)
        else:
            found.last_report_at[athlete], found.last_massage_at[athlete] = moment, later
    if groups:
        groups.sort()
        found.catalogue = Catalogue(
            groups=[
                MuscleGroupRef(code=code, name=name, has_sides=has_sides, region=region or None)
                for _, code, name, has_sides, region in groups
            ],
            names={code: name for _, code, name, _, _ in groups},
            sort_order={code: order for order, code, _, _, _ in groups},
            demand=demand,
        )
    return found
