"""The benchmark harness's own arithmetic and its answers to bad input (bench/harness, bench/run).
The benchmark itself never runs here: these are its parts that can be checked in a second."""

from __future__ import annotations

import math
import random
import shutil
import subprocess
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench.harness import config, report
from bench.harness.main import entry
from bench.harness.postgres import Postgres
from bench.harness.wrk import Endpoint, percentile, uncorrected, wrk
from recovery.management.commands import load_bench_data

ROOT = Path(__file__).resolve().parents[3]


def wrk_correction(measured: Counter[int], *, runtime_us: int, connections: int) -> Counter[int]:
    """wrk 4's `stats_correct` (src/stats.c), as wrk applies it before `done()` sees the
    histogram: every bin n >= 2 * expected adds its count to n - expected, n - 2 * expected, ...
    while above `expected`."""
    data = Counter(measured)
    answers = sum(measured.values())
    expected = runtime_us // (answers // connections)
    for n in range(expected * 2, max(data) + 1):
        count, m = data[n], n - expected
        while count and m > expected:
            data[m] += count
            m -= expected
    return +data


@pytest.mark.parametrize("seed", range(20))
def test_the_coordinated_omission_samples_are_taken_out_exactly(seed):
    rng = random.Random(seed)
    answers = rng.randrange(20, 400)
    measured = Counter(
        int(rng.lognormvariate(7.5, 0.6)) + (rng.randrange(5_000, 40_000) if rng.random() < 0.03 else 0)
        for _ in range(answers)
    )  # fmt: skip
    runtime_us = sum(value * count for value, count in measured.items())
    corrected = wrk_correction(measured, runtime_us=runtime_us, connections=1)
    assert sum(corrected.values()) >= answers  # wrk's histogram holds made-up answers
    back = uncorrected(
        sorted(corrected.items()), runtime_us=runtime_us, answers=answers, connections=1
    )
    assert back == measured


def test_one_slow_answer_no_longer_moves_the_p95():
    """The floor's case: 199 answers of 1.5 ms and one of 30 ms. wrk's corrected histogram puts
    its p95 near 10 ms; the answers measured have a p95 of 1.5 ms."""
    measured = Counter({1500: 199, 30_000: 1})
    runtime_us = 1500 * 199 + 30_000
    corrected = wrk_correction(measured, runtime_us=runtime_us, connections=1)
    assert percentile(corrected, 95) > 5_000
    back = uncorrected(sorted(corrected.items()), runtime_us=runtime_us, answers=200, connections=1)
    assert percentile(back, 95) == 1500
    assert percentile(back, 100) == 30_000


def test_percentile_is_nearest_rank_and_nan_without_answers():
    pooled = Counter({1: 50, 2: 45, 3: 4, 10: 1})
    assert [percentile(pooled, p) for p in (50, 95, 99, 100)] == [1, 2, 3, 10]
    assert math.isnan(percentile(Counter(), 95))


class _Tiny(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed ACK

    def do_GET(self):
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_a_wrk_run_stops_after_its_answers_and_keeps_only_measured_ones(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Tiny)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        tally: Counter[str] = Counter()
        started = time.monotonic()
        figures = wrk(
            base, Endpoint("tiny", "tiny", "GET", "/x", "token"), tmp_path,
            connections=1, seconds=20, answers=150, tally=tally,
        )  # fmt: skip
        elapsed = time.monotonic() - started
    finally:
        server.shutdown()
    assert elapsed < 5  # ended by its answers, not by its 20 s
    assert 150 <= figures["requests"] <= 152
    assert figures["answers_in_histogram"] == figures["requests"]
    assert sum(count for _, count in figures["histogram"]) == figures["requests"]
    assert tally == {"tiny": figures["requests"]}


def test_the_harness_offers_the_commands_scales():
    assert tuple(load_bench_data.SCALES) == config.SCALES


def test_the_org_scale_is_about_1000_athletes_with_a_team_of_600():
    sizes = load_bench_data.SCALES["org"]
    assert 950 <= sum(sizes) <= 1100
    assert {6, 60, 600} <= set(sizes)
    assert sizes.count(50) >= 5


@pytest.mark.parametrize("name", ["quick", "full"])
def test_each_profile_fits_its_deadline_in_the_worst_case(name):
    """Every latency run at its cap, every throughput run at its 10 s ceiling, 13 endpoints, and
    the dataset load (5 min at org scale): still within the deadline the run enforces."""
    p = config.PROFILES[name]
    runs = 13 * (p["pairs"] * 2 * (p["latency_cap_s"] + 1) + p["throughput_pairs"] * 2 * 11)
    load_and_memory = 300 + 120 if p["scale"] == "org" else 60 + 120
    assert runs + load_and_memory <= p["deadline_s"]
    assert p["memory_requests"] >= 10_000  # issue #8: memory after 10,000 mixed requests
    assert p["samples"] * p["pairs"] >= 500  # a pooled p95 of at least 25 answers above it


def test_an_unknown_scale_is_refused_before_anything_starts(capsys):
    with pytest.raises(SystemExit) as exited:
        entry(["--scale", "city"])
    assert exited.value.code == 2
    assert "invalid choice: 'city'" in capsys.readouterr().err


def test_no_reachable_postgres_is_a_clear_message_and_exit_1(capsys):
    assert entry(["--quick", "--postgres", "postgres://postgres@127.0.0.1:1"]) == 1
    out = capsys.readouterr().out
    assert "127.0.0.1:1" in out
    assert "not reachable" in out or "not installed" in out


def test_a_postgres_address_that_is_not_one_is_refused(capsys):
    assert entry(["--postgres", "http://127.0.0.1:5432"]) == 1
    assert "is not a postgres://USER@HOST:PORT address" in capsys.readouterr().out


def test_only_the_default_local_server_is_ever_started():
    assert Postgres.parse("postgres://postgres@127.0.0.1:5432").is_local_default
    assert not Postgres.parse("postgres://postgres@127.0.0.1:1").is_local_default
    assert not Postgres.parse("postgres://bench@db.example:5432").is_local_default


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["--scale", "city"], 2, "invalid choice: 'city'"),
        (["--quick", "--postgres", "postgres://postgres@127.0.0.1:1"], 1, "127.0.0.1:1"),
    ],
)
def test_bench_run_answers_bad_input_with_a_message_and_non_zero_exit(args, status, message):
    result = subprocess.run(
        [str(ROOT / "bench" / "run"), *args], capture_output=True, text=True, timeout=60,
        cwd=ROOT, check=False,
    )  # fmt: skip
    assert result.returncode == status, result.stdout + result.stderr
    assert message in result.stdout + result.stderr


def _report(dashboards: dict[str, int], memory_requests: int = 12_000) -> dict:
    def endpoint(p50: float, p95_ratio: float, queries: int) -> dict:
        return {"p50_ms": p50, "p95_ms": p50 * 1.3, "p95_ratio": p95_ratio, "queries": queries}

    endpoints = {f"dashboard_{size}": endpoint(p50, 2.0, 8) for size, p50 in dashboards.items()}
    endpoints |= {
        "metrics_365": endpoint(3, 1.5, 3),
        "recommendation": endpoint(4, 2.4, 5),
        "therapist_queue": endpoint(5, 2.6, 6),
        "write_floor": endpoint(2, 1.5, 4),
        "soreness_post": endpoint(3, 1.9, 12),
        "sync_push_50": endpoint(10, 5, 14),
        "sync_push_500": endpoint(80, 40, 14),
        "list_first": endpoint(3, 1.5, 2),
        "list_deep": endpoint(3.1, 1.5, 2),
    }
    return {
        "endpoints": endpoints,
        "memory": {
            "requests_target": 10_000,
            "not_floor_target": 0,
            "mixed": {"requests": memory_requests, "not_floor": 3_000},
            "floor_only": {"requests": 10_000},
            "delta_mb": 12.0,
        },
    }


def test_the_full_run_checks_t600_over_t60_and_the_quick_one_says_it_cannot():
    full = {c["check"]: c for c in report.checks(_report({"6": 5, "60": 10, "600": 95}))}
    assert full["t(600) / t(60), team dashboard p50"]["value"] == 9.5
    assert full["t(600) / t(60), team dashboard p50"]["pass"] is True
    assert full["team dashboard queries (6, 60, 600 athletes)"]["pass"] is True
    assert full["therapist queue (60 athletes) p95"]["pass"] is False
    quick = {c["check"]: c for c in report.checks(_report({"6": 5, "60": 10}))}
    assert quick["t(600) / t(60), team dashboard p50"]["pass"] is None


def test_the_soreness_post_is_also_given_against_the_write_floor_with_no_verdict():
    lines = {c["check"]: c for c in report.checks(_report({"6": 5, "60": 10}))}
    assert lines["soreness POST p95"]["pass"] is True  # 1.9x the floor: the target
    info = lines["soreness POST p95 / write floor p95 (for information)"]
    assert (info["value"], info["pass"]) == (round(1.9 / 1.5, 2), None)


def test_memory_after_fewer_requests_than_the_target_does_not_pass():
    lines = report.checks(_report({"6": 5, "60": 10}, memory_requests=9_000))
    memory = next(c for c in lines if c["check"].startswith("worker peak memory"))
    assert memory["pass"] is False


def test_the_markdown_names_every_endpoint_the_samples_and_where_memory_rose():
    r = _report({"6": 5, "60": 10, "600": 95})
    for index, (name, e) in enumerate(r["endpoints"].items()):
        e |= {"label": name.replace("_", " "), "samples": 600, "p50_ratio": 2.0, "rps": 100.0,
              "rps_ratio": 0.2, "workers_peak_mb_after": 90.0 + (40 if name == "dashboard_600" else 0)
              + index * 0.1}  # fmt: skip
    mixed_workers = {"1": {"hwm_mb": 131.0, "rss_mb": 100.0}}
    floor_workers = {"2": {"hwm_mb": 84.0, "rss_mb": 84.0}}
    r["memory"] |= {
        "peak_before_runs_mb": 88.0,
        "mixed": {"requests": 12_000, "not_floor": 3_000, "topped_up": 0, "peak_hwm_mb": 131.0,
                  "workers": mixed_workers},
        "floor_only": {"requests": 10_000, "peak_hwm_mb": 84.0, "workers": floor_workers},
    }  # fmt: skip
    r |= {
        "started_at": "2026-11-25T12:00:00+00:00", "profile": "full", "scale": "org",
        "duration_s": 1600, "floor_queries": 1, "notes": [],
        "floor": {"samples": 24_000, "p50_ms": 1.8, "p95_ms": 2.9, "rps": 500.0},
        "machine": {"cpu": "cpu", "cpus": 2, "python": "3.11", "postgresql": "15", "wrk": "wrk",
                    "commit": "abc1234", "uncommitted_changes": False},
        "settings": {"workers": 2, "threads": 2, "pairs": 5, "samples": 400, "latency_cap_s": 12,
                     "throughput_connections": 8, "throughput_pairs": 3, "throughput_s": 4},
        "dataset": {"scale": "org", "days": 365, "counts": {}, "writer": {"size": 1},
                    "teams": [{"size": 6}, {"size": 60}, {"size": 600}],
                    "load_and_migrate_seconds": 200.0},
    }  # fmt: skip
    r["checks"] = report.checks(r)
    text = report.markdown(r)
    assert "The run took 26.7 min." in text
    assert "| **floor** (all floor runs pooled) | 24000 |" in text
    assert all(f"| {name.replace('_', ' ')} | 600 |" in text for name in r["endpoints"])
    assert "rose during: dashboard 6 +2.0, dashboard 600 +40.1 (MB)" in text
    assert "| t(600) / t(60), team dashboard p50 | <= 10 | 9.5 | yes |" in text
