"""`backend.db.prepared_cursor`: the hot statements are prepared once per connection on
PostgreSQL, still logged and counted with their values, and other databases (or an empty
DB_PREPARE_THRESHOLD) get Django's usual cursor."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from backend.compiled import Placeholders, compile_query, compiled_sql
from backend.db import prepared_cursor
from tests.factories import UserFactory

ON_POSTGRESQL = connection.vendor == "postgresql"
postgresql_only = pytest.mark.skipif(not ON_POSTGRESQL, reason="prepared statements: PostgreSQL")

SQL = "SELECT %s::int + 1, %s::text"


def _prepared_statements() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return {row[0] for row in cursor.fetchall()}


@postgresql_only
@pytest.mark.django_db
def test_a_statement_run_past_the_threshold_is_prepared_in_the_session():
    threshold = connection.settings_dict["OPTIONS"]["prepare_threshold"]
    for run in range(threshold + 1):
        with prepared_cursor() as cursor:
            cursor.execute(SQL, [run, "x"])
            assert cursor.fetchall() == [(run + 1, "x")]  # the values are bound on each run

    assert "SELECT $1::int + 1, $2::text" in _prepared_statements()


@postgresql_only
@pytest.mark.django_db
def test_prepared_runs_are_logged_with_their_values():
    threshold = connection.settings_dict["OPTIONS"]["prepare_threshold"]
    with CaptureQueriesContext(connection) as queries:
        for run in range(threshold + 3):
            with prepared_cursor() as cursor:
                cursor.execute(SQL, [run, "it's"])

    assert [query["sql"] for query in queries.captured_queries] == [
        f"SELECT {run}::int + 1, 'it''s'::text" for run in range(threshold + 3)
    ]


@postgresql_only
@pytest.mark.django_db
def test_a_compiled_query_runs_prepared_with_each_runs_values():
    users = UserFactory.create_batch(2)
    p = Placeholders()
    query = User.objects.filter(pk=p.uuid("user")).values_list("email")
    compiled = compile_query(*compiled_sql(query), p)
    threshold = connection.settings_dict["OPTIONS"]["prepare_threshold"]
    for _ in range(threshold + 1):
        for user in users:
            assert compiled.rows(user=user.pk) == [(user.email,)]

    assert any(
        statement.startswith('SELECT "accounts_user"."email"')
        for statement in _prepared_statements()
    )


@pytest.mark.django_db
def test_without_a_threshold_the_cursor_is_djangos_own():
    saved = connection.settings_dict["OPTIONS"]
    connection.settings_dict["OPTIONS"] = {
        name: value for name, value in saved.items() if name != "prepare_threshold"
    }
    try:
        with prepared_cursor() as cursor, connection.cursor() as usual:
            cursor.execute("SELECT 1")
            assert cursor.fetchall() == [(1,)]
            assert type(cursor.cursor) is type(usual.cursor)
    finally:
        connection.settings_dict["OPTIONS"] = saved
