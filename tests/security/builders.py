"""Building the security tests' requests against the world (tests/security/conftest.py): what a
case of the matrix aims at, the path and query that reach it, a valid body per operation, and the
database state a denied write must leave as it was."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from django.db.models import Model
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AuditEntry, Invitation, Membership, Team, User
from recovery.models import (
    Injury,
    MassageAmendment,
    MassageSession,
    SorenessEntry,
    SorenessReport,
    TrainingSession,
    TreatedArea,
)
from tests.security.conftest import World, membership_of
from tests.security.policy import ANONYMOUS, OPERATIONS, Kind, Relation4, Rule, Shape

# --- what a case aims at ------------------------------------------------------------------------


def owner(world: World, role: str, relation: Relation4) -> User:
    a1 = world.teams["a1"].members
    if relation is Relation4.OWN:
        return a1[role]
    if relation is Relation4.SAME_TEAM:
        return a1["teammate"] if role == "athlete" else a1["athlete"]
    return world.teams["a2" if relation is Relation4.OTHER_TEAM else "b1"].members["athlete"]


def team_of(world: World, relation: Relation4) -> Team:
    name = {Relation4.OTHER_TEAM: "a2", Relation4.OTHER_ORG: "b1"}.get(relation, "a1")
    return world.teams[name].team


def target(world: World, rule: Rule, role: str, relation: Relation4) -> Any:
    if rule.kind is Kind.ATHLETE:
        user = owner(world, role, relation)
        return user if rule.target == "athlete" else getattr(world.records[user.pk], rule.target)
    if rule.kind is Kind.TEAM:
        team = team_of(world, relation)
        if rule.target == "team":
            return team
        if rule.target == "invitation":
            return world.teams[_key(world, team)].invitation
        if rule.target == "membership":
            return membership_of(owner(world, role, relation), team)
    return None


def _key(world: World, team: Team) -> str:
    return next(name for name, t in world.teams.items() if t.team == team)


def athlete_of(obj: Any) -> User | None:
    if isinstance(obj, User):
        return obj
    if isinstance(obj, SorenessEntry):
        return obj.report.athlete
    return getattr(obj, "athlete", None)


def path_for(template: str, obj: Any) -> str:
    values = {
        "id": str(getattr(obj, "pk", "")),
        "athlete_id": str(getattr(obj, "pk", "")),
        "team_id": str(getattr(obj, "pk", "")),
    }
    if "muscle-groups" in template:
        values["code"] = "hamstrings"
    if "sports" in template:
        values["code"] = "football"
    return template.format(**values)


def list_query(path: str, obj: Any) -> dict[str, str]:
    athlete = athlete_of(obj)
    if path.endswith("/sync/"):
        return {"limit": "500"}
    if path.endswith("/soreness-flags/") and athlete:
        return {"athlete": str(athlete.pk), "status": "all"}
    if path.endswith("/athletes/") and athlete:
        team = athlete.memberships.filter(role="athlete").first()
        return {"team": str(team.team_id)} if team else {}
    if path.endswith(("/memberships/", "/invitations/")):
        return {"team": str(obj.team_id)}
    if path.endswith("/teams/"):
        return {}
    return {"athlete": str(athlete.pk)} if athlete else {}


def listed_ids(body: dict[str, Any], path: str) -> set[str]:
    rows = body["changes"] if path.endswith("/sync/") else body["results"]
    return {str(row["id"]) for row in rows}


# --- valid bodies -------------------------------------------------------------------------------

TREATED_AREA = {
    "muscle_group": "hamstrings",
    "side": "left",
    "technique": "trigger_point",
    "pressure": "moderate",
    "minutes": 10,
}


def body_for(method: str, path: str, obj: Any, world: World, role: str) -> dict[str, Any] | None:
    """A body the operation accepts from a caller who may do it."""
    now, today = timezone.now(), timezone.localdate()
    actor = world.actor(role) if role != ANONYMOUS else world.actor("athlete")
    athlete_id = str(obj.pk) if isinstance(obj, User) else None
    training = {"date": str(today), "session_type": "practice", "duration_min": 60, "rpe": 5}
    injury = {"muscle_group": "hamstrings", "side": "left", "onset_date": str(today)}
    bodies: dict[tuple[str, str], dict[str, Any] | None] = {
        ("POST", "/api/v1/auth/token/"): {"email": actor.email, "password": world.password},
        ("POST", "/api/v1/auth/token/refresh/"): {"refresh": world.refresh_token(actor)},
        ("POST", "/api/v1/auth/register/"): {
            "token": world.register_token,
            "email": f"new-{uuid.uuid4().hex[:8]}@example.com",
            "password": "a-long-unusual-passphrase-42",
            "full_name": "New Athlete",
        },
        ("POST", "/api/v1/auth/logout/"): {"refresh": world.refresh_token(actor)},
        ("PATCH", "/api/v1/me/"): {"full_name": "Renamed"},
        ("PATCH", "/api/v1/me/athlete-profile/"): {"position": "goalkeeper"},
        ("POST", "/api/v1/me/password/"): {
            "current_password": world.password,
            "new_password": "another-long-passphrase-77",
        },
        ("POST", "/api/v1/me/erase/"): {"password": world.password},
        ("POST", "/api/v1/invitations/accept/"): {"token": world.accept_token},
        ("POST", "/api/v1/sync/"): {"records": []},
        ("POST", "/api/v1/training-sessions/"): {"athlete": athlete_id, **training},
        ("PUT", "/api/v1/training-sessions/{id}/"): training,
        ("PATCH", "/api/v1/training-sessions/{id}/"): {"rpe": 6},
        ("POST", "/api/v1/soreness-reports/"): {
            "athlete": athlete_id,
            "reported_at": now.isoformat(),
            "date": str(today),
            "entries": [
                {"muscle_group": "gastrocnemius", "side": "left", "severity": 3, "kind": "doms"}
            ],
        },
        ("POST", "/api/v1/injuries/"): {"athlete": athlete_id, **injury},
        ("PUT", "/api/v1/injuries/{id}/"): {**injury, "status": "active"},
        ("PATCH", "/api/v1/injuries/{id}/"): {"notes": "Reviewed."},
        ("POST", "/api/v1/massage-sessions/"): {
            "athlete": athlete_id,
            "scheduled_at": (now + timedelta(days=3)).isoformat(),
        },
        ("PATCH", "/api/v1/massage-sessions/{id}/"): {"complaint": "Tight calves."},
        ("POST", "/api/v1/massage-sessions/{id}/complete/"): {"treated_areas": [TREATED_AREA]},
        ("POST", "/api/v1/massage-sessions/{id}/cancel/"): {"reason": "Athlete travelling."},
        ("POST", "/api/v1/massage-sessions/{id}/amendments/"): {"text": "Pressure was firm."},
        ("POST", "/api/v1/athletes/{athlete_id}/recommendation/plan/"): {
            "scheduled_at": (now + timedelta(days=1)).isoformat()
        },
        ("PATCH", "/api/v1/memberships/{id}/"): {"is_active": True},
        ("POST", "/api/v1/invitations/"): {"team": str(getattr(obj, "pk", "")), "role": "athlete"},
    }
    return bodies.get((method, path))


# --- nothing written ----------------------------------------------------------------------------

COUNTED: tuple[type[Model], ...] = (
    TrainingSession,
    SorenessReport,
    SorenessEntry,
    Injury,
    MassageSession,
    MassageAmendment,
    TreatedArea,
    Membership,
    Invitation,
    AuditEntry,
)


def db_state(obj: Any) -> dict[str, Any]:
    """Row counts of every table a write could touch, the target row as stored, and the users'
    sign-in state (a denied password change or erasure must not reach it)."""
    state: dict[str, Any] = {model.__name__: model._default_manager.count() for model in COUNTED}
    if isinstance(obj, Model):
        state["target"] = type(obj)._default_manager.filter(pk=obj.pk).values().first()
    state["users"] = list(User.objects.order_by("pk").values_list("pk", "password", "is_active"))
    return state


def call(client: APIClient, world: World, key: tuple[str, str], role: str, relation: Relation4):
    method, template = key
    rule = OPERATIONS[key]
    obj = target(world, rule, role, relation)
    path = path_for(template, obj)
    body = body_for(method, template, obj, world, role)
    headers = world.auth(role)
    if rule.kind is Kind.ATHLETE and rule.shape is Shape.OBJECT and method != "GET":
        headers["HTTP_IF_MATCH"] = "*"  # required on massage sessions; a 403 must still win
    query = list_query(template, obj) if rule.shape is Shape.LIST else None
    if template.endswith("/audit-entries/"):
        query = {"team": str(obj.pk)}
    before = db_state(obj) if method != "GET" else None
    response = client.generic(
        method,
        path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""),
        **({"data": _json(body), "content_type": "application/json"} if body is not None else {}),
        **headers,
    )
    return rule, obj, path, response, before


def _json(body: dict[str, Any]) -> str:

    return json.dumps(body)
