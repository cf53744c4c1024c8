"""`manage.py load_bench_data`: the benchmark's dataset, reproducible, loaded in bulk with the
per-day load table filled, and clear errors for an unknown scale or an unreachable database."""

from __future__ import annotations

import json
import uuid
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError, connection

from recovery.models import AthleteDailyLoad, TrainingSession
from recovery.selectors.load import daily_loads_by_athlete, metrics_on, metrics_on_days

pytestmark = pytest.mark.django_db


def load(*args: str) -> dict:
    out = StringIO()
    call_command("load_bench_data", *args, stdout=out)
    return json.loads(out.getvalue())


def test_team_scale_has_the_writer_and_teams_of_6_and_60():
    dataset = load("--scale", "team", "--days", "3")
    assert dataset["writer"]["size"] == 1
    assert [team["size"] for team in dataset["teams"]] == [6, 60]
    assert all({"coach", "therapist", "athlete"} <= set(team) for team in dataset["teams"])
    assert dataset["counts"]["recovery.TrainingSession"] == TrainingSession.objects.count() > 0
    # The bulk load filled the per-day table: a day reads as the raw series does.
    athlete = uuid.UUID(dataset["teams"][1]["athlete"]["id"])
    days = TrainingSession.objects.filter(athlete_id=athlete).values_list("date", flat=True)
    series = daily_loads_by_athlete(athlete_ids=[athlete], until=max(days))[athlete]
    day = max(days)
    assert metrics_on_days(pairs=[(athlete, day)])[(athlete, day)] == metrics_on(series, day)
    assert AthleteDailyLoad.objects.exists()


def test_the_same_seed_gives_the_same_dataset():
    first = load("--scale", "team", "--days", "2", "--seed", "3")
    again = load("--scale", "team", "--days", "2", "--seed", "3", "--reset")
    assert [t["id"] for t in first["teams"]] == [t["id"] for t in again["teams"]]
    assert first["counts"] == again["counts"]


def test_loading_twice_without_reset_is_refused():
    load("--scale", "team", "--days", "1")
    with pytest.raises(CommandError, match="already loaded"):
        load("--scale", "team", "--days", "1")


def test_an_unknown_scale_is_a_clear_error():
    with pytest.raises(CommandError, match="Unknown scale 'city'"):
        call_command("load_bench_data", "--scale", "city")


def test_an_unreachable_database_is_a_clear_error():
    with (
        mock.patch.object(connection, "ensure_connection", side_effect=OperationalError("down")),
        pytest.raises(CommandError, match="not reachable"),
    ):
        call_command("load_bench_data", "--scale", "team")
