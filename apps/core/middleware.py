"""Request guards that hold for every view, so no single view can forget them."""

from __future__ import annotations

import re

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found as html_page_not_found

# The largest value a database id (a signed 64-bit integer: PostgreSQL bigint, SQLite INTEGER) can hold.
# A larger number in a filter made SQLite raise OverflowError (a 500) and PostgreSQL a DataError.
ID_MAX = 2**63 - 1
_INTEGER = re.compile(r"^[+-]?\d+$")


def integer_out_of_range(value: str) -> bool:
    """True when ``value`` is written as an integer that no database id can hold."""
    value = value.strip()
    return bool(_INTEGER.match(value)) and (len(value) > 20 or abs(int(value)) > ID_MAX)


class IntegerBoundsMiddleware:
    """Refuse integers outside the database's range before any view turns them into a query.

    A query parameter (or one item of a comma-separated list) that is such an integer gets a 400 with a
    sentence; an id in the URL path that large cannot name anything, so it is a 404.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        for name, values in request.GET.lists():
            for value in values:
                if any(integer_out_of_range(part) for part in value.split(",")):
                    return JsonResponse(
                        {
                            "detail": f"The value of {name[:64]!r} is too large: numbers in a request "
                            f"may be at most {ID_MAX}."
                        },
                        status=400,
                    )
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if any(isinstance(v, int) and not -ID_MAX <= v <= ID_MAX for v in [*view_args, *view_kwargs.values()]):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": "Not found."}, status=404)
            raise Http404("No such page.")
        return None


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 for URLs no route matches: JSON with a sentence under /api/ (as every API error), HTML elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found: no API operation has this path."}, status=404)
    return html_page_not_found(request, exception)
