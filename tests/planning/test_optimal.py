"""``optimal``'s LP (policies/optimal.py, policies/_network.py): blocks, and the checks
that refuse a solution rather than round it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from gpuledger.domain import GpuledgerError, PolicyName
from gpuledger.planning import plan, serving_order
from gpuledger.planning.plan import make_problem, plan_day0, rows_in_horizon
from gpuledger.planning.policies import optimal
from gpuledger.planning.policies._network import build_network

from .conftest import SnapBuilder


def two_skus(accepts: list[list[int]] | None = None):
    """Pool g (a, b) with H100 and H200 lots; pool of c alone with an H100 lot."""
    b = SnapBuilder(skus=("H100", "H200"), orgs={"a": "g", "b": "g", "c": None})
    b.lot("L1", "a", 10, "2024-02-01").lot("L2", "b", 10, "2024-03-01", sku="H200")
    b.lot("L3", "c", 10, "2024-02-01")
    b.target("t1", "a", 15, "2024-02-15").target("t2", "b", 5, "2024-02-15", sku="H200")
    b.target("t3", "c", 5, "2024-02-15")
    snap = b.build()
    if accepts is not None:
        snap = replace(snap, target_accepts=np.array(accepts, dtype=np.int64))
    return snap


def network(snap):
    order = serving_order(snap)
    problem = make_problem(snap, order, rows_in_horizon(snap), order.need, plan_day0(snap))
    net = build_network(problem, problem.need)
    assert net is not None
    return net


@pytest.mark.parametrize(
    ("accepts", "blocks"),
    [
        pytest.param(None, 3, id="no-accepts: one block per (pool, SKU)"),
        pytest.param([[1], [-1], [-1]], 2, id="t1 accepts H200: g's SKUs join, c's stays apart"),
    ],
)
def test_blocks_are_pool_skus_joined_by_accepting_targets(accepts, blocks) -> None:
    net = network(two_skus(accepts))
    assert net.var_off.size - 1 == blocks
    # blocks are contiguous and share no row: the matrix is block-diagonal
    a = net.a.tocoo()
    blk_of_var = np.searchsorted(net.var_off, a.col, side="right") - 1
    blk_of_row = np.searchsorted(net.con_off, a.row, side="right") - 1
    assert np.array_equal(blk_of_var, blk_of_row)


def test_an_accepting_target_takes_the_other_sku_only_in_its_pool() -> None:
    p = plan(two_skus([[1], [-1], [-1]]), PolicyName.OPTIMAL)
    pieces = zip(p.assign_row, p.assign_target, p.assign_qty, strict=True)
    got = {(int(t), int(r)): int(q) for r, t, q in pieces}
    # t1 (15 by 02-15) takes L1's 10 and 5 of L2 (H200, 03-01); t2 the other 5 of
    # L2; t3 (pool of c) only c's L3, never g's H200
    assert got == {(0, 0): 10, (0, 1): 5, (1, 1): 5, (2, 2): 5}
    assert p.objective == 10 * 15  # L2's 10 units, 15 days late (02-15 to 03-01)


def test_a_fractional_solution_is_refused_not_rounded(monkeypatch) -> None:
    real = optimal._solve_lp
    monkeypatch.setattr(optimal, "_solve_lp", lambda *a: real(*a) + 0.5)
    with pytest.raises(GpuledgerError, match="refusing to round"):
        plan(two_skus(), PolicyName.OPTIMAL)


def test_a_solution_beyond_the_supply_is_refused(monkeypatch) -> None:
    real = optimal._solve_lp
    monkeypatch.setattr(optimal, "_solve_lp", lambda *a: real(*a) + 1.0)
    with pytest.raises(GpuledgerError, match="refusing to round"):
        plan(two_skus(), PolicyName.OPTIMAL)


def test_a_solver_failure_is_an_error(monkeypatch) -> None:
    real = optimal._HIGHS

    class Failing(real):  # type: ignore[misc, valid-type]
        def getModelStatus(self):
            return optimal.highspy.HighsModelStatus.kInfeasible

    monkeypatch.setattr(optimal, "_HIGHS", Failing)
    with pytest.raises(GpuledgerError, match="LP solver failed"):
        plan(two_skus(), PolicyName.OPTIMAL)
