"""Shared plumbing for views: scoping that subclasses cannot bypass, and large answers freed as
soon as they are sent."""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User


def request_user(request: Request) -> User:
    user = request.user
    if not isinstance(user, User):  # views require authentication; this is a programming error
        raise TypeError("an authenticated user is required")
    return user


def released_after_render(response: Response) -> Response:
    """`response`, set to let its data and body go once rendered and sent (`release`)."""
    response.add_post_render_callback(release)
    return response


def release(response: Response) -> None:
    """Once rendered, let the answer go when it is sent. DRF's view refers to its response
    (`view.response`) and is itself in a reference cycle (`view.request`, the request's
    `parser_context["view"]`), which only the collector's next full collection frees: until then
    the response held its data and its rendered body (a year of metrics, 190 kB; a dashboard of
    600 athletes, 630 kB), a few answers at a time (docs/performance.md)."""
    view = (getattr(response, "renderer_context", None) or {}).get("view")
    if view is not None:
        view.response = None
    response.data = None
    response.renderer_context = None  # type: ignore[attr-defined]


class ScopedQuerysetMixin(GenericAPIView):
    """`get_queryset` is always a selector call scoped to the caller (`scoped_queryset`).

    During schema generation there is no user: an empty queryset of `model` lets drf-spectacular
    read field and path types without touching the access rules.
    """

    model: type[Model]
    swagger_fake_view: bool = False

    def scoped_queryset(self, user: User) -> QuerySet[Any, Any]:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any, Any]:
        if self.swagger_fake_view:
            return self.model._default_manager.none()
        return self.scoped_queryset(request_user(self.request))
