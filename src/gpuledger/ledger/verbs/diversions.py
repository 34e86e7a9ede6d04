"""Diversions: proposals (pending transfers), decisions (post or void) and paybacks.

A diversion id, once proposed, names one content for ever: the same content
again is a no-op, any other is refused (an amendment is a void plus a new id).
Decisions are taken under the write lock: the approval policy the books were
given sees every approval recorded so far and says when the diversion posts.
A post takes effect on the diversion's own date and is recorded when decided.
"""

from __future__ import annotations

from datetime import date, datetime

from gpuledger.domain import (
    Decision,
    Diversion,
    DiversionStatus,
    DocumentKind,
    InvalidTransition,
    LedgerError,
    Lot,
    Payback,
    Phase,
    TransferKind,
    UnknownRecord,
    day_start,
    ids,
)
from gpuledger.domain.rules import diversion_problems, refuse
from gpuledger.ledger.approvals import ApprovalPolicy, Ballot
from gpuledger.ledger.balances import org_account
from gpuledger.ledger.idempotency import normal, refuse_changes
from gpuledger.ledger.results import Operation, Transfer
from gpuledger.ledger.work import Work

#: (status, decision) pairs that are already the outcome: a later one is a no-op.
_ALREADY = {
    (DiversionStatus.POSTED, Decision.APPROVE),
    (DiversionStatus.VOIDED, Decision.REJECT),
    (DiversionStatus.VOIDED, Decision.VOID),
}


def proposed(work: Work, diversion_id: str) -> bool:
    """True when the books (or this unit of work) hold the diversion's proposal."""
    return work.event(ids.divert_event(diversion_id)) is not None


def record_diversion(work: Work, d: Diversion, *, actor: str, at: datetime) -> None:
    """Keep a diversion's record: versioned until it is proposed, fixed from then on.

    Raises IdempotencyConflict when ``d`` was proposed with other content
    (``idempotency.DIVERSION_CONTENT``); the same content again changes nothing.
    """
    if not proposed(work, d.id):
        work.put_document(DocumentKind.DIVERSION.value, d, actor, at)
        return
    stored = work.doc(DocumentKind.DIVERSION.value, d.id)
    assert stored is not None, f"diversion {d.id}: a proposal without its record"
    refuse_changes(d.id, stored[1], normal(d))
    work.existing += 1


def propose(
    work: Work,
    d: Diversion,
    *,
    actor: str,
    policy: ApprovalPolicy,
    doc_at: datetime,
    recorded_at: datetime | None = None,
) -> None:
    """Reserve a diversion's units: a pending transfer org A -> org B, same bucket.

    Phases: 1. a diversion proposed before: same content is a no-op, other
    content IdempotencyConflict; 2. the policy admits the proposal; 3. the
    rules of ``domain.rules.diversion_problems`` against its lot and payback
    lots; 4. the record and the pending transfer (in transit until the lot
    arrives, then stock).
    """
    event_id = ids.divert_event(d.id)
    inputs = {
        "lot": d.lot,
        "qty": d.qty,
        "from": d.from_org,
        "to": d.to_org,
        "on": d.on.isoformat(),
    }
    # 1. Proposed before: the content is fixed, the operation a replay.
    if proposed(work, d.id):
        record_diversion(work, d, actor=actor, at=doc_at)
        replay = work.seen(event_id, Operation.PROPOSE, inputs)  # conflict if the op differs
        assert replay, f"{event_id} is in the books"
        return
    # 2. Who may propose.
    policy.review(work.conn, Ballot(d, Decision.PROPOSE, actor))
    # 3. The rules.
    subject = f"diversion {d.id!r}"
    if d.qty <= 0:
        raise LedgerError(f"{subject}: quantity must be positive, got {d.qty}")
    work.require(DocumentKind.ORG, d.from_org, subject, "from")
    work.require(DocumentKind.ORG, d.to_org, subject, "to")
    lot, order = work.lot_and_order(d.lot)
    refuse(subject, diversion_problems(d, lot, order.sku, _payback_lots(work, d)))
    # 4. Record and reserve.
    work.put_document(DocumentKind.DIVERSION.value, d, actor, doc_at)
    at, rec = day_start(d.on), recorded_at or work.now
    bucket = work.lot_book(d.lot).bucket_of(d.from_org, at)
    t = Transfer(
        event_id,
        TransferKind.DIVERT,
        Phase.PENDING,
        org_account(d.from_org, bucket),
        org_account(d.to_org, bucket),
        order.sku,
        d.lot,
        d.qty,
        at,
        rec,
        diversion=d.id,
    )
    work.emit(
        event_id, Operation.PROPOSE, inputs, [t], actor=actor, effective_at=at, recorded_at=rec
    )


def _payback_lots(work: Work, d: Diversion) -> dict[str, tuple[Lot, str]]:
    """The known lots of a diversion's payback, with their SKU (the rules name unknown ones)."""
    found: dict[str, tuple[Lot, str]] = {}
    for p in d.payback:
        try:
            lot, order = work.lot_and_order(p.lot)
        except UnknownRecord:
            continue
        found[p.lot] = (lot, order.sku)
    return found


def decide(
    work: Work,
    diversion_id: str,
    decision: Decision,
    *,
    actor: str,
    policy: ApprovalPolicy,
    on: date | None = None,
    recorded_at: datetime | None = None,
) -> DiversionStatus:
    """Approve (post once complete) or reject/void (release) a pending diversion.

    Phases: 1. the record and its status under the lock; 2. on a pending
    diversion, the policy reviews the decision with every approval the books
    hold (on a decided one, only whether the actor could have taken it);
    3. replays and decisions already taken are no-ops; 4. the decision event,
    with the post or void transfer when it resolves the diversion.
    ``on``, when given, must be the diversion's own date (a decision never
    moves it). Returns the status after the decision.
    """
    # 1. The record and its status.
    d, status = _decidable(work, diversion_id, decision, on)
    # 2. The policy, on every approval recorded so far.
    posts = True
    if status is DiversionStatus.PENDING:
        ballot = Ballot(d, decision, actor, work.approvers(diversion_id))
        posts = policy.review(work.conn, ballot)
    else:  # decided: still only someone who could have decided it may repeat it
        policy.review(work.conn, Ballot(d, decision, actor, settled=True))
    # 3. One event per person and decision: the same person deciding again is a replay.
    event_id = ids.decision_event(diversion_id, decision, actor)
    inputs = {"diversion": diversion_id, "decision": decision.value, "actor": actor}
    if work.seen(event_id, Operation.DECIDE, inputs):
        return status
    if (status, decision) in _ALREADY:
        return status  # someone else's decision already had this outcome: nothing to do
    if status is not DiversionStatus.PENDING:
        raise InvalidTransition(
            f"diversion {diversion_id!r} is {status.value}; it cannot be {decision.value}d"
        )
    # 4. Effective on the diversion's date, recorded now (never before the proposal).
    pending = work.lot_book(d.lot).transfer(ids.divert_event(diversion_id))
    at, rec = pending.effective_at, max(recorded_at or work.now, pending.recorded_at)
    if decision is Decision.APPROVE and not posts:
        work.emit(
            event_id, Operation.DECIDE, inputs, [], actor=actor, effective_at=at, recorded_at=rec
        )
        return DiversionStatus.PENDING
    approve = decision is Decision.APPROVE
    t = Transfer(
        ids.post_event(diversion_id) if approve else ids.void_event(diversion_id),
        TransferKind.DIVERT,
        Phase.POST if approve else Phase.VOID,
        pending.debit,
        pending.credit,
        pending.sku,
        pending.lot,
        pending.qty,
        at,
        rec,
        pending_id=pending.id,
        diversion=diversion_id,
    )
    work.emit(
        event_id, Operation.DECIDE, inputs, [t], actor=actor, effective_at=at, recorded_at=rec
    )
    if not approve:
        return DiversionStatus.VOIDED
    for p in d.payback:
        payback(work, d, p, actor=actor, recorded_at=recorded_at)
    return DiversionStatus.POSTED


def _decidable(
    work: Work, diversion_id: str, decision: Decision, on: date | None
) -> tuple[Diversion, DiversionStatus]:
    """The diversion a decision is about and its status; raises when it cannot be decided."""
    if decision is Decision.PROPOSE:
        raise InvalidTransition(f"diversion {diversion_id!r}: propose it with propose_diversion")
    d: Diversion = work.record(DocumentKind.DIVERSION.value, diversion_id)
    if on is not None and on != d.on:
        raise LedgerError(
            f"diversion {diversion_id!r} takes effect on its own date {d.on}; "
            f"a decision cannot move it to {on}"
        )
    status = work.status(diversion_id)
    if status is None:
        raise InvalidTransition(f"diversion {diversion_id!r} was never proposed in the books")
    return d, status


def payback(
    work: Work, d: Diversion, p: Payback, *, actor: str, recorded_at: datetime | None = None
) -> None:
    """Move a posted diversion's payback from receiver to giver, once the lot shipped.

    Effective when both the lot shipped and the diversion took effect;
    recorded no earlier than either was.
    """
    book = work.lot_book(p.lot)
    ship = book.find(ids.ship_event(p.lot))
    if ship is None:
        return  # posted when the lot ships
    event_id = ids.payback_event(d.id, p.lot)
    inputs = {"diversion": d.id, "lot": p.lot, "qty": p.qty, "from": d.to_org, "to": d.from_org}
    if work.seen(event_id, Operation.PAYBACK, inputs, book):
        return
    post = work.lot_book(d.lot).transfer(ids.post_event(d.id))
    at = max(ship.effective_at, post.effective_at)
    rec = max(recorded_at or work.now, ship.recorded_at, post.recorded_at)
    bucket = book.bucket_of(d.to_org, at)
    t = Transfer(
        event_id,
        TransferKind.PAYBACK,
        Phase.SINGLE,
        org_account(d.to_org, bucket),
        org_account(d.from_org, bucket),
        ship.sku,
        p.lot,
        p.qty,
        at,
        rec,
        diversion=d.id,
    )
    work.emit(
        event_id, Operation.PAYBACK, inputs, [t], actor=actor, effective_at=at, recorded_at=rec
    )
