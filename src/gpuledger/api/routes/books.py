"""Reading the books: balances and a lot's trace."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from gpuledger.api.deps import Books, Day, Limit, Offset, PathId, Who, page, seen
from gpuledger.api.models import BalancesOut, TraceOut
from gpuledger.services.books import balances_report, trace

router = APIRouter(tags=["ledger"])


@router.get("/balances", response_model=BalancesOut)
def balances(
    request: Request,
    books: Books,
    who: Who,
    as_of: Day = None,
    known_on: Day = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Units per account (the caller's orgs and their clusters), posted and pending.

    Vendors' world accounts sum over every org: only a caller who sees every
    org in the books gets them (and then the same rows as ``gpuledger balances``).
    """
    report = balances_report(books.ledger, as_of, known_on, seen(books, who)).to_json()
    rows = page(request, report.pop("balances"), limit, offset)
    return {**report, "balances": rows.pop("items"), **rows}


@router.get("/lots/{lot}/trace", response_model=TraceOut)
def lot_trace(
    books: Books, who: Who, lot: PathId, as_of: Day = None, known_on: Day = None
) -> dict[str, Any]:
    """Where every unit of a lot went, transfer by transfer (the consignee's callers)."""
    return trace(books.ledger, lot, as_of, known_on, seen(books, who)).as_json()
