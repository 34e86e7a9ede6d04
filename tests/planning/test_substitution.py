"""Substitution: a target may be filled one-for-one by the SKUs it accepts (golden case).

The scenario file has no ``accepts``; ta's is added here in Python before the
records go through the ledger to a snapshot. The case where only a plan joint over
both SKUs is optimal is ``golden/accepts-joint`` (test_golden.py).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from gpuledger.domain import PolicyName
from gpuledger.ledger import Ledger
from gpuledger.planning import PlanningSnapshot, SupplyKind, plan
from gpuledger.planning.power import with_sites
from gpuledger.scenario import parse_scenario

from .conftest import SnapBuilder

CASE = Path(__file__).parent / "power_golden" / "accepts-h200"


def books() -> PlanningSnapshot:
    path = CASE / "scenario.yaml"
    s = parse_scenario(path.read_text(encoding="utf-8"), filename=str(path))
    targets = tuple(replace(t, accepts=("H200",)) if t.id == "ta" else t for t in s.targets)
    s = replace(s, targets=targets)
    ledger = Ledger.open("sqlite://")
    try:
        ledger.import_scenario(s)
        return with_sites(ledger.snapshot(s.as_of), s)
    finally:
        ledger.close()


ORDERED = [p for p in PolicyName if p is not PolicyName.OPTIMAL]


@pytest.mark.parametrize("policy", ORDERED, ids=str)
def test_only_an_accepting_target_takes_the_other_sku(policy: PolicyName) -> None:
    want = json.loads((CASE / f"expected_{policy}.json").read_text(encoding="utf-8"))
    got = plan(books(), policy).to_json()
    got["targets"].sort(key=lambda t: t["id"])
    assert got == want


def test_optimal_any_of_the_tied_optima() -> None:
    """README (optimal): every plan delivering all 80 units is optimal, so how the
    H100 splits between ta and tb is the solver's choice; the rest is not."""
    snap = books()
    p = plan(snap, PolicyName.OPTIMAL)
    # 40 units never delivered, each 122 days (03-01 to never_day 07-01) at weight 1
    assert p.objective == 40 * 122
    got = {
        (snap.target_id[int(t)], snap.supply_id[int(r)]): int(q)
        for r, t, q in zip(p.assign_row, p.assign_target, p.assign_qty, strict=True)
    }
    assert got[("ta", "L200")] == 50 and ("tb", "L200") not in got
    assert sum(got.values()) == 80 and 20 <= got[("tb", "L100")] <= 30


@pytest.mark.parametrize("policy", list(PolicyName), ids=str)
def test_without_accepts_no_target_takes_another_sku(policy: PolicyName) -> None:
    b = SnapBuilder(skus=("H100", "H200"))
    b.lot("L", "a", 10, "2024-02-01", sku="H200").target("t", "a", 10, "2024-03-01")
    p = plan(b.build(), policy)
    assert p.assign_qty.sum() == 0 and p.targets[0].completed_on is None


@pytest.mark.parametrize(
    ("policy", "kind"),
    [pytest.param(p, SupplyKind.EXPECTED, id=str(p)) for p in ORDERED]
    # optimal follows the listed order only on own arrived stock: in its pool pass
    # the order costs nothing, so between equal plans the LP decides
    + [pytest.param(PolicyName.OPTIMAL, SupplyKind.ARRIVED, id="optimal-arrived")],
)
def test_a_target_tries_its_accepted_skus_in_order(policy: PolicyName, kind: SupplyKind) -> None:
    b = SnapBuilder(skus=("H100", "H200", "B200"), orgs={"a": None})
    day2, day3 = (
        ("2024-02-01", "2024-01-15")
        if kind is SupplyKind.EXPECTED
        else ("2023-12-01", "2023-11-15")
    )
    b.lot("L2", "a", 5, day2, kind, sku="H200").lot("L3", "a", 5, day3, kind, sku="B200")
    b.target("t", "a", 8, "2024-03-01")
    snap = b.build()
    snap = replace(snap, target_accepts=np.array([[1, 2]], dtype=np.int64))
    p = plan(snap, policy)
    got = {snap.supply_id[int(r)]: int(q) for r, q in zip(p.assign_row, p.assign_qty, strict=True)}
    assert got == {"L2": 5, "L3": 3}
    assert p.targets[0].completed_on is not None
