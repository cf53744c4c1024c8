"""Profiles, paths, the run's deadline, logging and subprocesses."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent.parent
BENCH: Final = ROOT / "bench"
LUA: Final = BENCH / "lua"
RESULTS: Final = BENCH / "results"
PYTHON: Final = (
    str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
)
HOST: Final = "127.0.0.1"  # the only address HTTP is ever sent to

SCALES: Final = ("team", "org")  # manage.py load_bench_data --scale (a test keeps them in step)

# How long each part may take, so that a run's length is known in advance: a latency run stops
# after `samples` answers or `latency_cap_s` seconds, whichever comes first; `deadline_s` bounds
# the whole run (bench/run's outer timeout is a little longer, so the cleanup still runs).
PROFILES: Final[dict[str, dict[str, Any]]] = {
    # --quick: the team dataset; 4.3 minutes here (2026-11-25, two shared cores).
    "quick": {
        "scale": "team",
        "pairs": 3,  # interleaved floor/endpoint latency pairs per endpoint
        "samples": 200,  # answers per latency run (pooled over the pairs: 600 for a p95)
        "latency_cap_s": 5,
        "throughput_pairs": 1,
        "throughput_s": 1,
        "deep_pages": 20,
        # Memory: the measured workers after at least this many requests (20,500 here,
        # 7,000 of them not the floor), against fresh workers after as many floor requests.
        "memory_requests": 10_000,
        "memory_not_floor": 0,
        "deadline_s": 16 * 60,
    },
    # The full run: the organisation dataset (its load takes 3-5 minutes), more and longer runs;
    # 27 minutes here (2026-11-25, two shared cores, 3.5 of them loading).
    "full": {
        "scale": "org",
        "pairs": 5,
        "samples": 400,
        "latency_cap_s": 12,
        "throughput_pairs": 3,
        "throughput_s": 4,
        "deep_pages": 100,
        "memory_requests": 10_000,
        "memory_not_floor": 10_000,  # topped up with the endpoints' mix if the runs sent fewer
        "deadline_s": 60 * 60,
    },
}
LATENCY_CONNECTIONS: Final = 1
THROUGHPUT_CONNECTIONS: Final = 8
WARMUP_ANSWERS: Final = 20
TARGET_MB: Final = 30.0


class BenchError(RuntimeError):
    """A step failed or the input is unusable: a one-line message and exit status 1."""


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
    """Run a command to completion; its stdout, or BenchError with the tail of its output."""
    try:
        result = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{' '.join(cmd[:3])} did not finish within {timeout:.0f} s") from exc
    except OSError as exc:
        raise BenchError(f"{cmd[0]} could not be started: {exc}") from exc
    if result.returncode != 0:
        raise BenchError(
            f"{' '.join(cmd[:3])} failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}"
        )
    return result.stdout
