"""The compiled kernels (numba) give exactly what their NumPy references give."""

from __future__ import annotations

from dataclasses import fields
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from gpuledger.domain import PolicyName
from gpuledger.forecast import blocks, kernels, sampling
from gpuledger.forecast import compiled as compiled_module
from gpuledger.forecast import completion as completion_module
from gpuledger.forecast.blocks import Job, run_block
from gpuledger.forecast.compiled import gross_held
from gpuledger.forecast.completion import completion_days
from gpuledger.forecast.engine import curve_day0
from gpuledger.forecast.failures import FailureModel
from gpuledger.forecast.kernels import batch_pieces, batch_plan
from gpuledger.forecast.layout import build_layout
from gpuledger.forecast.powered import build_power_cells
from gpuledger.forecast.sampling import arrival_model
from gpuledger.planning.snapshot import PlanningSnapshot, SupplyKind

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
    monkeypatch.setattr(blocks, "grid_curves", blocks._grid_curves_numpy)
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
    if search == "sorted-pieces":  # the kernel's path of cells too many for one table
        monkeypatch.setattr(completion_module, "_TABLE_SLOTS", 0)
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


def random_reduction_inputs(seed: int, lossy: bool) -> tuple[Any, ...]:
    """``compiled.completion_days``'s arguments on random pieces: clusters' pieces count
    for their orgs, several pieces share cells and days, bins of several days."""
    rng = np.random.default_rng(seed)
    n, n_days, day0 = 4, 60, 1000
    parent = np.array([-1, -1, 0, 0, 1, -1], dtype=np.int64)  # series 2, 3 under 0; 4 under 1
    size = 400
    sample = rng.integers(0, n, size).astype(np.int32)
    series = rng.integers(0, parent.size, size).astype(np.int32)
    day = (day0 + rng.integers(0, n_days, size) // 3 * 3).astype(np.int32)
    qty = rng.integers(1, 6, size).astype(np.int32)
    edges = np.unique(rng.integers(1, n_days, 8))
    fine_of_day = np.searchsorted(edges, np.arange(n_days), side="right").astype(np.int64)
    fine_start = np.concatenate([[0], edges]).astype(np.int64)
    width = int(np.diff(np.append(fine_start, n_days)).max())
    bin_of_fine = np.arange(fine_start.size, dtype=np.int64) // 2  # two fine bins a failure bin
    held, _ = gross_held(
        sample, series, day, qty, parent, day0, fine_of_day, fine_start.size, n, None, np.int32
    )
    failed = None
    if lossy:
        lost = rng.integers(0, 3, (int(bin_of_fine[-1]) + 1, held.shape[1]))
        failed = np.cumsum(lost, axis=0)
    rows = rng.integers(0, held.shape[1], 300)
    target_qty = rng.integers(1, int(held.max()) + 2, rows.size)
    return (sample, series, day, qty, parent, held, failed, fine_of_day, bin_of_fine,
            fine_start, width, day0, rows, target_qty)  # fmt: skip


@pytest.mark.parametrize("slots", [1 << 22, 0], ids=["one-table", "cell-by-cell"])
@pytest.mark.parametrize("lossy", [False, True], ids=["kept", "lost"])
@pytest.mark.parametrize("seed", range(30), ids=lambda s: f"seed{s}")
def test_completion_days_are_the_same_compiled_or_in_numpy(
    seed: int, lossy: bool, slots: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = random_reduction_inputs(seed, lossy)
    monkeypatch.setattr(completion_module, "_TABLE_SLOTS", slots)
    got = completion_days(*args)
    want = numpy_completion_days(*args)
    np.testing.assert_array_equal(got, want)
    assert (want >= 0).any() and (want < 0).any()  # queries met and not


@pytest.mark.parametrize("fleet", range(10), ids=lambda s: f"fleet{s}")
def test_fixed_rows_are_found_the_same_compiled_or_in_numpy(fleet: int) -> None:
    snap = random_snapshot(fleet)
    days = random_days(snap, 6, fleet)
    moving = np.flatnonzero(snap.supply_kind != SupplyKind.ARRIVED)
    fixed = np.flatnonzero(snap.supply_kind == SupplyKind.ARRIVED)
    last = days.copy()
    last[-1, fixed] += 1  # rows that move in the last sample only
    for d, rows in ((days, fixed), (days, moving), (days, np.arange(days.shape[1])),
                    (last, fixed), (days[:1], moving), (days, fixed[:0])):  # fmt: skip
        assert compiled_module.same_days(d, rows) == kernels._same_days_numpy(d, rows)
    if fixed.size:  # the check itself, not only the agreement
        assert compiled_module.same_days(days, fixed)
        assert not compiled_module.same_days(last, fixed)
