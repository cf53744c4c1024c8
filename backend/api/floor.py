"""The benchmark floor: the cheapest authenticated DRF endpoint this stack can serve.

Same authentication (JWT), middleware, renderer and server as every other endpoint, and a tiny
JSON body, so `bench/run` can express each endpoint's latency as a ratio to it. Mounted only when
the BENCH_FLOOR_ENABLED setting is on (off by default, never in the published schema).

POST is the write floor: the view writes nothing, but with an `Idempotency-Key` the middleware
(recovery/idempotency.py) claims the key, stores the answer and commits, as for every create.
So it is the cheapest durable, idempotent write this stack can serve: one row committed.
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

    def post(self, request: Request) -> Response:
        return Response({"ok": True})
