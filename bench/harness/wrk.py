"""One wrk run (until a number of answers or a time cap), pooled latency histograms, and the
interleaved floor/endpoint measurement of one endpoint."""

from __future__ import annotations

import json
import math
import random
import signal
import statistics
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harness.config import (
    HOST,
    LATENCY_CONNECTIONS,
    LUA,
    ROOT,
    THROUGHPUT_CONNECTIONS,
    BenchError,
    Deadline,
)
from bench.harness.server import healthz_quick

_RUN_SEQ = [random.SystemRandom().randrange(1 << 20, 1 << 28)]


def next_run_id() -> int:
    _RUN_SEQ[0] += 1
    return _RUN_SEQ[0]


@dataclass
class Endpoint:
    name: str
    label: str
    method: str
    path: str
    token: str
    template: str = "get.lua"
    values: dict[str, Any] = field(default_factory=dict)
    body: Any = None  # for the in-process query count and the memory top-up
    bodies: list[Any] | None = None
    available: bool = True
    note: str = ""

    def script(self, workdir: Path, answers: int = 0) -> Path:
        """The wrk script: the template filled in, the report appended, and when `answers` is
        given the part that ends the run after that many answers."""
        values = {"TOKEN": self.token, "PATH": self.path, "RUN": next_run_id(), **self.values}
        text = (LUA / self.template).read_text()
        if answers:
            text += "\n" + (LUA / "stop_after.lua").read_text()
            values["ANSWERS"] = answers
        text += "\n" + (LUA / "report.lua").read_text()
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", str(value))
        path = workdir / f"{self.template.removesuffix('.lua')}-{next_run_id()}.lua"
        path.write_text(text)
        return path


# --- histograms ---------------------------------------------------------------------------------
def histogram(runs: list[dict[str, Any]]) -> Counter[int]:
    """The runs' answers pooled: latency in microseconds -> answers."""
    pooled: Counter[int] = Counter()
    for figures in runs:
        for value, count in figures.get("histogram", ()):
            pooled[int(value)] += int(count)
    return pooled


def uncorrected(
    pairs: list[list[int]], *, runtime_us: int, answers: int, connections: int
) -> Counter[int]:
    """The latencies wrk measured, without the samples it adds for coordinated omission.

    At the end of a run wrk 4 "corrects" its latency histogram (`stats_correct`): with
    `expected = runtime / (answers / connections)`, every answer slower than twice that adds
    synthetic answers at v - expected, v - 2 * expected, ... down to `expected`. That models an
    open-loop client that would have sent requests on a schedule; at one connection nothing was
    omitted, and one 20 ms hiccup of the floor adds about fifteen made-up answers between 1 and
    20 ms, which is what moved the floor's p95 between 1.8 and 7.4 ms. The correction only adds
    to lower bins, so walking the bins from the top and subtracting what the higher bins added
    gives back exactly the measured answers (their count equals wrk's `requests`)."""
    data = {int(value): int(count) for value, count in pairs}
    per_connection = answers // connections
    if not per_connection:
        return Counter(data)
    expected = runtime_us // per_connection
    added: Counter[int] = Counter()
    measured: Counter[int] = Counter()
    for value in sorted(data, reverse=True):
        count = data[value] - added[value]
        if count > 0:
            measured[value] = count
        if expected and value >= 2 * expected:
            below = value - expected
            while below > expected:
                added[below] += count
                below -= expected
    return measured


def percentile(pooled: Counter[int], p: float) -> float:
    """Nearest-rank percentile in microseconds (NaN for no answers)."""
    total = sum(pooled.values())
    if not total:
        return float("nan")
    rank, seen = max(1, math.ceil(p / 100 * total)), 0
    for value in sorted(pooled):
        seen += pooled[value]
        if seen >= rank:
            return float(value)
    return float(max(pooled))


# --- one run --------------------------------------------------------------------------------------
def wrk(
    base: str,
    endpoint: Endpoint,
    workdir: Path,
    *,
    connections: int,
    seconds: int,
    answers: int = 0,
    tally: Counter[str] | None = None,
) -> dict[str, Any]:
    """One wrk run of `seconds` at most, ended early after `answers` answers when given; its
    figures (with the latency histogram). `tally` counts the requests the server answered."""
    url = f"{base}{endpoint.path}"
    if not url.startswith(f"http://{HOST}:"):
        raise BenchError(f"refusing to benchmark {url}: loopback only")
    script = endpoint.script(workdir, answers)
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s",
           str(script), url]  # fmt: skip
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT
    )
    watchdog = threading.Timer(seconds + 60, proc.kill)
    watchdog.start()
    lines = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("BENCH_STOP"):
                # wrk handles SIGINT from the moment its threads run; they have by now.
                time.sleep(max(0.0, 0.1 - (time.monotonic() - started)))
                proc.send_signal(signal.SIGINT)
        proc.wait()
    except BaseException:  # interrupted (bench/run's timeout, Ctrl-C): no wrk left behind
        proc.kill()
        raise
    finally:
        watchdog.cancel()
    out = "".join(lines)
    result = next((line for line in lines if line.startswith("BENCH_JSON ")), None)
    if proc.returncode != 0 or result is None:
        raise BenchError(f"wrk printed no result for {endpoint.name}:\n{out[-1500:]}")
    figures: dict[str, Any] = json.loads(result.removeprefix("BENCH_JSON "))
    figures["rps"] = figures["requests"] / max(figures["duration_us"] / 1e6, 1e-9)
    measured = uncorrected(
        figures["histogram"], runtime_us=figures["duration_us"], answers=figures["requests"],
        connections=connections,
    )  # fmt: skip
    figures["histogram"] = sorted(measured.items())
    for p in (50, 95, 99):  # wrk's own figures include the synthetic answers: kept for reference
        figures[f"wrk_p{p}_us"] = figures.pop(f"p{p}_us")
        figures[f"p{p}_us"] = percentile(measured, p)
    figures["answers_in_histogram"] = sum(measured.values())
    if tally is not None:
        tally[endpoint.name] += figures["requests"]
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
    while time.monotonic() < until and not healthz_quick(base):
        time.sleep(0.1)


def ms(us: float) -> float:
    return round(us / 1000, 3) if math.isfinite(us) else float("nan")


# --- one endpoint -----------------------------------------------------------------------------
def measure(
    base: str,
    endpoint: Endpoint,
    floor: Endpoint,
    workdir: Path,
    profile: dict[str, Any],
    deadline: Deadline,
    tally: Counter[str],
) -> tuple[dict[str, Any], Counter[int]]:
    """Latency: `pairs` x (floor run, endpoint run) at 1 connection, each until `samples`
    answers or `latency_cap_s`; percentiles from the answers pooled over the runs, ratios of
    the endpoint's pooled figure to its interleaved floor runs' pooled figure. Throughput:
    `throughput_pairs` x (floor, endpoint) at 8 connections. Returns the figures and the floor
    runs' pooled histogram (for the run's floor row)."""
    latency: list[dict[str, Any]] = []
    for _ in range(profile["pairs"]):
        deadline.check(endpoint.name)
        pair = {}
        for side, target in (("floor", floor), ("endpoint", endpoint)):
            pair[side] = wrk(
                base, target, workdir, connections=LATENCY_CONNECTIONS,
                seconds=profile["latency_cap_s"], answers=profile["samples"], tally=tally,
            )  # fmt: skip
        latency.append(pair)
    floor_hist = histogram([p["floor"] for p in latency])
    endpoint_hist = histogram([p["endpoint"] for p in latency])
    # Throughput runs long enough for a dozen answers per connection, at most 10 s.
    seconds = min(
        10, max(profile["throughput_s"], math.ceil(12 * percentile(endpoint_hist, 50) / 1e6))
    )
    throughput: list[dict[str, Any]] = []
    for _ in range(profile["throughput_pairs"]):
        deadline.check(endpoint.name)
        throughput.append(
            {
                side: wrk(
                    base,
                    target,
                    workdir,
                    connections=THROUGHPUT_CONNECTIONS,
                    seconds=seconds,
                    tally=tally,
                )
                for side, target in (("floor", floor), ("endpoint", endpoint))
            }
        )

    def ratio(key: str) -> float:
        """The endpoint's pooled percentile over the floor's."""
        p = {"p50": 50, "p95": 95, "p99": 99}[key]
        f = percentile(floor_hist, p)
        return round(percentile(endpoint_hist, p) / f, 2) if f else float("nan")

    def pair_median(runs: list[dict[str, Any]], key: str) -> float:
        ratios = [r["endpoint"][key] / r["floor"][key] for r in runs if r["floor"][key]]
        return round(statistics.median(ratios), 3) if ratios else float("nan")

    for run_ in latency + throughput:  # the histograms are pooled above; keep the JSON small
        for figures in run_.values():
            figures.pop("histogram", None)
    figures = {
        "samples": sum(endpoint_hist.values()),
        "floor_samples": sum(floor_hist.values()),
        "p50_ms": ms(percentile(endpoint_hist, 50)),
        "p95_ms": ms(percentile(endpoint_hist, 95)),
        "p99_ms": ms(percentile(endpoint_hist, 99)),
        "floor_p50_ms": ms(percentile(floor_hist, 50)),
        "floor_p95_ms": ms(percentile(floor_hist, 95)),
        "p50_ratio": ratio("p50"),
        "p95_ratio": ratio("p95"),
        "p99_ratio": ratio("p99"),
        "p95_ratio_median_of_pairs": pair_median(latency, "p95_us"),
        "rps": round(statistics.median(r["endpoint"]["rps"] for r in throughput), 1),
        "floor_rps": round(statistics.median(r["floor"]["rps"] for r in throughput), 1),
        "rps_ratio": pair_median(throughput, "rps"),
        "errors": any(r["endpoint"].get("failed") for r in latency + throughput),
        "runs": {"latency": latency, "throughput": throughput},
    }
    return figures, floor_hist
