"""Orders, shipments and receipts."""

from __future__ import annotations

from datetime import date, datetime

from gpuledger.domain import (
    Bucket,
    Diversion,
    DiversionStatus,
    DocumentKind,
    IdempotencyConflict,
    InvalidTransition,
    LedgerError,
    Lot,
    Order,
    OwnerKind,
    Phase,
    TransferKind,
    UnknownRecord,
    day_start,
    ids,
)
from gpuledger.domain.rules import lot_problems, refuse
from gpuledger.ledger.balances import org_account, vendor_account
from gpuledger.ledger.results import Operation, Transfer
from gpuledger.ledger.verbs.diversions import payback
from gpuledger.ledger.work import Work


def order(work: Work, o: Order, *, actor: str) -> None:
    """Record an order (a versioned document) once its org, vendor and SKU exist.

    Raises UnknownRecord naming the field (org, vendor or sku) that refers to
    nothing, LedgerError when the quantity is not positive, IdempotencyConflict
    when the id is another org's order (an order never changes org).
    """
    subject = f"order {o.id!r}"
    prior = work.doc(DocumentKind.ORDER.value, o.id)
    if prior is not None and prior[1]["org"] != o.org:
        # Said without naming the owner: the caller may not see it.
        raise IdempotencyConflict(
            f"{subject} is already an order of another org; an order never changes org: "
            "use a new id"
        )
    work.require(DocumentKind.ORG, o.org, subject, "org")
    work.require(DocumentKind.VENDOR, o.vendor, subject, "vendor")
    work.require(DocumentKind.SKU, o.sku, subject, "sku")
    if o.qty <= 0:
        raise LedgerError(f"{subject}: quantity must be positive, got {o.qty}")
    work.put_document(DocumentKind.ORDER.value, o, actor, work.now)


def check_consignee(work: Work, lot: Lot) -> None:
    """UnknownRecord unless the lot's order is an order of its consignee.

    A verb ships only against the consignee's own orders. The refusal reads
    as if the order did not exist, so it says nothing of another org's orders.
    (Scenario files may consign a lot to another org: their import is
    authorized record by record instead.)
    """
    found = work.doc(DocumentKind.ORDER.value, lot.order)
    if found is None or work.doc(DocumentKind.ORG.value, lot.consignee) is None:
        return  # the verb names the missing order or consignee itself
    if found[1]["org"] != lot.consignee:
        raise UnknownRecord(
            f"lot {lot.id!r}: order {lot.order!r} is not in the ledger (no order of "
            f"{lot.consignee!r} with that id); import or add it first"
        )


def ship(work: Work, lot: Lot, *, actor: str, recorded_at: datetime | None = None) -> None:
    """Post a lot's shipment (vendor/world -> consignee/in_transit), then due paybacks.

    Raises UnknownRecord naming the field (order or consignee) that refers to
    nothing; LedgerError when the lot breaks a rule of its order
    (``domain.rules.lot_problems``: beyond what the order has left, shipping
    before the order was placed, arriving before it ships).
    """
    subject = f"lot {lot.id!r}"
    o: Order = work.require(DocumentKind.ORDER, lot.order, subject, "order")
    work.require(DocumentKind.ORG, lot.consignee, subject, "consignee")
    if lot.qty <= 0:
        raise LedgerError(f"{subject}: quantity must be positive, got {lot.qty}")
    event_id = ids.ship_event(lot.id)
    inputs = {
        "lot": lot.id,
        "order": lot.order,
        "qty": lot.qty,
        "ships_on": lot.ships_on.isoformat(),
        "consignee": lot.consignee,
    }
    if not work.seen(event_id, Operation.SHIP, inputs, work.lot_book(lot.id)):
        refuse(subject, lot_problems(lot, o, work.lotted(o.id, without=lot.id)))
        at, rec = day_start(lot.ships_on), recorded_at or work.now
        t = Transfer(
            event_id,
            TransferKind.SHIP,
            Phase.SINGLE,
            vendor_account(o.vendor),
            org_account(lot.consignee, Bucket.IN_TRANSIT),
            o.sku,
            lot.id,
            lot.qty,
            at,
            rec,
        )
        work.emit(
            event_id, Operation.SHIP, inputs, [t], actor=actor, effective_at=at, recorded_at=rec
        )
    _paybacks_due(work, lot.id, actor=actor, recorded_at=recorded_at)


def _paybacks_due(work: Work, lot_id: str, *, actor: str, recorded_at: datetime | None) -> None:
    """Pay back, from a lot that just shipped, every posted diversion that names it."""
    for diversion_id in work.payback_index().get(lot_id, ()):
        if work.status(diversion_id) is DiversionStatus.POSTED:
            d: Diversion = work.record(DocumentKind.DIVERSION, diversion_id)
            for p in d.payback:
                if p.lot == lot_id:
                    payback(work, d, p, actor=actor, recorded_at=recorded_at)


def receive(
    work: Work, lot_id: str, on: date, *, actor: str, recorded_at: datetime | None = None
) -> int:
    """Receive a lot: each org holding part of it in transit moves it to stock.

    Returns the units received. Units reserved by a pending diversion cannot
    arrive: decide the diversion first (InvalidTransition). An org whose part
    came to it in transit after ``on`` cannot receive it on ``on``
    (InsufficientUnits naming the day).
    """
    book = work.lot_book(lot_id)
    ship_row = book.find(ids.ship_event(lot_id))
    if ship_row is None:
        work.record(DocumentKind.LOT, lot_id)
        raise LedgerError(f"lot {lot_id!r} has not shipped; it cannot be received")
    at = day_start(on)
    if at < ship_row.effective_at:
        raise LedgerError(f"lot {lot_id!r} cannot arrive on {on}, before it shipped")
    holders = sorted(
        {
            t.credit
            for t in book.rows
            if t.credit.bucket is Bucket.IN_TRANSIT and t.credit.owner_kind is OwnerKind.ORG
        }
    )
    received = 0
    for account in holders:
        event_id = ids.receive_event(lot_id, account.owner)
        inputs = {"lot": lot_id, "org": account.owner_id, "on": on.isoformat()}
        if work.seen(event_id, Operation.RECEIVE, inputs, book):
            continue
        reserved = book.reserved(account)
        if reserved:
            pending = sorted(
                p.diversion or p.id for p in book.open_pending.values() if p.debit == account
            )
            raise InvalidTransition(
                f"lot {lot_id!r} cannot be received by {account.owner}: {reserved} unit(s) "
                f"in transit are reserved by pending diversion(s) {', '.join(pending)}; "
                "approve or void them first"
            )
        qty = book.available(account)
        if qty <= 0:
            continue
        rec = recorded_at or work.now
        t = Transfer(
            event_id,
            TransferKind.RECEIVE,
            Phase.SINGLE,
            account,
            org_account(account.owner_id, Bucket.STOCK),
            ship_row.sku,
            lot_id,
            qty,
            at,
            rec,
        )
        work.emit(
            event_id, Operation.RECEIVE, inputs, [t], actor=actor, effective_at=at, recorded_at=rec
        )
        received += qty
    return received
