"""`manage.py load_demo_data`: what it creates, that it is idempotent and reproducible, that the
rows keep the invariants the services would enforce, and that its query count does not grow with
the number of days (rows are written with bulk_create in batches)."""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, F, Q
from django.utils import timezone
from freezegun import freeze_time

from accounts.audit import AuditOrigin
from accounts.gdpr import user_erase
from accounts.models import (
    AthleteProfile,
    Membership,
    Organisation,
    Role,
    Team,
    User,
    erased_email,
)
from recovery import demo
from recovery.models import (
    Injury,
    MassageSession,
    SorenessEntry,
    SorenessReport,
    TrainingSession,
    TreatedArea,
)
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

SMALL = ("--teams", "2", "--athletes", "3", "--days", "30")
MODELS = (
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
RUN_AT = "2026-03-14 11:00:00"  # a Saturday, 11:00 in London (UTC+0 in March)
# Stamped at insert time, or salted per run: everything else must repeat exactly.
NOT_REPRODUCIBLE = {"created_at", "updated_at", "password"}


def load(*args: str) -> str:
    out = StringIO()
    call_command("load_demo_data", *args, stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def digest() -> str:
    sha = hashlib.sha256()
    for model in MODELS:
        fields = [
            field.attname
            for field in model._meta.concrete_fields
            if field.name not in NOT_REPRODUCIBLE
            and not (model is AthleteProfile and field.primary_key)
        ]
        order = "user_id" if model is AthleteProfile else "pk"
        for row in model.objects.order_by(order).values_list(*fields):
            sha.update(repr(row).encode())
    return sha.hexdigest()


def test_creates_a_club_with_teams_staff_and_athletes():
    output = load(*SMALL)

    assert Organisation.objects.get().name == demo.DEMO_ORGANISATION_NAME
    teams = list(Team.objects.order_by("name"))
    assert {t.sport_id for t in teams} == {"football", "basketball"}
    assert len({t.time_zone for t in teams}) == 2
    for team in teams:
        roles = Counter(Membership.objects.filter(team=team).values_list("role", flat=True))
        assert roles == {Role.ATHLETE: 3, Role.THERAPIST: 1, Role.COACH: 1, Role.ADMIN: 1}
    sport_of = dict(
        Membership.objects.filter(role=Role.ATHLETE).values_list("user_id", "team__sport_id")
    )
    profiles = dict(AthleteProfile.objects.values_list("user_id", "primary_sport_id"))
    assert profiles == sport_of
    assert len(profiles) == 6
    assert User.objects.filter(email="therapist@football.demo.recovery.example").exists()
    assert demo.DEMO_PASSWORD in output
    assert "athlete02@basketball.demo.recovery.example" in output
    assert User.objects.get(email="coach@basketball.demo.recovery.example").check_password(
        demo.DEMO_PASSWORD
    )


def test_running_twice_changes_nothing():
    load(*SMALL)
    before = row_counts()

    output = load(*SMALL)

    assert "already loaded" in output
    assert row_counts() == before


@freeze_time(RUN_AT)
def test_reset_rebuilds_the_same_data():
    load(*SMALL)
    before, first = row_counts(), digest()

    load(*SMALL, "--reset")

    assert row_counts() == before
    assert digest() == first


@freeze_time(RUN_AT)
def test_reset_rebuilds_after_demo_users_were_erased():
    """Erasure renames an account to erased-<id>@invalid; its seeded id must still be freed."""
    load(*SMALL)
    before, first = row_counts(), digest()
    athlete = demo.demo_users().filter(athlete_profile__isnull=False).first()
    user_erase(actor=athlete, user=athlete, origin=AuditOrigin())
    outsider = UserFactory()
    MembershipFactory(user=outsider, team=Team.objects.first(), role=Role.COACH)

    load(*SMALL, "--reset")

    assert not User.objects.filter(email=erased_email(athlete.pk)).exists()
    assert User.objects.filter(pk=athlete.pk, email__endswith=demo.DEMO_EMAIL_DOMAIN).exists()
    assert User.objects.filter(pk=outsider.pk).exists()  # a real user in the demo club stays
    outsider.delete()
    assert row_counts() == before
    assert digest() == first


@freeze_time(RUN_AT)
def test_a_different_seed_gives_different_data():
    load(*SMALL)
    first = digest()

    load(*SMALL, "--reset", "--seed", "8")

    assert digest() != first


@freeze_time(RUN_AT)
def test_dates_end_today_and_nothing_is_recorded_later_today():
    load(*SMALL)

    now = timezone.now()
    assert not TrainingSession.objects.filter(started_at__gt=now).exists()
    assert not SorenessReport.objects.filter(reported_at__gt=now).exists()
    # London, Saturday 11:00: the morning reports are in, the 15:00 match is not played yet
    football = Membership.objects.filter(team__sport_id="football", role=Role.ATHLETE)
    athletes = football.values("user_id")
    assert TrainingSession.objects.filter(athlete__in=athletes).latest("date").date == date(
        2026, 3, 13
    )
    assert SorenessReport.objects.filter(athlete__in=athletes, date=date(2026, 3, 14)).exists()
    assert TrainingSession.objects.earliest("date").date >= date(2026, 3, 14) - timedelta(days=29)


def test_training_load_is_rpe_times_minutes():
    load(*SMALL)

    assert TrainingSession.objects.exists()
    assert not TrainingSession.objects.exclude(load_au=F("rpe") * F("duration_min")).exists()


def test_flags_follow_the_pain_or_injury_rule():
    load(*SMALL)

    rule = Q(kind="pain", severity__gte=7) | Q(is_injury=True)
    assert SorenessEntry.objects.filter(flagged=True).exists()
    assert not SorenessEntry.objects.filter(rule, flagged=False).exists()
    assert not SorenessEntry.objects.exclude(rule).filter(flagged=True).exists()


def test_side_is_null_exactly_for_groups_without_sides():
    load(*SMALL)

    assert SorenessEntry.objects.filter(muscle_group__has_sides=False).exists()
    for model in (SorenessEntry, TreatedArea, Injury):
        assert not model.objects.filter(muscle_group__has_sides=False, side__isnull=False).exists()
        assert not model.objects.filter(muscle_group__has_sides=True, side__isnull=True).exists()


def test_every_record_belongs_to_an_athlete_of_a_team():
    load(*SMALL)

    athletes = set(Membership.objects.filter(role=Role.ATHLETE).values_list("user_id", flat=True))
    assert set(SorenessEntry.objects.values_list("report__athlete_id", flat=True)) <= athletes
    assert set(TreatedArea.objects.values_list("session__athlete_id", flat=True)) <= athletes
    assert set(Injury.objects.values_list("athlete_id", flat=True)) <= athletes
    assert set(TrainingSession.objects.values_list("athlete_id", flat=True)) == athletes
    therapist_of = {m.team_id: m.user_id for m in Membership.objects.filter(role=Role.THERAPIST)}
    team_of = dict(Membership.objects.filter(role=Role.ATHLETE).values_list("user_id", "team_id"))
    for athlete_id, therapist_id in MassageSession.objects.values_list(
        "athlete_id", "therapist_id"
    ):
        assert therapist_id == therapist_of[team_of[athlete_id]]


def test_completed_massage_sessions_are_signed_and_treated_something():
    load(*SMALL)

    completed = MassageSession.objects.filter(status="completed").annotate(
        areas=Count("treated_areas")
    )
    assert completed.exists()
    for session in completed:
        assert session.areas >= 1
        assert session.completed_at is not None
        assert session.started_at is not None
        assert session.completed_at > session.started_at
        assert session.signed_by_id == session.therapist_id
        assert session.clinical_notes
        assert session.aftercare_stretches
        assert session.next_session_in_days
    planned = MassageSession.objects.filter(status="planned")
    assert planned.exists()
    assert not planned.filter(scheduled_at__lte=timezone.now()).exists()
    assert not TreatedArea.objects.exclude(session__status="completed").exists()


def test_injuries_start_with_a_flagged_pain_entry_on_that_group():
    load("--teams", "3", "--athletes", "3", "--days", "120")

    injuries = list(Injury.objects.all())
    assert {injury.status for injury in injuries} == {"active", "rehab", "resolved"}
    for injury in injuries:
        assert SorenessEntry.objects.filter(
            report__athlete_id=injury.athlete_id,
            report__date=injury.onset_date,
            muscle_group_id=injury.muscle_group_id,
            side=injury.side,
            kind="pain",
            is_injury=True,
            flagged=True,
        ).exists()
        assert (injury.resolved_date is not None) == (injury.status == "resolved")


def test_rejects_a_non_positive_size():
    with pytest.raises(CommandError):
        load("--athletes", "0")


def test_query_count_does_not_grow_with_the_days(django_assert_max_num_queries):
    """Reads and bookkeeping are a fixed handful; rows go in multi-row INSERTs. (On SQLite one
    INSERT carries at most 999 parameters, so their number follows the rows / batch, not days.)"""
    captured = {}
    for days in (10, 30):
        with django_assert_max_num_queries(30) as context:
            load("--teams", "2", "--athletes", "3", "--days", str(days))
        queries = [q["sql"] for q in context.captured_queries]
        rows = sum(row_counts().values())
        inserts = [sql for sql in queries if sql.startswith("INSERT")]
        assert len(inserts) <= len(MODELS) + math.ceil(rows / 30)  # >= ~30 rows per INSERT
        captured[days] = [sql for sql in queries if not sql.startswith("INSERT")]
        demo.delete_demo_data()

    assert len(captured[10]) == len(captured[30])
    assert len(captured[30]) <= 12
