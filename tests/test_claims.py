"""Claims against the books and the forecast (DESIGN section 7)."""

from __future__ import annotations

from datetime import date

import pytest

from gpuledger.claims import check_claims, claims_report
from gpuledger.domain import Claim, ClaimKind, Diversion, DiversionStatus
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
    assert check.overstated
    # diversions in or out of tesla on or before stated_on, voided ones left out, by date
    assert [(e.id, e.direction) for e in check.explained_by] == [
        ("div-x", "out"),
        ("div-back", "in"),
    ]


@pytest.mark.parametrize(
    ("claimed", "overstated"),
    [(24_210, False), (24_212, True), (20_000, False)],
    ids=["within-tolerance", "just-beyond", "understated"],
)
def test_tolerance_boundary(claimed: int, overstated: bool) -> None:
    # 23,000 / 0.95 = 24,210.5: up to 24,210 is within 5%
    [check] = check_claims([actual(claimed)], books, [], None, tolerance=0.05)
    assert check.overstated is overstated


def small_fleet_forecast():  # type: ignore[no-untyped-def]
    b = SnapshotBuilder(as_of=D("2024-04-01"), horizon_end=D("2025-06-30")).org("tesla").org("x")
    b.row("L1", "tesla", 20_000, "2024-01-01", SupplyKind.ARRIVED)
    b.row("L2", "tesla", 30_000, "2024-08-01", SupplyKind.EXPECTED)
    b.target("tesla-eoy", "tesla", 85_000, "2024-12-31")
    return forecast(b.build(), "consigned", samples=10, seed=0, curve_days=[D("2024-12-31")])


def test_target_claim_against_the_forecast() -> None:
    claim = Claim("tesla-85k", "tesla", "H100", 85_000, D("2024-12-31"), APR, ClaimKind.TARGET)
    [check] = check_claims([claim], books, DIVERSIONS, small_fleet_forecast(), tolerance=0.05)
    # no uncertainty in this fleet: every sample holds 50,000 at year end
    assert (check.forecast_p50, check.forecast_p90) == (50_000, 50_000)
    assert check.gap == 35_000
    assert check.overstated
    # for a target the window runs to `by`: the pending May diversion counts too
    assert [e.id for e in check.explained_by] == ["div-x", "div-back", "div-late"]


def test_target_claim_without_forecast_is_not_flagged() -> None:
    claim = Claim("t", "tesla", "H100", 85_000, D("2024-12-31"), APR, ClaimKind.TARGET)
    [check] = check_claims([claim], books, [], None)
    assert (check.forecast_p50, check.gap, check.overstated) == (None, None, False)


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
                "forecast_p50": None,
                "forecast_p90": None,
                "gap": 12_000,
                "explained_by": [
                    {
                        "id": "div-x",
                        "direction": "out",
                        "qty": 12_000,
                        "on": "2023-12-10",
                        "known_on": "2024-06-04",
                        "status": "posted",
                    }
                ],
                "overstated": True,
            }
        ]
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
