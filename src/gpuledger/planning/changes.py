"""What-if changes to a planning snapshot: divert, slip, new order, reprioritise.

Each change is a frozen value whose :meth:`apply` returns a *new* snapshot (the
input is never mutated) and whose :meth:`describe` says it in one line. Choices:

Every change happens on a date, ``on`` (its *day*): :func:`~gpuledger.planning.impact`
keeps everything before it as the baseline has it (DESIGN section 5: a change
never alters the past). ``on`` is required for a diversion and a new order; for a
slip and a priority change it defaults to the snapshot's ``as_of``
(:func:`change_day`).

- ``DivertChange`` moves ``qty`` units of a lot from the giver's supply rows of that
  lot (taken in row order) to the receiver. Units arriving on or after ``on`` keep
  their arrival day; units arriving before ``on`` are stock by then: the receiver
  holds them from ``on`` (as arrived stock) and the giver gives them up on ``on``
  (:mod:`gpuledger.planning.keep_past`). Each payback ``(lot, qty)`` moves units of
  the receiver's rows of that lot to the giver the same way. ``inverse()`` swaps
  giver and receiver (and moves the paybacks back): the counterfactual of a
  diversion already in the books; it restores the snapshot exactly when the
  diverted units arrive on or after ``on``.
- ``SlipChange`` delays every not-yet-arrived row of a lot by ``days`` (negative
  pulls it in), decided on ``on``; arrived rows cannot slip, and a slip decided on
  ``on`` can neither move a row arriving before ``on`` nor bring one in before it.
- ``NewOrderChange`` adds an open-order row arriving on ``arrives_on`` or, when not
  given, on ``on + P50`` of the vendor's lead time in force on ``on``.
- ``PriorityChange`` sets a target's priority from ``on``: units arriving before
  ``on`` stay where the baseline put them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Protocol, runtime_checkable

import numpy as np

from gpuledger.domain import GpuledgerError, InsufficientUnits, UnknownRecord
from gpuledger.planning.snapshot import IntArray, PlanningSnapshot, SupplyKind


@runtime_checkable
class Change(Protocol):
    """A hypothetical change: applied to a snapshot it gives another snapshot."""

    def apply(self, snapshot: PlanningSnapshot) -> PlanningSnapshot:
        """The snapshot after the change (the input is unchanged)."""
        ...

    def describe(self) -> str:
        """One line for people."""
        ...

    @property
    def day(self) -> date | None:
        """The date the change happens on (None: the snapshot's ``as_of``)."""
        ...


_SUPPLY_ARRAYS = (
    "supply_kind",
    "supply_sku",
    "supply_qty",
    "supply_day",
    "supply_holder",
    "supply_vendor",
    "supply_ordered_day",
)
_SUPPLY_TUPLES = ("supply_id", "supply_order")


def _org(snapshot: PlanningSnapshot, org: str) -> int:
    try:
        return snapshot.orgs.index(org)
    except ValueError:
        raise UnknownRecord(f"org {org!r} is not in the snapshot") from None


def _lot_rows(snapshot: PlanningSnapshot, lot: str) -> IntArray:
    rows = np.array([i for i, x in enumerate(snapshot.supply_id) if x == lot], dtype=np.int64)
    if rows.size == 0:
        raise UnknownRecord(f"lot {lot!r} has no supply row in the snapshot")
    return rows


def _move(
    snapshot: PlanningSnapshot, lot: str, qty: int, giver: str, receiver: str, on: date | None
) -> PlanningSnapshot:
    """Move ``qty`` units of ``lot`` from giver's rows to receiver (new rows appended)."""
    if qty < 0:
        raise GpuledgerError(f"lot {lot!r}: cannot move a negative quantity ({qty})")
    g, r = _org(snapshot, giver), _org(snapshot, receiver)
    rows = _lot_rows(snapshot, lot)
    rows = rows[snapshot.supply_holder[rows] == g]
    have = int(snapshot.supply_qty[rows].sum())
    if have < qty:
        raise InsufficientUnits(
            f"lot {lot!r}: {giver!r} holds {have} units of it, cannot move {qty} to {receiver!r}"
        )
    new_qty = snapshot.supply_qty.copy()
    extra: dict[str, list[object]] = {name: [] for name in _SUPPLY_ARRAYS + _SUPPLY_TUPLES}
    left = qty
    for i in rows.tolist():
        if left == 0:
            break
        take = min(left, int(new_qty[i]))
        if take == 0:
            continue
        left -= take
        new_qty[i] -= take
        for name in _SUPPLY_ARRAYS + _SUPPLY_TUPLES:
            extra[name].append(getattr(snapshot, name)[i])
        extra["supply_qty"][-1] = take
        extra["supply_holder"][-1] = r
        if on is not None and int(snapshot.supply_day[i]) < on.toordinal():
            # stock by then: the receiver holds it from the change's date, for good
            extra["supply_day"][-1] = on.toordinal()
            extra["supply_kind"][-1] = int(SupplyKind.ARRIVED)
    arrays: dict[str, object] = {}
    for name in _SUPPLY_ARRAYS:
        base = new_qty if name == "supply_qty" else getattr(snapshot, name)
        arrays[name] = np.concatenate([base, np.array(extra[name], dtype=np.int64)])
    for name in _SUPPLY_TUPLES:
        arrays[name] = tuple(getattr(snapshot, name)) + tuple(str(x) for x in extra[name])
    return snapshot.with_supply(**arrays)


@dataclass(frozen=True)
class DivertChange:
    """Move ``qty`` units of ``lot`` from ``from_org`` to ``to_org`` on ``on``.

    ``payback`` lists (lot, qty) of the receiver's future lots reassigned to the giver.
    """

    lot: str
    qty: int
    from_org: str
    to_org: str
    on: date
    payback: tuple[tuple[str, int], ...] = ()

    def apply(self, snapshot: PlanningSnapshot) -> PlanningSnapshot:
        """The snapshot after the diversion and its paybacks.

        Raises:
            UnknownRecord: the lot or an org is not in the snapshot.
            InsufficientUnits: the giver (or, for a payback, the receiver) holds fewer
                units of the lot than asked.
        """
        out = _move(snapshot, self.lot, self.qty, self.from_org, self.to_org, self.on)
        for lot, qty in self.payback:
            out = _move(out, lot, qty, self.to_org, self.from_org, self.on)
        return out

    def inverse(self) -> DivertChange:
        """The change that undoes this diversion (for one already in the books)."""
        return DivertChange(self.lot, self.qty, self.to_org, self.from_org, self.on, self.payback)

    def describe(self) -> str:
        """One line for people."""
        pay = "".join(f", payback {q:,} of {lot}" for lot, q in self.payback)
        return (
            f"divert {self.qty:,} of {self.lot} from {self.from_org} to {self.to_org} "
            f"on {self.on.isoformat()}{pay}"
        )

    @property
    def day(self) -> date:
        """The date of the change (the default decision date)."""
        return self.on


@dataclass(frozen=True)
class SlipChange:
    """Delay every not-yet-arrived row of ``lot`` by ``days`` (negative: earlier), on ``on``.

    ``on`` is the date the slip becomes known (the decision date); None means the
    snapshot's ``as_of``.
    """

    lot: str
    days: int
    on: date | None = None

    def apply(self, snapshot: PlanningSnapshot) -> PlanningSnapshot:
        """The snapshot with the lot's arrival moved.

        Raises:
            UnknownRecord: the lot is not in the snapshot.
            GpuledgerError: every row of the lot has already arrived.
        """
        rows = _lot_rows(snapshot, self.lot)
        rows = rows[snapshot.supply_kind[rows] != SupplyKind.ARRIVED]
        if rows.size == 0:
            raise GpuledgerError(f"lot {self.lot!r} has already arrived; it cannot slip")
        day = snapshot.supply_day.copy()
        day[rows] += self.days
        return snapshot.with_supply(supply_day=day)

    def describe(self) -> str:
        """One line for people."""
        when = f" on {self.on.isoformat()}" if self.on else ""
        return f"slip {self.lot} by {self.days:+d} days{when}"

    @property
    def day(self) -> date | None:
        """The date of the change (None: the snapshot's ``as_of``)."""
        return self.on


@dataclass(frozen=True)
class NewOrderChange:
    """A new order of ``qty`` units of ``sku`` placed by ``org`` with ``vendor`` on ``on``."""

    org: str
    vendor: str
    sku: str
    qty: int
    on: date
    arrives_on: date | None = None

    @property
    def order_id(self) -> str:
        """The id the new supply row carries."""
        return f"new-order:{self.org}:{self.vendor}:{self.sku}:{self.on.isoformat()}"

    def arrival(self, snapshot: PlanningSnapshot) -> date:
        """``arrives_on`` or ``on + P50`` lead time in force on ``on``.

        Raises:
            UnknownRecord: the vendor or SKU is not in the snapshot.
            GpuledgerError: no lead time is known for the vendor and SKU.
        """
        if self.arrives_on is not None:
            return self.arrives_on
        v, k = (
            _index(snapshot.vendors, self.vendor, "vendor"),
            _index(snapshot.skus, self.sku, "SKU"),
        )
        lt = snapshot.lead_time(v, k, self.on.toordinal())
        if lt is None:
            raise GpuledgerError(
                f"vendor {self.vendor!r} has no lead time for {self.sku!r}; give arrives_on"
            )
        return self.on + timedelta(days=lt[0])

    def apply(self, snapshot: PlanningSnapshot) -> PlanningSnapshot:
        """The snapshot with one more open-order row held by ``org``."""
        o = _org(snapshot, self.org)
        v, k = (
            _index(snapshot.vendors, self.vendor, "vendor"),
            _index(snapshot.skus, self.sku, "SKU"),
        )
        day = self.arrival(snapshot).toordinal()
        values = {
            "supply_kind": int(SupplyKind.OPEN_ORDER),
            "supply_sku": k,
            "supply_qty": self.qty,
            "supply_day": day,
            "supply_holder": o,
            "supply_vendor": v,
            "supply_ordered_day": self.on.toordinal(),
        }
        arrays: dict[str, object] = {
            name: np.r_[getattr(snapshot, name), np.int64(values[name])] for name in values
        }
        arrays["supply_id"] = (*snapshot.supply_id, self.order_id)
        arrays["supply_order"] = (*snapshot.supply_order, self.order_id)
        return snapshot.with_supply(**arrays)

    def describe(self) -> str:
        """One line for people."""
        return (
            f"new order: {self.org} orders {self.qty:,} {self.sku} from {self.vendor} "
            f"on {self.on.isoformat()}"
        )

    @property
    def day(self) -> date:
        """The date of the change (the default decision date)."""
        return self.on


@dataclass(frozen=True)
class PriorityChange:
    """Give ``target`` a new ``priority`` (1 = highest) from ``on``.

    ``on`` is the decision date; None means the snapshot's ``as_of``.
    """

    target: str
    priority: int
    on: date | None = None

    def apply(self, snapshot: PlanningSnapshot) -> PlanningSnapshot:
        """The snapshot with the target's priority replaced.

        Raises:
            UnknownRecord: the target is not in the snapshot.
        """
        i = _index(snapshot.target_id, self.target, "target")
        prio = snapshot.target_priority.copy()
        prio[i] = self.priority
        return replace(snapshot, target_priority=prio)

    def describe(self) -> str:
        """One line for people."""
        when = f" on {self.on.isoformat()}" if self.on else ""
        return f"set priority of {self.target} to {self.priority}{when}"

    @property
    def day(self) -> date | None:
        """The date of the change (None: the snapshot's ``as_of``)."""
        return self.on


def _index(names: tuple[str, ...], name: str, what: str) -> int:
    try:
        return names.index(name)
    except ValueError:
        raise UnknownRecord(f"{what} {name!r} is not in the snapshot") from None


def change_day(change: Change, today: date) -> date:
    """The date a change happens on: its own ``day``, else ``today`` (the books' as of)."""
    day = getattr(change, "day", None)
    return day if isinstance(day, date) else today
