"""A cursor for the hot statements that run the same SQL on every request, prepared on PostgreSQL.

Django's own cursors bind parameters on the client (psycopg's `ClientCursor`, Django's default),
so PostgreSQL parses and plans every statement afresh: 0.1-0.6 ms for the team views' joins
(docs/performance.md). `prepared_cursor()` is Django's cursor wrapper (logged, counted by the
tests' query assertions, its errors wrapped as Django's) around psycopg's server-binding cursor,
which psycopg prepares once a statement has run `prepare_threshold` times on the connection
(settings: `DB_PREPARE_THRESHOLD`, off when empty), and runs prepared after that.

Only SQL built for it goes through it: the compiled querysets (`backend.compiled`)
and the raw statements of the hot paths. Every other query keeps client-side binding, which any
ORM queryset is safe with. Prepared statements live in the database session: behind a
transaction-mode pooler (PgBouncer before 1.21, or without `max_prepared_statements`) set
`DB_PREPARE_THRESHOLD` empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper


class _LoggedWithValues(CursorDebugWrapper):
    """Logs a statement (`connection.queries`, the tests' captured queries) with its values in
    place, as Django's client-binding cursors do: psycopg keeps no query text for a statement
    it ran prepared, which Django's logging reads."""

    @contextmanager
    def debug_sql(
        self,
        sql: Any = None,
        params: Any = None,
        use_last_executed_query: bool = False,
        many: bool = False,
    ) -> Iterator[None]:
        if use_last_executed_query and not many:
            sql = self.db.ops.compose_sql(sql, params)
        with super().debug_sql(sql, params, use_last_executed_query=False, many=many):
            yield


def prepared_cursor(using: str = DEFAULT_DB_ALIAS) -> CursorWrapper:
    """A cursor (use it in a `with` block) whose statements PostgreSQL prepares once per
    connection when the settings allow it; Django's usual cursor otherwise."""
    connection = connections[using]
    if (
        connection.vendor != "postgresql"
        or connection.settings_dict["OPTIONS"].get("prepare_threshold") is None
    ):
        return connection.cursor()
    # What `connection.cursor()` does, with psycopg's server-binding cursor in place of the
    # client-binding one `create_cursor()` makes (the connection's adapters serve both).
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        connection.validate_thread_sharing()
        raw: Any = psycopg.Cursor(connection.connection)  # django-stubs: a wrapper, wrongly
    if connection.queries_logged:
        return _LoggedWithValues(raw, connection)
    return connection.make_cursor(raw)
