"""The ledger's verbs: order, ship, receive, deploy, fail, and reverse (a correction).

A deploy or fail given no ``--id`` gets the id its content derives
(``services.requests.movement_request``), the same as in a scenario file, so
the same movement typed twice, or typed and imported, is recorded once.
"""

from __future__ import annotations

from typing import Annotated

import typer

from gpuledger.cli._common import SETTINGS, argument, books, print_json, say, value
from gpuledger.domain import Lot, Order, TransferKind
from gpuledger.services import requests as rq

OrgOption = Annotated[str, value("ORG", "The org.")]
QtyOption = Annotated[str, value("QTY", "Units (a whole number, 1 or more).")]
IdOption = Annotated[
    str | None, value("ID", "Idempotency id (default: derived from the content).", "--id")
]


def order(
    order_id: Annotated[str, argument("ID")],
    org: Annotated[str, value("ORG", "The ordering org.")],
    vendor: Annotated[str, value("VENDOR", "The vendor.")],
    sku: Annotated[str, value("SKU", "The SKU ordered.")],
    qty: QtyOption,
    on: Annotated[str, value("DATE", "Order date.")],
) -> None:
    """Record a purchase order line."""
    o = Order(
        rq.parse_id(order_id, "ID"),
        rq.parse_id(org, "--org"),
        rq.parse_id(vendor, "--vendor"),
        rq.parse_id(sku, "--sku"),
        rq.parse_qty(qty, "--qty"),
        rq.parse_date(on, "--on"),
    )
    with books() as ledger:
        ledger.order(o, actor=SETTINGS.actor)
    say(f"order {o.id}: {o.qty:,} {o.sku} for {o.org}")


def ship(
    lot: Annotated[str, argument("LOT")],
    order_id: Annotated[str, value("ORDER", "The order the lot ships against.", "--order")],
    qty: QtyOption,
    on: Annotated[str, value("DATE", "Ship date.")],
    arrives: Annotated[str, value("DATE", "Expected arrival date.")],
    to: Annotated[str, value("ORG", "Consignee org.")],
) -> None:
    """Record a lot shipped against an order (vendor -> consignee in transit)."""
    shipped = Lot(
        rq.parse_id(lot, "LOT"),
        rq.parse_id(order_id, "--order"),
        rq.parse_qty(qty, "--qty"),
        rq.parse_date(on, "--on"),
        rq.parse_date(arrives, "--arrives"),
        rq.parse_id(to, "--to"),
    )
    with books() as ledger:
        ledger.ship(shipped, actor=SETTINGS.actor)
    say(f"lot {shipped.id}: {shipped.qty:,} shipped to {shipped.consignee}")


def receive(
    lot: Annotated[str, argument("LOT")],
    on: Annotated[str, value("DATE", "Arrival date.")],
) -> None:
    """Record a lot's arrival (in transit -> stock, for every org holding part of it)."""
    lot_id, day = rq.parse_id(lot, "LOT"), rq.parse_date(on, "--on")
    with books() as ledger:
        ledger.receive(lot_id, day, actor=SETTINGS.actor)
    say(f"lot {lot_id}: received")


def deploy(
    lot: Annotated[str, argument("LOT")],
    qty: QtyOption,
    org: OrgOption,
    cluster: Annotated[str, value("CLUSTER", "The org's cluster.")],
    on: Annotated[str, value("DATE", "Deploy date.")],
    movement_id: IdOption = None,
) -> None:
    """Deploy units of a lot from an org's stock into one of its clusters."""
    m = rq.movement_request(
        TransferKind.DEPLOY,
        qty=rq.parse_qty(qty, "--qty"),
        on=rq.parse_date(on, "--on"),
        org=rq.parse_id(org, "--org"),
        lot=rq.parse_id(lot, "LOT"),
        cluster=rq.parse_id(cluster, "--cluster"),
        ident=None if movement_id is None else rq.parse_id(movement_id, "--id"),
    )
    with books() as ledger:
        ledger.deploy(m, actor=SETTINGS.actor)
    say(f"deployed {m.qty:,} of {m.lot} to {m.cluster} ({m.id})")


def fail(
    qty: QtyOption,
    org: OrgOption,
    cluster: Annotated[str, value("CLUSTER", "The cluster where the units failed.")],
    on: Annotated[str, value("DATE", "Failure date.")],
    lot: Annotated[str | None, value("LOT", "The lot the units came from.")] = None,
    movement_id: IdOption = None,
) -> None:
    """Record deployed units that failed (cluster -> org's failed bucket)."""
    m = rq.movement_request(
        TransferKind.FAIL,
        qty=rq.parse_qty(qty, "--qty"),
        on=rq.parse_date(on, "--on"),
        org=rq.parse_id(org, "--org"),
        lot=None if lot is None else rq.parse_id(lot, "--lot"),
        cluster=rq.parse_id(cluster, "--cluster"),
        ident=None if movement_id is None else rq.parse_id(movement_id, "--id"),
    )
    with books() as ledger:
        ledger.fail(m, actor=SETTINGS.actor)
    say(f"failed {m.qty:,} in {m.cluster} ({m.id})")


def reverse(
    transfer: Annotated[str, argument("TRANSFER", "The transfer's id (see trace --json).")],
    reason: Annotated[str, value("TEXT", "Why (recorded on the reversal's event).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the reversal as JSON.")] = False,
) -> None:
    """Reverse a posted transfer: a new transfer moves the units back; the original stays."""
    from gpuledger.services.corrections import reverse as reverse_transfer

    ident = rq.parse_id(transfer, "TRANSFER")
    why = rq.parse_text(reason, "--reason")
    with books() as ledger:
        done = reverse_transfer(ledger, ident, reason=why, actor=SETTINGS.actor)
    if as_json:
        print_json(done.to_json())
        return
    say(
        f"transfer {done.transfer} reversed by {done.reversal}: {done.qty:,} {done.sku} of "
        f"{done.lot} back from {done.debit} to {done.credit}"
    )
