"""gunicorn on the loopback (its own process group), its workers' memory, and the few plain
HTTP requests the setup sends (measurements are wrk's)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench.harness.config import HOST, ROOT, BenchError


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
        with self.log_path.open("ab") as log_file:
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

    def memory_mb(self) -> dict[str, dict[str, float]]:
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


def http(
    base: str, method: str, path: str, token: str, body: Any = None, timeout: float = 60
) -> tuple[int, Any]:
    """One request of the setup (following cursors, preparing the sync pull)."""
    if not base.startswith(f"http://{HOST}:"):
        raise BenchError(f"refusing to send a request to {base}: loopback only")
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


def healthz_quick(base: str) -> bool:
    """True when /healthz answers within 50 ms: the server has nothing else in hand."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=5):
            pass
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False
    return time.monotonic() - started < 0.05
