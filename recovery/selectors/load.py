"""Training-load reads: each athlete's daily load series and its metrics (DESIGN.md section 3).

The maths is `recovery.domain.metrics`; this module only fetches the daily loads, in ONE query
whatever the number of athletes or the length of history, and hands them to the domain.

A session's `date` is its local calendar day (the client or the service sets it in the team's time
zone), so the series is read as stored: no time-zone conversion here. A day's load is the sum of
its sessions' sRPE (`load_au`), summed by the database.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import OuterRef, QuerySet, Subquery, Sum
from rest_framework.exceptions import NotFound

from accounts.access import Resource, athlete_filter
from accounts.models import Membership, Role, User
from recovery.domain.metrics import DayMetrics, metrics_for_range
from recovery.models import TrainingSession

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

    @property
    def id(self) -> UUID:
        return self.user.pk

    def today(self, now: datetime) -> date:
        return local_day(now, self.time_zone)


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


def athlete_visible_to(*, user: User, athlete_id: UUID, resource: Resource) -> AthleteRef:
    """The athlete (a user with an athlete profile) if `user` may read `resource` of theirs;
    404 otherwise, the same answer as for an id that does not exist. One query."""
    athlete = (
        User.objects.filter(athlete_filter(user, resource=resource, path="id"))
        .filter(pk=athlete_id, athlete_profile__isnull=False)
        .annotate(team_time_zone=Subquery(athlete_team_memberships().values("team__time_zone")[:1]))
        .first()
    )
    if athlete is None:
        raise NotFound()
    time_zone: str | None = getattr(athlete, "team_time_zone", None)
    return AthleteRef(user=athlete, time_zone=time_zone or DEFAULT_TIME_ZONE)


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
    """The metrics of `day` for each athlete (one query in all); None for an athlete with no
    training up to that day."""
    series = daily_loads_by_athlete(athlete_ids=athlete_ids, until=day)
    return {athlete_id: metrics_on(series.get(athlete_id), day) for athlete_id in athlete_ids}


def athlete_metrics(*, athlete_id: UUID, start: date, end: date) -> list[DayMetrics]:
    """One athlete's metrics for each day from `start` to `end` (one query whatever the range;
    the series is computed from the first training day so EWMAs and CTL/ATL carry their history)."""
    series = daily_loads_by_athlete(athlete_ids=[athlete_id], until=end)
    return series_metrics(series.get(athlete_id), start=start, end=end)
