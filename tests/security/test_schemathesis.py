"""Schemathesis 4 over every operation, in-process through the Django WSGI application, on
PostgreSQL (NUL bytes, row locks and text types behave differently on SQLite, which would hide
real 500s; CI runs this module on PostgreSQL and skips it, with that reason, on SQLite).

Each role of team A1 (athlete, therapist, coach, admin) fuzzes the whole schema with positive and
negative data, with a bounded number of examples per operation and phase. Path ids that parse as
UUIDs are mostly swapped for an object of the world the role can see, so that bodies reach real
records; the rest stay random (unknown ids: 404). Each example runs in a savepoint rolled back
after it, so the world is the same for every example. Checks: no server error, every status
documented, the documented content type, and the body valid against the documented schema.

Then a dedicated test sends NUL, an escaped lone surrogate, right-to-left marks and 10,000
characters into every string field of every write operation and every query parameter: never a
5xx.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from rest_framework.test import APIClient
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from backend.wsgi import application
from tests.security.builders import TREATED_AREA, body_for, path_for, target
from tests.security.conftest import ROLES, World, record_figure
from tests.security.policy import (
    OPERATIONS,
    Kind,
    Outcome,
    Relation4,
    Shape,
    expect,
    generated_schema,
    relations_for,
    schema_operations,
)

POSTGRES_ONLY = (
    "schema fuzzing runs on PostgreSQL only: PostgreSQL refuses NUL bytes and out-of-range "
    "values that SQLite stores, so a SQLite run would hide the 500s this module is for (CI runs "
    "the suite on both databases)"
)
MAX_EXAMPLES = 12  # per operation and role: about 3,000 requests
CONFIG = schemathesis.Config.from_dict({"generation": {"allow-x00": True}})
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FIGURE = "schemathesis in-process"
# The fixtures are the world (read-only here: every example is rolled back) and the counters.
FIXTURES_OK = [HealthCheck.function_scoped_fixture]


@pytest.fixture(autouse=True)
def _postgres_only(request: pytest.FixtureRequest) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(POSTGRES_ONLY)


@pytest.fixture(scope="module")
def _wsgi_in_transaction() -> Iterator[None]:
    """Django closes "old" connections when a request starts and ends; inside a test's
    transaction that would break it, so (as Django's own test client does) do not."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api(world: World, db: None, _wsgi_in_transaction: None) -> World:
    """The world, in the test's transaction, with the WSGI handler kept off the connection."""
    return world


def _load_schema() -> Any:
    """The schema drf-spectacular generates, with the WSGI app as Schemathesis' transport."""
    document = json.loads(json.dumps(generated_schema(), default=str))
    loaded = schemathesis.openapi.from_dict(document, config=CONFIG)
    loaded.app = application
    return loaded


SCHEMA = _load_schema()
SCHEMA_OPERATIONS = {
    (operation.method.upper(), operation.path): operation
    for operation in (result.ok() for result in SCHEMA.get_all_operations())
}


def strategy_for(operation: Any) -> SearchStrategy[Any]:
    """The operation's schema examples, valid data and (where it takes any input) invalid data."""
    strategies = [
        *SCHEMA.get_strategies_from_examples(operation),
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
    ]
    definition = operation.definition.raw
    if any(definition.get(name) for name in ("parameters", "requestBody", "security")):
        strategies.append(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    return st.one_of(strategies)


class Stats:
    def __init__(self) -> None:
        self.cases = 0
        self.operations: set[str] = set()
        self.failures: dict[str, set[str]] = defaultdict(set)
        self.statuses: dict[int, int] = defaultdict(int)


@pytest.fixture
def stats(request: pytest.FixtureRequest) -> Iterator[Stats]:
    collected = Stats()
    yield collected
    record_figure(request, f"{FIGURE}: cases", collected.cases)
    record_figure(request, f"{FIGURE}: operations x roles", len(collected.operations))
    record_figure(request, f"{FIGURE}: failing operations x roles", len(collected.failures))
    for status, count in collected.statuses.items():
        if status >= 500:
            record_figure(request, f"{FIGURE}: {status} responses", count)


def _seeded_id(world: World, role: str, method: str, template: str) -> str | None:
    rule = OPERATIONS.get((method, template))
    if rule is None or rule.kind not in (Kind.ATHLETE, Kind.TEAM):
        return None
    relation = Relation4.OWN if role == "athlete" else Relation4.SAME_TEAM
    if rule.kind is Kind.TEAM and rule.target != "membership":
        relation = Relation4.SAME_TEAM
    obj = target(world, rule, role, relation)
    return str(obj.pk) if obj is not None else None


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _point_at_world(case: Any, world: World, role: str) -> None:
    """Three of four generated UUIDs become an object of the world this role can see."""
    if not case.path_parameters:
        return
    seeded = _seeded_id(world, role, case.method.upper(), case.operation.path)
    for name, value in list(case.path_parameters.items()):
        pointable = name in ("id", "athlete_id", "team_id") and seeded and _is_uuid(value)
        if pointable and uuid.UUID(str(value)).int % 4:
            case.path_parameters[name] = seeded


def run(case: Any, world: World, role: str, stats: Stats) -> None:
    _point_at_world(case, world, role)
    headers = {"Authorization": f"Bearer {world.access_token(world.actor(role))}"}
    label = f"{role} {case.method.upper()} {case.operation.path}"
    with transaction.atomic():
        response = case.call(headers=headers)
        transaction.set_rollback(True)
    stats.cases += 1
    stats.operations.add(label)
    stats.statuses[response.status_code] += 1
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except BaseException as failure:
        stats.failures[label].add(type(failure).__name__)
        raise


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "key", sorted(SCHEMA_OPERATIONS), ids=[f"{m} {p}" for m, p in sorted(SCHEMA_OPERATIONS)]
)
def test_schema(api, stats, key, role):
    """Every operation, fuzzed as each role: no 5xx, and every response as documented."""
    operation = SCHEMA_OPERATIONS[key]

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=FIXTURES_OK,
    )
    @given(case=strategy_for(operation))
    def fuzz(case: Any) -> None:
        run(case, api, role, stats)

    fuzz()


# --- NUL bytes and odd unicode ------------------------------------------------------------------

NUL = "\u0000"
HOSTILE_STRINGS = {
    "nul": "before\u0000after",
    "lone_surrogate": "\ud800",  # json.dumps escapes it as "\ud800"
    "rtl_marks": "\u202eevil\u200f\u200e\u2066x\u2069",
    "ten_thousand": "x" * 10_000,
    "only_nul": NUL,
}
# In a URL the lone surrogate is its (invalid) UTF-8 encoding, percent-encoded.
URL_HOSTILE = {
    **{name: quote(value) for name, value in HOSTILE_STRINGS.items() if name != "lone_surrogate"},
    "lone_surrogate": "%ED%A0%80",
}
HEADER_HOSTILE = {"rtl_marks": HOSTILE_STRINGS["rtl_marks"], "ten_thousand": "x" * 10_000}


def _resolve_ref(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = document["components"]["schemas"][name]
    return node


def string_fields(document: dict[str, Any], node: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of every writable string field of a request schema (arrays: item 0)."""
    node = _resolve_ref(document, node)
    paths: list[str] = []
    for branch in node.get("allOf", []) + node.get("oneOf", []) + node.get("anyOf", []):
        paths += string_fields(document, branch, prefix)
    if node.get("type") == "string" or "enum" in node:
        return [prefix]
    if node.get("type") == "array" and "items" in node:
        return paths + string_fields(document, node["items"], f"{prefix}.0" if prefix else "0")
    for name, child in node.get("properties", {}).items():
        if _resolve_ref(document, child).get("readOnly") or child.get("readOnly"):
            continue
        paths += string_fields(document, child, f"{prefix}.{name}" if prefix else name)
    return sorted(set(paths))


def _place(body: Any, dotted: str, value: str) -> bool:
    """Set `dotted` in `body`, creating objects on the way; False when a list item is missing."""
    *parents, last = dotted.split(".")
    node = body
    for part in parents:
        if part.isdigit():
            if not isinstance(node, list) or len(node) <= int(part):
                return False
            node = node[int(part)]
        else:
            if not isinstance(node, dict):
                return False
            node = node.setdefault(part, {})
    if last.isdigit():
        if not isinstance(node, list) or len(node) <= int(last):
            return False
        node[int(last)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        return False
    return True


def _writer(key: tuple[str, str]) -> tuple[str, Relation4]:
    """A role of A1 (and relation) that may make this write, so the body reaches validation."""
    rule = OPERATIONS[key]
    for role in ("athlete", "therapist", "admin", "coach"):
        for relation in relations_for(rule, role):
            if expect(rule, role, relation) is Outcome.OK:
                return role, relation
    return "athlete", Relation4.NONE


TREATED = "treated_areas"


def _sync_body() -> dict[str, Any]:
    today = str(timezone.localdate())
    data = {"date": today, "session_type": "practice", "duration_min": 30, "rpe": 3, "notes": ""}
    return {"records": [{"kind": "training_session", "data": data}]}


WRITES = sorted(key for key in OPERATIONS if key[0] in ("POST", "PUT", "PATCH"))
QUERIED = sorted(
    key
    for key, operation in schema_operations().items()
    if any(p["in"] in ("query", "path") for p in operation.get("parameters", []))
)


def _client() -> APIClient:
    client = APIClient()
    client.raise_request_exception = False  # a server error is a 500 response, counted
    return client


def _crash(response: Any) -> str:
    info = getattr(response, "exc_info", None)
    return (
        f"{response.status_code} {info[0].__name__}: {str(info[1])[:120]}"
        if info
        else str(response.status_code)
    )


def _send(client: APIClient, method: str, path: str, **kwargs: Any) -> Any:
    with transaction.atomic():
        response = client.generic(method, path, **kwargs)
        transaction.set_rollback(True)
    return response


@pytest.mark.parametrize("key", WRITES, ids=[f"{m} {p}" for m, p in WRITES])
def test_odd_strings_in_every_body_field_never_cause_a_server_error(api, request, key):
    document = generated_schema()
    operation = schema_operations()[key]
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    fields = string_fields(document, content["schema"]) if content else []
    role, relation = _writer(key)
    rule = OPERATIONS[key]
    obj = target(api, rule, role, relation) if relation is not Relation4.NONE else None
    if rule.target == "membership" and role == "admin":
        obj = target(api, rule, role, Relation4.SAME_TEAM)
    path = path_for(key[1], obj)
    valid = _sync_body() if key[1].endswith("/sync/") else body_for(*key, obj, api, role) or {}
    if key[1].startswith("/api/v1/massage-sessions/") and key[0] in ("POST", "PATCH"):
        valid.setdefault(TREATED, [dict(TREATED_AREA)])  # reach the nested fields too
    headers = api.auth(None if rule.kind is Kind.PUBLIC else role)
    if "{id}" in key[1]:
        headers["HTTP_IF_MATCH"] = "*"
    client, errors = _client(), []
    for field in fields or [""]:
        for name, value in HOSTILE_STRINGS.items():
            body = json.loads(json.dumps(valid))
            if field and not _place(body, field, value):
                continue
            raw = json.dumps(body if field else value)  # no string field: the body is the string
            response = _send(
                client, key[0], path, data=raw, content_type="application/json", **headers
            )
            record_figure(request, "odd strings: cases")
            if response.status_code >= 500:
                errors.append(f"{field or '<body>'}={name}: {_crash(response)}")
    for header in ("HTTP_IDEMPOTENCY_KEY", "HTTP_IF_MATCH"):
        for name, value in HEADER_HOSTILE.items():
            response = _send(
                client,
                key[0],
                path,
                data=json.dumps(valid),
                content_type="application/json",
                **{**headers, header: value},
            )
            record_figure(request, "odd strings: cases")
            if response.status_code >= 500:
                errors.append(f"{header}={name}: {_crash(response)}")
    record_figure(request, "odd strings: server errors", len(errors))
    assert errors == [], f"{key[0]} {path} as {role}"


@pytest.mark.parametrize("key", QUERIED, ids=[f"{m} {p}" for m, p in QUERIED])
def test_odd_strings_in_every_query_and_path_parameter_never_cause_a_server_error(
    api, request, key
):
    operation = schema_operations()[key]
    rule = OPERATIONS[key]
    role, relation = _writer(key) if key[0] != "GET" else ("therapist", Relation4.SAME_TEAM)
    if rule.kind is Kind.ATHLETE and key[0] == "GET" and rule.shape is not Shape.LIST:
        role, relation = "athlete", Relation4.OWN
    obj = target(api, rule, role, relation) if relation is not Relation4.NONE else None
    body = _sync_body() if key[1].endswith("/sync/") else body_for(*key, obj, api, role)
    kwargs: dict[str, Any] = {**api.auth(role), "HTTP_IF_MATCH": "*"}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    client, errors = _client(), []
    for parameter in operation.get("parameters", []):
        for name, value in URL_HOSTILE.items():
            if parameter["in"] == "query":
                path = f"{path_for(key[1], obj)}?{parameter['name']}={value}"
            elif parameter["in"] == "path":
                path = key[1].replace("{" + parameter["name"] + "}", value)
            else:
                continue
            response = _send(client, key[0], path, **kwargs)
            record_figure(request, "odd strings: cases")
            if response.status_code >= 500:
                errors.append(
                    f"{parameter['in']} {parameter['name']}={name}: {response.status_code}"
                )
    record_figure(request, "odd strings: server errors", len(errors))
    assert errors == [], f"{key[0]} {key[1]} as {role}"
