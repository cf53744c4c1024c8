"""The athletes' stored state (`AthleteRecoveryState`): when a stored part is current, storing a
new one, and the recommendation for now.

Two parts are stored per athlete, each computed on a read that finds it missing or stale:
`views` (the team dashboard's row of the day, the team summary's and the therapist queue's
inputs: `recovery.selectors.dashboard.athletes`) and `recommendation` (the whole
recommendation for now, without `at` or `match_at`). A part is current while

- it was computed for the row's `version`. Every write the athlete's part depends on bumps it
  in the writing transaction: their records (`recovery.sync.log`, which every writer of the
  change log goes through), and through model signals (`recovery.sync.capture`) their profile
  and memberships (their sport and time zone come from them), their teams (sport, time zone)
  and the catalogue (names, sides and every sport's demand);
- for `views`, it is for the team's day and time zone asked for (`views_key`);
- and the clock has not reached its `valid_until`: at most MAX_AGE after it was computed, and
  never past the athlete's next local midnight (a new day's load and injuries), the end of the
  team's day, or the next instant where the recommendation changes by a step (`next_step`).

Between steps a stored recommendation differs from a fresh one only by the continuous parts of
the score and the "N h ago" texts: at most about 0.011 points in 5 minutes
(docs/recommendation.md, "Kept for a few minutes").

Reads: the athletes with their stored part in ONE query, compiled once (`compile_with_state`).
A recomputed part is stored with the version read BEFORE its inputs were: a write that commits
meanwhile has bumped the version (or created the row, if there was none), so the part is stale
as soon as it is stored, never wrong. Storing is ONE upsert for any number of athletes, written
only where the row's version is still the one read, so a slow recompute never replaces a newer
one either.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, Final, Literal
from uuid import UUID

import orjson
from django.db import DatabaseError, connection
from django.db.models import F, QuerySet
from django.utils import timezone
from rest_framework.exceptions import NotFound

from accounts.access import Resource, athlete_filter
from accounts.models import User
from backend.api.renderers import OPTIONS, default
from backend.compiled import (
    CompiledQuery,
    Placeholders,
    adapt,
    compile_query,
    compiled_sql,
)
from recovery.domain.recommendation import (
    ACUTE_INJURY_WINDOW_H,
    DOMS_FULL_WEIGHT_H,
    DOMS_ZERO_WEIGHT_H,
    FOLLOW_UP_WINDOW_DAYS,
    POST_MATCH_FROM_H,
    POST_MATCH_TO_H,
    RECENT_TREATMENT_WINDOW_H,
    recommend,
)
from recovery.models import AthleteRecoveryState
from recovery.selectors.load import zone_of
from recovery.selectors.recommendation import (
    MATCH_TIME_WHEN_UNKNOWN,
    recommendation_as_dict,
    recommendation_inputs,
)
from recovery.selectors.signals import TREATMENT_WINDOW, Signals

MAX_AGE: Final = timedelta(minutes=5)
"""How long a stored part may be served: the recommendation is "as of now", and its continuous
parts move with the clock (see the module docstring for how much)."""
MAX_AGE_SPREAD: Final = 0.25
"""Each athlete's parts expire between 75 % and 100 % of MAX_AGE after they were computed (a
fraction fixed per athlete), so a team's athletes, computed together once, drift apart and are
recomputed a few at a time rather than all in one request."""

# Hours after a report, a treatment or a match where the recommendation changes by a step (a
# flag leaves the 72 h window, a report leaves the DOMS time course, the recent-treatment
# warning or the follow-up points end, the post-match window opens or closes).
_REPORT_STEPS_H: Final = (0.0, DOMS_FULL_WEIGHT_H, ACUTE_INJURY_WINDOW_H, DOMS_ZERO_WEIGHT_H)
_TREATMENT_STEPS_H: Final = (
    RECENT_TREATMENT_WINDOW_H,
    FOLLOW_UP_WINDOW_DAYS * 24,
    TREATMENT_WINDOW.total_seconds() / 3600,
)
_MATCH_STEPS_H: Final = (0.0, POST_MATCH_FROM_H, POST_MATCH_TO_H)

Part = Literal["views", "recommendation"]
logger = logging.getLogger(__name__)


# --- Reading the athletes with their stored part ------------------------------------------------
def compile_with_state(
    queryset: QuerySet[Any, Any], part: Part, placeholders: Placeholders, *, order_by: str
) -> CompiledQuery:
    """`queryset` (a values_list whose first column is named `athlete`, built with
    `placeholders`) with the athlete's stored `part` joined on that column, compiled once: each
    row ends with the stored version (None: no row), the part's key, and its payload when it was
    computed for that version and is still valid at the placeholder `now` (else None).
    `order_by` is an ORDER BY list over the queryset's column names.

    The join is on the queryset's own column rather than through the user table: without
    statistics on the state table PostgreSQL then still estimates one row per athlete (through
    the user table it estimated thousands, and a plan that costly is compiled with JIT: half a
    second)."""
    sql, params, converters = compiled_sql(queryset)
    quote = connection.ops.quote_name
    table = quote(AthleteRecoveryState._meta.db_table)
    version, valid = quote("version"), quote(f"{part}_valid_until")
    key = f"s.{quote('views_key')}" if part == "views" else "NULL"
    now = placeholders.datetime("now")
    return compile_query(
        f"SELECT a.*, s.{version}, {key}, CASE WHEN s.{quote(f'{part}_version')} = s.{version} "
        f"AND s.{valid} > %s THEN s.{quote(part)} END FROM ({sql}) a "
        f"LEFT JOIN {table} s ON s.{quote('athlete_id')} = a.athlete ORDER BY {order_by}",
        (adapt(now), *params),
        converters,
        placeholders,
    )


@dataclass(frozen=True)
class Stored:
    """One stored part as read: the row's version (0: no row), the part's key and its payload
    if it is current for that version and time (else empty)."""

    version: int
    key: str
    payload: str

    def current(self, key: str | None) -> bool:
        """Current, for this key (any, with None)."""
        return bool(self.payload) and (key is None or self.key == key)


def stored_from(version: int | None, key: str | None, payload: str | None) -> Stored:
    """A `Stored` from the last three columns of `compile_with_state`'s rows."""
    return Stored(version or 0, key or "", payload or "")


def dumps(payload: Any) -> str:
    """A part as stored: JSON as the API renders it (`backend.api.renderers`), so a part read
    back renders to the same bytes as the one computed."""
    return orjson.dumps(payload, default=_default, option=OPTIONS).decode()


def _default(value: Any) -> Any:
    """Subclasses of date and datetime (orjson encodes only the exact types; freezegun's fakes)
    as DRF's encoder writes them; anything else as the renderer does."""
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, date):
        return value.isoformat()
    return default(value)


# --- Until when a part holds -------------------------------------------------------------------
def expiry(athlete_id: UUID, computed_at: datetime) -> datetime:
    spread = (athlete_id.int % 1000) / 1000 * MAX_AGE_SPREAD
    return computed_at + MAX_AGE * (1 - spread)


def next_midnight(moment: datetime, time_zone: str) -> datetime:
    """The next local midnight after `moment` in `time_zone`, as an aware datetime."""
    zone = zone_of(time_zone)
    local = moment.astimezone(zone)
    return datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=zone)


def next_step(signals: Signals, athlete_id: UUID, at: datetime, time_zone: str) -> datetime:
    """The first instant after `at` where the athlete's recommendation or open flags can change
    by a step with no write: the next local midnight, a report entering or leaving a window, a
    treatment or a match passing a threshold, a flag's report time or resolution time."""
    candidates = [next_midnight(at, time_zone)]

    def after(moment: datetime | None, hours: Iterable[float]) -> None:
        if moment is not None:
            candidates.extend(step for h in hours if (step := moment + timedelta(hours=h)) > at)

    for entry in signals.soreness.get(athlete_id, ()):
        after(entry.reported_at, _REPORT_STEPS_H)
    for treatment in signals.treatments.get(athlete_id, ()):
        after(treatment.treated_at, _TREATMENT_STEPS_H)
    for started_at, day in signals.matches.get(athlete_id, ()):
        if started_at is None:
            started_at = datetime.combine(day, MATCH_TIME_WHEN_UNKNOWN, tzinfo=zone_of(time_zone))
        after(started_at, _MATCH_STEPS_H)
    for flag in signals.flags.get(athlete_id, ()):
        after(flag.reported_at, (0.0,))
        after(flag.resolved_at, (0.0,))
    return min(candidates)


# --- Storing ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class NewPart:
    athlete_id: UUID
    read_version: int
    """The row's version read BEFORE the inputs (0: no row)."""
    computed_at: datetime
    valid_until: datetime
    key: str | None
    """`views_key` (None for the recommendation, which has none)."""
    payload: str


_BATCH: Final = 200


def store(part: Part, parts: Sequence[NewPart]) -> None:
    """Write the parts, each for the version read before its inputs, where the row's version is
    still that one: ONE statement (per 200 athletes), rows in id order (writers lock them in
    that order too). A missing row is created with the version read (0); a writer that created
    it meanwhile wins."""
    if not parts:
        return
    names = ["athlete_id", "version", f"{part}_version", f"{part}_computed_at"]
    names += [f"{part}_valid_until", part] + (["views_key"] if part == "views" else [])
    quote = connection.ops.quote_name
    table = quote(AthleteRecoveryState._meta.db_table)
    columns = [quote(name) for name in names]
    updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in columns[2:])
    ordered = sorted(parts, key=lambda p: p.athlete_id)
    for start in range(0, len(ordered), _BATCH):
        batch = ordered[start : start + _BATCH]
        params: list[Any] = []
        for new in batch:
            params += [adapt(new.athlete_id), new.read_version, new.read_version]
            params += [adapt(new.computed_at), adapt(new.valid_until), new.payload]
            params += [new.key] if part == "views" else []
        row = "(" + ", ".join(["%s"] * len(names)) + ")"
        with connection.cursor() as cursor, _best_effort():
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                f"{', '.join([row] * len(batch))} ON CONFLICT ({columns[0]}) DO UPDATE SET "
                f"{updates} WHERE {table}.{columns[1]} = EXCLUDED.{columns[2]}",
                params,
            )


@contextmanager
def _best_effort() -> Iterator[None]:
    """Storing is an optimisation of a read: outside a transaction (a GET), a database error
    while storing (a deadlock with a writer locking the same rows in another order, a timeout)
    leaves the parts stale and the answer, already computed, is served. Inside a transaction
    the error is the transaction's, and goes up."""
    if connection.in_atomic_block:
        yield
        return
    try:
        yield
    except DatabaseError:
        logger.warning("storing the athletes' state failed; it stays stale", exc_info=True)


# --- The recommendation for now ------------------------------------------------------------------
@cache
def _recommendation_query(vendor: str) -> CompiledQuery:
    """The athlete if the user may read their recommendation (the same `athlete_filter` as
    `athlete_visible_to`, so the access rules stay in `accounts.access`) with the stored
    recommendation: compiled once per database vendor."""
    p = Placeholders()
    user, athlete_id = User(pk=p.uuid("user")), p.uuid("athlete")
    athlete = (
        User.objects.filter(athlete_filter(user, resource=Resource.RECOMMENDATION, path="id"))
        .filter(pk=athlete_id, athlete_profile__isnull=False)
        .annotate(athlete=F("pk"))
        .order_by()
        .values_list("athlete")
    )
    return compile_with_state(athlete, "recommendation", p, order_by="a.athlete")


def recommendation_now(*, user: User, athlete_id: UUID, now: datetime | None = None) -> Any:
    """The athlete's recommendation for now as the API renders it, if `user` may read it (404
    otherwise, as for an id that does not exist): the stored one while it is current (one
    query), else computed (two more) and stored (one more). `generated_at` says when it was
    computed."""
    now = now or timezone.now()
    rows = _recommendation_query(connection.vendor).rows(now=now, user=user.pk, athlete=athlete_id)
    if not rows:
        raise NotFound()
    stored = stored_from(*rows[0][1:])
    if stored.current(None):
        return orjson.loads(stored.payload)
    inputs = recommendation_inputs([athlete_id], at=now)
    recommendation = recommendation_as_dict(recommend(**inputs.arguments(athlete_id)))
    time_zone = inputs.contexts[athlete_id].time_zone
    valid_until = min(
        expiry(athlete_id, now), next_step(inputs.signals, athlete_id, now, time_zone)
    )
    store(
        "recommendation",
        [NewPart(athlete_id, stored.version, now, valid_until, None, dumps(recommendation))],
    )
    return recommendation
