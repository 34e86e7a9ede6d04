"""The compiled kernels (numba) give exactly what their NumPy references give."""

from __future__ import annotations

from dataclasses import fields
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from gpuledger.domain import PolicyName
from gpuledger.forecast import blocks, kernels, sampling
from gpuledger.forecast.blocks import Job, run_block
from gpuledger.forecast.engine import curve_day0
from gpuledger.forecast.failures import FailureModel
from gpuledger.forecast.kernels import batch_pieces, batch_plan
from gpuledger.forecast.layout import build_layout
from gpuledger.forecast.powered import build_power_cells
from gpuledger.forecast.sampling import arrival_model
from gpuledger.planning.snapshot import PlanningSnapshot

from .test_engine import with_models
from .test_kernels import random_days, random_snapshot

POLICIES = [PolicyName.CONSIGNED, PolicyName.PRIORITY]


def numpy_completion_days(
    sample: np.ndarray,
    series: np.ndarray,
    day: np.ndarray,
    qty: np.ndarray,
    parent: np.ndarray,
    held: np.ndarray,
    failed: np.ndarray | None,
    fine_of_day: np.ndarray,
    bin_of_fine: np.ndarray,
    fine_start: np.ndarray,
    width: int,
    day0: int,
    rows: np.ndarray,
    target_qty: np.ndarray,
) -> np.ndarray:
    """``compiled.completion_days``'s arguments handed to its reference.

    (``blocks._completion_days``, which reads them as pieces and layouts.)
    """
    pieces = blocks.Pieces(sample, series, day, qty)
    n_rows = held.shape[1]
    row = sample.astype(np.int64) * parent.size + series
    key = fine_of_day[day - day0] * n_rows + row
    fine: Any = SimpleNamespace(bin_of_fine=bin_of_fine, fine_start=fine_start, width=width)
    layout: Any = SimpleNamespace(series_parent=parent, day0=day0)
    return blocks._completion_days(pieces, key, fine, held, failed, rows, target_qty, layout)


def use_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every compiled kernel of a block swapped for its NumPy reference."""
    monkeypatch.setattr(blocks, "sample_arrivals", sampling._sample_arrivals_numpy)
    monkeypatch.setattr(kernels, "_pass_pieces", kernels._pass_pieces_numpy)
    monkeypatch.setattr(blocks, "_gross_held", blocks._gross_held_numpy)
    monkeypatch.setattr(blocks, "completion_days", numpy_completion_days)


def snapshot(fleet: int) -> PlanningSnapshot:
    """A small random fleet with lead times, slips and failures."""
    return with_models(random_snapshot(fleet), 40, 90, [0.3, 0.9][fleet % 2])


@pytest.mark.parametrize("search", ["day-table", "sorted-pieces"])
@pytest.mark.parametrize(
    ("replace", "bucket_days"),
    [(True, 1), (False, 1), (False, 7)],
    ids=["replaced", "lost", "lost7"],
)
@pytest.mark.parametrize("policy", POLICIES, ids=str)
@pytest.mark.parametrize("fleet", range(16), ids=lambda s: f"fleet{s}")
def test_a_block_is_the_same_compiled_or_in_numpy(
    fleet: int,
    policy: PolicyName,
    replace: bool,
    bucket_days: int,
    search: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    snap = snapshot(fleet)
    layout = build_layout(snap, day0=curve_day0(snap), curve_step_days=1 + fleet % 9)
    job = Job(
        snapshot=snap,
        policy=policy,
        model=arrival_model(snap),
        layout=layout,
        seed=fleet,
        samples=300,  # a whole block and a partial one
        failure_bucket_days=bucket_days,
        failure_model=FailureModel(replace=replace),
        power=build_power_cells(snap, layout),
        kernel=batch_plan(snap, policy, layout),
    )
    compiled = [run_block(job, b) for b in range(job.n_blocks)]
    use_numpy(monkeypatch)
    if search == "sorted-pieces":  # the reference's path of cells too many for a day table
        monkeypatch.setattr(blocks, "_DENSE_CELL_DAYS", 0)
    for b, got in enumerate(compiled):
        want = run_block(job, b)
        assert got.block == want.block
        for name in (f.name for f in fields(want) if f.name != "block"):
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name), name)
            assert getattr(got, name).dtype == getattr(want, name).dtype


@pytest.mark.parametrize("policy", POLICIES, ids=str)
@pytest.mark.parametrize("fleet", range(40), ids=lambda s: f"fleet{s}")
def test_pieces_are_the_same_compiled_or_in_numpy(
    fleet: int, policy: PolicyName, monkeypatch: pytest.MonkeyPatch
) -> None:
    # piece by piece, not only the same curves. As multisets: a pass whose rows
    # never move is repeated per sample in parts (the reference has two per pass,
    # the kernel one), and the reduction only sums pieces
    snap = random_snapshot(fleet)
    layout = build_layout(snap, day0=curve_day0(snap))
    days = random_days(snap, 9, fleet + 100)
    got = batch_pieces(snap, policy, layout, days)
    monkeypatch.setattr(kernels, "_pass_pieces", kernels._pass_pieces_numpy)
    want = batch_pieces(snap, policy, layout, days)
    names = ("sample", "series", "day", "qty")
    for name in names:
        assert getattr(got, name).dtype == getattr(want, name).dtype
    got_rows = np.stack([getattr(got, name) for name in names])
    want_rows = np.stack([getattr(want, name) for name in names])
    np.testing.assert_array_equal(
        got_rows[:, np.lexsort(got_rows)], want_rows[:, np.lexsort(want_rows)]
    )


@pytest.mark.parametrize("fleet", range(20), ids=lambda s: f"fleet{s}")
def test_arrival_days_are_the_same_compiled_or_in_numpy(fleet: int) -> None:
    snap = with_models(random_snapshot(fleet), 20 + fleet, 30 + 4 * fleet, 0.0)
    model = arrival_model(snap)
    uniforms = np.random.default_rng(fleet).random((50, len(snap.supply_id)))
    uniforms[0] = 0.0  # the extreme draws: the clipped tails
    uniforms[1] = np.nextafter(1.0, 0.0)
    got = sampling.sample_arrivals(model, uniforms)
    np.testing.assert_array_equal(got, sampling._sample_arrivals_numpy(model, uniforms))
    assert got.dtype == np.int64
