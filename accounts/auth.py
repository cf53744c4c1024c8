"""JWT with simplejwt, hardened where its defaults fall short for a mobile app:

- tokens carry `gen` (the user's token generation): a password change bumps it, so every access and
  refresh token issued before stops working at once;
- refresh is serialised per token with a row lock, so concurrent refreshes of one token give exactly
  one new pair (simplejwt's own check-then-blacklist lets two through);
- a refresh for a deleted or deactivated user is a 401, never a 500;
- a refresh chain has an absolute lifetime (`auth_time` + JWT_SESSION_MAX_DAYS), however often it rotates.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication as BaseJWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken, Token
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts.access import with_role_facts
from accounts.models import User
from backend.compiled import CompiledQuery, Placeholders, compile_query, compiled_sql

GENERATION_CLAIM = "gen"
AUTH_TIME_CLAIM = "auth_time"
_AUTHENTICATED = "_recovery_jwt_authenticated"  # (header, result) on the Django request


def issue_tokens(user: User) -> dict[str, str]:
    """A fresh refresh/access pair for a user who just proved who they are."""
    refresh = EmailTokenObtainPairSerializer.get_token(user)
    return {"refresh": str(refresh), "access": str(refresh.access_token)}  # type: ignore[attr-defined]


class EmailTokenObtainPairSerializer(TokenObtainPairSerializer):
    """Sign in with email and password. Unknown email and wrong password get the same 401."""

    default_error_messages = {
        "no_active_account": "No active account found with the given credentials."
    }

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        attrs[self.username_field] = str(attrs[self.username_field]).strip().lower()
        return super().validate(attrs)

    @classmethod
    def get_token(cls, user: Any) -> Token:
        return _refresh_for(user)


def _refresh_for(user: User) -> RefreshToken:
    """Like RefreshToken.for_user, with our claims set before the OutstandingToken row is written."""
    token = RefreshToken()
    token[api_settings.USER_ID_CLAIM] = str(user.pk)
    token[GENERATION_CLAIM] = user.token_generation
    token[AUTH_TIME_CLAIM] = int(token.current_time.timestamp())
    token.outstand()
    return token


class RotatingRefreshSerializer(TokenRefreshSerializer):
    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        refresh = RefreshToken(attrs["refresh"])  # signature, expiry, type; TokenError -> 401
        with transaction.atomic():
            # order_by(): OutstandingToken orders by user (then User by email), an outer join that
            # PostgreSQL refuses to lock ("FOR UPDATE ... nullable side of an outer join").
            outstanding = (
                OutstandingToken.objects.select_for_update()
                .filter(jti=refresh[api_settings.JTI_CLAIM])
                .order_by()
                .first()
            )
            if outstanding is None or BlacklistedToken.objects.filter(token=outstanding).exists():
                raise TokenError("Token is blacklisted")
            user = _user_named_by(refresh)
            if user is None or not user.is_active:
                raise AuthenticationFailed(
                    self.error_messages["no_active_account"], "no_active_account"
                )
            if refresh.get(GENERATION_CLAIM) != user.token_generation:
                raise TokenError("Token was revoked by a password change")
            session_end = datetime_from_epoch(refresh.get(AUTH_TIME_CLAIM, 0)) + timedelta(
                days=settings.JWT_SESSION_MAX_DAYS
            )
            if session_end <= timezone.now():
                raise TokenError("Session has reached its maximum lifetime; sign in again")
            BlacklistedToken.objects.create(token=outstanding)
            refresh.set_jti()
            refresh.set_exp()
            refresh.set_iat()
            if datetime_from_epoch(refresh["exp"]) > session_end:
                refresh["exp"] = int(session_end.timestamp())
            refresh.outstand()
        return {"access": str(refresh.access_token), "refresh": str(refresh)}


def _user_named_by(token: Token) -> User | None:
    """The token's user, or None when its user id names nobody (or is not an id at all)."""
    try:
        return User.objects.filter(pk=token.get(api_settings.USER_ID_CLAIM)).first()
    except (DjangoValidationError, ValueError, TypeError):
        return None


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField(help_text="The refresh token to revoke.")


class JWTAuthentication(BaseJWTAuthentication):
    """simplejwt's authentication plus the token-generation check (password change revokes).

    A request is authenticated once: the answer is kept on the Django request, with the header
    it was computed from, so the Idempotency-Key middleware (which needs the user before the
    view runs) and the view's own authentication share one user query. Failures are not kept."""

    def authenticate(self, request: Any) -> tuple[Any, Token] | None:
        http_request = getattr(request, "_request", request)  # a DRF Request wraps Django's
        header = self.get_header(request)
        kept = getattr(http_request, _AUTHENTICATED, None)
        if kept is not None and kept[0] == header:
            return kept[1]
        result = super().authenticate(request)
        setattr(http_request, _AUTHENTICATED, (header, result))
        return result

    def get_user(self, validated_token: Token) -> Any:
        """simplejwt's checks (an id, a user, an active one), on the user read with the facts
        the access rules ask on most requests (`accounts.access.with_role_facts`)."""
        try:
            user = _user_with_role_facts(validated_token[api_settings.USER_ID_CLAIM])
        except (KeyError, DjangoValidationError, ValueError, TypeError) as exc:  # no id
            raise InvalidToken("Token contained no recognizable user identification") from exc
        if user is None:
            raise AuthenticationFailed("User not found", code="user_not_found")
        if not user.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        if validated_token.get(GENERATION_CLAIM) != user.token_generation:
            raise InvalidToken("Token was revoked by a password change")
        return user


@functools.cache
def _user_query() -> tuple[CompiledQuery, list[str]]:
    """The user query with its role facts, compiled once (`backend.compiled`: the ORM spends
    about 1 ms building it with its two subqueries, ten times what the database takes), and the
    facts' names in the order of its last columns."""
    p = Placeholders()
    queryset = with_role_facts(User.objects.filter(pk=p.uuid("user"))).order_by()
    return compile_query(*compiled_sql(queryset), p), list(queryset.query.annotation_select)


def _user_with_role_facts(user_id: Any) -> User | None:
    """The token's user with `accounts.access.with_role_facts`, or None. Every request asks
    this first."""
    query, facts = _user_query()
    rows = query.rows(user=User._meta.pk.to_python(user_id))
    if not rows:
        return None
    fields = [field.attname for field in User._meta.concrete_fields]
    user = User.from_db(DEFAULT_DB_ALIAS, fields, rows[0][: len(fields)])
    for name, value in zip(facts, rows[0][len(fields) :], strict=True):
        setattr(user, name, value)
    return user


def revoke_refresh_tokens(user: User) -> int:
    """Blacklist every outstanding refresh token of the user; returns how many were revoked."""
    outstanding = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    rows = [BlacklistedToken(token=token) for token in outstanding]
    BlacklistedToken.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
