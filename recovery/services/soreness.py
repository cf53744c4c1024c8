"""Writes of soreness reports (the athlete's own) and the therapist's handling of their flags.

A report and its body-map entries are stored in one transaction: all or nothing. An entry is
flagged for the therapist when it is pain of `PAIN_FLAG_SEVERITY` (7) or more, or marked as an
injury (DESIGN.md section 2).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import TypedDict, Unpack

from django.db import transaction
from django.utils import timezone

from accounts.access import Access, Resource
from recovery.models import (
    PAIN_FLAG_SEVERITY,
    MuscleGroup,
    SorenessEntry,
    SorenessKind,
    SorenessReport,
)
from recovery.services.common import athlete_for_new_record, create_once, require_write

# Resolving a flag is a clinical judgement: it takes the right to record injuries (therapists).
FLAG_RESOLVE_RESOURCE = Resource.INJURY


class SorenessReportFields(TypedDict, total=False):
    reported_at: datetime
    date: date
    sleep_quality: int | None
    fatigue: int | None
    stress: int | None
    mood: int | None
    general_soreness: int | None
    notes: str


class SorenessEntryFields(TypedDict, total=False):
    muscle_group: MuscleGroup
    side: str | None
    severity: int
    kind: str
    is_injury: bool
    note: str


def is_flagged(*, kind: str, severity: int, is_injury: bool) -> bool:
    return is_injury or (kind == SorenessKind.PAIN and severity >= PAIN_FLAG_SEVERITY)


@transaction.atomic
def soreness_report_submit(
    *,
    access: Access,
    entries: Sequence[SorenessEntryFields],
    athlete_id: uuid.UUID | None = None,
    record_id: uuid.UUID | None = None,
    **fields: Unpack[SorenessReportFields],
) -> tuple[SorenessReport, bool]:
    """Store a report with its entries; returns it and whether it is new (False: a retry)."""
    athlete_id = athlete_for_new_record(
        access=access, resource=Resource.SORENESS_REPORT, athlete_id=athlete_id
    )
    report, created = create_once(
        SorenessReport, record_id=record_id, athlete_id=athlete_id, **fields
    )
    if created:
        SorenessEntry.objects.bulk_create(
            SorenessEntry(
                report=report,
                flagged=is_flagged(
                    kind=entry["kind"],
                    severity=entry["severity"],
                    is_injury=entry.get("is_injury", False),
                ),
                **entry,
            )
            for entry in entries
        )
    return report, created


@transaction.atomic
def soreness_report_delete(*, access: Access, report: SorenessReport) -> None:
    require_write(access=access, resource=Resource.SORENESS_REPORT, athlete_id=report.athlete_id)
    report.delete()


@transaction.atomic
def soreness_flag_resolve(*, access: Access, entry: SorenessEntry) -> SorenessEntry:
    """Mark a flag as seen and handled. Resolving it again changes nothing."""
    require_write(access=access, resource=FLAG_RESOLVE_RESOURCE, athlete_id=entry.report.athlete_id)
    if entry.flag_resolved_at is None:
        entry.flag_resolved_at = timezone.now()
        entry.flag_resolved_by = access.user
        entry.save(update_fields=["flag_resolved_at", "flag_resolved_by"])
    return entry
