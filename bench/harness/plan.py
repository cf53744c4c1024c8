"""What is measured: the endpoints with their tokens, paths and bodies (following list cursors
and preparing the sync pull through the running server), and their exact query counts."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.harness.config import BENCH, PYTHON, BenchError, run
from bench.harness.server import http
from bench.harness.wrk import Endpoint, next_run_id


def plan(
    base: str,
    dataset: dict[str, Any],
    tokens: dict[str, str],
    profile: dict[str, Any],
    workdir: Path,
) -> tuple[list[Endpoint], Endpoint, list[str]]:
    """The endpoints, their tokens and bodies; follows list cursors and prepares the sync pull."""
    notes: list[str] = []
    teams = {t["size"]: t for t in dataset["teams"]}
    mid = teams[60]
    coach, therapist = tokens[mid["coach"]["id"]], tokens[mid["therapist"]["id"]]
    writer = dataset["writer"]
    writer_token = tokens[writer["athlete"]["id"]]
    zone = ZoneInfo(writer["time_zone"])
    now = datetime.now(zone)
    day = now.date().isoformat()
    reported_at = (now - timedelta(minutes=2)).isoformat(timespec="seconds")
    today_60 = datetime.now(ZoneInfo(mid["time_zone"])).date()
    floor = Endpoint(
        "floor", "floor GET /api/v1/bench/floor/", "GET", "/api/v1/bench/floor/", coach
    )

    soreness_body = {
        "reported_at": reported_at,
        "date": day,
        "sleep_quality": 4,
        "fatigue": 3,
        "stress": 4,
        "mood": 4,
        "general_soreness": 3,
        "entries": [
            {"muscle_group": "hamstrings", "side": "left", "severity": 5, "kind": "doms"},
            {"muscle_group": "quadriceps", "side": "both", "severity": 3, "kind": "doms"},
            {"muscle_group": "gastrocnemius", "side": "right", "severity": 2, "kind": "tightness"},
        ],
    }
    endpoints = [
        # The write floor: what any durable, idempotent POST costs before its own work (the
        # floor's POST commits only its Idempotency-Key's row; backend/api/floor.py).
        Endpoint(
            "write_floor",
            "write floor: floor POST with an Idempotency-Key (one row committed)",
            "POST",
            floor.path,
            writer_token,
            "post_json.lua",
            {"BODY": "{}"},
            body={},
        ),
        Endpoint(
            "soreness_post",
            "soreness report POST (3 entries, Idempotency-Key)",
            "POST",
            "/api/v1/soreness-reports/",
            writer_token,
            "post_json.lua",
            {"BODY": json.dumps(soreness_body)},
            body=soreness_body,
        ),
    ]
    sync_available, sync_note = probe_sync(base, writer_token)
    for n in (50, 500):
        bodies = [push_body(n, day, reported_at) for _ in range(2)]
        endpoints.append(
            Endpoint(
                f"sync_push_{n}",
                f"sync push, batch of {n} new records",
                "POST",
                "/api/v1/sync/",
                writer_token,
                "sync_push.lua",
                {"RECORDS": n, "DAY": day, "REPORTED_AT": reported_at},
                bodies=bodies,
                available=sync_available,
                note=sync_note,
            )
        )
    for size in (6, 60, 600):
        if size not in teams:
            continue
        team = teams[size]
        endpoints.append(
            Endpoint(
                f"dashboard_{size}",
                f"team dashboard, {size} athletes",
                "GET",
                f"/api/v1/teams/{team['id']}/dashboard/",
                tokens[team["coach"]["id"]],
            )
        )
    first = (today_60 - timedelta(days=364)).isoformat()
    endpoints += [
        Endpoint(
            "metrics_365",
            "athlete metrics, 365 days",
            "GET",
            f"/api/v1/athletes/{mid['athlete']['id']}/metrics/?date_from={first}"
            f"&date_to={today_60.isoformat()}",
            coach,
        ),
        Endpoint(
            "recommendation",
            "recommendation (one athlete)",
            "GET",
            f"/api/v1/athletes/{mid['athlete']['id']}/recommendation/",
            therapist,
        ),
        Endpoint(
            "therapist_queue",
            "therapist queue (60 athletes)",
            "GET",
            "/api/v1/therapist-queue/",
            therapist,
        ),
        Endpoint(
            "list_first",
            "training-sessions list, first page",
            "GET",
            "/api/v1/training-sessions/",
            coach,
        ),
    ]
    deep_path, depth = follow_cursor(
        base, "/api/v1/training-sessions/", coach, profile["deep_pages"]
    )
    endpoints.append(
        Endpoint("list_deep", f"training-sessions list, page {depth + 1}", "GET", deep_path, coach)
    )
    if depth < profile["deep_pages"]:
        notes.append(f"the list had {depth + 1} pages: the deep page is page {depth + 1}")
    pull = Endpoint(
        "sync_pull_500",
        "sync pull, 500 changes",
        "GET",
        "/api/v1/sync/",
        writer_token,
        available=sync_available,
        note=sync_note,
    )
    if sync_available:
        pull.path, pull_note = prepare_pull(base, writer_token, day, reported_at)
        if pull_note:
            notes.append(pull_note)
    endpoints.append(pull)
    return endpoints, floor, notes


def push_body(n: int, day: str, reported_at: str) -> dict[str, Any]:
    """What sync_push.lua sends (for the in-process query count and the setup pushes)."""
    records = []
    for i in range(1, n + 1):
        if i % 2 == 0:
            records.append(
                {
                    "kind": "training_session",
                    "data": {
                        "id": str(uuid.uuid4()),
                        "date": day,
                        "session_type": "practice",
                        "duration_min": 20 + i % 60,
                        "rpe": 1 + i % 9,
                    },
                }
            )
        else:
            records.append(
                {
                    "kind": "soreness_report",
                    "data": {
                        "id": str(uuid.uuid4()),
                        "reported_at": reported_at,
                        "date": day,
                        "entries": [
                            {
                                "muscle_group": "hamstrings",
                                "side": "left",
                                "severity": i % 8,
                                "kind": "doms",
                            }
                        ],
                    },
                }
            )
    return {"records": records}


def probe_sync(base: str, token: str) -> tuple[bool, str]:
    status, _ = http(base, "GET", "/api/v1/sync/?limit=1", token)
    if status in (404, 405):
        return False, f"GET /api/v1/sync/ answers {status}: the sync endpoint is not there yet"
    push_status, _ = http(base, "POST", "/api/v1/sync/", token, {"records": []})
    if status != 200 or push_status != 200:
        return False, f"/api/v1/sync/ answers GET {status}, POST {push_status}"
    return True, ""


def follow_cursor(base: str, path: str, token: str, pages: int) -> tuple[str, int]:
    """The path of the list page `pages` pages after the first (or the last page)."""
    current, depth = path, 0
    for _ in range(pages):
        status, body = http(base, "GET", current, token)
        if status != 200 or not body or not body.get("next"):
            break
        current = (
            body["next"].split(base, 1)[-1] if body["next"].startswith("http") else body["next"]
        )
        depth += 1
    return current, depth


def prepare_pull(base: str, token: str, day: str, reported_at: str) -> tuple[str, str]:
    """A cursor followed by at least 500 changes: pull to the end, then push 600 records."""
    path, cursor = "/api/v1/sync/?limit=500", None
    for _ in range(200):
        status, body = http(base, "GET", path, token, timeout=120)
        if status != 200 or body is None:
            return path, f"the sync pull answered {status} while positioning the cursor"
        cursor = body.get("next_cursor") or cursor
        if not body.get("has_more"):
            break
        path = f"/api/v1/sync/?since={cursor}&limit=500"
    for _ in range(2):
        http(base, "POST", "/api/v1/sync/", token, push_body(300, day, reported_at), timeout=120)
    pull_path = f"/api/v1/sync/?since={cursor}&limit=500"
    # A pull sends only changes of transactions that ended before the oldest one still open in
    # the cluster (the snapshot horizon): on a shared server another database's transaction can
    # hold the pushes back for a moment.
    changes, until = 0, time.monotonic() + 30
    while changes < 500 and time.monotonic() < until:
        status, body = http(base, "GET", pull_path, token, timeout=120)
        changes = len(body.get("changes", [])) if status == 200 and body else 0
        if changes < 500:
            time.sleep(0.5)
    return pull_path, "" if changes >= 500 else f"the sync pull page holds {changes} changes"


def count_queries(endpoints: list[Endpoint], env: dict[str, str], workdir: Path) -> dict[str, Any]:
    specs = []
    for e in endpoints:
        if not e.available:
            continue
        headers = {"Authorization": f"Bearer {e.token}", "Accept": "application/json"}
        if e.template == "post_json.lua":
            headers["Idempotency-Key"] = f"bench-queries-{next_run_id()}"
        spec: dict[str, Any] = {
            "name": e.name,
            "method": e.method,
            "path": e.path,
            "headers": headers,
        }
        if e.bodies:
            spec["bodies"] = [json.dumps(b) for b in e.bodies]
        elif e.body is not None:
            spec["body"] = json.dumps(e.body)
        specs.append(spec)
    path = workdir / "queries.json"
    path.write_text(json.dumps(specs))
    out = run([PYTHON, str(BENCH / "django_tasks.py"), "queries", str(path)], env=env, timeout=600)
    counted: dict[str, Any] = json.loads(out)
    for name, figures in counted.items():
        if any(status >= 400 for status in figures["status"]):
            raise BenchError(f"{name} answered {figures['status']} in-process")
    return counted
