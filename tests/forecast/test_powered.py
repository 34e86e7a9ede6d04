"""The forecast's powered measure: on time counting only units the sites could power.

Hand-computed cases on small snapshots whose sites' capacity is set directly
(``power_day`` / ``power_cap``, as :func:`gpuledger.planning.power.with_sites`
would attach it), and a cross-check of every sample against ``plan()``'s
``powered_at_by`` (the planner's rule, clusters and two SKUs included).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from gpuledger.domain import PolicyName
from gpuledger.forecast import forecast
from gpuledger.forecast.blocks import BLOCK_SIZE, block_generator
from gpuledger.forecast.failures import FailureModel
from gpuledger.forecast.sampling import arrival_model, sample_arrivals
from gpuledger.planning import PlanningSnapshot, plan
from gpuledger.planning.snapshot import SupplyKind

from .conftest import D, SnapshotBuilder


def with_power(
    snap: PlanningSnapshot, steps: list[str], cap: list[list[list[int]]]
) -> PlanningSnapshot:
    """``cap[consumer][sku]``: capacity before the first step, then on each step day."""
    days = np.array([D(d).toordinal() for d in steps], dtype=np.int64)
    return replace(snap, power_day=days, power_cap=np.array(cap, dtype=np.int64))


def step_up() -> PlanningSnapshot:
    """600 held from Feb 1, 400 more on Mar 15; the site runs 500 until Mar 20, then 1,000."""
    b = SnapshotBuilder(as_of=D("2024-01-01")).org("t").org("u")
    b.row("L1", "t", 600, "2024-02-01", SupplyKind.IN_TRANSIT)
    b.row("L2", "t", 400, "2024-03-15", SupplyKind.IN_TRANSIT)
    b.row("L3", "u", 300, "2024-02-01", SupplyKind.IN_TRANSIT)
    b.target("A", "t", 600, "2024-03-01").target("B", "t", 1000, "2024-04-01")
    b.target("C", "t", 500, "2024-03-01").target("U", "u", 300, "2024-03-01")
    return b.build()


def test_a_site_that_caps_usable_units_lowers_the_powered_odds() -> None:
    # u states no capacity (-1): its target counts the same on both measures
    snap = with_power(step_up(), ["2024-03-20"], [[[500, 1000]], [[-1, -1]]])
    result = forecast(snap, "consigned", samples=7, seed=3)
    held = dict(zip(snap.target_id, result.on_time_probability(), strict=True))
    powered = dict(zip(snap.target_id, result.powered_on_time_probability(), strict=True))
    # A: 600 held on Mar 1, 500 powered -> short; B: 1,000 held and powered on Apr 1
    # (the step up); C: 500 of 600 powered reach 500; U: no site
    assert held == {"A": 1.0, "B": 1.0, "C": 1.0, "U": 1.0}
    assert powered == {"A": 0.0, "B": 1.0, "C": 1.0, "U": 1.0}
    doc = result.to_json()
    assert [t["powered_on_time_probability"] for t in doc["targets"]] == [0.0, 1.0, 1.0, 1.0]
    assert "powered" in doc["measures"] and "held" in doc["measures"]
    frame = result.to_frame()
    assert frame["powered_on_time_probability"].tolist() == [0.0, 1.0, 1.0, 1.0]


def test_without_sites_powered_equals_held() -> None:
    b = SnapshotBuilder(as_of=D("2024-01-01"), afr={"H100": 0.5}).org("t").lead(60, 120)
    b.row("L1", "t", 600, "2024-02-01", SupplyKind.EXPECTED, ordered="2023-12-15")
    b.target("A", "t", 600, "2024-03-01").target("B", "t", 500, "2024-02-20")
    result = forecast(b.build(), "consigned", samples=300, seed=5)
    assert 0.0 < result.on_time_probability()[0] < 1.0  # the case is not trivial
    assert result.powered_on_time_probability() == result.on_time_probability()
    assert not result.power_short.any()


def test_two_skus_share_the_power_in_sku_order() -> None:
    # the site runs 1,000 H100 or 2,000 HALF; 900 H100 leave 0.1 x 2,000 = 200 HALF
    b = SnapshotBuilder(as_of=D("2024-01-01"), skus=["H100", "HALF"]).org("a")
    b.row("L1", "a", 900, "2024-02-01", SupplyKind.IN_TRANSIT)
    b.row("L2", "a", 600, "2024-02-01", SupplyKind.IN_TRANSIT, sku="HALF")
    b.target("H", "a", 900, "2024-03-01").target("F", "a", 201, "2024-03-01", sku="HALF")
    b.target("G", "a", 200, "2024-03-01", sku="HALF")
    snap = with_power(b.build(), ["2024-01-01"], [[[1000, 1000], [2000, 2000]]])
    result = forecast(snap, "consigned", samples=3, seed=0)
    assert result.on_time_probability() == [1.0, 1.0, 1.0]
    assert result.powered_on_time_probability() == [1.0, 0.0, 1.0]


def test_a_cluster_counts_no_more_than_its_org() -> None:
    # the org's site runs 700; its cluster holds 800 of the org's 1,000
    b = SnapshotBuilder(as_of=D("2024-01-01")).org("a").cluster("a-c1", "a")
    b.row("L1", "a", 1000, "2024-02-01", SupplyKind.IN_TRANSIT)
    b.target("K", "a-c1", 800, "2024-03-01").target("K2", "a-c1", 700, "2024-03-01")
    snap = with_power(b.build(), ["2024-01-01"], [[[-1, 700]], [[-1, -1]]])
    result = forecast(snap, "consigned", samples=2, seed=0)
    assert result.on_time_probability() == [1.0, 1.0]
    assert result.powered_on_time_probability() == [0.0, 1.0]


@pytest.mark.parametrize("policy", [PolicyName.CONSIGNED, PolicyName.PRIORITY])
def test_every_sample_matches_the_planners_powered_units(policy: PolicyName) -> None:
    """Per sample: powered on time == plan() completes by ``by`` and powers the quantity."""
    b = SnapshotBuilder(as_of=D("2024-01-01"), skus=["H100", "HALF"]).lead(40, 90)
    b.org("a", "g").org("b", "g").cluster("a-c", "a")
    for i, (holder, sku) in enumerate([("a", "H100"), ("b", "H100"), ("a", "HALF")] * 3):
        day = f"2024-0{2 + i % 4}-1{i % 3}"
        b.row(
            f"L{i}", holder, 100 + 37 * i, day, SupplyKind.EXPECTED, sku=sku, ordered="2023-12-01"
        )
    b.target("T1", "a-c", 250, "2024-03-20").target("T2", "a", 500, "2024-04-10")
    b.target("T3", "b", 300, "2024-04-01").target("T4", "a", 400, "2024-05-01", sku="HALF")
    cap = [[[400, 700, 900], [600, 900, 1500]], [[-1, 200, 300], [-1, -1, -1]]]
    cap += [[[300, 300, 300], [-1, -1, -1]]]
    snap = with_power(b.build(), ["2024-03-01", "2024-04-05"], cap)
    n = 40
    result = forecast(snap, policy, samples=n, seed=11, failures=False)
    days = sample_arrivals(arrival_model(snap), block_generator(11, 0).random((n, 9)))
    assert n <= BLOCK_SIZE
    shorts = 0
    for s in range(n):
        p = plan(snap.with_supply(supply_day=days[s].copy()), policy)
        for t, row in enumerate(p.targets):
            by, done = int(snap.target_by[t]), int(p.target_completed_day[t])
            on_time = 0 <= done <= by
            assert on_time == bool(0 <= result.completed[s, t] <= by)
            want = on_time and row.powered_at_by >= int(snap.target_qty[t])
            got = on_time and not result.power_short[s, t]
            assert got == want, (s, t)
            shorts += int(on_time and not want)
    assert shorts > 0  # power does bind in some samples


def test_lost_units_count_against_power_as_they_do_against_holdings() -> None:
    """Failures not replaced: powered on ``by`` = min(net holdings on ``by``, capacity)."""
    b = SnapshotBuilder(as_of=D("2024-01-01"), afr={"H100": 0.6}).org("t").lead(30, 90)
    b.row("L1", "t", 400, "2024-01-20", SupplyKind.EXPECTED, ordered="2023-12-20")
    b.row("L2", "t", 300, "2024-02-10", SupplyKind.EXPECTED, ordered="2024-01-10")
    b.target("A", "t", 520, "2024-06-01")
    snap = with_power(b.build(), ["2024-01-01"], [[[560, 560]]])
    by = D("2024-06-01")
    result = forecast(
        snap,
        "consigned",
        samples=200,
        seed=4,
        failure_model=FailureModel(replace=False),
        curve_days=[by],
    )
    g = result.layout.series_of(0, 0)
    assert g is not None
    col = int(np.searchsorted(result.layout.grid, by.toordinal() - result.layout.day0))
    net = result.curves[:, g, col].astype(np.int64)
    on_time = (result.completed[:, 0] >= 0) & (result.completed[:, 0] <= by.toordinal())
    want = on_time & (np.minimum(net, 560) >= 520)
    assert np.array_equal(on_time & ~result.power_short[:, 0], want)
    assert 0 < want.sum() < on_time.sum()  # losses and power both bind in some samples
