"""The operations every interface shares: the CLI, the REST API and the web call these.

Each function takes an open :class:`~gpuledger.ledger.Ledger` and plain values and
returns result objects (plans, impacts, forecasts, claim checks) whose
``to_json()`` is the machine contract. A rule that needs both the books and the
planner lives here, once.

Dates: where a command takes no ``as_of``, the books' own "today" is used: the
``as_of`` of the last imported scenario (``Ledger.to_scenario().as_of``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from gpuledger.claims import ClaimCheck, check_claims
from gpuledger.domain import (
    HELD_BUCKETS,
    Bucket,
    Decision,
    Diversion,
    InvalidInput,
    PolicyName,
    Scenario,
    holdings_by_org,
)
from gpuledger.forecast import Forecast, forecast
from gpuledger.forecast import Progress as ForecastProgress
from gpuledger.governance import service as governed_service
from gpuledger.governance.rules import ApprovalState
from gpuledger.governance.store import Governance
from gpuledger.ledger import DiversionView, Ledger
from gpuledger.planning import (
    DivertChange,
    Impact,
    NewOrderChange,
    Plan,
    PriorityChange,
    SlipChange,
    impact,
    plan,
)
from gpuledger.planning.changes import Change, change_day
from gpuledger.planning.snapshot import PlanningSnapshot

ONE_DAY = timedelta(days=1)


def books_today(ledger: Ledger) -> date:
    """The books' "today": the as_of of the last imported scenario."""
    return ledger.to_scenario().as_of


def snapshot(ledger: Ledger, as_of: date | None = None) -> PlanningSnapshot:
    """The planning snapshot as of ``as_of`` (default: the books' today)."""
    return ledger.snapshot(as_of or books_today(ledger))


def plan_report(ledger: Ledger, policy: PolicyName, as_of: date | None = None) -> Plan:
    """The plan of the books under ``policy``."""
    return plan(snapshot(ledger, as_of), policy)


def decision_snapshot(ledger: Ledger, on: date) -> PlanningSnapshot:
    """The books as they stood just before a decision taken on ``on``.

    A change decided on day D is evaluated on the books as of D - 1, so a
    diversion already posted on D (the counterfactual of a past decision) is not
    in the baseline.
    """
    return ledger.snapshot(on - ONE_DAY)


def _parts(value: str, n: int, field: str, shape: str) -> list[str]:
    parts = value.split(":")
    if len(parts) != n or not all(parts):
        raise InvalidInput(f"{field} {value!r} is not {shape}", field=field)
    return parts


def _whole(text: str, field: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(f"{field}: {text!r} is not a whole number", field=field) from None


def parse_change(
    *,
    divert: str | None = None,
    on: date | None = None,
    payback: Sequence[str] = (),
    slip: str | None = None,
    new_order: str | None = None,
    priority: str | None = None,
) -> Change:
    """The planning change that ``gpuledger impact`` options (and ``GET /impact``) describe.

    Exactly one of ``divert`` (``LOT:QTY:FROM:TO``, needs ``on``; ``payback`` is
    ``LOT:QTY`` items), ``slip`` (``LOT:DAYS``), ``new_order``
    (``ORG:VENDOR:SKU:QTY``, needs ``on``) or ``priority`` (``TARGET:PRIORITY``).

    Raises:
        InvalidInput: naming the field: none or several changes, a malformed
            value, a missing ``on``, a payback without a diversion.
    """
    given = [
        name
        for name, value in (
            ("divert", divert),
            ("slip", slip),
            ("new_order", new_order),
            ("priority", priority),
        )
        if value
    ]
    if len(given) != 1:
        raise InvalidInput(
            "give exactly one change: divert, slip, new_order or priority "
            f"({len(given)} given{': ' + ', '.join(given) if given else ''})",
            field=given[1] if len(given) > 1 else "divert",
        )
    if payback and not divert:
        raise InvalidInput("payback applies to a diversion: give it with divert", field="payback")
    if divert:
        lot, qty, src, dst = _parts(divert, 4, "divert", "LOT:QTY:FROM:TO")
        if on is None:
            raise InvalidInput("divert needs on (the date of the diversion)", field="on")
        paid = []
        for item in payback:
            paid_lot, paid_qty = _parts(item, 2, "payback", "LOT:QTY")
            paid.append((paid_lot, _whole(paid_qty, "payback")))
        return DivertChange(lot, _whole(qty, "divert"), src, dst, on, tuple(paid))
    if slip:
        lot, days = _parts(slip, 2, "slip", "LOT:DAYS")
        return SlipChange(lot, _whole(days, "slip"))
    if new_order:
        org, vendor, sku, qty = _parts(new_order, 4, "new_order", "ORG:VENDOR:SKU:QTY")
        if on is None:
            raise InvalidInput("new_order needs on (the date the order is placed)", field="on")
        return NewOrderChange(org, vendor, sku, _whole(qty, "new_order"), on)
    assert priority is not None
    target, level = _parts(priority, 2, "priority", "TARGET:PRIORITY")
    return PriorityChange(target, _whole(level, "priority"))


def impact_of_change(
    ledger: Ledger, change: Change, policy: PolicyName, as_of: date | None = None
) -> Impact:
    """The impact of a hypothetical change, against the books before its date.

    Args:
        as_of: evaluate on the books as of this date instead of the day before
            the change's own date.
    """
    if as_of is None:
        own_day = getattr(change, "day", None)
        day = own_day if isinstance(own_day, date) else change_day(change, snapshot(ledger))
        base = decision_snapshot(ledger, day)
    else:
        base = ledger.snapshot(as_of)
    return impact(base, change, policy)


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
    ledger: Ledger, diversion_id: str, policy: PolicyName, *, with_payback: bool = True
) -> Impact:
    """The impact of a diversion in the books (pending, posted or voided).

    It is evaluated as at its decision: on the books the day before it, so the
    answer is the same before approval and after posting.
    """
    d = ledger.diversion(diversion_id).diversion
    change = divert_change(d if with_payback else _without_payback(d))
    return impact(decision_snapshot(ledger, d.on), change, policy)


def _without_payback(d: Diversion) -> Diversion:
    return Diversion(
        id=d.id,
        lot=d.lot,
        qty=d.qty,
        from_org=d.from_org,
        to_org=d.to_org,
        on=d.on,
        status=d.status,
        known_on=d.known_on,
    )


def governance(ledger: Ledger, clock: Callable[[], datetime]) -> Governance | None:
    """The books' governance, or None when no user exists yet (single-user books).

    Books with no users are a single person's working copy (a fresh ``demo`` or
    ``import``): diversions follow the ledger's two-phase rules but nobody's role
    is checked. The first ``gpuledger user add`` turns the rules on for good.
    """
    gov = Governance(ledger.engine, clock)
    return gov if gov.users() else None


def propose_diversion(
    ledger: Ledger, diversion: Diversion, *, actor: str, clock: Callable[[], datetime]
) -> DiversionView:
    """Propose a diversion as ``actor``: its units are reserved until decided.

    Under governance the proposer needs a planner role on a side; see
    :mod:`gpuledger.governance.rules`.
    """
    gov = governance(ledger, clock)
    if gov is None:
        ledger.propose_diversion(diversion, actor=actor)
        return ledger.diversion(diversion.id)
    view, _ = governed_service.propose(ledger, gov, actor, diversion)
    return view


def approval_state(
    ledger: Ledger, view: DiversionView, clock: Callable[[], datetime]
) -> ApprovalState | None:
    """Who approved a diversion and who still must; None on single-user books."""
    gov = governance(ledger, clock)
    return None if gov is None else governed_service.approvals(view, gov.directory())


def decide_diversion(
    ledger: Ledger,
    diversion_id: str,
    decision: Decision,
    *,
    actor: str,
    clock: Callable[[], datetime],
) -> DiversionView:
    """Approve, reject or void a diversion as ``actor``; it posts once approvals are complete."""
    gov = governance(ledger, clock)
    if gov is None:
        ledger.decide(diversion_id, decision, actor=actor)
        return ledger.diversion(diversion_id)
    view, _ = governed_service.decide(ledger, gov, actor, diversion_id, decision)
    return view


@dataclass(frozen=True)
class BalancesReport:
    """Balances as of a date, as known on a date."""

    as_of: date | None
    known_on: date | None
    rows: tuple[Any, ...]

    def to_json(self) -> dict[str, Any]:
        """The CLI/API contract."""
        return {
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "known_on": self.known_on.isoformat() if self.known_on else None,
            "balances": [b.as_json() for b in self.rows],
        }


def balances_report(
    ledger: Ledger, as_of: date | None = None, known_on: date | None = None
) -> BalancesReport:
    """Balances per account as of ``as_of``, as known on ``known_on`` (None: everything)."""
    return BalancesReport(as_of, known_on, tuple(ledger.balances(as_of=as_of, known_on=known_on)))


# --------------------------------------------------------------------------- holdings


def holdings(
    ledger: Ledger,
    as_of: date | None = None,
    known_on: date | None = None,
    buckets: tuple[Bucket, ...] = HELD_BUCKETS,
) -> dict[tuple[str, str], int]:
    """Posted units per (org, SKU) in ``buckets`` as of / as known on (``holdings_by_org``)."""
    cluster_org = {c.id: c.org for c in ledger.to_scenario().clusters}
    return holdings_by_org(ledger.balances(as_of=as_of, known_on=known_on), cluster_org, buckets)


# --------------------------------------------------------------------------- the demo


FOUNDING_DIVERSION = "DIV-2023-12-TESLA-X"


@dataclass(frozen=True)
class HoldingsRow:
    """One org's held units at one reading of the books."""

    label: str
    as_of: date
    known_on: date | None
    org: str
    held: int
    in_transit: int


@dataclass(frozen=True)
class DemoReport:
    """The founding story, computed: books around the diversion and what it cost."""

    scenario: str
    diversion: Diversion
    policy: PolicyName
    books: tuple[HoldingsRow, ...]
    window_end: date
    giver_gpu_days_lost: int  # without payback, diversion day .. window_end
    giver_gpu_days_lost_with_payback: int
    with_payback: Impact
    without_payback: Impact
    gpu_hour_price_usd: float | None
    gpu_hour_price_source: str | None
    claims: tuple[ClaimCheck, ...] = ()

    def cost_usd(self, gpu_days: int) -> float | None:
        """Rental-equivalent cost of GPU-days at the scenario's assumed price."""
        if self.gpu_hour_price_usd is None:
            return None
        return gpu_days * 24 * self.gpu_hour_price_usd

    def to_json(self) -> dict[str, Any]:
        """Everything the demo prints, for machines."""
        return {
            "scenario": self.scenario,
            "diversion": self.diversion.id,
            "policy": str(self.policy),
            "books": [
                {
                    "label": r.label,
                    "as_of": r.as_of.isoformat(),
                    "known_on": r.known_on.isoformat() if r.known_on else None,
                    "org": r.org,
                    "held": r.held,
                    "in_transit": r.in_transit,
                }
                for r in self.books
            ],
            "window_end": self.window_end.isoformat(),
            "giver_gpu_days_lost": self.giver_gpu_days_lost,
            "giver_gpu_days_lost_with_payback": self.giver_gpu_days_lost_with_payback,
            "with_payback": self.with_payback.to_json(),
            "without_payback": self.without_payback.to_json(),
            "gpu_hour_price_usd": self.gpu_hour_price_usd,
            "gpu_hour_price_source": self.gpu_hour_price_source,
            "claims": [c.to_json() for c in self.claims],
        }


DEMO_SAMPLES = 1000
DEMO_SEED = 0


def demo_report(
    ledger: Ledger,
    diversion_id: str = FOUNDING_DIVERSION,
    policy: PolicyName = PolicyName.CONSIGNED,
) -> DemoReport:
    """Compute the founding story's report from books that hold it.

    Phases: 1. read the diversion and the scenario's parameters; 2. the books
    the day before and the day of the diversion, and on the day of Tesla's
    April 2024 statement as known then and as known now; 3. the impact of the
    diversion with and without its payback, under ``policy``; 4. the public
    claims against the books and a seeded forecast.
    """
    # 1. The diversion and the assumptions.
    scenario = ledger.to_scenario()
    d = ledger.diversion(diversion_id).diversion
    orgs = sorted({d.from_org, d.to_org})
    sku = _lot_sku(ledger, d)
    # 2. The books around the decision.
    readings: list[tuple[str, date, date | None]] = [
        ("day before the diversion", d.on - ONE_DAY, None),
        ("day of the diversion", d.on, None),
    ]
    statements = sorted({c.stated_on for c in scenario.claims if c.org == d.from_org})
    for stated in statements:
        readings.append((f"{stated.isoformat()}, as known then", stated, stated))
        readings.append((f"{stated.isoformat()}, as known now", stated, None))
    books = tuple(
        HoldingsRow(label, as_of, known, org, held.get((org, sku), 0), moving.get((org, sku), 0))
        for label, as_of, known in readings
        for held, moving in (
            (
                holdings(ledger, as_of, known),
                holdings(ledger, as_of, known, (Bucket.IN_TRANSIT,)),
            ),
        )
        for org in orgs
    )
    # 3. What it cost, with and without the payback, over the giver's target window.
    with_payback = impact_of_diversion(ledger, diversion_id, policy)
    without_payback = impact_of_diversion(ledger, diversion_id, policy, with_payback=False)
    window_end = max(
        (t.by for t in scenario.targets if _consumer_org(scenario, t.consumer) == d.from_org),
        default=d.on,
    )
    return DemoReport(
        scenario=scenario.name,
        diversion=d,
        policy=policy,
        books=books,
        window_end=window_end,
        giver_gpu_days_lost=org_gpu_days_lost(without_payback, d.from_org, sku, d.on, window_end),
        giver_gpu_days_lost_with_payback=org_gpu_days_lost(
            with_payback, d.from_org, sku, d.on, window_end
        ),
        with_payback=with_payback,
        without_payback=without_payback,
        claims=tuple(
            claims_report(
                ledger,
                forecast_report(ledger, policy, samples=DEMO_SAMPLES, seed=DEMO_SEED),
            )
        ),
        gpu_hour_price_usd=scenario.parameters.gpu_hour_price_usd,
        gpu_hour_price_source=scenario.parameters.gpu_hour_price_source,
    )


def org_gpu_days_lost(result: Impact, org: str, sku: str, start: date, until: date) -> int:
    """GPU-days an org held less after a change than before, from ``start`` to ``until``.

    The area between the org's holdings curves (its clusters included), counting
    only days where it holds less, both ends inclusive. Unlike the per-target
    figures, this counts each GPU once however many targets it served.
    """

    def curve(p: Plan) -> Any:
        snap = p.snapshot
        c, k = snap.consumers.index(org), snap.skus.index(sku)
        days = np.arange(start.toordinal(), until.toordinal() + 1)
        idx = np.clip(days - p.day0, 0, p.n_days - 1)
        values = p.curve(c, k)[idx]
        return np.where(days < p.day0, 0, values)

    return int(np.clip(curve(result.before) - curve(result.after), 0, None).sum())


def _consumer_org(scenario: Scenario, consumer: str) -> str:
    clusters = {c.id: c.org for c in scenario.clusters}
    return clusters.get(consumer, consumer)


def _lot_sku(ledger: Ledger, d: Diversion) -> str:
    return ledger.trace(d.lot).sku


# --------------------------------------------------------------------------- forecast and claims


def forecast_report(
    ledger: Ledger,
    policy: PolicyName,
    *,
    samples: int,
    seed: int,
    as_of: date | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: ForecastProgress | None = None,
) -> Forecast:
    """The Monte Carlo forecast of the books under ``policy``.

    The holdings curves always include the dates of the books' claims, so
    ``claims_report`` reads them exactly.
    """
    scenario = ledger.to_scenario()
    claim_days = sorted({c.by for c in scenario.claims} | {c.stated_on for c in scenario.claims})
    return forecast(
        ledger.snapshot(as_of or scenario.as_of),
        policy,
        samples=samples,
        seed=seed,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        curve_days=claim_days,
    )


def claims_report(ledger: Ledger, fc: Forecast | None) -> list[ClaimCheck]:
    """Every claim of the books checked against the books and the forecast ``fc``.

    ``actual`` claims need no forecast; ``target`` claims get null forecast
    figures when ``fc`` is None.
    """
    scenario = ledger.to_scenario()
    cache: dict[tuple[date, date | None], dict[tuple[str, str], int]] = {}

    def held(org: str, sku: str, as_of: date, known_on: date | None) -> int:
        if (as_of, known_on) not in cache:
            cache[(as_of, known_on)] = holdings(ledger, as_of, known_on)
        return cache[(as_of, known_on)].get((org, sku), 0)

    return check_claims(
        scenario.claims,
        held,
        [v.diversion for v in ledger.diversions()],
        fc,
        tolerance=scenario.parameters.claim_tolerance,
    )
