"""Public claims checked against the books and, for targets, the forecast (DESIGN section 7)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from datetime import date
from typing import Any

from gpuledger.claims import CapacityFn, ClaimCheck, PlannedFn, check_claims
from gpuledger.domain import Claim, ClaimKind, PolicyName, Scenario
from gpuledger.domain.power import org_capacity
from gpuledger.forecast import Forecast, Progress
from gpuledger.ledger import Ledger
from gpuledger.planning import Plan
from gpuledger.services.books import holdings
from gpuledger.services.forecasting import ForecastJob, forecast_job
from gpuledger.services.planning import plan_report
from gpuledger.services.requests import DEFAULT_POLICY, DEFAULT_SAMPLES, DEFAULT_SEED
from gpuledger.services.visibility import Visibility


def needs_forecast(claims: Iterable[Claim]) -> bool:
    """True when a claim is a ``target`` (checked against the forecast, not the books)."""
    return any(c.kind is ClaimKind.TARGET for c in claims)


def planned_holdings(plan: Plan) -> PlannedFn:
    """An org's holdings on a day in ``plan`` (0 for an org or SKU the plan does not know)."""
    snap = plan.snapshot

    def held(org: str, sku: str, day: date) -> int:
        if org not in snap.consumers or sku not in snap.skus:
            return 0
        return plan.holdings_on(snap.consumers.index(org), snap.skus.index(sku), day.toordinal())

    return held


def site_capacity_of(scenario: Scenario) -> CapacityFn:
    """Units of a SKU an org's sites power on a day with all their power; None: no stated limit.

    The capacity of the org's sites for that SKU alone (all their power to it):
    the claims share it across the org's SKUs by the planner's rule
    (``gpuledger.claims``, ``skus=``). A SKU the scenario does not state, an org
    with no site or a site without a power timeline give None (every unit held
    counts as powered).
    """
    skus = {k.id: k for k in scenario.skus}

    def capacity(org: str, sku: str, day: date) -> int | None:
        if sku not in skus:
            return None
        sites = [site for site in scenario.sites if site.org == org]
        return org_capacity(skus[sku], sites, scenario.parameters, day)

    return capacity


def assumed_inputs(scenario: Scenario) -> dict[str, tuple[str, ...]]:
    """Per org, the records marked ``assumed`` behind its figures (not reported facts)."""
    family = {c.id: c.org for c in scenario.clusters}
    out: dict[str, list[str]] = {}
    for sku in scenario.skus:
        if sku.assumed:
            for each in scenario.orgs:
                out.setdefault(each.id, []).append(f"SKU {sku.id}")
    for order in scenario.orders:
        if order.assumed:
            out.setdefault(order.org, []).append(f"order {order.id}")
    for lot in scenario.lots:
        if lot.assumed:
            out.setdefault(lot.consignee, []).append(f"lot {lot.id}")
    for target in scenario.targets:
        if target.assumed:
            org = family.get(target.consumer, target.consumer)
            out.setdefault(org, []).append(f"target {target.id}")
    return {org: tuple(f"{name} (assumed)" for name in names) for org, names in out.items()}


def claims_report(ledger: Ledger, fc: Forecast | None) -> list[ClaimCheck]:
    """Every claim of the books checked against the books and the forecast ``fc``.

    ``actual`` claims need no forecast; ``target`` claims get null forecast
    figures when ``fc`` is None. With a forecast, the plan under the forecast's
    policy gives the term "forecast against the plan" of each target.
    """
    scenario = ledger.to_scenario()
    cache: dict[tuple[date, date | None], dict[tuple[str, str], int]] = {}

    def held(org: str, sku: str, as_of: date, known_on: date | None) -> int:
        if (as_of, known_on) not in cache:
            cache[(as_of, known_on)] = holdings(ledger, as_of, known_on)
        return cache[(as_of, known_on)].get((org, sku), 0)

    planned = None
    if fc is not None:
        planned = planned_holdings(plan_report(ledger, fc.policy, fc.snapshot.as_of))
    return check_claims(
        scenario.claims,
        held,
        [v.diversion for v in ledger.diversions()],
        fc,
        tolerance=scenario.parameters.claim_tolerance,
        arrivals={lot.id: lot.arrives_on for lot in scenario.lots},
        planned=planned,
        assumed=assumed_inputs(scenario),
        capacity=site_capacity_of(scenario),
        skus=[k.id for k in scenario.skus],
    )


def check(
    ledger: Ledger,
    *,
    policy: PolicyName = DEFAULT_POLICY,
    samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
    seen: Visibility | None = None,
    progress: Progress | None = None,
    one_at_a_time: AbstractContextManager[Any] | None = None,
    run: Callable[[ForecastJob], Forecast] | None = None,
) -> list[ClaimCheck]:
    """The claims ``seen`` covers (every claim when None), forecast only when one needs it.

    Args:
        one_at_a_time: held while the forecast runs (a server's limit on
            concurrent forecasts).
        run: runs the forecast job (a server's worker processes,
            ``services.forecast_workers``); None runs it here, with ``progress``.
    """
    mine = [c for c in ledger.to_scenario().claims if seen is None or seen.sees_org(c.org)]
    if not mine:
        return []
    fc = None
    if needs_forecast(mine):
        with one_at_a_time or nullcontext():
            job = forecast_job(ledger, policy, samples=samples, seed=seed)
            fc = job.run(progress=progress) if run is None else run(job)
    ids = {c.id for c in mine}
    return [c for c in claims_report(ledger, fc) if c.id in ids]
