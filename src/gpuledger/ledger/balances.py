"""Balances in memory: folding transfer rows, and the balances kept between reads.

:func:`fold` gives balances from rows in log order, as of / as known on, with the
semantics of the database aggregate (``queries.sum_balances``);
:class:`BalanceBase` brings a window's balances forward after a write. One lot's
book for the write path is :class:`gpuledger.ledger.lot_book.LotBook`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from gpuledger import domain
from gpuledger.domain import Account, Bucket, Phase, TransferKind
from gpuledger.ledger.results import Transfer

Moment = tuple[datetime, datetime]  # (effective_at, recorded_at)


@dataclass(slots=True)
class Bal:
    """Units of one (account, sku, lot): posted, pending debits and pending credits.

    ``raised`` is kept by :class:`LotBook` only: the latest (effective,
    recorded) times at which units became available to the account (None:
    never), once ``raised_known``.
    """

    posted: int = 0
    pend_debit: int = 0
    pend_credit: int = 0
    raised: Moment | None = None
    raised_known: bool = False

    def raise_at(self, effective_at: datetime, recorded_at: datetime) -> None:
        """Units became available at these times: keep the latest, once it is known."""
        if self.raised_known:  # else found from the lot's rows when first needed
            latest = self.raised
            if latest is None:
                self.raised = (effective_at, recorded_at)
            elif effective_at > latest[0] or recorded_at > latest[1]:
                self.raised = (max(latest[0], effective_at), max(latest[1], recorded_at))

    @property
    def available(self) -> int:
        """What may still be debited: posted minus reserved."""
        return self.posted - self.pend_debit


BalKey = tuple[Account, str, str]  # account, sku, lot


def fold(
    rows: Iterable[Transfer],
    effective_before: datetime | None = None,
    recorded_before: datetime | None = None,
) -> dict[BalKey, Bal]:
    """Balances from transfer rows in log order, optionally as of / as known on.

    posted = sum(single + post); pending = pending rows minus the post/void rows
    that resolve them. A post or void whose pending row is filtered out releases
    nothing.
    """
    out: dict[BalKey, Bal] = defaultdict(Bal)
    open_pending: dict[str, Transfer] = {}
    for t in rows:
        if effective_before is not None and t.effective_at >= effective_before:
            continue
        if recorded_before is not None and t.recorded_at >= recorded_before:
            continue
        _apply(out, open_pending, t)
    return out


def _apply(bal: dict[BalKey, Bal], open_pending: dict[str, Transfer], t: Transfer) -> None:
    debit, credit = (t.debit, t.sku, t.lot), (t.credit, t.sku, t.lot)
    if t.phase is Phase.SINGLE or t.phase is Phase.POST:
        bal[debit].posted -= t.qty
        bal[credit].posted += t.qty
    if t.phase is Phase.PENDING:
        bal[debit].pend_debit += t.qty
        bal[credit].pend_credit += t.qty
        open_pending[t.id] = t
    elif t.phase is Phase.POST or t.phase is Phase.VOID:
        p = open_pending.pop(t.pending_id or "", None)
        if p is not None:
            bal[(p.debit, p.sku, p.lot)].pend_debit -= p.qty
            bal[(p.credit, p.sku, p.lot)].pend_credit -= p.qty


Totals = Mapping[tuple[Account, str], tuple[int, int]]  # (account, sku) -> (posted, pending)


@dataclass(frozen=True)
class BalanceBase:
    """The balances of one window (as of, known on) at event ``seq``.

    Kept between reads and brought forward by :meth:`advance` from the window's rows
    of the events after ``seq``, so a read after a write costs what the write added,
    not an aggregate over every transfer. ``totals`` as ``queries.sum_balances`` gives
    them (pending: credits less debits); ``open``: the window's pending rows that no
    post or void row in it resolves, by id (what a later post or void releases).
    Never changed in place: bases are shared by readers.

    Folding agrees with the aggregate because a pending row always comes before the
    post or void that resolves it in log order: the verbs write a decision as a later
    event, effective and recorded no earlier than the proposal.
    """

    seq: int
    totals: Totals
    open: Mapping[str, Transfer]

    def advance(self, rows: Iterable[Transfer], seq: int) -> BalanceBase:
        """This base brought forward with the window's rows of the events in ``(self.seq,
        seq]``, in log order (folded as :func:`fold` folds them)."""
        open_pending = dict(self.open)
        delta: dict[BalKey, Bal] = defaultdict(Bal)
        for t in rows:
            _apply(delta, open_pending, t)
        if not delta:
            return replace(self, seq=seq)
        totals = dict(self.totals)
        for (account, sku, _lot), b in delta.items():
            posted, pending = totals.get((account, sku), (0, 0))
            totals[(account, sku)] = (posted + b.posted, pending + b.pend_credit - b.pend_debit)
        return BalanceBase(seq, totals, open_pending)


#: The domain's account constructors, remembered: accounts are few and immutable, and
#: building one formats its owner (the write path asks for the same ones many times).
org_account = lru_cache(maxsize=4096)(domain.org_account)
cluster_account = lru_cache(maxsize=4096)(domain.cluster_account)
vendor_account = lru_cache(maxsize=1024)(domain.vendor_account)

_KINDS = {k.value: k for k in TransferKind}
_PHASES = {p.value: p for p in Phase}
_ACCOUNTS: dict[tuple[str, str], Account] = {}


def account_of(owner: str, bucket: str) -> Account:
    """Accounts are few and immutable: build each once."""
    found = _ACCOUNTS.get((owner, bucket))
    if found is None:
        found = _ACCOUNTS[(owner, bucket)] = Account(owner, Bucket(bucket))
    return found


def transfer_from_row(
    row: Any, effective_at: datetime | None = None, recorded_at: datetime | None = None
) -> Transfer:
    """A ``transfers`` table row as a :class:`Transfer` (times may be given converted)."""
    return Transfer(
        id=row.id,
        kind=_KINDS[row.kind],
        phase=_PHASES[row.phase],
        debit=account_of(row.debit_owner, row.debit_bucket),
        credit=account_of(row.credit_owner, row.credit_bucket),
        sku=row.sku,
        lot=row.lot,
        qty=int(row.qty),
        effective_at=effective_at or row.effective_at,
        recorded_at=recorded_at or row.recorded_at,
        pending_id=row.pending_id,
        diversion=row.diversion,
    )
