"""Recovery endpoints. Each views module owns its routes; this file only lists the modules."""

from recovery.views import ROUTES

app_name = "recovery"

urlpatterns = ROUTES
