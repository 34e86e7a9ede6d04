"""reduce_pieces (bins-first, no dense days) equals a dense day-by-day reduction."""

from __future__ import annotations

import numpy as np
import pytest

from gpuledger.domain import PolicyName
from gpuledger.forecast import blocks
from gpuledger.forecast.blocks import _accumulate_down, _exposure, _first_at_least, reduce_pieces
from gpuledger.forecast.engine import curve_day0
from gpuledger.forecast.failures import FailureModel, bucket_index, cumulative_failures
from gpuledger.forecast.kernels import batch_pieces, pieces_to_curves
from gpuledger.forecast.layout import Layout, build_layout
from gpuledger.planning.snapshot import PlanningSnapshot

from .test_engine import with_models
from .test_kernels import random_days, random_snapshot


def dense_reduce(
    snap: PlanningSnapshot, layout: Layout, days: np.ndarray, bucket_days: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Completions and curves from dense daily curves: the rules read literally."""
    n = days.shape[0]
    pieces = batch_pieces(snap, PolicyName.PRIORITY, layout, days)
    gross = pieces_to_curves(pieces, n, layout)  # [n, series, days]
    day_bin = bucket_index(np.arange(layout.n_days), layout.first_failure, bucket_days)
    n_bins = int(day_bin[-1]) + 1
    arrivals = np.zeros((n, gross.shape[1], n_bins), dtype=np.int64)
    inc = np.diff(gross, axis=2, prepend=0)
    for b in range(n_bins):
        arrivals[:, :, b] = inc[:, :, day_bin == b].sum(axis=2)
    failed = cumulative_failures(
        arrivals, layout.series_rate, layout.series_parent, bucket_days, np.random.default_rng(seed)
    )
    net = gross - failed[:, :, day_bin]
    completed = np.full((n, len(snap.target_id)), -1, dtype=np.int64)
    for s in range(n):
        for t in range(len(snap.target_id)):
            qty = int(snap.target_qty[t])
            hit = np.flatnonzero(net[s, layout.target_series[t]] >= qty)
            if qty <= 0:
                completed[s, t] = layout.day0
            elif hit.size:
                completed[s, t] = layout.day0 + int(hit[0])
    return completed, net[:, :, layout.grid]


@pytest.mark.parametrize("search", ["day-table", "sorted-pieces"])
@pytest.mark.parametrize("bucket_days", [1, 5, 14], ids=lambda b: f"bucket{b}")
@pytest.mark.parametrize("fleet", range(12), ids=lambda s: f"fleet{s}")
def test_reduction_equals_the_dense_daily_one(
    fleet: int, bucket_days: int, search: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if search == "sorted-pieces":  # the path of cells too many for a day table
        monkeypatch.setattr(blocks, "_DENSE_CELL_DAYS", 0)
    snap = with_models(random_snapshot(fleet), 40, 90, [0.3, 0.9][fleet % 2])
    layout = build_layout(snap, day0=curve_day0(snap), curve_step_days=1 + fleet % 9)
    days = random_days(snap, 8, fleet + 500)
    pieces = batch_pieces(snap, PolicyName.PRIORITY, layout, days)
    lost = FailureModel(replace=False)  # the path where failures lower holdings
    completed, curves, _, _ = reduce_pieces(
        pieces, 8, layout, snap.target_qty, bucket_days, np.random.default_rng(fleet), lost
    )
    want_completed, want_curves = dense_reduce(snap, layout, days, bucket_days, fleet)
    np.testing.assert_array_equal(completed, want_completed)
    np.testing.assert_array_equal(curves, want_curves)


@pytest.mark.parametrize("n_fine", [0, 1, 2, 7, 64, 75], ids=lambda n: f"fine{n}")
def test_first_at_least_is_the_first_row_reaching_the_quantity(n_fine: int) -> None:
    rng = np.random.default_rng(n_fine)
    running = np.cumsum(rng.integers(0, 5, (n_fine, 9)), axis=0).astype(np.int32)
    rows = rng.integers(0, 9, 200).astype(np.int64)
    qty = rng.integers(0, 5 * n_fine + 3, 200).astype(np.int64)
    expected = [
        next((f for f in range(n_fine) if running[f, r] >= q), n_fine)
        for r, q in zip(rows.tolist(), qty.tolist(), strict=True)
    ]
    assert _first_at_least(running, rows, qty).tolist() == expected


@pytest.mark.parametrize("op", [np.add, np.maximum], ids=["add", "maximum"])
def test_accumulate_down_equals_numpy_accumulate(op: np.ufunc) -> None:
    a = np.random.default_rng(1).integers(-50, 50, (6, 11))
    expected = op.accumulate(a, axis=0)
    _accumulate_down(op, a)
    assert (a == expected).all()


@pytest.mark.parametrize("fleet", range(6), ids=lambda s: f"fleet{s}")
def test_exposure_is_the_units_held_on_each_day_of_the_window(fleet: int) -> None:
    # a unit counts on each day after the one it arrives, from as_of + 1 on
    snap = random_snapshot(fleet)
    layout = build_layout(snap, day0=curve_day0(snap), curve_step_days=7)
    days = random_days(snap, 5, fleet + 900)
    pieces = batch_pieces(snap, PolicyName.PRIORITY, layout, days)
    n_series = layout.series_consumer.size
    row = pieces.sample * n_series + pieces.series
    got = _exposure(pieces.qty, pieces.day - layout.day0, row, 5, layout)
    gross = pieces_to_curves(pieces, 5, layout)  # held at the end of each day
    held_before = np.concatenate([np.zeros_like(gross[:, :, :1]), gross[:, :, :-1]], axis=2)
    want = held_before[:, :, max(layout.first_failure, 0) :].sum(axis=2)
    np.testing.assert_array_equal(got, want)
