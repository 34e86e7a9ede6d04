"""The batch kernels give exactly what plan() gives, sample by sample."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from gpuledger.domain import PolicyName
from gpuledger.forecast.engine import curve_day0
from gpuledger.forecast.kernels import (
    Pieces,
    batch_pieces,
    batch_plan,
    curves_from_plan,
    gross_pieces,
    pieces_to_curves,
    reference_pieces,
)
from gpuledger.forecast.layout import Layout, build_layout
from gpuledger.planning import plan
from gpuledger.planning.snapshot import PlanningSnapshot, SupplyKind

from .conftest import SnapshotBuilder


def random_snapshot(seed: int) -> PlanningSnapshot:
    """A small fleet: 2 SKUs, 4 orgs in 2 groups (one alone), 2 clusters, ties on days."""
    rng = np.random.default_rng(seed)
    as_of = date(2024, 1, 1)
    b = SnapshotBuilder(as_of=as_of, horizon_end=date(2024, 7, 1), skus=["H100", "H200"])
    b.org("a", "g").org("b", "g").org("c", None).org("d", "g")
    b.cluster("a-1", "a").cluster("c-1", "c")
    orgs = ["a", "b", "c", "d"]
    for i in range(int(rng.integers(3, 14))):
        kind = SupplyKind(int(rng.integers(0, 4)))
        day = as_of.toordinal() + (
            -int(rng.integers(0, 30)) if kind == SupplyKind.ARRIVED else int(rng.integers(1, 200))
        )
        b.row(
            f"L{i:02d}",
            str(rng.choice(orgs)),
            int(rng.choice([0, 3, 5, 10, 20])),
            date.fromordinal(day - day % 5).isoformat(),  # coarse days: many ties
            kind,
            sku=str(rng.choice(["H100", "H200"])),
        )
    consumers = [*orgs, "a-1", "c-1"]
    for i in range(int(rng.integers(1, 8))):
        b.target(
            f"T{i}",
            str(rng.choice(consumers)),
            int(rng.choice([0, 5, 10, 25, 40])),
            date.fromordinal(as_of.toordinal() + int(rng.integers(-10, 170))).isoformat(),
            priority=int(rng.integers(1, 4)),
            sku=str(rng.choice(["H100", "H200"])),
        )
    return b.build()


def random_days(snapshot: PlanningSnapshot, n: int, seed: int) -> np.ndarray:
    """Sample-like day moves: rows not arrived move anywhere after as_of, some past the horizon."""
    rng = np.random.default_rng(seed)
    days = np.broadcast_to(snapshot.supply_day, (n, snapshot.supply_day.size)).copy()
    moving = snapshot.supply_kind != SupplyKind.ARRIVED
    moved = snapshot.as_of_day + 1 + rng.integers(0, 40, size=(n, int(moving.sum()))) * 5
    days[:, moving] = moved
    return days


def curves(snap: PlanningSnapshot, policy: PolicyName, layout: Layout) -> np.ndarray:
    """The batch kernel's curves for the snapshot's own days (one sample)."""
    pieces = batch_pieces(snap, policy, layout, snap.supply_day[None, :].copy())
    return pieces_to_curves(pieces, 1, layout)[0]


@pytest.mark.parametrize("policy", [PolicyName.CONSIGNED, PolicyName.PRIORITY], ids=str)
@pytest.mark.parametrize("seed", range(40), ids=lambda s: f"fleet{s}")
def test_batch_kernel_equals_plan_sample_by_sample(policy: PolicyName, seed: int) -> None:
    snap = random_snapshot(seed)
    layout = build_layout(snap, day0=curve_day0(snap))
    days = random_days(snap, 6, seed + 1000)
    fast = pieces_to_curves(batch_pieces(snap, policy, layout, days), 6, layout)
    slow = pieces_to_curves(reference_pieces(snap, policy, layout, days), 6, layout)
    np.testing.assert_array_equal(fast, slow)


@pytest.mark.parametrize("policy", [PolicyName.CONSIGNED, PolicyName.PRIORITY], ids=str)
@pytest.mark.parametrize("seed", range(10), ids=lambda s: f"fleet{s}")
def test_batch_kernel_on_the_unmoved_snapshot_is_the_plan(policy: PolicyName, seed: int) -> None:
    snap = random_snapshot(seed)
    layout = build_layout(snap, day0=curve_day0(snap))
    fast = curves(snap, policy, layout)
    result = plan(snap, policy)
    assert result.day0 == layout.day0
    np.testing.assert_array_equal(fast, curves_from_plan(result, layout))
    # every target's (consumer, sku) curve is tracked and equals the planner's
    for t in range(len(snap.target_id)):
        g = layout.target_series[t]
        c, k = snap.target_consumer[t], snap.target_sku[t]
        np.testing.assert_array_equal(fast[g], result.holdings[c, k])


def test_hand_checked_priority_pooling() -> None:
    # a (priority 1) and b (priority 2) share a group; 10 units arrive day 10, 10 on day 20
    b = SnapshotBuilder(as_of=date(2024, 1, 1), horizon_end=date(2024, 3, 1))
    b.org("a", "g").org("b", "g")
    b.row("L1", "b", 10, "2024-01-11", SupplyKind.EXPECTED)
    b.row("L2", "b", 10, "2024-01-21", SupplyKind.EXPECTED)
    b.target("ta", "a", 15, "2024-02-01", priority=1)
    b.target("tb", "b", 5, "2024-02-01", priority=2)
    snap = b.build()
    layout = build_layout(snap, day0=curve_day0(snap))
    pooled = curves(snap, PolicyName.PRIORITY, layout)
    a = layout.series_of(0, 0)
    bb = layout.series_of(1, 0)
    assert a is not None and bb is not None
    day = snap.as_of_day - layout.day0
    # a gets all of L1 on Jan 11 and 5 of L2 on Jan 21; b gets the other 5 of L2
    assert pooled[a, day + 9] == 0 and pooled[a, day + 10] == 10 and pooled[a, day + 20] == 15
    assert pooled[bb, day + 19] == 0 and pooled[bb, day + 20] == 5
    consigned = curves(snap, PolicyName.CONSIGNED, layout)
    assert consigned[a].max() == 0 and consigned[bb, -1] == 20


def test_pieces_concatenate_as_int32_and_refuse_units_that_do_not_fit() -> None:
    one = np.array([1], dtype=np.int64)
    small = Pieces(one, one, one + 738_000, one * (2**31 - 1))
    both = Pieces.concat([small, small])
    assert {a.dtype for a in (both.sample, both.series, both.day, both.qty)} == {np.dtype(np.int32)}
    assert both.qty.tolist() == [2**31 - 1] * 2
    with pytest.raises(AssertionError, match="fit in int32"):
        Pieces.concat([small, Pieces(one, one, one, one * 2**31)])


@pytest.mark.parametrize("policy", [PolicyName.CONSIGNED, PolicyName.PRIORITY], ids=str)
@pytest.mark.parametrize("seed", range(6), ids=lambda s: f"fleet{s}")
def test_the_fixed_part_built_once_gives_the_same_pieces(policy: PolicyName, seed: int) -> None:
    snap = random_snapshot(seed)
    layout = build_layout(snap, day0=curve_day0(snap))
    kernel = batch_plan(snap, policy, layout)
    assert kernel is not None
    for block in range(2):  # one fixed part serves every block
        days = random_days(snap, 5, seed + 100 * block)
        once = gross_pieces(snap, policy, layout, days, kernel)
        each = batch_pieces(snap, policy, layout, days)
        for field in ("sample", "series", "day", "qty"):
            np.testing.assert_array_equal(getattr(once, field), getattr(each, field))


@pytest.mark.parametrize("policy", [PolicyName.FAIR_SHARE, PolicyName.OPTIMAL], ids=str)
def test_policies_without_passes_have_no_fixed_part(policy: PolicyName) -> None:
    snap = random_snapshot(0)
    assert batch_plan(snap, policy, build_layout(snap, day0=curve_day0(snap))) is None


def test_a_target_accepting_another_sku_takes_the_reference_path() -> None:
    snap = random_snapshot(0)
    accepts = np.full((len(snap.target_id), 1), -1, dtype=np.int64)
    accepts[0, 0] = 1 - snap.target_sku[0]  # the other of the two SKUs
    snap = replace(snap, target_accepts=accepts)
    assert batch_plan(snap, PolicyName.PRIORITY, build_layout(snap, day0=curve_day0(snap))) is None
