"""Invariants checked on every plan (issue 9): they hold, and they fire on a corrupted plan."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from gpuledger.domain import PolicyName
from gpuledger.planning import DivertChange, SupplyKind, check_plan, impact, plan
from gpuledger.planning._curves import Pieces

from .conftest import SnapBuilder
from .test_properties import SEEDS, random_snapshot


@pytest.fixture
def two_orgs():
    b = SnapBuilder()
    b.lot("L0", "a", 30, "2023-12-01", SupplyKind.ARRIVED).lot("L1", "a", 100, "2024-02-01")
    b.lot("L2", "b", 50, "2024-03-01")
    b.target("ta", "a", 120, "2024-02-15", priority=2).target("tb", "b", 60, "2024-02-20")
    return b.build()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("policy", list(PolicyName), ids=str)
def test_every_plan_passes(seed, policy) -> None:
    check_plan(plan(random_snapshot(seed), policy))  # plan() checks too; this says so


def test_a_row_assigned_twice_fires(two_orgs) -> None:
    p = plan(two_orgs, PolicyName.PRIORITY)
    doubled = replace(p, assign_qty=p.assign_qty * 2)
    with pytest.raises(AssertionError, match="assigned beyond its qty"):
        check_plan(doubled)


def test_a_pool_assigned_beyond_its_supply_fires(two_orgs) -> None:
    # one more piece of L2 (b's 50 units) to ta, within no row's bound: the row check
    # fires first, as it must (a pool's bound is the sum of its rows')
    p = plan(two_orgs, PolicyName.PRIORITY)
    extra = replace(
        p,
        assign_row=np.r_[p.assign_row, 2],
        assign_target=np.r_[p.assign_target, 0],
        assign_qty=np.r_[p.assign_qty, 50],
        assign_day=np.r_[p.assign_day, two_orgs.supply_day[2]],
    )
    with pytest.raises(AssertionError, match="beyond"):
        check_plan(extra)


def test_a_dropping_curve_without_a_release_fires(two_orgs) -> None:
    p = plan(two_orgs, PolicyName.CONSIGNED)
    h = p.holdings.copy()
    h[0, 0, -1] -= 1  # a's curve drops on the last day, and nothing was released
    with pytest.raises(AssertionError, match="drops with no release"):
        check_plan(replace(p, holdings=h))


def test_a_piece_before_its_row_arrives_fires(two_orgs) -> None:
    p = plan(two_orgs, PolicyName.CONSIGNED)
    with pytest.raises(AssertionError, match="before its row arrives"):
        check_plan(replace(p, assign_day=p.assign_day - 1))


def test_negative_holdings_fire(two_orgs) -> None:
    p = plan(two_orgs, PolicyName.CONSIGNED)
    h = p.holdings.copy()
    h[1, 0, :] -= 1_000
    with pytest.raises(AssertionError, match="negative holdings"):
        check_plan(replace(p, holdings=h))


def test_a_release_makes_a_drop_legal() -> None:
    # a holds 30 arrived on 2023-12-01 and diverts 10 of it on 2024-03-01: a's curve
    # drops by 10 that day, which the release explains.
    b = SnapBuilder()
    b.lot("S", "a", 30, "2023-12-01", SupplyKind.ARRIVED).target("t", "a", 30, "2024-06-01")
    imp = impact(b.build(), DivertChange("S", 10, "a", "b", date(2024, 3, 1)), PolicyName.CONSIGNED)
    after = imp.after
    check_plan(after)
    a = after.curve(0, 0)
    col = date(2024, 3, 1).toordinal() - after.day0
    assert (a[col - 1], a[col]) == (30, 20)
    # without its release the same plan is refused (the row then holds more than it has)
    with pytest.raises(AssertionError, match="plan invariant violated"):
        check_plan(replace(after, released=Pieces.empty()))
