"""`manage.py load_bench_data`: the benchmark's dataset, reproducible, loaded in bulk with the
per-day load table filled, and clear errors for an unknown scale or an unreachable database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError, connection

from recovery.management.commands import load_bench_data
from recovery.models import AthleteDailyLoad, TrainingSession
from recovery.selectors.load import daily_loads_by_athlete, metrics_on, metrics_on_days

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[3]


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


def test_a_database_without_its_migrations_is_a_clear_error():
    with (
        mock.patch.object(load_bench_data, "_unapplied_migrations", return_value=2),
        pytest.raises(CommandError, match=r"lacks 2 migration\(s\): run `manage.py migrate`"),
    ):
        call_command("load_bench_data", "--scale", "team")
    assert not TrainingSession.objects.exists()


@pytest.mark.parametrize(
    ("args", "database_url", "message"),
    [
        (["--scale", "city"], None, "Unknown scale 'city': use one of team, org."),
        (
            ["--scale", "team"],
            "postgres://postgres@127.0.0.1:1/none",
            "The database is not reachable",
        ),
    ],
)
def test_the_command_line_says_why_and_exits_non_zero(args, database_url, message):
    """What a person running it sees: one line, exit status 1, nothing written."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {"DATABASE_URL": database_url} if database_url else {}
    env["DJANGO_SETTINGS_MODULE"] = "backend.settings.base"
    env.setdefault("DATABASE_URL", "sqlite:///:memory:")
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "load_bench_data", *args],
        capture_output=True, text=True, timeout=60, cwd=ROOT, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"CommandError: {message}" in result.stderr
    assert "Traceback" not in result.stderr


def test_org_scale_has_about_1000_athletes_with_teams_of_6_60_600_and_50():
    dataset = load("--scale", "org", "--days", "1")
    sizes = [team["size"] for team in dataset["teams"]]
    assert sizes == [6, *([50] * 7), 60, 600]
    assert 950 <= sum(sizes) + dataset["writer"]["size"] <= 1100
    assert dataset["counts"]["accounts.AthleteProfile"] == sum(sizes) + 1
