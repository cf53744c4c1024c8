"""Keyset (cursor) pagination for every list: a deep page costs what the first one does (no OFFSET,
no COUNT(*)), and rows inserted while a phone pages through never shift or repeat items."""

from __future__ import annotations

from rest_framework import pagination

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class CursorPagination(pagination.CursorPagination):
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = ("-created_at", "-id")


def ordered_by(*fields: str) -> type[CursorPagination]:
    """Cursor pagination over `fields`; end with a unique field so the order is total and stable."""
    return type(
        f"CursorPagination_{'_'.join(f.strip('-') for f in fields)}",
        (CursorPagination,),
        {"ordering": fields},
    )
