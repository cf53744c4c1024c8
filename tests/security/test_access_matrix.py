"""OWASP API1 (BOLA) and API5 (BFLA): the generated access matrix.

Every operation of the generated schema x every role of team A1 (athlete, therapist, coach, admin,
anonymous) x every relation of the object's owner to the caller (own, same team, other team, other
organisation). The expected outcome comes from `tests/security/policy.py`, which derives it from
`accounts.access.POLICY` and `CONSENT_GATED`: foreign objects 404, visible but forbidden 403,
allowed 2xx (writes send a valid body), anonymous 401; a list shows the object only when visible;
an id in a body that the caller cannot see is rejected. A denied write changes nothing in the
database. A leak is a case that got more than POLICY allows: a 2xx or a listed row where it should
not, a 403 where a 404 should hide the object, or a denied write that changed a row.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.security.builders import call, db_state, listed_ids
from tests.security.conftest import record_figure
from tests.security.policy import (
    OPERATIONS,
    ROLES,
    Kind,
    Outcome,
    Relation4,
    Rule,
    Shape,
    expect,
    relations_for,
    schema_operations,
    success_statuses,
)

OPS = schema_operations()
MATRIX = "access matrix"


def test_every_operation_has_a_policy_row():
    """A new endpoint fails here until policy.OPERATIONS says who may call it."""
    in_schema, mapped = set(OPS), set(OPERATIONS)
    assert sorted(in_schema - mapped) == [], "operations without a policy row"
    assert sorted(mapped - in_schema) == [], "policy rows for operations that do not exist"


CASES = [
    pytest.param(key, role, relation, id=f"{key[0]} {key[1]} | {role} | {relation}")
    for key in sorted(OPS)
    for role in ROLES
    for relation in relations_for(OPERATIONS.get(key, Rule(Kind.SELF)), role)
]


# --- the matrix ---------------------------------------------------------------------------------


def actual_outcome(
    rule: Rule, response: Any, obj: Any, template: str, successes: set[int]
) -> Outcome | str:
    status = response.status_code
    if rule.shape is Shape.LIST and status == 200 and rule.kind is not Kind.SELF:
        listed = str(obj.pk) in listed_ids(response.json(), template)
        return Outcome.LISTED if listed else Outcome.NOT_LISTED
    if status in successes:
        return Outcome.OK
    if status == 400 and rule.shape is Shape.CREATE:
        fields = {error["field"] for error in response.json().get("errors", [])}
        return Outcome.REJECTED_ID if fields == {"athlete"} else f"400 on {sorted(fields)}"
    return {401: Outcome.UNAUTHORIZED, 403: Outcome.FORBIDDEN, 404: Outcome.NOT_FOUND}.get(
        status, f"{status}: {response.content[:300]!r}"
    )


LEAKY = {
    # expected -> actual outcomes that disclose or allow more than POLICY
    Outcome.NOT_FOUND: {Outcome.OK, Outcome.FORBIDDEN, Outcome.LISTED},
    Outcome.REJECTED_ID: {Outcome.OK, Outcome.FORBIDDEN},
    Outcome.FORBIDDEN: {Outcome.OK},
    Outcome.UNAUTHORIZED: {Outcome.OK, Outcome.FORBIDDEN, Outcome.NOT_FOUND},
    Outcome.NOT_LISTED: {Outcome.LISTED},
}


@pytest.mark.parametrize(("key", "role", "relation"), CASES)
def test_access_matrix(world, db, request, key, role, relation):
    assert key in OPERATIONS, f"{key} has no row in tests/security/policy.OPERATIONS"
    rule = OPERATIONS[key]
    expected = expect(rule, role, relation)
    rule, obj, path, response, before = call(APIClient(), world, key, role, relation)
    actual = actual_outcome(rule, response, obj, key[1], success_statuses(OPS[key]))
    changed = before is not None and actual != Outcome.OK and db_state(obj) != before
    leak = actual in LEAKY.get(expected, set()) or changed
    record_figure(request, f"{MATRIX}: cases")
    record_figure(request, f"{MATRIX}: leaks", int(leak))
    record_figure(request, f"{MATRIX}: mismatches", int(actual != expected))
    if response.status_code >= 500:
        record_figure(request, f"{MATRIX}: server errors")
    assert not changed, f"a denied {key[0]} {path} changed the database"
    assert actual == expected, f"{key[0]} {path} as {role} ({relation}): {response.content[:400]!r}"


# --- ids in bodies ------------------------------------------------------------------------------

CREATES = [key for key, rule in OPERATIONS.items() if rule.shape is Shape.CREATE]


@pytest.mark.parametrize("key", sorted(CREATES), ids=lambda key: f"{key[0]} {key[1]}")
@pytest.mark.parametrize("relation", [Relation4.OTHER_TEAM, Relation4.OTHER_ORG])
@pytest.mark.parametrize("role", ["athlete", "therapist", "admin"])
def test_a_foreign_id_in_a_create_body_is_rejected_and_nothing_is_written(
    world, db, request, key, relation, role
):
    rule, obj, _, response, before = call(APIClient(), world, key, role, relation)
    record_figure(request, "foreign ids in bodies: cases")
    record_figure(request, "foreign ids in bodies: accepted", int(response.status_code < 300))
    if rule.target == "athlete":
        assert response.status_code == 400
        assert [e["field"] for e in response.json()["errors"]] == ["athlete"]
        assert response.json()["errors"][0]["code"] == "does_not_exist"
    else:
        assert response.status_code == 404
    assert db_state(obj) == before


SYNC_KINDS = {
    "training_session": {"date": None, "session_type": "practice", "duration_min": 45, "rpe": 4},
    "soreness_report": {
        "reported_at": None,
        "date": None,
        "entries": [
            {"muscle_group": "gastrocnemius", "side": "left", "severity": 2, "kind": "doms"}
        ],
    },
    "injury": {"muscle_group": "gastrocnemius", "side": "left", "onset_date": None},
    "massage_session": {"scheduled_at": None},
}


@pytest.mark.parametrize("kind", sorted(SYNC_KINDS))
@pytest.mark.parametrize("role", ["athlete", "therapist"])
def test_a_sync_push_naming_a_foreign_athlete_stores_nothing(world, db, request, kind, role):
    now, today = timezone.now(), str(timezone.localdate())
    foreign = world.teams["b1"].members["athlete"]
    data = {
        name: (now.isoformat() if name.endswith("_at") else today) if value is None else value
        for name, value in SYNC_KINDS[kind].items()
    }
    record_id = uuid.uuid4()
    records = [{"kind": kind, "data": {"id": str(record_id), "athlete": str(foreign.pk), **data}}]
    before = db_state(None)
    response = APIClient().post(
        "/api/v1/sync/", {"records": records}, format="json", **world.auth(role)
    )
    record_figure(request, "foreign ids in bodies: cases")
    assert response.status_code == 200
    result = response.json()["results"][0]
    record_figure(request, "foreign ids in bodies: accepted", int(result["result"] == "created"))
    assert result["result"] == "invalid"
    assert [error["field"] for error in result["errors"]] == ["data.athlete"]
    assert db_state(None) == before
