"""The athletes' stored state (recovery.selectors.state): a stored part is served only while it
is current, and it answers what a fresh computation answers; every kind of write that changes
an athlete's inputs makes it stale; the clock does too (age, local midnight, a step of the
recommendation); another day and `at` are computed and never stored."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db.models import F
from freezegun import freeze_time

from accounts.models import AthleteProfile, Membership, Role
from recovery.models import AthleteRecoveryState, MuscleGroup, SorenessEntry
from recovery.selectors import state
from recovery.selectors.signals import FlagRecord, Signals, SoreEntry
from tests.factories import (
    InjuryFactory,
    MassageSessionFactory,
    MembershipFactory,
    SorenessEntryFactory,
    SorenessReportFactory,
    TeamFactory,
    TrainingSessionFactory,
    TreatedAreaFactory,
)
from tests.factories.recovery import muscle

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
TODAY = date(2025, 3, 14)


def dashboard(client, team, **params):
    response = client.get(f"/api/v1/teams/{team.pk}/dashboard/", params)
    assert response.status_code == 200, response.content
    return response.json()


def queue(client):
    response = client.get("/api/v1/therapist-queue/")
    assert response.status_code == 200, response.content
    return response.json()


def recommendation(client, athlete, **params):
    response = client.get(f"/api/v1/athletes/{athlete.pk}/recommendation/", params)
    assert response.status_code == 200, response.content
    return response.json()


def sore(athlete, when: datetime, code="hamstrings", side="left", severity=6, kind="doms"):
    report = SorenessReportFactory(athlete=athlete, reported_at=when, date=when.date())
    return SorenessEntryFactory(
        report=report, muscle_group=muscle(code), side=side, severity=severity, kind=kind
    )


def without_computed_at(body):
    """The dashboard or queue body without the rows' `computed_at`."""
    rows = body["athletes"] if isinstance(body, dict) else body
    for row in rows:
        row.pop("computed_at")
    return body


def versions(athlete) -> tuple[int, int | None]:
    row = AthleteRecoveryState.objects.get(athlete=athlete)
    return row.version, row.views_version


@pytest.fixture
def squad(team, member):
    """A team of three busy athletes and its staff."""
    athletes = [MembershipFactory(team=team, role=Role.ATHLETE).user for _ in range(3)]
    for index, athlete in enumerate(athletes):
        for day in range(0, 30, 3):
            TrainingSessionFactory(athlete=athlete, date=TODAY - timedelta(days=day))
        sore(athlete, NOW - timedelta(hours=10 + index), severity=4 + index)
        sore(athlete, NOW - timedelta(hours=30), code="adductors", severity=8, kind="pain")
        session = MassageSessionFactory(
            athlete=athlete, status="completed", scheduled_at=NOW - timedelta(days=3)
        )
        TreatedAreaFactory(session=session)
        InjuryFactory(athlete=athlete, onset_date=TODAY - timedelta(days=5))
    return {
        "team": team,
        "athletes": athletes,
        "coach": member("coach"),
        "therapist": member("therapist"),
    }


# --- Served while current, and the same as computed ----------------------------------------------
@freeze_time(NOW)
def test_stored_views_render_what_was_computed(client_for, squad):
    client = client_for(squad["coach"])
    first = dashboard(client, squad["team"])
    assert AthleteRecoveryState.objects.filter(views_version__isnull=False).count() == 3
    again = dashboard(client, squad["team"])
    assert again == first
    assert {row["computed_at"] for row in again["athletes"]} == {"2025-03-14T12:00:00Z"}

    queued = queue(client_for(squad["therapist"]))
    AthleteRecoveryState.objects.update(views_version=None)  # force a recompute
    assert without_computed_at(queue(client_for(squad["therapist"]))) == without_computed_at(queued)


@freeze_time(NOW)
def test_stored_recommendation_is_the_one_computed_then(client_for, squad):
    athlete, client = squad["athletes"][0], client_for(squad["therapist"])
    first = recommendation(client, athlete)
    assert AthleteRecoveryState.objects.get(athlete=athlete).recommendation
    assert recommendation(client, athlete) == first
    assert recommendation(client, athlete, at=NOW.isoformat()) == first


@freeze_time(NOW)
def test_stored_views_serve_the_queue_and_the_dashboard_alike(
    client_for, squad, django_assert_num_queries
):
    dashboard(client_for(squad["coach"]), squad["team"])
    client = client_for(squad["therapist"])
    with django_assert_num_queries(2):  # the therapist's teams, the athletes with their views
        rows = queue(client)
    assert len(rows) == 3


# --- Stale after every kind of write ---------------------------------------------------------------
def resolve_flags(athlete, team) -> None:
    for entry in SorenessEntry.objects.filter(report__athlete=athlete, flagged=True):
        entry.flag_resolved_at = NOW
        entry.save(update_fields=["flag_resolved_at"])


def change_primary_sport(athlete, team) -> None:
    profile, _ = AthleteProfile.objects.get_or_create(user=athlete)
    profile.primary_sport_id = "swimming"
    profile.save()


def change_team_time_zone(athlete, team) -> None:
    team.time_zone = "Asia/Tokyo"
    team.save()


WRITES = {
    "soreness report": lambda a, t: sore(
        a, NOW - timedelta(hours=1), code="gastrocnemius", severity=9
    ),
    "training session": lambda a, t: TrainingSessionFactory(athlete=a, date=TODAY, rpe=9),
    "massage session": lambda a, t: MassageSessionFactory(
        athlete=a, status="completed", scheduled_at=NOW - timedelta(hours=2)
    ),
    "injury": lambda a, t: InjuryFactory(athlete=a, onset_date=TODAY),
    "flag resolved": resolve_flags,
    "reports deleted": lambda a, t: a.soreness_reports.all().delete(),
    "primary sport": change_primary_sport,
    "team time zone": change_team_time_zone,
    "second team": lambda a, t: MembershipFactory(user=a, team=TeamFactory(), role=Role.ATHLETE),
    "catalogue": lambda a, t: MuscleGroup.objects.get(code="gastrocnemius").save(),
}


@freeze_time(NOW)
@pytest.mark.parametrize("write", list(WRITES))
def test_a_write_makes_the_athlete_state_stale(client_for, squad, write):
    athlete = squad["athletes"][0]
    dashboard(client_for(squad["coach"]), squad["team"])
    recommendation(client_for(squad["therapist"]), athlete)
    version, computed_for = versions(athlete)
    assert version == computed_for

    WRITES[write](athlete, squad["team"])

    assert versions(athlete)[0] > version
    assert not state.stored_from(*_stored(athlete, "views")).current(None)
    assert not state.stored_from(*_stored(athlete, "recommendation")).current(None)


def _stored(athlete, part):
    row = AthleteRecoveryState.objects.get(athlete=athlete)
    current = getattr(row, f"{part}_version") == row.version
    key = row.views_key if part == "views" else None
    return row.version, key, getattr(row, part) if current else None


@freeze_time(NOW)
def test_the_next_read_shows_the_write(client_for, squad):
    athlete, client = squad["athletes"][0], client_for(squad["coach"])
    before = {r["athlete"]["id"]: r for r in dashboard(client, squad["team"])["athletes"]}
    sore(athlete, NOW - timedelta(minutes=5), code="gastrocnemius", side="right", severity=9)
    after = {r["athlete"]["id"]: r for r in dashboard(client, squad["team"])["athletes"]}
    assert after[str(athlete.pk)]["sore_groups"][0]["muscle_group"] == "gastrocnemius"
    assert before[str(athlete.pk)]["sore_groups"][0]["muscle_group"] != "gastrocnemius"
    others = [str(a.pk) for a in squad["athletes"][1:]]
    assert [after[pk] for pk in others] == [before[pk] for pk in others]  # not recomputed


@freeze_time(NOW)
def test_a_renamed_athlete_needs_no_recompute(client_for, squad):
    athlete, client = squad["athletes"][0], client_for(squad["coach"])
    dashboard(client, squad["team"])
    version = versions(athlete)
    athlete.full_name = "Zoe Zimmer"
    athlete.save()
    names = [row["athlete"]["name"] for row in dashboard(client, squad["team"])["athletes"]]
    assert names[-1] == "Zoe Zimmer"
    assert versions(athlete) == version


# --- Stale with the clock --------------------------------------------------------------------------
def test_a_part_expires_after_its_max_age(client_for, squad):
    client = client_for(squad["coach"])
    with freeze_time(NOW) as clock:
        first = dashboard(client, squad["team"])
        clock.tick(state.MAX_AGE * (1 - state.MAX_AGE_SPREAD) - timedelta(seconds=1))
        assert dashboard(client, squad["team"])["athletes"] == first["athletes"]
        clock.tick(timedelta(seconds=state.MAX_AGE.total_seconds() * state.MAX_AGE_SPREAD + 2))
        later = dashboard(client, squad["team"])
    assert {row["computed_at"] for row in later["athletes"]} == {"2025-03-14T12:05:01Z"}


def test_the_next_day_is_computed_again(client_for, squad):
    client = client_for(squad["coach"])
    with freeze_time("2025-03-14 23:58:00"):
        assert dashboard(client, squad["team"])["date"] == "2025-03-14"
    with freeze_time("2025-03-15 00:00:30"):
        body = dashboard(client, squad["team"])
    assert body["date"] == "2025-03-15"
    assert {row["computed_at"] for row in body["athletes"]} == {"2025-03-15T00:00:30Z"}


def test_next_step_is_the_first_threshold_after_now():
    athlete = __import__("uuid").uuid4()
    at = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
    signals = Signals()
    signals.soreness[athlete].append(
        SoreEntry("hamstrings", "left", 8, "pain", False, at - timedelta(hours=71))
    )
    # the pain flag leaves the 72 h window in one hour: the recommendation changes by a step then
    assert state.next_step(signals, athlete, at, "UTC") == at + timedelta(hours=1)
    signals.flags[athlete].append(FlagRecord(at + timedelta(minutes=3), None))
    assert state.next_step(signals, athlete, at, "UTC") == at + timedelta(minutes=3)
    # with nothing else, the next local midnight
    assert state.next_step(Signals(), athlete, at, "Asia/Tokyo") == datetime(
        2025, 3, 14, 15, 0, tzinfo=UTC
    )


# --- Never stored ------------------------------------------------------------------------------------
@freeze_time(NOW)
def test_other_days_and_at_are_computed_and_not_stored(client_for, squad):
    dashboard(client_for(squad["coach"]), squad["team"], date="2025-03-12")
    dashboard(client_for(squad["coach"]), squad["team"], date="2025-03-15")
    recommendation(client_for(squad["therapist"]), squad["athletes"][0], at=NOW.isoformat())
    stored = AthleteRecoveryState.objects.exclude(views="", recommendation="")
    assert not stored.exists()


@freeze_time(NOW)
def test_a_stored_view_of_another_day_is_not_served(client_for, squad):
    client = client_for(squad["coach"])
    today = dashboard(client, squad["team"])
    yesterday = dashboard(client, squad["team"], date="2025-03-13")
    assert yesterday["athletes"] != today["athletes"]


# --- The conditional store --------------------------------------------------------------------------
@freeze_time(NOW)
def test_a_part_computed_for_an_older_version_is_not_stored(client_for, squad):
    athlete = squad["athletes"][0]
    dashboard(client_for(squad["coach"]), squad["team"])
    version, _ = versions(athlete)
    AthleteRecoveryState.objects.filter(athlete=athlete).update(version=F("version") + 1)
    stale = state.NewPart(athlete.pk, version, NOW, NOW + timedelta(minutes=5), "k", "{}")
    state.store("views", [stale])
    row = AthleteRecoveryState.objects.get(athlete=athlete)
    assert (row.views_version, row.views_key) == (version, f"2025-03-14 {squad['team'].time_zone}")

    current = state.NewPart(athlete.pk, version + 1, NOW, NOW + timedelta(minutes=5), "k", "{}")
    state.store("views", [current])
    row = AthleteRecoveryState.objects.get(athlete=athlete)
    assert (row.views_version, row.views_key, row.views) == (version + 1, "k", "{}")


def test_a_missing_row_is_created_by_the_reader_and_by_writers(squad):
    athlete = squad["athletes"][1]
    AthleteRecoveryState.objects.filter(athlete=athlete).delete()
    state.store("views", [state.NewPart(athlete.pk, 0, NOW, NOW, "k", "{}")])
    assert versions(athlete) == (0, 0)
    AthleteRecoveryState.objects.filter(athlete=athlete).delete()
    sore(athlete, NOW)
    assert AthleteRecoveryState.objects.get(athlete=athlete).version >= 1
    # a reader that read "no row" before that write does not store over it
    state.store("views", [state.NewPart(athlete.pk, 0, NOW, NOW, "k", "{}")])
    assert AthleteRecoveryState.objects.get(athlete=athlete).views_version is None


def test_a_deleted_user_takes_their_state_along(squad):
    athlete = squad["athletes"][2]
    assert AthleteRecoveryState.objects.filter(athlete=athlete).exists()
    athlete.delete()
    assert not AthleteRecoveryState.objects.filter(athlete_id=athlete.pk).exists()
    assert not Membership.objects.filter(user_id=athlete.pk).exists()
