from tests.factories.accounts import (
    AthleteFactory,
    AthleteProfileFactory,
    InvitationFactory,
    MembershipFactory,
    OrganisationFactory,
    TeamFactory,
    UserFactory,
)
from tests.factories.recovery import (
    InjuryFactory,
    MassageSessionFactory,
    SorenessEntryFactory,
    SorenessReportFactory,
    TrainingSessionFactory,
    TreatedAreaFactory,
)

__all__ = [
    "AthleteFactory",
    "AthleteProfileFactory",
    "InjuryFactory",
    "InvitationFactory",
    "MassageSessionFactory",
    "MembershipFactory",
    "OrganisationFactory",
    "SorenessEntryFactory",
    "SorenessReportFactory",
    "TeamFactory",
    "TrainingSessionFactory",
    "TreatedAreaFactory",
    "UserFactory",
]
