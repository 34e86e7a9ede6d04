"""Claims against the books and the forecast (DESIGN section 7)."""

from __future__ import annotations

from datetime import date

import pytest

from gpuledger.claims import P90_MEANS, VERDICT_RULE, check_claims, claims_report, verdict
from gpuledger.domain import Claim, ClaimKind, ClaimVerdict, Diversion, DiversionStatus, Payback
from gpuledger.forecast import forecast
from gpuledger.planning.snapshot import SupplyKind
from tests.forecast.conftest import D, SnapshotBuilder  # tests/forecast, a package on the test path

APR = D("2024-04-23")


def books(org: str, sku: str, as_of: date, known_on: date | None) -> int:
    """Tesla held 35,000 as known in April; a June correction says 23,000."""
    assert sku == "H100"
    if org != "tesla":
        return 0
    return 35_000 if known_on is not None and known_on < D("2024-06-04") else 23_000


DIVERSIONS = [
    Diversion("div-x", "LOT-7", 12_000, "tesla", "x", D("2023-12-10"), known_on=D("2024-06-04")),
    Diversion("div-back", "LOT-9", 2_000, "x", "tesla", D("2024-01-15")),
    Diversion(
        "div-void", "LOT-8", 500, "tesla", "x", D("2024-01-20"), status=DiversionStatus.VOIDED
    ),
    Diversion(
        "div-late", "LOT-10", 700, "tesla", "x", D("2024-05-01"), status=DiversionStatus.PENDING
    ),
    Diversion("div-other", "LOT-11", 900, "meta", "x", D("2024-01-01")),
]


def actual(qty: int) -> Claim:
    return Claim("tesla-35k", "tesla", "H100", qty, APR, APR, ClaimKind.ACTUAL, "Q1 call")


def test_actual_claim_checked_then_and_now() -> None:
    [check] = check_claims([actual(35_000)], books, DIVERSIONS, None, tolerance=0.05)
    assert (check.books_then, check.books_now) == (35_000, 23_000)
    assert check.gap == 12_000  # claimed minus books now: positive = the claim says more
    assert check.overstated and check.verdict is ClaimVerdict.OVERSTATED
    # posted diversions in or out of tesla up to stated_on, signed; voided and pending left out
    assert [(e.id, e.direction, e.effect) for e in check.explained_by] == [
        ("div-x", "out", 12_000),
        ("div-back", "in", -2_000),
    ]
    assert check.residual == 12_000 - (12_000 - 2_000)


def test_gap_reconciles_with_the_payback_that_came_back() -> None:
    # 12,000 diverted out in December, 6,000 paid back on a lot that arrived in
    # January: the books hold 29,000 against a 35,000 claim, a gap of 6,000
    paid = Diversion(
        "div-x", "LOT-7", 12_000, "tesla", "x", D("2023-12-10"),
        payback=(Payback("LOT-X-JAN", 6_000), Payback("LOT-X-JUN", 6_000)),
    )  # fmt: skip
    arrivals = {"LOT-X-JAN": D("2024-01-20"), "LOT-X-JUN": D("2024-06-20")}
    held = {"tesla": 29_000, "x": 6_000}
    claims = [actual(35_000), Claim("x-6k", "x", "H100", 9_000, APR, APR, ClaimKind.ACTUAL)]
    tesla, x = check_claims(claims, lambda org, *_: held[org], [paid], None, arrivals=arrivals)
    assert tesla.gap == 6_000
    assert [(e.kind, e.effect) for e in tesla.explained_by] == [
        ("diversion", 12_000),
        ("payback", -6_000),  # the June payback had not arrived on 2024-04-23
    ]
    assert tesla.residual == 0
    # the diversion *into* x narrows x's gap: it never explains x's shortfall
    assert [(e.direction, e.effect) for e in x.explained_by] == [("in", -12_000), ("out", 6_000)]
    assert x.gap == 3_000 and x.residual == 3_000 + 12_000 - 6_000
    for c in (tesla, x):
        assert c.gap == sum(e.effect for e in c.explained_by) + c.residual


@pytest.mark.parametrize(
    ("claimed", "verdict_"),
    [
        (24_210, ClaimVerdict.WITHIN_TOLERANCE),
        (24_212, ClaimVerdict.OVERSTATED),
        (23_000, ClaimVerdict.HOLDS),
        (20_000, ClaimVerdict.HOLDS),
    ],
    ids=["within-tolerance", "just-beyond", "exact", "understated"],
)
def test_tolerance_boundary(claimed: int, verdict_: ClaimVerdict) -> None:
    # 23,000 / 0.95 = 24,210.5: up to 24,210 is within 5%
    [check] = check_claims([actual(claimed)], books, [], None, tolerance=0.05)
    assert check.verdict is verdict_


@pytest.mark.parametrize(
    ("p50", "p90", "expected"),
    [
        (85_000, 90_000, ClaimVerdict.HOLDS),
        (81_000, 90_000, ClaimVerdict.WITHIN_TOLERANCE),  # P50 below the claim: not "holds"
        (80_000, 81_000, ClaimVerdict.OVERSTATED),
        (80_000, 80_700, ClaimVerdict.OUT_OF_REACH),
    ],
    ids=["holds", "within", "overstated", "out-of-reach"],
)
def test_one_verdict_rule_for_targets(p50: int, p90: int, expected: ClaimVerdict) -> None:
    # floor = 85,000 x 0.95 = 80,750
    assert verdict(ClaimKind.TARGET, 85_000, p50, p90, 0.05) is expected


def small_fleet_forecast():  # type: ignore[no-untyped-def]
    b = SnapshotBuilder(as_of=D("2024-04-01"), horizon_end=D("2025-06-30")).org("tesla").org("x")
    b.row("L1", "tesla", 20_000, "2024-01-01", SupplyKind.ARRIVED)
    b.row("L2", "tesla", 30_000, "2024-08-01", SupplyKind.EXPECTED)
    b.target("tesla-eoy", "tesla", 85_000, "2024-12-31")
    return forecast(b.build(), "consigned", samples=10, seed=0, curve_days=[D("2024-12-31")])


def test_target_claim_against_the_forecast() -> None:
    claim = Claim("tesla-85k", "tesla", "H100", 85_000, D("2024-12-31"), APR, ClaimKind.TARGET)
    [check] = check_claims(
        [claim],
        books,
        DIVERSIONS,
        small_fleet_forecast(),
        tolerance=0.05,
        planned=lambda org, sku, day: 52_000,
    )
    # no uncertainty in this fleet: every sample holds 50,000 at year end
    assert (check.forecast_p10, check.forecast_p50, check.forecast_p90) == (50_000,) * 3
    assert check.gap == 35_000
    assert check.verdict is ClaimVerdict.OUT_OF_REACH  # even the P90 is below 80,750
    # for a target the window runs to `by`; the pending May diversion moved nothing
    assert [(e.id, e.effect) for e in check.explained_by] == [
        ("div-x", 12_000),
        ("div-back", -2_000),
        ("forecast", 2_000),  # the plan's 52,000 against the forecast's 50,000
    ]
    assert check.pending == ("div-late",)
    assert check.residual == 35_000 - 12_000 + 2_000 - 2_000
    assert any(a.startswith("failures on") for a in check.assumptions)


def test_target_claim_without_forecast_is_not_checked() -> None:
    claim = Claim("t", "tesla", "H100", 85_000, D("2024-12-31"), APR, ClaimKind.TARGET)
    [check] = check_claims([claim], books, [], None)
    assert (check.forecast_p50, check.gap, check.residual) == (None, None, None)
    assert (check.verdict, check.overstated) == (ClaimVerdict.NOT_CHECKED, False)


def test_report_json_contract() -> None:
    report = claims_report(check_claims([actual(35_000)], books, DIVERSIONS[:1], None))
    assert report == {
        "claims": [
            {
                "id": "tesla-35k",
                "org": "tesla",
                "kind": "actual",
                "claimed": 35_000,
                "books_then": 35_000,
                "books_now": 23_000,
                "powered_then": None,
                "powered_now": None,
                "planned": None,
                "forecast_p10": None,
                "forecast_p50": None,
                "forecast_p90": None,
                "gap": 12_000,
                "explained_by": [
                    {
                        "id": "div-x",
                        "kind": "diversion",
                        "direction": "out",
                        "qty": 12_000,
                        "effect": 12_000,
                        "on": "2023-12-10",
                        "known_on": "2024-06-04",
                        "status": "posted",
                    }
                ],
                "residual": 0,
                "verdict": "overstated",
                "overstated": True,
                "assumptions": ["claim tolerance 5%"],
                "pending": [],
            }
        ],
        "verdict_rule": VERDICT_RULE,
        "p90_means": P90_MEANS,
    }


def test_tolerance_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="tolerance"):
        check_claims([], books, [], None, tolerance=1.0)


def test_holdings_by_org_counts_stock_and_deployed_with_clusters() -> None:
    from gpuledger.domain import Balance, Bucket, holdings_by_org

    balances = [
        Balance("org:tesla", Bucket.STOCK, "H100", 1_000, -300),
        Balance("org:tesla", Bucket.IN_TRANSIT, "H100", 5_000, 0),
        Balance("org:tesla", Bucket.FAILED, "H100", 40, 0),
        Balance("cluster:cortex", Bucket.DEPLOYED, "H100", 20_000, 0),
        Balance("cluster:other", Bucket.DEPLOYED, "H100", 7, 0),
        Balance("cluster:cortex", Bucket.DEPLOYED, "H200", 99, 0),
        Balance("org:x", Bucket.STOCK, "H100", 12_000, 0),
    ]
    held = holdings_by_org(balances, {"cortex": "tesla"})
    assert held[("tesla", "H100")] == 21_000
    assert held[("x", "H100")] == 12_000
    assert held[("tesla", "H200")] == 99  # per SKU
    assert sum(held.values()) == 21_000 + 12_000 + 99  # cluster:other belongs to no known org
    moving = holdings_by_org(balances, {"cortex": "tesla"}, (Bucket.IN_TRANSIT,))
    assert moving == {("tesla", "H100"): 5_000}


def test_powered_beside_held_on_the_founding_story() -> None:
    # Tesla's documented sites on 2024-04-23: the 10k-H100 cluster's 14.5236 MW
    # (Cortex only from 2024-11-15) run 10,000 H100 at 700 W x 1.82 x PUE 1.14,
    # against 29,000 held as known now (35,000 less 12,000 diverted plus 6,000
    # paid back in January) and 23,000 as the books knew it then; the verdict
    # stays on held units
    from gpuledger.ledger import Ledger
    from gpuledger.scenario import demo_scenario_path, load_scenario
    from gpuledger.services.claims import claims_report as books_claims

    ledger = Ledger.open("sqlite://")
    try:
        ledger.import_scenario(load_scenario(demo_scenario_path()), actor="test")
        checks = {c.id: c for c in books_claims(ledger, None)}
    finally:
        ledger.close()
    active = checks["tesla-35k-active"]
    assert (active.books_then, active.books_now) == (23_000, 29_000)
    assert (active.powered_then, active.powered_now) == (10_000, 10_000)
    assert active.verdict is ClaimVerdict.OVERSTATED
    assert active.gap == 35_000 - 29_000  # the gap is on held units, not powered
    as_json = active.to_json()
    assert (as_json["powered_then"], as_json["powered_now"]) == (10_000, 10_000)


def test_powered_is_the_lesser_of_held_and_capacity_and_none_without_capacity() -> None:
    capacity = {"tesla": 30_000, "x": None}
    claims = [actual(35_000), Claim("x-9k", "x", "H100", 9_000, APR, APR, ClaimKind.ACTUAL)]
    tesla, x = check_claims(
        claims,
        books,
        [],
        None,
        capacity=lambda org, sku, day: capacity[org],
    )
    # held then 35,000 capped at 30,000; held now 23,000 under the cap
    assert (tesla.powered_then, tesla.powered_now) == (30_000, 23_000)
    # an org whose sites state no capacity: no powered figure (powered = held)
    assert (x.powered_then, x.powered_now) == (None, None)
    # without a capacity function nothing is powered-checked either
    [plain] = check_claims([actual(35_000)], books, [], None)
    assert (plain.powered_then, plain.powered_now) == (None, None)


def test_the_rule_says_powered_is_shown_beside_held() -> None:
    assert "powered" in VERDICT_RULE and "held" in VERDICT_RULE


TWO_SKUS_ONE_SITE = """
name: two-skus-one-site
as_of: 2024-03-01
parameters: {horizon_days: 30, system_overhead: 1.82, pue: 1.2}
skus: [{id: H200, tdp_w: 700}, {id: H100, tdp_w: 700}]
vendors:
  - id: nv
    lead_time:
      - {sku: H100, from: 2023-01-01, p50_days: 200, p90_days: 250}
      - {sku: H200, from: 2023-01-01, p50_days: 200, p90_days: 250}
orgs: [{id: a}]
sites:
  - id: s-a
    org: a
    power: [{from: 2023-06-01, mw: 1.5288, source: test}]
orders:
  - {id: PO-100, org: a, vendor: nv, sku: H100, qty: 900, ordered_on: 2023-06-01}
  - {id: PO-200, org: a, vendor: nv, sku: H200, qty: 600, ordered_on: 2023-06-01}
lots:
  - {id: L100, order: PO-100, qty: 900, ships_on: 2024-01-20, arrives_on: 2024-02-01, consignee: a}
  - {id: L200, order: PO-200, qty: 600, ships_on: 2024-01-20, arrives_on: 2024-02-01, consignee: a}
claims:
  - {id: a-h100, org: a, sku: H100, qty: 900, by: 2024-02-15, stated_on: 2024-02-15, kind: actual}
  - {id: a-h200, org: a, sku: H200, qty: 600, by: 2024-02-15, stated_on: 2024-02-15, kind: actual}
"""


def test_powered_shares_an_orgs_power_across_its_skus_as_the_planner_does() -> None:
    # 1.5288 MW at 700 W x 1.82 x 1.2 runs 1,000 units of either SKU. The planner
    # powers the SKUs in the scenario's order (H200 first, as listed): 600 H200
    # use 0.6 of the power, leaving 0.4 x 1,000 = 400 H100 (not 900: the site
    # cannot run 1,500 units)
    from gpuledger.ledger import Ledger
    from gpuledger.scenario import parse_scenario
    from gpuledger.services.claims import claims_report as books_claims
    from gpuledger.services.planning import plan_report

    ledger = Ledger.open("sqlite://")
    try:
        ledger.import_scenario(parse_scenario(TWO_SKUS_ONE_SITE, filename="two.yaml"), actor="t")
        checks = {c.id: c for c in books_claims(ledger, None)}
        p = plan_report(ledger, as_of=D("2024-02-15"))
    finally:
        ledger.close()
    day = D("2024-02-15").toordinal()
    a = p.snapshot.orgs.index("a")
    planned = {k: p.powered_on(a, p.snapshot.skus.index(k), day) for k in ("H100", "H200")}
    assert planned == {"H200": 600, "H100": 400}  # by hand, above
    for claim, sku in (("a-h100", "H100"), ("a-h200", "H200")):
        c = checks[claim]
        assert c.books_now == p.holdings_on(a, p.snapshot.skus.index(sku), day)
        assert (c.powered_then, c.powered_now) == (planned[sku], planned[sku]), claim
