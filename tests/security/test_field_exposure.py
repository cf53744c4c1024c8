"""OWASP API3 (broken object property level authorization), the read side: excessive exposure.

For each role and each record type, the serialized fields equal the allowed-field list of
tests/security/policy.py (nested objects included), on every surface that renders the record: its
detail, its list, the sync snapshot and the response of a write. `clinical_notes` follows POLICY
+ CONSENT_GATED: present for the athlete and the team's therapists, for coaches only with the
athlete's consent, never for admins. No response anywhere carries a credential or account flag.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.audit import AuditOrigin, audit_record
from accounts.models import AuditAction
from tests.security.conftest import World, membership_of, record_figure
from tests.security.policy import (
    ALLOWED_FIELDS,
    CLINICAL_NOTES,
    NEVER_SERIALIZED,
    Relation4,
    clinical_notes_readable,
)

ROLES = ("athlete", "therapist", "coach", "admin")
FIGURE = "field exposure"


def _get(world: World, role: str, path: str) -> Any:
    response = APIClient().get(path, **world.auth(role))
    assert response.status_code == 200, (path, role, response.content[:300])
    return response.json()


def _keys_ok(request, record: str, row: dict[str, Any], allowed: frozenset[str]) -> list[str]:
    """Compare one serialized row with its allowed fields; returns what differs (and counts)."""
    record_figure(request, f"{FIGURE}: rows checked")
    extra, missing = set(row) - allowed, allowed - set(row)
    record_figure(request, f"{FIGURE}: extra fields", len(extra))
    problems = [f"{record}: extra {sorted(extra)}"] if extra else []
    return problems + ([f"{record}: missing {sorted(missing)}"] if missing else [])


def _massage_problems(request, row: dict[str, Any], notes: bool) -> list[str]:
    allowed = ALLOWED_FIELDS["massage_session"] | ({CLINICAL_NOTES} if notes else set())
    problems = _keys_ok(request, "massage_session", row, frozenset(allowed))
    for area in row["treated_areas"]:
        problems += _keys_ok(request, "treated_area", area, ALLOWED_FIELDS["treated_area"])
    problems += _keys_ok(request, "aftercare", row["aftercare"], ALLOWED_FIELDS["aftercare"])
    return problems


def _readers(world: World) -> list[tuple[str, Relation4, Any]]:
    """(role, relation, athlete) for every reader of an A1 athlete's records: the athlete (own),
    the staff of A1 for the athlete who does not consent and for the teammate who does."""
    a1 = world.teams["a1"].members
    cases = [("athlete", Relation4.OWN, a1["athlete"])]
    for role in ("therapist", "coach", "admin"):
        cases += [(role, Relation4.SAME_TEAM, a1["athlete"])]
        cases += [(role, Relation4.SAME_TEAM, a1["teammate"])]
    return cases


@pytest.mark.parametrize("surface", ["detail", "list", "sync"])
def test_clinical_notes_follow_policy_and_consent(world, db, request, surface):
    problems: list[str] = []
    for role, relation, athlete in _readers(world):
        consent = athlete.athlete_profile.share_clinical_notes_with_coaches
        notes = clinical_notes_readable(role, relation, consent=consent)
        records = world.records[athlete.pk]
        rows: list[dict[str, Any]]
        if surface == "detail":
            rows = [
                _get(world, role, f"/api/v1/massage-sessions/{session.pk}/")
                for session in (records.massage_planned, records.massage_completed)
            ]
        elif surface == "list":
            rows = _get(world, role, f"/api/v1/massage-sessions/?athlete={athlete.pk}")["results"]
        else:
            changes = _get(world, role, "/api/v1/sync/?limit=500")["changes"]
            rows = [
                change["data"]
                for change in changes
                if change["kind"] == "massage_session"
                and change["data"]["athlete"] == str(athlete.pk)
            ]
        assert len(rows) == 2, (role, surface)
        for row in rows:
            record_figure(request, f"{FIGURE}: clinical notes cases")
            shown = CLINICAL_NOTES in row
            record_figure(request, f"{FIGURE}: clinical notes leaks", int(shown and not notes))
            if shown != notes:
                problems.append(f"{surface} as {role} of {athlete.email}: notes shown={shown}")
            problems += _massage_problems(request, row, notes)
    assert problems == []


def test_a_write_response_shows_clinical_notes_to_the_therapist_only_where_policy_says(
    world, db, request
):
    a1 = world.teams["a1"].members
    session = world.records[a1["athlete"].pk].massage_planned
    response = APIClient().patch(
        f"/api/v1/massage-sessions/{session.pk}/",
        {"complaint": "Tight calves."},
        format="json",
        HTTP_IF_MATCH="*",
        **world.auth("therapist"),
    )
    assert response.status_code == 200
    assert _massage_problems(request, response.json(), notes=True) == []


def _record_rows(world: World, role: str) -> dict[str, list[dict[str, Any]]]:
    """Each record type as `role` reads it (an A1 athlete's records; the athlete reads their own)."""
    a1 = world.teams["a1"]
    athlete = a1.members["athlete"]
    records = world.records[athlete.pk]
    rows: dict[str, list[dict[str, Any]]] = {
        "training_session": [
            _get(world, role, f"/api/v1/training-sessions/{records.training_session.pk}/"),
            *_get(world, role, f"/api/v1/training-sessions/?athlete={athlete.pk}")["results"],
        ],
        "soreness_report": [
            _get(world, role, f"/api/v1/soreness-reports/{records.soreness_report.pk}/"),
            *_get(world, role, f"/api/v1/soreness-reports/?athlete={athlete.pk}")["results"],
        ],
        "soreness_flag": _get(world, role, f"/api/v1/soreness-flags/?athlete={athlete.pk}")[
            "results"
        ],
        "injury": [
            _get(world, role, f"/api/v1/injuries/{records.injury.pk}/"),
            *_get(world, role, f"/api/v1/injuries/?athlete={athlete.pk}")["results"],
        ],
        "athlete": [
            _get(world, role, f"/api/v1/athletes/{athlete.pk}/"),
            *_get(world, role, f"/api/v1/athletes/?team={a1.team.pk}")["results"],
        ],
        "team": [
            _get(world, role, f"/api/v1/teams/{a1.team.pk}/"),
            *_get(world, role, "/api/v1/teams/")["results"],
        ],
        "me": [_get(world, role, "/api/v1/me/")],
    }
    if role != "athlete":
        membership = membership_of(athlete, a1.team)
        rows["membership"] = [
            _get(world, role, f"/api/v1/memberships/{membership.pk}/"),
            *_get(world, role, f"/api/v1/memberships/?team={a1.team.pk}")["results"],
        ]
    if role == "admin":
        rows["invitation"] = [
            _get(world, role, f"/api/v1/invitations/{a1.invitation.pk}/"),
            *_get(world, role, f"/api/v1/invitations/?team={a1.team.pk}")["results"],
        ]
        rows["audit_entry"] = _get(world, role, f"/api/v1/audit-entries/?team={a1.team.pk}")[
            "results"
        ]
    return rows


NESTED = {
    "soreness_report": ("entries", "soreness_entry"),
    "athlete": ("profile", "athlete_profile"),
    "membership": ("user", "user_summary"),
}


@pytest.mark.parametrize("role", ROLES)
def test_each_record_type_shows_exactly_its_allowed_fields(world, db, request, role):
    audit_record(
        actor=world.actor("coach"),
        action=AuditAction.CLINICAL_NOTES_READ,
        athlete_id=world.actor("athlete").pk,
        origin=AuditOrigin(ip_address="127.0.0.1", path="/api/v1/massage-sessions/"),
    )
    problems: list[str] = []
    rows_by_type = _record_rows(world, role)
    for record, rows in rows_by_type.items():
        assert rows, (role, record)
        for row in rows:
            problems += _keys_ok(request, record, row, ALLOWED_FIELDS[record])
            if record in NESTED:
                name, nested = NESTED[record]
                children = row[name] if isinstance(row[name], list) else [row[name]]
                for child in children:
                    problems += _keys_ok(request, nested, child, ALLOWED_FIELDS[nested])
    assert problems == []


def _all_keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value).union(*(_all_keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_all_keys(v) for v in value))
    return set()


@pytest.mark.parametrize("role", ROLES)
def test_no_response_carries_credentials_or_account_flags(world, db, request, role):
    bodies = [body for rows in _record_rows(world, role).values() for body in rows]
    bodies += [
        _get(world, role, "/api/v1/sync/?limit=500"),
        _get(world, role, "/api/v1/me/export/"),
    ]
    found = set().union(*(_all_keys(body) & NEVER_SERIALIZED for body in bodies))
    record_figure(request, f"{FIGURE}: bodies scanned for credentials", len(bodies))
    assert found == set()
