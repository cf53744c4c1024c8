"""Each module here defines `urlpatterns`; add a new module to the list below."""

from __future__ import annotations

from importlib import import_module

from django.urls import URLPattern, URLResolver

MODULES: list[str] = [
    "catalogue",
    "training",
    "soreness",
    "injuries",
    "massage",
    "dashboard",
    "metrics",
    "recommendation",
    "sync",
]

ROUTES: list[URLPattern | URLResolver] = [
    pattern for name in MODULES for pattern in import_module(f"recovery.views.{name}").urlpatterns
]
