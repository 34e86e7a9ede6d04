"""Scenarios and batches into the books: many verbs in one unit of work.

``import_scenario`` records a scenario's documents, then every dated event up to
its ``as_of`` in date order, through the same verbs (and so the same rules) as
the CLI, the API and the web. ``batch`` applies a list of verbs in order.

Before anything is queued, the import hands its :class:`ImportAuthority` an
:class:`ImportPlan` (every record it creates or versions, with the orgs owning
the current version and the new one) inside the write transaction; governance
decides who may do that (``gpuledger.governance.imports``). Books with users
refuse an import given no authority (:data:`OPEN_BOOKS` fails closed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import partial
from typing import Any, Protocol

from sqlalchemy import Connection

from gpuledger.domain import (
    Decision,
    Diversion,
    DiversionStatus,
    DocumentKind,
    Lot,
    Movement,
    Order,
    PermissionDenied,
    Scenario,
    TransferKind,
    day_start,
    ids,
)
from gpuledger.domain.rules import lot_problems, refuse
from gpuledger.ledger import bulk, verbs
from gpuledger.ledger.approvals import RECORDED_HISTORY, has_users
from gpuledger.ledger.codec import DOCUMENT_TYPES, MOVEMENT_KIND, content_hash
from gpuledger.ledger.idempotency import normal
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


@dataclass(frozen=True)
class RecordChange:
    """One record an import creates or versions (an unchanged one is not a change).

    ``owners_before``: the orgs owning the current version (empty for a new
    record); ``owners_after``: those owning the file's version; ``shared``: a
    record every org shares (SKU, vendor, group, the scenario parameters);
    ``existed``: the books hold a version already (so this one replaces it).
    """

    kind: str
    id: str
    owners_before: frozenset[str]
    owners_after: frozenset[str]
    shared: bool = False
    existed: bool = False


@dataclass(frozen=True)
class StatedDiversion:
    """A diversion of the file: the status it states, the one the books hold, its proposer."""

    id: str
    from_org: str
    stated: DiversionStatus
    held: DiversionStatus | None
    proposed_by: str | None


@dataclass(frozen=True)
class ImportPlan:
    """What an import would do to the books, for its authority to admit or refuse.

    ``named_orgs``: every org a record of the file belongs to or names, changed
    or not (the import ships, receives and moves their units); ``org_groups``:
    the group of each org after the import.
    """

    scenario: str
    actor: str
    named_orgs: frozenset[str]
    org_groups: Mapping[str, str | None]
    changes: tuple[RecordChange, ...]
    diversions: tuple[StatedDiversion, ...]


class ImportAuthority(Protocol):
    """Admits an import, under the write lock, or raises :class:`PermissionDenied`."""

    def review(self, conn: Connection, plan: Callable[[], ImportPlan]) -> None:
        """Refuse (PermissionDenied) a plan the importer may not carry out.

        ``plan`` builds the :class:`ImportPlan` when called (it costs a pass
        over every record of the file, which books without users never need).
        """
        ...


class OpenBooks:
    """Books without users: a single person's working copy, where any import is theirs.

    With a user in the books it refuses every import (fail closed): who may
    import what is then for governance to decide.
    """

    def review(self, conn: Connection, plan: Callable[[], ImportPlan]) -> None:
        """Admit the plan on books without users; refuse it on books with users."""
        if has_users(conn):
            raise PermissionDenied(
                f"scenario {plan().scenario!r}: these books have users, so an import needs the "
                "governance rules (gpuledger.governance.imports)"
            )


#: The authority of an import given none: the working copy's (fails closed with users).
OPEN_BOOKS = OpenBooks()

#: The org field of each kind of record an org owns (a target's consumer may be a cluster).
_OWNER_FIELD = {
    DocumentKind.ORG.value: "id",
    DocumentKind.CLUSTER.value: "org",
    DocumentKind.ORDER.value: "org",
    DocumentKind.LOT.value: "consignee",
    DocumentKind.TARGET.value: "consumer",
    DocumentKind.CLAIM.value: "org",
    DocumentKind.DIVERSION.value: "from_org",
    MOVEMENT_KIND: "org",
}
_SHARED = frozenset({DocumentKind.SKU.value, DocumentKind.VENDOR.value, DocumentKind.GROUP.value})
#: The pseudo-kind of the scenario-wide parameters (a shared record).
PARAMETERS_KIND = "parameters"


def import_plan(work: Work, s: Scenario, *, actor: str) -> ImportPlan:
    """Every record ``s`` creates or versions, with its owners before and after.

    Expects the documents preloaded. Unchanged records are not changes, but
    the orgs they belong to are named (the import acts on their units).
    """
    clusters_before = {
        i: str(d["org"]) for i, d in work.docs_of(DocumentKind.CLUSTER.value).items()
    }
    clusters_after = {**clusters_before, **{c.id: c.org for c in s.clusters}}

    def owners(kind: str, data: Mapping[str, Any], clusters: Mapping[str, str]) -> frozenset[str]:
        field = _OWNER_FIELD.get(kind)
        if field is None:
            return frozenset()
        org = str(data[field])
        if kind == DocumentKind.DIVERSION.value:
            return frozenset({org})
        return frozenset({clusters.get(org, org) if kind == DocumentKind.TARGET.value else org})

    records: list[tuple[str, Any]] = [
        *((DocumentKind.SKU.value, r) for r in s.skus),
        *((DocumentKind.VENDOR.value, r) for r in s.vendors),
        *((DocumentKind.GROUP.value, r) for r in s.groups),
        *((DocumentKind.ORG.value, r) for r in s.orgs),
        *((DocumentKind.CLUSTER.value, r) for r in s.clusters),
        *((DocumentKind.ORDER.value, r) for r in s.orders),
        *((DocumentKind.LOT.value, r) for r in s.lots),
        *((DocumentKind.TARGET.value, r) for r in s.targets),
        *((DocumentKind.CLAIM.value, r) for r in s.claims),
        *((DocumentKind.DIVERSION.value, r) for r in s.diversions),
        *((MOVEMENT_KIND, r) for r in s.movements),
    ]
    named: set[str] = {o.id for o in s.orgs} | {d.to_org for d in s.diversions}
    changes: list[RecordChange] = []
    for kind, record in records:
        data = normal(record)
        after = owners(kind, data, clusters_after)
        named |= after
        prior = work.doc(kind, record.id)
        if prior is not None and _same(kind, prior[1], data, prior[0]):
            continue
        before = owners(kind, prior[1], clusters_before) if prior is not None else frozenset()
        changes.append(
            RecordChange(kind, record.id, before, after, kind in _SHARED, prior is not None)
        )
    if _parameters_change(work, s):
        changes.append(RecordChange(PARAMETERS_KIND, s.name, frozenset(), frozenset(), True, True))
    stated = tuple(
        StatedDiversion(
            d.id,
            d.from_org,
            d.status,
            work.status(d.id) if proposed(work, d.id) else None,
            d.proposed_by,
        )
        for d in s.diversions
    )
    groups = {o.id: o.group for o in s.orgs}
    return ImportPlan(s.name, actor, frozenset(named), groups, tuple(changes), stated)


def _proposers(work: Work, s: Scenario, actor: str) -> Scenario:
    """A pending diversion the import proposes names its proposer: the importer, if none.

    The proposer may not approve it between orgs, so an import cannot propose
    a diversion and then approve it as if someone else had proposed it.
    """
    fresh = [
        replace(d, proposed_by=actor)
        if d.status is DiversionStatus.PENDING
        and d.proposed_by is None
        and not proposed(work, d.id)
        else d
        for d in s.diversions
    ]
    return replace(s, diversions=tuple(fresh))


def _same(kind: str, stored: Mapping[str, Any], data: Mapping[str, Any], digest: str) -> bool:
    """True when the file restates the stored version (a diversion: its fixed content)."""
    if kind == DocumentKind.DIVERSION.value:
        keep = ("status", "proposed_by", "known_on")
        return {k: v for k, v in stored.items() if k not in keep} == {
            k: v for k, v in data.items() if k not in keep
        }
    return content_hash(data) == digest


def _parameters_change(work: Work, s: Scenario) -> bool:
    """True when the file's parameters differ from those of the books' latest scenario."""
    heads = list(work.docs_of(SCENARIO_KIND).values())  # each a _Doc: {"id", "data"}
    current = heads[-1]["data"].get("parameters") if heads else normal(type(s.parameters)())
    return bool(normal(s.parameters) != current)


def import_scenario(
    work: Work, s: Scenario, *, actor: str, authority: ImportAuthority = OPEN_BOOKS
) -> None:
    """Queue a scenario: documents first, then every dated event up to ``s.as_of``.

    Phases: 1. load what the books hold; 2. the authority admits the plan
    (every record created or versioned, and its owners), or nothing is
    queued; 3. new document versions (a proposed diversion's content is
    fixed); 4. the timeline (ship, divert, receive, deploy, fail, return) in
    date order.
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
    s = _proposers(work, s, actor)
    # 2. Who may do this, decided on what the books hold under the write lock.
    authority.review(work.conn, partial(import_plan, work, s, actor=actor))
    # 3. Documents (skipped when unchanged), the lots checked against their orders.
    _documents(work, s, actor=actor, at=doc_at)
    _check_lots(work, s)
    # 4. The timeline up to as_of, in date order then verb order.
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
        # What the books already hold again (a no-op) is history too; only a
        # change of an earlier diversion goes through the books' own policy.
        settled = work.status(d.id) is d.status
        policy = RECORDED_HISTORY if fresh or settled else work.approvals
        verbs.decide(work, d.id, decision[d.status], actor=actor, policy=policy, recorded_at=rec)


def batch(work: Work, ops: Sequence[BatchOp], *, actor: str) -> None:
    """Queue many verbs in order: orders, lots (ship), receipts, movements, diversions (propose).

    Proposals go through the books' approval policy, as ``propose_diversion`` does.
    A batch of movements that name their lots takes the batch lane
    (``ledger.bulk``), which writes the same events for less.
    """
    if bulk.movements(work, ops, actor=actor):
        return
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
            verbs.check_consignee(work, op)
            work.put_document(DocumentKind.LOT.value, op, actor, work.now)
            verbs.ship(work, op, actor=actor)
        elif isinstance(op, Receipt):
            verbs.receive(work, op.lot, op.on, actor=actor)
        elif isinstance(op, Movement):
            verbs.movement(work, op, actor=actor)
        else:
            verbs.propose(work, op, actor=actor, policy=work.approvals, doc_at=work.now)
