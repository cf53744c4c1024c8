"""The PostgreSQL server the benchmark uses: reachable (the local cluster is started when it is
the default one and not answering), a throwaway database on it, psql."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench.harness.config import BenchError, log, run

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432"
CLUSTERS = Path("/etc/postgresql")


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str

    @classmethod
    def parse(cls, url: str) -> Postgres:
        """`postgres://USER@HOST:PORT` (a database name, if any, is ignored)."""
        parts = urlsplit(url)
        if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
            raise BenchError(f"--postgres {url!r} is not a postgres://USER@HOST:PORT address")
        try:
            port = parts.port or 5432
        except ValueError as exc:
            raise BenchError(f"--postgres {url!r} has no valid port") from exc
        return cls(parts.hostname, port, parts.username or "postgres")

    @property
    def is_local_default(self) -> bool:
        return self.host in ("127.0.0.1", "localhost") and self.port == 5432

    def url(self, database: str) -> str:
        return f"postgres://{self.user}@{self.host}:{self.port}/{database}"

    def ready(self) -> tuple[bool, str]:
        try:
            result = subprocess.run(
                ["pg_isready", "-h", self.host, "-p", str(self.port), "-t", "3"],
                capture_output=True, text=True, timeout=10, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            return False, str(exc)
        return result.returncode == 0, (result.stdout + result.stderr).strip()

    def ensure_reachable(self) -> None:
        """Answering, or the local cluster started (bounded), or a clear BenchError."""
        for tool in ("pg_isready", "psql"):
            if shutil.which(tool) is None:
                raise BenchError(
                    f"{tool} is not installed: the benchmark needs PostgreSQL's client"
                )
        ok, status = self.ready()
        if not ok and self.is_local_default and CLUSTERS.is_dir() and os.listdir(CLUSTERS):
            version = max(os.listdir(CLUSTERS), key=_version_key)
            log(f"PostgreSQL is not answering ({status}); starting cluster {version}/main")
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
                capture_output=True, timeout=120, check=False,
            )  # fmt: skip
            until = time.monotonic() + 30
            while not ok and time.monotonic() < until:
                time.sleep(1)
                ok, status = self.ready()
        if not ok:
            raise BenchError(
                f"PostgreSQL is not reachable at {self.host}:{self.port} ({status}). Start it, "
                "or point bench/run at a server with --postgres postgres://USER@HOST:PORT."
            )
        try:
            self.psql("SELECT 1")
        except BenchError as exc:
            raise BenchError(
                f"PostgreSQL at {self.host}:{self.port} answers but refuses user "
                f"{self.user!r}: {str(exc).splitlines()[-1]}"
            ) from exc

    def psql(self, sql: str, database: str = "postgres") -> str:
        return run(
            ["psql", "-h", self.host, "-p", str(self.port), "-U", self.user, "-d", database,
             "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
            timeout=120,
        )  # fmt: skip

    def create(self, database: str) -> None:
        self.psql(f'CREATE DATABASE "{database}"')

    def drop(self, database: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())
