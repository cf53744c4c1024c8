"""Realistic, reproducible demo data for ``python manage.py load_demo_data`` (DESIGN.md section 6).

What it builds: one club (``DEMO_ORGANISATION_NAME``) with teams in different sports and time
zones, each with a therapist, a coach, an admin and athletes; months of training ending today
(match weeks with a taper before and a recovery day after the match, a pre-season load spike
about four to five months back, an off-season before it, rest days), morning soreness reports
that follow the load (DOMS peaking 24-48 h after hard sessions on the groups the sport loads,
occasional tightness, rare pain), weekly massage sessions for about half of the athletes, a few
injuries (active, in rehab, resolved) with the pain reports that go with them, and planned
massage sessions for the next days.

Reproducible: every draw comes from a ``random.Random`` seeded with a string made of the seed
and the record's place (team slug, athlete number), and every id is drawn from that same stream,
so the same seed, catalogue and run time give the same rows and ids (with the same Python minor
version). The dates are relative to the day of the run ("today" in each team's time zone):
run it again tomorrow and every date moves by one day, while the shape (the spike 4-5 months
back, the weekly match day, the injuries a few days or weeks old) stays where it was. Today
holds only what has happened by the time of the run (no session or report later today). Not reproduced: the ``created_at`` /
``updated_at`` stamps, the password hash's salt and ``AthleteProfile``'s auto-increment id.

This bypasses the services on purpose: a demo of thousands of athletes has to be written with
``bulk_create`` in batches. So everything a service would derive is set here explicitly
(``load_au = rpe * duration_min``, ``flagged``, ``completed_at``/``signed_by``) and the tests
check those invariants on the generated rows.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Final
from zoneinfo import ZoneInfo

from django.db import models
from django.db.models import Q

from accounts.models import AthleteProfile, DominantSide, Membership, Organisation, Role, Team, User
from recovery.models import (
    PAIN_FLAG_SEVERITY,
    Injury,
    InjuryStatus,
    MassageAmendment,
    MassageSession,
    MassageStatus,
    MassageType,
    MuscleGroup,
    Pressure,
    SessionType,
    Side,
    SorenessEntry,
    SorenessKind,
    SorenessReport,
    Sport,
    SportDemand,
    SyncOp,
    Technique,
    TrainingSession,
    TreatedArea,
)
from recovery.services.daily_loads import refresh_daily_loads
from recovery.services.soreness import is_flagged
from recovery.sync import log as sync_log

DEMO_ORGANISATION_NAME: Final = "Riverside Athletic Club (demo)"
DEMO_EMAIL_DOMAIN: Final = "demo.recovery.example"  # .example is reserved (RFC 2606): never mailed
DEMO_PASSWORD: Final = "recovery-demo-2026"

DEFAULT_TEAMS: Final = 4
DEFAULT_ATHLETES: Final = 25
DEFAULT_DAYS: Final = 180
DEFAULT_SEED: Final = 7

BATCH_SIZE: Final = 2000  # rows per INSERT (the backend may cap it: SQLite allows 999 parameters)
FLUSH_ROWS: Final = 20_000  # rows kept in memory before they are written

# --- Season shape (days before today; the season repeats every 52 weeks) ---------------------
SEASON_DAYS: Final = 364
PRESEASON_DAYS_AGO: Final = range(122, 150)  # 4 weeks, 4-5 months back: the load spike
OFFSEASON_DAYS_AGO: Final = range(150, 178)  # 4 light weeks before pre-season
RACE_EVERY_WEEKS: Final = 3  # endurance squads race every third week, train long otherwise
PRESEASON_ENDURANCE_VOLUME: Final = 1.3  # endurance pre-season: the build week, 30% longer
OFFSEASON_SKIP_CHANCE: Final = 0.25  # off-season sessions are individual and often skipped
MISSED_SESSION_CHANCE: Final = 0.03  # illness, exams, travel
STARTER_SHARE: Final = 0.55  # athletes who play the whole match; the rest come off the bench
PLANNED_HORIZON_DAYS: Final = 4  # planned massage sessions this many days ahead

# --- Soreness (morning reports) ---------------------------------------------------------------
# Weight of a session's stimulus in the report k days later: the report is written in the
# morning, so k=1 is ~14-20 h after an afternoon session and k=2 ~38-44 h: DOMS peaks 24-48 h.
DOMS_KERNEL: Final[Mapping[int, float]] = {1: 0.7, 2: 1.0, 3: 0.4, 4: 0.15}
DOMS_THRESHOLD_AU: Final = 250  # sessions lighter than this leave no DOMS
DOMS_AU_PER_POINT: Final = 120.0
DOMS_SATURATION: Final = 8.0  # severity = 10 * (1 - exp(-drive / DOMS_SATURATION))
DOMS_SESSION_FACTOR: Final[Mapping[str, float]] = {  # eccentric and contact work hurts more
    SessionType.MATCH: 1.5,
    SessionType.STRENGTH: 1.3,
    SessionType.CONDITIONING: 1.0,
    SessionType.PRACTICE: 1.0,
    SessionType.OTHER: 0.8,
    SessionType.RECOVERY: 0.0,
}
NOVELTY_RANGE: Final = (0.8, 1.5)  # acute/chronic: unaccustomed load hurts more (repeated bout)
MAX_DOMS_ENTRIES: Final = 5
HARD_DAY_AU: Final = 450  # a report follows most days after a day this hard
EASY_DAY_REPORT_FACTOR: Final = 0.5  # ... and about half as often otherwise
TIGHTNESS_CHANCE: Final = 0.12
MILD_PAIN_CHANCE: Final = 0.015
SHARP_PAIN_CHANCE: Final = 0.003  # a pain entry >= 7 without an injury: flagged
NO_WELLNESS_CHANCE: Final = 0.08
FLAG_REVIEW_DAYS: Final = 2  # flags older than this have been reviewed by the therapist

# --- Massage --------------------------------------------------------------------------------
MASSAGE_REGULAR_SHARE: Final = 0.5  # athletes with a weekly session
MASSAGE_SKIP_CHANCE: Final = 0.06
MASSAGE_CANCEL_CHANCE: Final = 0.04
PRE_EVENT_CHANCE: Final = 0.12  # a short flush the day before a match
REHAB_TREATMENT_EVERY_DAYS: Final = 4
CONTRAINDICATION_DAYS: Final = 3  # no massage on a group with a pain flag in the last 72 h
MASSAGE_MINUTES: Final[Mapping[str, int]] = {
    MassageType.RECOVERY: 45,
    MassageType.POST_EVENT: 40,
    MassageType.PRE_EVENT: 20,
    MassageType.TREATMENT: 60,
}
NEXT_SESSION_IN_DAYS: Final[Mapping[str, int]] = {
    MassageType.RECOVERY: 7,
    MassageType.POST_EVENT: 7,
    MassageType.PRE_EVENT: 2,
    MassageType.TREATMENT: REHAB_TREATMENT_EVERY_DAYS,
}

# --- Injuries -------------------------------------------------------------------------------
INJURY_SHARE: Final = 0.12  # athletes per team with an injury in the period (at least one)
INJURY_STATUS_CYCLE: Final = (InjuryStatus.RESOLVED, InjuryStatus.ACTIVE, InjuryStatus.REHAB)


# =============================================================================================
# Weekly plans
# =============================================================================================


@dataclass(frozen=True, slots=True)
class Slot:
    """One session of a team's plan: type, minutes, target RPE (CR-10), local start time."""

    session_type: str
    minutes: int
    rpe: float
    start: time


def _slot(session_type: str, minutes: int, rpe: float, start: str) -> Slot:
    return Slot(session_type, minutes, rpe, time.fromisoformat(start))


_P, _S, _C = SessionType.PRACTICE, SessionType.STRENGTH, SessionType.CONDITIONING
_R, _O, _M = SessionType.RECOVERY, SessionType.OTHER, SessionType.MATCH

# Keyed by days to the next match day (0 = match day, 1 = the day before, 6 = the day after).
# The match itself comes from the sport's plan; the day after any match is DAY_AFTER_MATCH.
TEAM_MATCH_WEEK: Final[Mapping[int, tuple[Slot, ...]]] = {
    0: (),
    1: (_slot(_P, 50, 3.5, "10:30"),),  # MD-1: short and sharp (taper)
    2: (_slot(_P, 75, 5.5, "10:30"),),  # MD-2
    3: (_slot(_S, 45, 6, "09:00"), _slot(_P, 90, 7, "10:30")),  # MD-3: the hardest day
    4: (_slot(_P, 80, 6.5, "10:30"), _slot(_C, 25, 7.5, "12:15")),  # MD-4
    5: (),  # MD+2: rest
    6: (),  # MD+1: DAY_AFTER_MATCH
}
TEAM_PRESEASON_WEEK: Final[Mapping[int, tuple[Slot, ...]]] = {  # double sessions: the spike
    0: (_slot(_M, 70, 7.5, "11:00"),),  # friendly
    1: (_slot(_C, 50, 6.5, "09:00"), _slot(_P, 60, 5, "16:00")),
    2: (_slot(_S, 60, 7, "09:00"), _slot(_P, 90, 7, "16:00")),
    3: (_slot(_C, 60, 7.5, "09:00"), _slot(_P, 90, 7, "16:00")),
    4: (_slot(_R, 40, 3, "10:00"),),
    5: (_slot(_C, 60, 7, "09:00"), _slot(_P, 90, 6.5, "16:00")),
    6: (),
}
ENDURANCE_RACE_WEEK: Final[Mapping[int, tuple[Slot, ...]]] = {
    0: (),
    1: (_slot(_P, 25, 3, "08:00"),),  # shake-out (taper)
    2: (),
    3: (_slot(_P, 45, 4, "07:00"), _slot(_S, 40, 5, "17:00")),
    4: (_slot(_C, 60, 7.5, "07:00"),),  # intervals, shortened
    5: (_slot(_P, 50, 4, "07:00"),),
    6: (_slot(_P, 50, 3.5, "07:00"),),
}
ENDURANCE_BUILD_WEEK: Final[Mapping[int, tuple[Slot, ...]]] = {
    0: (_slot(_P, 110, 5.5, "07:00"),),  # long session
    1: (_slot(_P, 45, 4, "07:00"),),
    2: (),
    3: (_slot(_C, 60, 7, "07:00"),),  # tempo
    4: (_slot(_P, 60, 4, "07:00"), _slot(_S, 40, 5, "17:00")),
    5: (_slot(_C, 70, 8, "07:00"),),  # intervals
    6: (_slot(_P, 50, 3.5, "07:00"),),
}
OFFSEASON_WEEK: Final[Mapping[int, tuple[Slot, ...]]] = {
    0: (_slot(_O, 60, 4, "10:00"),),  # a pick-up game, a hike
    1: (),
    2: (_slot(_C, 40, 5, "09:00"),),
    3: (),
    4: (_slot(_S, 50, 5, "09:00"),),
    5: (),
    6: (_slot(_C, 40, 5, "09:00"),),
}
DAY_AFTER_MATCH: Final = (_slot(_R, 35, 2.5, "10:00"),)
REHAB_SESSION: Final = _slot(_O, 45, 4, "11:00")  # individual rehab instead of team training


@dataclass(frozen=True, slots=True)
class SportPlan:
    """How one team of the demo trains: its sport, zone, positions and match."""

    sport: str
    team_name: str
    time_zone: str
    positions: tuple[str, ...]
    match_weekday: int  # Monday = 0
    match: Slot
    endurance_kmh: float | None = None  # endurance squads: speed at RPE 5, for distance_km
    training_scale: float = 1.0  # training minutes relative to the weekly tables

    @property
    def slug(self) -> str:
        return self.sport.replace("_", "-")


MON, TUE, WED, THU, FRI, SAT, SUN = range(7)

# In the order teams are created; --teams beyond 12 reuses them with a number. Endurance squads
# (a speed for distance_km) race every RACE_EVERY_WEEKS weeks; the others play weekly.
# fmt: off
SPORT_PLANS: Final[tuple[SportPlan, ...]] = (
    SportPlan("football", "Riverside FC", "Europe/London", ("goalkeeper", "centre-back", "full-back", "midfielder", "winger", "striker"), SAT, _slot(_M, 95, 8.5, "15:00")),
    SportPlan("basketball", "Riverside Rockets", "America/Chicago", ("point guard", "shooting guard", "small forward", "power forward", "centre"), FRI, _slot(_M, 110, 8, "19:30")),
    SportPlan("distance_running", "Riverside Harriers", "Africa/Nairobi", ("1500 m", "5000 m", "10,000 m", "half marathon", "marathon"), SUN, _slot(_M, 75, 9, "07:00"), endurance_kmh=12.5),
    SportPlan("rugby", "Riverside RFC", "Pacific/Auckland", ("prop", "hooker", "lock", "flanker", "number 8", "scrum-half", "fly-half", "centre", "wing"), SAT, _slot(_M, 100, 8.8, "15:00")),
    SportPlan("volleyball", "Riverside Volleyball", "Europe/Rome", ("setter", "outside hitter", "opposite", "middle blocker", "libero"), SAT, _slot(_M, 100, 7.5, "18:00")),
    SportPlan("ice_hockey", "Riverside Ice Hawks", "America/Toronto", ("centre", "winger", "defence", "goaltender"), THU, _slot(_M, 90, 8.5, "19:00")),
    SportPlan("tennis", "Riverside Tennis", "Europe/Paris", ("singles", "doubles"), SUN, _slot(_M, 120, 8, "11:00")),
    SportPlan("swimming", "Riverside Swim Squad", "Australia/Sydney", ("freestyle", "backstroke", "breaststroke", "butterfly", "medley"), SAT, _slot(_M, 60, 9, "09:00"), endurance_kmh=3.2),
    SportPlan("rowing", "Riverside Rowing", "Europe/Amsterdam", ("stroke", "bow", "engine room", "sculler"), SAT, _slot(_M, 40, 9.5, "10:00"), endurance_kmh=12.0),
    SportPlan("cycling", "Riverside Cycling", "Europe/Madrid", ("climber", "sprinter", "rouleur", "time-trialist"), SUN, _slot(_M, 180, 8, "09:30"), endurance_kmh=32.0, training_scale=1.8),
    SportPlan("sprinting", "Riverside Sprint Group", "America/Jamaica", ("100 m", "200 m", "400 m", "110 m hurdles"), SAT, _slot(_M, 60, 9, "16:00")),
    SportPlan("baseball", "Riverside Pitchers", "Asia/Tokyo", ("starting pitcher", "relief pitcher", "closer"), SUN, _slot(_M, 150, 6.5, "13:00")),
)
# fmt: on

FIRST_NAMES: Final = (
    "Amara", "Ben", "Chloe", "Diego", "Elif", "Femi", "Grace", "Hiro", "Ines", "Jonas", "Kemi",
    "Liam", "Maya", "Nikolai", "Olivia", "Pavel", "Quinn", "Rosa", "Sami", "Tariq", "Uma",
    "Victor", "Wanjiru", "Xavier", "Yara", "Zane", "Aroha", "Bruno", "Cleo", "Dev",
)  # fmt: skip
LAST_NAMES: Final = (
    "Okafor", "Smith", "Nguyen", "Garcia", "Kowalski", "Haddad", "Brown", "Tanaka", "Rossi",
    "Kariuki", "Novak", "Walker", "Silva", "Moreau", "Jansen", "Ali", "Murphy", "Petrov",
    "Ngata", "Lindqvist", "Chen", "Mensah", "Fischer", "Costa", "Kaur", "Dubois", "Evans",
)  # fmt: skip
OPPONENTS: Final = ("Northgate", "Eastbridge", "Hillcrest", "Westfield", "Lakeside", "Southport")


# =============================================================================================
# Inputs and outputs
# =============================================================================================


@dataclass(frozen=True, slots=True)
class DemoOptions:
    teams: int = DEFAULT_TEAMS
    athletes: int = DEFAULT_ATHLETES
    days: int = DEFAULT_DAYS
    seed: int = DEFAULT_SEED
    team_sizes: tuple[int, ...] = ()
    """Athletes of each team, in team order; when given, it replaces `teams` x `athletes`
    (the benchmark's teams of 6, 60 and 600: `manage.py load_bench_data`)."""
    massage_share: float = MASSAGE_REGULAR_SHARE
    """Share of athletes with a weekly massage session."""


@dataclass(frozen=True, slots=True)
class DemoLogin:
    email: str
    role: str
    team: str


@dataclass(frozen=True, slots=True)
class DemoResult:
    counts: Mapping[str, int]
    logins: tuple[DemoLogin, ...]


@dataclass(frozen=True, slots=True)
class Catalogue:
    """What the generator needs from the seeded catalogue, read once."""

    codes: tuple[str, ...]  # every muscle group, in catalogue order
    has_sides: Mapping[str, bool]
    names: Mapping[str, str]
    demand: Mapping[str, Mapping[str, float]]  # sport -> group -> weight 0..1


def load_catalogue() -> Catalogue:
    """Three queries: groups, sports, demands (as edited in the admin)."""
    groups = list(
        MuscleGroup.objects.order_by("sort_order", "code").values_list("code", "name", "has_sides")
    )
    sports = Sport.objects.order_by("code").values_list("code", flat=True)
    demand: dict[str, dict[str, float]] = {code: {} for code in sports}
    rows = SportDemand.objects.order_by("sport_id", "muscle_group_id")
    for sport, group, weight in rows.values_list("sport_id", "muscle_group_id", "weight"):
        if weight > 0:
            demand[sport][group] = weight
    return Catalogue(
        codes=tuple(code for code, _, _ in groups),
        has_sides={code: sides for code, _, sides in groups},
        names={code: name for code, name, _ in groups},
        demand=demand,
    )


def demo_users() -> models.QuerySet[User]:
    """The demo users, also those erased since (GDPR erasure renames them `erased-<id>@invalid`
    and keeps their deactivated memberships). Their ids come from the seed, so a rebuild needs
    them gone. A real user invited into the demo club is not one of them."""
    erased_in_demo_club = Q(
        email__startswith="erased-",
        email__endswith="@invalid",
        memberships__team__organisation__name=DEMO_ORGANISATION_NAME,
    )
    return User.objects.filter(
        Q(email__endswith=f".{DEMO_EMAIL_DOMAIN}") | erased_in_demo_club
    ).distinct()


def demo_data_exists() -> bool:
    return (
        Organisation.objects.filter(name=DEMO_ORGANISATION_NAME).exists() or demo_users().exists()
    )


def delete_demo_data() -> None:
    """Delete the demo organisation and every demo user with their records, children first so
    that each step is one set-based DELETE rather than Django collecting the rows in memory."""
    # Read once: deleting the organisation takes the memberships that find erased demo users.
    users = list(demo_users().values_list("pk", flat=True))
    TreatedArea.objects.filter(session__athlete__in=users).delete()
    MassageAmendment.objects.filter(session__athlete__in=users).delete()
    MassageSession.objects.filter(athlete__in=users).delete()
    SorenessEntry.objects.filter(report__athlete__in=users).delete()
    SorenessReport.objects.filter(athlete__in=users).delete()
    TrainingSession.objects.filter(athlete__in=users).delete()
    Injury.objects.filter(athlete__in=users).delete()
    Organisation.objects.filter(name=DEMO_ORGANISATION_NAME).delete()
    User.objects.filter(pk__in=users).delete()


class _Sink:
    """Buffers unsaved rows and writes them with bulk_create, parents before children."""

    ORDER: Final[tuple[type[models.Model], ...]] = (
        Organisation,
        Team,
        User,
        AthleteProfile,
        Membership,
        TrainingSession,
        SorenessReport,
        SorenessEntry,
        MassageSession,
        TreatedArea,
        Injury,
    )

    def __init__(self) -> None:
        self.rows: dict[type[models.Model], list[models.Model]] = {m: [] for m in self.ORDER}
        self.pending = 0
        self.counts: Counter[str] = Counter()

    def add(self, obj: models.Model) -> None:
        self.rows[type(obj)].append(obj)
        self.pending += 1

    def flush_if_full(self) -> None:
        if self.pending >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        for model in self.ORDER:
            objs = self.rows[model]
            if objs:
                model._default_manager.bulk_create(objs, batch_size=BATCH_SIZE)
                self.counts[model._meta.label] += len(objs)
                objs.clear()
        self.pending = 0


def build_demo(
    options: DemoOptions, *, now: datetime, password_hash: str, catalogue: Catalogue
) -> DemoResult:
    """Create the demo organisation and everything in it (the caller wraps it in a transaction)."""
    sink = _Sink()
    rng = random.Random(f"{options.seed}/organisation")
    organisation = Organisation(id=_uuid(rng), name=DEMO_ORGANISATION_NAME)
    sink.add(organisation)
    logins: list[DemoLogin] = []
    for index in range(len(options.team_sizes) or options.teams):
        logins += _build_team(
            index, options, organisation, now=now, password_hash=password_hash,
            catalogue=catalogue, sink=sink,
        )  # fmt: skip
    sink.flush()
    # bulk_create sends no signals: log the records for sync pulls in one INSERT ... SELECT.
    members = Membership.objects.filter(team__organisation_id=organisation.id)
    sync_log.record_from(sync_log.records_of(members.values("user_id")), op=SyncOp.UPSERT)
    # ... nor does it keep the per-day load table: one bulk refresh for every athlete.
    refresh_daily_loads(
        athlete_ids=members.filter(role=Role.ATHLETE).values_list("user_id", flat=True)
    )
    return DemoResult(counts=dict(sink.counts), logins=tuple(logins))


# =============================================================================================
# Teams and people
# =============================================================================================


class Phase(Enum):
    IN_SEASON = "in_season"
    PRESEASON = "preseason"
    OFFSEASON = "offseason"


@dataclass(frozen=True, slots=True)
class Day:
    """One local calendar day of a team: its plan is the same for every athlete."""

    index: int
    date: date
    phase: Phase
    slots: tuple[Slot, ...]
    is_match: bool


@dataclass(slots=True)
class TeamContext:
    plan: SportPlan
    team: Team
    zone: ZoneInfo
    therapist: User
    calendar: list[Day]  # the period, then PLANNED_HORIZON_DAYS future days
    today: int  # index of today in calendar
    now: datetime  # nothing is recorded after this (sessions and reports later today)
    demand: Mapping[str, float]
    catalogue: Catalogue
    massage_share: float = MASSAGE_REGULAR_SHARE

    @property
    def today_date(self) -> date:
        return self.calendar[self.today].date


@dataclass(slots=True)
class Traits:
    """Per-athlete variation, drawn once."""

    volume: float
    rpe_bias: float
    starter: bool
    compliance: float
    proneness: float
    hr_monitor: bool
    sleep_base: float
    stress_base: float
    fatigue_base: float
    dominant: str
    massage_regular: bool
    massage_weekday: int
    massage_start: time
    affinity: dict[str, float]  # soreness-prone groups: sport demand x a personal factor


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _clamp(value: float, low: int, high: int) -> int:
    return max(low, min(high, round(value)))


def _team_identity(index: int) -> tuple[SportPlan, str, str]:
    plan = SPORT_PLANS[index % len(SPORT_PLANS)]
    cycle = index // len(SPORT_PLANS)
    if cycle == 0:
        return plan, plan.team_name, plan.slug
    return plan, f"{plan.team_name} {cycle + 1}", f"{plan.slug}-{cycle + 1}"


def _user(rng: random.Random, email: str, password_hash: str, joined: datetime) -> User:
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    return User(
        id=_uuid(rng), email=email, full_name=name, password=password_hash, date_joined=joined
    )


def _build_team(
    index: int,
    options: DemoOptions,
    organisation: Organisation,
    *,
    now: datetime,
    password_hash: str,
    catalogue: Catalogue,
    sink: _Sink,
) -> list[DemoLogin]:
    plan, name, slug = _team_identity(index)
    zone = ZoneInfo(plan.time_zone)
    rng = random.Random(f"{options.seed}/{slug}")
    today = now.astimezone(zone).date()
    first = today - timedelta(days=options.days - 1)
    joined = _local(first, time(9), zone)
    team = Team(
        id=_uuid(rng), organisation=organisation, name=name, sport_id=plan.sport,
        time_zone=plan.time_zone,
    )  # fmt: skip
    sink.add(team)
    domain = f"{slug}.{DEMO_EMAIL_DOMAIN}"
    logins = []
    staff: dict[str, User] = {}
    for role in (Role.THERAPIST, Role.COACH, Role.ADMIN):
        user = _user(rng, f"{role.value}@{domain}", password_hash, joined)
        staff[role] = user
        sink.add(user)
        sink.add(Membership(id=_uuid(rng), user=user, team=team, role=role))
        logins.append(DemoLogin(user.email, role.value, name))
    ctx = TeamContext(
        plan=plan,
        team=team,
        zone=zone,
        therapist=staff[Role.THERAPIST],
        calendar=_calendar(plan, first, today, options.days + PLANNED_HORIZON_DAYS),
        today=options.days - 1,
        now=now,
        demand=catalogue.demand.get(plan.sport, {}),
        catalogue=catalogue,
        massage_share=options.massage_share,
    )
    athletes = options.team_sizes[index] if options.team_sizes else options.athletes
    injured = _plan_injuries(rng, ctx, index, athletes)
    width = max(2, len(str(athletes)))
    for number in range(1, athletes + 1):
        arng = random.Random(f"{options.seed}/{slug}/athlete/{number}")
        athlete = _user(arng, f"athlete{number:0{width}d}@{domain}", password_hash, joined)
        traits = _traits(arng, ctx, number)
        sink.add(athlete)
        sink.add(Membership(id=_uuid(arng), user=athlete, team=team, role=Role.ATHLETE))
        sink.add(_profile(arng, athlete, plan, traits))
        if number <= 2:
            logins.append(DemoLogin(athlete.email, Role.ATHLETE.value, name))
        _simulate_athlete(ctx, sink, athlete, traits, injured.get(number), arng)
        sink.flush_if_full()
    return logins


def _profile(rng: random.Random, athlete: User, plan: SportPlan, traits: Traits) -> AthleteProfile:
    return AthleteProfile(
        user=athlete,
        primary_sport_id=plan.sport,
        position=rng.choice(plan.positions),
        dominant_side=traits.dominant,
        share_clinical_notes_with_coaches=rng.random() < 1 / 3,
    )


def _traits(rng: random.Random, ctx: TeamContext, number: int) -> Traits:
    dominant = rng.choices(
        (DominantSide.RIGHT, DominantSide.LEFT, DominantSide.BOTH), weights=(85, 12, 3)
    )[0]
    return Traits(
        volume=rng.uniform(0.9, 1.1),
        rpe_bias=rng.gauss(0, 0.5),
        starter=rng.random() < STARTER_SHARE,
        compliance=rng.uniform(0.65, 0.95),
        proneness=rng.uniform(0.7, 1.3),
        hr_monitor=rng.random() < 0.6,
        sleep_base=rng.uniform(3.4, 4.4),
        stress_base=rng.uniform(3.2, 4.3),
        fatigue_base=rng.uniform(3.8, 4.6),
        dominant=dominant.value,
        massage_regular=rng.random() < ctx.massage_share,
        massage_weekday=(ctx.plan.match_weekday + rng.choice((1, 2))) % 7,  # 24-72 h after
        massage_start=time(11 + (number % 7), 0 if number % 2 else 30),
        affinity={g: w * rng.lognormvariate(0, 0.35) for g, w in ctx.demand.items()},
    )


# =============================================================================================
# The calendar: the same plan for every athlete of a team
# =============================================================================================


def season_phase(days_ago: int) -> Phase:
    cycle_day = max(days_ago, 0) % SEASON_DAYS
    if cycle_day in PRESEASON_DAYS_AGO:
        return Phase.PRESEASON
    if cycle_day in OFFSEASON_DAYS_AGO:
        return Phase.OFFSEASON
    return Phase.IN_SEASON


def _scaled(slots: tuple[Slot, ...], factor: float) -> tuple[Slot, ...]:
    if factor == 1.0:
        return slots
    return tuple(
        Slot(s.session_type, round(s.minutes * factor), s.rpe, s.start)
        if s.session_type != _M
        else s
        for s in slots
    )


def _plan_for(plan: SportPlan, day: date, today: date) -> tuple[Phase, tuple[Slot, ...]]:
    """The team's sessions on a local day: off-season, pre-season (the spike) or in-season
    (match weeks; endurance squads race every RACE_EVERY_WEEKS weeks, counted back from today)."""
    phase = season_phase((today - day).days)
    to_match = (plan.match_weekday - day.weekday()) % 7
    if phase is Phase.OFFSEASON:
        return phase, OFFSEASON_WEEK[to_match]
    scale = plan.training_scale
    if plan.endurance_kmh is None:
        plays = phase is Phase.IN_SEASON
        week = TEAM_MATCH_WEEK if plays else TEAM_PRESEASON_WEEK
    else:
        weeks_to_match_day = (day + timedelta(days=to_match) - today).days // 7
        plays = phase is Phase.IN_SEASON and weeks_to_match_day % RACE_EVERY_WEEKS == 0
        week = ENDURANCE_RACE_WEEK if plays else ENDURANCE_BUILD_WEEK
        if phase is Phase.PRESEASON:
            scale *= PRESEASON_ENDURANCE_VOLUME
    if plays and to_match == 0:
        return phase, (plan.match,)
    return phase, _scaled(week[to_match], scale)


def _calendar(plan: SportPlan, first: date, today: date, length: int) -> list[Day]:
    days: list[Day] = []
    for index in range(length):
        day = first + timedelta(days=index)
        phase, slots = _plan_for(plan, day, today)
        if days and days[-1].is_match:
            slots = DAY_AFTER_MATCH
        is_match = any(s.session_type == _M for s in slots)
        days.append(Day(index, day, phase, slots, is_match))
    return days


# =============================================================================================
# Injuries
# =============================================================================================


ONSET, ACTIVE, REHAB = "onset", "active", "rehab"  # an injured athlete's phase on a day


@dataclass(frozen=True, slots=True)
class InjuryPlan:
    status: str
    group: str
    side: str | None
    onset: int  # calendar index
    active_days: int
    rehab_days: int | None  # None: still in rehab (or still active)
    severity: int

    def phase_on(self, index: int) -> str | None:
        """ONSET, ACTIVE, REHAB or None on that calendar day."""
        if index == self.onset:
            return ONSET
        if self.onset < index <= self.onset + self.active_days:
            return ACTIVE
        if self.status == InjuryStatus.ACTIVE:
            return ACTIVE if index > self.onset else None
        end = (
            math.inf if self.rehab_days is None else self.onset + self.active_days + self.rehab_days
        )
        return REHAB if self.onset + self.active_days < index <= end else None


def _plan_injuries(
    rng: random.Random, ctx: TeamContext, team_index: int, athletes: int
) -> dict[int, InjuryPlan]:
    """A few injuries per team, statuses cycling so that every team has each kind."""
    count = min(athletes, max(1, round(athletes * INJURY_SHARE)))
    numbers = sorted(rng.sample(range(1, athletes + 1), count))
    groups = sorted(ctx.demand)
    weights = [ctx.demand[g] ** 2 for g in groups]  # injuries concentrate on high-demand groups
    plans: dict[int, InjuryPlan] = {}
    for position, number in enumerate(numbers):
        status = INJURY_STATUS_CYCLE[(team_index + position) % len(INJURY_STATUS_CYCLE)]
        group = rng.choices(groups, weights=weights)[0] if groups else "hamstrings"
        side = rng.choice((Side.LEFT, Side.RIGHT)) if ctx.catalogue.has_sides[group] else None
        active_days = rng.randint(4, 8)
        rehab_days: int | None = None
        if status == InjuryStatus.ACTIVE:
            days_ago = rng.randint(1, 4)
        elif status == InjuryStatus.REHAB:
            days_ago = active_days + rng.randint(3, 14)
        else:
            rehab_days = rng.randint(7, 21)
            days_ago = active_days + rehab_days + rng.randint(7, 90)
        onset = ctx.today - days_ago
        while onset > 0 and not ctx.calendar[onset].slots:
            onset -= 1  # injuries happen in training or a match, not on a rest day
        if onset < 0:
            continue  # does not fit in a short period
        plans[number] = InjuryPlan(
            status=status, group=group, side=side, onset=onset,
            active_days=active_days, rehab_days=rehab_days, severity=rng.randint(7, 9),
        )  # fmt: skip
    return plans


def _injury_row(rng: random.Random, ctx: TeamContext, athlete: User, injury: InjuryPlan) -> Injury:
    onset = ctx.calendar[injury.onset].date
    resolved = None
    if injury.status == InjuryStatus.RESOLVED and injury.rehab_days is not None:
        resolved = onset + timedelta(days=injury.active_days + injury.rehab_days)
    name = ctx.catalogue.names[injury.group]
    where = f"{name} ({injury.side})" if injury.side else name
    return Injury(
        id=_uuid(rng),
        athlete=athlete,
        muscle_group_id=injury.group,
        side=injury.side,
        onset_date=onset,
        status=injury.status,
        resolved_date=resolved,
        notes=f"Acute onset in training, {where}; pain {injury.severity}/10. Graded return to play.",
        created_by=ctx.therapist,
    )


# =============================================================================================
# One athlete: training, soreness, massage
# =============================================================================================


@dataclass(frozen=True, slots=True)
class Sore:
    group: str
    side: str | None
    severity: int
    kind: str
    is_injury: bool = False

    @property
    def flagged(self) -> bool:
        return is_flagged(kind=self.kind, severity=self.severity, is_injury=self.is_injury)


@dataclass(slots=True)
class History:
    """What the athlete did and felt, per calendar index, for the later steps."""

    loads: list[int]
    stimulus: list[float]
    soreness: dict[int, list[Sore]] = field(default_factory=dict)


def _simulate_athlete(
    ctx: TeamContext,
    sink: _Sink,
    athlete: User,
    traits: Traits,
    injury: InjuryPlan | None,
    rng: random.Random,
) -> None:
    history = _training(ctx, sink, athlete, traits, injury, rng)
    _soreness(ctx, sink, athlete, traits, injury, history, rng)
    _massage(ctx, sink, athlete, traits, injury, history, rng)
    if injury is not None:
        sink.add(_injury_row(rng, ctx, athlete, injury))


def _sessions_for(
    rng: random.Random, day: Day, traits: Traits, injury_phase: str | None
) -> list[tuple[Slot, int]]:
    """The athlete's (slot, minutes) for a team day, after availability and injury."""
    if injury_phase == ACTIVE:
        return []
    if injury_phase == REHAB:
        return [(REHAB_SESSION, REHAB_SESSION.minutes)] if day.slots else []
    if injury_phase != ONSET and rng.random() < MISSED_SESSION_CHANCE:
        return []
    sessions = []
    for slot in day.slots:
        if day.phase is Phase.OFFSEASON and rng.random() < OFFSEASON_SKIP_CHANCE:
            continue
        minutes = slot.minutes * traits.volume * rng.uniform(0.9, 1.1)
        if slot.session_type == _M and not traits.starter:
            minutes = rng.uniform(0.25, 0.6) * slot.minutes  # off the bench
        if injury_phase == ONSET:
            minutes *= 0.5  # stopped when it happened
        sessions.append((slot, max(10, round(minutes))))
    return sessions


def _training(
    ctx: TeamContext,
    sink: _Sink,
    athlete: User,
    traits: Traits,
    injury: InjuryPlan | None,
    rng: random.Random,
) -> History:
    loads = [0] * (ctx.today + 1)
    stimulus = [0.0] * (ctx.today + 1)
    for day in ctx.calendar[: ctx.today + 1]:
        phase = injury.phase_on(day.index) if injury else None
        for slot, minutes in _sessions_for(rng, day, traits, phase):
            row = _training_row(rng, ctx, athlete, traits, day, slot, minutes)
            if row.started_at is None or row.started_at > ctx.now:
                continue  # later today: not done yet
            sink.add(row)
            loads[day.index] += row.load_au
            factor = DOMS_SESSION_FACTOR[slot.session_type]
            stimulus[day.index] += (
                factor * max(0, row.load_au - DOMS_THRESHOLD_AU) / DOMS_AU_PER_POINT
            )
    return History(loads=loads, stimulus=stimulus)


def _training_row(
    rng: random.Random,
    ctx: TeamContext,
    athlete: User,
    traits: Traits,
    day: Day,
    slot: Slot,
    minutes: int,
) -> TrainingSession:
    rpe = _clamp(rng.gauss(slot.rpe + traits.rpe_bias, 0.7), 1, 10)
    start = slot.start
    if day.phase is Phase.OFFSEASON:  # individual sessions: any time of the morning
        start = time(rng.randint(7, 11), rng.choice((0, 15, 30, 45)))
    distance = None
    if ctx.plan.endurance_kmh is not None:
        kmh = ctx.plan.endurance_kmh * (1 + 0.06 * (rpe - 5)) * traits.volume
        distance = Decimal(str(round(minutes / 60 * kmh, 2)))
    heart_rate = _clamp(rng.gauss(100 + 8.5 * rpe, 5), 80, 200) if traits.hr_monitor else None
    notes = f"League match vs {rng.choice(OPPONENTS)}" if slot.session_type == _M else ""
    return TrainingSession(
        id=_uuid(rng),
        athlete=athlete,
        date=day.date,
        started_at=_local(day.date, start, ctx.zone),
        session_type=slot.session_type,
        duration_min=minutes,
        rpe=rpe,
        load_au=rpe * minutes,  # sRPE (Foster et al., 2001); bulk_create bypasses the service
        distance_km=distance,
        avg_heart_rate=heart_rate,
        notes=notes,
        created_by=athlete,
    )


def _novelty(loads: Sequence[int], index: int) -> float:
    """Acute/chronic load on that day, bounded: unaccustomed load causes more DOMS."""
    acute = sum(loads[max(0, index - 6) : index + 1]) / 7
    chronic = sum(loads[max(0, index - 27) : index + 1]) / 28
    low, high = NOVELTY_RANGE
    return min(high, max(low, (acute + 50) / (chronic + 50)))


def _pick_groups(rng: random.Random, affinity: Mapping[str, float], count: int) -> list[str]:
    groups = list(affinity)
    if not groups:
        return []
    picked: list[str] = []
    for group in rng.choices(groups, weights=list(affinity.values()), k=count * 3):
        if group not in picked:
            picked.append(group)
            if len(picked) == count:
                break
    return picked


def _side(
    rng: random.Random, ctx: TeamContext, group: str, traits: Traits, both: float
) -> str | None:
    if not ctx.catalogue.has_sides[group]:
        return None
    if rng.random() < both:
        return Side.BOTH
    dominant = (
        traits.dominant if traits.dominant != DominantSide.BOTH else rng.choice(("left", "right"))
    )
    other = Side.LEFT if dominant == Side.RIGHT else Side.RIGHT
    return dominant if rng.random() < 0.6 else other


def _day_soreness(
    rng: random.Random,
    ctx: TeamContext,
    traits: Traits,
    injury: InjuryPlan | None,
    phase: str | None,
    drive: float,
    index: int,
) -> list[Sore]:
    entries: dict[tuple[str, str | None], Sore] = {}
    if injury is not None and phase in (ONSET, ACTIVE):
        decline = (index - injury.onset) * 5 / max(1, injury.active_days)
        severity = max(2, round(injury.severity - decline))
        sore = Sore(injury.group, injury.side, severity, SorenessKind.PAIN, phase == ONSET)
        entries[(sore.group, sore.side)] = sore
    elif injury is not None and phase == REHAB and rng.random() < 0.35:
        kind = rng.choice((SorenessKind.PAIN, SorenessKind.TIGHTNESS))
        entries[(injury.group, injury.side)] = Sore(
            injury.group, injury.side, rng.randint(2, 4), kind
        )
    if drive >= 1:
        count = min(MAX_DOMS_ENTRIES, 1 + int(drive / 2))
        for group in _pick_groups(rng, traits.affinity, count):
            level = drive * traits.proneness * ctx.demand[group] * rng.uniform(0.75, 1.25)
            severity = _clamp(10 * (1 - math.exp(-level / DOMS_SATURATION)), 0, 9)
            side = _side(rng, ctx, group, traits, both=0.6)
            if severity > 0 and (group, side) not in entries:
                entries[(group, side)] = Sore(group, side, severity, SorenessKind.DOMS)
    extras = (
        (TIGHTNESS_CHANCE, SorenessKind.TIGHTNESS, 2, 5),
        (MILD_PAIN_CHANCE, SorenessKind.PAIN, 2, 5),
        (SHARP_PAIN_CHANCE, SorenessKind.PAIN, PAIN_FLAG_SEVERITY, 8),
    )
    for chance, kind, low, high in extras:
        if rng.random() < chance:
            # now and then a group the sport hardly loads (desk posture, a gym session)
            if rng.random() < 0.1 or not traits.affinity:
                group = rng.choice(ctx.catalogue.codes)
            else:
                group = _pick_groups(rng, traits.affinity, 1)[0]
            side = _side(rng, ctx, group, traits, both=0.0)
            entries.setdefault((group, side), Sore(group, side, rng.randint(low, high), kind))
    return list(entries.values())


def _wellness(
    rng: random.Random,
    traits: Traits,
    history: History,
    index: int,
    sores: Sequence[Sore],
    day: Day,
) -> dict[str, int | None]:
    if rng.random() < NO_WELLNESS_CHANCE:
        return {}
    worst = max((s.severity for s in sores), default=0)
    soreness = 5 if worst <= 1 else 4 if worst <= 3 else 3 if worst <= 5 else 2 if worst <= 7 else 1
    yesterday = history.loads[index - 1] if index > 0 else 0
    novelty = _novelty(history.loads, index - 1) if index > 0 else 1.0
    fatigue = _clamp(
        traits.fatigue_base - 1.5 * (novelty - 1) - yesterday / 700 + rng.gauss(0, 0.5), 1, 5
    )
    sleep = _clamp(rng.gauss(traits.sleep_base - (0.7 if yesterday > 700 else 0), 0.6), 1, 5)
    stress = _clamp(rng.gauss(traits.stress_base - (0.6 if day.is_match else 0), 0.6), 1, 5)
    mood = _clamp((sleep + fatigue + stress + soreness) / 4 + rng.gauss(0, 0.4), 1, 5)
    return {
        "sleep_quality": sleep,
        "fatigue": fatigue,
        "stress": stress,
        "mood": mood,
        "general_soreness": soreness,
    }


def _soreness(
    ctx: TeamContext,
    sink: _Sink,
    athlete: User,
    traits: Traits,
    injury: InjuryPlan | None,
    history: History,
    rng: random.Random,
) -> None:
    novelty = [_novelty(history.loads, i) for i in range(ctx.today + 1)]
    for day in ctx.calendar[: ctx.today + 1]:
        i = day.index
        phase = injury.phase_on(i) if injury else None
        recent = max(history.loads[max(0, i - 2) : i] or [0])
        chance = traits.compliance * (1 if recent >= HARD_DAY_AU else EASY_DAY_REPORT_FACTOR)
        if phase not in (ONSET, ACTIVE) and rng.random() >= chance:
            continue
        drive = sum(
            weight * history.stimulus[i - k] * novelty[i - k]
            for k, weight in DOMS_KERNEL.items()
            if i - k >= 0
        )
        sores = _day_soreness(rng, ctx, traits, injury, phase, drive, i)
        report = _report_row(rng, ctx, athlete, traits, history, day, phase, sores)
        entries = [_entry_row(rng, ctx, report, sore) for sore in sores]
        if report.reported_at > ctx.now:
            continue  # later today: not reported yet
        history.soreness[i] = sores
        sink.add(report)
        for entry in entries:
            sink.add(entry)


def _report_row(
    rng: random.Random,
    ctx: TeamContext,
    athlete: User,
    traits: Traits,
    history: History,
    day: Day,
    phase: str | None,
    sores: Sequence[Sore],
) -> SorenessReport:
    if phase == ONSET:  # in the evening, after the session it happened in
        at = time(20, rng.randint(0, 59))
    else:
        at = time(7 + rng.randint(0, 2), rng.randint(0, 59))
    return SorenessReport(
        id=_uuid(rng),
        athlete=athlete,
        reported_at=_local(day.date, at, ctx.zone),
        date=day.date,
        notes="Felt a sharp pull in training." if phase == ONSET else "",
        **_wellness(rng, traits, history, day.index, sores, day),
    )


def _entry_row(
    rng: random.Random, ctx: TeamContext, report: SorenessReport, sore: Sore
) -> SorenessEntry:
    reviewed = sore.flagged and (report.date + timedelta(days=FLAG_REVIEW_DAYS) < ctx.today_date)
    return SorenessEntry(
        id=_uuid(rng),
        report_id=report.id,
        muscle_group_id=sore.group,
        side=sore.side,
        severity=sore.severity,
        kind=sore.kind,
        is_injury=sore.is_injury,
        flagged=sore.flagged,  # the service's rule, set explicitly
        flag_resolved_at=report.reported_at + timedelta(hours=20) if reviewed else None,
        flag_resolved_by=ctx.therapist if reviewed else None,
    )


# --- Massage --------------------------------------------------------------------------------

STRETCHES: Final[Mapping[str, str]] = {
    "hamstrings": "supine hamstring stretch with a strap",
    "quadriceps": "standing quad stretch, knees together",
    "adductors": "side lunge, 3 x 30 s",
    "hip_flexors": "half-kneeling hip flexor stretch, glute squeezed",
    "glute_max": "figure-four stretch",
    "glute_med_min_tfl": "cross-over stretch lying on the back",
    "gastrocnemius": "wall calf stretch, knee straight",
    "soleus": "wall calf stretch, knee bent",
    "lumbar_erectors_ql": "child's pose with side reach",
    "pectorals": "doorway pec stretch",
    "latissimus": "overhead lat stretch on a rack",
    "upper_trapezius": "ear-to-shoulder neck stretch",
}
HYDRATION: Final = (
    "500 ml water with electrolytes in the next hour; pale-yellow urine as the target.",
    "Drink to thirst tonight plus a glass of water before bed; no alcohol for 24 h.",
    "Sip 1 litre over the afternoon; salty snack if the session was in the heat.",
)
FEEDBACK: Final = (
    "Legs feel lighter.",
    "Much looser than before the session.",
    "Still a bit tender but moving better.",
    "Felt good; would like more time on the calves next time.",
    "Pressure was fine; tender spot eased after a few minutes.",
)
POSTURE: Final = (
    "Neutral standing posture.",
    "Slight anterior pelvic tilt.",
    "Right shoulder slightly elevated.",
    "Mild thoracic kyphosis, head forward.",
)
GAIT: Final = (
    "Symmetrical gait.",
    "Slightly shortened stride on the sore side.",
    "Mild antalgic gait, improving.",
    "Normal gait; slight foot flare on the right.",
)
CANCELLED_REASONS: Final = (
    "Athlete unwell.",
    "Team travel moved the session.",
    "Rescheduled by the therapist.",
)
PRESSURE_RATING: Final[Mapping[str, tuple[int, int]]] = {
    Pressure.LIGHT: (2, 3),
    Pressure.MODERATE: (4, 6),
    Pressure.FIRM: (7, 8),
}
PRESSURE_PAIN: Final[Mapping[str, int]] = {
    Pressure.LIGHT: 0,
    Pressure.MODERATE: 2,
    Pressure.FIRM: 4,
}
MAINTENANCE: Final = "maintenance"


@dataclass(frozen=True, slots=True)
class Target:
    """A muscle group (and side) the therapist works on, and why."""

    group: str
    side: str | None
    kind: str  # a SorenessKind, REHAB or MAINTENANCE
    severity: int


def _massage_plan(
    rng: random.Random, ctx: TeamContext, traits: Traits, injury: InjuryPlan | None
) -> dict[int, str]:
    """Calendar index -> massage type: weekly for regulars (24-72 h after the match), a flush
    the day before some matches, treatment every few days in rehab. Nothing on today itself."""
    plan: dict[int, str] = {}
    for day in ctx.calendar:
        i = day.index
        if i == ctx.today:
            continue
        following = ctx.calendar[i + 1] if i + 1 < len(ctx.calendar) else None
        phase = injury.phase_on(i) if injury else None
        if injury is not None and phase == REHAB:
            since = i - injury.onset - injury.active_days
            if since % REHAB_TREATMENT_EVERY_DAYS == 1:
                plan[i] = MassageType.TREATMENT
        elif traits.massage_regular and day.date.weekday() == traits.massage_weekday:
            after_match = i > 0 and ctx.calendar[i - 1].is_match
            plan[i] = MassageType.POST_EVENT if after_match else MassageType.RECOVERY
        elif (
            traits.massage_regular
            and following is not None
            and following.is_match
            and day.phase is Phase.IN_SEASON
            and rng.random() < PRE_EVENT_CHANCE
        ):
            plan[i] = MassageType.PRE_EVENT
    return plan


def _massage(
    ctx: TeamContext,
    sink: _Sink,
    athlete: User,
    traits: Traits,
    injury: InjuryPlan | None,
    history: History,
    rng: random.Random,
) -> None:
    for index, session_type in _massage_plan(rng, ctx, traits, injury).items():
        day = ctx.calendar[index]
        scheduled = _local(day.date, traits.massage_start, ctx.zone)
        common = {
            "id": _uuid(rng),
            "athlete": athlete,
            "therapist": ctx.therapist,
            "session_type": session_type,
            "scheduled_at": scheduled,
            "duration_min": MASSAGE_MINUTES[session_type],
        }
        if index > ctx.today:
            sink.add(MassageSession(status=MassageStatus.PLANNED, **common))
            continue
        roll = rng.random()
        if roll < MASSAGE_SKIP_CHANCE:
            continue
        if roll < MASSAGE_SKIP_CHANCE + MASSAGE_CANCEL_CHANCE:
            reason = rng.choice(CANCELLED_REASONS)
            sink.add(
                MassageSession(status=MassageStatus.CANCELLED, cancelled_reason=reason, **common)
            )
            continue
        targets = _targets(rng, ctx, traits, injury, history, index, session_type)
        session = MassageSession(status=MassageStatus.COMPLETED, **common)
        _complete(rng, ctx, session, targets, history, index)
        sink.add(session)
        for area in _treated_areas(rng, session, targets):
            sink.add(area)


def _targets(
    rng: random.Random,
    ctx: TeamContext,
    traits: Traits,
    injury: InjuryPlan | None,
    history: History,
    index: int,
    session_type: str,
) -> list[Target]:
    """What to treat: recent soreness first, then the sport's groups; never a group with an
    active injury or a pain flag in the last 72 h (DESIGN.md section 4: refer / assess first)."""
    blocked = {
        sore.group
        for k in range(index - CONTRAINDICATION_DAYS, index + 1)
        for sore in history.soreness.get(k, ())
        if sore.flagged
    }
    targets: list[Target] = []
    if injury is not None:
        if injury.phase_on(index) == REHAB and injury.group not in blocked:
            targets.append(Target(injury.group, injury.side, REHAB, 3))
        elif injury.phase_on(index) in (ONSET, ACTIVE):
            blocked.add(injury.group)
    sore = {
        (s.group, s.side): s
        for k in range(index - 2, index + 1)
        for s in history.soreness.get(k, ())
        if s.group not in blocked
    }
    ranked = sorted(
        sore.values(),
        key=lambda s: (-s.severity * (0.5 + ctx.demand.get(s.group, 0)), s.group, s.side or ""),
    )
    taken = {t.group for t in targets}
    for s in ranked:
        if s.group not in taken:
            targets.append(Target(s.group, s.side, s.kind, s.severity))
            taken.add(s.group)
    for group in sorted(traits.affinity, key=lambda g: (-traits.affinity[g], g)):
        if group not in taken and group not in blocked:
            side = Side.BOTH if ctx.catalogue.has_sides[group] else None
            targets.append(Target(group, side, MAINTENANCE, 0))
            taken.add(group)
    count = (
        2 if session_type in (MassageType.PRE_EVENT, MassageType.TREATMENT) else 3
    ) + rng.randint(0, 1)
    return targets[:count]


def _technique(rng: random.Random, session_type: str, target: Target) -> tuple[str, str]:
    """Technique and pressure as a therapist would choose them (DESIGN.md section 4)."""
    if session_type == MassageType.PRE_EVENT:
        return Technique.EFFLEURAGE_FLUSH, Pressure.LIGHT  # no deep work before a match
    if target.kind in (REHAB, SorenessKind.PAIN):
        return rng.choice(
            ((Technique.MYOFASCIAL_RELEASE, Pressure.LIGHT), (Technique.STRETCHING, Pressure.LIGHT))
        )
    if target.kind == SorenessKind.TIGHTNESS:
        return rng.choice(
            (
                (Technique.MYOFASCIAL_RELEASE, Pressure.MODERATE),
                (Technique.MUSCLE_ENERGY, Pressure.MODERATE),
            )
        )
    if target.kind == SorenessKind.DOMS and target.severity >= 5:
        return Technique.EFFLEURAGE_FLUSH, rng.choice((Pressure.LIGHT, Pressure.MODERATE))
    return rng.choices(
        (
            (Technique.TRIGGER_POINT, Pressure.FIRM),
            (Technique.MYOFASCIAL_RELEASE, Pressure.MODERATE),
            (Technique.EFFLEURAGE_FLUSH, Pressure.MODERATE),
            (Technique.STRETCHING, Pressure.LIGHT),
        ),
        weights=(35, 35, 20, 10),
    )[0]


def _treated_areas(
    rng: random.Random, session: MassageSession, targets: Sequence[Target]
) -> list[TreatedArea]:
    share = (session.duration_min - 5) / max(1, len(targets))
    areas = []
    for target in targets:
        technique, pressure = _technique(rng, session.session_type, target)
        low, high = PRESSURE_RATING[pressure]
        trigger = technique == Technique.TRIGGER_POINT
        if trigger:
            found = rng.randint(1, 4)
        elif technique == Technique.MYOFASCIAL_RELEASE:
            found = rng.choice((0, 0, 1, 2))
        else:
            found = 0
        areas.append(
            TreatedArea(
                id=_uuid(rng),
                session_id=session.id,
                muscle_group_id=target.group,
                side=target.side,
                technique=technique,
                pressure=pressure,
                pressure_rating=rng.randint(low, high) if rng.random() < 0.8 else None,
                minutes=max(3, round(share * rng.uniform(0.8, 1.2))),
                pain_during=min(10, PRESSURE_PAIN[pressure] + rng.randint(0, 2) + trigger),
                trigger_points_found=found,
            )
        )
    return areas


def _where(ctx: TeamContext, target: Target) -> str:
    name = ctx.catalogue.names[target.group].lower()
    return f"{name} ({target.side})" if target.side in (Side.LEFT, Side.RIGHT) else name


def _complete(
    rng: random.Random,
    ctx: TeamContext,
    session: MassageSession,
    targets: Sequence[Target],
    history: History,
    index: int,
) -> None:
    """Fill the SOAP note of a completed, signed session."""
    recent = [s.severity for k in (index - 1, index) for s in history.soreness.get(k, ())]
    pain_before = max(recent) if recent else rng.randint(1, 3)
    sore = [t for t in targets if t.kind not in (MAINTENANCE,)]
    main = targets[0]
    places = [_where(ctx, t) for t in targets]
    if session.session_type == MassageType.TREATMENT:
        complaint = f"Rehab of {_where(ctx, main)}; {pain_before}/10 on loading."
    elif session.session_type == MassageType.PRE_EVENT:
        complaint = "Pre-match flush; legs feel heavy."
    elif sore:
        after = "the match" if session.session_type == MassageType.POST_EVENT else "training"
        complaint = f"Sore {' and '.join(_where(ctx, t) for t in sore[:2])} after {after}."
    else:
        complaint = "No specific complaint; routine recovery session."
    restricted = main.kind in (SorenessKind.TIGHTNESS, REHAB)
    stretch = STRETCHES.get(main.group, "gentle static stretch, 3 x 30 s")
    session.started_at = session.scheduled_at + timedelta(minutes=rng.randint(0, 6))
    session.complaint = complaint
    session.pain_before = pain_before
    session.posture_notes = rng.choice(POSTURE)
    session.gait_notes = rng.choice(GAIT)
    session.range_of_motion_notes = f"{places[0].capitalize()}: {'reduced, tight end-feel' if restricted else 'full, pain-free'}."
    session.palpation_notes = f"Raised tone in {', '.join(places)}."
    session.pain_after = max(0, pain_before - rng.randint(1, 3))
    session.athlete_feedback = rng.choice(FEEDBACK)
    session.aftercare_stretches = f"{places[0].capitalize()}: {stretch}, twice a day for 3 days."
    session.aftercare_hydration = rng.choice(HYDRATION)
    session.aftercare_self_care = (
        f"Foam-roll {places[-1]} 60-90 s per side tonight; easy walk tomorrow."
    )
    session.next_focus = f"Re-assess {places[0]}" + (
        f"; maintain {places[1]}." if len(places) > 1 else "."
    )
    session.next_session_in_days = NEXT_SESSION_IN_DAYS[session.session_type]
    session.clinical_notes = (
        f"{places[0].capitalize()}: {'restricted' if restricted else 'normal'} range, tender on "
        f"palpation ({main.severity}/10 reported). Tolerated the pressure well; no neurological "
        "signs. Advised to report sharp or worsening pain at once."
    )
    session.completed_at = session.started_at + timedelta(minutes=session.duration_min)
    session.signed_by = ctx.therapist
