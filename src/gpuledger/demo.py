"""The founding story, computed: ``gpuledger demo`` and its JSON.

In December 2023, 12,000 H100s shipped for Tesla went to X. From books that
hold the story (``gpuledger.scenario.demo_scenario_path()``), :func:`demo_report`
reads the books around the diversion, its impact on Tesla's targets with and
without X's payback lots, the GPU-days Tesla held less, and Tesla's public
claims against the books. When the books hold the giver's sites, :func:`power_answer`
weighs Musk's answer ("no place to send the Nvidia chips to turn them on") with
numbers: how many of the diverted units the giver could have powered on each
date, GPU-days lost held vs powered, and its "active" claims against its powered
capacity (see docs/planning.md for the two measures).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np

from gpuledger.claims import ClaimCheck
from gpuledger.domain import (
    Bucket,
    Claim,
    ClaimKind,
    Diversion,
    PolicyName,
    PowerStep,
    Scenario,
    Site,
)
from gpuledger.domain.money import rental_usd
from gpuledger.domain.power import WATTS_PER_MW, org_capacity
from gpuledger.domain.serialize import jsonable
from gpuledger.ledger import Ledger
from gpuledger.planning import Impact, Plan, impact, with_sites
from gpuledger.planning.power import NO_LIMIT, capacity_on
from gpuledger.services.books import holdings
from gpuledger.services.claims import claims_report
from gpuledger.services.forecasting import forecast_report
from gpuledger.services.planning import ONE_DAY, divert_change, impact_of_diversion
from gpuledger.services.requests import DEFAULT_POLICY, DEFAULT_SAMPLES, DEFAULT_SEED

FOUNDING_DIVERSION = "DIV-2023-12-TESLA-X"
#: The forecast behind the demo's claims check.
DEMO_SAMPLES = DEFAULT_SAMPLES
DEMO_SEED = DEFAULT_SEED


@dataclass(frozen=True)
class HoldingsRow:
    """One org's held units at one reading of the books."""

    label: str
    as_of: date
    known_on: date | None
    org: str
    held: int
    in_transit: int


_HIDDEN: dict[str, Any] = {"json": False}


@dataclass(frozen=True)
class PoweredDay:
    """The giver on one date, had the diversion not happened (before) and with it (after).

    ``could_power`` is how many of the diverted units the giver could have powered
    that day: powered before minus powered after (without the payback).
    """

    on: date
    capacity: int | None
    held_before: int
    held_after: int
    powered_before: int
    powered_after: int
    could_power: int


@dataclass(frozen=True)
class ClaimVsPower:
    """An ``actual`` claim of the giver against its books and its sites' power then.

    ``mw_needed``: the facility power the claimed units draw by Epoch AI's method
    (TDP x system overhead x PUE, the scenario's parameters); ``mw_stated``: the
    giver's sites' power on that date.
    """

    claim: str
    qty: int
    on: date
    held: int
    capacity: int | None
    mw_needed: float | None
    mw_stated: float


@dataclass(frozen=True)
class PowerAnswer:
    """Could the giver have turned the diverted units on? Both measures, side by side.

    ``gpu_days_lost_*`` count units held; ``powered_gpu_days_lost_*`` only units its
    sites could have powered (over the impact's window). ``if_claim_holds`` is the
    powered GPU-days lost without the payback if the giver's largest ``actual``
    claim were true (an assumed site adds the power the claim needs from its date);
    None when it has no such claim. ``unsettled`` says what the public record does
    not settle.
    """

    org: str
    sku: str
    sites: tuple[str, ...]
    days: tuple[PoweredDay, ...]
    gpu_days_lost: int
    powered_gpu_days_lost: int
    gpu_days_lost_with_payback: int
    powered_gpu_days_lost_with_payback: int
    claims: tuple[ClaimVsPower, ...]
    if_claim_holds: int | None
    unsettled: tuple[str, ...]


@dataclass(frozen=True)
class DemoReport:
    """The founding story's report; its JSON fields are ``gpuledger demo --json``.

    ``with_payback``, ``without_payback`` and ``claims`` hold the JSON of the
    results kept beside them (``impacts``, ``checks``) for the tables.
    """

    scenario: str
    diversion: str
    policy: PolicyName
    books: tuple[HoldingsRow, ...]
    window_end: date
    giver_gpu_days_lost: int  # without payback, diversion day .. window_end
    giver_gpu_days_lost_with_payback: int
    with_payback: dict[str, Any]
    without_payback: dict[str, Any]
    gpu_hour_price_usd: float | None
    gpu_hour_price_source: str | None
    claims: tuple[dict[str, Any], ...]
    power: PowerAnswer | None
    record: Diversion = field(metadata=_HIDDEN)
    impacts: tuple[Impact, Impact] = field(metadata=_HIDDEN)  # (with, without) payback
    checks: tuple[ClaimCheck, ...] = field(default=(), metadata=_HIDDEN)

    def cost_usd(self, gpu_days: int) -> float | None:
        """Rental-equivalent cost of GPU-days at the scenario's assumed price."""
        return rental_usd(gpu_days, self.gpu_hour_price_usd)

    def to_json(self) -> dict[str, Any]:
        """Everything the demo prints, for machines."""
        data: dict[str, Any] = jsonable(self)
        return data


def demo_report(
    ledger: Ledger,
    diversion_id: str = FOUNDING_DIVERSION,
    policy: PolicyName = DEFAULT_POLICY,
) -> DemoReport:
    """Compute the founding story's report from books that hold it.

    Phases: 1. read the diversion and the scenario's parameters; 2. the books
    the day before and the day of the diversion, and on the day of each of the
    giver's statements as known then and as known now; 3. the impact of the
    diversion with and without its payback, under ``policy``; 4. the public
    claims against the books and a seeded forecast.
    """
    # 1. The diversion and the assumptions.
    scenario = ledger.to_scenario()
    d = ledger.diversion(diversion_id).diversion
    sku = ledger.trace(d.lot).sku
    # 2. The books around the decision.
    books = _readings(ledger, d, sku)
    # 3. What it cost, with and without the payback, over the impact's window.
    with_payback = impact_of_diversion(ledger, diversion_id, policy)
    without = impact_of_diversion(ledger, diversion_id, policy, with_payback=False)
    # 4. The claims against the books and a seeded forecast.
    fc = forecast_report(ledger, policy, samples=DEMO_SAMPLES, seed=DEMO_SEED)
    checks = tuple(claims_report(ledger, fc))
    # 5. Could the giver have powered the units? (only when the books hold its sites)
    power = power_answer(ledger, d, sku, (with_payback, without), policy)
    return DemoReport(
        scenario=scenario.name,
        diversion=d.id,
        policy=policy,
        books=books,
        window_end=without.window_end,
        giver_gpu_days_lost=_lost(without, d.from_org, sku),
        giver_gpu_days_lost_with_payback=_lost(with_payback, d.from_org, sku),
        with_payback=with_payback.to_json(),
        without_payback=without.to_json(),
        gpu_hour_price_usd=scenario.parameters.gpu_hour_price_usd,
        gpu_hour_price_source=scenario.parameters.gpu_hour_price_source,
        claims=tuple(c.to_json() for c in checks),
        power=power,
        record=d,
        impacts=(with_payback, without),
        checks=checks,
    )


def _readings(ledger: Ledger, d: Diversion, sku: str) -> tuple[HoldingsRow, ...]:
    """Both sides' holdings the day before and of the diversion, and at each statement."""
    orgs = sorted({d.from_org, d.to_org})
    readings: list[tuple[str, date, date | None]] = [
        ("day before the diversion", d.on - ONE_DAY, None),
        ("day of the diversion", d.on, None),
    ]
    claims = ledger.to_scenario().claims
    for stated in sorted({c.stated_on for c in claims if c.org == d.from_org}):
        # the books record what was public: "then" is the public's knowledge, not the giver's
        readings.append((f"{stated.isoformat()}, as publicly known then", stated, stated))
        readings.append((f"{stated.isoformat()}, as known now", stated, None))
    rows = []
    for label, as_of, known in readings:
        held = holdings(ledger, as_of, known)
        moving = holdings(ledger, as_of, known, (Bucket.IN_TRANSIT,))
        rows += [
            HoldingsRow(label, as_of, known, o, held.get((o, sku), 0), moving.get((o, sku), 0))
            for o in orgs
        ]
    return tuple(rows)


def _lost(result: Impact, org: str, sku: str) -> int:
    """The org-level headline of an impact: GPU-days ``org`` held less over its window."""
    row = result.org(org, sku)
    return 0 if row is None else row.gpu_days_lost


def power_answer(
    ledger: Ledger,
    d: Diversion,
    sku: str,
    impacts: tuple[Impact, Impact],
    policy: PolicyName,
) -> PowerAnswer | None:
    """Held vs powered for the diversion's giver; None when the books hold no site of it.

    Phases: 1. the giver's sites; 2. on each date (the lot's arrival, the first of
    each month and each power step, within the impact's window) the giver held and
    powered with and without the diversion; 3. both GPU-day losses; 4. its
    ``actual`` claims against its power, and the powered loss if the largest held.
    """
    # 1. The giver's sites.
    scenario = ledger.to_scenario()
    sites = tuple(x for x in scenario.sites if x.org == d.from_org)
    if not sites:
        return None
    with_payback, without = impacts
    # 2. Each date, before and after (without the payback: the 12,000 alone).
    days = tuple(_powered_days(without, scenario, d, sku, sites))
    # 3. Both measures, with and without the payback.
    lost = _org_row(without, d.from_org, sku)
    lost_paid = _org_row(with_payback, d.from_org, sku)
    # 4. The claims and the powered loss if the largest actual claim held.
    actual = [c for c in scenario.claims if c.org == d.from_org and c.kind is ClaimKind.ACTUAL]
    checks = tuple(_claim_vs_power(c, with_payback.after, scenario, sites) for c in actual)
    largest = max(actual, key=lambda c: c.qty, default=None)
    alt = None if largest is None else _if_claim_holds(ledger, d, sku, largest, scenario, policy)
    return PowerAnswer(
        org=d.from_org,
        sku=sku,
        sites=tuple(x.id for x in sites),
        days=days,
        gpu_days_lost=lost[0],
        powered_gpu_days_lost=lost[1],
        gpu_days_lost_with_payback=lost_paid[0],
        powered_gpu_days_lost_with_payback=lost_paid[1],
        claims=checks,
        if_claim_holds=alt,
        unsettled=_unsettled(d, checks),
    )


def _org_row(result: Impact, org: str, sku: str) -> tuple[int, int]:
    row = result.org(org, sku)
    return (0, 0) if row is None else (row.gpu_days_lost, row.powered_gpu_days_lost)


def _powered_days(
    result: Impact, scenario: Scenario, d: Diversion, sku: str, sites: tuple[Site, ...]
) -> list[PoweredDay]:
    before, after = result.before, result.after
    s = before.snapshot
    o, k = s.orgs.index(d.from_org), s.skus.index(sku)
    start, end = result.window_start, result.window_end
    wanted = {x.arrives_on for x in scenario.lots if x.id == d.lot}
    month = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    while month <= end:
        wanted.add(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    wanted |= {step.from_date for x in sites for step in x.power}
    dates = sorted(x for x in wanted if start <= x <= end)
    caps = capacity_on(s, np.array([x.toordinal() for x in dates], dtype=np.int64))
    rows = []
    for i, on in enumerate(dates):
        day = on.toordinal()
        cap = None if caps is None or int(caps[o, k, i]) == NO_LIMIT else int(caps[o, k, i])
        pb, pa = before.powered_on(o, k, day), after.powered_on(o, k, day)
        rows.append(
            PoweredDay(
                on=on,
                capacity=cap,
                held_before=before.holdings_on(o, k, day),
                held_after=after.holdings_on(o, k, day),
                powered_before=pb,
                powered_after=pa,
                could_power=pb - pa,
            )
        )
    return rows


def _watts(scenario: Scenario, sku: str) -> float | None:
    """Facility watts per unit by Epoch AI's method at the scenario's parameters."""
    k = next((x for x in scenario.skus if x.id == sku), None)
    if k is None or k.tdp_w is None:
        return None
    p = scenario.parameters
    return k.tdp_w * p.system_overhead * p.pue


def _claim_vs_power(
    c: Claim, books: Plan, scenario: Scenario, sites: tuple[Site, ...]
) -> ClaimVsPower:
    s = books.snapshot
    o, k = s.orgs.index(c.org), s.skus.index(c.sku)
    cap = capacity_on(s, np.array([c.by.toordinal()], dtype=np.int64))
    limit = None if cap is None or int(cap[o, k, 0]) == NO_LIMIT else int(cap[o, k, 0])
    watts = _watts(scenario, c.sku)
    return ClaimVsPower(
        claim=c.id,
        qty=c.qty,
        on=c.by,
        held=books.holdings_on(o, k, c.by.toordinal()),
        capacity=limit,
        mw_needed=None if watts is None else round(c.qty * watts / WATTS_PER_MW, 2),
        mw_stated=round(sum(x.mw_on(c.by) or 0.0 for x in sites), 2),
    )


def _if_claim_holds(
    ledger: Ledger, d: Diversion, sku: str, c: Claim, scenario: Scenario, policy: PolicyName
) -> int | None:
    """Powered GPU-days lost (no payback) had the giver's sites powered ``c.qty`` from ``c.by``.

    An assumed site supplies the power for the claimed units beyond the stated
    sites' capacity, from the claim's date on (Epoch AI's method at the scenario's
    parameters).
    """
    watts = _watts(scenario, sku)
    record = next((x for x in scenario.skus if x.id == sku), None)
    mine = [x for x in scenario.sites if x.org == d.from_org]
    stated = None if record is None else org_capacity(record, mine, scenario.parameters, c.by)
    if watts is None or stated is None:
        return None
    extra = max(0, c.qty - stated) * watts / WATTS_PER_MW
    site = Site(
        id=f"{d.from_org}-as-claimed",
        org=d.from_org,
        pue=scenario.parameters.pue,
        power=(PowerStep(c.by, extra, source=f"claim {c.id}", assumed=True),),
        assumed=True,
    )
    alt = replace(scenario, sites=(*scenario.sites, site))
    books = with_sites(ledger.snapshot(d.on - ONE_DAY), alt)
    result = impact(books, divert_change(replace(d, payback=())), policy)
    return _org_row(result, d.from_org, sku)[1]


def _unsettled(d: Diversion, checks: tuple[ClaimVsPower, ...]) -> tuple[str, ...]:
    """What the public record does not settle (the numbers above depend on it)."""
    lines = [
        f"Where {d.from_org}'s H100 outside its documented sites ran, if anywhere: no "
        "public source gives the power of any other site, so the powered figures count "
        "only the sites in the books.",
        "How much of each site's power went to other hardware (A100s, Dojo, storage): "
        "the powered capacity assumes all of it ran H100.",
        f"Where and when {d.to_org} powered the diverted units: the books state no site "
        f"for {d.to_org}, so its units count as powered on arrival.",
        "The dates and sizes of the lots are assumed (no public lot data).",
    ]
    for c in checks:
        if c.capacity is not None and c.qty > c.capacity:
            lines.append(
                f"Claim {c.claim} ({c.qty:,} working on {c.on.isoformat()}) needs about "
                f"{c.mw_needed:,} MW by Epoch AI's method; the documented sites had "
                f'{c.mw_stated:,} MW ({c.capacity:,} units). It and "no place to turn '
                'them on" cannot both hold for the documented sites alone.'
            )
    return tuple(lines)
