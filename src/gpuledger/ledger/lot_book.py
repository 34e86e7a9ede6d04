"""One lot's book for the write path: its transfers and all-time balances per account.

:class:`LotBook` holds every transfer of one lot for a unit of work (stored rows
kept raw until a verb needs them), its all-time balances per account, and the
check that a new debit leaves no view of the books negative
(:meth:`LotBook.check_debit`). Split from ``balances`` (which keeps ``fold`` and
the balances brought forward between reads) when it passed 500 lines.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from gpuledger.domain import Account, Bucket, InsufficientUnits, Phase
from gpuledger.ledger.balances import _KINDS, _PHASES, Bal, Moment, account_of, org_account
from gpuledger.ledger.results import Transfer

RawRow = tuple[Any, ...]  # a ``transfers`` row as the driver returns it, in RAW_COLUMNS order
RAW_COLUMNS = (
    "event_seq", "id", "kind", "phase", "debit_owner", "debit_bucket", "credit_owner",
    "credit_bucket", "sku", "lot", "qty", "effective_at", "recorded_at", "pending_id",
    "diversion",
)  # fmt: skip
_POSTED_PHASES = (Phase.SINGLE.value, Phase.POST.value)
_VOID = Phase.VOID.value
_POST = Phase.POST.value
_PENDING = Phase.PENDING.value


class LotBook:
    """Every transfer of one lot (stored and queued), with all-time balances per account.

    A lot has one SKU, so its balances are keyed by account alone; ``add`` and
    ``available`` are O(1). Stored rows are kept raw until something reads
    ``rows``: a batch that only moves units never builds them, and
    a write that needs one row finds it (:meth:`find`) without building the
    others. Pending rows are kept raw too until they are asked for
    (``open_pending``): a lot's history of proposed and rejected diversions is
    folded into its balances without a ``Transfer`` for each row.
    The latest effective and recorded times of what made units available to an
    account (credits, released reservations) are found on first need and kept
    up to date (``Bal.raised``): a debit later than both cannot make any view
    negative that the all-time balance does not.
    """

    def __init__(self) -> None:
        self.bal: dict[Account, Bal] = {}
        self._open: dict[str, Transfer] = {}  # open pending rows built (see open_pending)
        self._open_raw: dict[str, tuple[RawRow, Callable[[Any], datetime]]] = {}  # not built
        self.ids: set[str] = set()
        self._latest: Moment | None = None  # of any row: the fast way to see a debit is last
        self._raw: list[tuple[RawRow, Callable[[Any], datetime]]] = []
        self._built: dict[str, Transfer] = {}  # raw rows built already (found, or pending)
        self._rows: list[Transfer] = []
        self._by_id: dict[str, Transfer] = {}

    @property
    def open_pending(self) -> dict[str, Transfer]:
        """The lot's pending rows not yet posted or voided, by id (built on first ask)."""
        if self._open_raw:
            for i, (r, when) in self._open_raw.items():
                self._open[i] = self._built[i] = _transfer(r, when)
            self._open_raw.clear()
        return self._open

    def _bal(self, account: Account) -> Bal:
        found = self.bal.get(account)
        if found is None:
            found = self.bal[account] = Bal()
        return found

    def _latest_raise(self, account: Account, b: Bal) -> Moment | None:
        """The latest (effective, recorded) times at which units became available to ``account``.

        Raises are credits of posted rows and releases of reservations by void
        rows; None when the account never got any. Found from the rows once,
        then kept by :meth:`add`.
        """
        if not b.raised_known:
            owner, bucket = account.owner, account.bucket.value
            latest: Moment | None = None
            for r, when in self._raw:
                posted_credit = r[3] in _POSTED_PHASES and r[6] == owner and r[7] == bucket
                if posted_credit or (r[3] == _VOID and r[4] == owner and r[5] == bucket):
                    latest = _later(latest, when(r[11]), when(r[12]))
            for t in self._rows:
                posted_credit = (t.phase is Phase.SINGLE or t.phase is Phase.POST) and (
                    t.credit == account
                )
                if posted_credit or (t.phase is Phase.VOID and t.debit == account):
                    latest = _later(latest, t.effective_at, t.recorded_at)
            b.raised, b.raised_known = latest, True
        return b.raised

    def load(self, r: RawRow, when: Callable[[Any], datetime]) -> None:
        """Account for a stored row (in log order) without building its Transfer.

        The rules of :meth:`_apply_phase` on the raw row: a pending row reserves
        (kept raw while open), a post or void releases the open pending it
        resolves, and a void makes its units available again then.
        """
        phase, qty = r[3], int(r[10])
        self.ids.add(r[1])
        effective_at, recorded_at = when(r[11]), when(r[12])
        self._latest = _later(self._latest, effective_at, recorded_at)
        if phase in _POSTED_PHASES:
            self._bal(account_of(r[4], r[5])).posted -= qty
            self._bal(account_of(r[6], r[7])).posted += qty
        if phase == _PENDING:
            self._bal(account_of(r[4], r[5])).pend_debit += qty
            self._bal(account_of(r[6], r[7])).pend_credit += qty
            self._open_raw[r[1]] = (r, when)
        elif phase in (_VOID, _POST):
            self._release(r[13] or "", phase == _VOID, effective_at, recorded_at)
        self._raw.append((r, when))

    def _release(self, pending_id: str, void: bool, effective_at: datetime, at: datetime) -> None:
        """Release the open pending ``pending_id`` (a void: its units available again)."""
        raw = self._open_raw.pop(pending_id, None)
        if raw is not None:
            p, qty = raw[0], int(raw[0][10])
            debit, credit = account_of(p[4], p[5]), account_of(p[6], p[7])
        else:
            built = self._open.pop(pending_id, None)
            if built is None:
                return
            debit, credit, qty = built.debit, built.credit, built.qty
        b = self._bal(debit)
        b.pend_debit -= qty
        self._bal(credit).pend_credit -= qty
        if void:
            b.raise_at(effective_at, at)

    def find(self, transfer_id: str) -> Transfer | None:
        """The lot's transfer with this id (stored or queued), None if it has none.

        Builds that row alone when the lot's rows are still raw.
        """
        found = self._by_id.get(transfer_id) or self._built.get(transfer_id)
        if found is not None or transfer_id not in self.ids:
            return found
        if transfer_id in self._open_raw:
            return self.open_pending[transfer_id]
        for r, when in self._raw:
            if r[1] == transfer_id:
                found = self._built[transfer_id] = _transfer(r, when)
                return found
        return None

    def transfer(self, transfer_id: str) -> Transfer:
        """:meth:`find` for a row that must be there (KeyError if the lot has none)."""
        found = self.find(transfer_id)
        if found is None:
            raise KeyError(transfer_id)
        return found

    def _materialize(self) -> None:
        if self._raw:
            kept = self._built
            built = [kept.get(r[1]) or _transfer(r, when) for r, when in self._raw]
            self._raw = []
            self._rows = built + self._rows
            self._by_id = {t.id: t for t in self._rows}

    @property
    def rows(self) -> list[Transfer]:
        """The lot's transfers in log order."""
        self._materialize()
        return self._rows

    def add(self, t: Transfer) -> None:
        """Append a transfer and update the balances (the rules of :func:`fold`)."""
        self._rows.append(t)
        self._by_id[t.id] = t
        self.ids.add(t.id)
        self._latest = _later(self._latest, t.effective_at, t.recorded_at)
        if t.phase is Phase.SINGLE or t.phase is Phase.POST:
            self._bal(t.debit).posted -= t.qty
            credit = self._bal(t.credit)
            credit.posted += t.qty
            if credit.raised_known:
                credit.raise_at(t.effective_at, t.recorded_at)
        self._apply_phase(t)

    def _apply_phase(self, t: Transfer) -> None:
        """The pending side of a transfer: reserve, or release what it resolves."""
        if t.phase is Phase.PENDING:
            self._bal(t.debit).pend_debit += t.qty
            self._bal(t.credit).pend_credit += t.qty
            self._open[t.id] = t
        elif t.phase is Phase.POST or t.phase is Phase.VOID:
            void = t.phase is Phase.VOID
            self._release(t.pending_id or "", void, t.effective_at, t.recorded_at)

    def available(self, account: Account) -> int:
        """Units of this lot the account may still debit (all dates, all known)."""
        b = self.bal.get(account)
        return 0 if b is None else b.available

    def reserved(self, account: Account) -> int:
        """Units of this lot the account has reserved for pending debits."""
        b = self.bal.get(account)
        return 0 if b is None else b.pend_debit

    def held(self, account: Account, at: datetime) -> int:
        """Posted units of this lot in ``account``, counting transfers effective by ``at``.

        Stored rows are read raw (none is built for this).
        """
        owner, bucket = account.owner, account.bucket.value
        total = 0
        for r, when in self._raw:
            if r[3] in _POSTED_PHASES and when(r[11]) <= at:
                if r[6] == owner and r[7] == bucket:
                    total += int(r[10])
                if r[4] == owner and r[5] == bucket:
                    total -= int(r[10])
        for t in self._rows:
            if t.effective_at <= at and (t.phase is Phase.SINGLE or t.phase is Phase.POST):
                if t.credit == account:
                    total += t.qty
                if t.debit == account:
                    total -= t.qty
        return total

    def bucket_of(self, org: str, at: datetime) -> Bucket:
        """Where ``org`` holds this lot's units at ``at``: in transit until arrival, then stock."""
        return (
            Bucket.IN_TRANSIT
            if self.held(org_account(org, Bucket.IN_TRANSIT), at) > 0
            else Bucket.STOCK
        )

    def check_debit(self, t: Transfer, recorded_at: datetime) -> datetime:
        """The recorded time for debit ``t`` (``recorded_at`` or later) that keeps every view whole.

        First the all-time balance: the account must have ``t.qty`` available,
        counting pending debits (InsufficientUnits otherwise). Then every view
        of the lot (as of one time, as known on another) that sees ``t`` (as of
        ``t.effective_at`` or later, as known on its recorded time or later)
        must keep ``t.qty`` available. When a view fails only because what
        ``t`` depends on was recorded later, ``t`` is recorded then (nothing is
        recorded before what it depends on). When a view fails for every
        recorded time, the units are not there on that day: InsufficientUnits
        naming it.
        """
        b = self.bal.get(t.debit)
        have = 0 if b is None else b.posted - b.pend_debit
        if b is None or have < t.qty:
            raise InsufficientUnits(
                f"{t.debit} has {have} unit(s) of {t.sku} from lot {t.lot} available "
                f"(pending debits counted); {t.id!r} asked for {t.qty}"
            )
        # Last in both times, in the lot or among what credited the account: every view
        # that sees t sees all it depends on, and the all-time balance is the lowest.
        if no_later(self._latest, t.effective_at, recorded_at):
            return recorded_at
        latest = b.raised if b.raised_known else self._latest_raise(t.debit, b)
        if no_later(latest, t.effective_at, recorded_at):
            return recorded_at
        deltas = _deltas(self.rows, t.debit)
        safe, low, day = _first_safe_record(deltas, t.effective_at, recorded_at, t.qty)
        if safe is None:
            raise InsufficientUnits(
                f"{t.debit} has {low} unit(s) of {t.sku} from lot {t.lot} as of "
                f"{day.date().isoformat()} (pending debits counted); {t.id!r} asked for "
                f"{t.qty} effective {t.effective_at.date().isoformat()}"
            )
        return safe


def no_later(latest: Moment | None, effective_at: datetime, recorded_at: datetime) -> bool:
    """True when ``latest`` (or nothing) is no later than the given times, in both.

    A debit at times no earlier than every row of its lot (``latest``) is seen by
    no view of the books that misses a row before it: its all-time check suffices.
    """
    return latest is None or (latest[0] <= effective_at and latest[1] <= recorded_at)


def _later(latest: Moment | None, effective_at: datetime, recorded_at: datetime) -> Moment:
    """The latest effective and latest recorded time of ``latest`` and the given ones."""
    if latest is None:
        return effective_at, recorded_at
    return (
        effective_at if effective_at > latest[0] else latest[0],
        recorded_at if recorded_at > latest[1] else latest[1],
    )


Delta = tuple[datetime, datetime, int]  # effective, recorded, units made available (+/-)


def _deltas(rows: Sequence[Transfer], account: Account) -> list[Delta]:
    """How each row changes what ``account`` may debit, when, as known when."""
    out: list[Delta] = []
    for x in rows:
        if (x.phase is Phase.SINGLE or x.phase is Phase.POST) and x.credit == account:
            out.append((x.effective_at, x.recorded_at, x.qty))
        if x.debit != account:
            continue
        if x.phase is Phase.SINGLE or x.phase is Phase.PENDING:
            out.append((x.effective_at, x.recorded_at, -x.qty))
        elif x.phase is Phase.VOID:
            out.append((x.effective_at, x.recorded_at, x.qty))  # the reservation released
        # a post's debit takes what its pending row reserved: no change
    return out


def _first_safe_record(
    deltas: Sequence[Delta], effective: datetime, recorded: datetime, qty: int
) -> tuple[datetime | None, int, datetime]:
    """The earliest recorded time from which every later view keeps ``qty`` available.

    Returns (that time or None when even the view knowing everything fails, the
    lowest amount found in the last failing view, the effective time where).
    """
    known = sorted({recorded} | {rec for _, rec, _ in deltas if rec > recorded})
    safe: datetime | None = None
    low, day = qty, effective
    for k in reversed(known):
        low, day = _lowest(deltas, effective, k)
        if low < qty:
            break
        safe = k
    return safe, low, day


def _lowest(deltas: Sequence[Delta], effective: datetime, known: datetime) -> tuple[int, datetime]:
    """The least available over views as of ``effective`` or later, as known at ``known``."""
    seen = [(eff, units) for eff, rec, units in deltas if rec <= known]
    level = sum(units for eff, units in seen if eff <= effective)
    low, day = level, effective
    later: dict[datetime, int] = defaultdict(int)
    for eff, units in seen:
        if eff > effective:
            later[eff] += units
    for eff in sorted(later):
        level += later[eff]
        if level < low:
            low, day = level, eff
    return low, day


def _transfer(r: RawRow, when: Callable[[Any], datetime]) -> Transfer:
    """A raw driver row (``RAW_COLUMNS`` order) as a :class:`Transfer`."""
    return Transfer(
        id=r[1],
        kind=_KINDS[r[2]],
        phase=_PHASES[r[3]],
        debit=account_of(r[4], r[5]),
        credit=account_of(r[6], r[7]),
        sku=r[8],
        lot=r[9],
        qty=int(r[10]),
        effective_at=when(r[11]),
        recorded_at=when(r[12]),
        pending_id=r[13],
        diversion=r[14],
    )
