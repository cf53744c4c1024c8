"""Accounts endpoints: sign-in and tokens, registration, the caller's own account, teams,
memberships, invitations and athlete profiles. Views are thin: selectors read, services write."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import gdpr, selectors, services
from accounts.access import access_for
from accounts.audit import audit_entry_list_visible_to, origin_of
from accounts.auth import EmailTokenObtainPairSerializer, RotatingRefreshSerializer, issue_tokens
from accounts.lockout import LockedOut, cool_off_seconds, is_locked_out
from accounts.models import AuditAction, AuditEntry, Invitation, Membership, Team, User
from accounts.serializers import (
    AthleteProfileSerializer,
    AthleteSerializer,
    AuditEntrySerializer,
    InvitationAcceptSerializer,
    InvitationCreatedSerializer,
    InvitationCreateSerializer,
    InvitationSerializer,
    LogoutRequestSerializer,
    MeEraseSerializer,
    MembershipSerializer,
    MembershipUpdateSerializer,
    MeSerializer,
    MeUpdateSerializer,
    MyMembershipSerializer,
    PasswordChangeSerializer,
    PersonalDataExportSerializer,
    RegisteredSerializer,
    RegisterSerializer,
    TeamSerializer,
    TokenObtainRequestSerializer,
    TokenPairSerializer,
    TokenRefreshRequestSerializer,
)
from backend.api.errors import problem
from backend.api.pagination import ordered_by
from backend.api.params import date_range_params, uuid_param
from backend.api.schema import SIGN_IN_REFUSED, ProblemSerializer
from backend.api.views import ScopedQuerysetMixin, request_user

TEAM_FILTER = OpenApiParameter("team", str, description="Only this team (UUID).")
AUDIT_MAX_RANGE_DAYS = 366


_user = request_user


def _unauthorized(description: str, code: str, detail: str) -> OpenApiResponse:
    return OpenApiResponse(
        ProblemSerializer,
        description=description,
        examples=[
            OpenApiExample(
                code,
                value=problem(status_code=401, code=code, detail=detail),
                response_only=True,
                status_codes=["401"],
            )
        ],
    )


BAD_CREDENTIALS = _unauthorized(
    "Unknown email or wrong password (one answer for both).",
    "no_active_account",
    "No active account found with the given credentials.",
)
BAD_REFRESH_TOKEN = _unauthorized(
    "The refresh token is invalid, expired, revoked or already rotated.",
    "token_not_valid",
    "Token is blacklisted",
)


def _validated(serializer_class: type, request: Request, **kwargs: Any) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class PublicAPIView(APIView):
    """No authentication; failed credentials still answer 401 with a Bearer challenge (not 403)."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


@extend_schema(tags=["auth"])
class TokenObtainView(PublicAPIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(
        operation_id="auth_token_obtain",
        summary="Sign in with email and password",
        description="Returns an access token (about 15 minutes) and a refresh token (about 14 "
        "days, rotated on every refresh). Unknown email and wrong password get the same 401. "
        "After 5 failed attempts (LOGIN_FAILURE_LIMIT) for one email from one address within 15 "
        "minutes (LOGIN_COOLOFF_MINUTES), that pair is locked out: 429 `locked_out` with "
        "`Retry-After`, even with the right password, whether or not the account exists.",
        request=TokenObtainRequestSerializer,
        responses={200: TokenPairSerializer, 401: BAD_CREDENTIALS, 429: SIGN_IN_REFUSED},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = _validated(TokenObtainRequestSerializer, request)
        serializer = EmailTokenObtainPairSerializer(data=data, context={"request": request})
        try:
            serializer.is_valid(raise_exception=True)
        except AuthenticationFailed:
            if is_locked_out(request):  # django-axes refused this (account, address) pair
                raise LockedOut(retry_after=cool_off_seconds(request)) from None
            raise
        return Response(serializer.validated_data)


@extend_schema(tags=["auth"])
class TokenRefreshView(PublicAPIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "refresh"

    @extend_schema(
        operation_id="auth_token_refresh",
        summary="Exchange a refresh token for a new pair",
        description="The refresh token is rotated: the one sent is revoked and a new one comes "
        "back. Concurrent refreshes with one token give exactly one new pair; refresh once at a "
        "time (single-flight) on the client.",
        request=TokenRefreshRequestSerializer,
        responses={200: TokenPairSerializer, 401: BAD_REFRESH_TOKEN},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = _validated(TokenRefreshRequestSerializer, request)
        serializer = RotatingRefreshSerializer(data=data)
        try:
            serializer.is_valid(raise_exception=True)
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        return Response(serializer.validated_data)


@extend_schema(tags=["auth"])
class LogoutView(APIView):
    @extend_schema(
        operation_id="auth_logout",
        summary="Revoke a refresh token (sign out this device)",
        description="The access token stays valid until it expires (at most about 15 minutes).",
        request=LogoutRequestSerializer,
        responses={204: None},
    )
    def post(self, request: Request) -> Response:
        data = _validated(LogoutRequestSerializer, request)
        try:
            refresh = RefreshToken(data["refresh"])
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        if refresh.get(api_settings.USER_ID_CLAIM) != str(_user(request).pk):
            raise PermissionDenied("This refresh token belongs to another account.")
        refresh.blacklist()
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["auth"])
class RegisterView(PublicAPIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "register"

    @extend_schema(
        operation_id="auth_register",
        summary="Create an account with an invitation token",
        description="The new user becomes a member of the inviting team with the invited role, "
        "and is signed in (the response carries a token pair).",
        request=RegisterSerializer,
        responses={201: RegisteredSerializer},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        membership = services.user_register(**_validated(RegisterSerializer, request))
        body = RegisteredSerializer(
            {
                "user": membership.user,
                "membership": membership,
                "tokens": issue_tokens(membership.user),
            }
        ).data
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema(tags=["me"])
class MeView(APIView):
    @extend_schema(operation_id="me_retrieve", summary="The signed-in user", responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(selectors.me_detail(user=_user(request))).data)

    @extend_schema(
        operation_id="me_update",
        summary="Change the signed-in user's name",
        request=MeUpdateSerializer,
        responses=MeSerializer,
    )
    def patch(self, request: Request) -> Response:
        services.user_update(user=_user(request), **_validated(MeUpdateSerializer, request))
        return Response(MeSerializer(selectors.me_detail(user=_user(request))).data)


@extend_schema(tags=["me"])
class MyAthleteProfileView(APIView):
    @extend_schema(
        operation_id="me_athlete_profile_retrieve",
        summary="The signed-in athlete's profile and consent settings",
        responses=AthleteProfileSerializer,
    )
    def get(self, request: Request) -> Response:
        profile = selectors.athlete_profile_of(user=_user(request))
        return Response(AthleteProfileSerializer(profile).data)

    @extend_schema(
        operation_id="me_athlete_profile_update",
        summary="Edit the signed-in athlete's profile and consent",
        description="`share_clinical_notes_with_coaches` is the athlete's consent for coaches to "
        "read therapists' clinical notes; off by default, effective at once both ways.",
        request=AthleteProfileSerializer,
        responses=AthleteProfileSerializer,
    )
    def patch(self, request: Request) -> Response:
        changes = _validated(AthleteProfileSerializer, request, partial=True)
        profile = services.athlete_profile_update(user=_user(request), **changes)
        return Response(AthleteProfileSerializer(profile).data)


@extend_schema(tags=["me"])
class PasswordChangeView(APIView):
    @extend_schema(
        operation_id="me_password_change",
        summary="Change password (signs out every device)",
        description="Every access and refresh token issued before stops working.",
        request=PasswordChangeSerializer,
        responses={204: None},
    )
    def post(self, request: Request) -> Response:
        services.password_change(
            user=_user(request), **_validated(PasswordChangeSerializer, request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


ERASURE_DESCRIPTION = (
    "Deletes the athlete's training sessions, soreness reports, injuries and the massage "
    "sessions about them (with treated areas and amendments), their athlete profile and stored "
    "request replays; anonymises the account (email `erased-<id>@invalid`, name blank, no "
    "password, inactive), deactivates every membership and revokes every token. Audit entries "
    "stay (ids, never health content) and one records the erasure. All or nothing, and "
    "irreversible."
)
ERASURE_CONFLICT = OpenApiResponse(
    ProblemSerializer,
    description="The person is an active member of a team the caller does not administer.",
    examples=[
        OpenApiExample(
            "erasure.other_teams",
            value=problem(
                status_code=409,
                code="erasure.other_teams",
                detail="This person is also an active member of a team you do not administer.",
            ),
            response_only=True,
            status_codes=["409"],
        )
    ],
)


@extend_schema(tags=["me"])
class MeExportView(APIView):
    throttle_classes = [UserRateThrottle, ScopedRateThrottle]
    throttle_scope = "export"

    @extend_schema(
        operation_id="me_export",
        summary="Download everything held about the signed-in user (GDPR access, portability)",
        description="One JSON document: the account, memberships, athlete profile, training "
        "sessions, soreness reports with their entries, the massage sessions about the user "
        "INCLUDING the therapists' clinical notes (the user's own health record), treated areas "
        "and amendments, injuries, and the audit log of who read, exported or erased their "
        "data. Rate-limited (`export` scope, 5 an hour by default) and recorded in the audit "
        "log.",
        responses={200: PersonalDataExportSerializer},
    )
    def get(self, request: Request) -> Response:
        user = _user(request)
        data = gdpr.personal_data_of(user=user)
        gdpr.record_export(user=user, data=data, origin=origin_of(request))
        filename = f"recovery-personal-data-{data.exported_at:%Y-%m-%d}.json"
        return Response(
            PersonalDataExportSerializer(data).data,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )


@extend_schema(tags=["me"])
class MeEraseView(APIView):
    throttle_classes = [UserRateThrottle, ScopedRateThrottle]
    throttle_scope = "auth"  # it checks a password: the sign-in rate applies

    @extend_schema(
        operation_id="me_erase",
        summary="Erase the signed-in user's account and data (GDPR Art. 17)",
        description=ERASURE_DESCRIPTION
        + "\n\nConfirmed with the current password (400 `wrong_password`). Afterwards every "
        "token of the account is dead, so repeating the call is a 401; erasing an erased "
        "account changes nothing.",
        request=MeEraseSerializer,
        responses={204: None},
    )
    def post(self, request: Request) -> Response:
        data = _validated(MeEraseSerializer, request)
        gdpr.me_erase(user=_user(request), password=data["password"], origin=origin_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["audit"])
@extend_schema_view(
    list=extend_schema(
        operation_id="audit_entries_list",
        summary="Audit log of the athletes of the teams the caller administers",
        description="Who read clinical notes (any reader but the athlete), exported or erased "
        "data, newest first. Team admins only: `team` names a team the caller is not in: 404; "
        "one they are in without being admin: 403. Without `team`, every team they administer. "
        "Entries are about active athletes of those teams.",
        parameters=[
            OpenApiParameter("team", OpenApiTypes.UUID, description="Only this team's athletes."),
            OpenApiParameter("athlete", OpenApiTypes.UUID, description="Only this athlete."),
            OpenApiParameter("action", str, enum=AuditAction.values),
            OpenApiParameter(
                "date_from", OpenApiTypes.DATE, description="First day (UTC), inclusive."
            ),
            OpenApiParameter(
                "date_to",
                OpenApiTypes.DATE,
                description=f"Last day (UTC), inclusive; at most {AUDIT_MAX_RANGE_DAYS} days "
                "after date_from.",
            ),
        ],
    ),
)
class AuditEntryViewSet(ScopedQuerysetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    model = AuditEntry
    serializer_class = AuditEntrySerializer
    pagination_class = ordered_by("-at", "-id")

    def scoped_queryset(self, user: User) -> Any:
        request = self.request
        action = request.query_params.get("action") or None
        if action is not None and action not in AuditAction.values:
            raise ValidationError({"action": [f"Must be one of: {', '.join(AuditAction.values)}."]})
        date_from, date_to = date_range_params(request, max_days=AUDIT_MAX_RANGE_DAYS)
        return audit_entry_list_visible_to(
            access=access_for(request),
            team=uuid_param(request, "team"),
            athlete=uuid_param(request, "athlete"),
            action=action,
            date_from=date_from,
            date_to=date_to,
        )


@extend_schema(tags=["teams"])
@extend_schema_view(
    list=extend_schema(operation_id="teams_list", summary="Teams the user is an active member of"),
    retrieve=extend_schema(operation_id="teams_retrieve", summary="One team"),
)
class TeamViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    model = Team
    serializer_class = TeamSerializer
    pagination_class = ordered_by("name", "id")

    def scoped_queryset(self, user: User) -> Any:
        return selectors.team_list_visible_to(user=user)


@extend_schema(tags=["teams"])
@extend_schema_view(
    list=extend_schema(
        operation_id="memberships_list",
        summary="Members of the teams the user is staff of",
        parameters=[TEAM_FILTER],
    ),
    retrieve=extend_schema(operation_id="memberships_retrieve", summary="One membership"),
    partial_update=extend_schema(
        operation_id="memberships_update",
        summary="Change a member's role or deactivate them (team admins)",
        description="Deactivation removes the member's access at once.",
        request=MembershipUpdateSerializer,
        responses=MembershipSerializer,
    ),
)
class MembershipViewSet(
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    model = Membership
    serializer_class = MembershipSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def scoped_queryset(self, user: User) -> Any:
        return _filter_team(selectors.membership_list_visible_to(user=user), self.request)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        membership = self.get_object()
        changes = _validated(MembershipUpdateSerializer, request)
        membership = services.membership_update(
            access=access_for(request), membership=membership, **changes
        )
        return Response(MembershipSerializer(membership).data)


@extend_schema(tags=["teams"])
@extend_schema_view(
    list=extend_schema(
        operation_id="invitations_list",
        summary="Invitations of the teams the user administers",
        parameters=[TEAM_FILTER],
    ),
    retrieve=extend_schema(operation_id="invitations_retrieve", summary="One invitation"),
    create=extend_schema(
        operation_id="invitations_create",
        summary="Invite someone to a team with a role (team admins)",
        request=InvitationCreateSerializer,
        responses={201: InvitationCreatedSerializer},
    ),
    destroy=extend_schema(operation_id="invitations_revoke", summary="Revoke an unused invitation"),
)
class InvitationViewSet(
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    model = Invitation
    serializer_class = InvitationSerializer

    def scoped_queryset(self, user: User) -> Any:
        return _filter_team(selectors.invitation_list_visible_to(user=user), self.request)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = _validated(InvitationCreateSerializer, request)
        invitation, token = services.invitation_create(
            access=access_for(request),
            team_id=data["team"],
            role=data["role"],
            email=data.get("email", ""),
            lifetime=timedelta(days=data["expires_in_days"]),
        )
        invitation.token = token  # type: ignore[attr-defined]
        return Response(
            InvitationCreatedSerializer(invitation).data, status=status.HTTP_201_CREATED
        )

    def perform_destroy(self, instance: Any) -> None:
        services.invitation_revoke(access=access_for(self.request), invitation=instance)

    @extend_schema(
        operation_id="invitations_accept",
        summary="Join a team with an invitation token (signed-in user)",
        request=InvitationAcceptSerializer,
        responses={201: MyMembershipSerializer},
    )
    @action(detail=False, methods=["post"], url_path="accept")
    def accept(self, request: Request) -> Response:
        data = _validated(InvitationAcceptSerializer, request)
        membership = services.invitation_accept(user=_user(request), token=data["token"])
        return Response(MyMembershipSerializer(membership).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["athletes"])
@extend_schema_view(
    list=extend_schema(
        operation_id="athletes_list",
        summary="Athletes the user may see (self, and athletes of teams they staff)",
        parameters=[TEAM_FILTER],
    ),
    retrieve=extend_schema(operation_id="athletes_retrieve", summary="One athlete's profile"),
)
class AthleteViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    model = User
    serializer_class = AthleteSerializer
    pagination_class = ordered_by("-date_joined", "-id")

    def scoped_queryset(self, user: User) -> Any:
        queryset = selectors.athlete_list_visible_to(user=user)
        team = uuid_param(self.request, "team")
        if team:
            queryset = queryset.filter(
                memberships__team_id=team,
                memberships__role="athlete",
                memberships__is_active=True,
            )
        return queryset

    @extend_schema(
        operation_id="athletes_erase",
        summary="Erase an athlete's personal and health data (team admins, GDPR Art. 17)",
        description=ERASURE_DESCRIPTION
        + "\n\nOnly an admin of a team the athlete is in (403 otherwise); not the caller's own "
        "account (403 `erasure.use_me_erase`: use `me_erase`); not while the person is an active "
        "member of a team the caller does not administer (409 `erasure.other_teams`). Once "
        "erased the athlete is no longer visible: a second call is a 404.",
        request=None,
        responses={204: None, 409: ERASURE_CONFLICT},
    )
    @action(detail=True, methods=["post"], url_path="erase")
    def erase(self, request: Request, pk: str | None = None) -> Response:
        gdpr.athlete_erase(
            access=access_for(request), athlete=self.get_object(), origin=origin_of(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


def _filter_team(queryset: Any, request: Request) -> Any:
    team = uuid_param(request, "team")
    return queryset.filter(team_id=team) if team else queryset
