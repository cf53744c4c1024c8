"""Platform behaviour every endpoint shares: problem+json errors, health, version, headers."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection
from django.urls import reverse

from tests.factories import UserFactory

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert {"type", "title", "detail"} <= set(body)
    return body


@pytest.mark.django_db
def test_healthz_reports_database_and_version(api_client):
    response = api_client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    assert response["X-App-Version"] == response.json()["version"]


@pytest.mark.django_db
def test_healthz_is_503_problem_when_database_fails(api_client, monkeypatch):
    from django.db.backends.utils import CursorWrapper

    def broken(self, sql, params=None):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", broken)
    response = api_client.get("/healthz")
    assert_problem(response, 503, "database_unavailable")
    assert response["Retry-After"]


@pytest.mark.django_db
def test_unknown_url_is_problem_404_not_html(api_client):
    assert_problem(api_client.get("/api/v1/no-such-thing/"), 404, "not_found")


@pytest.mark.django_db
def test_missing_token_is_401_with_www_authenticate(api_client):
    response = api_client.get(reverse("accounts:me"))
    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_wrong_method_is_405(client_for):
    response = client_for(UserFactory()).delete(reverse("accounts:me"))
    assert_problem(response, 405, "method_not_allowed")


@pytest.mark.django_db
def test_unacceptable_accept_header_is_406(client_for):
    response = client_for(UserFactory()).get(reverse("accounts:me"), HTTP_ACCEPT="text/csv")
    assert_problem(response, 406, "not_acceptable")


@pytest.mark.django_db
def test_wrong_content_type_is_415(client_for):
    response = client_for(UserFactory()).patch(
        reverse("accounts:me"), data="full_name=x", content_type="text/plain"
    )
    assert_problem(response, 415, "unsupported_media_type")


@pytest.mark.django_db
def test_malformed_json_is_400_parse_error(client_for):
    response = client_for(UserFactory()).patch(
        reverse("accounts:me"), data='{"full_name": ', content_type="application/json"
    )
    assert_problem(response, 400, "parse_error")


@pytest.mark.django_db
def test_validation_error_lists_each_field(client_for):
    response = client_for(UserFactory()).patch(
        reverse("accounts:me"), data={"full_name": "", "is_staff": True}, format="json"
    )
    body = assert_problem(response, 400, "validation_error")
    assert {error["field"] for error in body["errors"]} == {"full_name", "is_staff"}


@pytest.mark.django_db
def test_oversized_body_is_413(client_for, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client_for(UserFactory()).patch(
        reverse("accounts:me"), data={"full_name": "x" * 5000}, format="json"
    )
    assert_problem(response, 413, "payload_too_large")


@pytest.mark.django_db
def test_unhandled_error_is_500_problem_revealing_nothing(client_for, monkeypatch):
    from accounts import views

    def crash(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(views.selectors, "me_detail", crash)
    client = client_for(UserFactory())
    client.raise_request_exception = False
    response = client.get(reverse("accounts:me"))
    body = assert_problem(response, 500, "server_error")
    assert "secret" not in response.content.decode()
    assert "Traceback" not in body["detail"]


@pytest.mark.django_db
def test_security_headers_on_responses(api_client):
    response = api_client.get("/healthz")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_nul_character_in_any_json_string_is_400(client_for):
    response = client_for(UserFactory()).patch(
        reverse("accounts:me"), data={"full_name": "Ana\u0000"}, format="json"
    )
    assert_problem(response, 400, "parse_error")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        b'{"full_name": "Ana\\u0000"}',
        b'{"full_name": "Ana", "x": [{"\\u0000key": 1}]}',
        '{"full_name": "Ana\\u0000"}'.encode("utf-16"),
    ],
    ids=["in-a-value", "in-a-nested-key", "utf-16-body"],
)
def test_nul_character_is_400_wherever_it_is_and_however_encoded(client_for, body):
    content_type = "application/json; charset=utf-16" if body[:2] == b"\xff\xfe" else None
    response = client_for(UserFactory()).patch(
        reverse("accounts:me"), data=body, content_type=content_type or "application/json"
    )
    assert_problem(response, 400, "parse_error")


@pytest.mark.django_db
def test_an_escaped_backslash_before_u0000_is_not_a_nul(client_for):
    user = UserFactory()
    response = client_for(user).patch(
        reverse("accounts:me"),
        data=b'{"full_name": "Ana \\\\u0000"}',
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert user.full_name == "Ana \\u0000"


@pytest.mark.django_db
def test_a_utf16_body_without_nul_is_accepted(client_for):
    """The counterpart of the utf-16 case above: that 400 is for the NUL, not the encoding."""
    user = UserFactory()
    response = client_for(user).patch(
        reverse("accounts:me"),
        data='{"full_name": "Ana"}'.encode("utf-16"),
        content_type="application/json; charset=utf-16",
    )
    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert user.full_name == "Ana"


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL setting")
def test_postgresql_connections_run_without_jit():
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
