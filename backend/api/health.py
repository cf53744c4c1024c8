from __future__ import annotations

from django.db import DatabaseError, connection
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api.errors import PROBLEM_CONTENT_TYPE, problem
from backend.api.middleware import APP_VERSION
from backend.api.schema import ProblemSerializer


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok"], help_text="Always `ok` on a 200.")
    database = serializers.ChoiceField(choices=["ok"], help_text="The database answered a query.")
    version = serializers.CharField(help_text="Release of the API that answered.")


class HealthView(APIView):
    """Liveness and readiness for load balancers and the Docker HEALTHCHECK."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="health_check",
        tags=["health"],
        summary="Is the API up and its database reachable?",
        auth=[],
        responses={
            200: HealthSerializer,
            503: OpenApiResponse(
                ProblemSerializer,
                description="The database does not answer.",
                examples=[
                    OpenApiExample(
                        "database_unavailable",
                        value=problem(
                            status_code=503,
                            code="database_unavailable",
                            detail="The database does not answer.",
                        ),
                        status_codes=["503"],
                    )
                ],
            ),
        },
    )
    def get(self, request: Request) -> Response:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except DatabaseError:
            return Response(
                problem(
                    status_code=503,
                    code="database_unavailable",
                    detail="The database does not answer.",
                ),
                status=503,
                headers={"Retry-After": "5"},
                content_type=PROBLEM_CONTENT_TYPE,
            )
        return Response({"status": "ok", "database": "ok", "version": APP_VERSION})
