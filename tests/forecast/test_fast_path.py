"""The whole forecast through the batch kernels equals the one planning each sample with plan().

Every output of ``forecast()`` (completions, curves, interruptions, failures and
the powered measure) is compared array for array with a run whose blocks get
their pieces from :func:`~gpuledger.forecast.kernels.reference_pieces` (the
naive path: ``plan()`` once per sample, the same draws), on small random fleets
with lead-time spread, slips, clusters and ties, failures replaced and lost.
"""

from __future__ import annotations

import numpy as np
import pytest

from gpuledger.domain import PolicyName
from gpuledger.forecast import Forecast, blocks, forecast
from gpuledger.forecast.failures import FailureModel
from gpuledger.forecast.kernels import reference_pieces
from gpuledger.planning import PlanningSnapshot

from .test_engine import with_models
from .test_kernels import random_snapshot
from .test_powered import with_power

OUTPUTS = ("completed", "curves", "interruptions", "failures", "power_short")


def sited(snap: PlanningSnapshot) -> PlanningSnapshot:
    """Every consumer's sites power 10 units of each SKU, 25 from 2024-03-01."""
    n_consumers, n_skus = len(snap.consumers), len(snap.skus)
    cap = [[[10, 25]] * n_skus for _ in range(n_consumers)]
    return with_power(snap, ["2024-03-01"], cap)


def run(snap: PlanningSnapshot, policy: PolicyName, replace: bool) -> Forecast:
    """40 samples on one thread, failures replaced or lost (daily buckets)."""
    model = FailureModel(replace=replace)
    return forecast(snap, policy, samples=40, seed=5, threads=1, failure_model=model)


@pytest.mark.parametrize("replace", [True, False], ids=["replaced", "lost"])
@pytest.mark.parametrize("policy", [PolicyName.CONSIGNED, PolicyName.PRIORITY], ids=str)
@pytest.mark.parametrize("fleet", range(8), ids=lambda s: f"fleet{s}")
def test_forecast_equals_the_naive_per_sample_path(
    fleet: int, policy: PolicyName, replace: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    snap = with_models(random_snapshot(fleet), 30, 80, 0.4)
    if fleet % 2:
        snap = sited(snap)
    fast = run(snap, policy, replace)
    monkeypatch.setattr(blocks, "gross_pieces", reference_pieces)
    naive = run(snap, policy, replace)
    for name in OUTPUTS:
        np.testing.assert_array_equal(getattr(fast, name), getattr(naive, name), err_msg=name)
