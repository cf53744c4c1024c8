"""Worker memory: the peak resident set (VmHWM) of the workers that served the measured runs (every
endpoint, at 1 and 8 connections, interleaved with the floor; at least `memory_requests`
requests, of which at least `memory_not_floor` not the floor, topped up with a weighted mix of
the endpoints if the runs sent fewer) against fresh workers after `memory_requests` floor
requests. The measured runs are the mixed load, so no separate mixed phase is needed, and the
comparison leans against the endpoints (their workers served more requests)."""

from __future__ import annotations

import http.client as httpclient
import json
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.harness.config import HOST, Deadline, log
from bench.harness.server import Server
from bench.harness.wrk import Endpoint

# A day's mix, roughly, for the top-up: athletes write and read their own records most, staff
# read team views less often; batch pushes as the 50 only.
MIX_WEIGHTS = {"soreness_post": 3, "list_first": 2, "metrics_365": 2, "recommendation": 2}


def mixed_figures(
    server: Server,
    endpoints: list[Endpoint],
    floor: Endpoint,
    tally: Counter[str],
    profile: dict[str, Any],
    deadline: Deadline,
) -> dict[str, Any]:
    """The measured server's workers, after at least `memory_requests` requests of which at
    least `memory_not_floor` were not the floor (a top-up of the weighted mix if needed)."""
    not_floor = sum(count for name, count in tally.items() if name != floor.name)
    missing = max(
        profile["memory_requests"] - sum(tally.values()), profile["memory_not_floor"] - not_floor
    )
    topped_up = 0
    if missing > 0:
        mix = [
            e
            for e in endpoints
            if e.available and e.name != "sync_push_500"
            for _ in range(MIX_WEIGHTS.get(e.name, 1))
        ]
        seconds = min(900.0, max(30.0, deadline.left() - 120))
        log(f"memory: a top-up of {missing:,} requests of the mix")
        result = send_requests(server.base, mix, missing, connections=4, seconds=seconds)
        topped_up = result["requests"]
        for name, count in result["by_endpoint"].items():
            tally[name] += count
    workers = server.memory_mb()
    figures = {
        "requests": sum(tally.values()),
        "not_floor": sum(count for name, count in tally.items() if name != floor.name),
        "topped_up": topped_up,
        "by_endpoint": dict(tally),
        "workers": workers,
        "peak_hwm_mb": max(w["hwm_mb"] for w in workers.values()),
    }
    log(
        f"memory mixed: {figures['requests']:,} requests ({figures['not_floor']:,} not the "
        f"floor, {topped_up:,} of them a top-up), workers {workers}"
    )
    return figures


def floor_figures(
    env: dict[str, str], workdir: Path, floor: Endpoint, limit: int, deadline: Deadline
) -> dict[str, Any]:
    """Fresh workers after `limit` floor requests."""
    deadline.check("memory phase (floor)")
    server = Server(env, workdir / "gunicorn-floor-memory.log")
    server.start()
    try:
        seconds = min(600.0, max(30.0, deadline.left() - 60))
        result = send_requests(server.base, [floor], limit, connections=4, seconds=seconds)
        workers = server.memory_mb()
    finally:
        server.stop()
    figures = {
        "requests": result["requests"],
        "errors": result["errors"],
        "workers": workers,
        "peak_hwm_mb": max(w["hwm_mb"] for w in workers.values()),
    }
    log(f"memory floor only: {result['requests']:,} requests, workers {workers}")
    return figures


def send_requests(
    base: str, chosen: list[Endpoint], limit: int, *, connections: int, seconds: float
) -> dict[str, Any]:
    """`limit` requests, the endpoints of `chosen` in turn, over `connections` keep-alive
    connections (one thread each); stops early at `seconds`. A POST gets a fresh
    Idempotency-Key, as a phone's new write would."""
    host = urlsplit(base)
    assert host.hostname == HOST, "loopback only"
    counter = iter(range(limit))
    lock = threading.Lock()
    done: dict[str, Any] = {"requests": 0, "errors": 0, "by_endpoint": Counter()}
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
            body = request_body(endpoint) or None
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
                done["by_endpoint"][endpoint.name] += 1
        connection.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    return done


def request_body(endpoint: Endpoint) -> str:
    """The body the top-up sends (a batch push: always the same batch, so after the first
    time a phone's retry, answered "unchanged")."""
    body = endpoint.bodies[0] if endpoint.bodies else endpoint.body
    return json.dumps(body) if body is not None else ""
