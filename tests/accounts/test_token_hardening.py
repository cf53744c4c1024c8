"""What test_tokens.py leaves out: wrong audience and issuer, blacklisted tokens, a catalogue of
malformed tokens that must never cause a 500, concurrent refreshes of one token, and the login
lockout per (account, address) with django-axes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import timedelta

import jwt
import pytest
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse
from freezegun import freeze_time
from rest_framework.test import APIClient
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.auth import issue_tokens
from accounts.lockout import lockout_response
from tests.factories import UserFactory
from tests.factories.accounts import PASSWORD

pytestmark = pytest.mark.django_db
TOKEN, REFRESH, LOGOUT, ME = (
    reverse("accounts:token-obtain"),
    reverse("accounts:token-refresh"),
    reverse("accounts:logout"),
    reverse("accounts:me"),
)
PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _fresh_lockouts_and_throttles():
    """Attempts live in the database (rolled back per test) and throttles in the cache: start and
    end every test with neither, so no lockout leaks into another test."""
    AxesProxyHandler.reset_attempts()
    cache.clear()
    yield
    AxesProxyHandler.reset_attempts()
    cache.clear()


def bearer(api_client, access: str):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return api_client


def sign(payload: dict, *, key: str | None = None, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, key if key is not None else api_settings.SIGNING_KEY, algorithm)


def claims_of(token: str) -> dict:
    return dict(AccessToken(token).payload)


# --- audience, issuer, blacklist --------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("aud", "another-api"),
        ("iss", "https://issuer.example"),
        ("aud", None),
        ("iss", None),
    ],
    ids=["wrong_audience", "wrong_issuer", "no_audience", "no_issuer"],
)
def test_access_token_for_another_audience_or_issuer_is_401(api_client, claim, value):
    payload = claims_of(issue_tokens(UserFactory())["access"])
    if value is None:
        del payload[claim]
    else:
        payload[claim] = value
    response = bearer(api_client, sign(payload)).get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("claim", ["aud", "iss"])
def test_refresh_token_for_another_audience_or_issuer_is_401(api_client, claim):
    refresh = RefreshToken(issue_tokens(UserFactory())["refresh"])
    payload = dict(refresh.payload)
    payload[claim] = "somebody-else"
    response = api_client.post(REFRESH, {"refresh": sign(payload)})
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_blacklisted_refresh_token_is_401_and_gives_nothing(api_client):
    tokens = issue_tokens(UserFactory())
    RefreshToken(tokens["refresh"]).blacklist()
    response = api_client.post(REFRESH, {"refresh": tokens["refresh"]})
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
    assert "access" not in response.json()


def test_refresh_token_blacklisted_by_logout_cannot_log_out_again(api_client):
    tokens = issue_tokens(UserFactory())
    bearer(api_client, tokens["access"])
    assert api_client.post(LOGOUT, {"refresh": tokens["refresh"]}).status_code == 204
    assert api_client.post(LOGOUT, {"refresh": tokens["refresh"]}).status_code == 401


# --- malformed tokens: 400 or 401, never a 500 ------------------------------------------------


def _bad_access_tokens(user) -> dict[str, str]:
    tokens = issue_tokens(user)
    good = claims_of(tokens["access"])
    header, payload, signature = tokens["access"].split(".")
    return {
        "empty": "",
        "garbage": "not-a-jwt",
        "two_segments": f"{header}.{payload}",
        "four_segments": f"{tokens['access']}.extra",
        "bad_base64": "!!!.###.$$$",
        "tampered_payload": f"{header}.{payload[:-4]}AAAA.{signature}",
        "alg_none": jwt.encode(good, key="", algorithm="none"),
        "wrong_key": sign(good, key="another-secret-key-that-is-long-enough-32b"),
        "hs512": sign(good, algorithm="HS512"),
        "expired": sign({**good, "exp": good["iat"] - 60}),
        "not_yet_valid": sign({**good, "nbf": good["exp"] + 3600}),
        "refresh_as_access": tokens["refresh"],
        "no_token_type": sign({k: v for k, v in good.items() if k != "token_type"}),
        "no_user_id": sign({k: v for k, v in good.items() if k != "user_id"}),
        "user_id_not_uuid": sign({**good, "user_id": "1 OR 1=1"}),
        "user_id_number": sign({**good, "user_id": 12345}),
        "user_id_list": sign({**good, "user_id": ["a", "b"]}),
        "unknown_user": sign({**good, "user_id": "00000000-0000-0000-0000-000000000000"}),
        "no_generation": sign({k: v for k, v in good.items() if k != "gen"}),
        "old_generation": sign({**good, "gen": good["gen"] - 1}),
        "exp_string": sign({**good, "exp": "tomorrow"}),
        "huge_unsigned": f"{header}.{'A' * 8000}.{signature}",
        # A WSGI server hands header bytes over decoded as latin-1 (PEP 3333).
        "utf8_bytes": "ünïcödé.tökén.✓".encode().decode("latin-1"),
        "nul_byte": f"{header}\x00.{payload}.{signature}",
    }


def test_malformed_access_tokens_are_401_never_500(api_client):
    cases = _bad_access_tokens(UserFactory())
    outcomes = {}
    for name, token in cases.items():
        response = bearer(api_client, token).get(ME)
        outcomes[name] = response.status_code
        assert response["Content-Type"] == PROBLEM, name
    print(
        f"\nmalformed access tokens: {len(cases)} cases, statuses {sorted(set(outcomes.values()))}"
    )
    assert {name: code for name, code in outcomes.items() if code != 401} == {}


def test_malformed_authorization_headers_are_401_never_500(api_client):
    access = issue_tokens(UserFactory())["access"]
    headers = [
        "Bearer",
        "Bearer ",
        f"Bearer {access} extra",
        f"Basic {access}",
        f"bearer{access}",
        "Token abc",
        "Bearer \t",
    ]
    statuses = []
    for header in headers:
        api_client.credentials(HTTP_AUTHORIZATION=header)
        statuses.append(api_client.get(ME).status_code)
    assert statuses == [401] * len(headers)


def test_malformed_refresh_tokens_are_400_or_401_never_500(api_client):
    user = UserFactory()
    refresh = RefreshToken(issue_tokens(user)["refresh"])
    good = dict(refresh.payload)
    as_access = _bad_access_tokens(user)
    del as_access["refresh_as_access"]  # a good refresh token, here
    cases = {
        **as_access,
        "access_as_refresh": issue_tokens(user)["access"],
        "unknown_jti": sign({**good, "jti": "0" * 32}),
        "refresh_unknown_user": sign({**good, "user_id": "00000000-0000-0000-0000-000000000000"}),
        "refresh_user_not_uuid": sign({**good, "user_id": "x"}),
    }
    outcomes = {}
    for name, token in cases.items():
        response = api_client.post(REFRESH, {"refresh": token})
        outcomes[name] = response.status_code
        assert response["Content-Type"] == PROBLEM, name
    non_string_bodies = [{"refresh": 123}, {"refresh": None}, {"refresh": ["a"]}, {}]
    for body in non_string_bodies:
        response = api_client.post(REFRESH, body)
        outcomes[str(body)] = response.status_code
    print(
        f"\nmalformed refresh requests: {len(outcomes)} cases, "
        f"statuses {sorted(set(outcomes.values()))}"
    )
    assert {name: code for name, code in outcomes.items() if code not in (400, 401)} == {}
    # A blank token and one with a NUL character fail validation of the body (400); the rest 401.
    not_401 = {name for name, code in outcomes.items() if name in cases and code != 401}
    assert not_401 == {"empty", "nul_byte"}


# --- concurrent refreshes ---------------------------------------------------------------------


# Decided at collection, before the transactional fixture (whose flush would empty the tables).
@pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="needs concurrent connections and row locks; SQLite serialises writers "
    "(runs on PostgreSQL in CI)",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_twenty_concurrent_refreshes_of_one_token_give_exactly_one_pair():
    refresh = issue_tokens(UserFactory())["refresh"]
    barrier = threading.Barrier(20)
    statuses: list[int] = []
    new_tokens: list[str] = []

    def worker() -> None:
        try:
            barrier.wait()
            response = Client().post(REFRESH, {"refresh": refresh}, content_type="application/json")
            statuses.append(response.status_code)
            if response.status_code == 200:
                new_tokens.append(response.json()["refresh"])
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(
        f"\n20 concurrent refreshes of one token: {statuses.count(200)} new pair(s), "
        f"{statuses.count(401)} x 401, other {[s for s in statuses if s not in (200, 401)]}"
    )
    assert sorted(statuses) == [200] + [401] * 19
    follow_up = Client().post(REFRESH, {"refresh": new_tokens[0]}, content_type="application/json")
    assert follow_up.status_code == 200


# --- login lockout (django-axes) --------------------------------------------------------------


def sign_in(client, email: str, password: str, address: str = "203.0.113.7"):
    return client.post(TOKEN, {"email": email, "password": password}, REMOTE_ADDR=address)


def fail_until_locked(client, email: str, address: str = "203.0.113.7") -> list:
    return [
        sign_in(client, email, "wrong-password-1", address)
        for _ in range(settings.AXES_FAILURE_LIMIT)
    ]


def test_lockout_comes_at_exactly_the_failure_limit_even_with_the_right_password(api_client):
    user = UserFactory(email="ana@example.com")
    attempts = fail_until_locked(api_client, user.email)
    limit = settings.AXES_FAILURE_LIMIT
    print(f"\nlockout: {limit} failures -> statuses {[r.status_code for r in attempts]}")
    assert [r.status_code for r in attempts] == [401] * (limit - 1) + [429]
    locked = sign_in(api_client, user.email, PASSWORD)
    assert locked.status_code == 429
    assert locked["Content-Type"] == PROBLEM
    assert locked.json()["code"] == "locked_out"
    assert int(locked["Retry-After"]) == int(settings.AXES_COOLOFF_TIME.total_seconds())
    assert "access" not in locked.json()


def test_lockout_is_per_account_and_address(api_client):
    ana, bob = UserFactory(email="ana@example.com"), UserFactory(email="bob@example.com")
    fail_until_locked(api_client, ana.email, "203.0.113.7")
    assert sign_in(api_client, ana.email, PASSWORD, "203.0.113.7").status_code == 429
    # The same account from another address, another account from the same address: unaffected.
    assert sign_in(api_client, ana.email, PASSWORD, "198.51.100.9").status_code == 200
    assert sign_in(api_client, bob.email, PASSWORD, "203.0.113.7").status_code == 200


def test_lockout_counts_an_email_whatever_its_case(api_client):
    user = UserFactory(email="ana@example.com")
    for email in ["ANA@example.com", "Ana@Example.com", "ana@example.com"] * 2:
        sign_in(api_client, email, "wrong-password-1")
    assert sign_in(api_client, user.email, PASSWORD).status_code == 429


def test_lockout_of_an_unknown_email_looks_exactly_like_a_known_one(api_client):
    UserFactory(email="ana@example.com")
    known = fail_until_locked(api_client, "ana@example.com")
    unknown = fail_until_locked(api_client, "nobody@example.com")
    assert [r.status_code for r in known] == [r.status_code for r in unknown]
    assert [r.json() for r in known] == [r.json() for r in unknown]
    known_locked = sign_in(api_client, "ana@example.com", PASSWORD)
    unknown_locked = sign_in(api_client, "nobody@example.com", PASSWORD)
    assert known_locked.status_code == unknown_locked.status_code == 429
    assert known_locked.json() == unknown_locked.json()
    assert known_locked["Retry-After"] == unknown_locked["Retry-After"]
    assert "ana" not in known_locked.content.decode()


def test_lockout_ends_after_the_cool_off(api_client):
    user = UserFactory(email="ana@example.com")
    with freeze_time("2026-03-01 10:00:00"):
        fail_until_locked(api_client, user.email)
    with freeze_time("2026-03-01 10:14:00"):
        assert sign_in(api_client, user.email, PASSWORD).status_code == 429
    # A refused attempt during the lockout restarts the cool-off (AXES default): 10:14 + 15 min.
    with freeze_time("2026-03-01 10:29:30"):
        assert sign_in(api_client, user.email, PASSWORD).status_code == 200


def test_failures_older_than_the_cool_off_do_not_count(api_client):
    user = UserFactory(email="ana@example.com")
    limit = settings.AXES_FAILURE_LIMIT
    with freeze_time("2026-03-01 10:00:00"):
        for _ in range(limit - 1):
            sign_in(api_client, user.email, "wrong-password-1")
    with freeze_time("2026-03-01 10:16:00"):
        assert sign_in(api_client, user.email, "wrong-password-1").status_code == 401
        assert sign_in(api_client, user.email, PASSWORD).status_code == 200


@override_settings(AXES_FAILURE_LIMIT=2, AXES_COOLOFF_TIME=timedelta(minutes=3))
def test_limit_and_cool_off_come_from_settings(api_client):
    UserFactory(email="ana@example.com")
    statuses = [r.status_code for r in fail_until_locked(api_client, "ana@example.com")]
    assert statuses == [401, 429]
    assert sign_in(api_client, "ana@example.com", PASSWORD)["Retry-After"] == "180"


def test_limit_and_cool_off_are_read_from_the_environment():
    script = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'backend.settings.base'; "
        "from django.conf import settings; "
        "print(settings.AXES_FAILURE_LIMIT, int(settings.AXES_COOLOFF_TIME.total_seconds()), "
        "settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['user'])"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "LOGIN_FAILURE_LIMIT": "8",
        "LOGIN_COOLOFF_MINUTES": "30",
        "THROTTLE_USER": "100/min",
        "DATA_DIR": "/tmp/recovery-settings-test",
    }
    output = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert output.split() == ["8", "1800", "100/min"]


def test_django_login_forms_get_the_same_lockout_answer(client):
    """The admin's login goes through AxesMiddleware and AXES_LOCKOUT_CALLABLE."""
    UserFactory(email="ana@example.com", is_staff=True)
    responses = [
        client.post(
            "/admin/login/",
            {"username": "ana@example.com", "password": "wrong-password-1"},
            REMOTE_ADDR="203.0.113.7",
        )
        for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert [r.status_code for r in responses[:-1]] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    locked = responses[-1]
    assert locked.status_code == 429
    assert locked["Content-Type"] == PROBLEM
    api_locked = sign_in(APIClient(), "ana@example.com", PASSWORD)
    assert locked.json() == api_locked.json()
    assert locked["Retry-After"] == api_locked["Retry-After"]


def test_lockout_callable_builds_the_problem_body(rf):
    response = lockout_response(rf.post(TOKEN))
    assert response.status_code == 429
    assert response["Retry-After"] == str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    assert response["Content-Type"] == PROBLEM
    assert json.loads(response.content)["code"] == "locked_out"
