"""Hand-computed plans for every policy, and the plan's JSON contract.

Each expectation below is worked out by hand in the comment next to it.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from gpuledger.domain import PolicyName, UnknownRecord
from gpuledger.planning import SupplyKind, plan

K = SupplyKind


def rows(p, key: str) -> dict[str, object]:
    return {t["id"]: t[key] for t in p.to_json()["targets"]}


@pytest.fixture
def two_orgs(builder):
    # a holds 30 arrived (2023-12-01) + L1 100 (2024-02-01); b holds L2 50 (2024-03-01).
    # ta: a needs 120 by 2024-02-15 (priority 2); tb: b needs 60 by 2024-02-20 (priority 1).
    b = builder
    b.lot("L0", "a", 30, "2023-12-01", K.ARRIVED).lot("L1", "a", 100, "2024-02-01")
    b.lot("L2", "b", 50, "2024-03-01")
    b.target("ta", "a", 120, "2024-02-15", priority=2).target("tb", "b", 60, "2024-02-20")
    return b.build()


@pytest.mark.parametrize(
    ("policy", "completed", "late", "held"),
    [
        # consigned: a = 30 + 100 = 130 >= 120 on 02-01; b only 50 of 60: never.
        pytest.param(
            PolicyName.CONSIGNED,
            {"ta": "2024-02-01", "tb": None},
            {"ta": 0, "tb": None},
            {"ta": 130, "tb": 0},
            id="consigned",
        ),
        # priority: ta keeps its 30 arrived (residual 90); tb (p1) takes 60 of L1,
        # ta 40 of L1 then 50 of L2 -> 120 on 03-01, 15 days late (Feb 2024 has 29 days).
        pytest.param(
            PolicyName.PRIORITY,
            {"ta": "2024-03-01", "tb": "2024-02-01"},
            {"ta": 15, "tb": 0},
            {"ta": 70, "tb": 60},
            id="priority",
        ),
        # fair-share: 02-01 splits 100 as 50/50 (needs 90, 60); 03-01 splits 50 as
        # 40/10 (tb capped at its last 10) -> both complete 03-01.
        pytest.param(
            PolicyName.FAIR_SHARE,
            {"ta": "2024-03-01", "tb": "2024-03-01"},
            {"ta": 15, "tb": 10},
            {"ta": 80, "tb": 50},
            id="fair-share",
        ),
        # optimal: the 50 late units of 03-01 cost 15/unit for ta, 10/unit for tb:
        # tb takes them (cost 500), ta takes 90 of L1 on 02-01.
        pytest.param(
            PolicyName.OPTIMAL,
            {"ta": "2024-02-01", "tb": "2024-03-01"},
            {"ta": 0, "tb": 10},
            {"ta": 120, "tb": 10},
            id="optimal",
        ),
    ],
)
def test_two_orgs_by_hand(two_orgs, policy, completed, late, held) -> None:
    p = plan(two_orgs, policy)
    assert rows(p, "completed_on") == completed
    assert rows(p, "days_late") == late
    assert rows(p, "held_at_by") == held


def test_optimal_objective_by_hand(two_orgs) -> None:
    # 50 units x 10 days x weight 1 (see the optimal case above); nothing undelivered.
    assert plan(two_orgs, PolicyName.OPTIMAL).objective == pytest.approx(500.0)


@pytest.mark.parametrize(
    ("by", "late"),
    [
        pytest.param("2024-02-28", 1, id="feb28-one-day-late"),
        pytest.param("2024-02-29", 0, id="feb29-on-time"),
        pytest.param("2024-01-31", 29, id="jan31-29-days-late"),
    ],
)
@pytest.mark.parametrize("policy", list(PolicyName), ids=str)
def test_leap_day(builder, policy, by, late) -> None:
    builder.lot("L", "a", 10, "2024-02-29").target("t", "a", 10, by)
    p = plan(builder.build(), policy)
    assert rows(p, "completed_on") == {"t": "2024-02-29"}
    assert rows(p, "days_late") == {"t": late}


@pytest.mark.parametrize("policy", list(PolicyName), ids=str)
def test_zero_quantities(builder, policy) -> None:
    # A zero target is complete on the first day of the curves (as_of here), on time;
    # a zero lot is ignored, so t1 never completes.
    builder.lot("Z", "a", 0, "2024-03-01").target("t0", "a", 0, "2024-06-01")
    builder.target("t1", "a", 5, "2024-06-01")
    p = plan(builder.build(), policy)
    assert rows(p, "completed_on") == {"t0": "2024-01-01", "t1": None}
    assert rows(p, "days_late") == {"t0": 0, "t1": None}
    assert p.assign_qty.size == 0


@pytest.mark.parametrize("policy", [PolicyName.PRIORITY, PolicyName.OPTIMAL], ids=str)
def test_ties_go_by_id(builder, policy) -> None:
    # Same priority, same date, 10 units for two needs of 10: "t-a" sorts first.
    builder.lot("L", "a", 10, "2024-03-01")
    builder.target("t-b", "b", 10, "2024-06-01").target("t-a", "a", 10, "2024-06-01")
    p = plan(builder.build(), policy)
    assert rows(p, "completed_on") == {"t-b": None, "t-a": "2024-03-01"}


def test_fair_share_remainder_ties_by_priority_then_id(builder) -> None:
    # 4 units, three equal needs of 5 in three orgs -> 1.33 each: floors 1, 1, 1 and
    # the one remaining unit goes to the best priority (t-c, priority 1), not to the
    # first id.
    builder.orgs = {"a": "g", "b": "g", "c": "g"}
    builder.lot("L", "a", 4, "2024-03-01")
    builder.target("t-a", "a", 5, "2024-06-01", priority=2)
    builder.target("t-b", "b", 5, "2024-06-01", priority=2)
    builder.target("t-c", "c", 5, "2024-07-01", priority=1)
    p = plan(builder.build(), PolicyName.FAIR_SHARE)
    assert {a["target"]: a["qty"] for a in p.assignments()} == {"t-a": 1, "t-b": 1, "t-c": 2}


def test_fair_share_remainder_same_priority_goes_to_first_id(builder) -> None:
    # 5 units, two equal needs of 5 -> 2.5 each: floors 2, 2; the last unit to "t-a".
    builder.lot("L", "a", 5, "2024-03-01")
    builder.target("t-b", "b", 5, "2024-06-01").target("t-a", "a", 5, "2024-06-01")
    p = plan(builder.build(), PolicyName.FAIR_SHARE)
    assert {a["target"]: a["qty"] for a in p.assignments()} == {"t-a": 3, "t-b": 2}


def test_fair_share_weights(builder) -> None:
    # 90 units, weights 2 and 1, needs 100 each -> 60 / 30.
    builder.lot("L", "a", 90, "2024-03-01")
    builder.target("heavy", "a", 100, "2024-06-01", weight=2.0)
    builder.target("light", "b", 100, "2024-06-01", weight=1.0)
    p = plan(builder.build(), PolicyName.FAIR_SHARE)
    assert rows(p, "held_at_by") == {"heavy": 60, "light": 30}


def test_cumulative_targets_and_clusters(builder) -> None:
    # Cluster c1 of org a asks 50 by June; org a asks 85 (cumulative, its cluster
    # included) by December, so a's second target needs 35 more. 100 units arrive:
    # 50 on 03-01, 40 on 05-01, 10 on 08-01.
    builder.clusters = {"c1": "a"}
    builder.lot("L1", "a", 50, "2024-03-01").lot("L2", "a", 40, "2024-05-01")
    builder.lot("L3", "a", 10, "2024-08-01")
    builder.target("cl-jun", "c1", 50, "2024-06-01").target("org-dec", "a", 85, "2024-12-01")
    p = plan(builder.build(), PolicyName.CONSIGNED)
    assert p.target_need.tolist() == [50, 35]
    # a holds every unit: 90 on 05-01 >= 85; the cluster holds its 50 on 03-01.
    assert rows(p, "completed_on") == {"cl-jun": "2024-03-01", "org-dec": "2024-05-01"}
    assert rows(p, "held_at_by") == {"cl-jun": 50, "org-dec": 100}


@pytest.mark.parametrize("policy", list(PolicyName), ids=str)
def test_after_horizon_is_never(builder, policy) -> None:
    builder.lot("L", "a", 10, "2025-01-01").target("t", "a", 10, "2024-06-01")
    p = plan(builder.build(), policy)
    assert rows(p, "completed_on") == {"t": None}
    assert p.holdings[0, 0, -1] == 0


def test_arrived_stock_is_not_pooled(builder) -> None:
    # a's arrived 10 units stay with a even though b's target has a higher priority.
    builder.lot("S", "a", 10, "2023-12-01", K.ARRIVED)
    builder.target("ta", "a", 10, "2024-06-01", priority=3).target("tb", "b", 10, "2024-02-01")
    p = plan(builder.build(), PolicyName.PRIORITY)
    assert rows(p, "completed_on") == {"ta": "2023-12-01", "tb": None}


def test_json_contract(two_orgs) -> None:
    out = plan(two_orgs, PolicyName.PRIORITY).to_json()
    assert set(out) == {"policy", "as_of", "targets", "orgs", "pools_supply", "moved_between_orgs"}
    # issue 12.7: a pooled plan says so and names what moved between orgs
    assert out["pools_supply"] is True
    assert [m["note"] for m in out["moved_between_orgs"]] == [
        "priority pooled 60 units of a's lot L1 to b",
        "priority pooled 50 units of b's lot L2 to a",
    ]
    assert out["policy"] == "priority" and out["as_of"] == "2024-01-01"
    assert out["targets"][0] == {
        "id": "ta",
        "consumer": "a",
        "sku": "H100",
        "qty": 120,
        "by": "2024-02-15",
        "held_at_by": 70,
        "powered_at_by": 70,  # no site: nothing caps
        "completed_on": "2024-03-01",
        "days_late": 15,
    }


def test_to_frame_and_curve(two_orgs) -> None:
    p = plan(two_orgs, PolicyName.CONSIGNED)
    frame = p.to_frame()
    assert list(frame["id"]) == ["ta", "tb"]
    curve = p.curve(0, 0)
    assert curve[date(2024, 2, 1).toordinal() - p.day0] == 130
    assert curve[date(2024, 1, 31).toordinal() - p.day0] == 30
    assert np.all(np.diff(curve) >= 0)


def test_unknown_target(two_orgs) -> None:
    with pytest.raises(UnknownRecord, match="nope"):
        plan(two_orgs).target_index("nope")


def test_optimal_prefers_delivering_to_a_target_due_after_the_horizon(builder) -> None:
    # by is two years past the horizon: delivering on 2024-03-01 is on time and free;
    # never delivering must still cost more (never_day is after every by).
    builder.lot("L", "a", 10, "2024-03-01").target("far", "a", 10, "2026-12-31")
    p = plan(builder.build(), PolicyName.OPTIMAL)
    assert rows(p, "completed_on") == {"far": "2024-03-01"}
    assert p.objective == 0.0
