"""The three journeys of the mobile app, end to end: the real server (production settings,
PostgreSQL, gunicorn) driven only through the generated Python client, asserting on its typed
models. docs/mobile.md quotes these requests; keep the two in step.

Order matters: the therapist completes a session that the coach then reads (the shared state is
`server.shared`); pytest runs the tests of a module in file order.
"""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from recovery_api_client.api.athletes import athletes_retrieve
from recovery_api_client.api.catalogue import muscle_groups_list, sports_list
from recovery_api_client.api.dashboard import (
    teams_dashboard_retrieve,
    teams_soreness_heatmap_retrieve,
    therapist_queue_list,
)
from recovery_api_client.api.massage import (
    massage_sessions_complete,
    massage_sessions_retrieve,
    massage_sessions_update,
)
from recovery_api_client.api.me import me_athlete_profile_update, me_export, me_retrieve
from recovery_api_client.api.metrics import athletes_metrics_retrieve
from recovery_api_client.api.recommendation import (
    athletes_recommendation_plan,
    athletes_recommendation_retrieve,
    massage_sessions_comparison_retrieve,
)
from recovery_api_client.api.soreness import soreness_reports_create, soreness_reports_list
from recovery_api_client.api.training import training_sessions_create
from recovery_api_client.models import (
    Athlete,
    AthleteMetrics,
    AthleteProfile,
    MassageAftercareRequest,
    MassageSession,
    MassageSessionComparison,
    MassageSessionCompleteRequest,
    MassageStatusEnum,
    Me,
    MuscleGroup,
    PaginatedSorenessReportList,
    PatchedAthleteProfileRequest,
    PatchedMassageSessionUpdateRequest,
    PersonalDataExport,
    PressureEnum,
    Problem,
    Recommendation,
    RecommendationPlanRequest,
    RoleEnum,
    SideEnum,
    SorenessEntryRequest,
    SorenessHeatmap,
    SorenessKindEnum,
    SorenessReport,
    SorenessReportCreateRequest,
    Sport,
    TeamDashboard,
    TechniqueEnum,
    TherapistQueueItem,
    TrainingSession,
    TrainingSessionCreateRequest,
    TrainingSessionTypeEnum,
    TreatedAreaRequest,
)
from recovery_api_client.types import Unset

pytestmark = pytest.mark.e2e

CLINICAL_NOTES = "Left hamstring: two active trigger points mid-belly; no neural signs."


def _membership(me: Me, role: RoleEnum) -> Any:
    return next(m for m in me.memberships if m.role == role and m.is_active)


def _if_match(operation: Any, last: Any) -> dict[str, str]:
    """Optimistic concurrency: where the operation takes If-Match, send the ETag of the last
    response about the session; a response without the header has the record, whose tag is
    its `version` in quotes (backend/api/concurrency.py)."""
    if "if_match" not in inspect.signature(operation.sync_detailed).parameters:
        return {}
    assert isinstance(last.parsed, MassageSession), last.parsed
    return {"if_match": last.headers.get("ETag") or f'"{last.parsed.version}"'}


def test_athlete_journey(server, sign_in):
    client = sign_in(server.login("athlete").email)

    me = me_retrieve.sync(client=client)
    assert isinstance(me, Me)
    team = _membership(me, RoleEnum.ATHLETE).team
    zone = ZoneInfo(team.time_zone)

    # The catalogue: whole lists, cached with an ETag (If-None-Match -> 304, no body).
    listed = muscle_groups_list.sync_detailed(client=client)
    assert listed.status_code == HTTPStatus.OK
    assert isinstance(listed.parsed, list)
    groups = {group.code: group for group in listed.parsed}
    assert all(isinstance(group, MuscleGroup) for group in groups.values())
    assert groups["hamstrings"].has_sides
    assert not groups["rectus_abdominis"].has_sides
    assert "max-age" in listed.headers["Cache-Control"]
    cached = muscle_groups_list.sync_detailed(client=client, if_none_match=listed.headers["ETag"])
    assert cached.status_code == HTTPStatus.NOT_MODIFIED
    assert not cached.content
    sports = sports_list.sync(client=client)
    assert isinstance(sports, list)
    assert all(isinstance(sport, Sport) for sport in sports)
    team_sport = next(sport for sport in sports if sport.code == team.sport)
    assert {demand.muscle_group for demand in team_sport.demands} <= set(groups)

    # Offline-first writes: each record carries the id the phone generated; a retry of the
    # same record (the answer was lost) returns the stored one with 200 and creates nothing.
    started = datetime.now(UTC) - timedelta(hours=3)
    day = started.astimezone(zone).date()
    practice = TrainingSessionCreateRequest(
        id=uuid4(),
        date=day,
        started_at=started,
        session_type=TrainingSessionTypeEnum.PRACTICE,
        duration_min=75,
        rpe=6,
        distance_km=6.2,
        notes="Small-sided games",
    )
    first = training_sessions_create.sync_detailed(client=client, body=practice)
    assert first.status_code == HTTPStatus.CREATED
    assert isinstance(first.parsed, TrainingSession)
    assert first.parsed.id == practice.id
    assert first.parsed.load_au == 75 * 6
    retry = training_sessions_create.sync_detailed(client=client, body=practice)
    assert retry.status_code == HTTPStatus.OK
    assert isinstance(retry.parsed, TrainingSession)
    assert (retry.parsed.id, retry.parsed.created_at) == (practice.id, first.parsed.created_at)

    # The same, with an Idempotency-Key as well: the retry replays the first response.
    strength = TrainingSessionCreateRequest(
        id=uuid4(),
        date=day,
        started_at=started + timedelta(hours=1, minutes=30),
        session_type=TrainingSessionTypeEnum.STRENGTH,
        duration_min=45,
        rpe=7,
    )
    key = str(uuid4())
    first = training_sessions_create.sync_detailed(
        client=client, body=strength, idempotency_key=key
    )
    assert first.status_code == HTTPStatus.CREATED
    retry = training_sessions_create.sync_detailed(
        client=client, body=strength, idempotency_key=key
    )
    assert retry.status_code == HTTPStatus.CREATED
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert isinstance(retry.parsed, TrainingSession)
    assert retry.parsed.id == strength.id
    assert retry.parsed.load_au == 45 * 7

    reported = datetime.now(UTC) - timedelta(minutes=5)
    report = SorenessReportCreateRequest(
        id=uuid4(),
        reported_at=reported,
        date=reported.astimezone(zone).date(),
        sleep_quality=4,
        fatigue=3,
        stress=4,
        mood=4,
        general_soreness=3,
        entries=[
            SorenessEntryRequest(
                muscle_group="hamstrings",
                side=SideEnum.LEFT,
                severity=6,
                kind=SorenessKindEnum.DOMS,
            ),
            SorenessEntryRequest(
                muscle_group="rectus_abdominis",
                side=None,
                severity=3,
                kind=SorenessKindEnum.TIGHTNESS,
            ),
        ],
    )
    first = soreness_reports_create.sync_detailed(client=client, body=report)
    assert first.status_code == HTTPStatus.CREATED
    assert isinstance(first.parsed, SorenessReport)
    stored = first.parsed
    assert stored.id == report.id
    assert len(stored.entries) == 2
    left = next(entry for entry in stored.entries if entry.muscle_group == "hamstrings")
    assert (left.side, left.severity, left.kind) == (SideEnum.LEFT, 6, SorenessKindEnum.DOMS)
    midline = next(entry for entry in stored.entries if entry.muscle_group == "rectus_abdominis")
    assert midline.side is None
    retry = soreness_reports_create.sync_detailed(client=client, body=report)
    assert retry.status_code == HTTPStatus.OK
    assert isinstance(retry.parsed, SorenessReport)
    assert retry.parsed.id == report.id

    # A validation error is a typed problem naming the field.
    bad = SorenessReportCreateRequest(
        reported_at=reported,
        date=report.date,
        entries=[
            SorenessEntryRequest(
                muscle_group="hamstrings",
                side=SideEnum.RIGHT,
                severity=11,
                kind=SorenessKindEnum.PAIN,
            )
        ],
    )
    refused = soreness_reports_create.sync_detailed(client=client, body=bad)
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    problem = refused.parsed
    assert isinstance(problem, Problem)
    assert (problem.status, problem.code) == (400, "validation_error")
    assert not isinstance(problem.errors, Unset)
    assert [(e.field, e.code) for e in problem.errors] == [("entries.0.severity", "max_value")]

    # Reading back: the list is cursor-paginated.
    page = soreness_reports_list.sync(client=client, athlete=me.id, page_size=2)
    assert isinstance(page, PaginatedSorenessReportList)
    assert page.results[0].id == report.id  # newest first
    assert len(page.results) <= 2
    assert page.next_ is None or "cursor=" in page.next_

    metrics = athletes_metrics_retrieve.sync(me.id, client=client, date_to=day)
    assert isinstance(metrics, AthleteMetrics)
    assert metrics.athlete == me.id
    assert metrics.date_to == day
    assert len(metrics.days) == 28
    assert metrics.latest.date == day
    assert metrics.latest.load_au >= 75 * 6 + 45 * 7
    assert metrics.conventions.acute_days == 7
    assert metrics.conventions.chronic_days == 28

    recommendation = athletes_recommendation_retrieve.sync(me.id, client=client)
    assert isinstance(recommendation, Recommendation)
    ranked = [(item.muscle_group, item.side) for item in recommendation.focus]
    avoided = [(item.muscle_group, item.side) for item in recommendation.avoid]
    assert ("hamstrings", SideEnum.LEFT) in ranked + avoided
    assert [item.rank for item in recommendation.focus] == list(
        range(1, len(recommendation.focus) + 1)
    )
    server.shared["athlete_records"] = {practice.id, strength.id, report.id}


def test_athlete_exports_own_data(server, sign_in):
    email = server.login("athlete").email
    export = me_export.sync(client=sign_in(email))
    assert isinstance(export, PersonalDataExport)
    assert export.user.email == email
    exported = {record.id for record in [*export.training_sessions, *export.soreness_reports]}
    assert server.shared.get("athlete_records", set()) <= exported


def test_therapist_journey(server, sign_in):
    client = sign_in(server.login("therapist").email)
    me = me_retrieve.sync(client=client)
    assert isinstance(me, Me)

    queue = therapist_queue_list.sync(client=client)
    assert isinstance(queue, list)
    assert len(queue) == 3
    assert all(isinstance(item, TherapistQueueItem) for item in queue)
    assert [item.urgency for item in queue] == sorted(
        (item.urgency for item in queue), reverse=True
    )
    athlete_id = queue[0].athlete.id

    recommendation = athletes_recommendation_retrieve.sync(athlete_id, client=client)
    assert isinstance(recommendation, Recommendation)

    planned = athletes_recommendation_plan.sync_detailed(
        athlete_id,
        client=client,
        body=RecommendationPlanRequest(scheduled_at=datetime.now(UTC) + timedelta(minutes=30)),
    )
    assert planned.status_code == HTTPStatus.CREATED
    session = planned.parsed
    assert isinstance(session, MassageSession)
    assert (session.status, session.athlete, session.therapist) == (
        MassageStatusEnum.PLANNED,
        athlete_id,
        me.id,
    )
    assert session.recommendation_snapshot
    assert not session.treated_areas
    session_id = str(session.id)

    update = massage_sessions_update.sync_detailed(
        session_id,
        client=client,
        body=PatchedMassageSessionUpdateRequest(
            started_at=datetime.now(UTC),
            complaint="Tight after the weekend's match.",
            pain_before=5,
            palpation_notes="Taut band, left hamstring mid-belly.",
            clinical_notes=CLINICAL_NOTES,
        ),
        **_if_match(massage_sessions_update, planned),
    )
    assessed = update.parsed
    assert isinstance(assessed, MassageSession), assessed
    assert assessed.pain_before == 5
    assert assessed.clinical_notes == CLINICAL_NOTES

    # Treat what was recommended (or the hamstrings when nothing was), then complete, sign
    # and lock the session.
    treated = [
        TreatedAreaRequest(
            muscle_group=item.muscle_group,
            side=item.side,
            technique=item.technique,
            pressure=item.pressure,
            minutes=max(item.minutes, 1),
            pain_during=4,
            trigger_points_found=1,
        )
        for item in recommendation.focus[:2]
    ] or [
        TreatedAreaRequest(
            muscle_group="hamstrings",
            side=SideEnum.LEFT,
            technique=TechniqueEnum.MYOFASCIAL_RELEASE,
            pressure=PressureEnum.MODERATE,
            minutes=10,
        )
    ]
    outcome = MassageSessionCompleteRequest(
        treated_areas=treated,
        pain_after=2,
        athlete_feedback="Much looser.",
        aftercare=MassageAftercareRequest(
            stretches="Supine hamstring stretch, 3 x 30 s each side, twice a day.",
            hydration="2 litres today.",
            next_session_in_days=3,
        ),
    )
    completed = massage_sessions_complete.sync_detailed(
        session_id,
        client=client,
        body=outcome,
        **_if_match(massage_sessions_complete, update),
    )
    assert completed.status_code == HTTPStatus.OK, completed.parsed
    done = completed.parsed
    assert isinstance(done, MassageSession)
    assert done.status == MassageStatusEnum.COMPLETED
    assert done.signed_by == me.id
    assert done.completed_at is not None
    assert (done.pain_before, done.pain_after) == (5, 2)
    assert len(done.treated_areas) == len(treated)
    assert done.aftercare.next_session_in_days == 3
    assert done.clinical_notes == CLINICAL_NOTES  # the therapist reads their own notes

    comparison = massage_sessions_comparison_retrieve.sync(done.id, client=client)
    assert isinstance(comparison, MassageSessionComparison)
    assert comparison.session == done.id
    assert comparison.planned_from_recommendation
    assert (comparison.pain.before, comparison.pain.after, comparison.pain.change) == (5, 2, -3)
    treated_keys = {(area.muscle_group, area.side) for area in treated}
    for item in comparison.recommended:
        assert item.treated == ((item.muscle_group, item.side) in treated_keys)
    server.shared["completed_session"] = (session_id, athlete_id)


def test_coach_journey(server, sign_in):
    coach = sign_in(server.login("coach").email)
    me = me_retrieve.sync(client=coach)
    assert isinstance(me, Me)
    team = _membership(me, RoleEnum.COACH).team

    dashboard = teams_dashboard_retrieve.sync(team.id, client=coach)
    assert isinstance(dashboard, TeamDashboard)
    assert dashboard.team.id == team.id
    assert dashboard.time_zone == team.time_zone
    assert dashboard.summary.athletes == len(dashboard.athletes) == 3
    bands = dashboard.summary.risk_bands
    assert bands.low + bands.moderate + bands.caution + bands.high + bands.unknown == 3

    heatmap = teams_soreness_heatmap_retrieve.sync(team.id, client=coach, days=7)
    assert isinstance(heatmap, SorenessHeatmap)
    assert heatmap.days == 7
    assert (heatmap.date_to - heatmap.date_from).days == 6
    assert all(cell.entries >= 1 and 0 <= cell.max_severity <= 10 for cell in heatmap.cells)
    if "athlete_records" in server.shared:  # the athlete journey reported a sore left hamstring
        assert ("hamstrings", SideEnum.LEFT) in {(c.muscle_group, c.side) for c in heatmap.cells}

    if "completed_session" not in server.shared:
        pytest.fail("the therapist journey did not complete a session")
    session_id, athlete_id = server.shared["completed_session"]
    athlete = athletes_retrieve.sync(str(athlete_id), client=coach)
    assert isinstance(athlete, Athlete)
    athlete_client = sign_in(athlete.email)

    # Without the athlete's consent the coach gets the session without its clinical notes ...
    profile = me_athlete_profile_update.sync(
        client=athlete_client,
        body=PatchedAthleteProfileRequest(share_clinical_notes_with_coaches=False),
    )
    assert isinstance(profile, AthleteProfile)
    assert profile.share_clinical_notes_with_coaches is False
    hidden = massage_sessions_retrieve.sync(session_id, client=coach)
    assert isinstance(hidden, MassageSession)
    assert hidden.status == MassageStatusEnum.COMPLETED
    assert isinstance(hidden.clinical_notes, Unset)  # absent, not null

    # ... and with it, the notes as the therapist wrote them.
    profile = me_athlete_profile_update.sync(
        client=athlete_client,
        body=PatchedAthleteProfileRequest(share_clinical_notes_with_coaches=True),
    )
    assert isinstance(profile, AthleteProfile)
    assert profile.share_clinical_notes_with_coaches is True
    shown = massage_sessions_retrieve.sync(session_id, client=coach)
    assert isinstance(shown, MassageSession)
    assert shown.clinical_notes == CLINICAL_NOTES
