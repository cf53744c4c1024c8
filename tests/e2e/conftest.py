"""End-to-end fixtures: the real server, started the way the Docker image starts it
(`scripts/entrypoint`, RECOVERY_ENV=production, gunicorn) on a throwaway PostgreSQL database,
seeded with `manage.py load_demo_data`, and driven only through the Python client that
openapi-python-client generates from openapi/schema.yaml.

Run by scripts/contract, after it has generated the client:

    .venv/bin/python -m pytest -m e2e tests/e2e

The normal `pytest` run deselects these tests (marker `e2e`; see addopts in pyproject.toml) and
does not even import them while the generated client is missing.

Environment: E2E_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres) is the
server-level URL the suite creates its database through and drops it at the end.
"""

from __future__ import annotations

import importlib.util
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "clients" / "python" / "generated"
PYTHON = ROOT / ".venv" / "bin" / "python"
sys.path.insert(0, str(GENERATED))

if importlib.util.find_spec("recovery_api_client") is None:
    # Not generated yet (a normal test run): nothing here can be imported, so collect nothing.
    collect_ignore_glob = ["test_*.py"]

POSTGRES_URL = os.environ.get("E2E_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DEMO = ["load_demo_data", "--athletes", "3", "--teams", "1", "--days", "30"]
STARTUP_SECONDS = 90
# Variables of the caller's shell that would leak into the server's configuration.
SERVER_ENV_DROP = (
    "DEBUG",
    "DATA_DIR",
    "REDIS_URL",
    "JWT_SIGNING_KEY",
    "CSRF_TRUSTED_ORIGINS",
    "NUM_PROXIES",
    "DJANGO_SETTINGS_MODULE",
)


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    team: str


@dataclass
class Server:
    base_url: str
    secret_key: str
    password: str
    logins: list[DemoLogin]
    log: Path
    shared: dict[str, Any] = field(default_factory=dict)

    def login(self, role: str) -> DemoLogin:
        return next(login for login in self.logins if login.role == role)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _database_url(name: str) -> str:
    parts = urlsplit(POSTGRES_URL)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(sql)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    name = f"recovery_e2e_{os.getpid()}_{secrets.token_hex(3)}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield _database_url(name)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _parse_demo_output(output: str) -> tuple[str, list[DemoLogin]]:
    """The command prints the shared password and a table of `email  role  team` lines."""
    password = re.search(r"password for every demo user: ([^)\s]+)\)", output)
    assert password, f"load_demo_data printed no password:\n{output}"
    logins = [
        DemoLogin(email=match[1], role=match[2], team=match[3].strip())
        for match in re.finditer(
            r"^\s+(\S+@\S+)\s+(athlete|therapist|coach|admin)\s+(.+)$", output, re.M
        )
    ]
    assert {login.role for login in logins} >= {"athlete", "therapist", "coach"}, output
    return password[1], logins


@pytest.fixture(scope="session")
def server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Server]:
    from recovery_api_client import Client
    from recovery_api_client.api.health import health_check

    workdir = tmp_path_factory.mktemp("server")
    port = _free_port()
    secret_key = secrets.token_urlsafe(48)
    env = {key: value for key, value in os.environ.items() if key not in SERVER_ENV_DROP}
    env.update(
        RECOVERY_ENV="production",
        SECRET_KEY=secret_key,
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=database_url,
        SECURE_SSL_REDIRECT="false",
        BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
        DATA_DIR=str(workdir / "data"),
    )
    log = workdir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(ROOT / "scripts" / "entrypoint")],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: gunicorn's workers stop with it
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"scripts/entrypoint exited with {process.returncode}:\n{_tail(log)}")
            try:
                health = health_check.sync_detailed(client=anonymous)
                if health.status_code == 200:
                    break
            except Exception:  # not listening yet
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"the server did not answer /healthz in {STARTUP_SECONDS} s:\n{_tail(log)}"
                )
            time.sleep(0.5)
        seeded = subprocess.run(
            [str(PYTHON), "manage.py", *DEMO],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert seeded.returncode == 0, f"load_demo_data failed:\n{seeded.stdout}\n{seeded.stderr}"
        password, logins = _parse_demo_output(seeded.stdout)
        yield Server(base_url, secret_key, password, logins, log)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if request.session.testsfailed:
            sys.stderr.write(f"\n--- server log (last lines of {log}) ---\n{_tail(log)}\n")


def _tail(log: Path, lines: int = 60) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="session")
def anonymous(server: Server) -> Any:
    from recovery_api_client import Client

    return Client(base_url=server.base_url, raise_on_unexpected_status=True)


@pytest.fixture(scope="session")
def sign_in(server: Server, anonymous: Any) -> Callable[[str], Any]:
    """sign_in(email) -> an AuthenticatedClient for that user (signed in through the API once
    per email: sign-in is throttled per address)."""
    from recovery_api_client import AuthenticatedClient
    from recovery_api_client.api.auth import auth_token_obtain
    from recovery_api_client.models import TokenObtainRequestRequest, TokenPair

    clients: dict[str, Any] = {}

    def make(email: str) -> Any:
        if email not in clients:
            pair = auth_token_obtain.sync(
                client=anonymous,
                body=TokenObtainRequestRequest(email=email, password=server.password),
            )
            assert isinstance(pair, TokenPair), pair
            clients[email] = AuthenticatedClient(
                base_url=server.base_url, token=pair.access, raise_on_unexpected_status=True
            )
            server.shared[f"refresh:{email}"] = pair.refresh
        return clients[email]

    return make
