"""Who is who: users (email login), organisations, teams, memberships with roles, invitations,
athlete profiles. Access rules built on these live in `accounts.access`."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    ATHLETE = "athlete", "Athlete"
    THERAPIST = "therapist", "Therapist"
    COACH = "coach", "Coach"
    ADMIN = "admin", "Team admin"


STAFF_ROLES = frozenset({Role.THERAPIST, Role.COACH, Role.ADMIN})


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **fields: Any) -> User:
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields["is_staff"] = True
        fields["is_superuser"] = True
        return self._create(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Signs in with an email address; `is_staff` is for the Django admin only."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Bumped on password change: tokens issued before carry an older value and stop working.
    token_generation = models.PositiveIntegerField(default=0)
    # Set when the account was erased (GDPR Art. 17): the row stays, anonymised, so ids still resolve.
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email


class Organisation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=150, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=150)
    sport = models.ForeignKey("recovery.Sport", on_delete=models.PROTECT, related_name="teams")
    time_zone = models.CharField(
        max_length=64, default="UTC", help_text="IANA time zone; training days are local days here."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="team_name_unique_in_org")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.organisation})"


class Membership(models.Model):
    """A user's role in one team. One role per team; different teams may give different roles."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["team__name", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="membership_one_per_team"),
        ]
        indexes = [models.Index(fields=["team", "role", "is_active"])]

    def __str__(self) -> str:
        return f"{self.user} — {self.role} in {self.team.name}"


class DominantSide(models.TextChoices):
    LEFT = "left", "Left"
    RIGHT = "right", "Right"
    BOTH = "both", "Both (ambidextrous)"


class AthleteProfile(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="athlete_profile")
    primary_sport = models.ForeignKey(
        "recovery.Sport", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    position = models.CharField(max_length=64, blank=True)
    dominant_side = models.CharField(max_length=8, choices=DominantSide.choices, blank=True)
    share_clinical_notes_with_coaches = models.BooleanField(
        default=False,
        help_text="Consent: coaches may read the therapist's clinical notes. Off unless the athlete opts in.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Athlete profile of {self.user}"


class Invitation(models.Model):
    """A single-use invitation to join a team with a role. Only a hash of the token is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=16, choices=Role.choices)
    email = models.EmailField(blank=True, help_text="If set, only this address may use it.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="invitations_sent"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="invitations_used"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation to {self.team.name} as {self.role}"

    @property
    def status(self) -> str:
        if self.used_at:
            return "used"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


class AuditAction(models.TextChoices):
    CLINICAL_NOTES_READ = "clinical_notes.read", "Clinical notes read"
    EXPORT = "export", "Personal data export"
    ERASURE = "erasure", "Erasure"


class AuditLogIsAppendOnly(Exception):
    """Audit entries are written once and never changed or deleted."""


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise AuditLogIsAppendOnly("Audit entries cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditLogIsAppendOnly("Audit entries cannot be deleted.")

    def pseudonymise_actor(self, *, actor_id: uuid.UUID, email: str) -> int:
        """The one change allowed (also by the database trigger): after an actor's erasure, their
        email snapshot becomes their erased address. Ids, actions and times stay."""
        if email != erased_email(actor_id):
            raise AuditLogIsAppendOnly("Only an erased actor's own placeholder may be written.")
        entries = self.filter(actor_id=actor_id).exclude(actor_email=email)
        return models.QuerySet.update(entries, actor_email=email)


def erased_email(user_id: uuid.UUID) -> str:
    return f"erased-{user_id}@invalid"


class AuditEntry(models.Model):
    """Who did what to whose health data, when, and from where. Append-only: `save` only inserts,
    `delete` refuses, and on PostgreSQL a trigger refuses UPDATE and DELETE (migration 0003).

    Entries hold ids, never health content. People are kept as plain ids (no foreign keys), so
    neither deleting nor erasing a user touches the log."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    at = models.DateTimeField(default=timezone.now, editable=False)
    actor_id = models.UUIDField(null=True, blank=True, help_text="The user who acted.")
    actor_email = models.CharField(
        max_length=254, blank=True, help_text="The actor's email when they acted."
    )
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    athlete_id = models.UUIDField(
        null=True, blank=True, help_text="The athlete whose data it was (user id)."
    )
    object_type = models.CharField(max_length=40, blank=True)
    object_ids = models.JSONField(default=list, blank=True)
    detail = models.JSONField(default=dict, blank=True, help_text="Counts and codes, no content.")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    path = models.CharField(max_length=300, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["athlete_id", "at"]),
            models.Index(fields=["actor_id", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_email or self.actor_id} at {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditLogIsAppendOnly("Audit entries cannot be changed.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditLogIsAppendOnly("Audit entries cannot be deleted.")
