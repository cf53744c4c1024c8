"""The values the sync endpoints speak. Each set is pinned as an enum component in the schema
(ENUM_NAME_OVERRIDES): they become class names in generated mobile clients, and the labels are
their documentation."""

from __future__ import annotations

from django.db import models


class ChangeKind(models.TextChoices):
    """What a pulled change is about: a record, or an athlete the caller no longer sees."""

    TRAINING_SESSION = "training_session", "A training session"
    SORENESS_REPORT = "soreness_report", "A soreness report with its entries"
    MASSAGE_SESSION = "massage_session", "A massage session with treated areas and amendments"
    INJURY = "injury", "An injury"
    ATHLETE = "athlete", "An athlete (op remove only)"


class ChangeOp(models.TextChoices):
    UPSERT = "upsert", "Store data under id (created, changed, or newly visible)"
    DELETE = "delete", "Tombstone: forget the record id (deleted, or no longer visible)"
    REMOVE = "remove", "Forget the athlete id and every record of theirs (access lost)"


class PushKind(models.TextChoices):
    """What a pushed record is (massage sessions: therapists only)."""

    TRAINING_SESSION = "training_session", "A training session"
    SORENESS_REPORT = "soreness_report", "A soreness report with its entries"
    INJURY = "injury", "An injury (therapists)"
    MASSAGE_SESSION = "massage_session", "A planned massage session (therapists)"


class PushResult(models.TextChoices):
    CREATED = "created", "Stored now"
    UNCHANGED = "unchanged", "Already stored under this id with the same content: nothing done"
    CONFLICT = "conflict", "The id holds a different record: keep it, use a new id"
    INVALID = "invalid", "Field errors in errors: let the user fix it, then push it again"
    FORBIDDEN = "forbidden", "The caller's role may not create this record"


MAX_PUSH_RECORDS = 500
DEFAULT_PULL_LIMIT = 200
MAX_PULL_LIMIT = 500
