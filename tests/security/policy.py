"""Expected outcomes of the access matrix, derived from `accounts.access.POLICY`.

Each API operation (method + path template, as the generated schema lists them) maps to one
`Rule`: which POLICY row decides whether the caller may *see* the object (404 when not: no
existence oracle) and which row decides whether they may *do* the operation (403 when not), or a
marker for operations that are public, open to any signed-in user, about the caller's own account,
or gated by the role held in some team. The expected status of a role x relation case is computed
from POLICY + CONSENT_GATED by `expect`; nothing here restates who may do what.

This file is the one place a new endpoint needs a row: `test_every_operation_has_a_policy_row`
fails until it has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

from accounts.access import CONSENT_GATED, POLICY, Action, Relation, Resource

R, W = Action.READ, Action.WRITE


class Kind(StrEnum):
    PUBLIC = "public"  # no authentication at all
    AUTHENTICATED = "authenticated"  # any signed-in user; not about anyone's data (catalogue)
    SELF = "self-only"  # the caller's own account (me, sync, sign out...)
    ROLE = "role"  # callers who hold one of `allowed`'s relations in some team
    ATHLETE = "athlete"  # an athlete's data: judged by the caller's relation to that athlete
    TEAM = "team"  # a team's data: judged by the role the caller holds in that team


class Shape(StrEnum):
    OBJECT = "object"  # the target is in the path
    LIST = "list"  # a list filtered on the target: 200, the target listed only when visible
    CREATE = "create"  # the target is named in the body: 400 (or 404) when not visible


class Relation4(StrEnum):
    """How the object's owner stands to the caller, an actor of team A1 (see conftest.World)."""

    OWN = "own"
    SAME_TEAM = "same_team"
    OTHER_TEAM = "other_team"
    OTHER_ORG = "other_org"
    NONE = "none"  # operations about no one else (public, self-only, role-gated)


@dataclass(frozen=True)
class Rule:
    kind: Kind
    target: str = ""  # which world object the case aims at (see the matrix's `target`)
    visible: tuple[Resource, Action] | None = None
    allowed: tuple[Resource, Action] | None = None
    shape: Shape = Shape.OBJECT
    athlete_only: bool = False  # SELF: only callers with an athlete profile (staff: 404)

    def __post_init__(self) -> None:
        if self.kind in (Kind.ATHLETE, Kind.TEAM):
            assert self.visible, self
            assert self.allowed, self
            assert self.target, self
        if self.kind is Kind.ROLE:
            assert self.allowed, self


def athlete(target: str, resource: Resource, action: Action, shape: Shape = Shape.OBJECT) -> Rule:
    """An operation on an athlete's `resource`: visible with READ, allowed with `action`."""
    return Rule(Kind.ATHLETE, target, (resource, R), (resource, action), shape)


def team(
    target: str,
    visible: tuple[Resource, Action],
    allowed: tuple[Resource, Action],
    shape: Shape = Shape.OBJECT,
) -> Rule:
    return Rule(Kind.TEAM, target, visible, allowed, shape)


PUBLIC = Rule(Kind.PUBLIC)
AUTHENTICATED = Rule(Kind.AUTHENTICATED)
SELF = Rule(Kind.SELF)

TS, SR, SF = Resource.TRAINING_SESSION, Resource.SORENESS_REPORT, Resource.SORENESS_FLAG
INJ, MS, AP = Resource.INJURY, Resource.MASSAGE_SESSION, Resource.ATHLETE_PROFILE
LIST, CREATE = Shape.LIST, Shape.CREATE

V1 = "/api/v1"
OPERATIONS: dict[tuple[str, str], Rule] = {
    # public
    ("GET", "/healthz"): PUBLIC,
    ("POST", f"{V1}/auth/token/"): PUBLIC,
    ("POST", f"{V1}/auth/token/refresh/"): PUBLIC,
    ("POST", f"{V1}/auth/register/"): PUBLIC,
    # the caller's own account and devices
    ("POST", f"{V1}/auth/logout/"): SELF,
    ("GET", f"{V1}/me/"): SELF,
    ("PATCH", f"{V1}/me/"): SELF,
    ("GET", f"{V1}/me/athlete-profile/"): Rule(Kind.SELF, athlete_only=True),
    ("PATCH", f"{V1}/me/athlete-profile/"): Rule(Kind.SELF, athlete_only=True),
    ("POST", f"{V1}/me/password/"): SELF,
    ("GET", f"{V1}/me/export/"): SELF,
    ("POST", f"{V1}/me/erase/"): SELF,
    ("POST", f"{V1}/invitations/accept/"): SELF,
    ("GET", f"{V1}/sync/"): athlete(
        "training_session", TS, R, LIST
    ),  # a snapshot: listed iff visible
    ("POST", f"{V1}/sync/"): SELF,
    # the catalogue: anyone signed in
    ("GET", f"{V1}/muscle-groups/"): AUTHENTICATED,
    ("GET", f"{V1}/muscle-groups/{{code}}/"): AUTHENTICATED,
    ("GET", f"{V1}/sports/"): AUTHENTICATED,
    ("GET", f"{V1}/sports/{{code}}/"): AUTHENTICATED,
    # therapists of some team (POLICY: who writes massage sessions)
    ("GET", f"{V1}/therapist-queue/"): Rule(Kind.ROLE, allowed=(MS, W)),
    # athletes' records
    ("GET", f"{V1}/training-sessions/"): athlete("training_session", TS, R, LIST),
    ("POST", f"{V1}/training-sessions/"): athlete("athlete", TS, W, CREATE),
    ("GET", f"{V1}/training-sessions/{{id}}/"): athlete("training_session", TS, R),
    ("PUT", f"{V1}/training-sessions/{{id}}/"): athlete("training_session", TS, W),
    ("PATCH", f"{V1}/training-sessions/{{id}}/"): athlete("training_session", TS, W),
    ("DELETE", f"{V1}/training-sessions/{{id}}/"): athlete("training_session", TS, W),
    ("GET", f"{V1}/soreness-reports/"): athlete("soreness_report", SR, R, LIST),
    ("POST", f"{V1}/soreness-reports/"): athlete("athlete", SR, W, CREATE),
    ("GET", f"{V1}/soreness-reports/{{id}}/"): athlete("soreness_report", SR, R),
    ("DELETE", f"{V1}/soreness-reports/{{id}}/"): athlete("soreness_report", SR, W),
    ("GET", f"{V1}/soreness-flags/"): athlete("flag", SF, R, LIST),
    ("POST", f"{V1}/soreness-flags/{{id}}/resolve/"): athlete("flag", SF, W),
    ("GET", f"{V1}/injuries/"): athlete("injury", INJ, R, LIST),
    ("POST", f"{V1}/injuries/"): athlete("athlete", INJ, W, CREATE),
    ("GET", f"{V1}/injuries/{{id}}/"): athlete("injury", INJ, R),
    ("PUT", f"{V1}/injuries/{{id}}/"): athlete("injury", INJ, W),
    ("PATCH", f"{V1}/injuries/{{id}}/"): athlete("injury", INJ, W),
    ("DELETE", f"{V1}/injuries/{{id}}/"): athlete("injury", INJ, W),
    ("GET", f"{V1}/massage-sessions/"): athlete("massage_planned", MS, R, LIST),
    ("POST", f"{V1}/massage-sessions/"): athlete("athlete", MS, W, CREATE),
    ("GET", f"{V1}/massage-sessions/{{id}}/"): athlete("massage_planned", MS, R),
    ("PATCH", f"{V1}/massage-sessions/{{id}}/"): athlete("massage_planned", MS, W),
    ("DELETE", f"{V1}/massage-sessions/{{id}}/"): athlete("massage_planned", MS, W),
    ("POST", f"{V1}/massage-sessions/{{id}}/complete/"): athlete("massage_planned", MS, W),
    ("POST", f"{V1}/massage-sessions/{{id}}/cancel/"): athlete("massage_planned", MS, W),
    ("POST", f"{V1}/massage-sessions/{{id}}/amendments/"): athlete("massage_completed", MS, W),
    ("GET", f"{V1}/massage-sessions/{{id}}/comparison/"): athlete("massage_completed", MS, R),
    # athletes themselves
    ("GET", f"{V1}/athletes/"): athlete("athlete", AP, R, LIST),
    ("GET", f"{V1}/athletes/{{id}}/"): athlete("athlete", AP, R),
    ("GET", f"{V1}/athletes/{{athlete_id}}/metrics/"): athlete("athlete", Resource.LOAD_METRICS, R),
    ("GET", f"{V1}/athletes/{{athlete_id}}/recommendation/"): athlete(
        "athlete", Resource.RECOMMENDATION, R
    ),
    # planning from the recommendation: seen as a recommendation, written as a massage session
    ("POST", f"{V1}/athletes/{{athlete_id}}/recommendation/plan/"): Rule(
        Kind.ATHLETE, "athlete", (Resource.RECOMMENDATION, R), (MS, W)
    ),
    # erasure by a team admin: seen as a profile, done with the right to manage the team's members
    ("POST", f"{V1}/athletes/{{id}}/erase/"): Rule(
        Kind.ATHLETE, "athlete", (AP, R), (Resource.TEAM_MEMBERS, W)
    ),
    # teams
    ("GET", f"{V1}/teams/"): team("team", (Resource.TEAM, R), (Resource.TEAM, R), LIST),
    ("GET", f"{V1}/teams/{{id}}/"): team("team", (Resource.TEAM, R), (Resource.TEAM, R)),
    ("GET", f"{V1}/teams/{{team_id}}/dashboard/"): team(
        "team", (Resource.TEAM_DASHBOARD, R), (Resource.TEAM_DASHBOARD, R)
    ),
    ("GET", f"{V1}/teams/{{team_id}}/soreness-heatmap/"): team(
        "team", (Resource.TEAM_DASHBOARD, R), (Resource.TEAM_DASHBOARD, R)
    ),
    ("GET", f"{V1}/memberships/"): team(
        "membership", (Resource.TEAM_MEMBERS, R), (Resource.TEAM_MEMBERS, R), LIST
    ),
    ("GET", f"{V1}/memberships/{{id}}/"): team(
        "membership", (Resource.TEAM_MEMBERS, R), (Resource.TEAM_MEMBERS, R)
    ),
    ("PATCH", f"{V1}/memberships/{{id}}/"): team(
        "membership", (Resource.TEAM_MEMBERS, R), (Resource.TEAM_MEMBERS, W)
    ),
    ("GET", f"{V1}/invitations/"): team(
        "invitation", (Resource.INVITATION, R), (Resource.INVITATION, R), LIST
    ),
    # creating one: any member sees the team (TEAM); only its admins invite
    ("POST", f"{V1}/invitations/"): team(
        "team", (Resource.TEAM, R), (Resource.INVITATION, W), CREATE
    ),
    ("GET", f"{V1}/invitations/{{id}}/"): team(
        "invitation", (Resource.INVITATION, R), (Resource.INVITATION, R)
    ),
    ("DELETE", f"{V1}/invitations/{{id}}/"): team(
        "invitation", (Resource.INVITATION, R), (Resource.INVITATION, W)
    ),
    # `?team=`: a team the caller is not in is a 404; in it without the right, a 403
    ("GET", f"{V1}/audit-entries/"): team(
        "team", (Resource.TEAM, R), (Resource.AUDIT_LOG, R), Shape.OBJECT
    ),
}

ANONYMOUS = "anonymous"
ROLES = ("athlete", "therapist", "coach", "admin", ANONYMOUS)


def relations_for(rule: Rule, role: str) -> tuple[Relation4, ...]:
    """The relations a case of this rule exists for. An actor of A1 owns athlete data only as an
    athlete; a team is never "own" (it is the same team)."""
    if rule.kind in (Kind.PUBLIC, Kind.AUTHENTICATED, Kind.SELF, Kind.ROLE):
        return (Relation4.NONE,)
    others = (Relation4.SAME_TEAM, Relation4.OTHER_TEAM, Relation4.OTHER_ORG)
    owns = role == "athlete" and rule.kind is Kind.ATHLETE
    owns = owns or (rule.target == "membership" and role != ANONYMOUS)
    return (Relation4.OWN, *others) if owns else others


class Outcome(StrEnum):
    OK = "2xx"
    LISTED = "200, listed"
    NOT_LISTED = "200, not listed"
    UNAUTHORIZED = "401"
    FORBIDDEN = "403"
    NOT_FOUND = "404"
    REJECTED_ID = "400 naming the id (nothing written)"


def caller_relations(rule: Rule, role: str, relation: Relation4) -> frozenset[Relation]:
    """The POLICY relations an actor holding `role` in A1 has to the case's target."""
    if relation in (Relation4.OTHER_TEAM, Relation4.OTHER_ORG, Relation4.NONE):
        return frozenset()
    if relation is Relation4.OWN and rule.kind is Kind.ATHLETE:
        return frozenset({Relation.SELF})
    return frozenset({Relation(role)})  # the role held in the target's team


def may(
    grant: tuple[Resource, Action], relations: frozenset[Relation], *, consent: bool = False
) -> bool:
    resource, action = grant
    return any(
        relation in POLICY[resource][action]
        and ((resource, action, relation) not in CONSENT_GATED or consent)
        for relation in relations
    )


def expect(rule: Rule, role: str, relation: Relation4) -> Outcome:
    """The outcome POLICY asks for: 401 anonymous, 404 not visible (400 for an id in a body, a
    200 without the row for a list), 403 visible but not allowed, else 2xx."""
    if rule.kind is Kind.PUBLIC:
        return Outcome.OK
    if role == ANONYMOUS:
        return Outcome.UNAUTHORIZED
    if rule.kind is Kind.AUTHENTICATED:
        return Outcome.OK
    if rule.kind is Kind.SELF:
        return Outcome.NOT_FOUND if rule.athlete_only and role != "athlete" else Outcome.OK
    if rule.kind is Kind.ROLE:
        assert rule.allowed
        return (
            Outcome.OK
            if Relation(role) in POLICY[rule.allowed[0]][rule.allowed[1]]
            else Outcome.FORBIDDEN
        )
    assert rule.visible
    assert rule.allowed
    relations = caller_relations(rule, role, relation)
    visible = may(rule.visible, relations)
    if rule.shape is Shape.LIST:
        return Outcome.LISTED if visible else Outcome.NOT_LISTED
    if not visible:
        if rule.shape is Shape.CREATE:
            # An athlete named in a body is a 400 on `athlete`; a team, a 404 (reported as an
            # inconsistency in docs/security.md, both say nothing about the id).
            return Outcome.REJECTED_ID if rule.target == "athlete" else Outcome.NOT_FOUND
        return Outcome.NOT_FOUND
    return Outcome.OK if may(rule.allowed, relations) else Outcome.FORBIDDEN


def clinical_notes_readable(role: str, relation: Relation4, *, consent: bool) -> bool:
    """Field-level: may this caller read a session's clinical notes (POLICY + CONSENT_GATED)?"""
    rule = athlete("massage_planned", Resource.CLINICAL_NOTES, R)
    relations = caller_relations(rule, role, relation)
    return may((Resource.CLINICAL_NOTES, R), relations, consent=consent)


# --- the schema's operations --------------------------------------------------------------------

HTTP_METHODS = ("get", "put", "patch", "post", "delete")


@cache
def generated_schema() -> dict[str, Any]:
    """The OpenAPI document drf-spectacular generates from the URL configuration."""
    from drf_spectacular.generators import SchemaGenerator

    schema: dict[str, Any] = SchemaGenerator().get_schema(request=None, public=True)
    return schema


def schema_operations() -> dict[tuple[str, str], dict[str, Any]]:
    """(METHOD, path template) -> the operation object, for every operation in the schema."""
    return {
        (method.upper(), path): operation
        for path, item in generated_schema()["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def success_statuses(operation: dict[str, Any]) -> set[int]:
    return {int(code) for code in operation["responses"] if code.startswith("2")}


# --- which fields each role sees (OWASP API3, excessive data exposure) -------------------------

ALLOWED_FIELDS: dict[str, frozenset[str]] = {
    "training_session": frozenset(
        [
            "id",
            "athlete",
            "date",
            "started_at",
            "session_type",
            "duration_min",
            "rpe",
            "load_au",
            "distance_km",
            "avg_heart_rate",
            "notes",
            "version",
            "created_at",
            "updated_at",
            "created_by",
        ]
    ),
    "soreness_report": frozenset(
        [
            "id",
            "athlete",
            "reported_at",
            "date",
            "sleep_quality",
            "fatigue",
            "stress",
            "mood",
            "general_soreness",
            "notes",
            "entries",
            "version",
            "created_at",
            "updated_at",
        ]
    ),
    "soreness_entry": frozenset(
        [
            "id",
            "muscle_group",
            "side",
            "severity",
            "kind",
            "is_injury",
            "note",
            "flagged",
            "flag_resolved_at",
            "flag_resolved_by",
        ]
    ),
    "soreness_flag": frozenset(
        [
            "id",
            "report",
            "athlete",
            "athlete_name",
            "date",
            "reported_at",
            "muscle_group",
            "side",
            "severity",
            "kind",
            "is_injury",
            "note",
            "flag_resolved_at",
            "flag_resolved_by",
        ]
    ),
    "injury": frozenset(
        [
            "id",
            "athlete",
            "muscle_group",
            "side",
            "onset_date",
            "status",
            "resolved_date",
            "notes",
            "version",
            "created_at",
            "updated_at",
            "created_by",
        ]
    ),
    # without clinical_notes: added where clinical_notes_readable says so
    "massage_session": frozenset(
        [
            "id",
            "athlete",
            "therapist",
            "status",
            "session_type",
            "scheduled_at",
            "started_at",
            "duration_min",
            "complaint",
            "pain_before",
            "posture_notes",
            "gait_notes",
            "range_of_motion_notes",
            "palpation_notes",
            "treated_areas",
            "pain_after",
            "athlete_feedback",
            "aftercare",
            "recommendation_snapshot",
            "completed_at",
            "signed_by",
            "cancelled_reason",
            "amendments",
            "version",
            "created_at",
            "updated_at",
        ]
    ),
    "treated_area": frozenset(
        [
            "muscle_group",
            "side",
            "technique",
            "pressure",
            "pressure_rating",
            "minutes",
            "pain_during",
            "trigger_points_found",
            "notes",
        ]
    ),
    "aftercare": frozenset(
        ["stretches", "hydration", "self_care", "next_focus", "next_session_in_days"]
    ),
    "athlete": frozenset(["id", "full_name", "email", "profile", "teams"]),
    "athlete_profile": frozenset(
        [
            "primary_sport",
            "position",
            "dominant_side",
            "share_clinical_notes_with_coaches",
            "updated_at",
        ]
    ),
    "membership": frozenset(
        ["id", "user", "team", "team_name", "role", "is_active", "created_at", "updated_at"]
    ),
    "user_summary": frozenset(["id", "email", "full_name"]),
    "team": frozenset(["id", "name", "organisation", "sport", "time_zone"]),
    "invitation": frozenset(
        ["id", "team", "role", "email", "status", "expires_at", "created_at", "used_at"]
    ),
    "audit_entry": frozenset(
        [
            "id",
            "at",
            "actor",
            "actor_email",
            "action",
            "athlete",
            "object_type",
            "object_ids",
            "detail",
            "ip_address",
            "user_agent",
            "path",
        ]
    ),
    "me": frozenset(["id", "email", "full_name", "memberships", "athlete_profile"]),
}
CLINICAL_NOTES = "clinical_notes"
NEVER_SERIALIZED = frozenset(
    [
        "password",
        "token_hash",
        "token_generation",
        "is_staff",
        "is_superuser",
        "erased_at",
    ]
)
