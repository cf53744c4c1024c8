"""The one access mechanism every resource uses (DESIGN.md section 1).

Two questions, answered in one place:
- *Visibility* (404 when no): which athletes' records may this user see? Selectors scope querysets
  with `athlete_filter`, so an object outside a user's teams looks exactly like one that does not exist.
- *Action* (403 when no): may this user, who can see the row, do this to it? `Access.can` reads
  the POLICY table, which is the single statement of DESIGN.md's matrix.

A user's relation to an athlete is how they are connected: the athlete themself (`self`), or the
role they hold in an active membership of a team where that athlete is an active member. One person
may be connected through several teams with several roles; the union of their rights applies.
Deactivating a membership removes its rights on the next request: nothing is cached across requests.

Two facts about the user decide much of that and are asked on most requests, so the JWT user
query reads them with the user (`with_role_facts`): whether they have an athlete profile (only an
athlete's own records are theirs to write), and whether they staff any team (if not, they see
only their own records: `athlete_filter` is then `athlete = me`, which the athlete's indexes
serve, where the staff subquery's `OR` sent the planner through a global index).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import STAFF_ROLES, AthleteProfile, Membership, Role, User


class Relation(StrEnum):
    SELF = "self"
    ATHLETE = "athlete"  # a fellow athlete of the team (team-level resources only)
    THERAPIST = "therapist"
    COACH = "coach"
    ADMIN = "admin"


class Action(StrEnum):
    READ = "read"
    WRITE = "write"


class Resource(StrEnum):
    ATHLETE_PROFILE = "athlete_profile"
    TRAINING_SESSION = "training_session"
    LOAD_METRICS = "load_metrics"
    SORENESS_REPORT = "soreness_report"
    SORENESS_FLAG = "soreness_flag"
    MASSAGE_SESSION = "massage_session"
    CLINICAL_NOTES = "clinical_notes"
    INJURY = "injury"
    RECOMMENDATION = "recommendation"
    TEAM = "team"
    TEAM_MEMBERS = "team_members"
    TEAM_DASHBOARD = "team_dashboard"
    INVITATION = "invitation"
    AUDIT_LOG = "audit_log"


S, A, T, C, AD = (
    Relation.SELF,
    Relation.ATHLETE,
    Relation.THERAPIST,
    Relation.COACH,
    Relation.ADMIN,
)
READ, WRITE = Action.READ, Action.WRITE

# DESIGN.md section 1, one row per resource. Athlete-owned resources are judged by the relation to the
# athlete; team resources by the role held in that team.
POLICY: Mapping[Resource, Mapping[Action, frozenset[Relation]]] = {
    Resource.ATHLETE_PROFILE: {READ: frozenset({S, T, C, AD}), WRITE: frozenset({S})},
    Resource.TRAINING_SESSION: {READ: frozenset({S, T, C, AD}), WRITE: frozenset({S, T})},
    Resource.LOAD_METRICS: {READ: frozenset({S, T, C, AD}), WRITE: frozenset()},
    Resource.SORENESS_REPORT: {READ: frozenset({S, T, C, AD}), WRITE: frozenset({S})},
    # A flag raised by a report; resolving it is a clinical judgement: therapists only.
    Resource.SORENESS_FLAG: {READ: frozenset({S, T, C, AD}), WRITE: frozenset({T})},
    Resource.MASSAGE_SESSION: {READ: frozenset({S, T, C, AD}), WRITE: frozenset({T})},
    # Coaches read clinical notes only with the athlete's consent (CONSENT_GATED); admins never.
    Resource.CLINICAL_NOTES: {READ: frozenset({S, T, C}), WRITE: frozenset({T})},
    Resource.INJURY: {READ: frozenset({S, T, C, AD}), WRITE: frozenset({T})},
    Resource.RECOMMENDATION: {READ: frozenset({S, T, C, AD}), WRITE: frozenset()},
    Resource.TEAM: {READ: frozenset({A, T, C, AD}), WRITE: frozenset({AD})},
    Resource.TEAM_MEMBERS: {READ: frozenset({T, C, AD}), WRITE: frozenset({AD})},
    Resource.TEAM_DASHBOARD: {READ: frozenset({T, C, AD}), WRITE: frozenset()},
    Resource.INVITATION: {READ: frozenset({AD}), WRITE: frozenset({AD})},
    # Entries about the team's athletes; nobody writes them through the API.
    Resource.AUDIT_LOG: {READ: frozenset({AD}), WRITE: frozenset()},
}
CONSENT_GATED: frozenset[tuple[Resource, Action, Relation]] = frozenset(
    {(Resource.CLINICAL_NOTES, READ, C)}
)


def allowed(resource: Resource, action: Action) -> frozenset[Relation]:
    return POLICY[resource][action]


def _staff_roles(relations: frozenset[Relation]) -> list[str]:
    return [role.value for role in STAFF_ROLES if Relation(role.value) in relations]


IS_ATHLETE = "role_is_athlete"
STAFFS_A_TEAM = "role_staffs_a_team"


def with_role_facts(users: QuerySet[User, User]) -> QuerySet[User, User]:
    """`users` read with `IS_ATHLETE` and `STAFFS_A_TEAM` (two index probes in the same query)."""
    return users.annotate(
        **{
            IS_ATHLETE: Exists(AthleteProfile.objects.filter(user=OuterRef("pk"))),
            STAFFS_A_TEAM: Exists(
                Membership.objects.filter(
                    user=OuterRef("pk"),
                    is_active=True,
                    role__in=[role.value for role in STAFF_ROLES],
                )
            ),
        }
    )


def role_fact(user: User, fact: str) -> bool | None:
    """`IS_ATHLETE` or `STAFFS_A_TEAM` as read with the user; None when it was not."""
    known = getattr(user, fact, None)
    return None if known is None else bool(known)


def forget_role_facts(user: User) -> None:
    """For a request that changed the user's own memberships or profile: ask again from now on."""
    for fact in (IS_ATHLETE, STAFFS_A_TEAM):
        user.__dict__.pop(fact, None)


def athlete_ids_visible_to(
    user: User, *, resource: Resource, action: Action = READ
) -> QuerySet[Membership, Any]:
    """Subquery of athlete user ids the user reaches through a staff role that POLICY allows."""
    roles = _staff_roles(allowed(resource, action))
    staff_teams = Membership.objects.filter(user=user, is_active=True, role__in=roles).values(
        "team_id"
    )
    return Membership.objects.filter(
        role=Role.ATHLETE, is_active=True, team_id__in=staff_teams
    ).values("user_id")


def athlete_filter(
    user: User, *, resource: Resource, action: Action = READ, path: str = "athlete"
) -> Q:
    """The Q a selector applies to a queryset whose `path` is the athlete: what `user` may see."""
    relations = allowed(resource, action)
    own = Q(**{path: user.pk})
    if Relation.SELF in relations and role_fact(user, STAFFS_A_TEAM) is False:
        return own  # the staff subquery would be empty
    q = Q(**{f"{path}__in": athlete_ids_visible_to(user, resource=resource, action=action)})
    if Relation.SELF in relations:
        q |= own
    return q


def team_ids_of(
    user: User, *, roles: frozenset[Relation] | None = None
) -> QuerySet[Membership, Any]:
    """Subquery of the ids of teams where the user has an active membership (with one of `roles`)."""
    memberships = Membership.objects.filter(user=user, is_active=True)
    if roles is not None:
        memberships = memberships.filter(role__in=[r.value for r in roles if r != Relation.SELF])
    return memberships.values("team_id")


@dataclass
class Access:
    """What one user may do, loaded at most once per request (two small queries, lazily)."""

    user: User
    _athletes: dict[uuid.UUID, frozenset[Relation]] | None = field(default=None, repr=False)
    _teams: dict[uuid.UUID, Relation] | None = field(default=None, repr=False)

    def relations_to_athlete(self, athlete_id: uuid.UUID) -> frozenset[Relation]:
        if self._athletes is None:
            pairs = Membership.objects.filter(
                role=Role.ATHLETE,
                is_active=True,
                team__memberships__user=self.user,
                team__memberships__is_active=True,
                team__memberships__role__in=[role.value for role in STAFF_ROLES],
            ).values_list("user_id", "team__memberships__role")
            athletes: dict[uuid.UUID, set[Relation]] = {}
            for athlete_id_, role in pairs:
                athletes.setdefault(athlete_id_, set()).add(Relation(role))
            self._athletes = {key: frozenset(value) for key, value in athletes.items()}
        relations = self._athletes.get(athlete_id, frozenset())
        if athlete_id == self.user.pk:
            relations |= {Relation.SELF}
        return relations

    def role_in_team(self, team_id: uuid.UUID) -> Relation | None:
        if self._teams is None:
            self._teams = {
                team: Relation(role)
                for team, role in Membership.objects.filter(
                    user=self.user, is_active=True
                ).values_list("team_id", "role")
            }
        return self._teams.get(team_id)

    def can(
        self,
        resource: Resource,
        action: Action,
        *,
        athlete_id: uuid.UUID,
        athlete_consents: bool = False,
    ) -> bool:
        """May the user do `action` on `resource` of this athlete? (after visibility was checked)"""
        rights = allowed(resource, action)
        for relation in self.relations_to_athlete(athlete_id) & rights:
            if (resource, action, relation) not in CONSENT_GATED or athlete_consents:
                return True
        return False

    def can_in_team(self, resource: Resource, action: Action, *, team_id: uuid.UUID) -> bool:
        role = self.role_in_team(team_id)
        return role is not None and role in allowed(resource, action)


def access_for(request: Any) -> Access:
    """The request's Access, built once and kept on the request."""
    access = getattr(request, "_recovery_access", None)
    if access is None or access.user != request.user:
        access = Access(user=request.user)
        request._recovery_access = access
    return access
