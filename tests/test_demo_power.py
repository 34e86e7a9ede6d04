"""The founding story answers Musk: held vs powered for Tesla (demo's power section).

The sites below are the founding story's ``sites`` section (the scenario file's
numbers, with its sources there). Until the books store sites, a thin test
double hands them to the demo through ``to_scenario``; everything else is the
real path (scenario -> ledger -> services -> planning). Figures by hand:

- Tesla holds 11,000 from 2023-09-18. Its documented site runs 10,000 H100 from
  2023-08-28 (14.5236 MW / (700 W x 1.82 x 1.14)); Cortex 50,000 more from
  2024-11-15 (71.344 MW / (700 x 1.82 x 1.12)).
- Had the 12,000 arrived (2023-12-18), Tesla would have held 23,000 - but powered
  10,000 either way until 2024-11-15, and 60,000 of 85,000 or of 73,000 after: 0
  powered GPU-days lost. Held: 12,000 x 380 days (2023-12-18 .. 2024-12-31) =
  4,560,000 without the payback; with it 12,000 x 35 + 6,000 x 147 = 1,302,000.
- Claim tesla-35k-active (2024-04-23): the books hold 29,000; the sites power
  10,000; 35,000 x 700 x 1.82 x 1.12 = 49.94 MW needed vs 14.52 MW stated.
- If the claim held (25,000 more from 2024-04-23), the diversion would have cost
  12,000 x 83 days (04-23 .. 07-14) + 12,000 x 47 days (11-15 .. 12-31) =
  1,560,000 powered GPU-days without the payback.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from gpuledger.demo import DemoReport, demo_report
from gpuledger.domain import Cluster, Parameters, PowerStep, Scenario, Site, Sku
from gpuledger.ledger import Ledger
from gpuledger.scenario import demo_scenario_path, load_scenario

SITES = (
    Site(
        id="tesla-h100-2023",
        org="tesla",
        pue=1.14,
        power=(PowerStep(date(2023, 8, 28), 14.5236),),
    ),
    Site(
        id="giga-texas",
        org="tesla",
        pue=1.12,
        power=(PowerStep(date(2024, 11, 15), 71.344),),
    ),
    Site(
        id="colossus-memphis",
        org="xai",
        pue=1.365,
        power=(
            PowerStep(date(2024, 4, 24), 0.0),
            PowerStep(date(2024, 8, 11), 44.0),
            PowerStep(date(2024, 9, 2), 174.0),
            PowerStep(date(2025, 2, 17), 349.0),
        ),
    ),
)


def with_sites(s: Scenario) -> Scenario:
    """The founding story with its sites, the H100's power draw and Epoch's PUE."""
    sites_of = {"tesla-cortex": "giga-texas", "xai-colossus": "colossus-memphis"}
    return replace(
        s,
        sites=SITES,
        skus=tuple(replace(k, tdp_w=700, h100e=1.0) for k in s.skus),
        clusters=tuple(replace(c, site=sites_of.get(c.id)) for c in s.clusters),
        parameters=replace(s.parameters, system_overhead=1.82, pue=1.12),
    )


class BooksWithSites:
    """The ledger, whose scenario also states the story's sites (a test double)."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def to_scenario(self, as_of: date | None = None) -> Scenario:
        return with_sites(self._ledger.to_scenario(as_of))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ledger, name)


@pytest.fixture(scope="module")
def report() -> DemoReport:
    ledger = Ledger.open("sqlite://")
    try:
        ledger.import_scenario(load_scenario(demo_scenario_path()))
        return demo_report(BooksWithSites(ledger))  # type: ignore[arg-type]
    finally:
        ledger.close()


def test_the_diverted_units_had_no_powered_room_at_tesla(report: DemoReport) -> None:
    p = report.power
    assert p is not None and p.org == "tesla" and p.sites == ("tesla-h100-2023", "giga-texas")
    days = {d.on: d for d in p.days}
    assert days[date(2023, 12, 18)].held_before == 23000
    assert days[date(2023, 12, 18)].held_after == 11000
    assert days[date(2023, 12, 18)].capacity == 10000
    assert days[date(2024, 11, 15)].capacity == 60000
    assert (days[date(2024, 12, 1)].powered_before, days[date(2024, 12, 1)].powered_after) == (
        60000,
        60000,
    )
    assert all(d.could_power == 0 for d in p.days)
    assert min(days) == date(2023, 12, 18) and max(days) == date(2024, 12, 1)


def test_gpu_days_lost_held_vs_powered(report: DemoReport) -> None:
    p = report.power
    assert p is not None
    assert (p.gpu_days_lost, p.powered_gpu_days_lost) == (4_560_000, 0)
    assert (p.gpu_days_lost_with_payback, p.powered_gpu_days_lost_with_payback) == (1_302_000, 0)
    assert report.giver_gpu_days_lost == p.gpu_days_lost


def test_the_35k_active_claim_against_powered_capacity(report: DemoReport) -> None:
    p = report.power
    assert p is not None
    (c,) = p.claims
    assert (c.claim, c.qty, c.on, c.held, c.capacity) == (
        "tesla-35k-active",
        35000,
        date(2024, 4, 23),
        29000,
        10000,
    )
    assert (c.mw_needed, c.mw_stated) == (49.94, 14.52)
    assert p.if_claim_holds == 1_560_000
    assert any("tesla-35k-active" in line for line in p.unsettled)


def test_without_sites_the_demo_has_no_power_section() -> None:
    s = load_scenario(demo_scenario_path())
    s = replace(s, sites=(), clusters=tuple(replace(c, site=None) for c in s.clusters))
    ledger = Ledger.open("sqlite://")
    try:
        ledger.import_scenario(s)
        assert demo_report(ledger).power is None
    finally:
        ledger.close()


def test_site_records_match_epoch_unit_counts() -> None:
    from gpuledger.domain.power import site_capacity

    h100 = Sku(id="H100", tdp_w=700)
    params = Parameters(pue=1.12)
    assert site_capacity(h100, SITES[0], params, date(2023, 8, 28)) == 10000
    assert site_capacity(h100, SITES[1], params, date(2024, 11, 15)) == 50000
    assert site_capacity(h100, SITES[2], params, date(2024, 8, 11)) == 25301
    assert site_capacity(h100, SITES[2], params, date(2024, 9, 2)) == 100056
    assert Cluster(id="c", org="tesla", site="giga-texas").site == "giga-texas"


def test_the_dashboard_headline_shows_both_measures() -> None:
    from gpuledger.demo import FOUNDING_DIVERSION
    from gpuledger.services.dashboard import headline

    ledger = Ledger.open("sqlite://")
    try:
        ledger.import_scenario(load_scenario(demo_scenario_path()))
        books = BooksWithSites(ledger)
        h = headline(books, ledger.diversion(FOUNDING_DIVERSION))  # type: ignore[arg-type]
    finally:
        ledger.close()
    assert (h.gpu_days_without_payback, h.powered_gpu_days_without_payback) == (4_560_000, 0)
    assert h.to_json()["powered_gpu_days_without_payback"] == 0
