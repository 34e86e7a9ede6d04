"""Corrections: a posted transfer reversed by a new transfer that references it.

The ledger never edits a row: ``Ledger.reverse`` appends a reversal moving the
units back, effective when the original was, with the reason on its event. A
pending diversion is withdrawn with ``divert void`` instead; records (orders,
lots, targets...) are amended by re-importing the corrected scenario file
(docs/ledger.md says how).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gpuledger.domain import OwnerKind, ids
from gpuledger.domain.serialize import jsonable
from gpuledger.services import requests as rq

if TYPE_CHECKING:
    from gpuledger.governance.rules import Access
    from gpuledger.ledger import Ledger
    from gpuledger.services.visibility import Visibility


@dataclass(frozen=True)
class Reversal:
    """A reversal recorded: the transfer it undoes and the new transfer's id."""

    transfer: str
    reversal: str
    lot: str
    sku: str
    qty: int
    debit: str  # the reversal's debit: the original's credit
    credit: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        """The CLI/API contract."""
        data: dict[str, Any] = jsonable(self)
        return data


def touched_orgs(ledger: Ledger, transfer_id: str) -> list[str]:
    """The orgs whose accounts a transfer moves (a cluster counts for its org), in order."""
    from gpuledger.services.visibility import consumer_orgs

    t = ledger.transfer(transfer_id)
    owners = consumer_orgs(ledger.to_scenario())
    found: dict[str, None] = {}
    for account in (t.debit, t.credit):
        if account.owner_kind in (OwnerKind.ORG, OwnerKind.CLUSTER):
            found.setdefault(owners.get(account.owner_id, account.owner_id), None)
    return list(found)


def reverse(
    ledger: Ledger,
    transfer_id: str,
    *,
    reason: str,
    actor: str,
    seen: Visibility | None = None,
    access: Access | None = None,
) -> Reversal:
    """Reverse a posted transfer with a reason; the new transfer references the old one.

    ``seen``/``access`` None is the holder of the books. A caller must see
    every org the transfer moves (else UnknownRecord) and may write in each
    (else PermissionDenied). The ledger refuses pending rows, reversals and
    units that have moved on since (nothing written).
    """
    from gpuledger.governance.rules import Action

    ident = rq.parse_id(transfer_id, "transfer")
    why = rq.parse_text(reason, "reason")
    orgs = touched_orgs(ledger, ident)
    for org in orgs:
        if seen is not None:
            seen.require_org(org)
        if access is not None:
            access.require(Action.WRITE, org)
    original = ledger.transfer(ident)
    ledger.reverse(ident, actor=actor, reason=why)
    done = ledger.transfer(ids.reversal_event(ident))
    assert done.qty == original.qty and done.debit == original.credit
    return Reversal(
        ident, done.id, done.lot, done.sku, done.qty, str(done.debit), str(done.credit), why
    )
