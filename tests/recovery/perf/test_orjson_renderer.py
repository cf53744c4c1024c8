"""The orjson renderer writes what DRF's JSONRenderer writes (byte for byte on the API's value
types), never NaN, and leaves problem+json and the browsable API working."""

from __future__ import annotations

import datetime
import decimal
import ipaddress
import json
import math
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from backend.api import renderers
from backend.api.renderers import ORJSONRenderer

UTC = datetime.UTC
PAYLOAD = {
    "id": uuid.UUID("5d0c8a1e-2b7f-4f3a-8e61-9c4b2a7d1e05"),
    "when": datetime.datetime(2025, 3, 14, 8, 10, 0, 123456, tzinfo=UTC),
    "whole_second": datetime.datetime(2025, 3, 14, 8, 10, tzinfo=UTC),
    "offset": datetime.datetime(
        2025, 3, 14, 8, 10, 5, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=1))
    ),
    "naive": datetime.datetime(2025, 3, 14, 8, 10, 5),
    "zone_utc": datetime.datetime(2025, 1, 14, 8, 10, 1, 5, tzinfo=ZoneInfo("UTC")),
    "london_summer": datetime.datetime(2025, 7, 14, 8, 10, tzinfo=ZoneInfo("Europe/London")),
    "kolkata": datetime.datetime(2025, 7, 14, 8, 10, 0, 10, tzinfo=ZoneInfo("Asia/Kolkata")),
    "day": datetime.date(2025, 3, 14),
    "at": datetime.time(8, 10, 5, 250000),
    "took": datetime.timedelta(minutes=90),
    "distance_km": decimal.Decimal("7.40"),
    "label": gettext_lazy("Hamstrings"),
    "unicode": "Müller, 痛み, line\u2028separator",
    "numbers": [0, -1, 2**40, 1.5, 0.1, 123456.789, True, False, None],
    "address": ipaddress.ip_address("127.0.0.1"),
    "nested": {"rows": [{"acwr": {"value": 1.342, "reason": None}}], 3: "non-str key"},
    "tuple": (1, 2),
}


def test_the_same_bytes_as_drf_for_the_api_value_types():
    assert ORJSONRenderer().render(PAYLOAD) == JSONRenderer().render(PAYLOAD)


class LocalDay(datetime.date):
    """A subclass of date (a frozen clock's, in tests), which orjson leaves to `default`."""


def test_a_subclass_of_date_is_encoded_by_orjson_as_drf_writes_it(monkeypatch):
    payload = {"day": LocalDay(2025, 3, 14), "days": [LocalDay(2025, 3, 15)]}
    monkeypatch.setattr(renderers, "_FallbackRenderer", None)  # no fallback to DRF
    assert ORJSONRenderer().render(payload) == b'{"day":"2025-03-14","days":["2025-03-15"]}'


def test_exponents_may_be_spelled_differently_but_the_numbers_are_the_same():
    tiny_and_huge = {"tiny": 1e-7, "huge": 1e22}
    assert json.loads(ORJSONRenderer().render(tiny_and_huge)) == tiny_and_huge


def test_a_non_finite_float_is_null_never_nan():
    rendered = ORJSONRenderer().render({"a": math.nan, "b": math.inf, "c": -math.inf})
    assert json.loads(rendered) == {"a": None, "b": None, "c": None}
    assert b"NaN" not in rendered
    assert b"Infinity" not in rendered


def test_none_is_an_empty_body_and_indent_falls_back_to_drf():
    assert ORJSONRenderer().render(None) == b""
    indented = ORJSONRenderer().render(PAYLOAD, "application/json; indent=4")
    assert indented == JSONRenderer().render(PAYLOAD, "application/json; indent=4")
    assert ORJSONRenderer().render({"a": 1}, "application/json; indent=0") == b'{"a":1}'


def test_integers_beyond_64_bits_fall_back_to_drf():
    assert ORJSONRenderer().render({"big": 2**70}) == b'{"big":1180591620717411303424}'


def test_an_aware_time_is_refused_as_drf_refuses_it():
    with pytest.raises(ValueError, match="timezone-aware"):
        ORJSONRenderer().render({"t": datetime.time(8, tzinfo=UTC)})


class _View(APIView):
    permission_classes = ()
    authentication_classes = ()
    renderer_classes = (ORJSONRenderer, BrowsableAPIRenderer)

    def get(self, request):
        if request.query_params.get("fail"):
            from rest_framework.exceptions import ValidationError

            raise ValidationError({"days": ["Must be a whole number."]})
        return Response({"ok": True, "day": datetime.date(2025, 3, 14)})


def test_problem_json_and_the_browsable_api_keep_working():
    factory = APIRequestFactory()
    ok = _View.as_view()(factory.get("/x", HTTP_ACCEPT="application/json"))
    ok.render()
    assert ok["Content-Type"] == "application/json"
    assert ok.content == b'{"ok":true,"day":"2025-03-14"}'
    failed = _View.as_view()(factory.get("/x?fail=1", HTTP_ACCEPT="application/json"))
    failed.render()
    assert failed.status_code == 400
    assert failed["Content-Type"] == "application/problem+json"
    assert json.loads(failed.content)["errors"][0]["field"] == "days"
    html = _View.as_view()(factory.get("/x", HTTP_ACCEPT="text/html"))
    html.render()
    assert html["Content-Type"].startswith("text/html")
    assert b"&quot;ok&quot;: true" in html.content  # the JSON shown in the page, indented


@pytest.mark.parametrize("path", ["/api/v1/muscle-groups/", "/api/v1/sports/"])
def test_api_responses_are_rendered_by_orjson(client, django_user_model, path, db):
    response = client.get(path, HTTP_ACCEPT="application/json")
    assert response.status_code in (200, 401)
    assert response["Content-Type"] in ("application/json", "application/problem+json")
