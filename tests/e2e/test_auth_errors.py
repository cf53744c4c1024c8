"""Token errors through the generated client: each surfaces as the typed problem+json model with
`code` token_not_valid, and refresh tokens rotate (one use each). docs/mobile.md describes the
client's side of this (single-flight refresh)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import jwt
import pytest
from recovery_api_client import AuthenticatedClient
from recovery_api_client.api.auth import auth_token_refresh
from recovery_api_client.api.me import me_retrieve
from recovery_api_client.models import Me, Problem, TokenPair, TokenRefreshRequestRequest

pytestmark = pytest.mark.e2e


def _refused(server, token: str) -> Problem:
    client = AuthenticatedClient(base_url=server.base_url, token=token)
    response = me_retrieve.sync_detailed(client=client)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert isinstance(response.parsed, Problem)
    return response.parsed


def test_an_invalid_or_expired_access_token_is_a_typed_401_problem(server, sign_in):
    problem = _refused(server, "not-a-jwt")
    assert (problem.status, problem.code) == (401, "token_not_valid")

    # Well signed but expired: what a phone holds after 15 minutes in a pocket.
    me = me_retrieve.sync(client=sign_in(server.login("athlete").email))
    assert isinstance(me, Me)
    now = datetime.now(UTC)
    expired = jwt.encode(
        {
            "token_type": "access",
            "user_id": str(me.id),
            "jti": uuid.uuid4().hex,
            "iat": int((now - timedelta(minutes=30)).timestamp()),
            "exp": int((now - timedelta(minutes=15)).timestamp()),
            "aud": "recovery-api",
            "iss": "recovery-api",
        },
        server.secret_key,
        algorithm="HS256",
    )
    problem = _refused(server, expired)
    assert (problem.status, problem.code) == (401, "token_not_valid")


def test_refresh_rotates_the_refresh_token(server, anonymous, sign_in):
    email = server.login("therapist").email
    sign_in(email)
    first = server.shared[f"refresh:{email}"]

    renewed = auth_token_refresh.sync(
        client=anonymous, body=TokenRefreshRequestRequest(refresh=first)
    )
    assert isinstance(renewed, TokenPair)
    assert renewed.refresh != first
    fresh = AuthenticatedClient(base_url=server.base_url, token=renewed.access)
    assert isinstance(me_retrieve.sync(client=fresh), Me)

    # The old refresh token was used once: a second use (a lost race, a replay) is refused.
    replay = auth_token_refresh.sync_detailed(
        client=anonymous, body=TokenRefreshRequestRequest(refresh=first)
    )
    assert replay.status_code == HTTPStatus.UNAUTHORIZED
    assert isinstance(replay.parsed, Problem)
    assert replay.parsed.code == "token_not_valid"
    server.shared[f"refresh:{email}"] = renewed.refresh
