"""Corrections: a posted transfer is reversed by a new one, never edited."""

from __future__ import annotations

from sqlalchemy import select

from gpuledger.domain import InvalidTransition, Phase, TransferKind, UnknownRecord, ids
from gpuledger.ledger import schema
from gpuledger.ledger.results import Operation, Transfer
from gpuledger.ledger.work import Work


def reverse(work: Work, transfer_id: str, *, actor: str, reason: str) -> None:
    """Append a reversal of a posted transfer, effective when the original was.

    Raises UnknownRecord for an unknown transfer, InvalidTransition for a
    pending, post-less or reversal row, InsufficientUnits when the units have
    moved on since (in any view of the books).
    """
    tr = schema.transfers.c
    lot_id = work.conn.execute(select(tr.lot).where(tr.id == transfer_id)).scalar()
    if lot_id is None:
        queued = [t for e in work.new for t in e.transfers if t.id == transfer_id]
        if not queued:
            raise UnknownRecord(f"transfer {transfer_id!r} is not in the ledger")
        lot_id = queued[0].lot
    original = work.lot_book(lot_id).transfer(transfer_id)
    if original.phase not in (Phase.SINGLE, Phase.POST):
        raise InvalidTransition(
            f"transfer {transfer_id!r} is a {original.phase.value} row; "
            "void a pending diversion instead of reversing it"
        )
    if original.kind is TransferKind.REVERSAL:
        raise InvalidTransition(f"transfer {transfer_id!r} is itself a reversal")
    event_id = ids.reversal_event(transfer_id)
    inputs = {"transfer": transfer_id, "reason": reason}
    if work.seen(event_id, Operation.REVERSE, inputs):
        return
    t = Transfer(
        event_id,
        TransferKind.REVERSAL,
        Phase.SINGLE,
        original.credit,
        original.debit,
        original.sku,
        original.lot,
        original.qty,
        original.effective_at,
        work.now,
    )
    work.emit(
        event_id,
        Operation.REVERSE,
        inputs,
        [t],
        actor=actor,
        effective_at=original.effective_at,
        recorded_at=work.now,
    )
