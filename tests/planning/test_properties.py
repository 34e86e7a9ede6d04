"""Properties on seeded random small instances, and the optimal cross-check.

The cross-check solves the same problem a second, independent way: the lot x target
transportation problem with networkx's network simplex (the planner uses a
time-expanded network solved by HiGHS). With ``accepts``, a lot may go to a target
of its SKU or to one that accepts its SKU (issue 13: one joint problem, not a
substitution afterwards).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import networkx as nx
import numpy as np
import pytest

from gpuledger.domain import PolicyName
from gpuledger.planning import SupplyKind, plan
from gpuledger.planning.policies._base import allowed
from gpuledger.planning.snapshot import PlanningSnapshot

from .conftest import SnapBuilder

SEEDS = range(40)
KINDS = [SupplyKind.ARRIVED, SupplyKind.IN_TRANSIT, SupplyKind.EXPECTED, SupplyKind.OPEN_ORDER]


def random_snapshot(
    seed: int, *, one_target_per_org: bool = False, accepts: bool = False
) -> PlanningSnapshot:
    """Orgs a, b, c in group g and d alone; 1-2 SKUs; a few lots and targets.

    ``accepts``: three SKUs, and each target accepts none, one or both of the
    others, in a random order (so blocks of two or three SKUs, classes taking
    several SKUs, targets whose own SKU has no lot).
    """
    rng = np.random.default_rng(seed)
    b = SnapBuilder(
        orgs={"a": "g", "b": "g", "c": "g", "d": None},
        skus=("H100", "H200", "B200") if accepts else ("H100", "H200")[: int(rng.integers(1, 3))],
        clusters={} if one_target_per_org else {"a-cl": "a"},
    )
    start = date(2024, 1, 1)
    for i in range(int(rng.integers(1, 9))):
        kind = KINDS[int(rng.integers(0, 4))]
        day = start + timedelta(
            days=int(-rng.integers(1, 60) if kind == SupplyKind.ARRIVED else rng.integers(0, 400))
        )
        b.lot(
            f"L{i}",
            str(rng.choice(list(b.orgs))),
            int(rng.integers(0, 40)),
            day,
            kind,
            sku=str(rng.choice(b.skus)),
        )
    consumers = list(b.orgs) + list(b.clusters)
    used: set[tuple[str, str]] = set()
    for i in range(int(rng.integers(1, 7))):
        consumer, sku = str(rng.choice(consumers)), str(rng.choice(b.skus))
        if one_target_per_org and (consumer, sku) in used:
            continue
        used.add((consumer, sku))
        b.target(
            f"T{i}",
            consumer,
            int(rng.integers(0, 60)),
            start + timedelta(days=int(rng.integers(-20, 380))),
            priority=int(rng.integers(1, 4)),
            weight=float(rng.integers(1, 4)),
            sku=sku,
        )
    snap = b.build()
    if not accepts:
        return snap
    table = np.full((snap.target_qty.size, 2), -1, dtype=np.int64)
    for i, own in enumerate(snap.target_sku.tolist()):
        others = rng.permutation([k for k in range(3) if k != own])
        n = int(rng.integers(0, 3))
        table[i, :n] = others[:n]
    return replace(snap, target_accepts=table)


@pytest.mark.parametrize("accepts", [False, True], ids=["one-sku-per-target", "accepts"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("policy", list(PolicyName), ids=str)
def test_never_assigns_more_than_arrives(seed, policy, accepts) -> None:
    """Every policy: a target gets only its SKU or one it accepts (and the rest)."""
    s = random_snapshot(seed, accepts=accepts)
    p = plan(s, policy)
    per_row = np.bincount(p.assign_row, weights=p.assign_qty, minlength=s.supply_qty.size)
    assert np.all(per_row <= s.supply_qty)
    per_target = np.bincount(p.assign_target, weights=p.assign_qty, minlength=s.target_qty.size)
    assert np.all(per_target <= p.target_need)
    assert np.all(p.assign_qty > 0)
    assert np.all(s.supply_day[p.assign_row] <= s.horizon_day)
    assert np.all(allowed(s, p.assign_row, p.assign_target))
    family = s.consumer_org[s.target_consumer[p.assign_target]]
    holder = s.supply_holder[p.assign_row]
    own = (s.supply_kind[p.assign_row] == SupplyKind.ARRIVED) | (policy == PolicyName.CONSIGNED)
    assert np.all(holder[own] == family[own])
    assert np.all(s.org_pool[holder] == s.org_pool[family])
    # every unit within the horizon is held by exactly one org at the horizon's end
    in_horizon = (s.supply_day <= s.horizon_day) & (s.supply_qty > 0)
    n_orgs = len(s.orgs)
    assert p.holdings[:n_orgs, :, -1].sum() == s.supply_qty[in_horizon].sum()


@pytest.mark.parametrize("seed", SEEDS)
def test_consigned_equals_the_books(seed) -> None:
    s = random_snapshot(seed)
    p = plan(s, PolicyName.CONSIGNED)
    for o in range(len(s.orgs)):
        for k in range(len(s.skus)):
            mine = (s.supply_holder == o) & (s.supply_sku == k) & (s.supply_day <= s.horizon_day)
            expected = [
                int(s.supply_qty[mine & (s.supply_day <= p.day0 + i)].sum())
                for i in range(p.n_days)
            ]
            assert p.curve(o, k).tolist() == expected


@pytest.mark.parametrize("seed", SEEDS)
def test_priority_never_serves_lower_class_first(seed) -> None:
    s = random_snapshot(seed)
    p = plan(s, PolicyName.PRIORITY)
    pooled = s.supply_kind[p.assign_row] != SupplyKind.ARRIVED
    got = np.bincount(p.assign_target, weights=p.assign_qty, minlength=s.target_qty.size)
    pool = s.org_pool[s.consumer_org[s.target_consumer]]
    for j in np.unique(p.assign_target[pooled]).tolist():
        first_j = p.assign_day[pooled & (p.assign_target == j)].min()
        for i in range(s.target_qty.size):
            same = pool[i] == pool[j] and s.target_sku[i] == s.target_sku[j]
            if same and s.target_priority[i] < s.target_priority[j]:
                # the higher class is fully served, and not with units later than j's
                assert got[i] == p.target_need[i]
                later = pooled & (p.assign_target == i) & (p.assign_day > first_j)
                assert not later.any()


def accepted(s: PlanningSnapshot, i: int) -> list[int]:
    """The SKUs target ``i`` accepts besides its own, in the order it lists them."""
    if s.target_accepts is None:
        return []
    return [int(k) for k in s.target_accepts[i] if k >= 0]


def reference_objective(s: PlanningSnapshot, p) -> float:
    """Independent: own stock by a plain loop (own SKU, then accepted SKUs), then the
    pool as one transportation problem over every SKU a target takes."""
    n_days = s.horizon_day - p.day0 + 1
    never = max(s.horizon_day, int(s.target_by.max())) + 1 + n_days
    ok = (s.supply_qty > 0) & (s.supply_day <= s.horizon_day)
    need = {i: int(s.target_qty[i]) for i in range(s.target_qty.size)}  # one target per org/SKU
    left = {r: int(s.supply_qty[r]) for r in np.flatnonzero(ok)}
    cost = 0.0
    order = sorted(
        range(len(need)), key=lambda i: (s.target_priority[i], s.target_by[i], s.target_id[i])
    )
    own = sorted(
        (r for r in left if s.supply_kind[r] == SupplyKind.ARRIVED),
        key=lambda r: (s.supply_day[r], r),
    )
    width = 0 if s.target_accepts is None else s.target_accepts.shape[1]
    # arrived stock: first each target's own SKU, then its accepted SKUs column by column
    for sku_of in [lambda i: int(s.target_sku[i])] + [
        (lambda i, j=j: accepted(s, i)[j] if j < len(accepted(s, i)) else -1) for j in range(width)
    ]:
        for i in order:
            for r in own:
                if s.supply_holder[r] == s.target_consumer[i] and s.supply_sku[r] == sku_of(i):
                    q = min(left[r], need[i])
                    left[r] -= q
                    need[i] -= q
                    cost += q * s.target_weight[i] * max(0, s.supply_day[r] - s.target_by[i])
    g = nx.DiGraph()
    pooled = [r for r in left if s.supply_kind[r] != SupplyKind.ARRIVED]
    supply_total = sum(left[r] for r in pooled)
    need_total = sum(need.values())
    g.add_node("never", demand=-need_total)
    g.add_node("dump", demand=supply_total)
    g.add_edge("never", "dump", weight=0)
    for r in pooled:
        g.add_node(("r", r), demand=-left[r])
        g.add_edge(("r", r), "dump", weight=0)
    for i, q in need.items():
        g.add_node(("t", i), demand=q)
        w = int(s.target_weight[i])
        g.add_edge("never", ("t", i), weight=w * (never - int(s.target_by[i])))
        takes = [int(s.target_sku[i]), *accepted(s, i)]
        for r in pooled:
            same_pool = s.org_pool[s.supply_holder[r]] == s.org_pool[s.target_consumer[i]]
            if same_pool and s.supply_sku[r] in takes:
                g.add_edge(
                    ("r", r), ("t", i), weight=w * max(0, int(s.supply_day[r] - s.target_by[i]))
                )
    flow_cost, _ = nx.network_simplex(g)
    return cost + flow_cost


@pytest.mark.parametrize("accepts", [False, True], ids=["one-sku-per-target", "accepts"])
@pytest.mark.parametrize("seed", range(60))
def test_optimal_matches_transportation_problem(seed, accepts) -> None:
    s = random_snapshot(seed, one_target_per_org=True, accepts=accepts)
    p = plan(s, PolicyName.OPTIMAL)
    assert p.objective == pytest.approx(reference_objective(s, p))
    for policy in (PolicyName.PRIORITY, PolicyName.FAIR_SHARE):
        assert plan(s, policy).objective >= p.objective - 1e-6


@pytest.mark.parametrize("accepts", [False, True], ids=["one-sku-per-target", "accepts"])
@pytest.mark.parametrize(
    ("chunk", "parallel"),
    [pytest.param(1, 0, id="block-by-block-on-threads"), pytest.param(10**9, 10**9, id="one-lp")],
)
@pytest.mark.parametrize("seed", range(0, 60, 6))
def test_optimal_same_plan_however_blocks_are_solved(
    seed, chunk, parallel, accepts, monkeypatch
) -> None:
    from gpuledger.planning.policies import optimal

    s = random_snapshot(seed, accepts=accepts)
    p = plan(s, PolicyName.OPTIMAL)
    monkeypatch.setattr(optimal, "CHUNK_VARS", chunk)
    monkeypatch.setattr(optimal, "PARALLEL_VARS", parallel)
    q = plan(s, PolicyName.OPTIMAL)
    assert q.objective == pytest.approx(p.objective)
    assert q.target_completed_day.tolist() == p.target_completed_day.tolist()


def test_accepts_joint_golden_objective_by_hand_and_by_networkx() -> None:
    """golden/accepts-joint: 20 H200 units 5 days late for ta (README), and the same
    optimum from the independent transportation problem."""
    from .test_golden import GOLDEN, load_snapshot

    s = load_snapshot(GOLDEN / "accepts-joint")
    p = plan(s, PolicyName.OPTIMAL)
    assert p.objective == 20 * 5
    assert reference_objective(s, p) == p.objective
