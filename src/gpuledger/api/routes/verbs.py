"""The ledger's verbs: orders, lots shipped and received, movements deployed and failed.

Each write needs a planner (or higher) of the org it touches; an org the caller
cannot see answers 404. A movement given no ``id`` gets the id its content
derives, as on the command line and in scenario files.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gpuledger.api.deps import Books, Caller, Idempotency, Key, PathId, Who, require, seen, write
from gpuledger.api.models import AcceptedOut, LotIn, MovementIn, OrderIn, ReceiveIn
from gpuledger.domain import Lot, Order, TransferKind
from gpuledger.governance.rules import Action
from gpuledger.ledger import Ledger
from gpuledger.services.books import Backend
from gpuledger.services.requests import movement_request

router = APIRouter(tags=["ledger"])


@router.post("/orders", response_model=AcceptedOut)
def order(
    request: Request, books: Books, store: Idempotency, who: Who, key: Key, body: OrderIn
) -> JSONResponse:
    """Record a purchase order line (planner of the org)."""

    def run() -> dict[str, Any]:
        require(books, who, Action.WRITE, body.org)
        o = Order(body.id, body.org, body.vendor, body.sku, body.qty, body.ordered_on)
        books.ledger.order(o, actor=who.user)
        return {"ok": True, "message": f"order {o.id}: {o.qty:,} {o.sku} for {o.org}"}

    return write(request, store, who, key, body, run)


@router.post("/lots", response_model=AcceptedOut)
def ship(
    request: Request, books: Books, store: Idempotency, who: Who, key: Key, body: LotIn
) -> JSONResponse:
    """Record a lot shipped to its consignee (planner of the consignee)."""

    def run() -> dict[str, Any]:
        require(books, who, Action.WRITE, body.consignee)
        lot = Lot(body.id, body.order, body.qty, body.ships_on, body.arrives_on, body.consignee)
        books.ledger.ship(lot, actor=who.user)
        return {"ok": True, "message": f"lot {lot.id}: {lot.qty:,} shipped to {lot.consignee}"}

    return write(request, store, who, key, body, run)


@router.post("/lots/{lot}/receive", response_model=AcceptedOut)
def receive(
    request: Request,
    books: Books,
    store: Idempotency,
    who: Who,
    key: Key,
    lot: PathId,
    body: ReceiveIn,
) -> JSONResponse:
    """Record a lot's arrival (planner of its consignee)."""

    def run() -> dict[str, Any]:
        consignee = seen(books, who).require_lot(lot, books.ledger.to_scenario())
        who.access.require(Action.WRITE, consignee)
        books.ledger.receive(lot, body.on, actor=who.user)
        return {"ok": True, "message": f"lot {lot}: received on {body.on}"}

    return write(request, store, who, key, body, run)


def _movement(op: TransferKind, post: Callable[[Ledger, Any, str], None]) -> Callable[..., Any]:
    def route(
        request: Request, books: Books, store: Idempotency, who: Who, key: Key, body: MovementIn
    ) -> JSONResponse:
        def run() -> dict[str, Any]:
            return _move(books, who, op, body, post)

        return write(request, store, who, key, body, run)

    return route


def _move(
    books: Backend,
    who: Caller,
    op: TransferKind,
    body: MovementIn,
    post: Callable[[Ledger, Any, str], None],
) -> dict[str, Any]:
    require(books, who, Action.WRITE, body.org)
    m = movement_request(
        op,
        qty=body.qty,
        on=body.on,
        org=body.org,
        lot=body.lot,
        cluster=body.cluster,
        ident=body.id,
    )
    post(books.ledger, m, who.user)
    return {"ok": True, "message": f"{op}: {m.qty:,} in {m.cluster} ({m.id})"}


router.add_api_route(
    "/movements/deploy",
    _movement(TransferKind.DEPLOY, lambda led, m, user: led.deploy(m, actor=user)),
    methods=["POST"],
    response_model=AcceptedOut,
    summary="Deploy units from an org's stock into one of its clusters",
)
router.add_api_route(
    "/movements/fail",
    _movement(TransferKind.FAIL, lambda led, m, user: led.fail(m, actor=user)),
    methods=["POST"],
    response_model=AcceptedOut,
    summary="Record deployed units that failed",
)
