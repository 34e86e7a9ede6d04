"""plan_from: a plan that keeps a baseline's past (DESIGN section 5)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from gpuledger.domain import PolicyName
from gpuledger.planning import plan, plan_from

from .test_properties import SEEDS, random_snapshot

DAYS = [-40, 0, 45, 120, 400]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shift", DAYS)
@pytest.mark.parametrize(
    "policy", [PolicyName.CONSIGNED, PolicyName.PRIORITY, PolicyName.FAIR_SHARE], ids=str
)
def test_day_by_day_policies_continue_their_own_plan(seed, shift, policy) -> None:
    # consigned, priority and fair-share decide day by day: replanning from any day
    # with nothing changed gives the plan itself
    s = random_snapshot(seed)
    p = plan(s, policy)
    q = plan_from(p, s, s.as_of + timedelta(days=shift))
    assert np.array_equal(p.holdings, q.holdings)
    assert q.to_json() == p.to_json()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shift", DAYS)
def test_optimal_continues_with_the_same_objective(seed, shift) -> None:
    s = random_snapshot(seed)
    p = plan(s, PolicyName.OPTIMAL)
    q = plan_from(p, s, s.as_of + timedelta(days=shift))
    assert q.objective == pytest.approx(p.objective)
    cut = max(s.as_of.toordinal() + shift - p.day0, 0)
    assert np.array_equal(p.holdings[:, :, :cut], q.holdings[:, :, :cut])
