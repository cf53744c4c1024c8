"""The benchmark floor: the cheapest authenticated DRF endpoint this stack can serve.

Same authentication (JWT), middleware, renderer and server as every other endpoint, and a tiny
JSON body, so `bench/run` can express each endpoint's latency as a ratio to it. Mounted only when
the BENCH_FLOOR_ENABLED setting is on (off by default, never in the published schema).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


@extend_schema(exclude=True)
class FloorView(APIView):
    def get(self, request: Request) -> Response:
        return Response({"ok": True})
