"""Where the next massage / neuromuscular therapy session should focus, and why (DESIGN section 4).

Pure: values in, values out. No Django, no clock (``now`` is passed in), no I/O, no randomness; the
same inputs always give the same output, whatever the order of the input sequences. The formula, the
rules and their practice sources are in docs/recommendation.md.

Sides: a group without sides (``has_sides=False``) is always ranked with ``side=None``. A sided
group is assessed per side (left, right); an input with side ``BOTH`` or ``None`` applies to both
sides. When both sides come out identical they are reported once with ``Side.BOTH`` (so a
maintenance item of a sided group is ``BOTH``); otherwise each side is its own item.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Final, TypeVar

from recovery.domain.metrics import RiskBand, risk_band


class Side(StrEnum):
    LEFT = "left"
    RIGHT = "right"
    BOTH = "both"


class Technique(StrEnum):
    TRIGGER_POINT = "trigger_point"
    MUSCLE_ENERGY = "muscle_energy"
    MYOFASCIAL_RELEASE = "myofascial_release"
    EFFLEURAGE_FLUSH = "effleurage_flush"
    STRETCHING = "stretching"


class Pressure(StrEnum):
    LIGHT = "light"
    MODERATE = "moderate"
    FIRM = "firm"


class SorenessKind(StrEnum):
    DOMS = "doms"
    TIGHTNESS = "tightness"
    PAIN = "pain"


class InjuryStatus(StrEnum):
    ACTIVE = "active"
    REHAB = "rehab"
    RESOLVED = "resolved"  # accepted and ignored, so callers may pass every injury


class SessionMode(StrEnum):
    STANDARD = "standard"
    PRE_MATCH_LIGHT = "pre_match_light"  # match within 24 h
    PRE_EVENT = "pre_event"  # match within 2 h
    POST_MATCH = "post_match"  # 24-72 h after a match


class AvoidReason(StrEnum):
    INJURY_ACTIVE = "injury_active"
    INJURY_REHAB = "injury_rehab"
    INJURY_REPORTED = "injury_reported"
    PAIN_FLAG = "pain_flag"


class WarningCode(StrEnum):
    INJURY_ACTIVE = "injury_active"
    INJURY_REHAB = "injury_rehab"
    INJURY_REPORTED = "injury_reported"
    PAIN_FLAG = "pain_flag"
    PRE_EVENT_ONLY = "pre_event_only"
    MATCH_WITHIN_24H = "match_within_24h"
    POST_MATCH_WINDOW = "post_match_window"
    RECENT_MATCH = "recent_match"
    ACWR_HIGH = "acwr_high"
    ACWR_CAUTION = "acwr_caution"
    LOAD_SPIKE = "load_spike"
    MAINTENANCE_ONLY = "maintenance_only"
    RECENTLY_TREATED = "recently_treated"  # item level
    EARLIER_FLAG = "earlier_flag"  # item level


# --- Weights and windows (hours unless the name says otherwise) -------------------------------
# Soreness: 1 point per severity level, so the soreness term spans 0-10 and every other term is
# sized against it.
SORENESS_POINTS_PER_LEVEL: Final = 1.0
# DOMS onset 12-24 h, peak 24-48 h: a report up to 48 h old describes soreness at or before its
# peak, so it counts in full.
DOMS_FULL_WEIGHT_H: Final = 48.0
# DOMS fades over 5-7 days: the weight falls linearly to 0 at 7 days; older reports are ignored.
DOMS_ZERO_WEIGHT_H: Final = 168.0
# Maintenance (demand x exposure x treatment gap) is at most 1 point at usual load and 1.5 in a
# spike: any soreness of 2/10 or more reported in the last 48 h outranks it, so soreness dominates
# demand and a sore group the sport does not load still ranks high.
MAINTENANCE_POINTS: Final = 1.0
# Acute/chronic load ratio, clamped: a rest week halves the load term at most, and past 1.5 (the
# "high" ACWR band) a larger spike adds nothing more.
EXPOSURE_MIN: Final = 0.5
EXPOSURE_MAX: Final = 1.5
# Maintenance intervals in team settings are about 1-2 weeks: past 14 days no extra urgency.
TREATMENT_GAP_CAP_DAYS: Final = 14.0
# A just-treated group keeps a quarter of its maintenance priority, so demand still orders the list.
TREATMENT_GAP_FLOOR: Final = 0.25
# Tissue worked within 48 h is not worked deeply again (post-massage soreness settles in 24-48 h):
# the penalty falls linearly from 2 points just after treatment to 0 at 48 h.
RECENT_TREATMENT_WINDOW_H: Final = 48.0
RECENT_TREATMENT_PENALTY_POINTS: Final = 2.0
# Follow-up of the last treatment, if within 28 days: pain not meaningfully improved (less than
# 2 points and less than 30 %, Farrar et al. 2001) keeps the group in focus; trigger points found
# then deserve a re-check.
FOLLOW_UP_WINDOW_DAYS: Final = 28.0
PAIN_NOT_IMPROVED_POINTS: Final = 1.5
PAIN_MCID_POINTS: Final = 2
PAIN_MCID_FRACTION: Final = 0.3
TRIGGER_POINT_FOLLOW_UP_POINTS: Final = 0.5
# 24-72 h after a match, rising soreness ranks first: 20 exceeds every other term together
# (10 + 1.5 + 1.5 + 0.5 = 13.5), so the boost is a tier, not a nudge.
POST_MATCH_RISING_BOOST: Final = 20.0
# Massage eases DOMS most when given 24-72 h after the exercise (Guo et al. 2017).
POST_MATCH_FROM_H: Final = 24.0
POST_MATCH_TO_H: Final = 72.0
# Before a match: within 2 h only pre-event work; within 24 h only short, light work (DESIGN 4).
PRE_EVENT_H: Final = 2.0
PRE_MATCH_H: Final = 24.0
# Acute-injury window (PRICE/POLICE: protect for the first 48-72 h): pain >= 7 or an injury mark
# in it means "refer / assess first".
ACUTE_INJURY_WINDOW_H: Final = 72.0
PAIN_FLAG_SEVERITY: Final = 7
# Technique thresholds: pain 3-6 is a localised tender point worth trigger-point work; tightness
# from 4/10 suggests restricted range of motion (MET), milder tightness a stretch; tightness in 3
# or more groups of one body region is broad tension (myofascial release).
PAIN_TRIGGER_POINT_MIN: Final = 3
TIGHTNESS_MET_MIN: Final = 4
BROAD_TENSION_MIN_GROUPS: Final = 3
# Demand words for appendix B levels stored as level / 3 (0.33, 0.67, 1.0): the cut-offs sit
# between the levels. Exposure above 1.3 is the "caution" ACWR band, from 1.5 the "high" one.
HIGH_DEMAND: Final = 0.6
VERY_HIGH_DEMAND: Final = 0.9
MODERATE_DEMAND: Final = 0.3
HIGH_EXPOSURE_RATIO: Final = 1.3
LOAD_SPIKE_RATIO: Final = 1.5
# Minutes per group, typical of each technique; before a match, short: at most 5 groups, so a
# pre-event session is about 10 min and a pre-match one about 20.
MINUTES_BY_TECHNIQUE: Final[Mapping[Technique, int]] = {
    Technique.TRIGGER_POINT: 8,
    Technique.MUSCLE_ENERGY: 6,
    Technique.MYOFASCIAL_RELEASE: 8,
    Technique.EFFLEURAGE_FLUSH: 5,
    Technique.STRETCHING: 5,
}
PRE_EVENT_MINUTES: Final = 2
PRE_MATCH_MINUTES: Final = 4
MODE_MAX_ITEMS: Final[Mapping[SessionMode, int]] = {
    SessionMode.PRE_EVENT: 5,
    SessionMode.PRE_MATCH_LIGHT: 5,
}
SCORE_DECIMALS: Final = 3


# --- Inputs -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class MuscleGroupRef:
    code: str
    name: str
    has_sides: bool
    region: str | None = None  # body region; tightness in several groups of one region is "broad"


@dataclass(frozen=True)
class SorenessSignal:
    muscle_group: str
    side: Side | None
    severity: int  # 0-10
    kind: SorenessKind
    injury: bool
    reported_at: datetime


@dataclass(frozen=True)
class TreatmentRecord:
    muscle_group: str
    side: Side | None
    treated_at: datetime
    technique: Technique
    trigger_points_found: int
    pain_before: int | None
    pain_after: int | None


@dataclass(frozen=True)
class InjurySignal:
    muscle_group: str
    side: Side | None
    status: InjuryStatus


@dataclass(frozen=True)
class LoadContext:
    acwr: float | None = None
    risk_band: str | None = None  # "low", "moderate", "caution", "high"
    acute_au: float | None = None
    chronic_au: float | None = None
    last_match_at: datetime | None = None
    next_match_at: datetime | None = None


# --- Outputs ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class WarningItem:
    code: WarningCode
    message: str


@dataclass(frozen=True)
class ScoreComponents:
    """The parts of a score, each rounded to 3 decimals; the score is computed unrounded:

    score = post_match_boost + max(0, soreness + maintenance + follow_up - recent_treatment_penalty)
    maintenance = MAINTENANCE_POINTS x demand x exposure x treatment_gap
    """

    soreness: float
    demand: float
    exposure: float
    treatment_gap: float
    maintenance: float
    follow_up: float
    post_match_boost: float
    recent_treatment_penalty: float


@dataclass(frozen=True)
class FocusItem:
    rank: int
    muscle_group: str
    name: str
    side: Side | None
    score: float
    components: ScoreComponents
    reasons: tuple[str, ...]
    technique: Technique
    pressure: Pressure
    minutes: int
    warnings: tuple[WarningItem, ...]
    summary: str


@dataclass(frozen=True)
class AvoidItem:
    muscle_group: str
    name: str
    side: Side | None
    reason_code: AvoidReason
    reason: str


@dataclass(frozen=True)
class Recommendation:
    generated_at: datetime
    session_mode: SessionMode
    duration_min: int
    warnings: tuple[WarningItem, ...]
    focus: tuple[FocusItem, ...]
    avoid: tuple[AvoidItem, ...]


# --- Public helpers -------------------------------------------------------------------------------
def doms_time_course_weight(hours_since_report: float) -> float:
    """Weight of a soreness report by its age: 1 up to 48 h, then linearly down to 0 at 7 days."""
    hours = max(0.0, hours_since_report)
    if hours <= DOMS_FULL_WEIGHT_H:
        return 1.0
    if hours >= DOMS_ZERO_WEIGHT_H:
        return 0.0
    return 1.0 - (hours - DOMS_FULL_WEIGHT_H) / (DOMS_ZERO_WEIGHT_H - DOMS_FULL_WEIGHT_H)


def treatment_gap_factor(hours_since_treated: float | None) -> float:
    """0.25 just after treatment rising linearly to 1 at 14 days; 1 when never treated."""
    if hours_since_treated is None:
        return 1.0
    days = min(max(0.0, hours_since_treated) / 24.0, TREATMENT_GAP_CAP_DAYS)
    return TREATMENT_GAP_FLOOR + (1.0 - TREATMENT_GAP_FLOOR) * days / TREATMENT_GAP_CAP_DAYS


# --- Internals --------------------------------------------------------------------------------
_Unit = tuple[str, Side | None]
_T = TypeVar("_T", FocusItem, AvoidItem)
_PRESSURES = (Pressure.LIGHT, Pressure.MODERATE, Pressure.FIRM)
_KIND_WORD = {
    SorenessKind.DOMS: "soreness",
    SorenessKind.TIGHTNESS: "tightness",
    SorenessKind.PAIN: "pain",
}
_TECHNIQUE_WORD = {
    Technique.TRIGGER_POINT: "trigger-point therapy",
    Technique.MUSCLE_ENERGY: "muscle energy technique",
    Technique.MYOFASCIAL_RELEASE: "myofascial release",
    Technique.EFFLEURAGE_FLUSH: "flush / effleurage",
    Technique.STRETCHING: "stretching",
}
_AVOID_WHY = {
    AvoidReason.INJURY_ACTIVE: "active injury",
    AvoidReason.INJURY_REHAB: "injury in rehab",
    AvoidReason.INJURY_REPORTED: f"injury reported in the last {ACUTE_INJURY_WINDOW_H:.0f} h",
    AvoidReason.PAIN_FLAG: (
        f"pain of {PAIN_FLAG_SEVERITY}/10 or more in the last {ACUTE_INJURY_WINDOW_H:.0f} h"
    ),
}
_REFER = "no massage there; refer / assess first"
_MESSAGES: Mapping[WarningCode, str] = {
    WarningCode.PRE_EVENT_ONLY: (
        "Match in {hours} h: pre-event massage only - brisk, light, about 10 min in all, "
        "followed by the athlete's warm-up."
    ),
    WarningCode.MATCH_WITHIN_24H: (
        "Match in {hours} h: short, light work only (flush / effleurage); "
        "no trigger-point work, muscle energy technique or deep pressure."
    ),
    WarningCode.POST_MATCH_WINDOW: (
        "Match {hours} h ago: 24-72 h after a match is when massage eases soreness most; "
        "groups with rising soreness rank first."
    ),
    WarningCode.RECENT_MATCH: (
        "Match {hours} h ago: keep to a light post-event flush; deeper work from 24 h after."
    ),
    WarningCode.ACWR_HIGH: "Load in the high band{acwr}: pressure capped at moderate.",
    WarningCode.ACWR_CAUTION: "Load in the caution band{acwr}.",
    WarningCode.LOAD_SPIKE: "Load spike ({detail}): it lands on the groups the sport loads most.",
    WarningCode.MAINTENANCE_ONLY: (
        "No current soreness on the groups in focus: maintenance ranking by sport demand, "
        "training load and time since last treated."
    ),
    WarningCode.RECENTLY_TREATED: "Treated {ago}: no repeat deep work on this tissue within 48 h.",
    WarningCode.EARLIER_FLAG: "{what} {ago}: check before deep work; start light.",
    **{
        WarningCode(r.value): why.capitalize() + ": {groups} - " + _REFER + "."
        for r, why in _AVOID_WHY.items()
    },
}


@dataclass(frozen=True)
class _Report:
    """All entries of one unit (group, side) reported at one instant, most severe first."""

    at: datetime
    hours: float
    entries: tuple[SorenessSignal, ...]

    @property
    def severity(self) -> int:
        return self.entries[0].severity


@dataclass(frozen=True)
class _LastTreatment:
    hours: float
    trigger_points: int
    pain_before: int | None
    pain_after: int | None


@dataclass(frozen=True)
class _Context:
    mode: SessionMode
    exposure: float
    load_note: str | None
    band: str | None
    last_match_at: datetime | None
    post_match: bool  # 24-72 h after the last match
    recent_match: bool  # 0-24 h after the last match
    sport: str


def _warn(code: WarningCode, **values: object) -> WarningItem:
    return WarningItem(code, _MESSAGES[code].format(**values))


def _hours(now: datetime, then: datetime) -> float:
    return max(0.0, (now - then).total_seconds() / 3600.0)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) and value >= 0 else None


def _level(value: int) -> int:
    return min(max(value, 0), 10)


def _ago(hours: float) -> str:
    if hours < 1:
        return "within the last hour"
    if hours < 24:
        return f"{int(hours)} h ago"
    return "yesterday" if hours < 48 else f"{int(hours // 24)} days ago"


def _sides(group: MuscleGroupRef, side: Side | None) -> tuple[Side | None, ...]:
    if not group.has_sides:
        return (None,)
    return (Side(side),) if side in (Side.LEFT, Side.RIGHT) else (Side.LEFT, Side.RIGHT)


def _side_key(side: Side | None) -> str:
    return "" if side is None else side.value


def _label(name: str, side: Side | None) -> str:
    if side is None:
        return name
    return f"{name} ({'both sides' if side is Side.BOTH else side.value})"


def _cap(pressure: Pressure, limit: Pressure) -> Pressure:
    return min(pressure, limit, key=_PRESSURES.index)


def _demand_level(demand: float) -> str:
    if demand >= VERY_HIGH_DEMAND:
        return "very high"
    if demand >= HIGH_DEMAND:
        return "high"
    return "moderate" if demand >= MODERATE_DEMAND else "low"


def _entry_order(entry: SorenessSignal) -> tuple[int, str, bool]:
    return (-entry.severity, entry.kind.value, not entry.injury)


def _context(now: datetime, load: LoadContext, sport: str) -> tuple[_Context, list[WarningItem]]:
    warnings: list[WarningItem] = []
    to_next = since_last = None
    if load.next_match_at is not None:
        to_next = (load.next_match_at - now).total_seconds() / 3600
    if load.last_match_at is not None:
        since_last = (now - load.last_match_at).total_seconds() / 3600
    mode = SessionMode.STANDARD
    if to_next is not None and 0 <= to_next <= PRE_EVENT_H:
        mode = SessionMode.PRE_EVENT
        warnings.append(_warn(WarningCode.PRE_EVENT_ONLY, hours=f"{to_next:.1f}"))
    elif to_next is not None and 0 <= to_next <= PRE_MATCH_H:
        mode = SessionMode.PRE_MATCH_LIGHT
        warnings.append(_warn(WarningCode.MATCH_WITHIN_24H, hours=f"{to_next:.0f}"))
    post_match = recent_match = False
    if since_last is not None and POST_MATCH_FROM_H <= since_last <= POST_MATCH_TO_H:
        post_match = True
        mode = SessionMode.POST_MATCH if mode is SessionMode.STANDARD else mode
        warnings.append(_warn(WarningCode.POST_MATCH_WINDOW, hours=f"{since_last:.0f}"))
    elif since_last is not None and 0 <= since_last < POST_MATCH_FROM_H:
        recent_match = True
        warnings.append(_warn(WarningCode.RECENT_MATCH, hours=f"{since_last:.0f}"))
    acwr = _finite(load.acwr)
    band = load.risk_band if load.risk_band is not None else risk_band(acwr)
    shown = f" (ACWR {acwr:.2f})" if acwr is not None else ""
    if band == RiskBand.HIGH:
        warnings.append(_warn(WarningCode.ACWR_HIGH, acwr=shown))
    elif band == RiskBand.CAUTION:
        warnings.append(_warn(WarningCode.ACWR_CAUTION, acwr=shown))
    acute, chronic = _finite(load.acute_au), _finite(load.chronic_au)
    raw, detail = None, ""
    if acute is not None and chronic and math.isfinite(acute / chronic):
        raw, detail = acute / chronic, f"acute {acute:.0f} AU vs chronic {chronic:.0f} AU"
    elif acwr is not None:
        raw, detail = acwr, f"ACWR {acwr:.2f}"
    note = None
    if raw is not None and abs(raw - 1.0) >= 0.1:
        direction = "up" if raw > 1 else "down"
        note = f"training load {direction} {abs(raw - 1.0):.0%} on usual ({detail})"
    if raw is not None and raw > LOAD_SPIKE_RATIO:
        warnings.append(_warn(WarningCode.LOAD_SPIKE, detail=detail))
    exposure = 1.0 if raw is None else min(max(raw, EXPOSURE_MIN), EXPOSURE_MAX)
    context = _Context(
        mode=mode,
        exposure=exposure,
        load_note=note,
        band=band,
        last_match_at=load.last_match_at,
        post_match=post_match,
        recent_match=recent_match,
        sport=sport or "this sport",
    )
    return context, warnings


def _collect_reports(
    now: datetime, catalogue: Mapping[str, MuscleGroupRef], soreness: Sequence[SorenessSignal]
) -> dict[_Unit, list[_Report]]:
    grouped: dict[_Unit, dict[datetime, list[SorenessSignal]]] = {}
    for signal in soreness:
        group = catalogue.get(signal.muscle_group)
        if group is None or _hours(now, signal.reported_at) >= DOMS_ZERO_WEIGHT_H:
            continue
        # Enums are re-made from their values, so plain strings from the database work too.
        clean = signal
        if type(signal.kind) is not SorenessKind or not 0 <= signal.severity <= 10:
            clean = replace(
                signal, severity=_level(signal.severity), kind=SorenessKind(signal.kind)
            )
        for side in _sides(group, signal.side):
            by_time = grouped.setdefault((group.code, side), {})
            by_time.setdefault(signal.reported_at, []).append(clean)
    return {
        unit: [
            _Report(at, _hours(now, at), tuple(sorted(by_time[at], key=_entry_order)))
            for at in sorted(by_time)
        ]
        for unit, by_time in grouped.items()
    }


def _collect_treatments(
    now: datetime, catalogue: Mapping[str, MuscleGroupRef], treatments: Sequence[TreatmentRecord]
) -> dict[_Unit, _LastTreatment]:
    """The last treatment of each unit; records at the same instant merge (max of each number)."""
    latest: dict[_Unit, list[TreatmentRecord]] = {}
    for record in treatments:
        group = catalogue.get(record.muscle_group)
        for side in _sides(group, record.side) if group is not None else ():
            kept = latest.setdefault((record.muscle_group, side), [])
            if kept and record.treated_at > kept[0].treated_at:
                kept.clear()
            if not kept or record.treated_at == kept[0].treated_at:
                kept.append(record)
    return {unit: _merge_last(now, records) for unit, records in latest.items()}


def _merge_last(now: datetime, records: Sequence[TreatmentRecord]) -> _LastTreatment:
    """The records of a unit's last instant as one treatment (the max of each number)."""
    before = [_level(r.pain_before) for r in records if r.pain_before is not None]
    after = [_level(r.pain_after) for r in records if r.pain_after is not None]
    return _LastTreatment(
        hours=_hours(now, records[0].treated_at),
        trigger_points=max(max(r.trigger_points_found, 0) for r in records),
        pain_before=max(before, default=None),
        pain_after=max(after, default=None),
    )


def _last_treatment(
    now: datetime, group: MuscleGroupRef, side: Side | None, records: Sequence[TreatmentRecord]
) -> _LastTreatment | None:
    """``_collect_treatments(...)[(group.code, side)]`` from the records of that group only."""
    kept: list[TreatmentRecord] = []
    for record in records:
        if side in _sides(group, record.side):
            if kept and record.treated_at > kept[0].treated_at:
                kept.clear()
            if not kept or record.treated_at == kept[0].treated_at:
                kept.append(record)
    return _merge_last(now, kept) if kept else None


def _collect_injuries(
    catalogue: Mapping[str, MuscleGroupRef], injuries: Sequence[InjurySignal]
) -> dict[_Unit, InjuryStatus]:
    injured: dict[_Unit, InjuryStatus] = {}
    for injury in injuries:
        group = catalogue.get(injury.muscle_group)
        status = InjuryStatus(injury.status)
        if group is None or status is InjuryStatus.RESOLVED:
            continue
        for side in _sides(group, injury.side):
            if injured.get((group.code, side)) is not InjuryStatus.ACTIVE:
                injured[(group.code, side)] = status
    return injured


def _flags(reports: Sequence[_Report]) -> list[tuple[_Report, SorenessSignal]]:
    """Entries that raise a flag (pain >= 7 or an injury mark), latest and most serious last."""
    return sorted(
        (
            (report, entry)
            for report in reports
            for entry in report.entries
            if entry.injury
            or (entry.kind is SorenessKind.PAIN and entry.severity >= PAIN_FLAG_SEVERITY)
        ),
        key=lambda pair: (pair[0].at, pair[1].injury, pair[1].severity),
    )


def _avoid(
    group: MuscleGroupRef, side: Side | None, status: InjuryStatus | None, reports: list[_Report]
) -> AvoidItem | None:
    reason: AvoidReason | None = None
    if status is InjuryStatus.ACTIVE:
        reason, why = AvoidReason.INJURY_ACTIVE, "active injury"
    elif status is InjuryStatus.REHAB:
        reason, why = AvoidReason.INJURY_REHAB, "injury in rehab"
    else:
        flags = _flags([r for r in reports if r.hours <= ACUTE_INJURY_WINDOW_H])
        if flags:
            report, entry = flags[-1]
            reason = AvoidReason.INJURY_REPORTED if entry.injury else AvoidReason.PAIN_FLAG
            what = "marked as injury" if entry.injury else f"pain {entry.severity}/10"
            why = f"{what} {_ago(report.hours)}"
    if reason is None:
        return None
    return AvoidItem(group.code, group.name, side, reason, f"{why}: {_REFER}")


def _pain_not_improved(last: _LastTreatment) -> bool:
    """Less than the clinically important change of 2 points and 30 % (Farrar et al. 2001)."""
    if not last.pain_before or last.pain_after is None:
        return False
    drop = last.pain_before - last.pain_after
    return drop < PAIN_MCID_POINTS and drop < PAIN_MCID_FRACTION * last.pain_before


def _technique(
    *,
    light_only: bool,
    worst: Mapping[SorenessKind, int],
    broad_tension: bool,
    tp_follow_up: bool,
    high_exposure: bool,
) -> tuple[Technique, str]:
    pain = worst.get(SorenessKind.PAIN, 0)
    tight = worst.get(SorenessKind.TIGHTNESS, 0)
    if light_only:
        return Technique.EFFLEURAGE_FLUSH, "light flush only"
    if pain >= PAIN_TRIGGER_POINT_MIN:
        return Technique.TRIGGER_POINT, f"localised pain {pain}/10"
    if tight > 0 and broad_tension:
        return Technique.MYOFASCIAL_RELEASE, "tightness across the body region"
    if tight >= TIGHTNESS_MET_MIN:
        return Technique.MUSCLE_ENERGY, f"tightness {tight}/10, range of motion restricted"
    if tight > 0:
        return Technique.STRETCHING, f"mild tightness {tight}/10"
    if any(worst.values()):
        return Technique.EFFLEURAGE_FLUSH, "general recovery of sore tissue"
    if tp_follow_up:
        return Technique.TRIGGER_POINT, "re-check last session's tender points"
    if high_exposure:
        return Technique.MYOFASCIAL_RELEASE, "broad tension from a load spike"
    return Technique.EFFLEURAGE_FLUSH, "general recovery"


@dataclass(frozen=True, slots=True)
class _Score:
    """The numbers behind a unit's score (``_unit_score``); ``_focus`` words them as reasons."""

    severity: int
    weight: float
    boost: float
    previous: int | None  # severity of the report before the latest, when the boost applies
    gap: float
    penalty: float
    trigger_points: bool  # the trigger-point follow-up applies
    pain_not_improved: bool
    soreness: float
    maintenance: float
    follow_up: float
    score: float


def _unit_score(
    ctx: _Context, demand: float, reports: list[_Report], last: _LastTreatment | None
) -> _Score:
    """Score of one unit (group, side), unrounded: the arithmetic ``_focus`` reports and
    ``top_focus`` ranks with, so both always agree."""
    latest = reports[-1] if reports else None
    severity = latest.severity if latest else 0
    weight = doms_time_course_weight(latest.hours) if latest else 0.0
    boost = 0.0
    previous = None
    since_match = ctx.last_match_at is not None and latest and latest.at >= ctx.last_match_at
    if ctx.post_match and since_match and severity > 0:
        previous = reports[-2].severity if len(reports) > 1 else None
        if previous is None or severity > previous:
            boost = POST_MATCH_RISING_BOOST
    gap = treatment_gap_factor(last.hours if last else None)
    follow_up = penalty = 0.0
    if last is not None and last.hours < RECENT_TREATMENT_WINDOW_H:
        penalty = RECENT_TREATMENT_PENALTY_POINTS * (1.0 - last.hours / RECENT_TREATMENT_WINDOW_H)
    trigger_points = pain_not_improved = False
    if last is not None and last.hours <= FOLLOW_UP_WINDOW_DAYS * 24:
        if last.trigger_points > 0:
            follow_up += TRIGGER_POINT_FOLLOW_UP_POINTS
            trigger_points = True
        if _pain_not_improved(last):
            follow_up += PAIN_NOT_IMPROVED_POINTS
            pain_not_improved = True
    soreness = SORENESS_POINTS_PER_LEVEL * severity * weight
    maintenance = MAINTENANCE_POINTS * demand * ctx.exposure * gap
    score = boost + max(0.0, soreness + maintenance + follow_up - penalty)
    return _Score(
        severity,
        weight,
        boost,
        previous,
        gap,
        penalty,
        trigger_points,
        pain_not_improved,
        soreness,
        maintenance,
        follow_up,
        score,
    )


def _focus(
    ctx: _Context,
    group: MuscleGroupRef,
    side: Side | None,
    demand: float,
    reports: list[_Report],
    last: _LastTreatment | None,
    broad_tension: bool,
) -> FocusItem:
    reasons: list[str] = []
    warnings: list[WarningItem] = []
    parts_ = _unit_score(ctx, demand, reports, last)
    latest = reports[-1] if reports else None
    severity, weight = parts_.severity, parts_.weight
    worst: dict[SorenessKind, int] = {}
    for entry in latest.entries if latest else ():
        worst.setdefault(entry.kind, entry.severity)  # entries come most severe first
    if latest and severity == 0:
        reasons.append(f"no soreness reported {_ago(latest.hours)}")
    elif latest:
        parts = " and ".join(f"{_KIND_WORD[k]} {v}/10" for k, v in worst.items() if v > 0)
        fading = f" (fading: counts {weight:.0%})" if weight < 1 else ""
        reasons.append(f"{parts} {_ago(latest.hours)}{fading}")
    if parts_.boost:
        if parts_.previous is None:
            reasons.append(f"new soreness since the match: {severity}/10")
        else:
            reasons.append(
                f"soreness rising since the match: {parts_.previous}/10 -> {severity}/10"
            )
    if demand > 0:
        reasons.append(f"{_demand_level(demand)} demand in {ctx.sport} ({demand:.2f})")
        reasons.extend([ctx.load_note] if ctx.load_note else [])
    else:
        reasons.append(f"not loaded by {ctx.sport}" + (", but sore" if severity > 0 else ""))
    if last is None:
        reasons.append("no treatment on record")
    elif last.hours < RECENT_TREATMENT_WINDOW_H:
        reasons.append(f"treated {_ago(last.hours)}: ranks lower")
        warnings.append(_warn(WarningCode.RECENTLY_TREATED, ago=_ago(last.hours)))
    else:
        reasons.append(f"{int(last.hours // 24)} days since last treated")
    tp_follow_up = parts_.trigger_points or parts_.pain_not_improved
    if last is not None and parts_.trigger_points:
        plural = "" if last.trigger_points == 1 else "s"
        reasons.append(f"{last.trigger_points} trigger point{plural} found last time")
    if last is not None and parts_.pain_not_improved:
        change = f"{last.pain_before}/10 -> {last.pain_after}/10"
        reasons.append(f"pain not improved last time ({change})")
    boost, gap, penalty, follow_up = parts_.boost, parts_.gap, parts_.penalty, parts_.follow_up
    flags = _flags(reports)  # the unit is not excluded, so any flag is older than 72 h
    if flags:
        report, entry = flags[-1]
        what = "Marked as injury" if entry.injury else f"Pain {entry.severity}/10"
        warnings.append(_warn(WarningCode.EARLIER_FLAG, what=what, ago=_ago(report.hours)))
    light_only = bool(flags) or ctx.mode in (SessionMode.PRE_EVENT, SessionMode.PRE_MATCH_LIGHT)
    technique, why = _technique(
        light_only=light_only,
        worst=worst,
        broad_tension=broad_tension,
        tp_follow_up=tp_follow_up,
        high_exposure=demand >= HIGH_DEMAND and ctx.exposure > HIGH_EXPOSURE_RATIO,
    )
    reasons.append(f"{_TECHNIQUE_WORD[technique]}: {why}")
    pressure = (
        Pressure.FIRM if severity < 4 else Pressure.MODERATE if severity < 7 else Pressure.LIGHT
    )
    if technique in (Technique.EFFLEURAGE_FLUSH, Technique.STRETCHING):
        pressure = _cap(pressure, Pressure.MODERATE)
    if penalty > 0 or ctx.post_match or ctx.recent_match or ctx.band == RiskBand.HIGH:
        pressure = _cap(pressure, Pressure.MODERATE)
    if light_only:
        pressure = Pressure.LIGHT
    minutes = MINUTES_BY_TECHNIQUE[technique]
    if ctx.mode is SessionMode.PRE_EVENT:
        minutes = PRE_EVENT_MINUTES
    elif ctx.mode is SessionMode.PRE_MATCH_LIGHT:
        minutes = PRE_MATCH_MINUTES
    soreness, maintenance, score = parts_.soreness, parts_.maintenance, parts_.score
    parts_of_score = (soreness, demand, ctx.exposure, gap, maintenance, follow_up, boost, penalty)
    return FocusItem(
        rank=0,
        muscle_group=group.code,
        name=group.name,
        side=side,
        score=round(score, SCORE_DECIMALS),
        components=ScoreComponents(*(round(p, SCORE_DECIMALS) for p in parts_of_score)),
        reasons=tuple(reasons),
        technique=technique,
        pressure=pressure,
        minutes=minutes,
        warnings=tuple(warnings),
        summary="",
    )


def _same_but_side(left: FocusItem | AvoidItem, right: FocusItem | AvoidItem) -> bool:
    """``replace(left, side=None) == replace(right, side=None)`` without building the copies:
    the same class and every other field equal (dataclass equality compares the fields)."""
    if type(left) is not type(right):
        return False
    mine, theirs = dict(vars(left)), dict(vars(right))
    mine["side"] = theirs["side"] = None
    return mine == theirs


def _merge_sides(by_side: Mapping[Side | None, _T]) -> list[_T]:
    """Left and right identical in everything but the side are reported once, as BOTH."""
    left, right = by_side.get(Side.LEFT), by_side.get(Side.RIGHT)
    if left is not None and right is not None and _same_but_side(left, right):
        return [replace(left, side=Side.BOTH)]
    return [by_side[side] for side in sorted(by_side, key=_side_key)]


def recommend(
    *,
    now: datetime,
    groups: Sequence[MuscleGroupRef],
    demand: Mapping[str, float],
    soreness: Sequence[SorenessSignal],
    treatments: Sequence[TreatmentRecord],
    injuries: Sequence[InjurySignal],
    load: LoadContext,
    sport_name: str = "",
    limit: int = 8,
) -> Recommendation:
    """Rank where the next session should focus, with reasons, technique, pressure and warnings.

    Signals on codes missing from ``groups`` are ignored; ``demand`` missing a code means 0.
    Raises ValueError on a negative limit or a duplicate group code.
    """
    if limit < 0:
        raise ValueError("limit must be >= 0")
    catalogue: dict[str, MuscleGroupRef] = {}
    for ref in groups:
        if ref.code in catalogue:
            raise ValueError(f"duplicate muscle group code: {ref.code}")
        catalogue[ref.code] = ref
    ctx, warnings = _context(now, load, sport_name)
    reports = _collect_reports(now, catalogue, soreness)
    last_treated = _collect_treatments(now, catalogue, treatments)
    injured = _collect_injuries(catalogue, injuries)
    tight: dict[str, set[str]] = {}
    for (code, _), unit_reports in reports.items():
        region = catalogue[code].region
        entries = unit_reports[-1].entries
        if region and any(e.kind is SorenessKind.TIGHTNESS and e.severity for e in entries):
            tight.setdefault(region, set()).add(code)
    focus: list[FocusItem] = []
    avoid: list[AvoidItem] = []
    for code in sorted(catalogue):
        group = catalogue[code]
        group_demand = min(_finite(demand.get(code)) or 0.0, 1.0)
        broad = len(tight.get(group.region or "", ())) >= BROAD_TENSION_MIN_GROUPS
        avoided: dict[Side | None, AvoidItem] = {}
        ranked: dict[Side | None, FocusItem] = {}
        for side in _sides(group, Side.BOTH):
            unit = (code, side)
            unit_reports = reports.get(unit, [])
            excluded = _avoid(group, side, injured.get(unit), unit_reports)
            if excluded is not None:
                avoided[side] = excluded
                continue
            last = last_treated.get(unit)
            ranked[side] = _focus(ctx, group, side, group_demand, unit_reports, last, broad)
        avoid.extend(_merge_sides(avoided))
        focus.extend(_merge_sides(ranked))
    focus.sort(key=lambda f: (-f.score, f.muscle_group, _side_key(f.side)))
    shown = focus[: min(limit, MODE_MAX_ITEMS.get(ctx.mode, limit))]
    focus = [
        replace(f, rank=i, summary=f"{_label(f.name, f.side)}: {', '.join(f.reasons)}")
        for i, f in enumerate(shown, start=1)
    ]
    for reason in AvoidReason:
        labels = [_label(a.name, a.side) for a in avoid if a.reason_code is reason]
        if labels:
            warnings.append(_warn(WarningCode(reason.value), groups=", ".join(labels)))
    if not any(f.components.soreness > 0 for f in focus):
        warnings.append(_warn(WarningCode.MAINTENANCE_ONLY))
    return Recommendation(
        generated_at=now,
        session_mode=ctx.mode,
        duration_min=sum(f.minutes for f in focus),
        warnings=tuple(warnings),
        focus=tuple(focus),
        avoid=tuple(avoid),
    )


def top_focus(
    *,
    now: datetime,
    groups: Sequence[MuscleGroupRef],
    demand: Mapping[str, float],
    soreness: Sequence[SorenessSignal],
    treatments: Sequence[TreatmentRecord],
    injuries: Sequence[InjurySignal],
    load: LoadContext,
    sport_name: str = "",
    limit: int = 8,
) -> FocusItem | None:
    """``recommend(...).focus[0]`` (None when the focus is empty) for the same arguments, without
    building the rest: dashboards and the therapist queue show only the top item. For many
    athletes, one ``TopFocusRanker`` does the per-catalogue work once."""
    return TopFocusRanker(groups).top(
        now=now,
        demand=demand,
        soreness=soreness,
        treatments=treatments,
        injuries=injuries,
        load=load,
        sport_name=sport_name,
        limit=limit,
    )


class TopFocusRanker:
    """``top_focus`` for many athletes over one catalogue.

    Units (group, side) are scored with the arithmetic of ``recommend`` (``_unit_score``), but only
    while an upper bound of their score can still reach the best one found: the post-match boost
    when it may apply, the latest soreness in full, maintenance with no treatment gap, and the
    largest follow-up when the group was treated within the follow-up window. A group with no
    report, injury or such treatment is "quiet": its bound is its maintenance term,
    ``demand x exposure``, exact when it was never treated, so quiet groups are taken in
    decreasing demand (sorted once per sport profile) and most never looked at. Only the winning
    group's items are built, and merged across sides as ``recommend`` does."""

    def __init__(self, groups: Sequence[MuscleGroupRef]):
        self.catalogue: dict[str, MuscleGroupRef] = {}
        for ref in groups:
            if ref.code in self.catalogue:
                raise ValueError(f"duplicate muscle group code: {ref.code}")
            self.catalogue[ref.code] = ref
        self.sides = {code: _sides(group, Side.BOTH) for code, group in self.catalogue.items()}
        self._profiles: dict[int, tuple[Mapping[str, float], dict[str, float], list[str]]] = {}

    def _profile(self, demand: Mapping[str, float]) -> tuple[dict[str, float], list[str]]:
        """Each group's demand (0-1) and the codes by decreasing demand, once per mapping."""
        kept = self._profiles.get(id(demand))
        if kept is not None and kept[0] is demand:
            return kept[1], kept[2]
        demands = {code: min(_finite(demand.get(code)) or 0.0, 1.0) for code in self.catalogue}
        order = sorted(self.catalogue, key=lambda code: (-demands[code], code))
        self._profiles[id(demand)] = (demand, demands, order)
        return demands, order

    def top(
        self,
        *,
        now: datetime,
        demand: Mapping[str, float],
        soreness: Sequence[SorenessSignal],
        treatments: Sequence[TreatmentRecord],
        injuries: Sequence[InjurySignal],
        load: LoadContext,
        sport_name: str = "",
        limit: int = 8,
    ) -> FocusItem | None:
        if limit < 0:
            raise ValueError("limit must be >= 0")
        catalogue = self.catalogue
        ctx, _ = _context(now, load, sport_name)
        if min(limit, MODE_MAX_ITEMS.get(ctx.mode, limit)) == 0:
            return None
        demands, by_demand = self._profile(demand)
        reports = _collect_reports(now, catalogue, soreness)
        injured = _collect_injuries(catalogue, injuries)
        treated: dict[str, list[TreatmentRecord]] = {}
        for record in treatments:
            treated.setdefault(record.muscle_group, []).append(record)
        follow_up_h = FOLLOW_UP_WINDOW_DAYS * 24
        recent = {
            code
            for code, records in treated.items()
            if any(_hours(now, r.treated_at) <= follow_up_h for r in records)
        }
        loud = {code for code, _ in reports} | {code for code, _ in injured} | recent
        best: tuple[float, str] | None = None  # (-rounded score, code): the smaller, the better

        def visit(code: str, side: Side | None) -> None:
            nonlocal best
            group = catalogue[code]
            unit = (code, side)
            unit_reports = reports.get(unit, [])
            if _avoid(group, side, injured.get(unit), unit_reports) is not None:
                return
            last = _last_treatment(now, group, side, treated.get(code, ()))
            score = _unit_score(ctx, demands[code], unit_reports, last).score
            key = (-round(score, SCORE_DECIMALS), code)
            if best is None or key < best:
                best = key

        boost = POST_MATCH_RISING_BOOST if ctx.post_match else 0.0
        most_follow_up = TRIGGER_POINT_FOLLOW_UP_POINTS + PAIN_NOT_IMPROVED_POINTS
        bounds: list[tuple[float, str, Side | None]] = []
        for code in loud:
            if code not in catalogue:
                continue
            maintenance = MAINTENANCE_POINTS * demands[code] * ctx.exposure * 1.0
            follow_up = most_follow_up if code in recent else 0.0
            for side in self.sides[code]:
                unit_reports = reports.get((code, side))
                soreness_max = (
                    SORENESS_POINTS_PER_LEVEL * unit_reports[-1].severity if unit_reports else 0.0
                )
                bound = (boost if unit_reports else 0.0) + max(
                    0.0, soreness_max + maintenance + follow_up - 0.0
                )
                bounds.append((round(bound, SCORE_DECIMALS), code, side))
        bounds.sort(key=lambda unit: (-unit[0], unit[1]))
        for bound, code, side in bounds:
            if best is not None and -bound > best[0]:
                break  # this and every later loud unit scores below the best
            visit(code, side)
        for code in by_demand:  # quiet groups, by decreasing demand
            if code in loud:
                continue
            maintenance = MAINTENANCE_POINTS * demands[code] * ctx.exposure * 1.0
            score = round(0.0 + max(0.0, 0.0 + maintenance + 0.0 - 0.0), SCORE_DECIMALS)
            if best is not None and -score > best[0]:
                break  # this and every later quiet group scores below the best
            if code in treated:  # treated before the follow-up window: a gap below 1
                for side in self.sides[code]:
                    visit(code, side)
            elif best is None or (-score, code) < best:
                best = (-score, code)  # never treated: the bound is the score
        if best is None:
            return None
        group = catalogue[best[1]]
        tight_codes = set()
        for (other, _), unit_reports in reports.items():
            if catalogue[other].region == group.region and any(
                e.kind is SorenessKind.TIGHTNESS and e.severity for e in unit_reports[-1].entries
            ):
                tight_codes.add(other)
        broad = bool(group.region) and len(tight_codes) >= BROAD_TENSION_MIN_GROUPS
        ranked: dict[Side | None, FocusItem] = {}
        for side in self.sides[group.code]:
            unit = (group.code, side)
            unit_reports = reports.get(unit, [])
            if _avoid(group, side, injured.get(unit), unit_reports) is None:
                last = _last_treatment(now, group, side, treated.get(group.code, ()))
                ranked[side] = _focus(
                    ctx, group, side, demands[group.code], unit_reports, last, broad
                )
        first = min(_merge_sides(ranked), key=lambda f: (-f.score, _side_key(f.side)))
        summary = f"{_label(first.name, first.side)}: {', '.join(first.reasons)}"
        return replace(first, rank=1, summary=summary)
