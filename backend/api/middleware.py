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


API_PREFIX = "/api/v1/"


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every API response that did not choose its own caching.

    Health data must not be kept by phones' HTTP caches or by proxies (OWASP REST Security cheat
    sheet). Responses that are deliberately cacheable (the catalogue, with its ETag) set their own
    `Cache-Control`, which is left as it is."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(API_PREFIX) and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response
