"""The catalogue the app draws the body map and sport profiles from. It is small (about 30
muscle groups, a dozen sports) and changes rarely, so lists come whole, unpaginated, and every
response carries an `ETag` (a hash of its body) and `Cache-Control`: a client that sends the
ETag back in `If-None-Match` gets 304 Not Modified while the catalogue is unchanged."""

from __future__ import annotations

import hashlib
from typing import Any

from django.utils.http import parse_etags, quote_etag
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from recovery.selectors.catalogue import muscle_group_list, sport_list
from recovery.serializers.catalogue import MuscleGroupSerializer, SportSerializer

CACHE_CONTROL = "private, max-age=3600"

IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    str,
    OpenApiParameter.HEADER,
    description="The ETag of a copy the client holds: 304 without a body if it is current.",
)
NOT_MODIFIED = OpenApiResponse(description="Not modified: the client's copy is current.")


def _cached(serializer: Any, operation_id: str, summary: str) -> Any:
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        parameters=[IF_NONE_MATCH],
        responses={200: serializer, 304: NOT_MODIFIED},
    )


class CatalogueViewSet(viewsets.ReadOnlyModelViewSet):
    pagination_class = None
    lookup_field = "code"
    # Codes are slugs: anything else (a NUL byte PostgreSQL would refuse: a 500) is a 404 at once.
    lookup_value_regex = "[-a-zA-Z0-9_]+"

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        if request.method in ("GET", "HEAD") and response.status_code == 200:
            etag = quote_etag(hashlib.sha256(JSONRenderer().render(response.data)).hexdigest())
            if _client_holds(request, etag):
                response = Response(status=status.HTTP_304_NOT_MODIFIED)
            response["ETag"] = etag
            response["Cache-Control"] = CACHE_CONTROL
        return super().finalize_response(request, response, *args, **kwargs)


def _client_holds(request: Request, etag: str) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 13.1.2)."""
    held = parse_etags(request.headers.get("If-None-Match", ""))
    return "*" in held or etag in (tag.removeprefix("W/") for tag in held)


@extend_schema(tags=["catalogue"])
@extend_schema_view(
    list=_cached(
        MuscleGroupSerializer(many=True), "muscle_groups_list", "All muscle groups (unpaginated)"
    ),
    retrieve=_cached(MuscleGroupSerializer, "muscle_groups_retrieve", "One muscle group"),
)
class MuscleGroupViewSet(CatalogueViewSet):
    serializer_class = MuscleGroupSerializer

    def get_queryset(self) -> Any:
        return muscle_group_list()


@extend_schema(tags=["catalogue"])
@extend_schema_view(
    list=_cached(
        SportSerializer(many=True),
        "sports_list",
        "All sports with their muscle-group demand (unpaginated)",
    ),
    retrieve=_cached(SportSerializer, "sports_retrieve", "One sport with its demand"),
)
class SportViewSet(CatalogueViewSet):
    serializer_class = SportSerializer

    def get_queryset(self) -> Any:
        return sport_list()


router = SimpleRouter()
router.register("muscle-groups", MuscleGroupViewSet, basename="muscle-group")
router.register("sports", SportViewSet, basename="sport")
urlpatterns = router.urls
