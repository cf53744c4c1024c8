"""Training-load reads: each athlete's daily load series and its metrics (DESIGN.md section 3).

The maths is `recovery.domain.metrics`; this module only fetches the daily loads, in ONE query
whatever the number of athletes or the length of history, and hands them to the domain.

The metrics of ONE day for many athletes (dashboards, the recommendation's load context) are read
from the per-day table instead (`AthleteDailyLoad`, kept by `recovery.services.daily_loads`):
three stored rows per athlete, never the whole history (`metrics_on_days`).

The metrics endpoint (one athlete, up to a year of days) has its own path, built for a year of
rows per request: two statements compiled once per process, tuples in and out
(`athlete_time_zone_visible_to`, `athlete_metrics_rows`; docs/performance.md).

A session's `date` is its local calendar day (the client or the service sets it in the team's time
zone), so the series is read as stored: no time-zone conversion here. A day's load is the sum of
its sessions' sRPE (`load_au`), summed by the database.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, Final
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection
from django.db.models import F, OuterRef, Q, QuerySet, Subquery, Sum
from rest_framework.exceptions import NotFound

from accounts.access import Resource, athlete_filter
from accounts.models import Membership, Role, User
from backend.compiled import (
    CompiledQuery,
    Placeholders,
    adapt,
    compile_query,
    compiled_sql,
)
from backend.db import prepared_cursor
from recovery.domain.metrics import (
    CHRONIC_DAYS,
    DayMetrics,
    LoadState,
    MetricsRow,
    day_metrics,
    metrics_for_range,
    metrics_from_state,
    metrics_row_from_state,
    metrics_rows,
    roll_state,
)
from recovery.models import AthleteDailyLoad, TrainingSession
from recovery.serializers.metrics import day_json

DEFAULT_TIME_ZONE = "UTC"


@dataclass(frozen=True)
class AthleteLoadSeries:
    """One athlete's daily loads (AU) up to a day; days without sessions are absent (rest, 0)."""

    first_day: date | None
    """The athlete's first training day; None when they have no session up to that day."""
    loads_by_day: dict[date, float]


@dataclass(frozen=True)
class AthleteRef:
    """An athlete the caller may see for a resource, with the time zone of their team."""

    user: User
    time_zone: str
    context: AthleteContext | None = None
    """Sport and time zone as the recommendation reads them (`with_context=True`)."""

    @property
    def id(self) -> UUID:
        return self.user.pk

    def today(self, now: datetime) -> date:
        return local_day(now, self.time_zone)


@dataclass(frozen=True)
class AthleteContext:
    """What the recommendation reads about the athlete: the sport whose demand applies (their
    primary sport, else their first team's) and the time zone of their days (first team's)."""

    sport: str | None
    sport_name: str
    time_zone: str


UNKNOWN_ATHLETE: Final = AthleteContext(sport=None, sport_name="", time_zone=DEFAULT_TIME_ZONE)
CONTEXT_COLUMNS: Final = (
    "ctx_own_sport",
    "ctx_own_sport_name",
    "ctx_team_sport",
    "ctx_team_sport_name",
    "ctx_time_zone",
)


def _sport_word(name: str) -> str:
    """The sport as it reads in a reason: "Football (soccer)" -> "football"."""
    name = name.split(" (", 1)[0].strip()
    return name[:1].lower() + name[1:]


def context_columns(user: str = "pk") -> dict[str, Any]:
    """Annotations (named in CONTEXT_COLUMNS) that give an athlete's `AthleteContext` on a
    queryset where `user` is the athlete: "pk" on User, "user" on Membership. The athlete's first
    team (first joined: the one whose time zone and sport their days follow) is read by three
    correlated subqueries, one index probe each."""
    prefix = "" if user == "pk" else f"{user}__"
    outer = OuterRef("pk" if user == "pk" else f"{user}_id")
    team = Membership.objects.filter(user=outer, role=Role.ATHLETE, is_active=True).order_by(
        "created_at", "id"
    )
    return {
        "ctx_own_sport": F(f"{prefix}athlete_profile__primary_sport_id"),
        "ctx_own_sport_name": F(f"{prefix}athlete_profile__primary_sport__name"),
        "ctx_team_sport": Subquery(team.values("team__sport_id")[:1]),
        "ctx_team_sport_name": Subquery(team.values("team__sport__name")[:1]),
        "ctx_time_zone": Subquery(team.values("team__time_zone")[:1]),
    }


def context_from(
    own_sport: str | None,
    own_sport_name: str | None,
    team_sport: str | None,
    team_sport_name: str | None,
    time_zone: str | None,
) -> AthleteContext:
    """The `AthleteContext` from the CONTEXT_COLUMNS values, in that order."""
    return AthleteContext(
        sport=own_sport or team_sport,
        sport_name=_sport_word((own_sport and own_sport_name) or team_sport_name or ""),
        time_zone=time_zone or DEFAULT_TIME_ZONE,
    )


def athlete_contexts(athlete_ids: Collection[UUID]) -> dict[UUID, AthleteContext]:
    """Each athlete's context (one query); unknown ids get UNKNOWN_ATHLETE."""
    rows = (
        User.objects.filter(pk__in=list(athlete_ids))
        .annotate(**context_columns("pk"))
        .values_list("pk", *CONTEXT_COLUMNS)
    )
    found = {pk: context_from(*values) for pk, *values in rows}
    return {athlete_id: found.get(athlete_id, UNKNOWN_ATHLETE) for athlete_id in athlete_ids}


def zone_of(time_zone: str) -> ZoneInfo:
    """The IANA zone of that name; UTC when the name is unknown (never a 500 over a bad name)."""
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIME_ZONE)


def local_day(moment: datetime, time_zone: str) -> date:
    """The calendar day of an aware `moment` in `time_zone`."""
    return moment.astimezone(zone_of(time_zone)).date()


def athlete_team_memberships() -> QuerySet[Membership, Membership]:
    """The athlete memberships of `OuterRef("pk")` (a user), first joined first: the team whose
    time zone and sport an athlete's days and demand follow when they are in several teams."""
    return Membership.objects.filter(
        user=OuterRef("pk"), role=Role.ATHLETE, is_active=True
    ).order_by("created_at", "id")


def athlete_visible_to(
    *, user: User, athlete_id: UUID, resource: Resource, with_context: bool = False
) -> AthleteRef:
    """The athlete (a user with an athlete profile) if `user` may read `resource` of theirs;
    404 otherwise, the same answer as for an id that does not exist. One query (which also reads
    the athlete's `AthleteContext` with `with_context`)."""
    athletes = User.objects.filter(athlete_filter(user, resource=resource, path="id")).filter(
        pk=athlete_id, athlete_profile__isnull=False
    )
    if with_context:
        athletes = athletes.annotate(**context_columns("pk"))
    else:
        athletes = athletes.annotate(
            ctx_time_zone=Subquery(athlete_team_memberships().values("team__time_zone")[:1])
        )
    athlete = athletes.first()
    if athlete is None:
        raise NotFound()
    time_zone: str | None = getattr(athlete, "ctx_time_zone", None)
    context = (
        context_from(*(getattr(athlete, name) for name in CONTEXT_COLUMNS))
        if with_context
        else None
    )
    return AthleteRef(user=athlete, time_zone=time_zone or DEFAULT_TIME_ZONE, context=context)


def daily_loads_by_athlete(
    *, athlete_ids: Collection[UUID], until: date
) -> dict[UUID, AthleteLoadSeries]:
    """Every athlete's daily loads up to and including `until`, in one query (summed per athlete
    and day in SQL). Each requested athlete is in the result; with no training, `first_day` is
    None and `loads_by_day` empty."""
    if not athlete_ids:
        return {}
    rows = (
        TrainingSession.objects.filter(athlete_id__in=list(athlete_ids), date__lte=until)
        .values("athlete_id", "date")
        .annotate(day_load_au=Sum("load_au"))
        .order_by("athlete_id", "date")
        .values_list("athlete_id", "date", "day_load_au")
    )
    loads: dict[UUID, dict[date, float]] = {athlete_id: {} for athlete_id in athlete_ids}
    for athlete_id, day, load_au in rows:
        loads.setdefault(athlete_id, {})[day] = float(load_au or 0)
    return {
        athlete_id: AthleteLoadSeries(first_day=min(by_day, default=None), loads_by_day=by_day)
        for athlete_id, by_day in loads.items()
    }


def series_metrics(series: AthleteLoadSeries | None, *, start: date, end: date) -> list[DayMetrics]:
    """One row per day from `start` to `end` (pure: no query). Days before the first training
    day, or every day for an athlete without training, are rows with no history."""
    if series is None or series.first_day is None or series.first_day > end:
        return metrics_for_range(
            first_day=end + timedelta(days=1), loads_by_day={}, start=start, end=end
        )
    loads: Mapping[date, float] = series.loads_by_day
    if any(day > end for day in loads):
        loads = {day: load for day, load in loads.items() if day <= end}
    return metrics_for_range(first_day=series.first_day, loads_by_day=loads, start=start, end=end)


def metrics_on(series: AthleteLoadSeries | None, day: date) -> DayMetrics | None:
    """The metrics of `day` from a series (pure); None when there was no training up to `day`."""
    if series is None or series.first_day is None or series.first_day > day:
        return None
    return series_metrics(series, start=day, end=day)[0]


def metrics_by_athlete(
    *, athlete_ids: Collection[UUID], day: date
) -> dict[UUID, DayMetrics | None]:
    """The metrics of `day` for each athlete (one query in all, from the per-day table); None
    for an athlete with no training up to that day."""
    found = metrics_on_days(pairs=[(athlete_id, day) for athlete_id in athlete_ids])
    return {athlete_id: found[(athlete_id, day)] for athlete_id in athlete_ids}


WEEK = timedelta(days=7)
MONTH = timedelta(days=28)


def metrics_on_days(
    *, pairs: Iterable[tuple[UUID, date]]
) -> dict[tuple[UUID, date], DayMetrics | None]:
    """The metrics of each (athlete, day), equal to what the whole series gives, in ONE query
    whatever the number of athletes: per athlete, the stored rows of the day, a week and four
    weeks before (those that exist) and the last row on or before the day (the day itself, or
    the last training before it, rolled on with rest days). None: no training up to that day."""
    wanted = list(dict.fromkeys(pairs))
    if not wanted:
        return {}
    by_day: dict[date, list[UUID]] = defaultdict(list)
    for athlete_id, day in wanted:
        by_day[day].append(athlete_id)
    exact = Q()
    for day, ids in by_day.items():
        exact |= Q(athlete_id__in=ids, day__in=[day, day - WEEK, day - MONTH])
    fields = ("athlete_id", *AthleteDailyLoad.STATE_FIELDS)
    parts = [AthleteDailyLoad.objects.filter(exact).values_list(*fields)]
    for day, ids in by_day.items():
        latest = AthleteDailyLoad.objects.filter(athlete_id=OuterRef("pk"), day__lte=day).order_by(
            "-day"
        )
        drivers = User.objects.filter(pk__in=ids).values(row=Subquery(latest.values("id")[:1]))
        parts.append(AthleteDailyLoad.objects.filter(id__in=drivers).values_list(*fields))
    rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    states: dict[UUID, dict[date, LoadState]] = defaultdict(dict)
    for athlete_id, *values in rows:
        state = LoadState(*values)
        states[athlete_id][state.day] = state
    result: dict[tuple[UUID, date], DayMetrics | None] = {}
    for athlete_id, day in wanted:
        stored = states.get(athlete_id, {})
        days = sorted(stored)
        latest_state = _on_or_before(stored, days, day)
        result[(athlete_id, day)] = (
            None
            if latest_state is None
            else metrics_from_state(
                roll_state(latest_state, day),
                week_before=_on_or_before(stored, days, day - WEEK),
                month_before=_on_or_before(stored, days, day - MONTH),
            )
        )
    return result


def _on_or_before(
    stored: Mapping[date, LoadState], days: list[date], day: date
) -> LoadState | None:
    index = bisect_right(days, day)
    return stored[days[index - 1]] if index else None


def athlete_metrics(*, athlete_id: UUID, start: date, end: date) -> list[DayMetrics]:
    """`athlete_metrics_rows` as `DayMetrics`."""
    return [
        day_metrics(row)
        for row in athlete_metrics_rows(athlete_id=athlete_id, start=start, end=end)
    ]


# --- One athlete's metrics over a range: the metrics endpoint ------------------------------------
#
# A year of days per request, so every per-request cost counts (docs/performance.md): the two
# queries are compiled once per process, their rows are plain tuples (a date and an integer per
# day), and the domain returns flat tuples (`MetricsRow`) that the serializer turns into dicts.


def _visible_time_zone(p: Placeholders, resource: Resource) -> QuerySet[User, tuple[str | None]]:
    """The query of `athlete_visible_to` (the same `athlete_filter`, so the access rules stay in
    `accounts.access`), reading only the time zone, with placeholders for the user and the
    athlete."""
    user, athlete_id = User(pk=p.uuid("user")), p.uuid("athlete")
    return (
        User.objects.filter(athlete_filter(user, resource=resource, path="id"))
        .filter(pk=athlete_id, athlete_profile__isnull=False)
        .annotate(ctx_time_zone=Subquery(athlete_team_memberships().values("team__time_zone")[:1]))
        .order_by()
        .values_list("ctx_time_zone")
    )


@cache
def _athlete_time_zone_sql(vendor: str, resource: Resource) -> CompiledQuery:
    """`_visible_time_zone`, compiled once per database vendor and resource
    (`backend.compiled`): building and compiling it with the ORM took longer than
    running it (about 2 ms against 0.4 ms)."""
    p = Placeholders()
    return compile_query(*compiled_sql(_visible_time_zone(p, resource)), p)


def athlete_time_zone_visible_to(*, user: User, athlete_id: UUID, resource: Resource) -> str:
    """The time zone of the athlete's team (UTC when they have none) if `user` may read
    `resource` of theirs; 404 otherwise, as `athlete_visible_to`. One query, compiled once."""
    rows = _athlete_time_zone_sql(connection.vendor, resource).rows(
        user=user.pk, athlete=athlete_id
    )
    if not rows:
        raise NotFound()
    time_zone: str | None = rows[0][0]
    return time_zone or DEFAULT_TIME_ZONE


_DAILY_LOADS_SQL: Final = (
    'SELECT "date", SUM("load_au") FROM "recovery_trainingsession" '
    'WHERE "athlete_id" = %s AND "date" <= %s GROUP BY "date" ORDER BY "date"'
)
"""`daily_loads_by_athlete`'s query for one athlete, as rows of (date, integer): a day's load is
the sum of its sessions' whole-AU `load_au`. Index scan on (athlete_id, date)."""


def athlete_metrics_rows(*, athlete_id: UUID, start: date, end: date) -> list[MetricsRow]:
    """One athlete's metrics for each day from `start` to `end` (one query whatever the range;
    the series is computed from the first training day so EWMAs and CTL/ATL carry their
    history). Days before the first training day, or every day without training, are rows with
    no history."""
    with connection.cursor() as cursor:
        cursor.execute(_DAILY_LOADS_SQL, [adapt(athlete_id), adapt(end)])
        loads: dict[date, float] = dict(cursor.fetchall())
    first_day = next(iter(loads), end + timedelta(days=1))
    return metrics_rows(first_day=first_day, loads_by_day=loads, start=start, end=end)


_METRICS_DAYS_SQL: Final = (
    'SELECT "day", "history_days", "metrics_json", '
    + ", ".join(["NULL"] * (len(AthleteDailyLoad.STATE_FIELDS) - 2))
    + ' FROM "recovery_athletedailyload" WHERE "athlete_id" = %s AND "day" >= %s AND "day" <= %s'
    ' UNION ALL SELECT * FROM (SELECT "day", "history_days", NULL, '
    + ", ".join(f'"{name}"' for name in AthleteDailyLoad.STATE_FIELDS[2:])
    + ' FROM "recovery_athletedailyload" WHERE "athlete_id" = %s AND "day" <= %s'
    f' ORDER BY "day" DESC LIMIT {CHRONIC_DAYS + 1}) AS "tail"'
)
"""One athlete's stored days of the range, with their metrics as text (`metrics_json`), and the
states of the last 29 stored days up to its end (the last one and the 28 before it; their
`metrics_json` is NULL): the days after the last stored one are computed from those. Index
scans on (athlete_id, day)."""


class _NotDense(Exception):
    """The stored rows are not the dense series they should be (a repair is due): compute."""


def athlete_metrics_days(*, athlete_id: UUID, start: date, end: date) -> list[str]:
    """One athlete's metrics for each day from `start` to `end`, as JSON texts (`day_json`):
    the stored days' texts, rows with no history before the first training day, and the rest
    days after the last stored day computed from its state. One query; the same days as
    `athlete_metrics_rows`, which is the way when a stored row lacks its text or the rows are
    not dense."""
    with prepared_cursor() as cursor:
        cursor.execute(
            _METRICS_DAYS_SQL,
            [adapt(athlete_id), adapt(start), adapt(end), adapt(athlete_id), adapt(end)],
        )
        fetched = cursor.fetchall()
    return _days_from(fetched, athlete_id=athlete_id, start=start, end=end)


@cache
def _visible_metrics_days_sql(vendor: str, resource: Resource) -> CompiledQuery:
    """`_METRICS_DAYS_SQL` with one more row: the answer of `_visible_time_zone` (its day NULL,
    the time zone in the text's column), missing when the user may not read `resource` of the
    athlete. Its SELECT comes last because PostgreSQL types a UNION's columns pair by pair from
    the left: its NULLs take the types of the SELECTs before it."""
    p = Placeholders()
    zone_sql, zone_params, _ = compiled_sql(_visible_time_zone(p, resource))
    athlete, start, end = p.uuid("athlete"), p.date("start"), p.date("end")
    empty = ", ".join(["NULL"] * (len(AthleteDailyLoad.STATE_FIELDS) - 2))
    sql = (
        f'{_METRICS_DAYS_SQL} UNION ALL SELECT NULL, NULL, "zone"."ctx_time_zone", {empty} '
        f'FROM ({zone_sql}) AS "zone"'
    )
    params = [adapt(value) for value in (athlete, start, end, athlete, end)]
    return compile_query(sql, [*params, *zone_params], [], p)


def visible_metrics_days(
    *, user: User, athlete_id: UUID, resource: Resource, start: date, end: date
) -> tuple[str, list[str]]:
    """`athlete_time_zone_visible_to` and `athlete_metrics_days` in one query, for a range
    known without the athlete's day (both ends given): the time zone and the days, or 404."""
    rows = _visible_metrics_days_sql(connection.vendor, resource).rows(
        user=user.pk, athlete=athlete_id, start=start, end=end
    )
    zone = [row[2] for row in rows if row[0] is None]
    if not zone:  # no time zone row: not visible
        raise NotFound()
    stored = [row for row in rows if row[0] is not None]
    days = _days_from(stored, athlete_id=athlete_id, start=start, end=end)
    return zone[0] or DEFAULT_TIME_ZONE, days


def _days_from(
    fetched: list[tuple[Any, ...]], *, athlete_id: UUID, start: date, end: date
) -> list[str]:
    try:
        return _metrics_days(fetched, start=start, end=end)
    except _NotDense:
        rows = athlete_metrics_rows(athlete_id=athlete_id, start=start, end=end)
        return [day_json(row) for row in rows]


def _metrics_days(fetched: list[tuple[Any, ...]], *, start: date, end: date) -> list[str]:
    stored = sorted((_day(row[0]), row[1], row[2]) for row in fetched if row[2] is not None)
    tail = sorted(
        (LoadState(_day(row[0]), row[1], *row[3:]) for row in fetched if row[2] is None),
        key=lambda state: state.day,
    )
    if tail and (
        (tail[-1].day - tail[0].day).days + 1 != len(tail)
        or (len(tail) <= CHRONIC_DAYS and tail[0].history_days != 1)
    ):
        raise _NotDense
    days: list[str] = []
    first_stored = stored[0] if stored else None
    if first_stored is None and not tail:
        first_day = end + timedelta(days=1)  # no training up to `end`
    elif first_stored is not None and first_stored[0] > start:
        if first_stored[1] != 1:
            raise _NotDense
        first_day = first_stored[0]
    else:
        first_day = start
    if first_day > start:
        before = metrics_rows(
            first_day=first_day, loads_by_day={}, start=start, end=first_day - timedelta(days=1)
        )
        days.extend(day_json(row) for row in before)
    if stored:
        if (stored[-1][0] - stored[0][0]).days + 1 != len(stored) or not all(
            text for _, _, text in stored
        ):
            raise _NotDense
        days.extend(text for _, _, text in stored)
    if tail and tail[-1].day < end:
        days.extend(_rest_days(tail, start=max(start, tail[-1].day + timedelta(days=1)), end=end))
    return days


def _rest_days(tail: list[LoadState], *, start: date, end: date) -> Iterable[str]:
    """The days from `start` to `end`, all after the last stored state (`tail[-1]`): rest days."""
    by_day = {state.day: state for state in tail}
    known = list(by_day)
    state = tail[-1]
    for ordinal in range(start.toordinal(), end.toordinal() + 1):
        day = date.fromordinal(ordinal)
        state = roll_state(state, day)
        yield day_json(
            metrics_row_from_state(
                state,
                week_before=_on_or_before(by_day, known, day - WEEK),
                month_before=_on_or_before(by_day, known, day - MONTH),
            )
        )


def _day(value: date | str) -> date:
    """A date column as a date (SQLite may give the text of a UNION's column)."""
    return value if isinstance(value, date) else date.fromisoformat(value)
