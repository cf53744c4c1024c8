from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from accounts.models import AthleteProfile, Invitation, Membership, Organisation, Role, Team, User
from accounts.services import hash_token
from recovery.models import Sport

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.django.Password(PASSWORD)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Club {n}")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Team {n}")
    sport = factory.LazyFunction(lambda: Sport.objects.get(code="football"))
    time_zone = "Europe/London"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    role = Role.ATHLETE
    is_active = True

    @factory.post_generation
    def profile(obj: Membership, create: bool, extracted: object, **kwargs: object) -> None:
        if create and obj.role == Role.ATHLETE:
            AthleteProfile.objects.get_or_create(
                user=obj.user, defaults={"primary_sport_id": obj.team.sport_id}
            )


class AthleteProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AthleteProfile
        django_get_or_create = ("user",)

    user = factory.SubFactory(UserFactory)
    primary_sport = factory.LazyFunction(lambda: Sport.objects.get(code="football"))
    position = "midfielder"
    dominant_side = "right"


class AthleteFactory(UserFactory):
    """A user who is an active athlete of a (new, unless given) team, with a profile."""

    @factory.post_generation
    def team(obj: User, create: bool, extracted: Team | None, **kwargs: object) -> None:
        if create:
            MembershipFactory(user=obj, team=extracted or TeamFactory(), role=Role.ATHLETE)


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    team = factory.SubFactory(TeamFactory)
    role = Role.ATHLETE
    token_hash = factory.Sequence(lambda n: hash_token(f"token-{n}"))
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
