"""Scenarios and batches into the books: many verbs in one unit of work.

``import_scenario`` records a scenario's documents, then every dated event up to
its ``as_of`` in date order, through the same verbs (and so the same rules) as
the CLI, the API and the web. ``batch`` applies a list of verbs in order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

from gpuledger.domain import (
    Decision,
    Diversion,
    DiversionStatus,
    DocumentKind,
    Lot,
    Movement,
    Order,
    Scenario,
    TransferKind,
    day_start,
    ids,
)
from gpuledger.domain.rules import lot_problems, refuse
from gpuledger.ledger import verbs
from gpuledger.ledger.approvals import RECORDED_HISTORY
from gpuledger.ledger.codec import DOCUMENT_TYPES, MOVEMENT_KIND
from gpuledger.ledger.results import Receipt
from gpuledger.ledger.verbs.diversions import proposed
from gpuledger.ledger.work import Work

SCENARIO_KIND = DocumentKind.SCENARIO.value

BatchOp = Order | Lot | Receipt | Movement | Diversion

#: Same-day order of the timeline: a lot ships, is diverted, arrives, then units move.
_RANK = {TransferKind.DEPLOY: 3, TransferKind.FAIL: 4, TransferKind.RETURN: 5}

Step = tuple[date, int, int, Callable[[], object]]


@dataclass(frozen=True)
class _Doc:
    """A document that is not a domain record (the scenario head)."""

    id: str
    data: dict[str, Any]


def import_scenario(work: Work, s: Scenario, *, actor: str) -> None:
    """Queue a scenario: documents first, then every dated event up to ``s.as_of``.

    Phases: 1. load what the books hold; 2. new document versions (a proposed
    diversion's content is fixed); 3. the timeline (ship, divert, receive,
    deploy, fail, return) in date order.
    """
    # 1. Every latest document, and the transfers of the scenario's lots.
    for kind in [*DOCUMENT_TYPES, MOVEMENT_KIND, SCENARIO_KIND]:
        work.preload_docs(str(kind))
    work.preload_lots([lot.id for lot in s.lots])
    work.preload_events(
        [i for lot in s.lots for i in work.lot_book(lot.id).ids]  # ship, receive, payback...
        + [ids.divert_event(d.id) for d in s.diversions]
        + [ids.ship_event(lot.id) for lot in s.lots]
        + [ids.movement_event(m.id) for m in s.movements]
        + [ids.payback_event(d.id, p.lot) for d in s.diversions for p in d.payback]
        + [ids.decision_event(d.id, x, actor) for d in s.diversions for x in Decision]
    )
    doc_at = day_start(s.as_of)
    # 2. Documents (skipped when unchanged), the lots checked against their orders.
    _documents(work, s, actor=actor, at=doc_at)
    _check_lots(work, s)
    # 3. The timeline up to as_of, in date order then verb order.
    for _, _, _, step in sorted(_timeline(work, s, actor, doc_at), key=lambda x: x[:3]):
        step()


def _documents(work: Work, s: Scenario, *, actor: str, at: datetime) -> None:
    head = {
        "id": s.name,
        "name": s.name,
        "as_of": s.as_of,
        "description": s.description,
        "parameters": s.parameters,
    }
    work.put_document(SCENARIO_KIND, _Doc(s.name, head), actor, at)
    groups: list[tuple[DocumentKind, Sequence[Any]]] = [
        (DocumentKind.SKU, s.skus),
        (DocumentKind.VENDOR, s.vendors),
        (DocumentKind.GROUP, s.groups),
        (DocumentKind.ORG, s.orgs),
        (DocumentKind.SITE, s.sites),
        (DocumentKind.CLUSTER, s.clusters),
        (DocumentKind.ORDER, s.orders),
        (DocumentKind.LOT, s.lots),
        (DocumentKind.TARGET, s.targets),
        (DocumentKind.CLAIM, s.claims),
    ]
    for kind, records in groups:
        for record in records:
            work.put_document(kind.value, record, actor, at)
    for d in s.diversions:
        verbs.record_diversion(work, d, actor=actor, at=at)
    for m in s.movements:
        work.put_document(MOVEMENT_KIND, m, actor, at)


def _check_lots(work: Work, s: Scenario) -> None:
    """Each lot against its order (``domain.rules.lot_problems``), in the file's order.

    The units already lotted before a lot are those of the order's lots listed
    before it, plus the order's lots in the books that the file does not list:
    the lot that goes beyond the order is the one named.
    """
    listed = {lot.id for lot in s.lots}
    before: dict[str, int] = {}
    for lot in s.lots:
        order = work.require(DocumentKind.ORDER, lot.order, f"lot {lot.id!r}", "order")
        if lot.order not in before:
            others = work.lots_of(lot.order)
            before[lot.order] = sum(q for i, q in others.items() if i not in listed)
        refuse(f"lot {lot.id!r}", lot_problems(lot, order, before[lot.order]))
        before[lot.order] += lot.qty


def _timeline(work: Work, s: Scenario, actor: str, doc_at: datetime) -> list[Step]:
    """Every dated event of the scenario up to its ``as_of``, as (day, rank, index, step)."""
    steps: list[Step] = []
    for i, lot in enumerate(s.lots):
        if lot.ships_on <= s.as_of:
            rec = day_start(lot.ships_on)
            steps.append(
                (lot.ships_on, 0, i, partial(verbs.ship, work, lot, actor=actor, recorded_at=rec))
            )
        if lot.arrives_on <= s.as_of:
            rec = day_start(lot.arrives_on)
            receive = partial(
                verbs.receive, work, lot.id, lot.arrives_on, actor=actor, recorded_at=rec
            )
            steps.append((lot.arrives_on, 2, i, receive))
    for i, d in enumerate(s.diversions):
        if d.on <= s.as_of:
            steps.append((d.on, 1, i, partial(_diversion, work, d, actor, doc_at)))
    for i, m in enumerate(s.movements):
        if m.on <= s.as_of:
            rec = day_start(m.known_on or m.on)
            move = partial(verbs.movement, work, m, actor=actor, recorded_at=rec)
            steps.append((m.on, _RANK.get(m.op, 6), i, move))
    return steps


def _diversion(work: Work, d: Diversion, actor: str, doc_at: datetime) -> None:
    """A diversion of the file: proposed, then posted or voided as the file says.

    A diversion the import proposes itself is history the file records
    (``RECORDED_HISTORY``); one already pending in the books is decided
    through the books' own approval policy, never by the import's say-so.
    """
    rec = day_start(d.known_on or d.on)
    fresh = not proposed(work, d.id)
    verbs.propose(
        work,
        d,
        actor=d.proposed_by or actor,
        policy=RECORDED_HISTORY,
        doc_at=doc_at,
        recorded_at=rec,
    )
    decision = {DiversionStatus.POSTED: Decision.APPROVE, DiversionStatus.VOIDED: Decision.VOID}
    if d.status in decision:
        policy = RECORDED_HISTORY if fresh else work.approvals
        verbs.decide(work, d.id, decision[d.status], actor=actor, policy=policy, recorded_at=rec)


def batch(work: Work, ops: Sequence[BatchOp], *, actor: str) -> None:
    """Queue many verbs in order: orders, lots (ship), receipts, movements, diversions (propose).

    Proposals go through the books' approval policy, as ``propose_diversion`` does.
    """
    lots = {op.id for op in ops if isinstance(op, Lot)}
    lots |= {op.lot for op in ops if isinstance(op, Receipt)}
    lots |= {op.lot for op in ops if isinstance(op, Movement) and op.lot}
    lots |= {op.lot for op in ops if isinstance(op, Diversion)}
    lot_docs = {op.id: op for op in ops if isinstance(op, Lot)}
    work.preload_docs(DocumentKind.LOT.value, lots)
    known = {i: doc[1]["order"] for i in lots if (doc := work.doc(DocumentKind.LOT.value, i))}
    orders = {op.order for op in lot_docs.values()} | set(known.values())
    orders |= {op.id for op in ops if isinstance(op, Order)}
    work.preload_docs(DocumentKind.ORDER.value, orders)
    work.preload_lots(lots)
    work.preload_events(
        [ids.ship_event(op.id) for op in ops if isinstance(op, Lot)]
        + [ids.movement_event(op.id) for op in ops if isinstance(op, Movement)]
        + [ids.divert_event(op.id) for op in ops if isinstance(op, Diversion)]
    )
    for op in ops:
        if isinstance(op, Order):
            verbs.order(work, op, actor=actor)
        elif isinstance(op, Lot):
            work.put_document(DocumentKind.LOT.value, op, actor, work.now)
            verbs.ship(work, op, actor=actor)
        elif isinstance(op, Receipt):
            verbs.receive(work, op.lot, op.on, actor=actor)
        elif isinstance(op, Movement):
            verbs.movement(work, op, actor=actor)
        else:
            verbs.propose(work, op, actor=actor, policy=work.approvals, doc_at=work.now)
