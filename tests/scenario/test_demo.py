"""The shipped founding-story scenario and the small example: they load, and the numbers add up."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from gpuledger.demo import FOUNDING_DIVERSION, DemoReport, demo_report
from gpuledger.domain import ClaimKind, DiversionStatus, Scenario
from gpuledger.domain.serialize import json_fields
from gpuledger.ledger import Ledger
from gpuledger.scenario import demo_scenario_path, load_scenario

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "small.yaml"
H100 = "H100-SXM5-80GB"
CALL = date(2024, 4, 23)  # Tesla's Q1 2024 earnings call (fact 4)


@pytest.fixture(scope="module")
def demo() -> Scenario:
    return load_scenario(demo_scenario_path())


def _lot_qty(demo: Scenario, org: str, by: date, *, skip: tuple[str, ...] = ()) -> int:
    return sum(
        lot.qty
        for lot in demo.lots
        if lot.consignee == org and lot.arrives_on <= by and lot.id not in skip
    )


def test_the_demo_is_the_founding_story(demo: Scenario) -> None:
    assert demo_scenario_path().name == "founding_story.yaml"
    assert (demo.name, demo.as_of) == ("founding-story", date(2024, 6, 30))
    assert {o.id: o.group for o in demo.orgs} == {"tesla": "musk", "x": "musk", "xai": "musk"}
    assert {c.id: c.org for c in demo.clusters} == {
        "tesla-cortex": "tesla",
        "x-cluster": "x",
        "xai-colossus": "xai",
    }
    (sku,) = demo.skus
    assert (sku.id, sku.annual_failure_rate) == (H100, 0.09)
    assert demo.parameters.claim_tolerance == 0.05
    assert demo.parameters.horizon_days == 730
    assert demo.parameters.gpu_hour_price_usd == 2.0


def test_lead_times_follow_the_reported_ranges(demo: Scenario) -> None:
    (nvidia,) = demo.vendors
    rows = [(lt.from_date, lt.p50_days, lt.p90_days) for lt in nvidia.lead_times]
    # 39/52 weeks (Omdia, Dell late 2023), 8/11 months (UBS Feb 2024), 10/12 weeks (Dell Apr 2024)
    assert rows == [
        (date(2023, 1, 1), 39 * 7, 52 * 7),
        (date(2024, 2, 1), 243, 335),
        (date(2024, 4, 1), 10 * 7, 12 * 7),
    ]
    assert all(lt.assumed for lt in nvidia.lead_times)  # ranges read as P50/P90


def test_the_diversion_and_its_payback(demo: Scenario) -> None:
    (div,) = demo.diversions
    assert (div.id, div.lot, div.qty, div.from_org, div.to_org) == (
        "DIV-2023-12-TESLA-X",
        "LOT-T-2023-12",
        12_000,
        "tesla",
        "x",
    )
    assert (div.on.year, div.on.month) == (2023, 12)
    assert div.known_on == date(2024, 6, 4)  # CNBC's report
    assert div.status is DiversionStatus.POSTED
    assert [(p.lot, p.qty) for p in div.payback] == [
        ("LOT-X-2024-01", 6000),
        ("LOT-X-2024-06", 6000),
    ]
    lots = {lot.id: lot for lot in demo.lots}
    shipped = lots["LOT-T-2023-12"]
    assert shipped.qty >= 12_000 and shipped.consignee == "tesla"
    assert (shipped.ships_on, shipped.arrives_on) == (date(2023, 12, 4), date(2023, 12, 18))
    assert shipped.ships_on <= div.on < shipped.arrives_on  # diverted in transit
    x_lots = [lots[p.lot] for p in div.payback]
    assert [(x.consignee, x.ships_on.month, x.ships_on.year) for x in x_lots] == [
        ("x", 1, 2024),
        ("x", 6, 2024),
    ]
    assert sum(x.qty for x in x_lots) == 12_000  # "original X orders of 12k H100"


def test_tesla_held_35k_as_known_on_its_q1_call(demo: Scenario) -> None:
    # Known then: the diversion was recorded only on 2024-06-04, so the 12k count.
    assert _lot_qty(demo, "tesla", CALL) == 35_000
    # Known now: 12k went to X, 6k of X's January lot came back.
    (div,) = demo.diversions
    lots = {lot.id: lot for lot in demo.lots}
    paid_back = sum(p.qty for p in div.payback if lots[p.lot].arrives_on <= CALL)
    assert _lot_qty(demo, "tesla", CALL) - div.qty + paid_back == 29_000


def test_tesla_reaches_85k_by_year_end_only_with_the_diverted_lot(demo: Scenario) -> None:
    eoy = date(2024, 12, 31)
    assert _lot_qty(demo, "tesla", eoy) == 85_000
    assert _lot_qty(demo, "tesla", eoy, skip=("LOT-T-2023-12",)) == 73_000
    # ... and Tesla's lots reach Cortex's 50k by the end of October 2024.
    assert _lot_qty(demo, "tesla", date(2024, 10, 31)) >= 50_000


def test_orders_cover_their_lots(demo: Scenario) -> None:
    for order in demo.orders:
        lotted = sum(lot.qty for lot in demo.lots if lot.order == order.id)
        assert lotted + sum(d.qty for d in order.schedule) <= order.qty, order.id
    by_org = {o.id: o.org for o in demo.orders}
    assert all(by_org[lot.order] == lot.consignee for lot in demo.lots)


def test_targets_and_claims_carry_tesla_s_statements(demo: Scenario) -> None:
    targets = {t.id: t for t in demo.targets}
    eoy = targets["tesla-eoy24"]
    assert (eoy.consumer, eoy.qty, eoy.by, eoy.priority) == ("tesla", 85_000, date(2024, 12, 31), 1)
    cortex = targets["tesla-cortex-oct24"]
    assert (cortex.consumer, cortex.qty, cortex.by) == ("tesla-cortex", 50_000, date(2024, 10, 31))
    assert any(t.consumer == "x-cluster" and t.assumed for t in demo.targets)
    claims = {c.id: c for c in demo.claims}
    active, year_end = claims["tesla-35k-active"], claims["tesla-85k-eoy"]
    assert (active.kind, active.qty, active.by, active.stated_on) == (
        ClaimKind.ACTUAL,
        35_000,
        CALL,
        CALL,
    )
    assert (year_end.kind, year_end.qty, year_end.by, year_end.stated_on) == (
        ClaimKind.TARGET,
        85_000,
        date(2024, 12, 31),
        CALL,
    )


def _sourced(demo: Scenario) -> list[tuple[str, str | None, bool | None]]:
    """(record, source, assumed or None when the record has no such flag)."""
    rows: list[tuple[str, str | None, bool | None]] = [
        ("parameters.gpu_hour_price", demo.parameters.gpu_hour_price_source, True)
    ]
    for kind in (
        "skus",
        "groups",
        "orgs",
        "clusters",
        "orders",
        "lots",
        "targets",
        "claims",
        "diversions",
        "movements",
        "vendors",
    ):
        for record in getattr(demo, kind):
            rows.append((f"{kind} {record.id}", record.source, getattr(record, "assumed", None)))
    for vendor in demo.vendors:
        for lt in vendor.lead_times:
            rows.append((f"lead_time {vendor.id} {lt.from_date}", lt.source, lt.assumed))
    return rows


def test_every_record_of_the_demo_has_a_source(demo: Scenario) -> None:
    missing = [name for name, source, _ in _sourced(demo) if not (source and source.strip())]
    assert missing == []
    assert len(_sourced(demo)) > 30


def test_every_assumption_says_so_and_every_fact_cites_it(demo: Scenario) -> None:
    for name, source, assumed in _sourced(demo):
        assert source is not None
        if assumed:
            assert "ssumed" in source, name
        else:
            assert "Fact" in source or "Article" in source, name


def test_the_small_example_has_what_the_readme_says() -> None:
    small = load_scenario(EXAMPLE)
    assert len(small.groups) == 1
    assert len(small.orgs) == 2 and {o.group for o in small.orgs} == {small.groups[0].id}
    counts = [
        len(small.vendors),
        len(small.orders),
        len(small.lots),
        len(small.targets),
        len(small.claims),
        len(small.diversions),
    ]
    assert counts == [1, 2, 5, 3, 1, 1]


def test_the_demo_report_is_its_dataclass_as_json() -> None:
    """``gpuledger demo --json`` is the report's JSON fields, in order; the objects stay out."""
    ledger = Ledger.open("sqlite://")
    try:
        ledger.import_scenario(load_scenario(demo_scenario_path()), actor="demo")
        report = demo_report(ledger)
    finally:
        ledger.close()
    data = report.to_json()
    assert list(data) == list(json_fields(DemoReport))
    assert not {"record", "impacts", "checks"} & set(data)
    assert data["diversion"] == FOUNDING_DIVERSION == report.record.id
    assert data["with_payback"] == report.impacts[0].to_json()
    assert data["without_payback"] == report.impacts[1].to_json()
    assert data["claims"] == [c.to_json() for c in report.checks]
    assert json.loads(json.dumps(data)) == data  # plain JSON values only
