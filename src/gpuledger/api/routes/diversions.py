"""Diversions: list, show, propose and decide them under the approval rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gpuledger.api.deps import (
    Books,
    Idempotency,
    Key,
    Limit,
    Offset,
    PathId,
    Who,
    page,
    seen,
    validated,
    write,
)
from gpuledger.api.models import DiversionIn, DiversionOut, DiversionsOut
from gpuledger.domain import Decision, DiversionStatus, Payback
from gpuledger.services import diversions
from gpuledger.services.requests import diversion_request

router = APIRouter(tags=["diversions"])


@router.get("/diversions", response_model=DiversionsOut)
def list_diversions(
    request: Request,
    books: Books,
    who: Who,
    status: DiversionStatus | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Diversions touching an org the caller may see, oldest first."""
    views = seen(books, who).diversions(books.ledger.diversions(status))
    rows = page(request, views, limit, offset)
    shown = diversions.reports(rows.pop("items"), who.directory)
    return {"diversions": [r.to_json() for r in shown], **rows}


@router.get("/diversions/{diversion_id}", response_model=DiversionOut)
def show(books: Books, who: Who, diversion_id: PathId) -> dict[str, Any]:
    """One diversion: status, every decision with its actor, and the approvals missing."""
    report = diversions.show(books.ledger, diversion_id, directory=who.directory, access=who.access)
    return report.to_json()


@router.post("/diversions", response_model=DiversionOut)
def propose(
    request: Request, books: Books, store: Idempotency, who: Who, key: Key, body: DiversionIn
) -> JSONResponse:
    """Propose a diversion: units reserved (pending) until the approvals are complete."""

    def run() -> dict[str, Any]:
        d = diversion_request(
            ident=body.id,
            lot=body.lot,
            qty=body.qty,
            from_org=body.from_org,
            to_org=body.to_org,
            on=body.on,
            payback=tuple(Payback(p.lot, p.qty) for p in body.payback),
            reason=body.reason,
            proposer=who.user,
        )
        report = diversions.propose(
            books.ledger, d, actor=who.user, gov=books.gov, directory=who.directory
        )
        return validated(DiversionOut, report.to_json())

    return write(request, store, who, key, body, run)


def _decision(decision: Decision) -> Callable[..., JSONResponse]:
    def route(
        request: Request, books: Books, store: Idempotency, who: Who, key: Key, diversion_id: PathId
    ) -> JSONResponse:
        def run() -> dict[str, Any]:
            report = diversions.decide(
                books.ledger,
                diversion_id,
                decision,
                actor=who.user,
                gov=books.gov,
                directory=who.directory,
            )
            return validated(DiversionOut, report.to_json())

        return write(request, store, who, key, None, run)

    return route


for _choice, _summary in (
    (Decision.APPROVE, "Approve a diversion (it posts once its approvals are complete)"),
    (Decision.REJECT, "Reject a diversion: voided, its units released"),
    (Decision.VOID, "Void a diversion (its proposer, or an admin of the giving org)"),
):
    router.add_api_route(
        f"/diversions/{{diversion_id}}/{_choice.value}",
        _decision(_choice),
        methods=["POST"],
        response_model=DiversionOut,
        summary=_summary,
        name=f"diversion_{_choice.value}",
    )
