"""Plans and impacts of the books: the planner called on the books' snapshots.

A change decided on day D is evaluated on the books as of D - 1 (the day
before it), so a diversion already posted on D, the counterfactual of a past
decision, is not in its own baseline; the answer is the same before approval
and after posting.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from gpuledger.domain import Diversion, PolicyName
from gpuledger.ledger import Ledger
from gpuledger.planning import DivertChange, Impact, Plan, PlanningSnapshot, impact, plan
from gpuledger.planning.changes import Change, change_day
from gpuledger.services.books import books_today
from gpuledger.services.requests import DEFAULT_POLICY

ONE_DAY = timedelta(days=1)


def snapshot(
    ledger: Ledger, as_of: date | None = None, known_on: date | None = None
) -> PlanningSnapshot:
    """The planning snapshot as of ``as_of`` (default: the books' today), as known on a day.

    ``known_on`` None is everything the books know; a day keeps only what was
    recorded by its end (the ledger's snapshot is bitemporal).
    """
    return ledger.snapshot(as_of or books_today(ledger), known_on)


def decision_snapshot(ledger: Ledger, on: date, known_on: date | None = None) -> PlanningSnapshot:
    """The books as they stood just before a decision taken on ``on`` (as of ``on`` - 1)."""
    return ledger.snapshot(on - ONE_DAY, known_on)


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
        return impact(ledger.snapshot(as_of, known_on), change, policy)
    day = change_day(change, snapshot(ledger))
    return impact(decision_snapshot(ledger, day, known_on), change, policy)


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
    return impact(decision_snapshot(ledger, d.on, known_on), change, policy)
