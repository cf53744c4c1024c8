"""GET /api/v1/teams/{team_id}/dashboard/: every active athlete of the team as of the end of a local
day (load, ACWR, wellness, soreness, flags, injuries, last massage, top focus) and the team
summary; for the team's staff only, in a number of queries that does not grow with the team."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from accounts.models import Role
from recovery.selectors.recommendation import recommendations_for
from tests.factories import (
    InjuryFactory,
    MassageSessionFactory,
    MembershipFactory,
    SorenessEntryFactory,
    SorenessReportFactory,
    TeamFactory,
    TrainingSessionFactory,
)
from tests.factories.recovery import muscle

pytestmark = pytest.mark.django_db

NOW = "2025-03-14 12:00:00"  # Europe/London is on UTC until 30 March: local days are UTC days
TODAY = date(2025, 3, 14)
# Wellness items (sleep, fatigue, stress, mood, general soreness), each 1-5, by total.
ITEMS = {
    8: (2, 2, 2, 1, 1),
    10: (2, 2, 2, 2, 2),
    12: (3, 3, 2, 2, 2),
    14: (3, 3, 3, 3, 2),
    18: (4, 3, 4, 4, 3),
}
WELLNESS = ("sleep_quality", "fatigue", "stress", "mood", "general_soreness")


def url(team_id) -> str:
    return reverse("recovery:team-dashboard", args=[team_id])


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"{text}+00:00")


def train(athlete, day: date, load_au: int) -> None:
    """One session of `load_au` AU (RPE 5) on `day`."""
    TrainingSessionFactory(
        athlete=athlete,
        date=day,
        started_at=datetime.combine(day, time(10), tzinfo=UTC),
        rpe=5,
        duration_min=load_au // 5,
    )


def report(athlete, when: str, *entries, total: int = 18, resolved: str | None = None):
    soreness_report = SorenessReportFactory(
        athlete=athlete, reported_at=at(when), **dict(zip(WELLNESS, ITEMS[total], strict=True))
    )
    for code, side, severity, kind in entries:
        SorenessEntryFactory(
            report=soreness_report,
            muscle_group=muscle(code),
            side=side,
            severity=severity,
            kind=kind,
            flag_resolved_at=at(resolved) if resolved else None,
        )
    return soreness_report


@pytest.fixture
def squad(team, member):
    """Three athletes with hand-computed numbers (see each block), plus noise that must not count."""
    ann = MembershipFactory(team=team, role=Role.ATHLETE, user__full_name="Ann Archer").user
    ben = MembershipFactory(team=team, role=Role.ATHLETE, user__full_name="Ben Baker").user
    cat = MembershipFactory(team=team, role=Role.ATHLETE, user__full_name="Cat Cole").user

    # Ann: 28 days at 50 AU then 7 at 100 (DESIGN's test vector): on the 35th day, today, the
    # coupled ACWR is 1.600 (high), the EWMA ACWR about 1.339 (caution), monotony undefined.
    first = TODAY - timedelta(days=34)
    for offset in range(35):
        train(ann, first + timedelta(days=offset), 50 if offset < 28 else 100)
    # Wellness baseline 8, 12, 8, 12, 8, 12, 10 (mean 10, SD 2); latest 14: z = +2.0, better.
    for offset, total in enumerate([8, 12, 8, 12, 8, 12]):
        report(ann, f"2025-03-{6 + offset:02d}T07:00:00", total=total)
    report(
        ann,
        "2025-03-12T09:00:00",
        ("hamstrings", "left", 4, "doms"),
        ("glute_max", "right", 3, "doms"),
        total=10,
    )
    report(
        ann,
        "2025-03-13T08:00:00",
        ("hamstrings", "left", 6, "doms"),
        ("quadriceps", "right", 2, "tightness"),
        ("soleus", "left", 0, "doms"),  # 0: not sore, never listed
        total=14,
    )
    MassageSessionFactory(
        athlete=ann,
        status="completed",
        scheduled_at=at("2025-03-10T15:00:00"),
        started_at=at("2025-03-10T15:00:00"),
        completed_at=at("2025-03-10T16:00:00"),
    )
    MassageSessionFactory(athlete=ann, status="planned", scheduled_at=at("2025-03-16T15:00:00"))

    # Ben: three days of history (360, rest, 120); an open pain flag today, one resolved later
    # (open as of the 12th), an active injury since the 13th, a resolved old one.
    train(ben, date(2025, 3, 12), 360)
    train(ben, date(2025, 3, 14), 120)
    report(
        ben, "2025-03-01T09:00:00", ("adductors", "left", 7, "pain"), resolved="2025-03-13T10:00:00"
    )
    report(ben, "2025-03-13T10:00:00", ("hamstrings", "right", 8, "pain"))
    InjuryFactory(
        athlete=ben, muscle_group=muscle("hamstrings"), side="right", onset_date=date(2025, 3, 13)
    )
    InjuryFactory(
        athlete=ben,
        muscle_group=muscle("adductors"),
        side="left",
        onset_date=date(2025, 2, 1),
        status="resolved",
        resolved_date=date(2025, 2, 20),
    )

    # Cat: no training, one old report: listed as without a report in the last 3 days.
    report(cat, "2025-03-01T09:00:00")

    # Noise: a former athlete of the team and another team's athlete.
    former = MembershipFactory(team=team, role=Role.ATHLETE, is_active=False).user
    report(former, "2025-03-13T08:00:00", ("hamstrings", "left", 10, "pain"))
    stranger = MembershipFactory(team=TeamFactory(), role=Role.ATHLETE).user
    report(stranger, "2025-03-13T08:00:00", ("hamstrings", "left", 10, "pain"))
    return {"team": team, "ann": ann, "ben": ben, "cat": cat}


def by_name(body) -> dict[str, dict]:
    return {row["athlete"]["name"].split()[0]: row for row in body["athletes"]}


@freeze_time(NOW)
def test_dashboard_values_today(client_for, member, squad):
    response = client_for(member("coach")).get(url(squad["team"].pk))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["date"] == "2025-03-14"
    assert body["as_of"] == "2025-03-15T00:00:00Z"
    assert body["time_zone"] == "Europe/London"
    assert [row["athlete"]["name"] for row in body["athletes"]] == [
        "Ann Archer",
        "Ben Baker",
        "Cat Cole",
    ]
    ann, ben, cat = by_name(body)["Ann"], by_name(body)["Ben"], by_name(body)["Cat"]
    assert ann["athlete"]["id"] == str(squad["ann"].pk)

    assert ann["load"] == {
        "day_load_au": 100.0,
        "week_load_au": 700.0,
        "history_days": 35,
        "acwr": {"value": 1.6, "reason": None, "risk_band": "high"},
        "acwr_ewma": {"value": 1.339, "reason": None, "risk_band": "caution"},
        "monotony": {"value": None, "reason": "no_variation"},
    }
    assert ben["load"] == {
        "day_load_au": 120.0,
        "week_load_au": 480.0,
        "history_days": 3,
        "acwr": {"value": None, "reason": "insufficient_history", "risk_band": None},
        "acwr_ewma": {"value": None, "reason": "insufficient_history", "risk_band": None},
        "monotony": {"value": None, "reason": "insufficient_history"},
    }
    assert cat["load"]["day_load_au"] == 0.0
    assert cat["load"]["history_days"] == 0
    assert cat["load"]["acwr"] == {
        "value": None,
        "reason": "insufficient_history",
        "risk_band": None,
    }

    assert ann["wellness"] == {
        "latest_total": 14,
        "latest_on": "2025-03-13",
        "baseline_days": 7,
        "baseline_mean": 10.0,
        "z_score": {"value": 2.0, "reason": None},
        "direction": "better",
    }
    assert ben["wellness"] == {
        "latest_total": 18,
        "latest_on": "2025-03-13",
        "baseline_days": 1,
        "baseline_mean": None,
        "z_score": {"value": None, "reason": "insufficient_history"},
        "direction": None,
    }

    assert ann["sore_groups"] == [
        {
            "muscle_group": "hamstrings",
            "name": muscle("hamstrings").name,
            "side": "left",
            "max_severity": 6,
            "kind": "doms",
            "reported_at": "2025-03-13T08:00:00Z",
        },
        {
            "muscle_group": "glute_max",
            "name": muscle("glute_max").name,
            "side": "right",
            "max_severity": 3,
            "kind": "doms",
            "reported_at": "2025-03-12T09:00:00Z",
        },
        {
            "muscle_group": "quadriceps",
            "name": muscle("quadriceps").name,
            "side": "right",
            "max_severity": 2,
            "kind": "tightness",
            "reported_at": "2025-03-13T08:00:00Z",
        },
    ]
    assert [g["muscle_group"] for g in ben["sore_groups"]] == ["hamstrings"]
    assert cat["sore_groups"] == []

    assert (ann["open_flags"], ben["open_flags"], cat["open_flags"]) == (0, 1, 0)
    assert ben["injuries"] == [
        {
            "muscle_group": "hamstrings",
            "name": muscle("hamstrings").name,
            "side": "right",
            "status": "active",
            "onset_date": "2025-03-13",
            "resolved_date": None,
        }
    ]
    assert ann["injuries"] == []
    assert (ann["last_massage_on"], ben["last_massage_on"]) == ("2025-03-10", None)

    # The top focus is the first item of the recommendation at this moment (today: now).
    recommendation = recommendations_for(athlete_ids=[squad["ann"].pk], at=timezone.now())
    first = recommendation[squad["ann"].pk].focus[0]
    assert ann["top_focus"] == {
        "muscle_group": "hamstrings",
        "name": muscle("hamstrings").name,
        "side": "left",
        "score": first.score,
        "reason": first.reasons[0],
        "technique": first.technique.value,
    }
    assert first.muscle_group == "hamstrings"
    assert first.reasons[0].startswith("soreness 6/10")
    # Ben's flagged and injured right hamstring is never his top focus.
    assert (ben["top_focus"]["muscle_group"], ben["top_focus"]["side"]) != ("hamstrings", "right")

    assert body["summary"] == {
        "athletes": 3,
        "risk_bands": {"low": 0, "moderate": 0, "caution": 0, "high": 1, "unknown": 2},
        "most_sore_groups": [
            {
                "muscle_group": "hamstrings",
                "name": muscle("hamstrings").name,
                "entries": 3,  # Ann 4 and 6 (left), Ben 8 (right)
                "athletes": 2,
                "mean_severity": 6.0,
            },
            {
                "muscle_group": "glute_max",
                "name": muscle("glute_max").name,
                "entries": 1,
                "athletes": 1,
                "mean_severity": 3.0,
            },
            {
                "muscle_group": "quadriceps",
                "name": muscle("quadriceps").name,
                "entries": 1,
                "athletes": 1,
                "mean_severity": 2.0,
            },
        ],
        "without_soreness_report": [
            {
                "athlete": {"id": str(squad["cat"].pk), "name": "Cat Cole"},
                "last_report_at": "2025-03-01T09:00:00Z",
            }
        ],
    }


@freeze_time(NOW)
def test_as_of_date_ignores_everything_after_that_day(client_for, member, squad):
    response = client_for(member("therapist")).get(url(squad["team"].pk), {"date": "2025-03-12"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["date"], body["as_of"]) == ("2025-03-12", "2025-03-13T00:00:00Z")
    ann, ben = by_name(body)["Ann"], by_name(body)["Ben"]
    # Ann on the 33rd day: last 7 days 2 x 50 + 5 x 100 = 600; last 28 days 23 x 50 + 5 x 100 =
    # 1650; ACWR = (600 / 7) / (1650 / 28) = 1.455 (caution).
    assert (ann["load"]["day_load_au"], ann["load"]["week_load_au"]) == (100.0, 600.0)
    assert ann["load"]["history_days"] == 33
    assert ann["load"]["acwr"] == {"value": 1.455, "reason": None, "risk_band": "caution"}
    # The report of the 13th is not there yet: the latest is the 12th (10) against 8,12,8,12,8,12.
    assert ann["wellness"]["latest_on"] == "2025-03-12"
    assert ann["wellness"]["latest_total"] == 10
    assert ann["wellness"]["baseline_days"] == 6
    assert [(g["muscle_group"], g["max_severity"]) for g in ann["sore_groups"]] == [
        ("hamstrings", 4),
        ("glute_max", 3),
    ]
    assert ann["last_massage_on"] == "2025-03-10"
    # Ben: the pain flag of the 1st was resolved only on the 13th (open then); the 13th's flag and
    # injury had not happened; one day of training.
    assert ben["open_flags"] == 1
    assert ben["injuries"] == []
    assert ben["sore_groups"] == []
    assert (ben["load"]["day_load_au"], ben["load"]["history_days"]) == (360.0, 1)
    assert body["summary"]["risk_bands"] == {
        "low": 0,
        "moderate": 0,
        "caution": 1,
        "high": 0,
        "unknown": 2,
    }
    assert [row["athlete"]["name"] for row in body["summary"]["without_soreness_report"]] == [
        "Ben Baker",
        "Cat Cole",
    ]
    # The recommendation is as of the last instant of that day.
    end = at("2025-03-13T00:00:00") - timedelta(microseconds=1)
    first = recommendations_for(athlete_ids=[squad["ann"].pk], at=end)[squad["ann"].pk].focus[0]
    assert ann["top_focus"]["score"] == first.score
    assert ann["top_focus"]["reason"] == first.reasons[0]


@freeze_time(NOW)
def test_massage_session_signed_after_the_day_is_not_yet_the_last_one(client_for, member, team):
    athlete = member("athlete")
    MassageSessionFactory(
        athlete=athlete,
        status="completed",
        scheduled_at=at("2025-03-11T15:00:00"),
        started_at=at("2025-03-11T15:00:00"),
        completed_at=at("2025-03-13T09:00:00"),  # signed two days later
    )
    coach = member("coach")
    (row,) = client_for(coach).get(url(team.pk), {"date": "2025-03-12"}).json()["athletes"]
    assert row["last_massage_on"] is None
    (row,) = client_for(coach).get(url(team.pk)).json()["athletes"]
    assert row["last_massage_on"] == "2025-03-11"


@freeze_time("2025-03-14 23:30:00")
def test_default_date_is_today_in_the_team_time_zone(client_for, member, team):
    team.time_zone = "Asia/Tokyo"  # UTC+9: already the 15th
    team.save()
    body = client_for(member("coach")).get(url(team.pk)).json()
    assert (body["date"], body["as_of"], body["time_zone"]) == (
        "2025-03-15",
        "2025-03-16T00:00:00+09:00",
        "Asia/Tokyo",
    )
    assert body["athletes"] == []
    assert body["summary"]["athletes"] == 0


@pytest.mark.parametrize(
    ("role", "expected"),
    [("coach", 200), ("therapist", 200), ("admin", 200), ("athlete", 404)],
)
def test_access_by_role_in_the_team(client_for, member, team, role, expected):
    response = client_for(member(role)).get(url(team.pk))
    assert response.status_code == expected
    if expected == 404:
        assert response.json()["code"] == "not_found"


def test_other_teams_staff_inactive_staff_anonymous_and_unknown_team(client_for, member, team):
    assert client_for(member("coach", TeamFactory())).get(url(team.pk)).status_code == 404
    assert client_for(member("admin", TeamFactory())).get(url(team.pk)).status_code == 404
    former = MembershipFactory(team=team, role=Role.THERAPIST, is_active=False).user
    assert client_for(former).get(url(team.pk)).status_code == 404
    response = client_for(None).get(url(team.pk))
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    unknown = "00000000-0000-4000-8000-000000000000"
    assert client_for(member("coach")).get(url(unknown)).status_code == 404


def test_outsider_gets_404_even_with_a_bad_date(client_for, member, team):
    outsider = member("coach", TeamFactory())
    assert client_for(outsider).get(url(team.pk), {"date": "soon"}).status_code == 404


@freeze_time(NOW)
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-03-15", 200),  # tomorrow in the team's time zone
        ("2025-03-16", 400),
        ("2026-01-01", 400),
        ("2025-3-14", 400),
        ("yesterday", 400),
        ("2024-03-14", 200),
        ("1900-01-01", 200),
        ("0001-01-01", 400),  # before 1900
    ],
)
def test_date_parameter(client_for, member, team, value, expected):
    response = client_for(member("coach")).get(url(team.pk), {"date": value})
    assert response.status_code == expected
    if expected == 400:
        assert response.json()["code"] == "validation_error"
        assert [error["field"] for error in response.json()["errors"]] == ["date"]


def _busy_athlete(team, index: int) -> None:
    athlete = MembershipFactory(team=team, role=Role.ATHLETE).user
    train(athlete, TODAY - timedelta(days=index % 3), 300)
    report(
        athlete,
        "2025-03-13T08:00:00",
        ("hamstrings", "left", 3 + index % 5, "doms"),
        ("adductors", "right", 8, "pain"),
    )
    InjuryFactory(athlete=athlete, onset_date=TODAY - timedelta(days=2))
    MassageSessionFactory(
        athlete=athlete, status="completed", scheduled_at=at("2025-03-11T10:00:00")
    )


@freeze_time(NOW)
@pytest.mark.parametrize("n_athletes", [5, 60])
def test_query_count_does_not_grow_with_the_team(
    client_for, member, team, django_assert_num_queries, n_athletes
):
    coach = member("coach")
    for index in range(n_athletes):
        _busy_athlete(team, index)
    # The team if the caller is its staff (1), the athletes with their stored views (1); their
    # views being missing: the signals (soreness, treatments, injuries, matches, flags, wellness,
    # last report and massage, sport and time zone, the catalogue: one UNION) and the load
    # metrics (2), and storing the views (1). Then stored and current: the first two only.
    with django_assert_num_queries(5):
        response = client_for(coach).get(url(team.pk))
    assert response.status_code == 200
    assert response.json()["summary"]["athletes"] == n_athletes
    assert all(row["open_flags"] == 1 for row in response.json()["athletes"])
    with django_assert_num_queries(2):
        again = client_for(coach).get(url(team.pk))
    assert again.json() == response.json()
