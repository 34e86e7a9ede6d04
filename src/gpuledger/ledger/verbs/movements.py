"""Deploy, fail and return: units moving inside an org, or back to the vendor."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from gpuledger.domain import (
    Account,
    Bucket,
    CapacityExceeded,
    Cluster,
    DocumentKind,
    InsufficientUnits,
    LedgerError,
    Movement,
    Parameters,
    Phase,
    Site,
    Sku,
    TransferKind,
    day_start,
    ids,
)
from gpuledger.domain.power import deploy_capacity_problem
from gpuledger.domain.rules import movement_problems, refuse
from gpuledger.ledger.balances import cluster_account, org_account, vendor_account
from gpuledger.ledger.codec import from_json
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
    account lacks the units (over all time, or as of the movement's day),
    CapacityExceeded when a deploy would run its cluster's site beyond its power
    (``domain.power.deploy_capacity_problem``).
    """
    subject = f"movement {m.id!r}"
    cluster = check_movement(work, m)
    # The operation's input is the whole movement: that is its record in the
    # books (import also keeps movements as documents, for future ones).
    event_id = ids.movement_event(m.id)
    inputs = normal(m)
    if work.seen(event_id, Operation.MOVEMENT, inputs):
        return
    at, rec = day_start(m.on), recorded_at or work.now
    transfers: list[Transfer] = []
    pieces = _allocate(work, m, source_account(m))
    if m.op is TransferKind.DEPLOY and cluster is not None and cluster.site is not None:
        sku = work.lot_and_order(pieces[0][1])[1].sku
        _check_capacity(work, m, cluster.site, sku, subject)
    for n, (source, lot_id, qty) in enumerate(pieces):
        _, order = work.lot_and_order(lot_id)
        transfers.append(
            Transfer(
                ids.movement_piece(m.id, n),
                m.op,
                Phase.SINGLE,
                source,
                credit_account(m, order.vendor),
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


def check_movement(work: Work, m: Movement) -> Cluster | None:
    """A movement's own checks, before any units: its org, qty, op and cluster.

    Returns the cluster it names (None when it names none). Raises
    UnknownRecord for an org or cluster not in the books, LedgerError for a
    quantity that is not positive, an op that is not a movement, or a cluster
    that ``domain.rules.movement_problems`` refuses. The batch lane
    (``ledger.bulk``) runs these same checks.
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
    return cluster


def credit_account(m: Movement, vendor: str) -> Account:
    """The account a movement gives units to (``vendor``: the lot's order's vendor).

    deploy: the cluster's deployed; fail: the org's failed; return: the vendor's world.
    """
    if m.op is TransferKind.DEPLOY:
        return cluster_account(m.cluster or "")
    if m.op is TransferKind.FAIL:
        return org_account(m.org, Bucket.FAILED)
    return vendor_account(vendor)


def short_of(m: Movement, source: Account, found: int) -> InsufficientUnits:
    """The refusal of a movement whose source has only ``found`` of its units."""
    lot = f"lot {m.lot}" if m.lot else "any lot"
    return InsufficientUnits(
        f"movement {m.id!r}: {source} has {found} unit(s) of {lot} available; asked for {m.qty}"
    )


def _check_capacity(work: Work, m: Movement, site_id: str, sku_id: str, subject: str) -> None:
    """Refuse a deploy that the site's power cannot run, on its day or any later day.

    The days that matter are the deploy's own, each later power step (power may
    fall) and each later day on which units of the site's clusters move (a
    backdated deploy must fit beside units deployed after it).
    """
    site: Site = work.require(DocumentKind.SITE, site_id, subject, "site")
    if not site.power:
        return  # the site states no capacity
    parameters = _parameters(work)
    deploying: Sku = work.require(DocumentKind.SKU, sku_id, subject, "sku")
    accounts = [
        cluster_account(cid)
        for cid, data in work.docs_of(DocumentKind.CLUSTER.value).items()
        if data.get("site") == site_id
    ]
    books = [(a, work.lot_book(lot)) for a in accounts for lot in work.owned_lots(a.owner)]
    days = {m.on} | {step.from_date for step in site.power if step.from_date > m.on}
    for account, book in books:
        days |= {
            t.effective_at.date()
            for t in book.rows
            if account in (t.credit, t.debit) and t.effective_at.date() > m.on
        }
    for day in sorted(days):
        units: dict[str, int] = defaultdict(int)
        for account, book in books:
            held = book.held(account, day_start(day))
            if held:
                units[book.rows[0].sku] += held
        already = [(work.require(DocumentKind.SKU, s, subject, "sku"), n) for s, n in units.items()]
        problem = deploy_capacity_problem(site, deploying, m.qty, already, parameters, day)
        if problem is not None:
            raise CapacityExceeded(f"{subject} at cluster {m.cluster!r}: {problem}")


def _parameters(work: Work) -> Parameters:
    """The books' parameters: those of the latest scenario imported (defaults if none)."""
    heads = list(work.docs_of(DocumentKind.SCENARIO.value).values())
    if not heads:
        return Parameters()
    return from_json(Parameters, heads[-1]["data"]["parameters"])


def source_account(m: Movement) -> Account:
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
        raise short_of(m, source, m.qty - left)
    if len(skus) > 1:
        raise LedgerError(
            f"movement {m.id!r} names no lot and would take several SKUs "
            f"({', '.join(sorted(skus))}); name the lot"
        )
    return pieces
