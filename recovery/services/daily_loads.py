"""The per-day load table (`recovery.models.AthleteDailyLoad`), kept current with the training
sessions it is derived from, in the same transaction as every write of a session.

Rows: one per athlete and local day, without gaps, from the first training day to the last one
(or later: rest days after the last session may stay, they read the same as no row). Each holds
the day's load, the running state of the metrics after it (`recovery.domain.metrics.LoadState`)
and the day's metrics as the metrics endpoint returns them (`metrics_json`), computed from that
state and the states of the week and the month before.

Who keeps it current:
- saves and deletes of single sessions (the services, the admin, the factories): the signal
  handlers below, connected once by `RecoveryConfig.ready()`;
- bulk writes (`bulk_create`, `QuerySet.update`: the demo and bench loaders, the sync push), which
  send no signals: they call `refresh_daily_loads(athlete_ids=..., from_day=...)` in their
  transaction, once for the whole batch;
- `manage.py refresh_daily_loads` rebuilds it (repair, or after an import that bypassed both).

`refresh_daily_loads` recomputes from `from_day` on, starting from the stored rows of the days
before: four statements whatever the number of athletes or days (a lock on the athletes' rows,
the last 29 states before `from_day`, the sessions' daily sums from it, a DELETE) plus the
INSERTs; a writer of new sessions only (the sync push) hands over their loads (`added`) and the
sums are the stored rows' loads plus those, read from the rows instead of the sessions. Without
`from_day` it compares each athlete's stored loads with the sessions and rewrites from the first
difference (an edited session whose old date is unknown).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import date, timedelta
from typing import Any, Final

from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import F, Model, Q, Sum, Window
from django.db.models.functions import RowNumber
from django.db.models.signals import post_delete, post_save, pre_delete

from accounts.models import User
from recovery.domain.metrics import (
    ACUTE_DAYS,
    CHRONIC_DAYS,
    LoadState,
    advance_state,
    metrics_row_from_state,
)
from recovery.models import AthleteDailyLoad, TrainingSession
from recovery.serializers.metrics import day_json
from recovery.sync.log import invalidate_states

BATCH_ATHLETES: Final = 200
"""Athletes per round of the bulk refresh: bounds the rows held in memory (about 365 each)."""
INSERT_BATCH: Final = 2000

STATE_FIELDS: Final = AthleteDailyLoad.STATE_FIELDS

LOAD_FIELDS: Final = frozenset({"date", "load_au", "rpe", "duration_min", "athlete", "athlete_id"})
"""A session save that changes none of these leaves the table as it is."""


def refresh_daily_loads(
    *,
    athlete_ids: Iterable[uuid.UUID],
    from_day: date | None = None,
    added: Mapping[tuple[uuid.UUID, date], int] | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> None:
    """Bring the athletes' rows in line with their training sessions. Call it in the writing
    transaction (it opens one when there is none).

    With `from_day`: the sessions before that day must be unchanged since the rows were last
    written (a batch of new or deleted sessions on `from_day` or later); rows from it on are
    rewritten. Without: every athlete's stored loads are compared with the sessions and rewritten
    from the first day that differs (nothing is written when they agree).

    With `from_day` and `added` (the load of the new sessions just inserted, per athlete and
    day, none before `from_day`): the rows were right before those sessions came, so the day
    loads from `from_day` on are the stored ones plus the added ones, read from the rows (one per
    day) instead of summing every session of those days again (a sync push adds hundreds of
    sessions to one day, and that day's sum grew with every push)."""
    ids = sorted(set(athlete_ids), key=str)
    if not ids:
        return
    with transaction.atomic(using=using, savepoint=False):
        for start in range(0, len(ids), BATCH_ATHLETES):
            batch = ids[start : start + BATCH_ATHLETES]
            _lock(batch, using)
            if from_day is None:
                _refresh_by_comparison(batch, using)
            else:
                _refresh_from(batch, from_day, using, added)


def _lock(ids: Sequence[uuid.UUID], using: str) -> None:
    """Serialise refreshes of one athlete: concurrent writers read the sums only after the
    other's commit. FOR NO KEY UPDATE does not block inserts of rows referencing the user."""
    list(
        User.objects.using(using)
        .select_for_update(no_key=True)
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _daily_sums(
    ids: Sequence[uuid.UUID], using: str, from_day: date | None = None
) -> dict[uuid.UUID, list[tuple[date, int]]]:
    """Each athlete's daily load (sum of the day's sessions), oldest first: one query."""
    sessions = TrainingSession.objects.using(using).filter(athlete_id__in=ids)
    if from_day is not None:
        sessions = sessions.filter(date__gte=from_day)
    rows = (
        sessions.values("athlete_id", "date")
        .annotate(day_load_au=Sum("load_au"))
        .order_by("athlete_id", "date")
        .values_list("athlete_id", "date", "day_load_au")
    )
    sums: dict[uuid.UUID, list[tuple[date, int]]] = defaultdict(list)
    for athlete_id, day, load_au in rows:
        sums[athlete_id].append((day, int(load_au or 0)))
    return sums


def _states(previous: LoadState | None, sums: Iterable[tuple[date, int]]) -> Iterator[LoadState]:
    """The states of every day from the day after `previous` (or the first day with a session)
    to the last day with a session; days without one are rest days."""
    state = previous
    for day, load_au in sums:
        if state is not None:
            rest = state.day + timedelta(days=1)
            while rest < day:
                state = advance_state(state, day=rest, load_au=0)
                yield state
                rest += timedelta(days=1)
        state = advance_state(state, day=day, load_au=load_au)
        yield state


def _rows(
    athlete_id: uuid.UUID,
    before: Sequence[LoadState],
    states: Iterable[LoadState],
    *,
    from_day: date | None = None,
) -> Iterator[AthleteDailyLoad]:
    """The rows of `states` (consecutive days) from `from_day` on, each with its day's metrics
    (`metrics_json`). `before` holds the states of the days just before the first of `states`:
    the 28 days before it, or every day from the first training day when there are fewer. With
    the rows dense, the states of a day's week and month before are 7 and 28 places back."""
    known = list(before)
    for state in states:
        known.append(state)
        if from_day is not None and state.day < from_day:
            continue
        i = len(known) - 1
        row = metrics_row_from_state(
            state,
            week_before=known[i - ACUTE_DAYS] if i >= ACUTE_DAYS else None,
            month_before=known[i - CHRONIC_DAYS] if i >= CHRONIC_DAYS else None,
        )
        yield _row(athlete_id, state, day_json(row))


def _row(athlete_id: uuid.UUID, state: LoadState, metrics_json: str) -> AthleteDailyLoad:
    return AthleteDailyLoad(
        athlete_id=athlete_id,
        day=state.day,
        history_days=state.history_days,
        load_au=state.load_au,
        cum_load_au=state.cum_load_au,
        cum_load_sq=state.cum_load_sq,
        ewma_acute_au=state.ewma_acute_au,
        ewma_chronic_au=state.ewma_chronic_au,
        ctl=state.ctl,
        atl=state.atl,
        tsb=state.tsb,
        metrics_json=metrics_json,
    )


def _insert(rows: list[AthleteDailyLoad], using: str) -> None:
    if rows:
        AthleteDailyLoad.objects.using(using).bulk_create(rows, batch_size=INSERT_BATCH)


def _stored_plus(
    ids: Sequence[uuid.UUID],
    from_day: date,
    using: str,
    added: Mapping[tuple[uuid.UUID, date], int],
) -> dict[uuid.UUID, list[tuple[date, int]]]:
    """Each athlete's daily load from `from_day` on, oldest first: the stored rows' loads plus
    the added ones (one query, a row per day)."""
    by_day: dict[uuid.UUID, dict[date, int]] = defaultdict(dict)
    for athlete_id, day, load_au in (
        AthleteDailyLoad.objects.using(using)
        .filter(athlete_id__in=ids, day__gte=from_day)
        .values_list("athlete_id", "day", "load_au")
    ):
        by_day[athlete_id][day] = load_au
    wanted = set(ids)
    for (athlete_id, day), load_au in added.items():
        if athlete_id in wanted:
            days = by_day[athlete_id]
            days[day] = days.get(day, 0) + load_au
    return {athlete_id: sorted(days.items()) for athlete_id, days in by_day.items()}


def _refresh_from(
    ids: Sequence[uuid.UUID],
    from_day: date,
    using: str,
    added: Mapping[tuple[uuid.UUID, date], int] | None = None,
) -> None:
    before = _states_before(ids, from_day, using)
    if added is None:
        sums = _daily_sums(ids, using, from_day)
    else:
        sums = _stored_plus(ids, from_day, using, added)
    AthleteDailyLoad.objects.using(using).filter(athlete_id__in=ids, day__gte=from_day).delete()
    rows: list[AthleteDailyLoad] = []
    for athlete_id in ids:
        window = before.get(athlete_id, [])
        previous = window[-1] if window else None
        rows.extend(_rows(athlete_id, window, _states(previous, sums.get(athlete_id, ()))))
    _insert(rows, using)


def _states_before(
    ids: Sequence[uuid.UUID], before: date, using: str
) -> dict[uuid.UUID, list[LoadState]]:
    """Each athlete's last stored state before `before` and the 28 before it (those that exist),
    oldest first: what the metrics of the following days are computed from. One query."""
    back = Window(RowNumber(), partition_by=F("athlete_id"), order_by=F("day").desc())
    rows = (
        AthleteDailyLoad.objects.using(using)
        .filter(athlete_id__in=ids, day__lt=before)
        .annotate(back=back)
        .filter(back__lte=CHRONIC_DAYS + 1)
        .order_by("athlete_id", "day")
        .values_list("athlete_id", *STATE_FIELDS)
    )
    states: dict[uuid.UUID, list[LoadState]] = defaultdict(list)
    for athlete_id, *values in rows:
        states[athlete_id].append(LoadState(*values))
    return states


def _refresh_by_comparison(ids: Sequence[uuid.UUID], using: str) -> None:
    sums = _daily_sums(ids, using)
    stored: dict[uuid.UUID, list[tuple[date, int]]] = defaultdict(list)
    for athlete_id, day, load_au in (
        AthleteDailyLoad.objects.using(using)
        .filter(athlete_id__in=ids)
        .order_by("athlete_id", "day")
        .values_list("athlete_id", "day", "load_au")
    ):
        stored[athlete_id].append((day, load_au))
    rewrite: dict[uuid.UUID, date] = {}
    rows: list[AthleteDailyLoad] = []
    for athlete_id in ids:
        wanted = _dense(sums.get(athlete_id, []))
        differs = _first_difference(wanted, stored.get(athlete_id, []))
        if differs is None:
            continue
        rewrite[athlete_id] = differs
        rows.extend(
            _rows(athlete_id, (), _states(None, sums.get(athlete_id, [])), from_day=differs)
        )
    stale = Q()
    for athlete_id, day in rewrite.items():
        if stored.get(athlete_id):  # nothing stored (a new athlete): nothing to delete
            stale |= Q(athlete_id=athlete_id, day__gte=day)
    if stale:
        AthleteDailyLoad.objects.using(using).filter(stale).delete()
    _insert(rows, using)
    # The repaired athletes' stored views (dashboard row, recommendation) were computed from the
    # wrong loads: no session changed, so no change-log write bumps them.
    invalidate_states(rewrite, using=using)


def _dense(sums: Sequence[tuple[date, int]]) -> list[tuple[date, int]]:
    """The (day, load) of every day from the first session to the last one."""
    if not sums:
        return []
    by_day = dict(sums)
    first, last = sums[0][0], sums[-1][0]
    return [
        (first + timedelta(days=i), by_day.get(first + timedelta(days=i), 0))
        for i in range((last - first).days + 1)
    ]


def _first_difference(
    wanted: Sequence[tuple[date, int]], stored: Sequence[tuple[date, int]]
) -> date | None:
    """The first day on which the stored rows and the wanted ones differ; trailing stored rest
    days after the wanted ones are not a difference."""
    for index, (day, load_au) in enumerate(wanted):
        if index >= len(stored) or stored[index] != (day, load_au):
            if index < len(stored):
                return min(day, stored[index][0])
            return day
    if len(stored) > len(wanted):
        extra = stored[len(wanted) :]
        if not wanted or any(load_au for _, load_au in extra):
            return extra[0][0]
    return None


# --- Signals: single saves and deletes --------------------------------------------------------

_PENDING = "_daily_loads_pending"


def _as_date(value: Any) -> date:
    parsed: date = TrainingSession._meta.get_field("date").to_python(value)
    return parsed


def _session_saved(
    sender: type[Model],
    instance: TrainingSession,
    created: bool,
    raw: bool = False,
    using: str = DEFAULT_DB_ALIAS,
    update_fields: Collection[str] | None = None,
    **kwargs: Any,
) -> None:
    if raw:  # loaddata: fixtures bring their rows, or `manage.py refresh_daily_loads` does
        return
    if created:
        refresh_daily_loads(
            athlete_ids=[instance.athlete_id], from_day=_as_date(instance.date), using=using
        )
    elif update_fields is None or LOAD_FIELDS.intersection(update_fields):
        # The day it was on before is not known here: compare and rewrite from the difference.
        refresh_daily_loads(athlete_ids=[instance.athlete_id], using=using)


def _cascades_from_user(origin: Any) -> bool:
    """A user's deletion takes their sessions and their daily rows together: nothing to do."""
    model = type(origin) if isinstance(origin, Model) else getattr(origin, "model", None)
    return isinstance(model, type) and issubclass(model, User)


def _session_deleting(
    sender: type[Model], instance: TrainingSession, origin: Any = None, **kwargs: Any
) -> None:
    """Before a delete: note each athlete's earliest day among the sessions going."""
    if origin is None or _cascades_from_user(origin):
        return
    pending: dict[uuid.UUID, date] = origin.__dict__.setdefault(_PENDING, {})
    day = _as_date(instance.date)
    if instance.athlete_id not in pending or day < pending[instance.athlete_id]:
        pending[instance.athlete_id] = day


def _session_deleted(
    sender: type[Model],
    instance: TrainingSession,
    using: str = DEFAULT_DB_ALIAS,
    origin: Any = None,
    **kwargs: Any,
) -> None:
    """After a delete (all its sessions are gone by the first of these signals): one refresh of
    every athlete noted, from the earliest day noted, then nothing for the other sessions of the
    same delete."""
    if origin is None:
        refresh_daily_loads(
            athlete_ids=[instance.athlete_id], from_day=_as_date(instance.date), using=using
        )
        return
    pending: dict[uuid.UUID, date] | None = origin.__dict__.pop(_PENDING, None)
    if not pending:
        return
    refresh_daily_loads(athlete_ids=pending, from_day=min(pending.values()), using=using)


def connect() -> None:
    post_save.connect(_session_saved, sender=TrainingSession, dispatch_uid="daily-loads-save")
    pre_delete.connect(
        _session_deleting, sender=TrainingSession, dispatch_uid="daily-loads-deleting"
    )
    post_delete.connect(
        _session_deleted, sender=TrainingSession, dispatch_uid="daily-loads-deleted"
    )
