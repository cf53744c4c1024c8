"""Is the OpenAPI schema fit for client generators? (scripts/contract runs this first.)

Generated clients turn operationIds into function names and components into class names, so the
schema must name everything itself, stably. Fails (exit 1) on:

- an operation without an operationId, a duplicate one, or one that is not snake_case;
- an enum anywhere but a top-level component (a generator would name it after the operation or
  the property: `MassageSessionsListStatus` next to `MassageStatusEnum`);
- an enum component whose name is not pinned in ENUM_NAME_OVERRIDES (drf-spectacular names the
  others after a field, and renames them with a hash such as `Status1a8Enum` on a collision);
- an inline object with properties where a named component belongs (request and response
  bodies, parameters, nested properties). Free-form maps (`additionalProperties`) are allowed.

Usage: python clients/schema_lint.py [openapi/schema.yaml]
"""

from __future__ import annotations

import os
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
OPERATION_ID = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
EXPLICIT_BLANK_NULL = {"BlankEnum", "NullEnum"}  # drf-spectacular's own, for blank/null choices
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def pinned_enum_names() -> set[str]:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.test")
    import django

    django.setup()
    from django.conf import settings

    spectacular: dict[str, Any] = settings.SPECTACULAR_SETTINGS
    return set(spectacular.get("ENUM_NAME_OVERRIDES", {}))


def walk(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}/{index}")


def lint(schema: dict[str, Any], pinned: set[str]) -> list[str]:
    problems: list[str] = []
    ids: Counter[str] = Counter()
    for route, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            operation_id = operation.get("operationId")
            if not operation_id:
                problems.append(f"{method.upper()} {route}: no operationId")
                continue
            ids[operation_id] += 1
            if not OPERATION_ID.match(operation_id):
                problems.append(
                    f"{method.upper()} {route}: operationId {operation_id!r} is not snake_case"
                )
    problems += [f"operationId {name!r} is used {n} times" for name, n in ids.items() if n > 1]

    components = schema.get("components", {}).get("schemas", {})
    for name, component in components.items():
        if "enum" in component and name not in pinned | EXPLICIT_BLANK_NULL:
            problems.append(
                f"enum component {name} {component['enum']} is not pinned: add it to "
                "SPECTACULAR_SETTINGS['ENUM_NAME_OVERRIDES']"
            )
        for where, node in walk(component, f"#/components/schemas/{name}"):
            if node is component:
                continue
            problems += _inline(where, node)
    for where, node in walk(schema.get("paths", {}), "#/paths"):
        problems += _inline(where, node)
    return problems


def _inline(where: str, node: dict[str, Any]) -> list[str]:
    if where.endswith(("/examples", "/example")) or "/examples/" in where or "/example/" in where:
        return []
    if isinstance(node.get("enum"), list):
        return [f"{where}: inline enum {node['enum']}; name it (ENUM_NAME_OVERRIDES)"]
    if isinstance(node.get("properties"), dict) and node["properties"]:
        return [f"{where}: inline object {sorted(node['properties'])}; make it a named component"]
    return []


def main() -> int:
    source = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "openapi" / "schema.yaml")
    schema = yaml.safe_load(source.read_text())
    problems = lint(schema, pinned_enum_names())
    operations = sum(
        1 for item in schema.get("paths", {}).values() for method in item if method in METHODS
    )
    if problems:
        print(f"{source}: {len(problems)} problem(s) for client generators:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(
        f"{source}: {operations} operations with unique operationIds, "
        f"{len(components_of(schema))} components, every enum pinned, no inline objects"
    )
    return 0


def components_of(schema: dict[str, Any]) -> dict[str, Any]:
    return schema.get("components", {}).get("schemas", {})


if __name__ == "__main__":
    sys.exit(main())
