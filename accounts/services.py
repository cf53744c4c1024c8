"""Every write to accounts: registration, invitations, memberships, profile, password.

Each function is atomic, checks that the actor may do it (through accounts.access), validates, and
raises DRF errors that the API turns into problem+json.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from rest_framework import exceptions

from accounts.access import Access, Action, Resource, forget_role_facts
from accounts.auth import revoke_refresh_tokens
from accounts.models import AthleteProfile, Invitation, Membership, Role, User
from accounts.selectors import athlete_profile_of

INVITATION_LIFETIME = timedelta(days=7)


class InvitationInvalid(exceptions.APIException):
    status_code = 400
    default_detail = "This invitation cannot be used."
    default_code = "invitation_invalid"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _require_team_right(access: Access, resource: Resource, team_id: Any) -> None:
    if access.role_in_team(team_id) is None:
        raise exceptions.NotFound()
    if not access.can_in_team(resource, Action.WRITE, team_id=team_id):
        raise exceptions.PermissionDenied("Only the team's admins may do this.")


@transaction.atomic
def invitation_create(
    *, access: Access, team_id: Any, role: str, email: str = "", lifetime: timedelta | None = None
) -> tuple[Invitation, str]:
    """Create an invitation; returns it with the one-time token (only its hash is stored)."""
    _require_team_right(access, Resource.INVITATION, team_id)
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        team_id=team_id,
        role=role,
        email=email.strip().lower(),
        token_hash=hash_token(token),
        expires_at=timezone.now() + (lifetime or INVITATION_LIFETIME),
        created_by=access.user,
    )
    return invitation, token


def invitation_revoke(*, access: Access, invitation: Invitation) -> None:
    _require_team_right(access, Resource.INVITATION, invitation.team_id)
    if invitation.used_at is None and invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])


def _claim_invitation(token: str, *, email: str) -> Invitation:
    """Lock and check the invitation the token names; every failure says the same about the token."""
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("team")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if invitation is None:
        raise InvitationInvalid("The invitation token is not valid.", code="invitation_invalid")
    if invitation.used_at is not None:
        raise InvitationInvalid("This invitation has already been used.", code="invitation_used")
    if invitation.revoked_at is not None:
        raise InvitationInvalid("This invitation was revoked.", code="invitation_revoked")
    if invitation.expires_at <= timezone.now():
        raise InvitationInvalid("This invitation has expired.", code="invitation_expired")
    if invitation.email and invitation.email != email.lower():
        raise InvitationInvalid(
            "This invitation was issued for another email address.",
            code="invitation_email_mismatch",
        )
    return invitation


def _join(invitation: Invitation, user: User) -> Membership:
    membership, created = Membership.objects.get_or_create(
        user=user, team=invitation.team, defaults={"role": invitation.role}
    )
    if not created:
        if membership.is_active:
            raise exceptions.ValidationError(
                {"token": ["You are already a member of this team."]}, code="already_member"
            )
        membership.role = invitation.role
        membership.is_active = True
        membership.save(update_fields=["role", "is_active", "updated_at"])
    if invitation.role == Role.ATHLETE:
        AthleteProfile.objects.get_or_create(
            user=user, defaults={"primary_sport_id": invitation.team.sport_id}
        )
    invitation.used_at = timezone.now()
    invitation.used_by = user
    invitation.save(update_fields=["used_at", "used_by"])
    forget_role_facts(user)
    return membership


@transaction.atomic
def user_register(*, token: str, email: str, password: str, full_name: str) -> Membership:
    """A new person registers with an invitation token and becomes a member with its role."""
    email = email.strip().lower()
    invitation = _claim_invitation(token, email=email)
    if User.objects.filter(email=email).exists():
        raise exceptions.ValidationError(
            {"email": ["An account with this email exists; sign in and accept the invitation."]},
            code="email_taken",
        )
    candidate = User(email=email, full_name=full_name)
    try:
        password_validation.validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        raise exceptions.ValidationError({"password": list(exc.messages)}) from exc
    try:
        user = User.objects.create_user(email=email, password=password, full_name=full_name)
    except IntegrityError as exc:  # a concurrent registration took the address
        raise exceptions.ValidationError({"email": ["This email is taken."]}) from exc
    return _join(invitation, user)


@transaction.atomic
def invitation_accept(*, user: User, token: str) -> Membership:
    """A signed-in user joins a team with an invitation token."""
    return _join(_claim_invitation(token, email=user.email), user)


@transaction.atomic
def membership_update(
    *,
    access: Access,
    membership: Membership,
    role: str | None = None,
    is_active: bool | None = None,
) -> Membership:
    _require_team_right(access, Resource.TEAM_MEMBERS, membership.team_id)
    if membership.user_id == access.user.pk and (
        (role is not None and role != Role.ADMIN) or is_active is False
    ):
        raise exceptions.PermissionDenied(
            "Admins cannot demote or deactivate themselves; ask another admin.",
            code="self_demotion",
        )
    fields = ["updated_at"]
    if role is not None:
        membership.role = role
        fields.append("role")
        if role == Role.ATHLETE:
            AthleteProfile.objects.get_or_create(user_id=membership.user_id)
    if is_active is not None:
        membership.is_active = is_active
        fields.append("is_active")
    membership.save(update_fields=fields)
    return membership


def user_update(*, user: User, full_name: str) -> User:
    user.full_name = full_name
    user.save(update_fields=["full_name"])
    return user


def athlete_profile_update(*, user: User, **changes: Any) -> AthleteProfile:
    """The athlete edits their own profile and consent (nobody else writes it)."""
    profile = athlete_profile_of(user=user)
    for name, value in changes.items():
        setattr(profile, name, value)
    profile.save()
    return profile


@transaction.atomic
def password_change(*, user: User, current_password: str, new_password: str) -> None:
    """Change the password and revoke every token issued before (all devices sign in again)."""
    if not user.check_password(current_password):
        raise exceptions.ValidationError(
            {"current_password": ["The current password is wrong."]}, code="wrong_password"
        )
    try:
        password_validation.validate_password(new_password, user=user)
    except DjangoValidationError as exc:
        raise exceptions.ValidationError({"new_password": list(exc.messages)}) from exc
    user.set_password(new_password)
    user.save(update_fields=["password"])
    User.objects.filter(pk=user.pk).update(token_generation=F("token_generation") + 1)
    revoke_refresh_tokens(user)
