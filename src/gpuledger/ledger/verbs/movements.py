"""Deploy, fail and return: units moving inside an org, or back to the vendor."""

from __future__ import annotations

from datetime import datetime

from gpuledger.domain import (
    Account,
    Bucket,
    Cluster,
    DocumentKind,
    InsufficientUnits,
    LedgerError,
    Movement,
    Phase,
    TransferKind,
    day_start,
    ids,
)
from gpuledger.domain.rules import movement_problems, refuse
from gpuledger.ledger.balances import cluster_account, org_account, vendor_account
from gpuledger.ledger.idempotency import normal
from gpuledger.ledger.results import Operation, Transfer
from gpuledger.ledger.work import Work

#: deploy: org stock -> cluster deployed; fail: cluster deployed -> org failed;
#: return: org failed -> vendor world.
_MOVES = (TransferKind.DEPLOY, TransferKind.FAIL, TransferKind.RETURN)


def movement(work: Work, m: Movement, *, actor: str, recorded_at: datetime | None = None) -> None:
    """Deploy, fail or return units (first-shipped lots first when the movement names none).

    The movement's cluster is checked with ``domain.rules.movement_problems``
    (a deploy or fail names one, of the movement's org). Raises UnknownRecord
    for an org or cluster not in the books, InsufficientUnits when the source
    account lacks the units (over all time, or as of the movement's day).
    """
    subject = f"movement {m.id!r}"
    work.require(DocumentKind.ORG, m.org, subject, "org")
    if m.qty <= 0:
        raise LedgerError(f"{subject}: quantity must be positive, got {m.qty}")
    if m.op not in _MOVES:
        raise LedgerError(f"{subject}: op {m.op.value!r} is not deploy, fail or return")
    cluster: Cluster | None = None
    if m.cluster is not None:
        cluster = work.require(DocumentKind.CLUSTER, m.cluster, subject, "cluster")
    refuse(subject, movement_problems(m, cluster))
    # The operation's input is the whole movement: that is its record in the
    # books (import also keeps movements as documents, for future ones).
    event_id = ids.movement_event(m.id)
    inputs = normal(m)
    if work.seen(event_id, Operation.MOVEMENT, inputs):
        return
    at, rec = day_start(m.on), recorded_at or work.now
    transfers: list[Transfer] = []
    for n, (source, lot_id, qty) in enumerate(_allocate(work, m, _source(m))):
        _, order = work.lot_and_order(lot_id)
        if m.op is TransferKind.DEPLOY:
            credit = cluster_account(m.cluster or "")
        elif m.op is TransferKind.FAIL:
            credit = org_account(m.org, Bucket.FAILED)
        else:
            credit = vendor_account(order.vendor)
        transfers.append(
            Transfer(
                ids.movement_piece(m.id, n),
                m.op,
                Phase.SINGLE,
                source,
                credit,
                order.sku,
                lot_id,
                qty,
                at,
                rec,
            )
        )
    work.emit(
        event_id,
        Operation.MOVEMENT,
        inputs,
        transfers,
        actor=actor,
        effective_at=at,
        recorded_at=rec,
    )


def _source(m: Movement) -> Account:
    """The account a movement takes units from."""
    if m.op is TransferKind.DEPLOY:
        return org_account(m.org, Bucket.STOCK)
    if m.op is TransferKind.FAIL:
        return cluster_account(m.cluster or "")
    return org_account(m.org, Bucket.FAILED)


def _allocate(work: Work, m: Movement, source: Account) -> list[tuple[Account, str, int]]:
    """Take ``m.qty`` units from ``source``, of ``m.lot`` or of first-shipped lots first."""
    left = m.qty
    pieces: list[tuple[Account, str, int]] = []
    skus: set[str] = set()
    for lot_id in [m.lot] if m.lot else work.owned_lots(source.owner):
        if left == 0:
            break
        take = min(left, work.lot_book(lot_id).available(source))
        if take > 0:
            pieces.append((source, lot_id, take))
            skus.add(work.lot_and_order(lot_id)[1].sku)
            left -= take
    if left:
        lot = f"lot {m.lot}" if m.lot else "any lot"
        raise InsufficientUnits(
            f"movement {m.id!r}: {source} has {m.qty - left} unit(s) of {lot} available; "
            f"asked for {m.qty}"
        )
    if len(skus) > 1:
        raise LedgerError(
            f"movement {m.id!r} names no lot and would take several SKUs "
            f"({', '.join(sorted(skus))}); name the lot"
        )
    return pieces
