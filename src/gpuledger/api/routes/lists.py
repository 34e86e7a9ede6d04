"""Lists of the books' records, a page at a time: ``gpuledger list <kind> --format json``.

``GET /lists/{kind}`` for every kind of :class:`~gpuledger.domain.enums.ListKind`,
and the same list at ``/orgs``, ``/orders``, ``/lots`` and ``/targets`` (the
paths ``/claims`` and ``/diversions`` answer the claims check and the diversions
with their approvals). Filters and visibility are ``services.lists``'.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BeforeValidator, create_model

from gpuledger.api.deps import Books, Limit, Offset, OrgFilter, Who, day, page, seen
from gpuledger.api.models import Page
from gpuledger.api.schemas import model_of
from gpuledger.domain.enums import ListKind
from gpuledger.domain.limits import DATE_MAX, DATE_MIN, ID_MAX_LEN
from gpuledger.services import lists

router = APIRouter(tags=["lists"])

API_NAMES = {"org": "org", "sku": "sku", "status": "status", "start": "from", "end": "to"}
SHORT_PATHS = (ListKind.ORGS, ListKind.ORDERS, ListKind.LOTS, ListKind.TARGETS)

SkuFilter = Annotated[
    str | None, Query(min_length=1, max_length=ID_MAX_LEN, description="Only this SKU.")
]
StatusFilter = Annotated[
    str | None, Query(min_length=1, max_length=40, description="Only rows of this status.")
]
From = Annotated[
    date | None,
    BeforeValidator(day),
    Query(alias="from", ge=DATE_MIN, le=DATE_MAX, description="From this date (inclusive)."),
]
To = Annotated[
    date | None,
    BeforeValidator(day),
    Query(alias="to", ge=DATE_MIN, le=DATE_MAX, description="To this date (inclusive)."),
]


def _route(kind: ListKind) -> Callable[..., dict[str, Any]]:
    def route(
        request: Request,
        books: Books,
        who: Who,
        org: OrgFilter = None,
        sku: SkuFilter = None,
        status: StatusFilter = None,
        start: From = None,
        end: To = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        query = lists.parse_query(
            kind, org=org, sku=sku, status=status, start=start, end=end, names=API_NAMES
        )
        result = lists.list_records(books.ledger, query, seen(books, who))
        return {"kind": str(kind), **page(request, result.rows(), limit, offset)}

    route.__doc__ = f"The {kind} the caller sees; filters: {lists.describe_filters(kind)}."
    return route


for _kind in ListKind:
    _row: Any = model_of(lists.ROW_TYPES[_kind])  # type: ignore[arg-type]  # a class is hashable
    _model = create_model(
        f"{str(_kind).capitalize()}List",
        __base__=Page,
        kind=(str, ...),
        items=(list[_row], ...),
    )
    _paths = [f"/lists/{_kind}"] + ([f"/{_kind}"] if _kind in SHORT_PATHS else [])
    for _path in _paths:
        router.add_api_route(
            _path,
            _route(_kind),
            methods=["GET"],
            response_model=_model,
            summary=f"List {_kind}",
        )
