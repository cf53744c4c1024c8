"""OWASP API3 (broken object property level authorization), the write side: mass assignment.

Every write a client can make is sent with a valid body plus one protected field set to a hostile
value: the record's owner, server-computed values (`load_au`, `flagged`), the version and the
timestamps, the therapist and the signature of a massage session, its recommendation snapshot,
roles on memberships and invitations, account flags. The assertion is on the database, never on
the response: after the request, the stored value is what it was (updates) or no row carries the
hostile value (creates). The API may refuse the body (400 `unknown_field`) or ignore the field;
it may never store it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db.models import Model, Q
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AthleteProfile, Invitation, Membership, User
from recovery.models import (
    Injury,
    MassageAmendment,
    MassageSession,
    SorenessEntry,
    SorenessReport,
    TrainingSession,
)
from tests.security.builders import body_for, path_for, target
from tests.security.conftest import World, membership_of, record_figure
from tests.security.policy import OPERATIONS, Relation4

V1 = "/api/v1"
EPOCH = "2000-01-01T00:00:00Z"
EPOCH_DT = datetime(2000, 1, 1, tzinfo=UTC)
OUTSIDER = "outsider"  # a user of organisation B: b1's therapist
SNAPSHOT = {"hostile": True}


@dataclass(frozen=True)
class Hostile:
    """Send `field` = `value` (dotted for nested: `entries.0.flagged`) in `op` as `role`.

    `stored` reads the database: for an update, the target row's `column` must be unchanged; for
    a create, no row of `model` matching `scope` may hold the hostile value in `column`."""

    op: tuple[str, str]
    role: str
    field: str
    value: Any
    model: type[Model]
    column: str
    create: bool = False
    relation: Relation4 = Relation4.SAME_TEAM

    @property
    def id(self) -> str:
        return f"{self.op[0]} {self.op[1]} | {self.role} | {self.field}"


def _cases() -> list[Hostile]:
    cases: list[Hostile] = []

    def add(
        op: tuple[str, str], role: str, model: type[Model], fields: dict[str, Any], **kw: Any
    ) -> None:
        for field, value in fields.items():
            cases.append(Hostile(op, role, field, value, model, field.split(".")[-1], **kw))

    record_fields = {
        "version": 4242,
        "created_at": EPOCH,
        "updated_at": EPOCH,
    }
    own = {"relation": Relation4.OWN}
    # training sessions: the athlete and the team's therapist write them
    ts, ts_item = f"{V1}/training-sessions/", f"{V1}/training-sessions/{{id}}/"
    for role, kw in (("athlete", own), ("therapist", {})):
        add(("POST", ts), role, TrainingSession, {"load_au": 99999, "created_by": OUTSIDER, **record_fields}, create=True, **kw)  # fmt: skip
        for method in ("PUT", "PATCH"):
            add((method, ts_item), role, TrainingSession, {"athlete": OUTSIDER, "load_au": 99999, "created_by": OUTSIDER, "id": str(uuid.uuid4()), **record_fields}, **kw)  # fmt: skip
    # soreness reports: the athlete; entries' flags are the server's
    sr = f"{V1}/soreness-reports/"
    add(("POST", sr), "athlete", SorenessReport, record_fields, create=True, **own)
    add(("POST", sr), "athlete", SorenessEntry, {"entries.0.flagged": True, "entries.0.flag_resolved_by": OUTSIDER, "entries.0.flag_resolved_at": EPOCH, "entries.0.id": str(uuid.uuid4())}, create=True, **own)  # fmt: skip
    # flags: resolving records the caller and the time, whatever the body says
    flag = f"{V1}/soreness-flags/{{id}}/resolve/"
    add(("POST", flag), "therapist", SorenessEntry, {"flag_resolved_by": OUTSIDER, "flag_resolved_at": EPOCH, "flagged": False, "severity": 1})  # fmt: skip
    # injuries: the team's therapists
    inj, inj_item = f"{V1}/injuries/", f"{V1}/injuries/{{id}}/"
    add(("POST", inj), "therapist", Injury, {"created_by": OUTSIDER, **record_fields}, create=True)
    for method in ("PUT", "PATCH"):
        add((method, inj_item), "therapist", Injury, {"athlete": OUTSIDER, "created_by": OUTSIDER, **record_fields})  # fmt: skip
    # massage sessions: the team's therapists; therapist, signature and snapshot are the server's
    ms, ms_item = f"{V1}/massage-sessions/", f"{V1}/massage-sessions/{{id}}/"
    signed = {
        "therapist": OUTSIDER,
        "signed_by": OUTSIDER,
        "completed_at": EPOCH,
        "recommendation_snapshot": SNAPSHOT,
        "status": "cancelled",
    }
    add(("POST", ms), "therapist", MassageSession, {**signed, **record_fields}, create=True)
    add(("PATCH", ms_item), "therapist", MassageSession, {"athlete": OUTSIDER, **signed, **record_fields})  # fmt: skip
    add(("POST", f"{ms_item}complete/"), "therapist", MassageSession, {**signed, "clinical_notes": "hostile", "version": 4242})  # fmt: skip
    add(("POST", f"{ms_item}cancel/"), "therapist", MassageSession, {**signed, "version": 4242})
    add(("POST", f"{ms_item}amendments/"), "therapist", MassageAmendment, {"author": OUTSIDER, "created_at": EPOCH, "session": str(uuid.uuid4())}, create=True)  # fmt: skip
    plan = f"{V1}/athletes/{{athlete_id}}/recommendation/plan/"
    add(("POST", plan), "therapist", MassageSession, signed, create=True)
    # memberships: only admins change roles, and nobody moves a membership
    mem = ("PATCH", f"{V1}/memberships/{{id}}/")
    for role in ("therapist", "coach"):
        add(mem, role, Membership, {"role": "admin", "is_active": False})
    add(mem, "athlete", Membership, {"role": "admin"}, relation=Relation4.OWN)
    add(mem, "admin", Membership, {"user": OUTSIDER, "team": "b1", "created_at": EPOCH})
    # invitations: admins invite, with a role; nobody else, and no server fields
    inv = ("POST", f"{V1}/invitations/")
    for role in ("athlete", "therapist", "coach"):
        add(inv, role, Invitation, {"role": "admin"}, create=True)
    add(inv, "admin", Invitation, {"created_by": OUTSIDER, "used_at": EPOCH, "token_hash": "0" * 64, "expires_at": EPOCH}, create=True)  # fmt: skip
    add(("POST", f"{V1}/invitations/accept/"), "coach", Membership, {"role": "admin"}, create=True)
    add(("POST", f"{V1}/auth/register/"), "anonymous", User, {"is_staff": True, "is_superuser": True, "role": "admin"}, create=True)  # fmt: skip
    # the caller's own account
    for role in ("athlete", "coach"):
        add(("PATCH", f"{V1}/me/"), role, User, {"email": "taken-over@example.com", "is_staff": True, "is_superuser": True, "token_generation": 99, "id": str(uuid.uuid4())})  # fmt: skip
    add(("PATCH", f"{V1}/me/athlete-profile/"), "athlete", AthleteProfile, {"user": OUTSIDER, "updated_at": EPOCH})  # fmt: skip
    return cases


CASES = _cases()
TIMESTAMPS = (
    "created_at",
    "updated_at",
    "completed_at",
    "flag_resolved_at",
    "used_at",
    "expires_at",
)


def _resolve(value: Any, world: World) -> Any:
    if value == OUTSIDER:
        return str(world.teams["b1"].members["therapist"].pk)
    if value == "b1":
        return str(world.teams["b1"].team.pk)
    return value


def _set(body: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node: Any = body
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[last] = value


def _holds(row: Model, column: str, value: Any) -> bool:
    """Does the stored row hold the hostile value in `column`?"""
    field = row._meta.get_field(column)
    stored = getattr(row, field.attname)
    if column in TIMESTAMPS:
        return stored is not None and stored < EPOCH_DT.replace(year=2001)
    if isinstance(stored, uuid.UUID):
        stored = str(stored)
    return stored == value


def _hostile_created(case: Hostile, value: Any, since: datetime) -> bool:
    """Does any row created by the request (or any row at all, for timestamps) hold the value?"""
    model = case.model
    if case.column == "role":  # a role sent with an invitation, an acceptance or a registration
        holder = Invitation if model is Invitation else Membership
        return holder.objects.filter(role="admin", created_at__gte=since).exists()
    if case.column in TIMESTAMPS:
        return model._default_manager.filter(
            **{f"{case.column}__lt": EPOCH_DT.replace(year=2001)}
        ).exists()
    created = {
        SorenessEntry: Q(report__created_at__gte=since),
        User: Q(date_joined__gte=since),
    }.get(model, Q(created_at__gte=since))
    rows = model._default_manager.filter(created)
    if case.column == "id":
        return model._default_manager.filter(pk=value).exists()
    if case.column == "session":
        return MassageAmendment.objects.filter(session_id=value).exists()
    if case.column == "recommendation_snapshot":
        return any(row.recommendation_snapshot == SNAPSHOT for row in rows)
    field = model._meta.get_field(case.column)
    return rows.filter(**{field.attname: value}).exists()


def _target(world: World, case: Hostile) -> Any:
    rule = OPERATIONS[case.op]
    if case.op[1].endswith("/me/"):
        return world.actor(case.role)
    if case.op[1].endswith("/athlete-profile/"):
        return world.actor(case.role).athlete_profile
    if rule.target == "membership" and case.relation is Relation4.OWN:
        return membership_of(world.actor(case.role), world.teams["a1"].team)
    return target(world, rule, case.role, case.relation)


def _body(world: World, case: Hostile, obj: Any, value: Any) -> dict[str, Any]:
    role = "athlete" if case.role == "anonymous" else case.role
    body = json.loads(json.dumps(body_for(*case.op, obj, world, role) or {}))  # a deep copy
    _set(body, case.field, value)
    return body


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_protected_field_cannot_be_written(world, db, request, case: Hostile):
    obj = _target(world, case)
    value = _resolve(case.value, world)
    row = None if case.create else type(obj)._default_manager.get(pk=obj.pk)
    held_before = row is not None and _holds(row, case.column, value)
    headers = world.auth(None if case.role == "anonymous" else case.role)
    if "{id}" in case.op[1]:
        headers["HTTP_IF_MATCH"] = "*"
    since = timezone.now()
    response = APIClient().generic(
        case.op[0],
        path_for(case.op[1], obj),
        data=json.dumps(_body(world, case, obj, value)),
        content_type="application/json",
        **headers,
    )
    if row is None:
        written = _hostile_created(case, value, since)
    else:
        after = type(obj)._default_manager.filter(pk=obj.pk).first()
        written = after is None or (_holds(after, case.column, value) and not held_before)
    refused = response.status_code >= 400
    record_figure(request, "mass assignment: cases")
    record_figure(request, "mass assignment: hostile values stored", int(written))
    record_figure(request, "mass assignment: refused with 4xx", int(refused))
    record_figure(request, "mass assignment: accepted, field ignored", int(not refused))
    assert response.status_code < 500, response.content
    assert not written, f"{case.field}={value!r} reached the database ({response.status_code})"
