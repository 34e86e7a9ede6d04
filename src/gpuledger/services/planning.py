"""Plans and impacts of the books: the planner called on the books' snapshots.

A change decided on day D is evaluated on the books as of D - 1 (the day
before it), so a diversion already posted on D, the counterfactual of a past
decision, is not in its own baseline; the answer is the same before approval
and after posting.
"""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from datetime import date, timedelta
from typing import Any, TypeVar, cast

import numpy as np

from gpuledger.domain import Diversion, InvalidInput, PolicyName
from gpuledger.domain.enums import CountUnit
from gpuledger.ledger import Ledger
from gpuledger.planning import (
    DivertChange,
    Impact,
    Plan,
    PlanningSnapshot,
    baseline_plans,
    impact,
    plan,
    site_inputs,
    to_h100e,
    with_sites,
)
from gpuledger.planning.changes import Change, change_day
from gpuledger.services.books import books_today
from gpuledger.services.kept import Kept
from gpuledger.services.requests import DEFAULT_POLICY

ONE_DAY = timedelta(days=1)
T = TypeVar("T")


def _read_only(obj: T) -> T:
    """``obj`` with every array of it and of its dataclass fields read-only (it is shared)."""
    for f in dataclasses.fields(cast(Any, obj)):
        value = getattr(obj, f.name)
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            _read_only(value)
    return obj


#: The books' snapshots with their sites, and the baselines impacts compare against
#: (two plans each, holdings per org and day: at world size tens of MB, so fewer).
#: A sited snapshot is kept for its snapshot and the scenario parts ``with_sites``
#: reads (``planning.site_inputs``; the parameters, remade on each read, by value):
#: a write that changes neither (a diversion proposed for a later day, say) leaves
#: the ledger's snapshot the same object, so the sited one and its baselines stay.
#: Entries of older books are never asked for again; they go as newer ones come.
_SITED, _BASELINES = Kept(8), Kept(4)


def books_snapshot(ledger: Ledger, as_of: date, known_on: date | None = None) -> PlanningSnapshot:
    """The books' snapshot as of ``as_of`` with their sites' power and targets' accepts.

    Every planning path goes through here, so a plan, an impact and the dashboard
    count units held and units that could be powered the same way. ``known_on``
    keeps only what the books had recorded by the end of that day (None: all).
    """
    snap, scenario = ledger.snapshot(as_of, known_on), ledger.to_scenario(as_of)
    *parts, parameters = site_inputs(scenario)
    return _SITED.get((snap, *parts), parameters, lambda: _read_only(with_sites(snap, scenario)))


def snapshot(
    ledger: Ledger, as_of: date | None = None, known_on: date | None = None
) -> PlanningSnapshot:
    """The planning snapshot as of ``as_of`` (default: the books' today), as known on a day."""
    return books_snapshot(ledger, as_of or books_today(ledger), known_on)


def decision_snapshot(ledger: Ledger, on: date, known_on: date | None = None) -> PlanningSnapshot:
    """The books as they stood just before a decision taken on ``on`` (as of ``on`` - 1)."""
    return books_snapshot(ledger, on - ONE_DAY, known_on)


def plan_report(
    ledger: Ledger,
    policy: PolicyName = DEFAULT_POLICY,
    as_of: date | None = None,
    known_on: date | None = None,
) -> Plan:
    """The plan of the books under ``policy`` (as known on ``known_on``: None, everything)."""
    return plan(snapshot(ledger, as_of, known_on), policy)


def impact_of_change(
    ledger: Ledger,
    change: Change,
    policy: PolicyName = DEFAULT_POLICY,
    as_of: date | None = None,
    known_on: date | None = None,
) -> Impact:
    """The impact of a hypothetical change, against the books the day before its date.

    The change's date is ``planning.changes.change_day`` (its own date, else the
    books' today). ``as_of`` evaluates it on the books as of that date instead;
    ``known_on`` on the books as they were known on that day.
    """
    if as_of is not None:
        return _impact(books_snapshot(ledger, as_of, known_on), change, policy)
    day = change_day(change, books_today(ledger))
    return _impact(decision_snapshot(ledger, day, known_on), change, policy)


def _impact(s: PlanningSnapshot, change: Change, policy: PolicyName) -> Impact:
    """``planning.impact`` with the baseline kept for the books' state, the day and the policy."""
    on = change_day(change, s.as_of)

    def baseline() -> tuple[Plan, Plan]:
        full, before = baseline_plans(s, policy, on)
        return _read_only(full), _read_only(before)

    return impact(s, change, policy, baseline=_BASELINES.get((s,), (str(policy), on), baseline))


def divert_change(d: Diversion) -> DivertChange:
    """The planning change a diversion record stands for."""
    return DivertChange(
        lot=d.lot,
        qty=d.qty,
        from_org=d.from_org,
        to_org=d.to_org,
        on=d.on,
        payback=tuple((p.lot, p.qty) for p in d.payback),
    )


def impact_of_diversion(
    ledger: Ledger,
    diversion_id: str,
    policy: PolicyName = DEFAULT_POLICY,
    *,
    with_payback: bool = True,
    known_on: date | None = None,
) -> Impact:
    """The impact of a diversion in the books (pending, posted or voided), as at its decision.

    ``known_on``: against the books as they were known on that day (None: everything).
    """
    d = ledger.diversion(diversion_id).diversion
    change = divert_change(d if with_payback else replace(d, payback=()))
    return _impact(decision_snapshot(ledger, d.on, known_on), change, policy)


#: The count fields of plan and impact rows (each row names its ``sku``).
_COUNTS = frozenset(
    {
        "qty",
        "held_at_by",
        "powered_at_by",
        "held",
        "powered",
        "capacity",
        "gpu_days_lost",
        "gpu_days_gained",
        "powered_gpu_days_lost",
        "powered_gpu_days_gained",
        "held_at_window_end_before",
        "held_at_window_end_after",
        "powered_at_window_end_before",
        "powered_at_window_end_after",
        "held_at_by_before",
        "held_at_by_after",
        "powered_at_by_before",
        "powered_at_by_after",
        "short_at_by_before",
        "short_at_by_after",
    }
)


def in_unit(doc: dict[str, Any], snapshot: PlanningSnapshot, unit: CountUnit) -> dict[str, Any]:
    """A plan's or impact's JSON with its counts in ``unit``, saying which (``"unit"``).

    In H100-equivalents every count of a row (``targets``, ``orgs``) is multiplied
    by its SKU's ``h100e``; nothing else changes.

    Raises:
        InvalidInput: a row's SKU states no H100-equivalent factor.
    """
    out = {"unit": str(unit), **doc}
    if unit is CountUnit.GPUS:
        return out
    for key in ("targets", "orgs"):
        out[key] = [_row_in_h100e(row, snapshot) for row in doc.get(key, [])]
    return out


def _row_in_h100e(row: dict[str, Any], snapshot: PlanningSnapshot) -> dict[str, Any]:
    sku = snapshot.skus.index(row["sku"])
    factor = to_h100e(snapshot, sku, 1.0)
    if factor is None:
        raise InvalidInput(
            f"SKU {row['sku']!r} states no H100-equivalent factor (h100e); show GPUs instead",
            field="unit",
        )
    return {k: (v * factor if k in _COUNTS and isinstance(v, int) else v) for k, v in row.items()}
