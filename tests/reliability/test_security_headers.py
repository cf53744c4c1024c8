"""OWASP API8 (security misconfiguration): the headers every response carries, no caching of
health data, HSTS in production mode, no CORS, and a clean `check --deploy`."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from tests.factories import AthleteFactory

pytestmark = pytest.mark.django_db


def _samples(client: APIClient) -> dict[str, object]:
    """A success, an auth error, a validation error, a 404 from Django's handler and a DRF 404."""
    athlete = AthleteFactory()
    anonymous = APIClient()
    client.force_authenticate(athlete)
    return {
        "200 me": client.get("/api/v1/me/"),
        "200 list": client.get("/api/v1/training-sessions/"),
        "401": anonymous.get("/api/v1/me/"),
        "400": client.post("/api/v1/training-sessions/", {}),
        "404 url": client.get("/api/v1/no-such-thing/"),
        "404 object": client.get("/api/v1/training-sessions/00000000-0000-0000-0000-000000000000/"),
        "401 sign-in": anonymous.post(
            "/api/v1/auth/token/", {"email": "x@example.com", "password": "nope-nope-1"}
        ),
    }


def test_every_api_response_carries_the_security_headers():
    responses = _samples(APIClient())
    missing = {}
    for name, response in responses.items():
        expected = {
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "same-origin",
            "Cross-Origin-Opener-Policy": "same-origin",
            "Cache-Control": "no-store",
        }
        wrong = {h: response.get(h) for h, v in expected.items() if response.get(h) != v}
        if wrong:
            missing[name] = wrong
    print(f"\nsecurity headers checked on {len(responses)} responses: {len(missing)} missing")
    assert missing == {}


def test_no_store_does_not_override_a_cacheable_response(client_for):
    response = client_for(AthleteFactory()).get("/api/v1/muscle-groups/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, max-age=3600"
    assert response["ETag"]


def test_no_store_is_for_the_api_only(client):
    assert "no-store" not in client.get("/api/schema/").get("Cache-Control", "")


@override_settings(
    SECURE_HSTS_SECONDS=31536000,
    SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
    SECURE_HSTS_PRELOAD=True,
    SECURE_SSL_REDIRECT=False,
)
def test_hsts_on_secure_responses_in_production_mode():
    client = APIClient()  # built inside the override: SecurityMiddleware reads settings at start
    secure = client.get("/api/v1/me/", secure=True)
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert "Strict-Transport-Security" not in client.get("/api/v1/me/")  # never over plain HTTP


@override_settings(SECURE_SSL_REDIRECT=True)
def test_plain_http_is_redirected_when_ssl_redirect_is_on():
    response = APIClient().get("/api/v1/me/")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


@pytest.mark.parametrize("path", ["/api/v1/auth/token/", "/api/v1/me/", "/api/v1/me/export/"])
def test_no_cors_for_an_unknown_origin(client, path):
    preflight = client.options(
        path,
        HTTP_ORIGIN="https://evil.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )
    simple = client.get(path, HTTP_ORIGIN="https://evil.example")
    for response in (preflight, simple):
        assert not [h for h in response.headers if h.lower().startswith("access-control-")]


def test_deploy_check_is_clean_with_production_settings(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
        "RECOVERY_ENV": "production",
        "SECRET_KEY": "t" + "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN" * 2,
        "ALLOWED_HOSTS": "api.example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        "DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "backend.settings.base",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
    )
    print(f"\ncheck --deploy --fail-level WARNING: {result.stdout.strip().splitlines()[-1:]}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
