from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    """Cursor paging on the primary key: no COUNT(*), constant cost at any depth."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 1000
