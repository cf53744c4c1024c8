"""Sync push: a batch of records the phone created offline, with a result per record.

Per record, not all or nothing: a phone that logged 300 records offline must not lose 299 good
ones to one bad one, and the records are independent of each other (each has its own id, athlete
and rules). Every record is validated by its resource's create serializer and checked by the same
rules as its service; the valid new ones are then written in ONE transaction with bulk INSERTs
(records, entries, treated areas, change-log rows), so a batch is stored whole or, on a database
error, not at all (and can be sent again: retries are safe, see below).

Results: `created`; `unchanged` (the id is stored with the same content: a retry); `conflict` (the
id is stored with other content, or by another athlete: which one is not said); `invalid` (field
errors, `data.`-prefixed paths); `forbidden` (the caller's role may not create it).

Queries do not grow with the batch: what validation needs is read once (the catalogue, the
athletes the caller reaches); the records go in with one INSERT per table that skips the ids
already stored (`ON CONFLICT DO NOTHING ... RETURNING`), so a batch of new records is never read
before it is written, and stored ids (a retry, a conflict) are read afterwards with one query per
kind, only when there are some. Derived values come from the services' own functions (sRPE load,
soreness flags, injury status rules, who may write a massage session).

Where the time goes (500 records): DRF's validation of each record (one serializer per kind,
reused for the batch; `ContextFreeSerializerMixin` works out its fields once), building the
rows, and the INSERTs (`insert_new`: an array per column, not Django's per-value preparation). The per-day load table
takes the pushed sessions' loads added to its stored days (`refresh_daily_loads(added=...)`),
not a new sum of every session of those days; a record's content for comparison is worked out
only when it is compared (a retry, a conflict).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.db import connection, transaction
from django.db.models import Model
from rest_framework import exceptions, serializers

from accounts.access import Access, Resource
from backend.api.errors import flatten_errors
from recovery.models import (
    Injury,
    InjuryStatus,
    MassageSession,
    MuscleGroup,
    SorenessEntry,
    SorenessReport,
    SyncKind,
    SyncOp,
    TrainingSession,
    TreatedArea,
)
from recovery.serializers.common import MuscleGroupField, muscle_groups
from recovery.serializers.injuries import InjuryCreateSerializer
from recovery.serializers.massage import MassageSessionCreateSerializer
from recovery.serializers.soreness import SorenessReportCreateSerializer
from recovery.serializers.training import TrainingSessionCreateSerializer
from recovery.services.common import athlete_for_new_record, insert_new
from recovery.services.daily_loads import refresh_daily_loads
from recovery.services.injuries import _resolved_date
from recovery.services.massage import _require_write as require_massage_write
from recovery.services.soreness import is_flagged
from recovery.services.training import training_load_au
from recovery.sync import log
from recovery.sync.log import Change
from recovery.sync.protocol import PushKind, PushResult

CONFLICT_DETAIL = (
    "A record with this id is already stored with different content. Keep the stored one (it "
    "comes with the next pull) and give a new record a new id."
)


@dataclass
class Outcome:
    """The answer for one pushed record."""

    index: int
    kind: str | None
    id: uuid.UUID | None
    result: PushResult
    code: str | None = None
    detail: str | None = None
    errors: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": self.index,
            "kind": self.kind,
            "id": str(self.id) if self.id else None,
            "result": self.result.value,
        }
        if self.code:
            out["code"], out["detail"] = self.code, self.detail
        if self.errors:
            out["errors"] = self.errors
        return out


@dataclass
class Pending:
    """A valid record to create: its rows, and what to compare a stored record with."""

    outcome: Outcome
    kind: PushKind
    record: Any  # an unsaved TrainingSession, SorenessReport, Injury or MassageSession
    children: list[Model]
    names: list[str]  # the fields the payload set
    stored: Any = None  # the record stored under its id, when it was taken

    @cached_property
    def content(self) -> dict[str, Any]:
        """The payload's fields as they are stored: worked out only for a record compared with
        another (a retry, a conflict, an id twice in a batch), not for every new one. The rows
        do not change before that (the INSERT sets only the timestamps, which no payload sets)."""
        return HANDLERS[self.kind].content_of(self.record, self.names)


class _Lookup:
    """Stands in for a related field's queryset while a batch is validated: `get()` answers from
    rows read once, with the errors the queryset would raise."""

    def __init__(self, model: Any, rows: Iterable[Model], key: str = "pk") -> None:
        self.model = model
        self.key_field: Any = model._meta.pk if key == "pk" else model._meta.get_field(key)
        self.rows = {getattr(row, self.key_field.attname): row for row in rows}

    def get(self, **lookup: Any) -> Model:
        ((_, value),) = lookup.items()
        row = self.rows.get(self.key_field.to_python(value))
        if row is None:
            raise self.model.DoesNotExist()
        return row

    def all(self) -> _Lookup:
        return self


class _Constructor:
    """Builds unsaved instances of one model from field values positionally, the way Django's
    `Model.from_db` does (keyword arguments cost twice as much, for hundreds of rows a push): a
    field not given gets its default, as with keyword arguments; a relation given by name (an
    instance) sets its id and keeps the instance, as its descriptor would."""

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        self.slots: dict[str, tuple[int, str | None, str | None]] = {}
        self.template: list[Any] = []  # the defaults; callable ones are called per instance
        self.called: list[tuple[int, Any]] = []
        for index, model_field in enumerate(model._meta.concrete_fields):
            self.slots[model_field.attname] = (index, None, None)
            if model_field.is_relation:
                target = model_field.target_field.attname  # type: ignore[attr-defined]
                self.slots[model_field.name] = (index, target, model_field.cache_name)  # type: ignore[attr-defined]
            if model_field.has_default() and callable(model_field.default):
                self.template.append(None)
                self.called.append((index, model_field))
            else:
                self.template.append(model_field.get_default())

    def __call__(self, **values: Any) -> Any:
        row = self.template.copy()
        given = set()
        related = []
        for name, value in values.items():
            index, target, cache_name = self.slots[name]
            if target is not None and value is not None:
                related.append((cache_name, value))
                value = getattr(value, target)
            row[index] = value
            given.add(index)
        for index, model_field in self.called:
            if index not in given:
                row[index] = model_field.get_default()
        instance = self.model(*row)
        for cache_name, value in related:
            instance._state.fields_cache[cache_name] = value
        return instance


_NEW: dict[type[Model], _Constructor] = {}


def _new(model: type[Model], **values: Any) -> Any:
    """`model(**values)`, built positionally (`_Constructor`)."""
    constructor = _NEW.get(model)
    if constructor is None:
        constructor = _NEW[model] = _Constructor(model)
    return constructor(**values)


class _Batch:
    """Shared, read-once state of one push: the serializers (one per kind) and their lookups."""

    def __init__(self, access: Access, context: Mapping[str, Any], kinds: set[PushKind]) -> None:
        self.access = access
        self.context = dict(context)
        needs_catalogue = kinds - {PushKind.TRAINING_SESSION}
        self.catalogue = muscle_groups() if needs_catalogue else {}
        self.serializers = {kind: self._serializer(kind) for kind in kinds}
        self.athletes: dict[tuple[Resource, uuid.UUID | None], uuid.UUID | Exception] = {}

    def _serializer(self, kind: PushKind) -> serializers.Serializer:
        serializer = HANDLERS[kind].serializer(context=self.context)
        self._share_lookups(serializer)
        return serializer

    def _share_lookups(self, node: Any) -> None:
        """Give every writable related field of the serializer tree a lookup read once (the
        catalogue, the athletes the caller may name) instead of a query per value."""
        if isinstance(node, MuscleGroupField):
            return  # reads the process's copy of the catalogue itself
        if isinstance(node, serializers.RelatedField) and not node.read_only:
            related: Any = node
            queryset = related.get_queryset()
            if queryset.model is MuscleGroup:
                related.queryset = _Lookup(MuscleGroup, self.catalogue.values())
            else:
                key = getattr(node, "slug_field", "pk")
                related.get_queryset = _Lookup(queryset.model, queryset, key=key).all
        elif isinstance(node, serializers.ListSerializer | serializers.ListField):
            self._share_lookups(node.child)
        elif isinstance(node, serializers.Serializer):
            for child in node.fields.values():
                self._share_lookups(child)

    def athlete(self, resource: Resource, athlete_id: uuid.UUID | None) -> uuid.UUID:
        """`athlete_for_new_record`, asked once per (resource, athlete) in a batch."""
        key = (resource, athlete_id)
        if key not in self.athletes:
            try:
                self.athletes[key] = athlete_for_new_record(
                    access=self.access, resource=resource, athlete_id=athlete_id
                )
            except (exceptions.ValidationError, exceptions.PermissionDenied) as exc:
                self.athletes[key] = exc
        answer = self.athletes[key]
        if isinstance(answer, Exception):
            raise answer
        return answer


# Kinds: how a validated payload becomes rows -----------------------------------------------------


@dataclass(frozen=True)
class Handler:
    model: type[Model]
    serializer: type[serializers.Serializer]
    build: Callable[[_Batch, dict[str, Any], uuid.UUID], tuple[Model, list[Model]]]
    content_of: Callable[[Any, Sequence[str]], dict[str, Any]]
    children: str | None = None  # the related name of the child rows, prefetched for comparison
    sync_kind: SyncKind = SyncKind.TRAINING_SESSION


def _build_training(
    batch: _Batch, data: dict[str, Any], record_id: uuid.UUID
) -> tuple[Model, list[Model]]:
    athlete_id = batch.athlete(Resource.TRAINING_SESSION, data.pop("athlete_id", None))
    load_au = training_load_au(rpe=data["rpe"], duration_min=data["duration_min"])
    session = _new(
        TrainingSession,
        id=record_id,
        athlete_id=athlete_id,
        created_by=batch.access.user,
        load_au=load_au,
        **data,
    )
    return session, []


ENTRY_FIELDS = ("muscle_group_id", "side", "severity", "kind", "is_injury", "note")
AREA_FIELDS = (
    "muscle_group_id",
    "side",
    "technique",
    "pressure",
    "pressure_rating",
    "minutes",
    "pain_during",
    "trigger_points_found",
    "notes",
)


def _build_soreness(
    batch: _Batch, data: dict[str, Any], record_id: uuid.UUID
) -> tuple[Model, list[Model]]:
    athlete_id = batch.athlete(Resource.SORENESS_REPORT, data.pop("athlete_id", None))
    entries = data.pop("entries")
    report = _new(SorenessReport, id=record_id, athlete_id=athlete_id, **data)
    rows: list[Model] = [
        _new(
            SorenessEntry,
            report_id=record_id,
            flagged=is_flagged(
                kind=entry["kind"],
                severity=entry["severity"],
                is_injury=entry.get("is_injury", False),
            ),
            **entry,
        )
        for entry in entries
    ]
    return report, rows


def _build_injury(
    batch: _Batch, data: dict[str, Any], record_id: uuid.UUID
) -> tuple[Model, list[Model]]:
    athlete_id = batch.athlete(Resource.INJURY, data.pop("athlete_id", None))
    status = data.pop("status", InjuryStatus.ACTIVE)
    resolved = _resolved_date(status, data.pop("resolved_date", None), data["onset_date"])
    injury = _new(
        Injury,
        id=record_id,
        athlete_id=athlete_id,
        created_by=batch.access.user,
        status=status,
        resolved_date=resolved,
        **data,
    )
    return injury, []


def _build_massage(
    batch: _Batch, data: dict[str, Any], record_id: uuid.UUID
) -> tuple[Model, list[Model]]:
    athlete = data.pop("athlete")
    require_massage_write(batch.access, athlete.pk, clinical_notes="clinical_notes" in data)
    areas = data.pop("treated_areas", [])
    session = _new(
        MassageSession, id=record_id, athlete_id=athlete.pk, therapist=batch.access.user, **data
    )
    return session, [_new(TreatedArea, session_id=record_id, **area) for area in areas]


def _comparable(value: Any) -> Any:
    if isinstance(value, Model):
        return value.pk
    if isinstance(value, Decimal):
        return value.normalize()
    return value


def _rows(rows: Iterable[Model], fields: Sequence[str]) -> list[tuple[Any, ...]]:
    return sorted(
        (tuple(_comparable(getattr(row, name)) for name in fields) for row in rows), key=repr
    )


def _content(record: Any, names: Sequence[str]) -> dict[str, Any]:
    """The fields a payload set, as stored (or about to be) in `record`."""
    content = {"athlete_id": record.athlete_id}
    for name in names:
        attname = record._meta.get_field(name).attname
        content[name] = _comparable(getattr(record, attname))
    return content


def _content_with(fields: Sequence[str], related: str) -> Callable[[Any, Sequence[str]], Any]:
    def content_of(record: Any, names: Sequence[str]) -> dict[str, Any]:
        children = getattr(record, "_sync_children", None)
        if children is None:
            children = list(getattr(record, related).all())
        return {**_content(record, names), related: _rows(children, fields)}

    return content_of


HANDLERS: dict[PushKind, Handler] = {
    PushKind.TRAINING_SESSION: Handler(
        TrainingSession,
        TrainingSessionCreateSerializer,
        _build_training,
        _content,
        sync_kind=SyncKind.TRAINING_SESSION,
    ),
    PushKind.SORENESS_REPORT: Handler(
        SorenessReport,
        SorenessReportCreateSerializer,
        _build_soreness,
        _content_with(ENTRY_FIELDS, "entries"),
        children="entries",
        sync_kind=SyncKind.SORENESS_REPORT,
    ),
    PushKind.INJURY: Handler(
        Injury, InjuryCreateSerializer, _build_injury, _content, sync_kind=SyncKind.INJURY
    ),
    PushKind.MASSAGE_SESSION: Handler(
        MassageSession,
        MassageSessionCreateSerializer,
        _build_massage,
        _content_with(AREA_FIELDS, "treated_areas"),
        children="treated_areas",
        sync_kind=SyncKind.MASSAGE_SESSION,
    ),
}
# Fields a payload carries that are not columns compared as such.
NOT_COMPARED = frozenset(
    {"record_id", "session_id", "athlete_id", "athlete", "entries", "treated_areas"}
)


# The push -------------------------------------------------------------------------------------


class RecordEnvelopeSerializer(serializers.Serializer):
    """What the runtime checks of each pushed record before its kind's serializer sees `data`."""

    kind = serializers.ChoiceField(choices=[kind.value for kind in PushKind])
    data = serializers.DictField()  # type: ignore[assignment]


def sync_push(
    *, access: Access, records: Sequence[Any], context: Mapping[str, Any]
) -> list[Outcome]:
    """Validate every record, then create the valid new ones in one transaction."""
    envelope = RecordEnvelopeSerializer()
    outcomes: list[Outcome] = []
    envelopes: list[tuple[Outcome, PushKind, dict[str, Any]] | None] = []
    for index, raw in enumerate(records):
        kind = raw.get("kind") if isinstance(raw, dict) else None
        known = kind if isinstance(kind, str) and kind in PushKind._value2member_map_ else None
        outcome = Outcome(index, known, None, PushResult.INVALID)
        outcomes.append(outcome)
        data = raw.get("data") if known else None
        if known and type(data) is dict:  # what the envelope serializer takes and returns as is
            envelopes.append((outcome, PushKind(known), data))
            continue
        try:  # anything else: the serializer says what is wrong
            checked = envelope.run_validation(raw)
        except exceptions.ValidationError as exc:
            _invalid(outcome, exc.detail, path="")
            envelopes.append(None)
            continue
        envelopes.append((outcome, PushKind(checked["kind"]), checked["data"]))
    batch = _Batch(access, context, {item[1] for item in envelopes if item})

    pending: list[Pending] = []
    for item in envelopes:
        if item is not None:
            found = _prepare(batch, *item)
            if found is not None:
                pending.append(found)
    _store(pending)
    return outcomes


def _prepare(
    batch: _Batch, outcome: Outcome, kind: PushKind, payload: dict[str, Any]
) -> Pending | None:
    """Validate one record and build its rows; None (with the outcome set) when it cannot be."""
    handler = HANDLERS[kind]
    try:
        data = dict(batch.serializers[kind].run_validation(payload))
        record_id = data.pop("record_id", None) or data.pop("session_id", None) or uuid.uuid4()
        data.pop("session_id", None)
        outcome.id = record_id
        names = [name for name in data if name not in NOT_COMPARED]
        record, children = handler.build(batch, data, record_id)
    except exceptions.PermissionDenied as exc:
        outcome.result, outcome.code = PushResult.FORBIDDEN, "permission_denied"
        outcome.detail = str(exc.detail)
        return None
    except exceptions.ValidationError as exc:
        _invalid(outcome, exc.detail, path="data")
        return None
    record._sync_children = children  # type: ignore[attr-defined]
    return Pending(outcome, kind, record, children, names)


def _invalid(outcome: Outcome, detail: Any, *, path: str) -> None:
    outcome.result = PushResult.INVALID
    outcome.code = "validation_error"
    outcome.detail = "The record has invalid fields; see errors."
    outcome.errors = flatten_errors(detail, path)


def _store(pending: Sequence[Pending]) -> None:
    """Create the new records and classify the others against what is stored, in one
    transaction. The records are inserted first, skipping ids that are stored (`ON CONFLICT DO
    NOTHING`): a batch of new records is never read before it is written, and a concurrent push
    of the same ids waits for the other to end and then finds them stored."""
    if not pending:
        return
    connection.ensure_connection()  # the bulk batch size depends on the connection (apps.py)
    with transaction.atomic():
        first: dict[tuple[PushKind, uuid.UUID], Pending] = {}
        repeats: list[Pending] = []
        for item in pending:
            key = (item.kind, item.record.pk)
            if key in first:  # the same id twice in one batch: judged against the first
                repeats.append(item)
            else:
                first[key] = item
        created, taken = _insert_records(list(first.values()))
        _compare_with_stored(taken)
        for item in repeats:
            earlier = first[(item.kind, item.record.pk)]
            if earlier.outcome.result == PushResult.CREATED:
                _set_same(item, earlier.content == item.content)
            else:
                _set_same(item, _same_as_stored(item, earlier.stored))
        _create_the_rest(created)


def _insert_records(unique: Sequence[Pending]) -> tuple[list[Pending], list[Pending]]:
    """One INSERT per kind of record (ids in order, so that concurrent pushes lock them in the
    same order); returns the records created and those whose id was taken."""
    by_kind: dict[PushKind, list[Pending]] = {}
    for item in unique:
        by_kind.setdefault(item.kind, []).append(item)
    created: list[Pending] = []
    taken: list[Pending] = []
    for kind, items in by_kind.items():
        items.sort(key=lambda item: item.record.pk)
        inserted = {
            record.pk
            for record in insert_new(
                HANDLERS[kind].model, [item.record for item in items], skip_existing=True
            )
        }
        for item in items:
            if item.record.pk in inserted:
                item.outcome.result = PushResult.CREATED
                created.append(item)
            else:
                taken.append(item)
    return created, taken


def _compare_with_stored(taken: Sequence[Pending]) -> None:
    """Unchanged or conflict, for the records whose id is stored (a retry, or another record):
    read with their child rows, one query per kind and table (only when there are some)."""
    by_kind: dict[PushKind, list[Pending]] = {}
    for item in taken:
        by_kind.setdefault(item.kind, []).append(item)
    for kind, items in by_kind.items():
        handler = HANDLERS[kind]
        rows = handler.model._default_manager.filter(pk__in=[item.record.pk for item in items])
        if handler.children:
            rows = rows.prefetch_related(handler.children)
        stored = {row.pk: row for row in rows}
        for item in items:
            item.stored = stored.get(item.record.pk)
            _set_same(item, _same_as_stored(item, item.stored))


def _same_as_stored(item: Pending, existing: Any) -> bool:
    if existing is None:  # deleted since the INSERT found it: not the same record any more
        return False
    skip = ("athlete_id", HANDLERS[item.kind].children)
    names = [name for name in item.content if name not in skip]
    same = bool(HANDLERS[item.kind].content_of(existing, names) == item.content)
    if item.kind == PushKind.MASSAGE_SESSION:
        same = same and existing.therapist_id == item.record.therapist_id
    return same


def _set_same(item: Pending, same: bool) -> None:
    if same:
        item.outcome.result = PushResult.UNCHANGED
    else:
        item.outcome.result = PushResult.CONFLICT
        item.outcome.code, item.outcome.detail = "id_conflict", CONFLICT_DETAIL


def _create_the_rest(created: Sequence[Pending]) -> None:
    """What goes with the records created: their child rows (one INSERT per table), the
    per-day load table's refresh (a fixed handful of statements), the change-log rows."""
    children: dict[type[Model], list[Model]] = {}
    for item in created:
        for child in item.children:
            children.setdefault(type(child), []).append(child)
    for model, rows in children.items():
        insert_new(model, rows)
    sessions = [item.record for item in created if item.kind == PushKind.TRAINING_SESSION]
    if sessions:  # a bulk INSERT sends no signals: bring the per-day load table along, once
        added: dict[tuple[uuid.UUID, date], int] = {}
        for session in sessions:  # all new: their loads add to the stored day loads
            key = (session.athlete_id, session.date)
            added[key] = added.get(key, 0) + session.load_au
        refresh_daily_loads(
            athlete_ids={session.athlete_id for session in sessions},
            from_day=min(session.date for session in sessions),
            added=added,
        )
    log.record_many(
        Change(
            HANDLERS[item.kind].sync_kind,
            item.record.pk,
            item.record.athlete_id,
            SyncOp.UPSERT,
        )
        for item in created
    )
