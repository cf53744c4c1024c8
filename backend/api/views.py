"""Shared plumbing for viewsets: scoping that subclasses cannot bypass."""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request

from accounts.models import User


def request_user(request: Request) -> User:
    user = request.user
    if not isinstance(user, User):  # views require authentication; this is a programming error
        raise TypeError("an authenticated user is required")
    return user


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
