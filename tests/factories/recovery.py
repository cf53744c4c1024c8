from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from accounts.models import Role, Team, User
from recovery.models import (
    Injury,
    MassageAmendment,
    MassageSession,
    MuscleGroup,
    SorenessEntry,
    SorenessReport,
    TrainingSession,
    TreatedArea,
)
from tests.factories.accounts import AthleteFactory, MembershipFactory


def muscle(code: str) -> MuscleGroup:
    return MuscleGroup.objects.get(code=code)


class TrainingSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainingSession

    athlete = factory.SubFactory(AthleteFactory)
    date = factory.LazyFunction(lambda: timezone.localdate())
    started_at = factory.LazyFunction(timezone.now)
    session_type = "practice"
    duration_min = 60
    rpe = 5
    load_au = factory.LazyAttribute(lambda o: o.rpe * o.duration_min)
    created_by = factory.SelfAttribute("athlete")


class SorenessReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SorenessReport

    athlete = factory.SubFactory(AthleteFactory)
    reported_at = factory.LazyFunction(timezone.now)
    date = factory.LazyAttribute(lambda o: o.reported_at.date())
    sleep_quality = 4
    fatigue = 3
    stress = 4
    mood = 4
    general_soreness = 3


class SorenessEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SorenessEntry

    report = factory.SubFactory(SorenessReportFactory)
    muscle_group = factory.LazyFunction(lambda: muscle("hamstrings"))
    side = "left"
    severity = 4
    kind = "doms"
    is_injury = False
    flagged = factory.LazyAttribute(lambda o: o.is_injury or (o.kind == "pain" and o.severity >= 7))


class MassageSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MassageSession

    athlete = factory.SubFactory(AthleteFactory)
    therapist = None
    status = "planned"
    session_type = "recovery"
    scheduled_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
    duration_min = 45


class TreatedAreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TreatedArea

    session = factory.SubFactory(MassageSessionFactory, status="completed")
    muscle_group = factory.LazyFunction(lambda: muscle("hamstrings"))
    side = "left"
    technique = "trigger_point"
    pressure = "moderate"
    minutes = 10
    trigger_points_found = 1


class MassageAmendmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MassageAmendment

    session = factory.SubFactory(MassageSessionFactory, status="completed")
    author = factory.SelfAttribute("session.therapist")
    text = "Correction: pressure on the left hamstring was firm, not moderate."


class InjuryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Injury

    athlete = factory.SubFactory(AthleteFactory)
    muscle_group = factory.LazyFunction(lambda: muscle("hamstrings"))
    side = "left"
    onset_date = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=3))
    status = "active"


# How a user may stand to an athlete of a team (DESIGN.md section 1), for permission matrices.
RELATIONS = (
    "anonymous",
    "self",
    "therapist",
    "coach",
    "admin",
    "other_team_therapist",
    "teammate",
    "deactivated_therapist",
)


def user_related_to(athlete: User, team: Team, relation: str) -> User | None:
    """A user standing in `relation` (one of RELATIONS) to `athlete`, an athlete of `team`."""
    if relation == "anonymous":
        return None
    if relation == "self":
        return athlete
    if relation in ("therapist", "coach", "admin"):
        return MembershipFactory(team=team, role=Role(relation)).user
    if relation == "other_team_therapist":
        return MembershipFactory(role=Role.THERAPIST).user
    if relation == "teammate":
        return MembershipFactory(team=team, role=Role.ATHLETE).user
    if relation == "deactivated_therapist":
        return MembershipFactory(team=team, role=Role.THERAPIST, is_active=False).user
    raise ValueError(relation)
