"""The engine of `bench/run` (see docs/performance.md): every figure is a ratio to the floor
endpoint measured in the same run, floor and endpoint runs interleaved (F E F E F E).

Steps, each bounded in time: a throwaway PostgreSQL database; the dataset
(`manage.py load_bench_data`); gunicorn through scripts/entrypoint with production settings on
the loopback; tokens; a warm-up; per endpoint three pairs of latency runs (wrk, 1 connection) and
three pairs of throughput runs (8 connections); exact query counts in-process; the peak memory
(VmHWM) of fresh workers after 10,000 floor requests and after 10,000 mixed requests (2,000 each
with --quick), sent by a small keep-alive client (wrk cannot stop after a number of requests).
Results go to bench/results/<date>-<scale>.md and .json. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import http.client as httpclient
import json
import math
import os
import platform
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
LUA = BENCH / "lua"
RESULTS = BENCH / "results"
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
HOST = "127.0.0.1"
PG = {"host": "127.0.0.1", "port": "5432", "user": "postgres"}

PROFILES: dict[str, dict[str, Any]] = {
    # --quick: the team dataset and short runs; a few minutes in all.
    "quick": {
        "scale": "team",
        "latency_s": 2,
        "throughput_s": 1,
        "pairs": 3,
        "deep_pages": 20,
        # The full run sends the 10,000 requests of the target; --quick a fifth, to stay short.
        "memory_requests": 2_000,
        "deadline_s": 20 * 60,
    },
    "full": {
        "scale": "org",
        "latency_s": 8,
        "throughput_s": 4,
        "pairs": 3,
        "deep_pages": 100,
        "memory_requests": 10_000,
        "deadline_s": 120 * 60,
    },
}
LATENCY_CONNECTIONS = 1
THROUGHPUT_CONNECTIONS = 8
TARGET_MB = 30.0


class BenchError(RuntimeError):
    pass


@dataclass
class Deadline:
    seconds: float
    started: float = field(default_factory=time.monotonic)

    def left(self) -> float:
        return self.seconds - (time.monotonic() - self.started)

    def check(self, what: str) -> None:
        if self.left() <= 0:
            raise BenchError(f"the run went over its time budget ({self.seconds:.0f} s) at {what}")


def log(message: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {message}", flush=True)


def run(cmd: list[str], *, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    result = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False
    )
    if result.returncode != 0:
        raise BenchError(
            f"{' '.join(cmd[:3])} failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}"
        )
    return result.stdout


# --- database -------------------------------------------------------------------------------------
def psql(sql: str, database: str = "postgres") -> str:
    return run(
        [
            "psql",
            "-h",
            PG["host"],
            "-p",
            PG["port"],
            "-U",
            PG["user"],
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-qAtc",
            sql,
        ],
        timeout=120,
    )


def database_url(name: str) -> str:
    return f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{name}"


# --- server -----------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Server:
    """gunicorn through scripts/entrypoint (migrate, then gthread workers), production settings,
    bound to the loopback; its own process group, so stopping it stops only what it started."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://{self.env['BIND']}"

    def start(self, timeout: float = 90) -> None:
        log_file = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [str(ROOT / "scripts" / "entrypoint")],
            env=self.env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
        until = time.monotonic() + timeout
        while time.monotonic() < until:
            if self.proc.poll() is not None:
                raise BenchError(f"the server exited; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as response:
                    if response.status == 200 and len(self.workers()) >= int(
                        self.env["WEB_CONCURRENCY"]
                    ):
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        raise BenchError(f"the server did not answer /healthz within {timeout:.0f} s")

    def workers(self) -> list[int]:
        """The worker processes: children of the gunicorn master."""
        if self.proc is None:
            return []
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def memory_mb(self) -> dict[str, float]:
        """VmHWM (peak resident set) and VmRSS of each worker, MB."""
        figures = {}
        for pid in self.workers():
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
            values = {
                line.split(":")[0]: int(line.split()[1]) / 1024
                for line in status
                if line.startswith(("VmHWM", "VmRSS"))
            }
            figures[str(pid)] = {
                "hwm_mb": round(values["VmHWM"], 1),
                "rss_mb": round(values["VmRSS"], 1),
            }
        return figures

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


# --- HTTP helpers (setup only; measurements are wrk's) -------------------------------------------
def http(
    base: str, method: str, path: str, token: str, body: Any = None, timeout: float = 60
) -> tuple[int, Any]:
    assert base.startswith(f"http://{HOST}:"), "loopback only"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{base}{path}", data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None


# --- wrk ------------------------------------------------------------------------------------------
_RUN_SEQ = [random.SystemRandom().randrange(1 << 20, 1 << 28)]


def next_run_id() -> int:
    _RUN_SEQ[0] += 1
    return _RUN_SEQ[0]


def lua_script(workdir: Path, template: str, **values: Any) -> Path:
    text = (LUA / template).read_text()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", str(value))
    text += "\n" + (LUA / "report.lua").read_text()
    path = workdir / f"{template.removesuffix('.lua')}-{next_run_id()}.lua"
    path.write_text(text)
    return path


@dataclass
class Endpoint:
    name: str
    label: str
    method: str
    path: str
    token: str
    template: str = "get.lua"
    values: dict[str, Any] = field(default_factory=dict)
    body: Any = None  # for the in-process query count
    bodies: list[Any] | None = None
    available: bool = True
    note: str = ""

    def script(self, workdir: Path) -> Path:
        return lua_script(
            workdir,
            self.template,
            TOKEN=self.token,
            PATH=self.path,
            RUN=next_run_id(),
            **self.values,
        )


def wrk(
    base: str, endpoint: Endpoint, workdir: Path, connections: int, seconds: int
) -> dict[str, Any]:
    script = endpoint.script(workdir)
    url = f"{base}{endpoint.path}"
    assert url.startswith(f"http://{HOST}:")
    cmd = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    out = run(cmd, timeout=seconds + 60)
    line = next((line for line in out.splitlines() if line.startswith("BENCH_JSON ")), None)
    if line is None:
        raise BenchError(f"wrk printed no result for {endpoint.name}:\n{out[-1500:]}")
    figures: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    settle(base, figures, connections)
    if figures["status_errors"] or figures["socket_errors"]:
        figures["failed"] = True
    return figures


def settle(base: str, figures: dict[str, Any], connections: int) -> None:
    """Let the server finish what wrk left in flight (requests it accepted before wrk stopped)
    before the next run starts, so a slow endpoint's tail never lands in the floor's run: wait
    for that much work, then until a request to /healthz answers within 50 ms (bounded)."""
    in_flight = connections * figures["max_us"] / 1e6
    time.sleep(min(10.0, 0.05 + in_flight / 2))
    until = time.monotonic() + 20
    while time.monotonic() < until:
        started = time.monotonic()
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=5):
                pass
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() - started < 0.05:
            return
        time.sleep(0.1)


def ms(us: float) -> float:
    return round(us / 1000, 3)


def measure(
    base: str,
    endpoint: Endpoint,
    floor: Endpoint,
    workdir: Path,
    profile: dict[str, Any],
    deadline: Deadline,
) -> dict[str, Any]:
    """F E F E F E at 1 connection, then F E F E F E at 8; per-pair ratios, their median."""
    pairs: dict[str, list[dict[str, Any]]] = {"latency": [], "throughput": []}
    for kind, connections in (
        ("latency", LATENCY_CONNECTIONS),
        ("throughput", THROUGHPUT_CONNECTIONS),
    ):
        seconds = profile[f"{kind}_s"]
        if kind == "throughput":  # long enough for a dozen answers per connection, at most 10 s
            p50_s = statistics.median(r["endpoint"]["p50_us"] for r in pairs["latency"]) / 1e6
            seconds = min(10, max(seconds, math.ceil(12 * p50_s)))
        for _ in range(profile["pairs"]):
            deadline.check(endpoint.name)
            f = wrk(base, floor, workdir, connections, seconds)
            e = wrk(base, endpoint, workdir, connections, seconds)
            pairs[kind].append({"floor": f, "endpoint": e})
    lat, thr = pairs["latency"], pairs["throughput"]

    def med(runs: list[dict[str, Any]], side: str, key: str) -> float:
        return statistics.median(r[side][key] for r in runs)

    def ratio(runs: list[dict[str, Any]], key: str) -> float:
        ratios = [r["endpoint"][key] / r["floor"][key] for r in runs if r["floor"][key]]
        return statistics.median(ratios) if ratios else float("nan")

    return {
        "p50_ms": ms(med(lat, "endpoint", "p50_us")),
        "p95_ms": ms(med(lat, "endpoint", "p95_us")),
        "rps": round(med(thr, "endpoint", "rps"), 1),
        "floor_p50_ms": ms(med(lat, "floor", "p50_us")),
        "floor_p95_ms": ms(med(lat, "floor", "p95_us")),
        "floor_rps": round(med(thr, "floor", "rps"), 1),
        "p50_ratio": round(ratio(lat, "p50_us"), 2),
        "p95_ratio": round(ratio(lat, "p95_us"), 2),
        "rps_ratio": round(ratio(thr, "rps"), 3),
        "errors": any(r["endpoint"].get("failed") for r in lat + thr),
        "runs": pairs,
    }


# --- the run ------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description="Benchmark the Recovery API against its floor.")
    parser.add_argument("--quick", action="store_true", help="team dataset, short runs")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=2, help="threads per worker (default 2)")
    args = parser.parse_args()
    profile = PROFILES["quick" if args.quick else "full"]
    deadline = Deadline(profile["deadline_s"])
    started = datetime.now(UTC)
    name = f"bench_{os.getpid()}_{int(time.time())}"
    workdir = Path(tempfile.mkdtemp(prefix="recovery-bench-"))
    log(
        f"profile {'quick' if args.quick else 'full'} ({profile['scale']} dataset); scratch {workdir}"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))},
        "RECOVERY_ENV": "production",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": HOST,
        "DATABASE_URL": database_url(name),
        "SECURE_SSL_REDIRECT": "false",
        "BENCH_FLOOR_ENABLED": "true",
        "BIND": f"{HOST}:{free_port()}",
        "WEB_CONCURRENCY": str(args.workers),
        "GUNICORN_THREADS": str(args.threads),
        # Workers must live through the memory phase's 10,000 requests: no recycling.
        "GUNICORN_MAX_REQUESTS": "0",
        "GUNICORN_TIMEOUT": "60",
        # Tokens outlive the run; the per-user throttle stays on (floor and endpoints pay it) with
        # a rate the benchmark cannot reach.
        "JWT_ACCESS_MINUTES": "600",
        "THROTTLE_USER": "100000000/min",
        "LOG_LEVEL": "WARNING",
        "PYTHON_BIN": PYTHON,
    }
    psql(f'CREATE DATABASE "{name}"')
    server = Server(env, workdir / "gunicorn.log")
    try:
        return _run(args, profile, deadline, env, server, workdir, started, name)
    finally:
        server.stop()
        if not args.keep:
            psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        log(f"scratch files (server log, scripts) in {workdir}")


def _run(
    args: argparse.Namespace,
    profile: dict[str, Any],
    deadline: Deadline,
    env: dict[str, str],
    server: Server,
    workdir: Path,
    started: datetime,
    db_name: str,
) -> int:
    manage = [PYTHON, str(ROOT / "manage.py")]
    log("migrating and loading the dataset")
    t0 = time.monotonic()
    run([*manage, "migrate", "--noinput", "-v0"], env=env, timeout=600)
    dataset_path = workdir / "dataset.json"
    run(
        [*manage, "load_bench_data", "--scale", profile["scale"], "--json", str(dataset_path)],
        env=env,
        timeout=min(3600, deadline.left()),
    )
    dataset = json.loads(dataset_path.read_text())
    load_seconds = round(time.monotonic() - t0, 1)
    log(f"dataset loaded in {load_seconds} s: {dataset['counts']}")
    tokens = json.loads(
        run(
            [PYTHON, str(BENCH / "django_tasks.py"), "tokens", str(dataset_path)],
            env=env,
            timeout=300,
        )
    )
    server.start()
    base = server.base
    log(f"server up at {base}, workers {server.workers()}")

    endpoints, floor, setup_notes = plan(base, dataset, tokens, profile, workdir)
    queries = count_queries([*endpoints, floor], env, workdir)
    log("warming up")
    for endpoint in [floor, *endpoints]:
        if endpoint.available:
            wrk(base, endpoint, workdir, 2, 1)

    results: dict[str, Any] = {}
    for endpoint in endpoints:
        if not endpoint.available:
            results[endpoint.name] = {"available": False, "note": endpoint.note}
            log(f"{endpoint.name}: not available ({endpoint.note})")
            continue
        log(f"measuring {endpoint.name}")
        results[endpoint.name] = measure(base, endpoint, floor, workdir, profile, deadline)
        results[endpoint.name]["queries"] = queries.get(endpoint.name, {}).get("queries")
        r = results[endpoint.name]
        log(
            f"  p50 {r['p50_ms']} ms p95 {r['p95_ms']} ms ({r['p95_ratio']}x floor), "
            f"{r['rps']} req/s ({r['rps_ratio']}x), {r['queries']} queries"
        )
    peak_after_run = server.memory_mb()
    server.stop()

    memory = memory_phase(env, workdir, endpoints, floor, profile, deadline)
    report = {
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "profile": "quick" if args.quick else "full",
        "scale": profile["scale"],
        "settings": {k: v for k, v in profile.items() if k != "deadline_s"}
        | {
            "workers": args.workers,
            "threads": args.threads,
            "latency_connections": LATENCY_CONNECTIONS,
            "throughput_connections": THROUGHPUT_CONNECTIONS,
        },
        "machine": machine(),
        "dataset": {k: v for k, v in dataset.items() if k not in ("password",)}
        | {"load_and_migrate_seconds": load_seconds},
        "floor_queries": queries.get("floor", {}).get("queries"),
        "endpoints": {
            e.name: {"label": e.label, "path": e.path.split("?")[0], **results[e.name]}
            for e in endpoints
        },
        "memory": {"after_run": peak_after_run, **memory},
        "notes": setup_notes,
    }
    report["checks"] = checks(report)
    paths = write_results(report)
    log(f"wrote {', '.join(str(p.relative_to(ROOT)) for p in paths)}")
    print((paths[0]).read_text())
    return 0


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
    status, body = http(base, "GET", pull_path, token, timeout=120)
    changes = len(body.get("changes", [])) if status == 200 and body else 0
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


def memory_phase(
    env: dict[str, str],
    workdir: Path,
    endpoints: list[Endpoint],
    floor: Endpoint,
    profile: dict[str, Any],
    deadline: Deadline,
) -> dict[str, Any]:
    """Fresh workers after N floor requests, then fresh workers after N mixed requests."""
    limit = profile["memory_requests"]
    # A day's mix, roughly: athletes write and read their own records most, staff read team
    # views less often; every benchmarked endpoint is in it (batch pushes as the 50 only).
    weights = {"soreness_post": 3, "list_first": 2, "metrics_365": 2, "recommendation": 2}
    mixed = [
        e
        for e in endpoints
        if e.available and e.name != "sync_push_500"
        for _ in range(weights.get(e.name, 1))
    ]
    phases = {"floor_only": [floor], "mixed": [floor, *mixed]}
    figures: dict[str, Any] = {"requests_per_phase": limit}
    for phase, chosen in phases.items():
        deadline.check(f"memory phase {phase}")
        server = Server(env, workdir / f"gunicorn-{phase}.log")
        server.start()
        try:
            seconds = min(600.0, max(30.0, deadline.left() - 60))
            result = send_requests(server.base, chosen, limit, connections=4, seconds=seconds)
            workers = server.memory_mb()
            figures[phase] = {
                "requests": result["requests"],
                "errors": result["errors"],
                "workers": workers,
                "peak_hwm_mb": max(w["hwm_mb"] for w in workers.values()),
            }
            log(f"memory {phase}: {figures[phase]['requests']} requests, workers {workers}")
        finally:
            server.stop()
    figures["delta_mb"] = round(
        figures["mixed"]["peak_hwm_mb"] - figures["floor_only"]["peak_hwm_mb"], 1
    )
    return figures


def send_requests(
    base: str, chosen: list[Endpoint], limit: int, *, connections: int, seconds: float
) -> dict[str, int]:
    """`limit` requests, the endpoints of `chosen` in turn, over `connections` keep-alive
    connections (one thread each); stops early at `seconds`. A POST gets a fresh
    Idempotency-Key, as a phone's new write would."""
    host = urlsplit(base)
    assert host.hostname == HOST
    counter = iter(range(limit))
    lock = threading.Lock()
    done = {"requests": 0, "errors": 0}
    until = time.monotonic() + seconds

    def worker() -> None:
        connection = httpclient.HTTPConnection(HOST, host.port, timeout=30)
        while time.monotonic() < until:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            endpoint = chosen[n % len(chosen)]
            headers = {"Authorization": f"Bearer {endpoint.token}", "Accept": "application/json"}
            body = lua_body(endpoint) or None
            if endpoint.method == "POST":
                headers["Content-Type"] = "application/json"
                headers["Idempotency-Key"] = f"bench-memory-{uuid.uuid4()}"
            try:
                connection.request(endpoint.method, endpoint.path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                ok = 200 <= response.status < 300
            except (OSError, httpclient.HTTPException):
                connection.close()
                connection = httpclient.HTTPConnection(HOST, host.port, timeout=30)
                ok = False
            with lock:
                done["requests"] += 1
                done["errors"] += 0 if ok else 1
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    return done


def lua_body(endpoint: Endpoint) -> str:
    """The body the memory phase sends (a batch push: always the same batch, so after the first
    time a phone's retry, answered "unchanged")."""
    body = endpoint.bodies[0] if endpoint.bodies else endpoint.body
    return json.dumps(body) if body is not None else ""


def machine() -> dict[str, Any]:
    def first_line(cmd: list[str]) -> str:
        try:
            return subprocess.run(
                cmd, capture_output=True, text=True, timeout=10, cwd=ROOT
            ).stdout.strip()
        except OSError:
            return ""

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "postgresql": psql("SHOW server_version").strip(),
        "wrk": " ".join(first_line(["wrk", "-v"]).split()[:2]),
        "commit": first_line(["git", "rev-parse", "--short", "HEAD"]),
        "uncommitted_changes": bool(first_line(["git", "status", "--porcelain"])),
    }


# --- targets --------------------------------------------------------------------------------------
def checks(report: dict[str, Any]) -> list[dict[str, Any]]:
    e = report["endpoints"]
    out: list[dict[str, Any]] = []

    def add(name: str, target: str, value: Any, ok: bool | None) -> None:
        out.append({"check": name, "target": target, "value": value, "pass": ok})

    def have(*names: str) -> bool:
        return all(n in e and e[n].get("available", True) is not False for n in names)

    if have("dashboard_60"):
        add(
            "team dashboard (60) p95",
            "<= 3x floor",
            e["dashboard_60"]["p95_ratio"],
            e["dashboard_60"]["p95_ratio"] <= 3,
        )
    sizes = [n for n in ("dashboard_6", "dashboard_60", "dashboard_600") if have(n)]
    counts = [e[n]["queries"] for n in sizes]
    add(
        "team dashboard queries (" + ", ".join(s.split("_")[1] for s in sizes) + " athletes)",
        "equal, <= 8",
        counts,
        len(set(counts)) == 1 and max(counts) <= 8,
    )
    if have("dashboard_60", "dashboard_600"):
        scaling = round(e["dashboard_600"]["p50_ms"] / e["dashboard_60"]["p50_ms"], 2)
        add("t(600) / t(60), dashboard p50", "<= 10", scaling, scaling <= 10)
    if have("metrics_365"):
        add(
            "athlete metrics (365 days) p95",
            "<= 2x floor",
            e["metrics_365"]["p95_ratio"],
            e["metrics_365"]["p95_ratio"] <= 2,
        )
        add(
            "athlete metrics queries",
            "<= 4",
            e["metrics_365"]["queries"],
            e["metrics_365"]["queries"] <= 4,
        )
    for name in ("recommendation", "therapist_queue"):
        if have(name):
            add(
                f"{e[name]['label']} p95",
                "<= 2.5x floor",
                e[name]["p95_ratio"],
                e[name]["p95_ratio"] <= 2.5,
            )
    if have("soreness_post"):
        add(
            "soreness POST p95",
            "<= 2x floor",
            e["soreness_post"]["p95_ratio"],
            e["soreness_post"]["p95_ratio"] <= 2,
        )
    if have("sync_push_50", "sync_push_500"):
        add(
            "sync push of 500 p95",
            "<= 100 ms",
            e["sync_push_500"]["p95_ms"],
            e["sync_push_500"]["p95_ms"] <= 100,
        )
        q = [e["sync_push_50"]["queries"], e["sync_push_500"]["queries"]]
        add("sync push queries (50, 500)", "equal", q, q[0] == q[1])
    else:
        add("sync push", "available", "not available", None)
    if have("list_first", "list_deep"):
        deep = round(e["list_deep"]["p95_ms"] / e["list_first"]["p95_ms"], 2)
        add("list: deep page p95 / first page p95", "<= 1.2", deep, deep <= 1.2)
    m = report["memory"]
    add(
        f"worker peak memory after {m['requests_per_phase']:,} mixed requests vs floor workers",
        f"<= +{TARGET_MB:.0f} MB",
        f"{m['delta_mb']:+.1f} MB",
        m["delta_mb"] <= TARGET_MB,
    )
    errors = [n for n, r in e.items() if r.get("errors")]
    add("non-2xx answers or socket errors during the runs", "none", errors or "none", not errors)
    return out


# --- results --------------------------------------------------------------------------------------
def write_results(report: dict[str, Any]) -> list[Path]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = f"{datetime.now(UTC):%Y-%m-%d}-{report['scale']}"
    json_path, md_path = RESULTS / f"{stem}.json", RESULTS / f"{stem}.md"
    json_path.write_text(json.dumps(finite(report), indent=2, allow_nan=False) + "\n")
    md_path.write_text(markdown(report))
    return [md_path, json_path]


def finite(value: Any) -> Any:
    """NaN and infinities (a run with no answer) as null: the JSON stays strict."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


def num(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def markdown(report: dict[str, Any]) -> str:
    e, m, mach = report["endpoints"], report["memory"], report["machine"]
    floors = [r for r in e.values() if r.get("available", True) is not False]
    floor_p50 = statistics.median(r["floor_p50_ms"] for r in floors)
    floor_p95 = statistics.median(r["floor_p95_ms"] for r in floors)
    floor_rps = statistics.median(r["floor_rps"] for r in floors)
    s = report["settings"]
    lines = [
        f"# Benchmark {report['started_at'][:10]} ({report['profile']}, {report['scale']} dataset)",
        "",
        f"Machine: {mach['cpu']}, {mach['cpus']} CPUs, Python {mach['python']}, PostgreSQL "
        f"{mach['postgresql']}, {mach['wrk']}. Commit {mach['commit']}"
        f"{' with uncommitted changes' if mach['uncommitted_changes'] else ''}.",
        f"Server: gunicorn gthread, {s['workers']} workers x {s['threads']} threads, production "
        "settings, loopback. Latency: wrk, 1 connection, "
        f"{s['latency_s']} s per run; throughput: {s['throughput_connections']} connections, "
        f"{s['throughput_s']} s per run; per endpoint {s['pairs']} pairs of floor and endpoint "
        "runs, interleaved (F E F E F E). Figures are medians over the runs; a ratio is the "
        "median of the per-pair ratios (endpoint / floor of the same pair).",
        "",
        f"Dataset: {_counts(report['dataset'])}; loaded in "
        f"{report['dataset']['load_and_migrate_seconds']} s.",
        "",
        "| endpoint | p50 ms | p95 ms | req/s (c=8) | p50 / floor | p95 / floor | req/s / floor "
        "| queries |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| **floor** (median of all floor runs) | {floor_p50:.2f} | {floor_p95:.2f} | "
        f"{floor_rps:.0f} | 1 | 1 | 1 | {report['floor_queries']} |",
    ]
    for r in e.values():
        if r.get("available", True) is False:
            lines.append(f"| {r['label']} | not available | | | | | | |")
            continue
        lines.append(
            f"| {r['label']} | {num(r['p50_ms'])} | {num(r['p95_ms'])} | {num(r['rps'], 0)} | "
            f"{num(r['p50_ratio'])} | {num(r['p95_ratio'])} | {num(r['rps_ratio'], 3)} | "
            f"{r['queries']} |"
        )
    lines += ["", "## Targets", "", "| check | target | value | pass |", "|---|---|---|---|"]
    for c in report["checks"]:
        verdict = {True: "yes", False: "**no**", None: "n/a"}[c["pass"]]
        lines.append(f"| {c['check']} | {c['target']} | {c['value']} | {verdict} |")
    lines += [
        "",
        f"## Worker memory (VmHWM, fresh workers, {m['requests_per_phase']:,} requests each)",
        "",
        "| phase | requests | peak VmHWM MB | per worker (HWM / RSS MB) |",
        "|---|---:|---:|---|",
    ]
    for phase in ("floor_only", "mixed"):
        p = m[phase]
        per = ", ".join(f"{w['hwm_mb']} / {w['rss_mb']}" for w in p["workers"].values())
        lines.append(
            f"| {phase.replace('_', ' ')} | {p['requests']} | {p['peak_hwm_mb']} | {per} |"
        )
    after = ", ".join(f"{w['hwm_mb']}" for w in m["after_run"].values())
    lines += [
        "",
        f"Mixed minus floor: {m['delta_mb']:+.1f} MB. Peak VmHWM of the workers after the "
        f"measured runs: {after} MB.",
    ]
    if report["notes"]:
        lines += ["", "Notes: " + "; ".join(report["notes"]) + "."]
    return "\n".join(lines) + "\n"


def _counts(dataset: dict[str, Any]) -> str:
    c = dataset["counts"]
    teams = ", ".join(str(t["size"]) for t in dataset["teams"])
    return (
        f"{dataset['scale']} scale, teams of {teams} athletes (and a writer athlete), "
        f"{dataset['days']} days: {c.get('recovery.TrainingSession', 0):,} training sessions, "
        f"{c.get('recovery.SorenessReport', 0):,} soreness reports, "
        f"{c.get('recovery.MassageSession', 0):,} massage sessions, "
        f"{c.get('recovery.AthleteDailyLoad', 0):,} daily-load rows"
    )


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        log(f"failed: {error}")
        sys.exit(1)
