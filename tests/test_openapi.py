"""The committed schema is the mobile app's contract: it must equal what the code generates."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiYamlRenderer
from openapi_spec_validator import validate

COMMITTED = Path(__file__).resolve().parent.parent / "openapi" / "schema.yaml"
REGENERATE = "python manage.py spectacular --file openapi/schema.yaml --validate --fail-on-warn"


@pytest.fixture(scope="module")
def generated() -> str:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return OpenApiYamlRenderer().render(schema, renderer_context={}).decode()


def test_committed_schema_equals_generated(generated):
    assert COMMITTED.read_text() == generated, f"openapi/schema.yaml is stale; run: {REGENERATE}"


def test_schema_is_valid_openapi(generated):
    validate(yaml.safe_load(generated))


def test_every_operation_has_unique_id_tag_summary_and_error_responses(generated):
    schema = yaml.safe_load(generated)
    ids = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            ids.append(operation["operationId"])
            assert operation.get("tags"), f"{method} {path} has no tag"
            assert operation.get("summary") or operation.get("description"), f"{method} {path}"
            assert "500" in operation["responses"], f"{method} {path} lacks 500"
            for code, response in operation["responses"].items():
                if code.startswith(("4", "5")):
                    assert set(response["content"]) == {"application/problem+json"}, (
                        f"{method} {path} {code} is not problem+json"
                    )
    assert len(ids) == len(set(ids))


def test_authenticated_operations_document_401(generated):
    schema = yaml.safe_load(generated)
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if operation.get("security") != [{}] and {"jwtAuth": []} in operation.get(
                "security", []
            ):
                assert "401" in operation["responses"], f"{method} {path} lacks 401"
