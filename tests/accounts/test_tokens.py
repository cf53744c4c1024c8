"""The token life cycle: sign-in, refresh with rotation, blacklist, logout, password change."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse
from freezegun import freeze_time
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.auth import issue_tokens
from tests.factories import UserFactory
from tests.factories.accounts import PASSWORD

pytestmark = pytest.mark.django_db
TOKEN, REFRESH, LOGOUT, ME = (
    reverse("accounts:token-obtain"),
    reverse("accounts:token-refresh"),
    reverse("accounts:logout"),
    reverse("accounts:me"),
)


def bearer(api_client, access: str):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return api_client


def test_sign_in_returns_a_pair_that_authenticates(api_client):
    user = UserFactory(email="ana@example.com")
    response = api_client.post(TOKEN, {"email": "ANA@example.com", "password": PASSWORD})
    assert response.status_code == 200
    assert bearer(api_client, response.json()["access"]).get(ME).json()["id"] == str(user.pk)


def test_unknown_email_and_wrong_password_get_identical_answers(api_client):
    UserFactory(email="ana@example.com")
    wrong = api_client.post(TOKEN, {"email": "ana@example.com", "password": "nope-nope-1"})
    unknown = api_client.post(TOKEN, {"email": "bob@example.com", "password": "nope-nope-1"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_sign_in_validation_names_fields(api_client):
    response = api_client.post(TOKEN, {"email": "not-an-email"})
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"email", "password"}


def test_refresh_rotates_and_the_old_token_is_dead(api_client):
    tokens = issue_tokens(UserFactory())
    first = api_client.post(REFRESH, {"refresh": tokens["refresh"]})
    assert first.status_code == 200
    assert first.json()["refresh"] != tokens["refresh"]
    replay = api_client.post(REFRESH, {"refresh": tokens["refresh"]})
    assert replay.status_code == 401
    assert replay.json()["code"] == "token_not_valid"
    assert api_client.post(REFRESH, {"refresh": first.json()["refresh"]}).status_code == 200


def test_expired_access_token_is_401(api_client):
    user = UserFactory()
    with freeze_time("2026-01-01 10:00:00"):
        access = issue_tokens(user)["access"]
    with freeze_time("2026-01-01 10:20:00"):
        response = bearer(api_client, access).get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_expired_refresh_token_is_401(api_client):
    user = UserFactory()
    with freeze_time("2026-01-01"):
        refresh = issue_tokens(user)["refresh"]
    with freeze_time("2026-01-16"):
        assert api_client.post(REFRESH, {"refresh": refresh}).status_code == 401


@override_settings(JWT_SESSION_MAX_DAYS=20)
def test_refresh_chain_has_an_absolute_lifetime(api_client):
    user = UserFactory()
    with freeze_time("2026-01-01"):
        refresh = issue_tokens(user)["refresh"]
    for day in ("2026-01-10", "2026-01-19"):
        with freeze_time(day):
            response = api_client.post(REFRESH, {"refresh": refresh})
            assert response.status_code == 200
            refresh = response.json()["refresh"]
    assert RefreshToken(refresh, verify=False)["exp"] <= int(
        (RefreshToken(refresh, verify=False).current_time + timedelta(days=20)).timestamp()
    )
    with freeze_time("2026-01-22"):
        assert api_client.post(REFRESH, {"refresh": refresh}).status_code == 401


def test_refresh_token_used_as_access_is_401(api_client):
    tokens = issue_tokens(UserFactory())
    assert bearer(api_client, tokens["refresh"]).get(ME).status_code == 401


def test_tampered_signature_is_401(api_client):
    access = issue_tokens(UserFactory())["access"]
    header, payload, signature = access.split(".")
    tampered = f"{header}.{payload}.{signature[::-1]}"
    assert bearer(api_client, tampered).get(ME).status_code == 401


def test_alg_none_token_is_401(api_client):
    access = AccessToken(issue_tokens(UserFactory())["access"])
    forged = jwt.encode(dict(access.payload), key="", algorithm="none")
    assert bearer(api_client, forged).get(ME).status_code == 401


def test_token_of_deleted_user_is_401_for_access_and_refresh(api_client):
    user = UserFactory()
    tokens = issue_tokens(user)
    user.delete()
    assert bearer(api_client, tokens["access"]).get(ME).status_code == 401
    api_client.credentials()
    response = api_client.post(REFRESH, {"refresh": tokens["refresh"]})
    assert response.status_code == 401


def test_deactivated_user_access_token_is_401(api_client):
    user = UserFactory()
    access = issue_tokens(user)["access"]
    assert bearer(api_client, access).get(ME).status_code == 200
    user.is_active = False
    user.save()
    response = bearer(api_client, access).get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "user_inactive"


def test_deactivated_user_cannot_refresh(api_client):
    user = UserFactory()
    tokens = issue_tokens(user)
    user.is_active = False
    user.save()
    assert api_client.post(REFRESH, {"refresh": tokens["refresh"]}).status_code == 401


def test_logout_blacklists_the_refresh_token(api_client):
    tokens = issue_tokens(UserFactory())
    response = bearer(api_client, tokens["access"]).post(LOGOUT, {"refresh": tokens["refresh"]})
    assert response.status_code == 204
    assert api_client.post(REFRESH, {"refresh": tokens["refresh"]}).status_code == 401


def test_logout_with_someone_elses_refresh_token_is_403(api_client):
    mine, theirs = issue_tokens(UserFactory()), issue_tokens(UserFactory())
    response = bearer(api_client, mine["access"]).post(LOGOUT, {"refresh": theirs["refresh"]})
    assert response.status_code == 403
    api_client.credentials()
    assert api_client.post(REFRESH, {"refresh": theirs["refresh"]}).status_code == 200


def test_password_change_revokes_every_token(api_client):
    user = UserFactory()
    device_a, device_b = issue_tokens(user), issue_tokens(user)
    response = bearer(api_client, device_a["access"]).post(
        reverse("accounts:me-password"),
        {"current_password": PASSWORD, "new_password": "a-new-long-passphrase-7"},
    )
    assert response.status_code == 204
    assert bearer(api_client, device_b["access"]).get(ME).status_code == 401
    api_client.credentials()
    assert api_client.post(REFRESH, {"refresh": device_b["refresh"]}).status_code == 401
    assert api_client.post(REFRESH, {"refresh": device_a["refresh"]}).status_code == 401
    signed_in = api_client.post(TOKEN, {"email": user.email, "password": "a-new-long-passphrase-7"})
    assert signed_in.status_code == 200


@pytest.mark.parametrize(
    ("current", "new", "field"),
    [
        ("wrong-password-1", "a-new-long-passphrase-7", "current_password"),
        (PASSWORD, "123", "new_password"),
    ],
)
def test_password_change_rejects_wrong_current_or_weak_new(client_for, current, new, field):
    user = UserFactory()
    response = client_for(user).post(
        reverse("accounts:me-password"), {"current_password": current, "new_password": new}
    )
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field] * len(
        response.json()["errors"]
    )
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_sign_in_is_throttled_with_retry_after(api_client, monkeypatch):
    cache.clear()
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "2/min"})
    attempts = [
        api_client.post(TOKEN, {"email": "x@example.com", "password": "pw-pw-pw-1"})
        for _ in range(3)
    ]
    cache.clear()
    assert [r.status_code for r in attempts] == [401, 401, 429]
    assert attempts[2].json()["code"] == "throttled"
    assert int(attempts[2]["Retry-After"]) > 0
