"""Sync pull: what changed for a user since a cursor, or everything they see (a snapshot).

Visibility is evaluated now, with the access rules every list uses (`accounts.access`, through the
resource selectors): a change of a record the user sees is sent as the record renders now (its
resource serializer, clinical notes included only where the caller may read them); a change of a
record they do not see (deleted, or out of their reach) is a tombstone with only kind, id and
time; a scope event becomes a removal of each athlete the user no longer sees. Rows of athletes
the user does not see at all are never read, so another team's ids never appear.

A page costs a fixed number of queries, whatever its size: the horizon, the change rows, one
query per record kind present (plus that kind's prefetches) and two for removals.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from rest_framework import serializers

from accounts.access import Action, Relation, Resource, allowed, athlete_filter
from accounts.models import STAFF_ROLES, Membership, Role, User
from recovery.models import SyncChange, SyncKind, SyncOp
from recovery.selectors.injuries import injury_list_visible_to
from recovery.selectors.massage import massage_session_list_visible_to
from recovery.selectors.soreness import soreness_report_list_visible_to
from recovery.selectors.training import training_session_list_visible_to
from recovery.serializers.injuries import InjurySerializer
from recovery.serializers.massage import MassageSessionSerializer
from recovery.serializers.soreness import SorenessReportSerializer
from recovery.serializers.training import TrainingSessionSerializer
from recovery.sync.cursor import Cursor, Mode, check, current_horizon, end_of, unix, uses_txid
from recovery.sync.protocol import ChangeKind, ChangeOp


@dataclass(frozen=True)
class RecordKind:
    kind: ChangeKind
    resource: Resource
    selector: Callable[..., QuerySet[Any, Any]]
    serializer: type[serializers.BaseSerializer[Any]]


# Snapshot order; the resource serializers are the ones the record's own endpoints answer with.
KINDS: tuple[RecordKind, ...] = (
    RecordKind(
        ChangeKind.TRAINING_SESSION,
        Resource.TRAINING_SESSION,
        training_session_list_visible_to,
        TrainingSessionSerializer,
    ),
    RecordKind(
        ChangeKind.SORENESS_REPORT,
        Resource.SORENESS_REPORT,
        soreness_report_list_visible_to,
        SorenessReportSerializer,
    ),
    RecordKind(
        ChangeKind.MASSAGE_SESSION,
        Resource.MASSAGE_SESSION,
        massage_session_list_visible_to,
        MassageSessionSerializer,
    ),
    RecordKind(ChangeKind.INJURY, Resource.INJURY, injury_list_visible_to, InjurySerializer),
)
BY_KIND: Mapping[str, RecordKind] = {kind.kind.value: kind for kind in KINDS}

_TIMESTAMP = serializers.DateTimeField()


@dataclass(frozen=True)
class Page:
    changes: list[dict[str, Any]]
    next_cursor: str
    has_more: bool

    def as_dict(self) -> dict[str, Any]:
        return {"changes": self.changes, "next_cursor": self.next_cursor, "has_more": self.has_more}


def sync_pull(*, user: User, since: str | None, limit: int, context: Mapping[str, Any]) -> Page:
    """One page of changes for `user` after the cursor `since` (None: a full snapshot).
    `context` is the serializer context (the request: who may read clinical notes)."""
    now = timezone.now()
    horizon = current_horizon()
    if since is None:
        start = Cursor(Mode.SNAPSHOT, horizon, 0, "-", unix(now))
        return _snapshot_page(user, start, limit, context)
    cursor = Cursor.decode(since)
    check(cursor, horizon=horizon, now=now)
    if cursor.mode == Mode.SNAPSHOT:
        return _snapshot_page(user, cursor, limit, context)
    return _delta_page(user, cursor, horizon=horizon, now=now, limit=limit, context=context)


# Snapshot ---------------------------------------------------------------------------------------


def _snapshot_page(user: User, cursor: Cursor, limit: int, context: Mapping[str, Any]) -> Page:
    """Every record the user sees, kind by kind in id order. When it ends, the cursor becomes a
    delta cursor at the horizon taken when the snapshot began: whatever changed since then
    (including during the snapshot) comes with the next pulls."""
    changes: list[dict[str, Any]] = []
    index, last = cursor.a, cursor.last_record
    while index < len(KINDS) and len(changes) < limit:
        kind, room = KINDS[index], limit - len(changes)
        records = kind.selector(user=user).order_by("pk")
        if last is not None:
            records = records.filter(pk__gt=last)
        page = list(records[: room + 1])
        changes += [
            _upsert(kind, data, record.updated_at)
            for record, data in _render(kind, page[:room], context).values()
        ]
        if len(page) > room:
            last = page[room - 1].pk
            break
        index, last = index + 1, None
    if index >= len(KINDS):
        txid, row_id = end_of(cursor.horizon)
        done = Cursor(Mode.DELTA, cursor.horizon, txid, str(row_id), cursor.issued_at)
        return Page(changes, done.encode(), has_more=False)
    more = Cursor(Mode.SNAPSHOT, cursor.horizon, index, str(last or "-"), cursor.issued_at)
    return Page(changes, more.encode(), has_more=True)


# Delta ------------------------------------------------------------------------------------------


def _delta_page(
    user: User,
    cursor: Cursor,
    *,
    horizon: int,
    now: datetime,
    limit: int,
    context: Mapping[str, Any],
) -> Page:
    txid, row_id = cursor.position
    after = Q(txid__gt=txid) | Q(txid=txid, id__gt=row_id)
    below = Q(txid__lt=horizon) if uses_txid() else Q(id__lt=horizon)
    rows = list(
        SyncChange.objects.filter(after, below, _relevant_to(user)).order_by("txid", "id")[
            : limit + 1
        ]
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    if has_more:
        next_cursor = Cursor(Mode.DELTA, horizon, rows[-1].txid, str(rows[-1].id), cursor.issued_at)
    else:
        end_txid, end_id = end_of(horizon)
        next_cursor = Cursor(Mode.DELTA, horizon, end_txid, str(end_id), unix(now))
    return Page(_changes(user, rows, context), next_cursor.encode(), has_more)


def _visible_athletes(user: User, *, path: str) -> Q:
    """Athletes whose records of at least one synced kind the user sees now (one subquery per
    distinct set of roles in POLICY, plus themself)."""
    q = Q(pk__in=[])
    seen: set[frozenset[Relation]] = set()
    for kind in KINDS:
        relations = allowed(kind.resource, Action.READ)
        if relations not in seen:
            seen.add(relations)
            q |= athlete_filter(user, resource=kind.resource, path=path)
    return q


def _relevant_to(user: User) -> Q:
    """Rows that may concern the user: records of athletes they see now; scope events about
    themself; scope events of athletes leaving a team they are (or were) staff of."""
    records = Q(op__in=[SyncOp.UPSERT, SyncOp.DELETE]) & _visible_athletes(user, path="athlete_id")
    own = Q(op=SyncOp.SCOPE, kind=SyncKind.STAFF_MEMBERSHIP, record_id=user.pk)
    staffed = Membership.objects.filter(
        user=user, role__in=[role.value for role in STAFF_ROLES]
    ).values("team_id")
    team = Q(op=SyncOp.SCOPE, kind=SyncKind.ATHLETE_MEMBERSHIP, team_id__in=staffed)
    return records | own | team


def _changes(
    user: User, rows: Sequence[SyncChange], context: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The page's rows as changes, in log order; a record changed several times in the page is
    sent once, at its last change."""
    last_of: dict[tuple[str, uuid.UUID], int] = {}
    ids: dict[str, set[uuid.UUID]] = {}
    for index, row in enumerate(rows):
        if row.op != SyncOp.SCOPE:
            last_of[(row.kind, row.record_id)] = index
            ids.setdefault(row.kind, set()).add(row.record_id)
    rendered = {
        kind: _render(
            BY_KIND[kind], BY_KIND[kind].selector(user=user).filter(pk__in=record_ids), context
        )
        for kind, record_ids in ids.items()
    }
    removals = _removals(user, [row for row in rows if row.op == SyncOp.SCOPE])

    changes: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        if row.op == SyncOp.SCOPE:
            changes += [
                _entry(ChangeKind.ATHLETE, ChangeOp.REMOVE, athlete, row.changed_at)
                for athlete in removals.get(row.id, ())
            ]
        elif last_of[(row.kind, row.record_id)] == index:
            kind, visible = BY_KIND[row.kind], rendered[row.kind].get(row.record_id)
            if visible is None:
                changes.append(_entry(kind.kind, ChangeOp.DELETE, row.record_id, row.changed_at))
            else:
                changes.append(_upsert(kind, visible[1], row.changed_at))
    return changes


def _removals(user: User, events: Sequence[SyncChange]) -> dict[int, list[uuid.UUID]]:
    """For each scope event, the athletes it concerns that the user no longer sees (each athlete
    once per page, at the last event about them). Two queries when there are events."""
    if not events:
        return {}
    left_teams = {e.team_id for e in events if e.kind == SyncKind.STAFF_MEMBERSHIP and e.team_id}
    team_athletes: dict[uuid.UUID, set[uuid.UUID]] = {}
    if left_teams:
        pairs = Membership.objects.filter(team_id__in=left_teams, role=Role.ATHLETE)
        for team_id, athlete_id in pairs.values_list("team_id", "user_id"):
            team_athletes.setdefault(team_id, set()).add(athlete_id)
    concerned: dict[int, set[uuid.UUID]] = {}
    for event in events:
        if event.kind == SyncKind.STAFF_MEMBERSHIP:  # the caller left: the team's athletes
            concerned[event.id] = (
                team_athletes.get(event.team_id, set()) if event.team_id else set()
            )
        else:  # an athlete left a team the caller staffs
            concerned[event.id] = {event.record_id}
    candidates = set().union(*concerned.values()) - {user.pk}
    still_seen = set(
        User.objects.filter(_visible_athletes(user, path="id"), pk__in=candidates).values_list(
            "pk", flat=True
        )
    )
    last_event: dict[uuid.UUID, int] = {}
    for event in events:
        for athlete in concerned[event.id] & candidates - still_seen:
            last_event[athlete] = event.id
    removals: dict[int, list[uuid.UUID]] = {}
    for athlete, event_id in sorted(last_event.items(), key=lambda item: str(item[0])):
        removals.setdefault(event_id, []).append(athlete)
    return removals


# Rendering --------------------------------------------------------------------------------------


def _render(
    kind: RecordKind, records: Any, context: Mapping[str, Any]
) -> dict[uuid.UUID, tuple[Any, dict[str, Any]]]:
    """Records (and how their resource serializer renders them) by id."""
    objects = list(records)
    data = kind.serializer(objects, many=True, context=dict(context)).data
    return {obj.pk: (obj, row) for obj, row in zip(objects, data, strict=True)}


def _entry(
    kind: ChangeKind, op: ChangeOp, record_id: uuid.UUID, changed_at: datetime
) -> dict[str, Any]:
    return {
        "kind": kind.value,
        "op": op.value,
        "id": str(record_id),
        "changed_at": _TIMESTAMP.to_representation(changed_at),
    }


def _upsert(kind: RecordKind, data: dict[str, Any], changed_at: datetime) -> dict[str, Any]:
    return {**_entry(kind.kind, ChangeOp.UPSERT, data["id"], changed_at), "data": data}
