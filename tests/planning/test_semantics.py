"""What impact figures mean (issue 12, items 1, 2, 3, 5, 7 and 9), by hand and as properties.

Definitions: docs/planning.md ("Impact: the figures"). Each test names the item of
issue 12 it pins; the hand computations are in the comments.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuledger.domain import GpuledgerError, PolicyName
from gpuledger.planning import (
    DivertChange,
    NewOrderChange,
    PriorityChange,
    SlipChange,
    SupplyKind,
    affected_targets,
    impact,
)

from .conftest import SnapBuilder
from .test_properties import random_snapshot

K = SupplyKind


def rows(imp) -> dict[str, dict[str, object]]:
    return {t["id"]: t for t in imp.to_json()["targets"]}


# --------------------------------------------------------------------------- 12.1


@pytest.fixture
def old_stock():
    """Tesla's stock: OLD 10k (arrived 2023-07-20), FEB 10k (arrived 2024-02-10);
    SEP 15k expected 2024-09-01. Targets: tesla-mar 20k by 2024-03-31 (complete
    02-10), tesla-dec 35k by 2024-12-31 (complete 09-01). Books as of 2024-05-31."""
    b = SnapBuilder(as_of=date(2024, 5, 31), orgs={"tesla": "musk", "x": "musk"})
    b.lot("OLD", "tesla", 10_000, "2023-07-20", K.ARRIVED)
    b.lot("FEB", "tesla", 10_000, "2024-02-10", K.ARRIVED)
    b.lot("SEP", "tesla", 15_000, "2024-09-01")
    b.target("tesla-mar", "tesla", 20_000, "2024-03-31")
    b.target("tesla-dec", "tesla", 35_000, "2024-12-31")
    return b.build()


def test_12_1_diverting_old_stock_does_not_undo_a_past_completion(old_stock) -> None:
    change = DivertChange("OLD", 5_000, "tesla", "x", date(2024, 6, 1))
    imp = impact(old_stock, change, PolicyName.CONSIGNED)
    r = rows(imp)
    # tesla held 20k from 02-10: tesla-mar completed then, and stays so
    assert r["tesla-mar"]["completed_before"] == r["tesla-mar"]["completed_after"] == "2024-02-10"
    assert r["tesla-mar"]["held_at_by_after"] == 20_000
    # tesla-dec: 35k on 09-01 before; 30k after (5k gone on 06-01): no longer completes
    assert r["tesla-dec"]["completed_before"] == "2024-09-01"
    assert r["tesla-dec"]["completed_after"] is None
    # tesla holds 5k less from 06-01 to the window's end 12-31: 214 days
    assert (imp.window_start, imp.window_end) == (date(2024, 6, 1), date(2024, 12, 31))
    assert imp.org("tesla").gpu_days_lost == 5_000 * 214
    # x holds the 5k from 06-01 (not from 2023-07-20)
    assert imp.org("x").gpu_days_gained == 5_000 * 214


@pytest.mark.parametrize(
    ("on", "days"),
    [
        # lot JUN (10k) arrived 06-20; window ends on the latest due date 12-31
        pytest.param(date(2024, 7, 1), 184, id="jul-01"),  # 07-01..12-31
        pytest.param(date(2024, 9, 1), 122, id="sep-01"),  # 09-01..12-31
        pytest.param(date(2024, 12, 1), 31, id="dec-01"),  # 12-01..12-31
    ],
)
def test_12_1_gpu_days_start_at_the_change(on, days) -> None:
    b = SnapBuilder(as_of=date(2024, 6, 30), orgs={"meta": None, "xai": None})
    b.lot("JUN", "meta", 10_000, "2024-06-20", K.ARRIVED)
    b.target("meta-eoy", "meta", 10_000, "2024-12-31")
    imp = impact(b.build(), DivertChange("JUN", 10_000, "meta", "xai", on), PolicyName.CONSIGNED)
    assert imp.org("meta").gpu_days_lost == 10_000 * days
    # the target's band is all 10k units: it carries the whole org figure
    assert rows(imp)["meta-eoy"]["gpu_days_lost"] == 10_000 * days


CHANGES = st.sampled_from(["divert", "priority", "slip", "new-order"])


def _random_change(s, kind: str, rng: np.random.Generator):
    """A change of ``kind`` that applies to ``s`` on a random day, or None."""
    on = s.as_of + timedelta(days=int(rng.integers(-30, 300)))
    if kind == "priority" and s.target_id:
        t = s.target_id[int(rng.integers(0, len(s.target_id)))]
        return PriorityChange(t, int(rng.integers(1, 4)), on)
    if kind == "new-order":
        return NewOrderChange(s.orgs[0], "nvidia", s.skus[0], 25, on, on + timedelta(days=40))
    rows_ = [i for i in range(len(s.supply_id)) if s.supply_qty[i] > 0]
    if not rows_:
        return None
    r = rows_[int(rng.integers(0, len(rows_)))]
    lot, holder = s.supply_id[r], s.orgs[int(s.supply_holder[r])]
    if kind == "slip":
        if int(s.supply_day[r]) < on.toordinal() or s.supply_kind[r] == K.ARRIVED:
            return None
        return SlipChange(lot, int(rng.integers(1, 90)), on)
    other = next(o for o in s.orgs if o != holder)
    return DivertChange(lot, int(rng.integers(1, int(s.supply_qty[r]) + 1)), holder, other, on)


@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 10_000), kind=CHANGES, policy=st.sampled_from(list(PolicyName)))
def test_12_1_a_change_never_alters_either_curve_before_its_date(seed, kind, policy) -> None:
    s = random_snapshot(seed)
    change = _random_change(s, kind, np.random.default_rng(seed))
    if change is None:
        return
    try:
        imp = impact(s, change, policy)
    except GpuledgerError:
        return  # e.g. the giver does not hold the lot on that day under a pooled plan
    on = change.day.toordinal()
    b, a = imp.before, imp.after
    day0 = min(b.day0, a.day0)
    for p in (b, a):
        assert p.day0 == day0
    cut = max(on - day0, 0)
    # before the change's date both plans are the same (the baseline's)
    assert np.array_equal(b.holdings[:, :, :cut], a.holdings[:, :, :cut])


# --------------------------------------------------------------------------- 12.2


def _org_loss(imp, org: str, sku: int = 0) -> int:
    """Reference: GPU-days the org holds less after, over the impact's window."""
    s = imp.before.snapshot
    o = s.orgs.index(org)
    days = range(imp.window_start.toordinal(), imp.window_end.toordinal() + 1)
    return sum(
        max(0, imp.before.holdings_on(o, sku, d) - imp.after.holdings_on(o, sku, d)) for d in days
    )


@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 10_000), kind=CHANGES, policy=st.sampled_from(list(PolicyName)))
def test_12_2_targets_of_an_org_never_sum_to_more_than_the_org(seed, kind, policy) -> None:
    s = random_snapshot(seed)
    change = _random_change(s, kind, np.random.default_rng(seed))
    if change is None:
        return
    try:
        imp = impact(s, change, policy)
    except GpuledgerError:
        return
    family = s.consumer_org[s.target_consumer]
    for k in range(len(s.skus)):
        for o, org in enumerate(s.orgs):
            mine = (family == o) & (s.target_sku == k)
            total = sum(t.gpu_days_lost for i, t in enumerate(imp.targets) if mine[i])
            assert total <= _org_loss(imp, org, k)
            row = imp.org(org, s.skus[k])
            assert (row.gpu_days_lost if row else 0) == _org_loss(imp, org, k)


def test_12_2_per_target_figures_do_not_depend_on_the_horizon() -> None:
    # The demo's shape in miniature: tesla's lots, one diverted in transit with no
    # payback; a year-end target. A longer horizon must not change any figure.
    def story(horizon: date):
        b = SnapBuilder(as_of=date(2023, 12, 1), horizon_end=horizon, orgs={"tesla": "m", "x": "m"})
        b.lot("DEC", "tesla", 12_000, "2023-12-18", K.IN_TRANSIT)
        b.lot("JUL", "tesla", 40_000, "2024-07-15").lot("NOV", "tesla", 30_000, "2024-11-11")
        b.target("apr", "tesla", 10_000, "2024-04-30").target("eoy", "tesla", 85_000, "2024-12-31")
        return b.build()

    change = DivertChange("DEC", 12_000, "tesla", "x", date(2023, 12, 10))
    short = impact(story(date(2024, 12, 31)), change, PolicyName.CONSIGNED)
    long = impact(story(date(2025, 12, 31)), change, PolicyName.CONSIGNED)
    assert [t.gpu_days_lost for t in short.targets] == [t.gpu_days_lost for t in long.targets]
    assert short.orgs == long.orgs
    # bands: apr [0, 10k), eoy [10k, 85k). Before: 12k (12-18), 52k (07-15), 82k
    # (11-11); after: 0, 40k, 70k. apr loses 10k x 210 days (12-18..07-14); eoy
    # loses 2k x 210 + 12k x 170 (07-15..12-31); the org 12k x 380 (12-18..12-31).
    assert [t.gpu_days_lost for t in short.targets] == [10_000 * 210, 2_000 * 210 + 12_000 * 170]
    assert short.org("tesla").gpu_days_lost == 12_000 * 380


# --------------------------------------------------------------------------- 12.3


def test_12_3_a_target_that_gains_now_completes() -> None:
    b = SnapBuilder(as_of=date(2024, 1, 1), orgs={"tesla": "m", "x": "m"})
    b.lot("T1", "tesla", 10_000, "2024-03-01").lot("X1", "x", 5_000, "2024-03-01")
    b.target("tesla-t", "tesla", 10_000, "2024-06-01").target("x-t", "x", 8_000, "2024-06-01")
    change = DivertChange("T1", 3_000, "tesla", "x", date(2024, 2, 1))
    r = rows(impact(b.build(), change, PolicyName.CONSIGNED))
    assert r["x-t"]["delay"] == "now completes"
    assert "now completes" in r["x-t"]["verdict"]
    assert r["tesla-t"]["delay"] == "no longer completes"


def test_12_3_recovery_lists_only_harmed_targets_and_both_tables_list_the_same_targets() -> None:
    # tesla loses 6k in transit (DEC, 12-18) and gets X-JAN 6k back on 01-20: its
    # target (12k by 06-30) still completes 01-20 before and after... with payback;
    # without, it no longer completes.
    b = SnapBuilder(as_of=date(2023, 12, 1), orgs={"tesla": "m", "x": "m"})
    b.lot("DEC", "tesla", 6_000, "2023-12-18", K.IN_TRANSIT).lot(
        "JAN", "tesla", 6_000, "2024-01-20"
    )
    b.lot("X-JAN", "x", 6_000, "2024-01-20")
    b.target("tesla-jun", "tesla", 12_000, "2024-06-30")
    s = b.build()
    with_pb = impact(
        s,
        DivertChange("DEC", 6_000, "tesla", "x", date(2023, 12, 10), (("X-JAN", 6_000),)),
        PolicyName.CONSIGNED,
    )
    without = impact(
        s, DivertChange("DEC", 6_000, "tesla", "x", date(2023, 12, 10)), PolicyName.CONSIGNED
    )
    t = with_pb.targets[0]
    # before: 6k 12-18, 12k 01-20; after with payback: 12k on 01-20, same date;
    # tesla held 6k less from 12-18 to 01-19: not "unchanged"
    assert (t.completed_before, t.completed_after, t.delay) == (
        date(2024, 1, 20),
        date(2024, 1, 20),
        "same date",
    )
    assert with_pb.recovery == ()
    assert [r.target for r in without.recovery] == ["tesla-jun"]
    assert affected_targets(with_pb, without) == ("tesla-jun",)


@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 10_000), kind=CHANGES, policy=st.sampled_from(list(PolicyName)))
def test_12_3_labels_agree_with_the_numbers(seed, kind, policy) -> None:
    s = random_snapshot(seed)
    change = _random_change(s, kind, np.random.default_rng(seed))
    if change is None:
        return
    try:
        imp = impact(s, change, policy)
    except GpuledgerError:
        return
    by_id = {t.id: t for t in imp.targets}
    for t in imp.targets:
        if t.delay == "unchanged":
            assert t.gpu_days_lost == 0 and t.held_at_by_before == t.held_at_by_after
        if t.completed_before and not t.completed_after:
            assert t.delay == "no longer completes"
        if t.completed_after and not t.completed_before:
            assert t.delay == "now completes"
    for r in imp.recovery:
        t = by_id[r.target]
        harmed = (t.delay_days or 0) > 0 or t.delay == "no longer completes"
        assert harmed or t.short_at_by_after > t.short_at_by_before
        assert r.shortfall > 0


# --------------------------------------------------------------------------- 12.5


def test_12_5_a_slip_happens_on_its_date() -> None:
    # JUN (10k, expected 06-01) slips 45 days, learnt on 2024-03-26: the reorder is
    # placed on 03-26 (not on the books' date), and nothing before 03-26 changes.
    b = SnapBuilder(as_of=date(2024, 1, 1))
    b.lot("JAN", "a", 30_000, "2024-01-15").lot("JUN", "a", 10_000, "2024-06-01")
    b.target("a-jun", "a", 40_000, "2024-06-30")
    b.lead("nvidia", "H100", "2023-01-01", 300, 360)
    imp = impact(b.build(), SlipChange("JUN", 45, date(2024, 3, 26)), PolicyName.CONSIGNED)
    (rec,) = imp.recovery
    assert (imp.change_on, rec.reorder_on) == (date(2024, 3, 26), date(2024, 3, 26))
    # 2024-03-26 + 300 days = 2025-01-20
    assert rec.reorder_arrives_p50 == date(2025, 1, 20)
    assert imp.change == "slip JUN by +45 days on 2024-03-26"


def test_12_5_a_priority_change_happens_on_its_date() -> None:
    # Pool of a and b: L1 10 on 03-01, L2 10 on 07-01. ta (p1) then tb (p2), both
    # 20 by 12-01. From 05-01 tb gets priority 1 (before ta by id? no: ta < tb, so
    # priority 0 puts tb first): L1 (03-01, before the change) stays ta's.
    b = SnapBuilder()
    b.lot("L1", "a", 10, "2024-03-01").lot("L2", "a", 10, "2024-07-01")
    b.target("ta", "a", 20, "2024-12-01", priority=1).target(
        "tb", "b", 20, "2024-12-01", priority=2
    )
    s = b.build()
    imp = impact(s, PriorityChange("tb", 0, date(2024, 5, 1)), PolicyName.PRIORITY)
    held = {t.id: t.held_at_by_after for t in imp.targets}
    assert held == {"ta": 10, "tb": 10}  # L1 kept by ta, L2 to tb from 05-01 on
    # the same change on the books' date moves both lots to tb
    now = impact(s, PriorityChange("tb", 0), PolicyName.PRIORITY)
    assert {t.id: t.held_at_by_after for t in now.targets} == {"ta": 0, "tb": 20}


def test_12_5_a_slip_cannot_move_a_lot_that_arrived_before_its_date() -> None:
    b = SnapBuilder()
    b.lot("MAR", "a", 10, "2024-03-01").target("t", "a", 10, "2024-06-01")
    with pytest.raises(GpuledgerError, match="before the change's date 2024-04-01"):
        impact(b.build(), SlipChange("MAR", 10, date(2024, 4, 1)), PolicyName.CONSIGNED)


# --------------------------------------------------------------------------- 12.7 and 12.9


def test_12_7_a_pooled_impact_says_it_pooled_and_what_moved() -> None:
    b = SnapBuilder(orgs={"tesla": "musk", "xai": "musk"})
    b.lot("XAI-PO", "xai", 50_000, "2024-07-15", K.OPEN_ORDER)
    b.target("tesla-eoy", "tesla", 50_000, "2024-10-31").target(
        "xai-jul", "xai", 50_000, "2024-12-01", priority=2
    )
    imp = impact(b.build(), SlipChange("XAI-PO", 30), PolicyName.PRIORITY)
    out = imp.to_json()
    assert out["pools_supply"] is True
    assert [m["note"] for m in out["moved_after"]] == [
        "priority pooled 50,000 units of xai's order XAI-PO to tesla"
    ]


def test_12_9_recovery_never_offers_the_diverted_lot_back() -> None:
    # tesla's lot L (expected 03-01) goes to x; x's only other future lot is X2.
    b = SnapBuilder(orgs={"tesla": "m", "x": "m"})
    b.lot("L", "tesla", 10, "2024-03-01").lot("X2", "x", 4, "2024-05-01")
    b.target("tesla-t", "tesla", 10, "2024-04-01")
    b.lead("nvidia", "H100", "2023-01-01", 100, 150)
    imp = impact(
        b.build(), DivertChange("L", 10, "tesla", "x", date(2024, 2, 1)), PolicyName.CONSIGNED
    )
    (rec,) = imp.recovery
    assert [p.lot for p in rec.payback_lots] == ["X2"]
