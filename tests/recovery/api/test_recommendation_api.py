"""The recommendation over HTTP (who may read it, that it reflects soreness, injuries, matches and
treatments), the bulk selector's fixed query count, planning a session from it (therapists only,
with the snapshot stored) and plan vs outcome of the completed session."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils.module_loading import import_string

from accounts.models import Role
from recovery.domain.recommendation import AvoidReason, SessionMode, WarningCode
from recovery.models import MassageSession, MassageStatus
from recovery.selectors.recommendation import recommendations_for
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

PROBLEM = "application/problem+json"
AT = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
ONSET = date(2025, 3, 7)
RECOMMENDATION_FIELDS = {
    "generated_at",
    "session_mode",
    "duration_min",
    "warnings",
    "focus",
    "avoid",
}


def rec_url(athlete_id) -> str:
    return reverse("recovery:athlete-recommendation", args=[athlete_id])


def plan_url(athlete_id) -> str:
    return reverse("recovery:athlete-recommendation-plan", args=[athlete_id])


def comparison_url(session_id) -> str:
    return reverse("recovery:massage-session-comparison", args=[session_id])


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["code"] == code
    return body


def sore(athlete, at: datetime, group="hamstrings", side="left", severity=6, kind="doms", **kw):
    report = SorenessReportFactory(athlete=athlete, reported_at=at, date=at.date())
    return SorenessEntryFactory(
        report=report, muscle_group=muscle(group), side=side, severity=severity, kind=kind, **kw
    )


def treated(athlete, at: datetime, group="hamstrings", side="left", **kw):
    session = MassageSessionFactory(
        athlete=athlete, status=MassageStatus.COMPLETED, scheduled_at=at, started_at=at
    )
    return TreatedAreaFactory(session=session, muscle_group=muscle(group), side=side, **kw)


def get_recommendation(client, athlete_id, **params) -> dict:
    query = {"at": AT.isoformat(), **{k: v.isoformat() for k, v in params.items()}}
    response = client.get(rec_url(athlete_id), query)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def athlete(member):
    return member("athlete")


@pytest.fixture
def therapist(member):
    return member("therapist")


@pytest.fixture
def actor(team, member, athlete):
    def make(who: str):
        if who == "anonymous":
            return None
        if who == "own_athlete":
            return athlete
        if who == "teammate":
            return member("athlete")
        if who.startswith("other_team_"):
            return MembershipFactory(team=TeamFactory(), role=Role(who[11:])).user
        return member(who)

    return make


READ_MATRIX = [
    ("anonymous", 401),
    ("own_athlete", 200),
    ("therapist", 200),
    ("coach", 200),
    ("admin", 200),
    ("teammate", 404),
    ("other_team_therapist", 404),
    ("other_team_coach", 404),
]


# --- reading the recommendation -----------------------------------------------------------------


@pytest.mark.parametrize(("who", "expected"), READ_MATRIX)
def test_read_matrix(client_for, actor, athlete, who, expected):
    response = client_for(actor(who)).get(rec_url(athlete.pk))
    assert response.status_code == expected, response.content
    if expected == 200:
        assert set(response.json()) == RECOMMENDATION_FIELDS
    else:
        problem(response, expected, "not_found" if expected == 404 else "not_authenticated")


def test_unknown_athlete_is_404(client_for, therapist):
    problem(client_for(therapist).get(rec_url(uuid.uuid4())), 404, "not_found")


def test_sore_group_ranks_first_with_its_severity_in_the_reasons(client_for, athlete, therapist):
    sore(athlete, AT - timedelta(hours=4), group="deltoid_anterior", side="right", severity=6)

    body = get_recommendation(client_for(therapist), athlete.pk)

    top = body["focus"][0]
    assert (top["rank"], top["muscle_group"], top["side"]) == (1, "deltoid_anterior", "right")
    assert top["reasons"][0] == "soreness 6/10 4 h ago"
    assert "not loaded by football, but sore" in top["reasons"]
    assert top["components"]["soreness"] == 6.0
    assert body["generated_at"] == "2025-03-10T12:00:00Z"
    assert body["session_mode"] == SessionMode.STANDARD
    assert json.dumps(body)  # plain JSON: enums are strings


def test_soreness_after_at_is_not_seen(client_for, athlete, therapist):
    sore(athlete, AT + timedelta(hours=1), group="deltoid_anterior", side="right", severity=9)
    body = get_recommendation(client_for(therapist), athlete.pk)
    assert body["focus"][0]["muscle_group"] != "deltoid_anterior"
    assert {w["code"] for w in body["warnings"]} == {WarningCode.MAINTENANCE_ONLY}


def test_active_injury_goes_to_avoid(client_for, athlete, therapist):
    InjuryFactory(
        athlete=athlete, muscle_group=muscle("quadriceps"), side="right", onset_date=ONSET
    )
    InjuryFactory(
        athlete=athlete, muscle_group=muscle("adductors"), status="resolved", onset_date=ONSET
    )

    body = get_recommendation(client_for(therapist), athlete.pk)

    assert body["avoid"] == [
        {
            "muscle_group": "quadriceps",
            "name": "Quadriceps",
            "side": "right",
            "reason_code": AvoidReason.INJURY_ACTIVE,
            "reason": "active injury: no massage there; refer / assess first",
        }
    ]
    assert ("quadriceps", "right") not in {(f["muscle_group"], f["side"]) for f in body["focus"]}
    assert WarningCode.INJURY_ACTIVE in {w["code"] for w in body["warnings"]}


def test_injury_with_onset_after_at_is_not_yet_known(client_for, athlete, therapist):
    InjuryFactory(athlete=athlete, muscle_group=muscle("quadriceps"), onset_date=date(2025, 3, 11))
    assert get_recommendation(client_for(therapist), athlete.pk)["avoid"] == []


def test_pain_flag_in_the_last_72_hours_goes_to_avoid(client_for, athlete, therapist):
    sore(athlete, AT - timedelta(hours=30), group="adductors", side="left", severity=8, kind="pain")
    body = get_recommendation(client_for(therapist), athlete.pk)
    assert [(a["muscle_group"], a["side"], a["reason_code"]) for a in body["avoid"]] == [
        ("adductors", "left", "pain_flag")
    ]


def test_match_within_24_hours_gives_a_light_pre_match_session(client_for, athlete, therapist):
    sore(athlete, AT - timedelta(hours=4), severity=6)
    body = get_recommendation(client_for(therapist), athlete.pk, match_at=AT + timedelta(hours=10))
    assert body["session_mode"] == "pre_match_light"
    assert WarningCode.MATCH_WITHIN_24H in {w["code"] for w in body["warnings"]}
    assert len(body["focus"]) <= 5
    assert {(f["technique"], f["pressure"]) for f in body["focus"]} == {
        ("effleurage_flush", "light")
    }


def test_last_match_comes_from_training_sessions(client_for, athlete, therapist):
    TrainingSessionFactory(
        athlete=athlete,
        session_type="match",
        date=date(2025, 3, 8),
        started_at=AT - timedelta(hours=40),
        rpe=8,
        duration_min=90,
    )
    TrainingSessionFactory(  # after `at`: not the last match yet
        athlete=athlete, session_type="match", started_at=AT + timedelta(hours=2)
    )
    sore(athlete, AT - timedelta(hours=20), group="gastrocnemius")

    body = get_recommendation(client_for(therapist), athlete.pk)

    assert body["session_mode"] == "post_match"
    assert body["focus"][0]["muscle_group"] == "gastrocnemius"
    assert body["focus"][0]["components"]["post_match_boost"] == 20.0


def test_match_with_a_date_but_no_start_time_counts_from_local_noon(client_for, athlete, therapist):
    TrainingSessionFactory(
        athlete=athlete, session_type="match", date=date(2025, 3, 9), started_at=None
    )  # Europe/London noon on 9 March = 24 h before AT
    body = get_recommendation(client_for(therapist), athlete.pk)
    assert body["session_mode"] == "post_match"


def test_recent_treatment_reaches_the_recommendation(client_for, athlete, therapist):
    sore(athlete, AT - timedelta(hours=4), severity=5)
    treated(athlete, AT - timedelta(hours=12))
    item = get_recommendation(client_for(therapist), athlete.pk)["focus"][0]
    assert (item["muscle_group"], item["side"]) == ("hamstrings", "left")
    assert [w["code"] for w in item["warnings"]] == ["recently_treated"]
    assert item["components"]["recent_treatment_penalty"] == 1.5


def test_load_spike_reaches_the_recommendation(client_for, athlete, therapist):
    first = date(2025, 2, 4)
    for i in range(35):
        TrainingSessionFactory(
            athlete=athlete,
            date=first + timedelta(days=i),
            rpe=5,
            duration_min=10 if i < 28 else 20,
        )
    body = get_recommendation(client_for(therapist), athlete.pk)  # AT's local day = day 35
    codes = {w["code"] for w in body["warnings"]}
    assert {WarningCode.ACWR_HIGH, WarningCode.LOAD_SPIKE} <= codes


@pytest.mark.parametrize(
    "params",
    [
        {"at": "yesterday"},
        {"at": "2025-03-10T12:00:00"},  # no offset
        {"match_at": "2025-13-01T00:00:00Z"},
    ],
)
def test_bad_timestamps_are_400(client_for, athlete, params):
    body = problem(client_for(athlete).get(rec_url(athlete.pk), params), 400, "validation_error")
    assert [e["field"] for e in body["errors"]] == list(params)


def test_enum_names_are_pinned_to_the_domain_values():
    overrides = settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]

    def values(name):
        value = overrides[name]
        return list(import_string(value) if isinstance(value, str) else value)

    assert values("SessionModeEnum") == [m.value for m in SessionMode]
    assert values("WarningCodeEnum") == [c.value for c in WarningCode]
    assert values("AvoidReasonEnum") == [r.value for r in AvoidReason]


# --- the bulk selector ---------------------------------------------------------------------------


def busy_athlete(team):
    athlete = MembershipFactory(team=team, role=Role.ATHLETE).user
    sore(athlete, AT - timedelta(hours=6), severity=5)
    treated(athlete, AT - timedelta(days=5), group="quadriceps", side="both")
    InjuryFactory(athlete=athlete, muscle_group=muscle("adductors"), side="left", onset_date=ONSET)
    TrainingSessionFactory(
        athlete=athlete, session_type="match", started_at=AT - timedelta(hours=30)
    )
    TrainingSessionFactory(athlete=athlete, date=date(2025, 3, 1))
    return athlete


@pytest.mark.parametrize("n_athletes", [1, 6])
def test_recommendations_for_many_athletes_in_a_fixed_number_of_queries(
    django_assert_num_queries, n_athletes
):
    teams = [TeamFactory(), TeamFactory(time_zone="America/New_York")]
    athletes = [busy_athlete(teams[i % 2]) for i in range(n_athletes)]

    # the signals with the sports, time zones, catalogue and demand (one UNION), load metrics
    with django_assert_num_queries(2):
        result = recommendations_for(
            athlete_ids=[a.pk for a in athletes], at=AT, match_at=AT + timedelta(days=3)
        )

    assert set(result) == {a.pk for a in athletes}
    for recommendation in result.values():
        assert recommendation.session_mode is SessionMode.POST_MATCH
        assert recommendation.focus[0].muscle_group == "hamstrings"
        assert [a.muscle_group for a in recommendation.avoid] == ["adductors"]


def test_primary_sport_wins_over_the_team_sport(athlete):
    profile = athlete.athlete_profile
    profile.primary_sport_id = "swimming"
    profile.save()
    recommendation = recommendations_for(athlete_ids=[athlete.pk], at=AT)[athlete.pk]
    assert "in swimming" in " ".join(recommendation.focus[0].reasons)


def test_recommendation_endpoint_query_count(
    client_for, athlete, therapist, django_assert_num_queries
):
    sore(athlete, AT - timedelta(hours=4))
    client = client_for(therapist)
    with django_assert_num_queries(3):  # the athlete with sport and zone; signals, loads
        client.get(rec_url(athlete.pk), {"at": AT.isoformat()})


# --- planning a session from it -------------------------------------------------------------------


def plan(client, athlete_id, **body):
    payload = {"scheduled_at": "2025-03-11T09:00:00Z", "at": AT.isoformat(), **body}
    return client.post(plan_url(athlete_id), payload, format="json")


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", 401),
        ("therapist", 201),
        ("coach", 403),
        ("admin", 403),
        ("own_athlete", 403),
        ("teammate", 404),
        ("other_team_therapist", 404),
    ],
)
def test_plan_matrix(client_for, actor, athlete, who, expected):
    response = plan(client_for(actor(who)), athlete.pk)
    assert response.status_code == expected, response.content
    if expected == 403:
        problem(response, 403, "permission_denied")
    assert MassageSession.objects.filter(athlete=athlete).exists() is (expected == 201)


def test_plan_stores_the_recommendation_as_computed_then(client_for, athlete, therapist):
    sore(athlete, AT - timedelta(hours=4), severity=6)
    client = client_for(therapist)
    expected = get_recommendation(client, athlete.pk)

    response = plan(client, athlete.pk)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "planned"
    assert body["therapist"] == str(therapist.pk)
    assert body["athlete"] == str(athlete.pk)
    assert body["treated_areas"] == []
    assert body["recommendation_snapshot"] == expected
    assert body["aftercare"]["next_focus"] == expected["focus"][0]["summary"][:500]
    assert body["aftercare"]["next_focus"].startswith("Hamstrings (left): soreness 6/10")
    assert body["duration_min"] == expected["duration_min"]
    assert body["session_type"] == "recovery"
    stored = MassageSession.objects.get(pk=body["id"])
    assert stored.recommendation_snapshot == expected
    assert stored.scheduled_at == datetime(2025, 3, 11, 9, tzinfo=UTC)
    assert stored.version == 1


def test_plan_before_a_match_is_a_pre_event_session(client_for, athlete, therapist):
    body = plan(
        client_for(therapist),
        athlete.pk,
        match_at=(AT + timedelta(hours=1)).isoformat(),
        duration_min=15,
    ).json()
    assert body["session_type"] == "pre_event"
    assert body["duration_min"] == 15
    assert body["recommendation_snapshot"]["session_mode"] == "pre_event"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scheduled_at": None}, "scheduled_at"),
        ({"duration_min": 2}, "duration_min"),
        ({"session_type": "spa"}, "session_type"),
        ({"at": "soon"}, "at"),
        ({"treated_areas": []}, "treated_areas"),  # unknown field
    ],
)
def test_plan_validation(client_for, athlete, therapist, body, field):
    response = plan(client_for(therapist), athlete.pk, **body)
    errors = problem(response, 400, "validation_error")["errors"]
    assert [e["field"] for e in errors] == [field]
    assert not MassageSession.objects.exists()


# --- plan vs outcome ------------------------------------------------------------------------------


def complete(session_id, *, started_at, pain_before=5, pain_after=2):
    MassageSession.objects.filter(pk=session_id).update(
        status=MassageStatus.COMPLETED,
        started_at=started_at,
        completed_at=started_at + timedelta(hours=1),
        pain_before=pain_before,
        pain_after=pain_after,
    )
    return MassageSession.objects.get(pk=session_id)


@pytest.fixture
def planned_and_done(client_for, athlete, therapist):
    """Planned from the recommendation at AT, done an hour later, with soreness before/after."""
    sore(athlete, AT - timedelta(hours=4), severity=6)  # hamstrings left
    InjuryFactory(
        athlete=athlete, muscle_group=muscle("quadriceps"), side="right", onset_date=ONSET
    )
    session_id = plan(client_for(therapist), athlete.pk).json()["id"]
    started = AT + timedelta(hours=1)
    session = complete(session_id, started_at=started)
    for group, side in [
        ("hamstrings", "left"),
        ("quadriceps", "right"),
        ("forearm_flexors", "left"),
    ]:
        TreatedAreaFactory(session=session, muscle_group=muscle(group), side=side)
    sore(athlete, started + timedelta(hours=20), severity=3)
    sore(athlete, started + timedelta(hours=44), severity=4, side="both")
    sore(athlete, started + timedelta(hours=80), severity=9)  # after the 72 h window
    return session


def test_comparison_marks_treated_and_untreated(client_for, therapist, planned_and_done):
    response = client_for(therapist).get(comparison_url(planned_and_done.pk))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["planned_from_recommendation"] is True
    assert body["session_mode"] == "standard"
    assert body["session_at"] == "2025-03-10T13:00:00Z"
    recommended = {(r["muscle_group"], r["side"]): r for r in body["recommended"]}
    assert [r["rank"] for r in body["recommended"]] == list(range(1, len(recommended) + 1))
    assert recommended[("hamstrings", "left")]["treated"] is True
    assert recommended[("hamstrings", "left")]["treated_techniques"] == ["trigger_point"]
    assert recommended[("hamstrings", "left")]["rank"] == 1
    untreated = [key for key, r in recommended.items() if not r["treated"]]
    assert untreated
    assert ("hamstrings", "left") not in untreated
    assert {(a["muscle_group"], a["side"]) for a in body["not_recommended"]} == {
        ("quadriceps", "right"),
        ("forearm_flexors", "left"),
    }
    [avoided] = body["avoided_treated"]
    assert (avoided["muscle_group"], avoided["side"], avoided["reason_code"]) == (
        "quadriceps",
        "right",
        "injury_active",
    )
    assert "treated although the recommendation said to avoid it" in avoided["message"]
    assert body["pain"] == {"before": 5, "after": 2, "change": -3}
    soreness = {(s["muscle_group"], s["side"]): s for s in body["soreness"]}
    hamstrings = soreness[("hamstrings", "left")]
    assert hamstrings["before"] == {"severity": 6, "reported_at": "2025-03-10T08:00:00Z"}
    assert hamstrings["after"] == {"severity": 4, "reported_at": "2025-03-12T09:00:00Z"}
    assert hamstrings["change"] == -2
    forearm = soreness[("forearm_flexors", "left")]
    assert (forearm["before"], forearm["after"], forearm["change"]) == (None, None, None)


@pytest.mark.parametrize(("who", "expected"), READ_MATRIX)
def test_comparison_read_matrix(client_for, actor, athlete, who, expected):
    session = MassageSessionFactory(athlete=athlete, status=MassageStatus.COMPLETED)
    response = client_for(actor(who)).get(comparison_url(session.pk))
    assert response.status_code == expected, response.content


def test_comparison_of_a_session_that_is_not_completed_is_409(client_for, athlete, therapist):
    session = MassageSessionFactory(athlete=athlete, therapist=therapist)
    response = client_for(therapist).get(comparison_url(session.pk))
    problem(response, 409, "massage_session.not_completed")


def test_comparison_without_a_recommendation_has_nothing_recommended(
    client_for, athlete, therapist
):
    session = MassageSessionFactory(
        athlete=athlete, therapist=therapist, status=MassageStatus.COMPLETED, pain_before=4
    )
    TreatedAreaFactory(session=session, muscle_group=muscle("glute_max"), side="both")
    body = client_for(therapist).get(comparison_url(session.pk)).json()
    assert body["planned_from_recommendation"] is False
    assert body["recommended"] == []
    assert body["avoided_treated"] == []
    assert [a["muscle_group"] for a in body["not_recommended"]] == ["glute_max"]
    assert body["pain"] == {"before": 4, "after": None, "change": None}


def test_unknown_session_is_404(client_for, therapist):
    problem(client_for(therapist).get(comparison_url(uuid.uuid4())), 404, "not_found")
