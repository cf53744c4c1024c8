"""OpenAPI generation: every operation documents the problem+json errors it can answer with."""

from __future__ import annotations

import inspect
from enum import Enum
from typing import Any, Literal

from django.db.models import Choices
from drf_spectacular.drainage import warn
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import deep_import_string
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from backend.api.errors import PROBLEM_CONTENT_TYPE, DatabaseUnavailable


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(
        help_text="Dotted path of the bad field (`entries.0.severity`); empty for the whole body."
    )
    message = serializers.CharField(help_text="Human-readable message, for display.")
    code = serializers.CharField(
        help_text="Stable machine code (`required`, `max_value`, `invalid`...)."
    )


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, the body of every error response."""

    type = serializers.CharField(help_text="URI identifying the problem type.")
    title = serializers.CharField(help_text="Short summary of the problem type.")
    status = serializers.IntegerField(help_text="The HTTP status code.")
    detail = serializers.CharField(help_text="Explanation specific to this occurrence.")
    code = serializers.CharField(
        help_text="Stable machine-readable code to branch on (`validation_error`, `not_found`, "
        "`token_not_valid`, `throttled`...)."
    )
    errors = FieldErrorSerializer(  # type: ignore[assignment]
        many=True, required=False, help_text="Field errors; present on `validation_error` only."
    )


def _problem(description: str, code: str, status: int, detail: str) -> OpenApiResponse:
    return OpenApiResponse(
        response=ProblemSerializer,
        description=description,
        examples=[
            OpenApiExample(
                code,
                value={
                    "type": f"https://recovery-api.example/problems/{code}",
                    "title": description,
                    "status": status,
                    "detail": detail,
                    "code": code,
                },
                response_only=True,
                status_codes=[str(status)],
            )
        ],
    )


VALIDATION_ERROR = OpenApiResponse(
    response=ProblemSerializer,
    description="Validation error: the `errors` list names each bad field.",
    examples=[
        OpenApiExample(
            "validation_error",
            value={
                "type": "https://recovery-api.example/problems/validation_error",
                "title": "Validation error",
                "status": 400,
                "detail": "The request has invalid fields; see errors.",
                "code": "validation_error",
                "errors": [
                    {
                        "field": "entries.0.severity",
                        "message": "Ensure this value is less than or equal to 10.",
                        "code": "max_value",
                    }
                ],
            },
            response_only=True,
            status_codes=["400"],
        )
    ],
)
UNAUTHORIZED = _problem(
    "Unauthorized", "not_authenticated", 401, "Authentication credentials were not provided."
)
FORBIDDEN = _problem(
    "Forbidden", "permission_denied", 403, "You do not have permission to do this."
)
NOT_FOUND = _problem("Not Found", "not_found", 404, "Not found.")
METHOD_NOT_ALLOWED = _problem(
    "Method Not Allowed", "method_not_allowed", 405, 'Method "PUT" not allowed.'
)
NOT_ACCEPTABLE = _problem(
    "Not Acceptable", "not_acceptable", 406, "Could not satisfy the request Accept header."
)
UNSUPPORTED_MEDIA = _problem(
    "Unsupported Media Type",
    "unsupported_media_type",
    415,
    'Unsupported media type "text/plain" in request.',
)
PAYLOAD_TOO_LARGE = _problem(
    "Content Too Large",
    "payload_too_large",
    413,
    "The request body is larger than the server accepts.",
)
THROTTLED = _problem(
    "Too Many Requests",
    "throttled",
    429,
    "Request was throttled. Expected available in 30 seconds.",
)
SERVER_ERROR = _problem(
    "Internal Server Error", "server_error", 500, "Something went wrong on our side; it was logged."
)
SERVICE_UNAVAILABLE = _problem(
    "Service Unavailable",
    DatabaseUnavailable.default_code,
    503,
    str(DatabaseUnavailable.default_detail),
)
SERVICE_UNAVAILABLE.description = (
    "The database is unavailable for a moment; nothing was stored. Retry after `Retry-After` "
    "seconds (with the same `Idempotency-Key` or client `id`)."
)


def problems(description: str, *examples: tuple[str, int, str]) -> OpenApiResponse:
    """One status that can carry several problem codes, each with an example."""
    return OpenApiResponse(
        response=ProblemSerializer,
        description=description,
        examples=[
            OpenApiExample(
                code,
                value={
                    "type": f"https://recovery-api.example/problems/{code}",
                    "title": "Too Many Requests" if status == 429 else description,
                    "status": status,
                    "detail": detail,
                    "code": code,
                },
                response_only=True,
                status_codes=[str(status)],
            )
            for code, status, detail in examples
        ],
    )


SIGN_IN_REFUSED = problems(
    "Too many requests from this address (`throttled`), or this email and address are locked "
    "out after repeated failed sign-ins (`locked_out`, for unknown emails too). Wait "
    "`Retry-After` seconds.",
    ("throttled", 429, "Request was throttled. Expected available in 30 seconds."),
    (
        "locked_out",
        429,
        "Too many failed sign-in attempts for this account from this address. Try again later.",
    ),
)
CONFLICT = _problem(
    "Conflict", "conflict", 409, "The request conflicts with the current state of the resource."
)


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Optional, 1-255 characters (a UUID is ideal). The first response is kept for 7 "
    "days: a retry with the same key and body replays it with `Idempotent-Replayed: true`; "
    "the same key sent while the first request runs waits for it to finish and gets its answer "
    "replayed (or runs itself if the first failed with a server error); the same key with a "
    "different body gets 422 `idempotency_key_reused`. 409 `request_in_progress` is left only "
    "for a key claimed by a server that has since been upgraded.",
)
IN_PROGRESS = _problem(
    "Conflict",
    "request_in_progress",
    409,
    "A request with this Idempotency-Key is still being processed; retry shortly.",
)
KEY_REUSED = _problem(
    "Unprocessable Content",
    "idempotency_key_reused",
    422,
    "This Idempotency-Key was used with a different request.",
)


class AutoSchema(SpectacularAutoSchema):
    """Adds the error responses every operation can give, so generated clients type them."""

    def get_description(self) -> str:  # type: ignore[override]
        """Only docstrings written on the view itself: drf-spectacular falls back to base classes,
        which put the shared plumbing's internals (`scoped_queryset`, `update_record`) into the
        descriptions of generated clients."""
        action = getattr(self.view, getattr(self.view, "action", None) or self.method.lower(), None)
        own_class_doc = type(self.view).__dict__.get("__doc__")
        for doc in (getattr(action, "__doc__", None), own_class_doc):
            if doc:
                return inspect.cleandoc(doc)
        return ""

    def _idempotent(self) -> bool:
        return self.method == "POST" and bool(self.get_auth())

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self._idempotent():
            parameters.append(IDEMPOTENCY_KEY)
        return parameters

    def _get_response_bodies(
        self, direction: Literal["request", "response"] = "response"
    ) -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        errors: dict[str, OpenApiResponse] = {
            "406": NOT_ACCEPTABLE,
            "500": SERVER_ERROR,
            "503": SERVICE_UNAVAILABLE,
        }
        # Query parameters (filters, dates, cursors) are validated too, so reads can answer 400.
        errors["400"] = VALIDATION_ERROR
        if self.method in ("POST", "PUT", "PATCH"):
            errors["413"] = PAYLOAD_TOO_LARGE
            errors["415"] = UNSUPPORTED_MEDIA
        if self._idempotent():
            errors["409"] = IN_PROGRESS
            errors["422"] = KEY_REUSED
        if self.get_auth():
            errors["401"] = UNAUTHORIZED
            errors["403"] = FORBIDDEN
        if "{" in self.path or self.method != "GET" or self.get_auth():
            errors["404"] = NOT_FOUND
        if self.view.get_throttles():  # a scoped throttle only learns its rate on a request
            errors["429"] = THROTTLED
        for code, response in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return dict(sorted(responses.items()))


def postprocess_problem_media_type(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Error responses are served as application/problem+json; say so in the schema."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            for code, response in operation.get("responses", {}).items():
                if code.startswith(("4", "5")) and "content" in response:
                    content = response["content"]
                    if "application/json" in content:
                        content[PROBLEM_CONTENT_TYPE] = content.pop("application/json")
    return result


def _override_values() -> dict[frozenset[Any], str]:
    """ENUM_NAME_OVERRIDES as {set of values: component name} (the same inputs drf-spectacular
    accepts: a Choices or Enum class, a list of values or of (value, label) pairs, or a dotted
    path to one)."""
    names: dict[frozenset[Any], str] = {}
    for name, choices in spectacular_settings.ENUM_NAME_OVERRIDES.items():
        if isinstance(choices, str):
            choices = deep_import_string(choices)
        if inspect.isclass(choices) and issubclass(choices, Choices):
            choices = choices.choices
        if inspect.isclass(choices) and issubclass(choices, Enum):
            choices = [(member.value, member.name) for member in choices]
        values = [c if isinstance(c, str) or c is None else c[0] for c in choices or []]
        names[frozenset(v for v in values if v not in ("", None))] = name
    return names


def postprocess_for_generators(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """What generated clients need beyond drf-spectacular's output (clients/schema_lint.py
    checks the result): pinned enum names for parameters, and pagination links that are
    always present."""
    _pin_parameter_enums(result)
    _require_pagination_links(result)
    return result


def _require_pagination_links(result: dict[str, Any]) -> None:
    """The cursor paginator always sends `next` and `previous` (null at either end), so they are
    required: optional in the schema, generated clients make every caller test for absence."""
    for schema in result.get("components", {}).get("schemas", {}).values():
        if set(schema.get("properties", {})) == {"next", "previous", "results"}:
            schema["required"] = ["next", "previous", "results"]


def _pin_parameter_enums(result: dict[str, Any]) -> None:
    """Query parameters reuse the pinned enum components instead of inline enums.

    drf-spectacular names only the enums of serializer fields; a choice filter's inline enum
    becomes a class named after the operation in generated clients (`MassageSessionsListStatus`
    next to `MassageStatusEnum`). A parameter whose values equal an enum component's points to
    it; one whose values equal an ENUM_NAME_OVERRIDES entry without a component creates it; any
    other inline enum is a warning (fatal with --fail-on-warn) asking for an override entry.
    """
    schemas: dict[str, Any] = result.setdefault("components", {}).setdefault("schemas", {})
    by_values = {
        frozenset(schema["enum"]): name
        for name, schema in schemas.items()
        if isinstance(schema.get("enum"), list) and name not in ("BlankEnum", "NullEnum")
    }
    overrides = _override_values()
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                holder = parameter.get("schema", {})
                if holder.get("type") == "array":
                    holder = holder.get("items", {})
                if "enum" not in holder or "$ref" in holder:
                    continue
                values = frozenset(v for v in holder["enum"] if v not in ("", None))
                name = by_values.get(values) or overrides.get(values)
                if name is None:
                    warn(
                        f"{method.upper()} {path}: parameter `{parameter['name']}` has an inline "
                        f"enum {sorted(values)}; add an entry to ENUM_NAME_OVERRIDES to name it."
                    )
                    continue
                if name not in schemas:
                    schemas[name] = {"type": "string", "enum": sorted(values)}
                    by_values[values] = name
                for key in ("type", "enum"):
                    holder.pop(key, None)
                holder["$ref"] = f"#/components/schemas/{name}"
    result["components"]["schemas"] = dict(sorted(schemas.items()))
