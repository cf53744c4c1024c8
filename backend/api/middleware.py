from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

from django.http import HttpRequest, HttpResponse

try:
    APP_VERSION = version("recovery-api")
except PackageNotFoundError:  # running from a checkout that was not pip-installed
    APP_VERSION = "0+unknown"


class AppVersionMiddleware:
    """Every response says which release answered (`X-App-Version`), for support and canaries."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response["X-App-Version"] = APP_VERSION
        return response
