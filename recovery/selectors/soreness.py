from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.db.models import Exists, F, OuterRef, QuerySet

from accounts.access import Resource, athlete_filter
from accounts.models import User
from recovery.models import SorenessEntry, SorenessReport


class FlagStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    ALL = "all"


def soreness_report_list_visible_to(
    *, user: User, kind: str | None = None
) -> QuerySet[SorenessReport, Any]:
    """Reports the user may see with their entries; `kind`: only reports with such an entry."""
    reports = SorenessReport.objects.filter(
        athlete_filter(user, resource=Resource.SORENESS_REPORT)
    ).prefetch_related("entries")
    if kind:
        reports = reports.filter(
            Exists(SorenessEntry.objects.filter(report=OuterRef("pk"), kind=kind))
        )
    return reports


def soreness_flag_list_visible_to(
    *, user: User, status: FlagStatus = FlagStatus.OPEN
) -> QuerySet[SorenessEntry, Any]:
    """Flagged entries of the reports the user may see, with their report and athlete;
    `reported_at` is the report's, annotated so that the list can be ordered by it."""
    flags = (
        SorenessEntry.objects.filter(flagged=True)
        .filter(athlete_filter(user, resource=Resource.SORENESS_REPORT, path="report__athlete"))
        .select_related("report__athlete")
        .annotate(reported_at=F("report__reported_at"))
    )
    if status == FlagStatus.OPEN:
        return flags.filter(flag_resolved_at__isnull=True)
    if status == FlagStatus.RESOLVED:
        return flags.filter(flag_resolved_at__isnull=False)
    return flags
