"""GET /api/v1/teams/{team_id}/soreness-heatmap/: soreness per muscle group and side over a window
of the team's local days, for the team's staff only, in one aggregate query."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.urls import reverse
from freezegun import freeze_time

from accounts.models import Role
from tests.factories import (
    MembershipFactory,
    SorenessEntryFactory,
    SorenessReportFactory,
    TeamFactory,
)
from tests.factories.recovery import muscle

pytestmark = pytest.mark.django_db

NOW = "2025-03-14 12:00:00"  # Europe/London is on UTC until 30 March: local days are UTC days


def url(team_id) -> str:
    return reverse("recovery:team-soreness-heatmap", args=[team_id])


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"{text}+00:00")


def report(athlete, when: str, *entries: tuple[str, str | None, int, str]) -> None:
    soreness_report = SorenessReportFactory(athlete=athlete, reported_at=at(when))
    for code, side, severity, kind in entries:
        SorenessEntryFactory(
            report=soreness_report,
            muscle_group=muscle(code),
            side=side,
            severity=severity,
            kind=kind,
        )


@pytest.fixture
def sore_team(team, member):
    """Three athletes with known soreness, plus reports that must never count."""
    a, b, c = member("athlete"), member("athlete"), member("athlete")
    report(
        a,
        "2025-03-13T08:00:00",
        ("hamstrings", "left", 6, "doms"),
        ("quadriceps", "right", 2, "tightness"),
    )
    report(b, "2025-03-12T09:00:00", ("hamstrings", "left", 4, "pain"))
    report(b, "2025-03-10T09:00:00", ("hamstrings", "left", 8, "pain"))
    report(c, "2025-03-06T09:00:00", ("hamstrings", "left", 9, "doms"))  # 8 days before today
    report(a, "2025-03-14T08:00:00", ("rectus_abdominis", None, 3, "doms"))
    left = MembershipFactory(team=team, role=Role.ATHLETE, is_active=False).user
    report(left, "2025-03-13T08:00:00", ("hamstrings", "left", 10, "pain"))  # left the team
    stranger = MembershipFactory(team=TeamFactory(), role=Role.ATHLETE).user
    report(stranger, "2025-03-13T08:00:00", ("hamstrings", "left", 10, "pain"))  # another team
    return team


def cells(response) -> dict[tuple[str, str | None], dict]:
    assert response.status_code == 200, response.content
    return {(cell["muscle_group"], cell["side"]): cell for cell in response.json()["cells"]}


@freeze_time(NOW)
def test_default_window_is_the_last_seven_local_days(client_for, member, sore_team):
    response = client_for(member("coach")).get(url(sore_team.pk))
    body = response.json()
    assert (body["date_from"], body["date_to"], body["days"]) == ("2025-03-08", "2025-03-14", 7)
    assert body["team"] == {"id": str(sore_team.pk), "name": sore_team.name}
    assert cells(response) == {
        ("hamstrings", "left"): {
            "muscle_group": "hamstrings",
            "name": muscle("hamstrings").name,
            "region": muscle("hamstrings").region,
            "view": muscle("hamstrings").view,
            "side": "left",
            "entries": 3,
            "athletes": 2,
            "mean_severity": 6.0,
            "max_severity": 8,
        },
        ("quadriceps", "right"): {
            "muscle_group": "quadriceps",
            "name": muscle("quadriceps").name,
            "region": muscle("quadriceps").region,
            "view": muscle("quadriceps").view,
            "side": "right",
            "entries": 1,
            "athletes": 1,
            "mean_severity": 2.0,
            "max_severity": 2,
        },
        ("rectus_abdominis", None): {
            "muscle_group": "rectus_abdominis",
            "name": muscle("rectus_abdominis").name,
            "region": muscle("rectus_abdominis").region,
            "view": muscle("rectus_abdominis").view,
            "side": None,
            "entries": 1,
            "athletes": 1,
            "mean_severity": 3.0,
            "max_severity": 3,
        },
    }
    # body-map (catalogue) order
    order = [cell["muscle_group"] for cell in response.json()["cells"]]
    sort_order = {code: muscle(code).sort_order for code in order}
    assert order == sorted(order, key=lambda code: sort_order[code])


@freeze_time(NOW)
def test_longer_window_reaches_older_reports(client_for, member, sore_team):
    hamstrings = cells(client_for(member("therapist")).get(url(sore_team.pk), {"days": 10}))[
        ("hamstrings", "left")
    ]
    assert (hamstrings["entries"], hamstrings["athletes"]) == (4, 3)
    assert (hamstrings["mean_severity"], hamstrings["max_severity"]) == (6.75, 9)


@freeze_time(NOW)
def test_as_of_date_ignores_later_reports(client_for, member, sore_team):
    response = client_for(member("admin")).get(url(sore_team.pk), {"date": "2025-03-12"})
    assert (response.json()["date_from"], response.json()["date_to"]) == (
        "2025-03-06",
        "2025-03-12",
    )
    assert cells(response) == {
        ("hamstrings", "left"): {
            "muscle_group": "hamstrings",
            "name": muscle("hamstrings").name,
            "region": muscle("hamstrings").region,
            "view": muscle("hamstrings").view,
            "side": "left",
            "entries": 3,  # b: 4 and 8, c: 9; a's report of the 13th is after the day
            "athletes": 2,
            "mean_severity": 7.0,
            "max_severity": 9,
        }
    }


@freeze_time(NOW)
def test_one_day_window_uses_local_midnights(client_for, member, team):
    athlete = member("athlete")
    team.time_zone = "America/New_York"  # UTC-4 in March (DST began on the 9th)
    team.save()
    report(athlete, "2025-03-14T03:59:00", ("hamstrings", "left", 5, "doms"))  # 13th, 23:59 local
    report(athlete, "2025-03-14T04:00:00", ("soleus", "left", 7, "doms"))
    response = client_for(member("coach")).get(url(team.pk), {"days": 1, "date": "2025-03-14"})
    assert set(cells(response)) == {("soleus", "left")}
    response = client_for(member("coach")).get(url(team.pk), {"days": 1, "date": "2025-03-13"})
    assert set(cells(response)) == {("hamstrings", "left")}


@pytest.mark.parametrize(
    ("role", "expected"),
    [("coach", 200), ("therapist", 200), ("admin", 200), ("athlete", 404)],
)
def test_access_by_role_in_the_team(client_for, member, team, role, expected):
    assert client_for(member(role)).get(url(team.pk)).status_code == expected


def test_other_teams_staff_inactive_staff_anonymous_and_unknown_team(client_for, member, team):
    other_coach = member("coach", TeamFactory())
    assert client_for(other_coach).get(url(team.pk)).status_code == 404
    former = MembershipFactory(team=team, role=Role.COACH, is_active=False).user
    assert client_for(former).get(url(team.pk)).status_code == 404
    response = client_for(None).get(url(team.pk))
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    unknown = "00000000-0000-4000-8000-000000000000"
    assert client_for(member("coach")).get(url(unknown)).status_code == 404


@freeze_time(NOW)
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"days": 0}, "days"),
        ({"days": 91}, "days"),
        ({"days": "a week"}, "days"),
        ({"date": "2025-03-16"}, "date"),  # beyond tomorrow
        ({"date": "14/03/2025"}, "date"),
        ({"date": "0001-01-07", "days": 90}, "date"),
    ],
)
def test_bad_parameters_are_400_naming_the_field(client_for, member, team, params, field):
    response = client_for(member("coach")).get(url(team.pk), params)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert [error["field"] for error in response.json()["errors"]] == [field]


@freeze_time(NOW)
def test_extreme_but_valid_parameters(client_for, member, team):
    coach = member("coach")
    assert client_for(coach).get(url(team.pk), {"days": 90}).status_code == 200
    assert client_for(coach).get(url(team.pk), {"days": 1}).status_code == 200
    assert client_for(coach).get(url(team.pk), {"date": "2025-03-15"}).status_code == 200


@freeze_time(NOW)
@pytest.mark.parametrize("n_athletes", [5, 60])
def test_query_count_does_not_grow_with_the_team(
    client_for, member, team, django_assert_num_queries, n_athletes
):
    coach = member("coach")
    for _ in range(n_athletes):
        report(member("athlete"), "2025-03-13T08:00:00", ("hamstrings", "left", 3, "doms"))
    # the team if the caller is its staff (access), the aggregate
    with django_assert_num_queries(2):
        response = client_for(coach).get(url(team.pk))
    assert cells(response)[("hamstrings", "left")]["entries"] == n_athletes
