"""Recovery records (DESIGN.md section 2): the catalogue, training sessions, soreness reports with
body-map entries, massage / neuromuscular therapy sessions with treated areas, and injuries.

Records an athlete's phone creates carry a client-supplied UUID `id` (safe offline retries) and a
`version` that every write bumps (ETag / If-Match). Business rules live in services, not here.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class Side(models.TextChoices):
    LEFT = "left", "Left"
    RIGHT = "right", "Right"
    BOTH = "both", "Both sides"


class MuscleGroup(models.Model):
    code = models.SlugField(
        max_length=40, primary_key=True, help_text="Stable code, e.g. hamstrings."
    )
    name = models.CharField(max_length=80)
    region = models.CharField(max_length=20)
    view = models.CharField(
        max_length=8, help_text="Where the body map draws it: front, back, both."
    )
    has_sides = models.BooleanField(default=True)
    description = models.CharField(max_length=400, blank=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class Sport(models.Model):
    code = models.SlugField(max_length=40, primary_key=True)
    name = models.CharField(max_length=80)
    source = models.TextField(help_text="Literature the demand profile is derived from.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SportDemand(models.Model):
    sport = models.ForeignKey(Sport, on_delete=models.CASCADE, related_name="demands")
    muscle_group = models.ForeignKey(MuscleGroup, on_delete=models.CASCADE, related_name="+")
    weight = models.FloatField(
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="How much the sport loads this group, 0 (not) to 1 (very high).",
    )

    class Meta:
        ordering = ["sport", "-weight", "muscle_group"]
        constraints = [
            models.UniqueConstraint(fields=["sport", "muscle_group"], name="sport_demand_unique"),
            models.CheckConstraint(
                condition=Q(weight__gte=0) & Q(weight__lte=1), name="sport_demand_weight_0_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sport_id}/{self.muscle_group_id}={self.weight}"


class SyncedRecord(models.Model):
    """Fields every record the app syncs carries."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class SessionType(models.TextChoices):
    PRACTICE = "practice", "Practice"
    MATCH = "match", "Match / competition"
    STRENGTH = "strength", "Strength"
    CONDITIONING = "conditioning", "Conditioning"
    RECOVERY = "recovery", "Recovery"
    OTHER = "other", "Other"


class TrainingSession(SyncedRecord):
    athlete = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="training_sessions"
    )
    date = models.DateField(help_text="Local calendar day the session started on.")
    started_at = models.DateTimeField(null=True, blank=True)
    session_type = models.CharField(max_length=16, choices=SessionType.choices)
    duration_min = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(1440)]
    )
    rpe = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(10)], help_text="Session RPE on the CR-10 scale (0-10)."
    )
    load_au = models.PositiveIntegerField(editable=False, help_text="sRPE = RPE x minutes (AU).")
    distance_km = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    avg_heart_rate = models.PositiveSmallIntegerField(null=True, blank=True)
    notes = models.TextField(blank=True, max_length=2000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-date", "-created_at"]
        indexes = [
            # One athlete's sessions in the list's order (their own list, the metrics' days).
            models.Index(
                fields=["athlete", "date", "created_at", "id"], name="training_athlete_order"
            ),
            # The recommendation's "last match" (recovery.selectors.recommendation.signals_for).
            models.Index(
                fields=["athlete", "started_at"],
                condition=Q(session_type="match"),
                name="training_match_start",
            ),
            # The list's keyset order (-date, -created_at, -id): a page reads its rows in order
            # instead of sorting every visible session (docs/performance.md).
            models.Index(fields=["date", "created_at", "id"], name="training_list_order"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(rpe__lte=10), name="training_rpe_0_10"),
            models.CheckConstraint(
                condition=Q(duration_min__gte=1) & Q(duration_min__lte=1440),
                name="training_duration_1_1440",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session_type} {self.date} ({self.load_au} AU)"


class SorenessReport(SyncedRecord):
    athlete = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="soreness_reports"
    )
    reported_at = models.DateTimeField()
    date = models.DateField(help_text="Local calendar day of the report.")
    # Wellness items, McLean et al. 2010 style, 1 (worst) to 5 (best); see docs/metrics.md.
    sleep_quality = models.PositiveSmallIntegerField(null=True, blank=True)
    fatigue = models.PositiveSmallIntegerField(null=True, blank=True)
    stress = models.PositiveSmallIntegerField(null=True, blank=True)
    mood = models.PositiveSmallIntegerField(null=True, blank=True)
    general_soreness = models.PositiveSmallIntegerField(null=True, blank=True)
    notes = models.TextField(blank=True, max_length=2000)

    class Meta:
        ordering = ["-reported_at"]
        indexes = [
            models.Index(fields=["athlete", "date"]),
            models.Index(fields=["athlete", "reported_at", "id"], name="soreness_athlete_order"),
            # The list's keyset order (-reported_at, -id): see training_list_order.
            models.Index(fields=["reported_at", "id"], name="soreness_list_order"),
        ]

    def __str__(self) -> str:
        return f"Soreness report {self.date}"


class SorenessKind(models.TextChoices):
    DOMS = "doms", "Delayed-onset muscle soreness"
    TIGHTNESS = "tightness", "Tightness"
    PAIN = "pain", "Pain"


PAIN_FLAG_SEVERITY = 7  # DESIGN.md: a pain entry of 7 or more raises a flag for the therapist


class SorenessEntry(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(SorenessReport, on_delete=models.CASCADE, related_name="entries")
    muscle_group = models.ForeignKey(MuscleGroup, on_delete=models.PROTECT, related_name="+")
    side = models.CharField(max_length=8, choices=Side.choices, null=True, blank=True)
    severity = models.PositiveSmallIntegerField(validators=[MaxValueValidator(10)])
    kind = models.CharField(max_length=12, choices=SorenessKind.choices)
    is_injury = models.BooleanField(default=False)
    note = models.CharField(max_length=500, blank=True)
    flagged = models.BooleanField(default=False, editable=False, db_index=True)
    flag_resolved_at = models.DateTimeField(null=True, blank=True)
    flag_resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["report", "muscle_group__sort_order", "side"]
        constraints = [
            models.CheckConstraint(condition=Q(severity__lte=10), name="soreness_severity_0_10"),
        ]

    def __str__(self) -> str:
        return f"{self.muscle_group_id} {self.side or ''} {self.kind} {self.severity}/10"


class MassageStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class MassageType(models.TextChoices):
    RECOVERY = "recovery", "Recovery"
    PRE_EVENT = "pre_event", "Pre-event"
    POST_EVENT = "post_event", "Post-event"
    TREATMENT = "treatment", "Treatment"


class MassageSession(SyncedRecord):
    """A massage / neuromuscular therapy session, structured like a SOAP note."""

    athlete = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="massage_sessions"
    )
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="massage_sessions_given",
    )
    status = models.CharField(
        max_length=12, choices=MassageStatus.choices, default=MassageStatus.PLANNED
    )
    session_type = models.CharField(
        max_length=12, choices=MassageType.choices, default=MassageType.RECOVERY
    )
    scheduled_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    duration_min = models.PositiveSmallIntegerField(
        default=45, validators=[MinValueValidator(5), MaxValueValidator(240)]
    )
    # Subjective
    complaint = models.TextField(blank=True, max_length=2000)
    pain_before = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(10)]
    )
    # Objective / assessment
    posture_notes = models.TextField(blank=True, max_length=2000)
    gait_notes = models.TextField(blank=True, max_length=2000)
    range_of_motion_notes = models.TextField(blank=True, max_length=2000)
    palpation_notes = models.TextField(blank=True, max_length=2000)
    # Outcome and plan
    pain_after = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(10)]
    )
    athlete_feedback = models.TextField(blank=True, max_length=2000)
    aftercare_stretches = models.TextField(blank=True, max_length=2000)
    aftercare_hydration = models.TextField(blank=True, max_length=1000)
    aftercare_self_care = models.TextField(blank=True, max_length=2000)
    next_focus = models.CharField(blank=True, max_length=500)
    next_session_in_days = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(90)]
    )
    clinical_notes = models.TextField(
        blank=True, max_length=5000, help_text="Private: see DESIGN.md section 1."
    )
    recommendation_snapshot = models.JSONField(null=True, blank=True, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True, editable=False)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    cancelled_reason = models.CharField(blank=True, max_length=500)

    class Meta:
        ordering = ["-scheduled_at"]
        indexes = [
            models.Index(fields=["athlete", "scheduled_at", "id"], name="massage_athlete_order"),
            models.Index(fields=["therapist", "status", "scheduled_at"]),
            # The list's keyset order (-scheduled_at, -id): see training_list_order.
            models.Index(fields=["scheduled_at", "id"], name="massage_list_order"),
            # The next planned session of each athlete (the therapist queue): a small index of
            # the planned sessions only, in the order that takes the first.
            models.Index(
                fields=["athlete", "scheduled_at", "id"],
                name="massage_next_planned",
                condition=Q(status=MassageStatus.PLANNED),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(pain_before__lte=10) & Q(pain_after__lte=10), name="massage_pain_0_10"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session_type} massage {self.scheduled_at:%Y-%m-%d} ({self.status})"


class Technique(models.TextChoices):
    TRIGGER_POINT = "trigger_point", "Trigger-point therapy"
    MUSCLE_ENERGY = "muscle_energy", "Muscle energy technique"
    MYOFASCIAL_RELEASE = "myofascial_release", "Myofascial release"
    EFFLEURAGE_FLUSH = "effleurage_flush", "Effleurage / flush"
    STRETCHING = "stretching", "Stretching"


class Pressure(models.TextChoices):
    LIGHT = "light", "Light"
    MODERATE = "moderate", "Moderate"
    FIRM = "firm", "Firm"


class TreatedArea(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(
        MassageSession, on_delete=models.CASCADE, related_name="treated_areas"
    )
    muscle_group = models.ForeignKey(MuscleGroup, on_delete=models.PROTECT, related_name="+")
    side = models.CharField(max_length=8, choices=Side.choices, null=True, blank=True)
    technique = models.CharField(max_length=20, choices=Technique.choices)
    pressure = models.CharField(max_length=10, choices=Pressure.choices)
    pressure_rating = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(240)]
    )
    pain_during = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(10)]
    )
    trigger_points_found = models.PositiveSmallIntegerField(default=0)
    notes = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["session", "muscle_group__sort_order", "side"]

    def __str__(self) -> str:
        return f"{self.muscle_group_id} {self.side or ''} {self.technique}"


class MassageAmendment(models.Model):
    """A signed session is locked; later corrections are appended here with author and time."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(MassageSession, on_delete=models.CASCADE, related_name="amendments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    text = models.TextField(max_length=5000)

    class Meta:
        ordering = ["session", "created_at"]

    def __str__(self) -> str:
        return f"Amendment {self.created_at:%Y-%m-%d %H:%M}"


class InjuryStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    REHAB = "rehab", "Rehabilitation"
    RESOLVED = "resolved", "Resolved"


class Injury(SyncedRecord):
    athlete = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="injuries"
    )
    muscle_group = models.ForeignKey(MuscleGroup, on_delete=models.PROTECT, related_name="+")
    side = models.CharField(max_length=8, choices=Side.choices, null=True, blank=True)
    onset_date = models.DateField()
    status = models.CharField(
        max_length=10, choices=InjuryStatus.choices, default=InjuryStatus.ACTIVE
    )
    resolved_date = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True, max_length=2000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-onset_date", "-created_at"]
        verbose_name_plural = "injuries"
        indexes = [models.Index(fields=["athlete", "status"])]

    def __str__(self) -> str:
        return f"{self.muscle_group_id} injury {self.onset_date} ({self.status})"


class IdempotencyRecord(models.Model):
    """The first response to a POST carrying an `Idempotency-Key`, kept for replays.

    One row per (user, key), guaranteed by the unique constraint: concurrent requests with one key
    race on the INSERT, and exactly one proceeds (see recovery/idempotency.py).
    """

    class State(models.TextChoices):
        IN_FLIGHT = "in_flight", "In flight"
        DONE = "done", "Done"

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.IN_FLIGHT)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_content_type = models.CharField(max_length=100, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"


class SyncKind(models.TextChoices):
    """What a change-log row is about: a record the app syncs, or a membership change (scope)."""

    TRAINING_SESSION = "training_session", "Training session"
    SORENESS_REPORT = "soreness_report", "Soreness report"
    MASSAGE_SESSION = "massage_session", "Massage session"
    INJURY = "injury", "Injury"
    # Scope events (op `scope`, `record_id` = the member's user id, `team_id` = the team):
    ATHLETE_MEMBERSHIP = "athlete_membership", "An athlete left a team (its staff may lose them)"
    STAFF_MEMBERSHIP = "staff_membership", "A staff member left a team or changed role"


class SyncOp(models.TextChoices):
    UPSERT = "upsert", "Created or changed"
    DELETE = "delete", "Deleted"
    SCOPE = "scope", "Who sees whom changed"


class SyncChange(models.Model):
    """The change log the sync pull reads (recovery/sync, docs/sync.md): one row per write, inserted
    in the writing transaction. Ids only, never content: the pull renders records as they are now.

    `txid` is the writing transaction's id on PostgreSQL (`pg_current_xact_id()`), 0 on SQLite
    (there commit order is `id` order); pull cursors are snapshot horizons over (txid, id).
    """

    id = models.BigAutoField(primary_key=True)
    txid = models.BigIntegerField(db_index=True)
    kind = models.CharField(max_length=24, choices=SyncKind.choices)
    record_id = models.UUIDField()
    athlete_id = models.UUIDField(null=True, blank=True, help_text="Null for scope events.")
    team_id = models.UUIDField(null=True, blank=True)
    op = models.CharField(max_length=8, choices=SyncOp.choices)
    changed_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["athlete_id", "txid", "id"], name="sync_change_athlete")]

    def __str__(self) -> str:
        return f"{self.op} {self.kind} {self.record_id} (tx {self.txid})"


class AthleteDailyLoad(models.Model):
    """One row per athlete and local day, from the first training day on without gaps: the day's
    load, the running state of the load metrics after it (`recovery.domain.metrics.LoadState`),
    so a day's metrics are read from three rows instead of computed over the whole history, and
    those metrics as the API writes them.

    Derived data, kept current in the same transaction as every training-session write
    (`recovery.services.daily_loads`); `manage.py refresh_daily_loads` rebuilds it."""

    id = models.BigAutoField(primary_key=True)
    athlete = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="daily_loads"
    )
    day = models.DateField()
    history_days = models.PositiveIntegerField()
    load_au = models.PositiveIntegerField()
    cum_load_au = models.BigIntegerField()
    cum_load_sq = models.BigIntegerField()
    ewma_acute_au = models.FloatField()
    ewma_chronic_au = models.FloatField()
    ctl = models.FloatField()
    atl = models.FloatField()
    tsb = models.FloatField()
    metrics_json = models.TextField(default="")
    """The day's metrics as the metrics endpoint returns them (JSON text of one element of
    `days`, `recovery.serializers.metrics.day_json`), written with the state: the endpoint reads
    a year of days as text. A change to that representation needs a migration that writes it
    again (as 0010 does); a row without it ("") makes the endpoint compute the range instead."""

    STATE_FIELDS = (
        "day",
        "history_days",
        "load_au",
        "cum_load_au",
        "cum_load_sq",
        "ewma_acute_au",
        "ewma_chronic_au",
        "ctl",
        "atl",
        "tsb",
    )
    """The columns that make a `LoadState`, in its field order."""

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["athlete", "day"], name="daily_load_unique_day")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.load_au} AU"


class AthleteRecoveryState(models.Model):
    """What the team views and the recommendation show for one athlete, computed once and read
    until something changes (`recovery.selectors.state`; docs/performance.md).

    `version` is bumped, in the writing transaction, by every write that changes what the
    athlete's parts are computed from: their records (`recovery.sync.log`, which the writers of
    the change log go through), their profile, memberships and teams (sport, time zone) and the
    catalogue (`recovery.sync.capture`); a writer creates the row when it is missing. Each
    stored part says for which `version` it was computed, when, until when it holds
    (`*_valid_until`: a few minutes, and never past a local midnight or an instant where the
    recommendation changes by a step) and, for the views, for which team day and time zone
    (`views_key`). A part is used only while all of them still match; otherwise it is computed
    again and stored for the version read before its inputs, so a write that commits during a
    recompute leaves the part stale, never wrong.

    Derived data: deleting rows (or the whole table) loses nothing but time."""

    athlete = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="recovery_state",
    )
    version = models.PositiveBigIntegerField(
        default=1, help_text="Bumped by every write of the athlete's inputs."
    )
    views_version = models.PositiveBigIntegerField(null=True, blank=True)
    views_computed_at = models.DateTimeField(null=True, blank=True)
    views_valid_until = models.DateTimeField(null=True, blank=True)
    views_key = models.CharField(max_length=255, blank=True, db_default="")
    views = models.TextField(
        blank=True,
        db_default="",
        help_text="JSON: the athlete's team-dashboard row of the day, the team summary's and the "
        "therapist queue's inputs.",
    )
    recommendation_version = models.PositiveBigIntegerField(null=True, blank=True)
    recommendation_computed_at = models.DateTimeField(null=True, blank=True)
    recommendation_valid_until = models.DateTimeField(null=True, blank=True)
    recommendation = models.TextField(
        blank=True, db_default="", help_text="JSON: the recommendation for now (no `at`)."
    )

    class Meta:
        verbose_name = "athlete recovery state"

    def __str__(self) -> str:
        return f"State v{self.version}"
