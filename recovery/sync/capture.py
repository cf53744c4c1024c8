"""Change capture: model signals write the change log (`recovery.sync.log`) inside the writer's
transaction, so a change and its log row commit together or not at all. Connected once, by
`RecoveryConfig.ready()`.

What is logged:
- a synced record saved or deleted: an upsert or a tombstone of it;
- a soreness entry, treated area or amendment saved or deleted: an upsert of its report/session;
- a membership that ends, is deactivated or changes role: a scope event (the pull turns it into
  removals of the athletes the caller no longer sees); one that starts or is reactivated: upserts
  of the records that become visible (grants appear as changes); a staff role change also
  re-sends the team's massage sessions (clinical notes follow the role);
- an athlete's clinical-notes consent changing: upserts of their massage sessions, so coaches'
  copies gain or lose the notes;
- a user deleted: tombstones of all their records in one statement; a user erased (GDPR, the
  account kept and its memberships deactivated in bulk): scope events for all their teams.

Writing the change log also bumps the athletes' stored state (`recovery.sync.log`). What the
state is computed from beyond the records is bumped here too: an athlete's profile (their primary
sport) and memberships (their first team gives their sport and time zone), a team (its sport and
time zone: its members'), and the catalogue (muscle groups, sports, their demand: everyone's).

Bulk writes (`bulk_create`, `QuerySet.update`) send no signals: whoever uses them logs the change
with `recovery.sync.log` in the same transaction (sync push and the demo data do). Deletes through
a queryset are logged with one INSERT ... SELECT per delete, not a row at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save

from accounts.models import STAFF_ROLES, AthleteProfile, Membership, Role, Team, User
from recovery.models import (
    MassageAmendment,
    MassageSession,
    MuscleGroup,
    SorenessEntry,
    SorenessReport,
    Sport,
    SportDemand,
    SyncKind,
    SyncOp,
    TreatedArea,
)
from recovery.sync import log
from recovery.sync.log import Change, Source

RECORD_KINDS: dict[type[Model], SyncKind] = {
    model: kind for kind, model in log.RECORD_MODELS.items()
}


@dataclass(frozen=True)
class Child:
    """A row that is part of a record: it changes its parent (`parent` is the foreign key)."""

    kind: SyncKind
    parent_model: type[Model]
    parent: str


CHILDREN: dict[type[Model], Child] = {
    SorenessEntry: Child(SyncKind.SORENESS_REPORT, SorenessReport, "report"),
    TreatedArea: Child(SyncKind.MASSAGE_SESSION, MassageSession, "session"),
    MassageAmendment: Child(SyncKind.MASSAGE_SESSION, MassageSession, "session"),
}

_LOGGED_BY = "_sync_logged_by"


def _origin_model(origin: Any) -> type[Model] | None:
    if isinstance(origin, Model):
        return type(origin)
    if isinstance(origin, QuerySet):
        return origin.model
    return None


def _deleting_user(origin: Any) -> bool:
    """The delete is a user's (their stored state goes with them: nothing to invalidate, and a
    row written now would outlive the user)."""
    origin_model = _origin_model(origin)
    return origin_model is not None and issubclass(origin_model, User)


def _first_signal_of_delete(origin: QuerySet[Any, Any], using: str) -> bool:
    """True for the first signal of one `origin.delete()` call, False for the others.

    `Collector.delete()` sends its signals inside an atomic block of its own, a new object per
    call: remembering that object on the queryset tells this delete from an earlier one (a
    failed and retried delete logs again)."""
    blocks = connections[using].atomic_blocks
    block = blocks[-1] if blocks else None
    if block is not None and getattr(origin, _LOGGED_BY, None) is block:
        return False
    setattr(origin, _LOGGED_BY, block)
    return True


# Records ----------------------------------------------------------------------------------------


def _record_saved(sender: type[Model], instance: Any, using: str, **kwargs: Any) -> None:
    log.record(
        Change(RECORD_KINDS[sender], instance.pk, instance.athlete_id, SyncOp.UPSERT), using=using
    )


def _record_deleting(
    sender: type[Model], instance: Any, using: str, origin: Any = None, **kwargs: Any
) -> None:
    origin_model = _origin_model(origin)
    if origin_model is not None and issubclass(origin_model, User):
        return  # the user's own pre_delete logs all their records in one statement
    kind = RECORD_KINDS[sender]
    if isinstance(origin, QuerySet) and origin_model is sender:
        if _first_signal_of_delete(origin, using):
            log.record_from([Source(kind, origin)], op=SyncOp.DELETE, using=using)
        return
    log.record(Change(kind, instance.pk, instance.athlete_id, SyncOp.DELETE), using=using)


# Parts of records -------------------------------------------------------------------------------


def _child_saved(sender: type[Model], instance: Any, using: str, **kwargs: Any) -> None:
    child = CHILDREN[sender]
    parent = getattr(instance, child.parent)
    log.record(Change(child.kind, parent.pk, parent.athlete_id, SyncOp.UPSERT), using=using)


def _child_deleting(
    sender: type[Model], instance: Any, using: str, origin: Any = None, **kwargs: Any
) -> None:
    child = CHILDREN[sender]
    origin_model = _origin_model(origin)
    if origin_model is not None and (
        issubclass(origin_model, User) or origin_model is child.parent_model
    ):
        return  # the parent goes too, and is logged as deleted
    if isinstance(origin, QuerySet) and origin_model is sender:
        if _first_signal_of_delete(origin, using):
            source = Source(
                child.kind,
                origin,
                record=f"{child.parent}_id",
                athlete=f"{child.parent}__athlete_id",
                distinct=True,
            )
            log.record_from([source], op=SyncOp.UPSERT, using=using)
        return
    parent = getattr(instance, child.parent)
    log.record(Change(child.kind, parent.pk, parent.athlete_id, SyncOp.UPSERT), using=using)


# Users ------------------------------------------------------------------------------------------


def _user_deleting(sender: type[Model], instance: Any, using: str, **kwargs: Any) -> None:
    log.record_from(log.records_of(instance.pk), op=SyncOp.DELETE, using=using)


def _user_saved(sender: type[Model], instance: Any, using: str, **kwargs: Any) -> None:
    """An erased account keeps its row, and its memberships are deactivated in bulk (no
    signals): log the scope events the deactivations would have."""
    if getattr(instance, "erased_at", None) is None:
        return
    memberships = Membership.objects.using(using).filter(user_id=instance.pk)
    log.record_many(
        (
            _scope(
                SyncKind.ATHLETE_MEMBERSHIP if role == Role.ATHLETE else SyncKind.STAFF_MEMBERSHIP,
                user_id=instance.pk,
                team_id=team_id,
            )
            for team_id, role in memberships.values_list("team_id", "role")
        ),
        using=using,
    )


# Memberships: who sees whom ---------------------------------------------------------------------

_BEFORE = "_sync_before"


@dataclass(frozen=True)
class _Standing:
    role: str
    active: bool

    @property
    def athlete(self) -> bool:
        return self.active and self.role == Role.ATHLETE

    @property
    def staff(self) -> bool:
        return self.active and self.role in STAFF_ROLES


def _scope(kind: SyncKind, *, user_id: Any, team_id: Any) -> Change:
    return Change(kind, record_id=user_id, athlete_id=None, op=SyncOp.SCOPE, team_id=team_id)


def _membership_saving(sender: type[Model], instance: Any, using: str, **kwargs: Any) -> None:
    before = (
        Membership.objects.using(using)
        .filter(pk=instance.pk)
        .values_list("role", "is_active")
        .first()
    )
    setattr(instance, _BEFORE, _Standing(*before) if before else None)


def _membership_saved(sender: type[Model], instance: Any, using: str, **kwargs: Any) -> None:
    log.invalidate_athlete_states([instance.user_id], using=using)
    before = instance.__dict__.pop(_BEFORE, None)
    _membership_changed(
        instance, before=before, after=_Standing(instance.role, instance.is_active), using=using
    )


def _membership_deleted(
    sender: type[Model], instance: Any, using: str, origin: Any = None, **kwargs: Any
) -> None:
    if not _deleting_user(origin):
        log.invalidate_athlete_states([instance.user_id], using=using)
    _membership_changed(
        instance, before=_Standing(instance.role, instance.is_active), after=None, using=using
    )


def _membership_changed(
    membership: Any, *, before: _Standing | None, after: _Standing | None, using: str
) -> None:
    was_athlete, is_athlete = bool(before and before.athlete), bool(after and after.athlete)
    was_staff, is_staff = bool(before and before.staff), bool(after and after.staff)
    role_changed = bool(before and after and before.role != after.role)
    ids = {"user_id": membership.user_id, "team_id": membership.team_id}

    scope = []
    if was_athlete and not is_athlete:  # the team's staff may no longer see this athlete
        scope.append(_scope(SyncKind.ATHLETE_MEMBERSHIP, **ids))
    if was_staff and (not is_staff or role_changed):  # this user may see fewer athletes
        scope.append(_scope(SyncKind.STAFF_MEMBERSHIP, **ids))
    log.record_many(scope, using=using)

    team_athletes = (
        Membership.objects.using(using)
        .filter(team_id=membership.team_id, role=Role.ATHLETE, is_active=True)
        .values("user_id")
    )
    grants: list[Source] = []
    if is_athlete and not was_athlete:  # the team's staff now see this athlete's records
        grants += log.records_of(membership.user_id)
    if is_staff and not was_staff:  # this user now sees the team's athletes' records
        grants += log.records_of(team_athletes)
    elif is_staff and role_changed:
        # Staff roles read the same records (accounts.access.POLICY); what differs is who reads
        # clinical notes, so the massage sessions are re-sent for the new role.
        massage = MassageSession.objects.filter(athlete_id__in=team_athletes)
        grants.append(Source(SyncKind.MASSAGE_SESSION, massage))
    if grants:
        log.record_from(grants, op=SyncOp.UPSERT, using=using)


# Consent ----------------------------------------------------------------------------------------


def _profile_saving(sender: type[Model], instance: Any, using: str, **kwargs: Any) -> None:
    before = None
    if instance.pk is not None:
        before = (
            AthleteProfile.objects.using(using)
            .filter(pk=instance.pk)
            .values_list("share_clinical_notes_with_coaches", flat=True)
            .first()
        )
    setattr(instance, _BEFORE, bool(before))


def _profile_saved(sender: type[Model], instance: Any, using: str, **kwargs: Any) -> None:
    log.invalidate_athlete_states([instance.user_id], using=using)
    before = instance.__dict__.pop(_BEFORE, False)
    if before != instance.share_clinical_notes_with_coaches:
        _resend_massage_sessions(instance.user_id, using)


def _profile_deleted(
    sender: type[Model], instance: Any, using: str, origin: Any = None, **kwargs: Any
) -> None:
    if not _deleting_user(origin):  # the user's state row goes with them
        log.invalidate_athlete_states([instance.user_id], using=using)
    if instance.share_clinical_notes_with_coaches:  # no profile: no consent
        _resend_massage_sessions(instance.user_id, using)


def _resend_massage_sessions(athlete_id: Any, using: str) -> None:
    sessions = MassageSession.objects.filter(athlete_id=athlete_id)
    log.record_from([Source(SyncKind.MASSAGE_SESSION, sessions)], op=SyncOp.UPSERT, using=using)


# Teams and the catalogue: the athletes' stored state only ---------------------------------------

CATALOGUE_MODELS: tuple[type[Model], ...] = (MuscleGroup, Sport, SportDemand)


def _team_saved(sender: type[Model], instance: Any, using: str, **kwargs: Any) -> None:
    log.invalidate_team_states(instance.pk, using=using)


def _catalogue_changed(sender: type[Model], using: str, **kwargs: Any) -> None:
    log.invalidate_all_states(using=using)


def connect() -> None:
    for model in RECORD_KINDS:
        post_save.connect(_record_saved, sender=model, dispatch_uid=f"sync-save-{model.__name__}")
        pre_delete.connect(
            _record_deleting, sender=model, dispatch_uid=f"sync-delete-{model.__name__}"
        )
    for model in CHILDREN:
        post_save.connect(_child_saved, sender=model, dispatch_uid=f"sync-save-{model.__name__}")
        pre_delete.connect(
            _child_deleting, sender=model, dispatch_uid=f"sync-delete-{model.__name__}"
        )
    pre_delete.connect(_user_deleting, sender=User, dispatch_uid="sync-delete-user")
    post_save.connect(_user_saved, sender=User, dispatch_uid="sync-save-user")
    pre_save.connect(_membership_saving, sender=Membership, dispatch_uid="sync-membership-pre")
    post_save.connect(_membership_saved, sender=Membership, dispatch_uid="sync-membership-save")
    post_delete.connect(
        _membership_deleted, sender=Membership, dispatch_uid="sync-membership-delete"
    )
    pre_save.connect(_profile_saving, sender=AthleteProfile, dispatch_uid="sync-profile-pre")
    post_save.connect(_profile_saved, sender=AthleteProfile, dispatch_uid="sync-profile-save")
    post_delete.connect(_profile_deleted, sender=AthleteProfile, dispatch_uid="sync-profile-delete")
    post_save.connect(_team_saved, sender=Team, dispatch_uid="state-save-team")
    for model in CATALOGUE_MODELS:
        for signal, event in ((post_save, "save"), (post_delete, "delete")):
            signal.connect(
                _catalogue_changed, sender=model, dispatch_uid=f"state-{event}-{model.__name__}"
            )
