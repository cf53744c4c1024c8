"""Every read of accounts data the API exposes, already scoped to the caller."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from rest_framework.exceptions import NotFound

from accounts.access import Action, Relation, Resource, allowed, athlete_filter, team_ids_of
from accounts.models import AthleteProfile, Invitation, Membership, Role, Team, User


def team_list_visible_to(*, user: User) -> QuerySet[Team, Any]:
    return (
        Team.objects.filter(id__in=team_ids_of(user))
        .select_related("organisation", "sport")
        .order_by("name", "id")
    )


def membership_list_visible_to(*, user: User) -> QuerySet[Membership, Any]:
    """Members of the teams where the user is staff (athletes do not list their teammates)."""
    staff_teams = team_ids_of(user, roles=allowed(Resource.TEAM_MEMBERS, Action.READ))
    return (
        Membership.objects.filter(team_id__in=staff_teams)
        .select_related("user", "team")
        .order_by("-created_at", "-id")
    )


def invitation_list_visible_to(*, user: User) -> QuerySet[Invitation, Any]:
    admin_teams = team_ids_of(user, roles=frozenset({Relation.ADMIN}))
    return (
        Invitation.objects.filter(team_id__in=admin_teams)
        .select_related("team", "created_by")
        .order_by("-created_at", "-id")
    )


def athlete_list_visible_to(*, user: User) -> QuerySet[User, Any]:
    """Athletes whose profile the user may read: themself, and athletes of teams they staff."""
    return (
        User.objects.filter(athlete_filter(user, resource=Resource.ATHLETE_PROFILE, path="id"))
        .filter(athlete_profile__isnull=False)
        .select_related("athlete_profile__primary_sport")
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.filter(is_active=True, role=Role.ATHLETE),
                to_attr="athlete_memberships",
            )
        )
        .order_by("-date_joined", "-id")
    )


def me_detail(*, user: User) -> User:
    return (
        User.objects.select_related("athlete_profile__primary_sport")
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.select_related(
                    "team", "team__organisation", "team__sport"
                ).order_by("team__name"),
            )
        )
        .get(pk=user.pk)
    )


def athlete_profile_of(*, user: User) -> AthleteProfile:
    profile = AthleteProfile.objects.filter(user=user).select_related("primary_sport").first()
    if profile is None:
        raise NotFound("You have no athlete profile: you are not an athlete in any team.")
    return profile
