"""The Dask path gives the same answer as the local one for the same seed."""

from __future__ import annotations

import numpy as np
import pytest

from gpuledger.domain import PolicyName
from gpuledger.forecast import BLOCK_SIZE, forecast

from .test_engine import with_models
from .test_kernels import random_snapshot


@pytest.mark.timeout(120)
def test_two_worker_local_cluster_equals_the_local_run() -> None:
    snap = with_models(random_snapshot(4), 40, 90, 0.2)
    samples = 3 * BLOCK_SIZE + 5
    local = forecast(snap, PolicyName.PRIORITY, samples=samples, seed=5, batch_size=BLOCK_SIZE)
    seen: list[int] = []
    remote = forecast(
        snap,
        PolicyName.PRIORITY,
        samples=samples,
        seed=5,
        batch_size=BLOCK_SIZE,
        workers=2,
        progress=lambda done, _n: seen.append(done),
    )
    np.testing.assert_array_equal(local.completed, remote.completed)
    np.testing.assert_array_equal(local.curves, remote.curves)
    assert local.to_json() == remote.to_json()
    assert seen[-1] == samples and len(seen) == 4


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_an_existing_scheduler_is_used_by_address() -> None:
    from distributed import LocalCluster

    snap = with_models(random_snapshot(6), 40, 90, 0.2)
    local = forecast(snap, PolicyName.CONSIGNED, samples=BLOCK_SIZE + 1, seed=8)
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as cluster:
        remote = forecast(
            snap,
            PolicyName.CONSIGNED,
            samples=BLOCK_SIZE + 1,
            seed=8,
            scheduler=cluster.scheduler_address,
        )
    np.testing.assert_array_equal(local.completed, remote.completed)
    np.testing.assert_array_equal(local.curves, remote.curves)
