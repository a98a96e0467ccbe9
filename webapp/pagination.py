"""Every list is paginated: cursors for the API (stable under inserts, no COUNT), numbered pages for the UI.

Nothing is cut silently: a list answers one page and says where the next one is (``next`` in the API, the
pager under an HTML table). The page size is the caller's choice, bounded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

API_PAGE_SIZE = 50
API_MAX_PAGE_SIZE = 500
HTML_PAGE_SIZE = 50
HTML_MAX_PAGE_SIZE = 200

M = TypeVar("M", bound=Model)


class _Cursor(CursorPagination):
    page_size = API_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = API_MAX_PAGE_SIZE
    cursor_query_param = "cursor"

    def __init__(self, ordering: Sequence[str]) -> None:
        self.ordering = tuple(ordering)

    def get_ordering(self, request: Any, queryset: Any, view: Any) -> tuple[str, ...]:
        return tuple(self.ordering)


def api_page(
    *,
    request: Request,
    view: APIView,
    queryset: QuerySet[M],
    ordering: Sequence[str],
    present: Callable[[list[M]], list[Any]],
    extra: dict[str, Any] | None = None,
) -> Response:
    """One page of ``queryset`` in ``ordering`` (unique enough to resume from: end it with a unique field),
    as ``{"results": [...], "next": url|null, "previous": url|null}``. ``present`` turns the page's rows into
    JSON all at once, so it can fetch what the rows need in a fixed number of queries."""
    pager = _Cursor(ordering)
    rows = pager.paginate_queryset(queryset, request, view) or []
    body: dict[str, Any] = {
        "results": present(list(rows)),
        "next": pager.get_next_link(),
        "previous": pager.get_previous_link(),
    }
    body.update(extra or {})
    return Response(body)


@dataclass(frozen=True, slots=True)
class HtmlPage:
    """What the pager under a table needs (``templates/_pager.html``)."""

    items: list[Any]
    number: int
    pages: int
    count: int
    per_page: int
    query: str  # the request's other parameters, to keep the filters (and other tables' pages)
    param: str = "page"  # the query parameter that numbers this table's pages

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def previous_number(self) -> int:
        return self.number - 1

    @property
    def next_number(self) -> int:
        return self.number + 1

    @property
    def first_index(self) -> int:
        return 0 if not self.count else (self.number - 1) * self.per_page + 1

    @property
    def last_index(self) -> int:
        return min(self.number * self.per_page, self.count)


def _per_page(request: HttpRequest, default: int) -> int:
    try:
        wanted = int(request.GET.get("per_page", default))
    except ValueError:
        return default
    return max(1, min(wanted, HTML_MAX_PAGE_SIZE))


def html_page(
    request: HttpRequest,
    queryset: QuerySet[M] | Sequence[Any],
    *,
    per_page: int = HTML_PAGE_SIZE,
    param: str = "page",
) -> HtmlPage:
    """Page ``?page=N`` of ``queryset`` (a past-the-end or malformed number gives the last or first page).
    Several tables on one page each take their own ``param``."""
    size = _per_page(request, per_page)
    paginator = Paginator(queryset, size)
    try:
        page = paginator.page(request.GET.get(param, 1))
    except PageNotAnInteger:
        page = paginator.page(1)
    except EmptyPage:
        page = paginator.page(paginator.num_pages)
    params = request.GET.copy()
    params.pop(param, None)
    return HtmlPage(
        items=list(page.object_list),
        number=page.number,
        pages=paginator.num_pages,
        count=paginator.count,
        per_page=size,
        query=params.urlencode(),
        param=param,
    )
