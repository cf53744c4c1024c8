"""The parts of the benchmark that need Django itself (run by bench/harness with the server's
environment, so tokens are signed with the server's key and requests go through the same
settings, middleware and authentication):

    django_tasks.py tokens DATASET.json       -> JSON: a JWT access token per user id
    django_tasks.py queries REQUESTS.json     -> JSON: queries per request, per name

`queries` sends each request twice through Django's test client (same URL, headers and body as
wrk sends) and counts the second one's SQL statements with CaptureQueriesContext: an exact count,
authentication included.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.base")


def _setup() -> None:
    import django

    django.setup()


def tokens(dataset_path: str) -> dict[str, str]:
    from accounts.auth import issue_tokens
    from accounts.models import User

    dataset = json.loads(Path(dataset_path).read_text())
    ids = {dataset["writer"]["athlete"]["id"]}
    for team in dataset["teams"]:
        ids.update(team[role]["id"] for role in ("coach", "therapist", "athlete") if role in team)
    return {str(user.pk): issue_tokens(user)["access"] for user in User.objects.filter(pk__in=ids)}


def queries(requests_path: str) -> dict[str, dict[str, Any]]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    counted: dict[str, dict[str, Any]] = {}
    for spec in json.loads(Path(requests_path).read_text()):
        headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in spec["headers"].items()}
        headers.pop("HTTP_CONTENT_TYPE", None)
        status = []
        for attempt in range(2):
            if "Idempotency-Key" in spec["headers"]:
                headers["HTTP_IDEMPOTENCY_KEY"] = f"{spec['headers']['Idempotency-Key']}-q{attempt}"
            body = spec.get("bodies", [spec.get("body")])[attempt % len(spec.get("bodies", [1]))]
            with CaptureQueriesContext(connection) as captured:
                if spec["method"] == "GET":
                    response = client.get(spec["path"], **headers)
                else:
                    response = client.post(
                        spec["path"], data=body, content_type="application/json", **headers
                    )
            status.append(response.status_code)
            count = len(captured.captured_queries)
        counted[spec["name"]] = {"queries": count, "status": status}
    return counted


def main() -> None:
    task, argument = sys.argv[1], sys.argv[2]
    _setup()
    result = {"tokens": tokens, "queries": queries}[task](argument)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
