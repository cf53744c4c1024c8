"""Personal data rights (GDPR): export everything held about a user (Art. 15 access, Art. 20
portability) and erase it (Art. 17).

Erasure deletes the athlete's health records and anonymises the account instead of deleting it:
the row stays, so ids elsewhere (a session a therapist gave, the audit log) still resolve, but it
says nothing about the person. What is erased, in one transaction:
- every row keyed to the user as `athlete` (athlete_record_models: training sessions, soreness
  reports with entries, massage sessions with treated areas and amendments, injuries, derived
  daily loads), the athlete profile, and stored idempotent responses (they may hold health data);
- the account: email `erased-<id>@invalid`, name blank, unusable password, inactive, no staff
  rights; memberships deactivated; every access and refresh token revoked;
- the email wherever else it was kept: pending invitations to it (revoked), login-attempt records
  (django-axes), the actor email of audit entries the user made.
The audit log keeps its entries (ids, actions, times; never health content) and gains one for the
erasure. Erasing an erased account changes nothing and records nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import ForeignKey, Model
from django.utils import timezone
from rest_framework import exceptions

from accounts.access import Access, Relation, team_ids_of
from accounts.audit import AuditOrigin, audit_record
from accounts.auth import revoke_refresh_tokens
from accounts.models import (
    AthleteProfile,
    AuditAction,
    AuditEntry,
    Invitation,
    Membership,
    User,
    erased_email,
)
from backend.api.errors import Conflict
from recovery.models import (
    IdempotencyRecord,
    Injury,
    MassageSession,
    SorenessReport,
    TrainingSession,
)

EXPORT_FORMAT = "recovery-api/personal-data-export"
EXPORT_FORMAT_VERSION = 1


def athlete_record_models() -> list[type[Model]]:
    """Every model keyed to an athlete: its records (training sessions, soreness reports, massage
    sessions, injuries) and what is derived from them (daily loads). Found at run time by the
    foreign key named `athlete` to the user model, so a model added later is erased too."""
    user_model = get_user_model()
    return [
        model
        for model in apps.get_models()
        if any(
            isinstance(field, ForeignKey)
            and field.name == "athlete"
            and field.related_model is user_model
            for field in model._meta.get_fields()
        )
    ]


@dataclass(frozen=True)
class PersonalData:
    """What PersonalDataExportSerializer renders."""

    user: User
    athlete_profile: AthleteProfile | None
    memberships: list[Membership]
    training_sessions: list[TrainingSession]
    soreness_reports: list[SorenessReport]
    massage_sessions: list[MassageSession]
    injuries: list[Injury]
    access_log: list[AuditEntry]
    exported_at: datetime = field(default_factory=timezone.now)
    format: str = EXPORT_FORMAT
    format_version: int = EXPORT_FORMAT_VERSION

    def counts(self) -> dict[str, int]:
        return {
            "training_sessions": len(self.training_sessions),
            "soreness_reports": len(self.soreness_reports),
            "massage_sessions": len(self.massage_sessions),
            "injuries": len(self.injuries),
        }


def personal_data_of(*, user: User) -> PersonalData:
    """Everything held about the user, in a fixed number of queries (nine)."""
    return PersonalData(
        user=user,
        athlete_profile=AthleteProfile.objects.filter(user=user)
        .select_related("primary_sport")
        .first(),
        memberships=list(
            Membership.objects.filter(user=user)
            .select_related("team__organisation")
            .order_by("created_at", "id")
        ),
        training_sessions=list(
            TrainingSession.objects.filter(athlete=user).order_by("date", "created_at", "id")
        ),
        soreness_reports=list(
            SorenessReport.objects.filter(athlete=user)
            .prefetch_related("entries")
            .order_by("reported_at", "id")
        ),
        massage_sessions=list(
            MassageSession.objects.filter(athlete=user)
            .prefetch_related("treated_areas", "amendments")
            .order_by("scheduled_at", "id")
        ),
        injuries=list(Injury.objects.filter(athlete=user).order_by("onset_date", "id")),
        access_log=list(AuditEntry.objects.filter(athlete_id=user.pk).order_by("at", "id")),
    )


def record_export(*, user: User, data: PersonalData, origin: AuditOrigin) -> AuditEntry:
    return audit_record(
        actor=user,
        action=AuditAction.EXPORT,
        athlete_id=user.pk,
        origin=origin,
        object_type="user",
        object_ids=[user.pk],
        detail={"records": data.counts()},
    )


@transaction.atomic
def user_erase(*, actor: User, user: User, origin: AuditOrigin) -> bool:
    """Erase the user's personal and health data (see the module docstring). Returns False, and
    changes nothing, if the account was already erased."""
    target = User.objects.select_for_update().get(pk=user.pk)
    if target.erased_at is not None:
        return False
    now = timezone.now()
    old_email, new_email = target.email, erased_email(target.pk)
    deleted: Counter[str] = Counter()
    # Two passes: the second removes what signal receivers derived from rows the first deleted
    # (the daily-load table follows training-session deletes). QuerySet deletes send the
    # signals the sync change log listens to, so phones holding these records get tombstones.
    for _ in range(2):
        for model in athlete_record_models():
            _, per_model = model._default_manager.filter(athlete_id=target.pk).delete()
            deleted.update(per_model)
    for model, lookup in ((IdempotencyRecord, "user_id"), (AthleteProfile, "user_id")):
        _, per_model = model._default_manager.filter(**{lookup: target.pk}).delete()
        deleted.update(per_model)
    for membership in Membership.objects.filter(user=target, is_active=True):
        membership.is_active = False  # saved one by one: the sync log hears each (scope change)
        membership.save(update_fields=["is_active", "updated_at"])
    invitations = Invitation.objects.filter(email__iexact=old_email)
    invitations.filter(used_at__isnull=True, revoked_at__isnull=True).update(revoked_at=now)
    invitations.update(email=new_email)
    for attempts in (AccessAttempt, AccessLog, AccessFailureLog):
        attempts.objects.filter(username__iexact=old_email).delete()

    target.email = new_email
    target.full_name = ""
    target.set_unusable_password()
    target.is_active = target.is_staff = target.is_superuser = False
    target.last_login = None
    target.erased_at = now
    target.token_generation += 1  # every access token issued before stops working
    target.save()
    target.groups.clear()
    target.user_permissions.clear()
    revoke_refresh_tokens(target)

    AuditEntry.objects.pseudonymise_actor(actor_id=target.pk, email=new_email)
    audit_record(
        actor=actor,
        actor_email=new_email if actor.pk == target.pk else None,
        action=AuditAction.ERASURE,
        athlete_id=target.pk,
        origin=origin,
        object_type="user",
        object_ids=[target.pk],
        detail={
            "requested_by": "self" if actor.pk == target.pk else "team_admin",
            "deleted": {label: count for label, count in sorted(deleted.items()) if count},
        },
    )
    return True


def me_erase(*, user: User, password: str, origin: AuditOrigin) -> bool:
    """The user erases their own account, confirming with their current password."""
    if not user.check_password(password):
        raise exceptions.ValidationError(
            {"password": ["The password is wrong."]}, code="wrong_password"
        )
    return user_erase(actor=user, user=user, origin=origin)


@transaction.atomic
def athlete_erase(*, access: Access, athlete: User, origin: AuditOrigin) -> bool:
    """A team admin erases an athlete of their team (on the athlete's request).

    Only an admin of a team the athlete is an active athlete of (403 otherwise); not their own
    account (that takes their password: /me/erase/); and not while the person is an active member
    of a team the caller does not administer (409 `erasure.other_teams`): one team's admin does not
    wipe an account other teams rely on."""
    target = User.objects.select_for_update().get(pk=athlete.pk)
    if target.pk == access.user.pk:
        raise exceptions.PermissionDenied(
            "Erase your own account with POST /api/v1/me/erase/ and your password.",
            code="erasure.use_me_erase",
        )
    if Relation.ADMIN not in access.relations_to_athlete(target.pk):
        raise exceptions.PermissionDenied("Only an admin of the athlete's team may erase them.")
    administered = team_ids_of(access.user, roles=frozenset({Relation.ADMIN}))
    if (
        Membership.objects.filter(user=target, is_active=True)
        .exclude(team_id__in=administered)
        .exists()
    ):
        raise Conflict(
            "This person is also an active member of a team you do not administer; they can "
            "erase their account themselves, or each team's admin removes them first.",
            code="erasure.other_teams",
        )
    return user_erase(actor=access.user, user=target, origin=origin)
