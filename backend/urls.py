from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from backend.api.floor import FloorView
from backend.api.health import HealthView

urlpatterns = [
    path("healthz", HealthView.as_view(), name="healthz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("api/v1/", include("accounts.urls")),
    path("api/v1/", include("recovery.urls")),
]
if settings.BENCH_FLOOR_ENABLED:
    urlpatterns.append(path("api/v1/bench/floor/", FloorView.as_view(), name="bench-floor"))

handler400 = "backend.api.errors.handler400"
handler403 = "backend.api.errors.handler403"
handler404 = "backend.api.errors.handler404"
handler500 = "backend.api.errors.handler500"
