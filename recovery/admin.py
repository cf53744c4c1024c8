from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from recovery.models import (
    Injury,
    MassageAmendment,
    MassageSession,
    MuscleGroup,
    SorenessEntry,
    SorenessReport,
    Sport,
    SportDemand,
    TrainingSession,
    TreatedArea,
)


class ViewOnlyAdminMixin:
    """Athletes' records change only through recovery.services (access rules, computed load and
    flags, versions, signing, locking): the admin shows them, never edits them."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# The catalogue is edited here (DESIGN.md section 2); records are view-only. A catalogue edit makes every
# athlete's stored recommendation and team views stale (recovery.sync.capture), as do edits of teams,
# memberships and athlete profiles in the accounts admin; the stored state itself is derived data, not shown.


@admin.register(MuscleGroup)
class MuscleGroupAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "region", "view", "has_sides", "sort_order"]
    list_filter = ["region", "view", "has_sides"]
    search_fields = ["code", "name"]


class SportDemandInline(admin.TabularInline):
    model = SportDemand
    extra = 0
    autocomplete_fields = ["muscle_group"]


@admin.register(Sport)
class SportAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]
    inlines = [SportDemandInline]


ATHLETE_SEARCH = ["athlete__email", "athlete__full_name"]


@admin.register(TrainingSession)
class TrainingSessionAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["date", "athlete", "session_type", "duration_min", "rpe", "load_au"]
    list_filter = ["session_type"]
    list_select_related = ["athlete"]
    search_fields = ATHLETE_SEARCH
    date_hierarchy = "date"


class SorenessEntryInline(ViewOnlyAdminMixin, admin.TabularInline):
    model = SorenessEntry


@admin.register(SorenessReport)
class SorenessReportAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["reported_at", "athlete", "date", "fatigue", "general_soreness"]
    list_filter = ["entries__kind", "entries__flagged"]
    list_select_related = ["athlete"]
    search_fields = ATHLETE_SEARCH
    date_hierarchy = "date"
    inlines = [SorenessEntryInline]


@admin.register(Injury)
class InjuryAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["onset_date", "athlete", "muscle_group", "side", "status", "resolved_date"]
    list_filter = ["status", "muscle_group"]
    list_select_related = ["athlete", "muscle_group"]
    search_fields = ATHLETE_SEARCH
    date_hierarchy = "onset_date"


class TreatedAreaInline(ViewOnlyAdminMixin, admin.TabularInline):
    model = TreatedArea


class MassageAmendmentInline(ViewOnlyAdminMixin, admin.TabularInline):
    model = MassageAmendment


@admin.register(MassageSession)
class MassageSessionAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "scheduled_at",
        "athlete",
        "therapist",
        "session_type",
        "status",
        "completed_at",
    ]
    list_filter = ["status", "session_type", ("therapist", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["athlete", "therapist"]
    search_fields = ["athlete__email", "athlete__full_name"]
    date_hierarchy = "scheduled_at"
    # Clinical notes are private to the athlete and their therapists (DESIGN.md section 1).
    exclude = ["clinical_notes"]
    inlines = [TreatedAreaInline, MassageAmendmentInline]
