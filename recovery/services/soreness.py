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
from backend.api.concurrency import NO_PRECONDITION, IfMatch
from recovery.models import (
    PAIN_FLAG_SEVERITY,
    MuscleGroup,
    SorenessEntry,
    SorenessKind,
    SorenessReport,
)
from recovery.services.common import (
    Nested,
    athlete_for_new_record,
    catalogue_order,
    create_once,
    delete_version,
    require_write,
)


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


REPORT_CONTENT = SorenessReportFields.__optional_keys__
ENTRY_CONTENT = SorenessEntryFields.__optional_keys__
"""What the client writes: a repeated submit is the same report when these are equal (the
entries in any order)."""


def is_flagged(*, kind: str, severity: int, is_injury: bool) -> bool:
    return is_injury or (kind == SorenessKind.PAIN and severity >= PAIN_FLAG_SEVERITY)


def soreness_report_submit(
    *,
    access: Access,
    entries: Sequence[SorenessEntryFields],
    athlete_id: uuid.UUID | None = None,
    record_id: uuid.UUID | None = None,
    **fields: Unpack[SorenessReportFields],
) -> tuple[SorenessReport, bool]:
    """Store a report with its entries; returns it and whether it is new (False: a repeat of
    a submit stored under `record_id` with the same content)."""
    athlete_id = athlete_for_new_record(
        access=access, resource=Resource.SORENESS_REPORT, athlete_id=athlete_id
    )
    rows = [
        {
            **entry,
            "flagged": is_flagged(
                kind=entry["kind"],
                severity=entry["severity"],
                is_injury=entry.get("is_injury", False),
            ),
        }
        for entry in entries
    ]
    return create_once(
        SorenessReport,
        record_id=record_id,
        athlete_id=athlete_id,
        fields=fields,
        compare=REPORT_CONTENT,
        nested=Nested(
            SorenessEntry, "report", "entries", rows, compare=ENTRY_CONTENT, order=catalogue_order
        ),
    )


@transaction.atomic
def soreness_report_delete(
    *, access: Access, report: SorenessReport, if_match: IfMatch = NO_PRECONDITION
) -> None:
    require_write(access=access, resource=Resource.SORENESS_REPORT, athlete_id=report.athlete_id)
    delete_version(report, if_match=if_match)


@transaction.atomic
def soreness_flag_resolve(*, access: Access, entry: SorenessEntry) -> SorenessEntry:
    """Mark a flag as seen and handled (a therapist's clinical judgement). Resolving it again
    changes nothing."""
    require_write(
        access=access, resource=Resource.SORENESS_FLAG, athlete_id=entry.report.athlete_id
    )
    if entry.flag_resolved_at is None:
        entry.flag_resolved_at = timezone.now()
        entry.flag_resolved_by = access.user
        entry.save(update_fields=["flag_resolved_at", "flag_resolved_by"])
    return entry
