"""The run: arguments, checks before anything starts, the steps in order, cleanup on any exit."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from bench.harness import memory
from bench.harness.config import (
    BENCH,
    HOST,
    PROFILES,
    PYTHON,
    ROOT,
    SCALES,
    WARMUP_ANSWERS,
    BenchError,
    Deadline,
    log,
    run,
)
from bench.harness.plan import count_queries, plan
from bench.harness.postgres import DEFAULT_URL, Postgres
from bench.harness.report import checks, machine, write_results
from bench.harness.server import Server, free_port
from bench.harness.wrk import measure, ms, percentile, wrk


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run",
        description="Benchmark the Recovery API against its floor endpoint (docs/performance.md).",
    )
    parser.add_argument(
        "--quick", action="store_true", help="team dataset and short runs (a few minutes)"
    )
    parser.add_argument(
        "--scale", choices=SCALES, help="dataset (default: team with --quick, else org)"
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES", DEFAULT_URL),
        metavar="URL",
        help=f"PostgreSQL server for the throwaway database (default {DEFAULT_URL}; the local "
        "cluster is started if it is not answering)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=2, help="threads per worker (default 2)")
    args = parser.parse_args(argv)
    if args.workers < 1 or args.threads < 1:
        parser.error("--workers and --threads must be at least 1")
    return args


def entry(argv: list[str] | None = None) -> int:
    """Exit status: 0 done (whatever the targets say), 1 a step failed or the input is unusable
    (one line saying why), 2 bad arguments, 130 interrupted."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)  # bench/run's timeout: clean up as on Ctrl-C
    try:
        return main(args)
    except BenchError as error:
        log(f"failed: {error}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130


def _stop(signum: int, frame: Any) -> NoReturn:
    raise KeyboardInterrupt


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    log("installing wrk (apt-get)")
    try:
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=300, check=False)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            capture_output=True,
            timeout=300,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        pass
    if shutil.which("wrk") is None:
        raise BenchError("wrk is not installed and apt-get could not install it")


def main(args: argparse.Namespace) -> int:
    profile = dict(PROFILES["quick" if args.quick else "full"])
    profile["scale"] = args.scale or profile["scale"]
    pg = Postgres.parse(args.postgres)
    pg.ensure_reachable()
    ensure_wrk()
    deadline = Deadline(profile["deadline_s"])
    started = datetime.now(UTC)
    name = f"bench_{os.getpid()}_{int(time.time())}"
    workdir = Path(tempfile.mkdtemp(prefix="recovery-bench-"))
    log(
        f"profile {'quick' if args.quick else 'full'} ({profile['scale']} dataset, at most "
        f"{profile['deadline_s'] // 60} min); scratch {workdir}"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))},
        "RECOVERY_ENV": "production",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": HOST,
        "DATABASE_URL": pg.url(name),
        "SECURE_SSL_REDIRECT": "false",
        "BENCH_FLOOR_ENABLED": "true",
        "BIND": f"{HOST}:{free_port()}",
        "WEB_CONCURRENCY": str(args.workers),
        "GUNICORN_THREADS": str(args.threads),
        # Workers must live through the whole run (the memory figure): no recycling.
        "GUNICORN_MAX_REQUESTS": "0",
        "GUNICORN_TIMEOUT": "60",
        # Tokens outlive the run; the per-user throttle stays on (floor and endpoints pay it) with
        # a rate the benchmark cannot reach.
        "JWT_ACCESS_MINUTES": "600",
        "THROTTLE_USER": "100000000/min",
        "LOG_LEVEL": "WARNING",
        "PYTHON_BIN": PYTHON,
    }
    pg.create(name)
    server = Server(env, workdir / "gunicorn.log")
    try:
        return _run(args, profile, deadline, env, server, workdir, started, pg)
    finally:
        server.stop()
        if not args.keep:
            pg.drop(name)
        else:
            log(f"kept database {name}")
        log(f"scratch files (server logs, scripts) in {workdir}")


def _run(
    args: argparse.Namespace,
    profile: dict[str, Any],
    deadline: Deadline,
    env: dict[str, str],
    server: Server,
    workdir: Path,
    started: datetime,
    pg: Postgres,
) -> int:
    manage = [PYTHON, str(ROOT / "manage.py")]
    log("migrating and loading the dataset")
    t0 = time.monotonic()
    run([*manage, "migrate", "--noinput", "-v0"], env=env, timeout=600)
    dataset_path = workdir / "dataset.json"
    run(
        [*manage, "load_bench_data", "--scale", profile["scale"], "--json", str(dataset_path)],
        env=env,
        timeout=max(60.0, deadline.left()),
    )
    dataset = json.loads(dataset_path.read_text())
    load_seconds = round(time.monotonic() - t0, 1)
    log(f"dataset loaded in {load_seconds} s: {dataset['counts']}")
    tokens = json.loads(
        run([PYTHON, str(BENCH / "django_tasks.py"), "tokens", str(dataset_path)], env=env)
    )
    server.start()
    base = server.base
    log(f"server up at {base}, workers {server.workers()}")

    endpoints, floor, setup_notes = plan(base, dataset, tokens, profile, workdir)
    queries = count_queries([*endpoints, floor], env, workdir)
    log("warming up")
    tally: Counter[str] = Counter()  # requests the measured server's workers answered
    for endpoint in [floor, *endpoints]:
        if endpoint.available:
            wrk(base, endpoint, workdir, connections=2, seconds=3, answers=WARMUP_ANSWERS,
                tally=tally)  # fmt: skip

    peak_before_runs = max((w["hwm_mb"] for w in server.memory_mb().values()), default=None)
    results: dict[str, Any] = {}
    floor_runs: Counter[int] = Counter()
    floor_rps = []
    for endpoint in endpoints:
        if not endpoint.available:
            results[endpoint.name] = {"available": False, "note": endpoint.note}
            log(f"{endpoint.name}: not available ({endpoint.note})")
            continue
        log(f"measuring {endpoint.name}")
        figures, floor_hist = measure(base, endpoint, floor, workdir, profile, deadline, tally)
        floor_runs.update(floor_hist)
        floor_rps.append(figures["floor_rps"])
        figures["queries"] = queries.get(endpoint.name, {}).get("queries")
        # Where the workers' peak memory rose: their peak after each endpoint's runs.
        figures["workers_peak_mb_after"] = max(
            (w["hwm_mb"] for w in server.memory_mb().values()), default=None
        )
        results[endpoint.name] = figures
        log(
            f"  p50 {figures['p50_ms']} ms p95 {figures['p95_ms']} ms ({figures['p95_ratio']}x "
            f"floor, {figures['samples']} answers), {figures['rps']} req/s "
            f"({figures['rps_ratio']}x), {figures['queries']} queries"
        )
    mixed = memory.mixed_figures(server, endpoints, floor, tally, profile, deadline)
    server.stop()
    floor_only = memory.floor_figures(env, workdir, floor, profile["memory_requests"], deadline)

    finished = datetime.now(UTC)
    report = {
        "started_at": started.isoformat(),
        "finished_at": finished.isoformat(),
        "duration_s": round((finished - started).total_seconds()),
        "profile": "quick" if args.quick else "full",
        "scale": profile["scale"],
        "settings": {k: v for k, v in profile.items() if k != "deadline_s"}
        | {
            "deadline_s": profile["deadline_s"],
            "workers": args.workers,
            "threads": args.threads,
            "latency_connections": 1,
            "throughput_connections": 8,
        },
        "machine": machine(pg),
        "dataset": {k: v for k, v in dataset.items() if k != "password"}
        | {"load_and_migrate_seconds": load_seconds},
        "floor": {
            "samples": sum(floor_runs.values()),
            "p50_ms": ms(percentile(floor_runs, 50)),
            "p95_ms": ms(percentile(floor_runs, 95)),
            "rps": sorted(floor_rps)[len(floor_rps) // 2] if floor_rps else None,
        },
        "floor_queries": queries.get("floor", {}).get("queries"),
        "endpoints": {
            e.name: {"label": e.label, "path": e.path.split("?")[0], **results[e.name]}
            for e in endpoints
        },
        "memory": {
            "requests_target": profile["memory_requests"],
            "peak_before_runs_mb": peak_before_runs,
            "not_floor_target": profile["memory_not_floor"],
            "mixed": mixed,
            "floor_only": floor_only,
            "delta_mb": round(mixed["peak_hwm_mb"] - floor_only["peak_hwm_mb"], 1),
        },
        "notes": setup_notes,
    }
    report["checks"] = checks(report)
    paths = write_results(report)
    log(f"wrote {', '.join(str(p.relative_to(ROOT)) for p in paths)}")
    print(paths[0].read_text())
    return 0


if __name__ == "__main__":
    sys.exit(entry())
