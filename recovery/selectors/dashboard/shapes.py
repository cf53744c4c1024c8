"""The team views' constants and shapes (JSON-ready dicts, documented field by field by
`recovery.serializers.dashboard`)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Final, TypedDict

from backend.api.renderers import JSONText
from recovery.models import InjuryStatus

# --- Windows and limits -------------------------------------------------------------------------
SORE_WINDOW: Final = timedelta(hours=72)
"""Soreness shown on the dashboard: the 72 h before the as-of moment (DOMS peaks 24-72 h after the
exercise; the acute-injury window of the recommendation rules is 72 h too)."""
NO_REPORT_WINDOW: Final = SORE_WINDOW
"""An athlete with no soreness report in the last 3 days (72 h) is listed in the summary."""
TOP_SORE_GROUPS_PER_ATHLETE: Final = 3
TOP_SORE_GROUPS_PER_TEAM: Final = 5
WELLNESS_LATEST_MAX_AGE_DAYS: Final = 28
"""The latest wellness report must be from the last 28 days: an older one says nothing about now."""
MAX_DAYS_AHEAD: Final = 1
"""The as-of day may be at most tomorrow in the team's time zone (clients a time zone ahead)."""
EARLIEST_DAY: Final = date(1900, 1, 1)
"""Earlier as-of days are a 400 (no records; and windows reaching before year 1 would overflow)."""
HEATMAP_DEFAULT_DAYS: Final = 7
HEATMAP_MAX_DAYS: Final = 90
DECIMALS: Final = 3

# --- Therapist queue urgency --------------------------------------------------------------------
# urgency = top focus score + OPEN_FLAG_POINTS x open flags + sum of INJURY_POINTS by status
# The top focus score (recommendation, DESIGN section 4) already ranks soreness, demand, load and
# time since treated: it spans about 0-13.5, plus 20 for rising soreness after a match.
OPEN_FLAG_POINTS: Final = 10.0
"""An open flag (pain >= 7 or an injury mark, not resolved) means "refer / assess first", and the
recommendation drops the flagged group from its focus, so the flag itself adds nothing to the top
focus score. Each open flag therefore weighs as much as the worst soreness (10/10, the top of the
soreness term): a flagged athlete ranks above any athlete with moderate soreness and level with
the sorest ones; only the post-match tier (20) ranks clearly above it."""
INJURY_POINTS: Final[Mapping[str, float]] = {
    InjuryStatus.ACTIVE: 3.0,
    InjuryStatus.REHAB: 1.0,
}
"""Per injury not resolved (also dropped from the focus): known and under management, so less
than a new flag. An active one weighs like 3/10 soreness (worth a check at the next session; the
threshold of trigger-point work in the recommendation), one in rehab 1 point (planned work)."""


# --- Shapes (JSON-ready; documented by recovery.serializers.dashboard) ---------------------------
class PersonRef(TypedDict):
    id: uuid.UUID
    name: str


class Value(TypedDict):
    value: float | None
    reason: str | None


class BandedValue(Value):
    risk_band: str | None


class AthleteLoad(TypedDict):
    day_load_au: float
    week_load_au: float
    history_days: int
    acwr: BandedValue
    acwr_ewma: BandedValue
    monotony: Value


class AthleteWellness(TypedDict):
    latest_total: int | None
    latest_on: date | None
    baseline_days: int
    baseline_mean: float | None
    z_score: Value
    direction: str | None


class SoreGroup(TypedDict):
    muscle_group: str
    name: str
    side: str | None
    max_severity: int
    kind: str
    reported_at: datetime


class InjuryRow(TypedDict):
    muscle_group: str
    name: str
    side: str | None
    status: str
    onset_date: date
    resolved_date: date | None


class TopFocus(TypedDict):
    muscle_group: str
    name: str
    side: str | None
    score: float
    reason: str | None
    technique: str


class AthleteRow(TypedDict):
    """A dashboard row without the athlete (whose name is read with the team, never stored)."""

    load: AthleteLoad
    wellness: AthleteWellness
    sore_groups: list[SoreGroup]
    open_flags: int
    injuries: list[InjuryRow]
    last_massage_on: date | None
    top_focus: TopFocus | None


class DashboardAthlete(AthleteRow):
    athlete: PersonRef
    computed_at: datetime


class TeamSoreGroup(TypedDict):
    muscle_group: str
    name: str
    entries: int
    athletes: int
    mean_severity: float


class UnreportedAthlete(TypedDict):
    athlete: PersonRef
    last_report_at: datetime | None


class TeamSummary(TypedDict):
    athletes: int
    risk_bands: dict[str, int]
    most_sore_groups: list[TeamSoreGroup]
    without_soreness_report: list[UnreportedAthlete]


class TeamDashboard(TypedDict):
    team: PersonRef
    date: date
    as_of: datetime
    time_zone: str
    summary: TeamSummary
    athletes: JSONText
    """The JSON array of `DashboardAthlete`s, spliced from the stored rows."""


class HeatmapCell(TypedDict):
    muscle_group: str
    name: str
    region: str
    view: str
    side: str | None
    entries: int
    athletes: int
    mean_severity: float
    max_severity: int


class SorenessHeatmap(TypedDict):
    team: PersonRef
    date_from: date
    date_to: date
    days: int
    cells: list[HeatmapCell]


class PlannedSession(TypedDict):
    id: uuid.UUID
    scheduled_at: datetime


class UrgencyComponents(TypedDict):
    focus: float
    open_flags: float
    injuries: float


class TherapistQueueItem(TypedDict):
    athlete: PersonRef
    team: PersonRef
    urgency: float
    urgency_components: UrgencyComponents
    top_focus: TopFocus | None
    open_flags: int
    active_injuries: int
    planned_session: PlannedSession | None
    computed_at: datetime


# --- What is stored per athlete (AthleteRecoveryState.views) --------------------------------------


class DashboardRow(AthleteRow):
    """A dashboard row as stored: the athlete's `DashboardAthlete` without `athlete`."""

    computed_at: datetime | str


class ViewSummary(TypedDict):
    """What the team summary adds up."""

    computed_at: datetime | str
    risk_band: str | None
    last_report_at: datetime | str | None
    unreported: bool
    sore: list[tuple[str, str, int, int]]
    """Sore entries of the 72 h per muscle group: code, name, entries, sum of severities."""


class QueueInputs(TypedDict):
    """What the therapist queue ranks by and shows."""

    open_flags: int
    """Flags open at `computed_at` (the dashboard's row counts those open at the end of the day)."""
    active_injuries: int
    rehab_injuries: int
    computed_at: datetime | str
    top_focus: TopFocus | None
    urgency: float
    urgency_components: UrgencyComponents
