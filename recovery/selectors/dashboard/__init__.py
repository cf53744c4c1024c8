"""Team views for staff (issue 6): the team dashboard, the soreness heat map and the therapist's
queue. Reads only. Each answers in a fixed number of queries whatever the number of athletes and
returns plain JSON-ready dicts, which `recovery.serializers.dashboard` documents.

- `athletes`: each athlete's part of the views (dashboard row, summary and queue inputs), served
  from the athlete's stored state while current, else computed in one batch and stored;
- `team`: who may read a team's views, which day, the dashboard and the heat map;
- `queue`: the therapist's queue;
- `shapes`: the constants and the response shapes.
"""

from recovery.selectors.dashboard.athletes import urgency_components
from recovery.selectors.dashboard.queue import therapist_queue
from recovery.selectors.dashboard.shapes import (
    DECIMALS,
    EARLIEST_DAY,
    HEATMAP_DEFAULT_DAYS,
    HEATMAP_MAX_DAYS,
    INJURY_POINTS,
    MAX_DAYS_AHEAD,
    NO_REPORT_WINDOW,
    OPEN_FLAG_POINTS,
    SORE_WINDOW,
    TOP_SORE_GROUPS_PER_ATHLETE,
    TOP_SORE_GROUPS_PER_TEAM,
    WELLNESS_LATEST_MAX_AGE_DAYS,
)
from recovery.selectors.dashboard.team import (
    as_of_day,
    soreness_heatmap,
    team_dashboard,
    team_for_staff,
    team_zone,
)

__all__ = [
    "DECIMALS",
    "EARLIEST_DAY",
    "HEATMAP_DEFAULT_DAYS",
    "HEATMAP_MAX_DAYS",
    "INJURY_POINTS",
    "MAX_DAYS_AHEAD",
    "NO_REPORT_WINDOW",
    "OPEN_FLAG_POINTS",
    "SORE_WINDOW",
    "TOP_SORE_GROUPS_PER_ATHLETE",
    "TOP_SORE_GROUPS_PER_TEAM",
    "WELLNESS_LATEST_MAX_AGE_DAYS",
    "as_of_day",
    "soreness_heatmap",
    "team_dashboard",
    "team_for_staff",
    "team_zone",
    "therapist_queue",
    "urgency_components",
]
