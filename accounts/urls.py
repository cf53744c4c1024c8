from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts import views

app_name = "accounts"

router = SimpleRouter()
router.register("teams", views.TeamViewSet, basename="team")
router.register("memberships", views.MembershipViewSet, basename="membership")
router.register("invitations", views.InvitationViewSet, basename="invitation")
router.register("athletes", views.AthleteViewSet, basename="athlete")
router.register("audit-entries", views.AuditEntryViewSet, basename="audit-entry")

urlpatterns = [
    path("auth/token/", views.TokenObtainView.as_view(), name="token-obtain"),
    path("auth/token/refresh/", views.TokenRefreshView.as_view(), name="token-refresh"),
    path("auth/logout/", views.LogoutView.as_view(), name="logout"),
    path("auth/register/", views.RegisterView.as_view(), name="register"),
    path("me/", views.MeView.as_view(), name="me"),
    path("me/athlete-profile/", views.MyAthleteProfileView.as_view(), name="me-athlete-profile"),
    path("me/password/", views.PasswordChangeView.as_view(), name="me-password"),
    path("me/export/", views.MeExportView.as_view(), name="me-export"),
    path("me/erase/", views.MeEraseView.as_view(), name="me-erase"),
    *router.urls,
]
