"""The stored views as text (recovery.selectors.dashboard.athletes.ViewText): the dashboard splices
each athlete's stored row into its answer without parsing it, the queue parses only its own line,
and the answers are the bytes a fresh computation renders. The stored text parses whole as the
view of the layout before (workers of both versions share it during a deploy); a part in that
older layout is computed again. Stale views are computed in batches; a rendered answer does not
outlive its request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIRequestFactory, force_authenticate

from accounts.models import Role
from backend.api.renderers import JSONText, ORJSONRenderer
from recovery.models import AthleteRecoveryState
from recovery.selectors.dashboard import athletes as athletes_module
from recovery.selectors.dashboard.athletes import ViewText
from recovery.views.dashboard import TeamDashboardView
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

NOW = datetime.now(UTC) - timedelta(minutes=1)
OLD_VIEW_KEYS = {"computed_at", "row", "risk_band", "last_report_at", "unreported", "sore", "queue"}


def busy_athlete(team, index: int, name: str | None = None):
    membership = MembershipFactory(team=team, role=Role.ATHLETE)
    athlete = membership.user
    if name is not None:
        athlete.full_name = name
        athlete.save(update_fields=["full_name"])
    for day in range(0, 15, 3):
        TrainingSessionFactory(athlete=athlete, date=NOW.date() - timedelta(days=day))
    report = SorenessReportFactory(
        athlete=athlete, reported_at=NOW - timedelta(hours=5 + index), date=NOW.date()
    )
    SorenessEntryFactory(report=report, muscle_group=muscle("hamstrings"), severity=3 + index % 5)
    MassageSessionFactory(athlete=athlete, scheduled_at=NOW + timedelta(days=1))
    InjuryFactory(athlete=athlete, onset_date=NOW.date() - timedelta(days=2))
    return athlete


def get(client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, response.content
    return bytes(response.content)


def stored_views() -> list[str]:
    return list(AthleteRecoveryState.objects.order_by("athlete_id").values_list("views", flat=True))


# --- The renderer ----------------------------------------------------------------------------------
def test_json_text_is_spliced_as_it_is():
    data = {"a": JSONText('[1,{"b":null,"c":"\u00e9"}]'), "d": 2}
    assert ORJSONRenderer().render(data) == '{"a":[1,{"b":null,"c":"\u00e9"}],"d":2}'.encode()


def test_json_text_is_parsed_when_the_renderer_falls_back_to_drf():
    data = {"a": JSONText('[1,{"b":null}]'), "big": 2**70}  # beyond 64 bits: DRF's renderer
    plain = {"a": [1, {"b": None}], "big": 2**70}
    assert ORJSONRenderer().render(data) == JSONRenderer().render(plain)
    indented = ORJSONRenderer().render(data, "application/json; indent=4")
    assert indented == JSONRenderer().render(plain, "application/json; indent=4")


def test_a_line_separator_in_json_text_is_escaped_as_drf_does():
    rendered = ORJSONRenderer().render({"a": JSONText('["x\u2028y"]')})
    assert rendered == b'{"a":["x\\u2028y"]}'


# --- The stored layout -----------------------------------------------------------------------------
def test_the_stored_text_is_three_lines_that_parse_whole_as_the_older_view(api_client):
    team = TeamFactory()
    coach = MembershipFactory(team=team, role=Role.COACH).user
    busy_athlete(team, 0)
    api_client.force_authenticate(coach)
    answer = orjson.loads(get(api_client, f"/api/v1/teams/{team.pk}/dashboard/"))
    (text,) = stored_views()
    assert text.count("\n") == 2

    whole = orjson.loads(text)  # what a worker of the older layout reads
    assert set(whole) == OLD_VIEW_KEYS
    (row,) = answer["athletes"]
    assert {"athlete": row["athlete"], **whole["row"], "computed_at": whole["computed_at"]} == row
    assert whole["queue"]["top_focus"] == whole["row"]["top_focus"] == row["top_focus"]

    view = ViewText.parse(text)
    assert view is not None
    assert orjson.loads(view.row) == whole["row"]
    assert orjson.loads(view.queue) == whole["queue"]
    assert view.summary_data() == {k: whole[k] for k in OLD_VIEW_KEYS - {"row", "queue"}}


@pytest.mark.parametrize("text", ["", "{}", '{"a":1}', "{\n}", '{"a":1,\n"queue":{},\n"x":{}}'])
def test_a_text_in_another_layout_is_not_a_view(text):
    assert ViewText.parse(text) is None


def test_a_view_stored_in_the_older_layout_is_computed_again_and_stored_anew(api_client):
    team = TeamFactory()
    coach = MembershipFactory(team=team, role=Role.COACH).user
    therapist = MembershipFactory(team=team, role=Role.THERAPIST).user
    busy_athlete(team, 0)
    url = f"/api/v1/teams/{team.pk}/dashboard/"
    api_client.force_authenticate(coach)
    fresh = get(api_client, url)
    (text,) = stored_views()
    older = orjson.dumps(orjson.loads(text)).decode()  # the same view on one line
    AthleteRecoveryState.objects.update(views=older)

    with CaptureQueriesContext(connection) as captured:
        again = get(api_client, url)
    assert len(captured) == 5  # the team, the athletes, signals, metrics, the upsert
    assert without_computed_at(again) == without_computed_at(fresh)
    (anew,) = stored_views()
    assert anew.count("\n") == 2
    assert orjson.loads(anew)["computed_at"] > orjson.loads(text)["computed_at"]

    AthleteRecoveryState.objects.update(views=older)
    api_client.force_authenticate(therapist)
    (item,) = orjson.loads(get(api_client, "/api/v1/therapist-queue/"))
    assert item["top_focus"] == orjson.loads(text)["row"]["top_focus"]
    assert stored_views()[0].count("\n") == 2


def without_computed_at(body: bytes) -> dict:
    answer = orjson.loads(body)
    for row in answer["athletes"]:
        row.pop("computed_at")
    return answer


def test_answers_from_the_stored_text_are_the_bytes_computed(api_client):
    team = TeamFactory()
    coach = MembershipFactory(team=team, role=Role.COACH).user
    therapist = MembershipFactory(team=team, role=Role.THERAPIST).user
    for index, name in enumerate(["Zoë Ångström", "Ana \u2028 Line", "Bo"]):
        busy_athlete(team, index, name)
    dashboard_url = f"/api/v1/teams/{team.pk}/dashboard/"

    api_client.force_authenticate(coach)
    computed = get(api_client, dashboard_url)
    with CaptureQueriesContext(connection) as captured:
        stored = get(api_client, dashboard_url)
    assert len(captured) == 2  # the team and the athletes with their stored views: no compute
    assert stored == computed
    assert b"\\u2028" in stored
    assert "\u2028".encode() not in stored

    api_client.force_authenticate(therapist)
    AthleteRecoveryState.objects.all().delete()
    computed_queue = get(api_client, "/api/v1/therapist-queue/")
    assert get(api_client, "/api/v1/therapist-queue/") == computed_queue


# --- Batches and memory ----------------------------------------------------------------------------
def test_stale_views_are_computed_in_batches_with_the_same_answer(api_client, monkeypatch):
    team = TeamFactory()
    coach = MembershipFactory(team=team, role=Role.COACH).user
    for index in range(5):
        busy_athlete(team, index)
    url = f"/api/v1/teams/{team.pk}/dashboard/"
    api_client.force_authenticate(coach)
    at_once = get(api_client, url)

    AthleteRecoveryState.objects.all().delete()
    monkeypatch.setattr(athletes_module, "COMPUTE_BATCH", 2)
    with CaptureQueriesContext(connection) as captured:
        batched = get(api_client, url)
    # the team, the athletes, 3 batches x (signals, metrics), one upsert
    assert len(captured) == 2 + 3 * 2 + 1
    assert without_computed_at(batched) == without_computed_at(at_once)


def test_a_rendered_dashboard_does_not_wait_for_the_collector(team, member):
    busy_athlete(team, 0)
    request = APIRequestFactory().get(f"/api/v1/teams/{team.pk}/dashboard/")
    force_authenticate(request, member("coach"))
    response = TeamDashboardView.as_view()(request, team_id=team.pk)
    view = response.renderer_context["view"]
    response.render()
    assert response.status_code == 200
    assert response.data is None
    assert view.response is None  # the view's cycle no longer holds the answer
