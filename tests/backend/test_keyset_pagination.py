"""Keyset pagination (backend/api/pagination.py): every list pages on its whole ordering, so a page
is one indexed range read (no OFFSET, no COUNT), rows never repeat or go missing however many share
a date or are written between page reads, `previous` walks the same pages back, and a cursor the
list did not issue is a 400 problem, never a 500."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory, force_authenticate

from accounts.models import Role, Team
from backend.api.pagination import CursorPagination, cursor_signer, ordering_field
from recovery.models import TrainingSession
from tests.factories import (
    InjuryFactory,
    MembershipFactory,
    TeamFactory,
    TrainingSessionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/training-sessions/"
ORDER = ("-date", "-created_at", "-id")
DAY = date(2025, 3, 14)


@pytest.fixture
def athlete(team: Team):
    return MembershipFactory(team=team, role=Role.ATHLETE).user


def sessions(athlete, dates: list[date], *, same_instant: bool = False) -> list[TrainingSession]:
    """Sessions on `dates`; with `same_instant` every one has the same `created_at`, so only the
    id orders the rows of a date."""
    rows = TrainingSession.objects.bulk_create(
        TrainingSessionFactory.build(athlete=athlete, date=day) for day in dates
    )
    if same_instant:
        TrainingSession.objects.filter(pk__in=[r.pk for r in rows]).update(
            created_at=timezone.now()
        )
    return rows


def in_list_order() -> list[str]:
    return [str(pk) for pk in TrainingSession.objects.order_by(*ORDER).values_list("pk", flat=True)]


def cursor_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["cursor"][0]


def walk(client, url: str, direction: str = "next") -> list[list[str]]:
    """Every page from `url` following `direction`, each checked to be one query with no OFFSET
    or COUNT."""
    pages = []
    while url:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200, response.content
        assert len(captured) == 1, [q["sql"] for q in captured.captured_queries]
        sql = captured.captured_queries[0]["sql"].upper()
        assert "OFFSET" not in sql, sql
        assert "COUNT(" not in sql, sql
        body = response.json()
        assert set(body) == {"next", "previous", "results"}
        pages.append([row["id"] for row in body["results"]])
        url = body[direction]
    return pages


def flat(pages: list[list[str]]) -> list[str]:
    return [pk for page in pages for pk in page]


# --- reading forwards and backwards -------------------------------------------------------------
def test_pages_through_one_crowded_date_in_list_order_without_repeats(client_for, athlete):
    """25 sessions created in the same instant on one date, between two other dates: only the id
    separates them, and every page continues exactly after the last row sent."""
    sessions(
        athlete, [DAY + timedelta(days=1), *[DAY] * 25, DAY - timedelta(days=1)], same_instant=True
    )
    pages = walk(client_for(athlete), f"{LIST_URL}?page_size=4")
    assert [len(page) for page in pages] == [4] * 6 + [3]
    assert flat(pages) == in_list_order()


def test_more_rows_on_one_date_than_drf_offset_cursor_could_skip(client_for, athlete):
    """DRF's cursor skips the rows of the current date with an OFFSET capped at 1,000: past that it
    served the same page again. 1,010 sessions on one date come out once each."""
    sessions(athlete, [DAY] * 1010)
    pages = walk(client_for(athlete), f"{LIST_URL}?page_size=200")
    assert [len(page) for page in pages] == [200] * 5 + [10]
    assert flat(pages) == in_list_order()


def test_previous_walks_back_through_the_same_pages(client_for, athlete):
    sessions(athlete, [DAY - timedelta(days=n % 4) for n in range(11)], same_instant=True)
    client = client_for(athlete)
    forward = walk(client, f"{LIST_URL}?page_size=3")
    assert [len(page) for page in forward] == [3, 3, 3, 2]
    page, links = client.get(f"{LIST_URL}?page_size=3").json(), []
    while page["next"]:
        links.append(page["next"])
        page = client.get(page["next"]).json()
    assert walk(client, page["previous"], direction="previous") == forward[-2::-1]
    # Page 1 read backwards from page 2 has no previous page, and its `next` goes forwards again.
    page_one = client.get(client.get(links[0]).json()["previous"]).json()
    assert [row["id"] for row in page_one["results"]] == forward[0]
    assert page_one["previous"] is None
    assert walk(client, page_one["next"]) == forward[1:]


def test_first_and_last_pages_have_no_link_beyond_them(client_for, athlete):
    sessions(athlete, [DAY] * 3)
    client = client_for(athlete)
    first = client.get(LIST_URL, {"page_size": 2}).json()
    assert first["previous"] is None
    assert first["next"]
    last = client.get(first["next"]).json()
    assert last["next"] is None
    assert last["previous"]
    assert client.get(LIST_URL, {"page_size": 3}).json()["next"] is None


def test_links_keep_the_filters_and_page_size(client_for, athlete):
    sessions(athlete, [DAY] * 4)
    TrainingSession.objects.update(session_type="match")
    link = (
        client_for(athlete).get(LIST_URL, {"page_size": 2, "session_type": "match"}).json()["next"]
    )
    assert parse_qs(urlsplit(link).query).keys() == {"page_size", "session_type", "cursor"}


@pytest.mark.parametrize(
    "ordering",
    [
        # date < d OR (date = d AND (created_at, id) > (c, i))
        ("-date", "created_at", "id"),
        # (date, created_at) < (d, c) OR ((date, created_at) = (d, c) AND id > i)
        ("-date", "-created_at", "id"),
    ],
)
def test_mixed_directions_nest_the_comparison(athlete, ordering):
    """An ordering that changes direction pages in that order, forwards and backwards."""
    rows = sessions(athlete, [DAY - timedelta(days=n % 3) for n in range(10)])
    for n, row in enumerate(rows):  # two instants per date, so created_at ties and differs
        TrainingSession.objects.filter(pk=row.pk).update(
            created_at=timezone.now() - timedelta(minutes=n % 2)
        )

    Mixed = type("Mixed", (CursorPagination,), {"ordering": ordering, "page_size": 3})

    queryset = TrainingSession.objects.all()
    expected = [r.pk for r in queryset.order_by(*Mixed.ordering)]

    def page(params: dict[str, str]) -> tuple[list[uuid.UUID], CursorPagination]:
        return paginate(Mixed, queryset, params)

    pages, params = [], {}
    while True:
        rows_, paginator = page(params)
        pages.append(rows_)
        if not (link := paginator.get_next_link()):
            break
        params = {"cursor": cursor_of(link)}
    assert [pk for rows_ in pages for pk in rows_] == expected
    assert len(pages) == 4
    back, _ = page({"cursor": cursor_of(paginator.get_previous_link())})
    assert back == pages[-2]


def paginate(pagination_class: type[CursorPagination], queryset, params: dict[str, str]):
    paginator = pagination_class()
    request = Request(APIRequestFactory().get("/rows/", params))
    return [row.pk for row in paginator.paginate_queryset(queryset, request)], paginator


def test_ascending_text_ordering_pages_in_the_database_order():
    """The teams list (`name`, `id`): names repeat across organisations, so the id decides."""
    for name in ["Rockets", "Harriers", "Rockets", "Athletics", "Harriers", "Rockets", "Zebras"]:
        TeamFactory(name=name)
    queryset = Team.objects.all()
    by_name = type("ByName", (CursorPagination,), {"ordering": ("name", "id"), "page_size": 2})
    seen, params = [], {}
    while True:
        rows, paginator = paginate(by_name, queryset, params)
        seen += rows
        if not (link := paginator.get_next_link()):
            break
        params = {"cursor": cursor_of(link)}
    assert seen == list(queryset.order_by("name", "id").values_list("pk", flat=True))


def test_a_page_emptied_by_deletes_links_back_to_the_page_it_came_from(client_for, athlete):
    """Every row after page 1 deleted before `next` is read: that page is empty, with no `next`,
    and its `previous` is page 1 again, its last row included."""
    sessions(athlete, [DAY] * 6, same_instant=True)
    client = client_for(athlete)
    first = client.get(LIST_URL, {"page_size": 2}).json()
    TrainingSession.objects.exclude(pk__in=[row["id"] for row in first["results"]]).delete()
    emptied = client.get(first["next"]).json()
    assert emptied["results"] == []
    assert emptied["next"] is None
    assert client.get(emptied["previous"]).json()["results"] == first["results"]


def test_a_page_emptied_backwards_links_forward_to_the_page_it_came_from(client_for, athlete):
    sessions(athlete, [DAY] * 6, same_instant=True)
    client = client_for(athlete)
    first = client.get(LIST_URL, {"page_size": 2}).json()
    second = client.get(first["next"]).json()
    TrainingSession.objects.filter(pk__in=[row["id"] for row in first["results"]]).delete()
    emptied = client.get(second["previous"]).json()
    assert emptied["results"] == []
    assert emptied["previous"] is None
    again = client.get(emptied["next"]).json()
    assert again["results"] == second["results"]
    assert again["next"] == second["next"]


# --- stable under writes between page reads -----------------------------------------------------
def test_rows_written_between_page_reads_never_shift_the_next_page(client_for, athlete):
    """After page 1: a newer session, two created in the same instant and on the same date as the
    cursor's row (one sorting before it, one after), an older one, and the cursor's row deleted.
    The rest of the list is exactly the rows after the cursor's position, each once."""
    sessions(athlete, [DAY - timedelta(days=n // 4) for n in range(12)], same_instant=True)
    client = client_for(athlete)
    first = client.get(LIST_URL, {"page_size": 5}).json()
    before = in_list_order()
    assert [row["id"] for row in first["results"]] == before[:5]
    at = TrainingSession.objects.get(pk=first["results"][-1]["id"])

    def twin(offset: int) -> TrainingSession:
        row = TrainingSessionFactory(
            athlete=athlete, id=uuid.UUID(int=at.pk.int + offset), date=at.date
        )
        TrainingSession.objects.filter(pk=row.pk).update(created_at=at.created_at)
        return row

    newer = TrainingSessionFactory(athlete=athlete, date=DAY + timedelta(days=1))
    sorts_before, sorts_after = twin(+1), twin(-1)  # ids descend in the list
    older = TrainingSessionFactory(athlete=athlete, date=DAY - timedelta(days=30))
    at.delete()

    rest = flat(walk(client, first["next"]))
    assert rest == [
        pk for pk in in_list_order() if pk in set(before[5:]) | {str(sorts_after.pk), str(older.pk)}
    ]
    assert set(rest) == set(before[5:]) | {str(sorts_after.pk), str(older.pk)}
    assert not {str(newer.pk), str(sorts_before.pk)} & set(rest)


# --- cursors the list did not issue -------------------------------------------------------------
def _edited(cursor: str) -> str:
    """The cursor with its payload's date moved a year, keeping the signature."""
    payload, signature = cursor.rsplit(":", 1)
    values = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    values[1] = "2024-03-14"
    edited = base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode())
    return f"{edited.decode().rstrip('=')}:{signature}"


def _signed(payload: object) -> str:
    """Well signed for this list, but not a position (as after a change of the list's fields)."""
    return cursor_signer(TrainingSession, ORDER).sign_object(payload)


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("abc", id="garbage"),
        pytest.param("cD0yMDI1LTAzLTE0", id="drf-offset-cursor"),  # "p=2025-03-14", as before
        pytest.param("bz0xJnA9MjAyNS0wMy0xNA==", id="drf-offset-cursor-with-offset"),
        pytest.param("a" * 5000 + ":" + "b" * 43, id="long"),
        pytest.param("edited", id="edited"),
        pytest.param("foreign", id="another-lists-cursor"),
        pytest.param(_signed([0, "2025-03-14"]), id="too-few-values"),
        pytest.param(
            _signed([0, "yesterday", "2025-03-14T10:00:00+00:00", str(uuid.uuid4())]),
            id="not-a-date",
        ),
        pytest.param(
            _signed([0, "2025-03-14", "2025-03-14T10:00:00+00:00", "not-a-uuid"]), id="not-a-uuid"
        ),
        pytest.param(_signed([0, "2025-03-14", None, str(uuid.uuid4())]), id="null-value"),
        pytest.param(
            _signed([4, "2025-03-14", "2025-03-14T10:00:00+00:00", str(uuid.uuid4())]),
            id="unknown-kind",
        ),
        pytest.param(_signed({"p": "2025-03-14"}), id="an-object"),
        pytest.param(_signed("2025-03-14"), id="a-string"),
    ],
)
def test_a_cursor_the_list_did_not_issue_is_a_400_problem(client_for, athlete, cursor):
    sessions(athlete, [DAY] * 3)
    client = client_for(athlete)
    if cursor == "edited":
        cursor = _edited(cursor_of(client.get(LIST_URL, {"page_size": 1}).json()["next"]))
    elif cursor == "foreign":  # another list's cursor (injuries: another model and ordering)
        InjuryFactory.create_batch(2, athlete=athlete)
        cursor = cursor_of(client.get("/api/v1/injuries/", {"page_size": 1}).json()["next"])
    response = client.get(LIST_URL, {"cursor": cursor})
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_cursor"


def test_a_cursor_that_is_not_utf8_is_a_400_problem(client_for, athlete):
    response = client_for(athlete).get(f"{LIST_URL}?cursor=%ED%A0%80%FF:%00")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


def test_an_empty_cursor_is_the_first_page(client_for, athlete):
    sessions(athlete, [DAY] * 2)
    response = client_for(athlete).get(LIST_URL, {"cursor": ""})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 2


# --- every list ---------------------------------------------------------------------------------
def _paginated_list_views() -> list[type]:
    def walk_patterns(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk_patterns(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                view = getattr(pattern.callback, "cls", None)
                if view and "list" in (getattr(pattern.callback, "actions", None) or {}).values():
                    yield view

    views = set(walk_patterns(get_resolver().url_patterns))
    return sorted(
        (
            v
            for v in views
            if v.pagination_class and issubclass(v.pagination_class, CursorPagination)
        ),
        key=lambda v: v.__name__,
    )


def _list_queryset(view_class: type, user) -> QuerySet:
    """What the list pages through for `user`, as the view builds it for a GET."""
    request = APIRequestFactory().get("/")
    force_authenticate(request, user=user)
    view = view_class(action_map={"get": "list"}, format_kwarg=None, args=(), kwargs={})
    view.request = view.initialize_request(request)
    return view.get_queryset()


def test_every_paginated_list_is_found():
    assert {v.__name__ for v in _paginated_list_views()} >= {
        "TrainingSessionViewSet",
        "SorenessReportViewSet",
        "MassageSessionViewSet",
        "InjuryViewSet",
        "AthleteViewSet",
        "TeamViewSet",
    }


@pytest.mark.parametrize("view", _paginated_list_views(), ids=lambda v: v.__name__)
def test_every_list_orders_by_non_null_fields_ending_in_a_unique_one(view):
    """A keyset is a total order: the last field is unique, and none is nullable (NULL compares as
    unknown, so a row with one would never come after a cursor)."""
    queryset = _list_queryset(view, UserFactory())
    ordering = view.pagination_class.ordering
    fields = [ordering_field(queryset, name.lstrip("-")) for name in ordering]
    assert all(not field.null and not field.is_relation for field in fields), ordering
    assert fields[-1].unique, ordering


# --- PostgreSQL: the list's index answers the next page ----------------------------------------
def test_next_page_is_an_index_range_scan_on_postgresql(client_for, athlete):
    """The row-value comparison is an index condition of `training_list_order`: the scan starts at
    the cursor and stops after a page, with no sort (the OR-chain SQLite gets would only filter).
    Other plans are disabled because on a test-sized table the planner rightly prefers them."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL plan")
    sessions(athlete, [DAY - timedelta(days=n % 5) for n in range(20)])
    client = client_for(athlete)
    link = client.get(LIST_URL, {"page_size": 5}).json()["next"]
    with CaptureQueriesContext(connection) as captured:
        client.get(link)
    with connection.cursor() as cursor:
        for setting in ("seqscan", "bitmapscan", "sort", "incremental_sort"):
            cursor.execute(f"SET LOCAL enable_{setting} = off")
        cursor.execute("EXPLAIN " + captured.captured_queries[0]["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Scan Backward using training_list_order" in plan, plan
    assert "Index Cond: (ROW(date, created_at, id) < ROW(" in plan, plan
    assert "Sort" not in plan, plan
