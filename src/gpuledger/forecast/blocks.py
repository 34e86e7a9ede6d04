"""One block of samples: draw, plan, fail, reduce to completions and curves.

Randomness: block ``b`` of a run seeded ``seed`` uses the generator
``PCG64(SeedSequence(seed, spawn_key=(b,)))`` (the ``b``-th child of
``SeedSequence(seed)``), drawing first one uniform per sample and supply row,
then the failure draws (with ``replace=False`` one Poisson call per day, the
losses; then one call for failures, unless drawn day by day, and one for the
other interruptions: see ``failures.py``). A block always holds the
same samples (``b * BLOCK_SIZE`` onwards), so the answer never depends on batch
size, threads or workers.

Reduction works on *pieces* (units reaching a series on a day), never on dense
daily curves: losses are drawn per bucket (a day by default) from per-bucket
arrival counts, and a target completes on the first piece at which its series'
holdings, net of the losses counted by that day, reach its quantity. Between two
pieces holdings can only go down (losses), so the first crossing is always on a
piece's day. Replaced failures and interruptions never lower holdings: they are
counted (per sample and series, over the window) but change no completion.

The passes over the pieces run in compiled kernels (compiled.py:
:func:`_gross_held`, the grid curves; completion.py: the completion days); the NumPy
functions they replace (:func:`_gross_held_numpy`, :func:`_grid_curves_numpy`,
:func:`_completion_days` and its helpers) stay here
as their references, which tests/forecast/test_compiled.py runs against them.

Over 500 lines: those NumPy references of the compiled reduction sit beside
the reduction they stand for (the tests swap one for the other here); moved
apart, one block's reduction would be read across two modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gpuledger.domain import PolicyName
from gpuledger.forecast.compiled import grid_curves, gross_held
from gpuledger.forecast.completion import completion_days
from gpuledger.forecast.failures import (
    DEFAULT_FAILURE_MODEL,
    FailureModel,
    bucket_index,
    failures_bins_first,
    interruption_counts,
)
from gpuledger.forecast.kernels import BatchPlan, Pieces, gross_pieces
from gpuledger.forecast.layout import Layout
from gpuledger.forecast.powered import PowerCells, power_short
from gpuledger.forecast.sampling import ArrivalModel, sample_arrivals
from gpuledger.planning import IntArray, PlanningSnapshot

__all__ = ["BLOCK_SIZE", "BlockResult", "Job", "block_generator", "reduce_pieces", "run_block"]

BLOCK_SIZE = 256
"""Samples per block: the unit of randomness, of batching and of Dask tasks."""

Int32Array = npt.NDArray[np.int32]
AnyIntArray = npt.NDArray[np.signedinteger[Any]]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Job:
    """Everything a block needs; shipped once to each Dask worker."""

    snapshot: PlanningSnapshot
    policy: PolicyName
    model: ArrivalModel
    layout: Layout
    seed: int
    samples: int
    failure_bucket_days: int
    failure_model: FailureModel = DEFAULT_FAILURE_MODEL
    power: PowerCells | None = None
    kernel: BatchPlan | None = None  # None: looked up by every block

    @property
    def n_blocks(self) -> int:
        """Blocks needed for all samples (the last one may be partial)."""
        return -(-self.samples // BLOCK_SIZE)


@dataclass(frozen=True)
class BlockResult:
    """What one block contributes, in sample order.

    Attributes:
        block: the block index.
        completed: ``[n, targets]`` completion day ordinal, -1 = never in horizon.
        curves: ``[n, series, grid]`` holdings net of losses on the grid days.
        interruptions: ``[n, series]`` interruptions in the window (failures included).
        failures: ``[n, series]`` failures in the window (replaced or lost).
        power_short: ``[n, targets]`` True where the units its consumer's sites
            could power on ``by`` fall short of the target (see powered.py).
    """

    block: int
    completed: IntArray
    curves: Int32Array
    interruptions: IntArray
    failures: IntArray
    power_short: npt.NDArray[np.bool_]


def block_generator(seed: int, block: int) -> np.random.Generator:
    """The generator of one block: independent of every other block's."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block,))))


@dataclass(frozen=True)
class _Bins:
    """Fine bins of the curve days: cut at every failure bucket and after every grid day.

    A series' holdings are then known, gross, at the end of every fine bin from one
    ``bincount`` of the pieces; failure bins and grid days are unions of fine bins.
    Day indices count from ``layout.day0``.
    """

    n_fine: int
    fine_of_day: IntArray  # per day index, its fine bin
    fine_start: IntArray  # per fine bin, its first day index
    width: int  # days in the longest fine bin
    bin_of_fine: IntArray  # per fine bin, its failure bin (see failures.bucket_index)
    last_fine: IntArray  # per failure bin, its last fine bin
    grid_fine: IntArray  # per grid day, the fine bin it ends
    grid_bin: IntArray  # per grid day, its failure bin


def _fine_bins(layout: Layout, bucket_days: int) -> _Bins:
    n_days, first = layout.n_days, layout.first_failure
    days = np.arange(n_days, dtype=np.int64)
    bin_of_day = bucket_index(days, first, bucket_days)
    edges = np.union1d(np.arange(first, n_days, bucket_days), layout.grid + 1)
    edges = edges[(edges > 0) & (edges < n_days)].astype(np.int64)
    fine_of_day = np.searchsorted(edges, days, side="right").astype(np.int64)
    fine_start = np.concatenate([[0], edges]).astype(np.int64)
    n_bins = int(bin_of_day[-1]) + 1
    last_day = np.full(n_bins, -1, dtype=np.int64)
    last_day[bin_of_day] = days  # the last write wins: the bin's last day
    return _Bins(
        n_fine=fine_start.size,
        fine_of_day=fine_of_day,
        fine_start=fine_start,
        width=int(np.diff(np.append(fine_start, n_days)).max()),
        bin_of_fine=bin_of_day[fine_start],
        last_fine=fine_of_day[last_day],
        grid_fine=fine_of_day[layout.grid],
        grid_bin=bin_of_day[layout.grid],
    )


def _sort_packed(key: IntArray, n: int) -> IntArray:
    """Order that sorts non-negative ``key`` (stable): key and index packed in one int64."""
    idx_bits = max(int(n).bit_length(), 1)
    if int(key.max(initial=0)).bit_length() + idx_bits < 63:
        packed = np.sort((key << idx_bits) | np.arange(n, dtype=np.int64))
        return packed & ((1 << idx_bits) - 1)
    return np.argsort(key, kind="stable")


def _accumulate_down(op: np.ufunc, a: npt.NDArray[np.integer[Any]]) -> None:
    """``op.accumulate(a, axis=0)`` in place on a C-ordered 2-D array, row by row.

    Each step is one contiguous row, which runs ~4x faster than NumPy's
    ``accumulate`` down axis 0 on wide arrays (same integers, same result).
    """
    for i in range(1, a.shape[0]):
        op(a[i - 1], a[i], out=a[i])


def _first_at_least(
    running: npt.NDArray[np.integer[Any]], rows: IntArray, qty: IntArray
) -> IntArray:
    """Per query, the first ``f`` with ``running[f, row] >= qty``; ``running.shape[0]`` if none.

    ``running`` is non-decreasing down each column: a branchless binary search
    (the answer is the count of entries below ``qty``) whose halvings depend on
    the column's length only, so every query takes the same steps and no probe
    falls outside the column: one gather per halving for every query together.
    """
    n, width = running.shape
    if n == 0:
        return np.zeros(rows.size, dtype=np.int64)
    flat = running.ravel()
    at = rows.astype(np.int64)  # flat index of each query's candidate, row `base` of its column
    length = n
    while length > 1:
        half = length // 2
        # the answer is above base + half when that entry is still below qty
        at += (flat.take(at + half * width) < qty) * (half * width)
        length -= half
    base: IntArray = at // width
    base += flat.take(at) < qty
    return base


def _completion_days(
    pieces: Pieces,
    key: IntArray,
    fine: _Bins,
    held: npt.NDArray[np.integer[Any]],
    failed: npt.NDArray[np.integer[Any]] | None,
    rows: IntArray,
    qty: IntArray,
    layout: Layout,
) -> IntArray:
    """First day each query's series (``rows``) holds ``qty`` (> 0) units net; -1 if never.

    The NumPy reference of :func:`completion.completion_days`, which the forecast runs.

    ``held``: ``[fine bins, rows]`` gross holdings at each fine bin's end;
    ``failed``: ``[failure bins, rows]``, None when nothing is lost; ``key``: each
    piece's ``fine bin * rows + row``. Net holdings only fall inside a fine bin
    (failures count from their bucket's first day), so the first crossing is in
    the first fine bin whose end reaches ``qty``, on the first day that bin's
    pieces bring the series there.
    """
    out = np.full(rows.size, -1, dtype=np.int64)
    n_fine, n_rows = held.shape
    # 1. the fine bin: the first whose end holds enough (running max of net holdings)
    running = held  # nothing lost: gross holdings never fall
    if failed is not None:
        running = held - failed[fine.bin_of_fine]
        _accumulate_down(np.maximum, running)
    f = _first_at_least(running, rows, qty)
    found = np.flatnonzero(f < n_fine)
    if found.size == 0:
        return out
    f, row = f[found], rows[found]
    # units the bin's own pieces must bring: qty + failures - holdings before it
    before = np.where(f > 0, held[np.maximum(f - 1, 0), row], 0)
    need = (qty[found] - before).astype(np.int64)
    if failed is not None:
        need += failed[fine.bin_of_fine[f], row]
    # 2. the day: among the pieces of those cells (fine bin, row), the first day
    #    their running sum reaches the need
    index = f * n_rows + row
    mark = np.zeros(n_fine * n_rows, dtype=bool)
    mark[index] = True
    cells = np.flatnonzero(mark)
    cell_id = np.full(n_fine * n_rows, -1, dtype=np.int32)
    cell_id[cells] = np.arange(cells.size, dtype=np.int32)
    which = cell_id[index]
    sel, cid = _cell_pieces(pieces, key, mark, cell_id, layout.series_parent)
    day0 = layout.day0
    if cells.size * fine.width <= _DENSE_CELL_DAYS:
        out[found] = _first_day_dense(pieces, sel, cid, cells // n_rows, which, need, fine, day0)
        return out
    day = pieces.day[sel]
    span = int(day.max()) - day0 + 1
    order = _sort_packed(cid.astype(np.int64) * span + (day - day0), sel.size)
    day, qty_sorted = day[order], pieces.qty[sel[order]]
    running_qty = np.cumsum(qty_sorted)
    # units in the cells before each cell: cells are sorted, so this is a running sum too
    per_cell = np.bincount(cid, weights=pieces.qty[sel], minlength=cells.size)
    start = (np.cumsum(per_cell) - per_cell).astype(np.int64)
    at = np.searchsorted(running_qty, start[which] + need, side="left")
    out[found] = day[at]
    return out


def _cell_pieces(
    pieces: Pieces,
    key: IntArray,
    mark: npt.NDArray[np.bool_],
    cell_id: npt.NDArray[np.int32],
    parent: IntArray,
) -> tuple[IntArray, npt.NDArray[np.int32]]:
    """The pieces in the marked cells, and each one's cell: a piece may count in two.

    ``mark`` and ``cell_id`` are flat ``[fine bin, sample, series]`` tables (the
    cells queried; their ids). A cluster's piece counts for its org too (see
    :class:`Pieces`): in its org's cell of the same fine bin and sample. One
    gather over all pieces reads both from a small code table: 1 where a piece's
    own cell is marked, 2 where its org's is (a cluster series' columns, from
    its org's).
    """
    n_series = parent.size
    children = np.flatnonzero(parent >= 0)
    code = mark.astype(np.uint8)
    by_series = code.reshape(-1, n_series)
    by_series[:, children] |= mark.reshape(-1, n_series)[:, parent[children]].view(np.uint8) << 1
    hit = code[key]
    sel = np.flatnonzero(hit > 0)  # on a bool array: NumPy's fast path (5x)
    hit = hit[sel]
    own, org = sel[(hit & 1) != 0], sel[hit >= 2]
    # the org's cell: the same bin and sample, the cluster's series shifted to the org's
    shift = parent - np.arange(n_series)
    org_key = key[org] + shift.take(pieces.series[org])
    cid = np.concatenate([cell_id[key[own]], cell_id[org_key]])
    return np.concatenate([own, org]), cid


_DENSE_CELL_DAYS = 1 << 23
"""Above this many (cell, day) slots the completion day is found by sorting pieces."""


def _first_day_dense(
    pieces: Pieces,
    sel: IntArray,
    cid: npt.NDArray[np.int32],
    cell_bin: IntArray,
    which: npt.NDArray[np.int32],
    need: IntArray,
    fine: _Bins,
    day0: int,
) -> IntArray:
    """Per query, the first day its cell's pieces bring ``need`` units: a day table per cell.

    ``sel``: the pieces in a queried cell, ``cid`` their cell; ``cell_bin``: per
    cell, its fine bin; ``which``: per query, its cell. Each cell's units by day
    of its bin (``fine.width`` days at most), summed and run down the days; the
    answer is the first day whose running sum reaches the need (always within
    the bin).
    """
    width, n_cells = fine.width, cell_bin.size
    offset = pieces.day[sel] - day0 - fine.fine_start[cell_bin[cid]]
    # [day of the bin, cell]: each day's row contiguous, run down the days
    flat = offset * n_cells + cid
    table = np.bincount(flat, weights=pieces.qty[sel], minlength=width * n_cells)
    table = table.reshape(width, n_cells)
    _accumulate_down(np.add, table)
    first = _first_at_least(table, which.astype(np.int64), need)
    assert bool((first < width).all()), "a cell's pieces must reach its need"
    days: IntArray = day0 + fine.fine_start[cell_bin[which]] + first.astype(np.int64)
    return days


def _exposure(
    qty: AnyIntArray, day_index: IntArray, row: IntArray, n: int, layout: Layout
) -> npt.NDArray[np.float64]:
    """GPU-days each sample's series holds from ``as_of + 1`` to the horizon's end (gross).

    A unit is exposed from the day after it arrives (units held on ``as_of``:
    from ``as_of + 1``) through the horizon's last day. Per piece: ``qty`` units
    arriving on ``day_index`` (from ``layout.day0``) to ``row`` (``sample *
    series + series``). The days exposed depend on the arrival day only: read
    from a table of the horizon's days, then one ``bincount``.
    """
    n_series = layout.series_consumer.size
    per_day = _exposed_days(layout)
    days = per_day.take(day_index)
    days *= qty
    counts = np.bincount(row, weights=days, minlength=n * n_series)
    out = np.asarray(counts, dtype=np.float64).reshape(n, n_series)
    layout.fold_clusters(out)  # an org's units include its clusters' (exact: integers)
    assert bool((out >= 0).all())
    return out


def _exposed_days(layout: Layout) -> FloatArray:
    """Per arrival day index, the days a unit arriving then is exposed to failure.

    From the day after it arrives (units held on ``as_of``: from ``as_of + 1``)
    through the horizon's last day, never negative (a day index is at most
    ``n_days - 1``); float64 from the start (what the exposure sums; integers
    this small stay exact).
    """
    arrival = np.arange(1, layout.n_days + 1, dtype=np.float64)
    exposed: FloatArray = layout.n_days - np.maximum(arrival, layout.first_failure)
    return exposed


def _units_held(pieces: Pieces) -> type[np.signedinteger[Any]]:
    """int32 for holdings when no series can reach 2**31 units (half the memory touched)."""
    return np.int32 if int(pieces.qty.sum()) < 2**31 else np.int64


def _gross_held(
    pieces: Pieces, n: int, layout: Layout, fine: _Bins, failing: bool
) -> tuple[npt.NDArray[np.integer[Any]], FloatArray | None]:
    """Gross holdings ``[fine bins, n * series]`` at each fine bin's end, and the
    GPU-days each sample's series holds in the window (None when nothing fails).

    Compiled (:func:`compiled.gross_held`); :func:`_gross_held_numpy` is the reference.
    """
    held, exposure = gross_held(
        pieces.sample,
        pieces.series,
        pieces.day,
        pieces.qty,
        layout.series_parent,
        layout.day0,
        fine.fine_of_day,
        fine.n_fine,
        n,
        _exposed_days(layout) if failing else None,
        _units_held(pieces),
    )
    if exposure is None:
        return held, None
    out = exposure.reshape(n, layout.series_consumer.size)
    layout.fold_clusters(out)  # an org's units include its clusters' (exact: integers)
    assert bool((out >= 0).all())
    return held, out


def _gross_held_numpy(
    pieces: Pieces, n: int, layout: Layout, fine: _Bins, failing: bool
) -> tuple[npt.NDArray[np.integer[Any]], FloatArray | None]:
    """:func:`_gross_held` in NumPy: the reference the compiled kernel is tested against."""
    n_series = layout.series_consumer.size
    n_rows = n * n_series
    row = np.multiply(pieces.sample, n_series, dtype=np.int64)
    row += pieces.series
    index = np.subtract(pieces.day, layout.day0, dtype=np.int64)
    exposure = _exposure(pieces.qty, index, row, n, layout) if failing else None
    key = (fine.fine_of_day * n_rows).take(index)  # its cell: fine bin * rows + row
    key += row
    # float64 sums of integers stay exact far beyond any fleet's unit count
    counts = np.bincount(key, weights=pieces.qty, minlength=fine.n_fine * n_rows)
    held = counts.reshape(fine.n_fine, n_rows).astype(_units_held(pieces))
    layout.fold_clusters(held.reshape(fine.n_fine, n, n_series))  # clusters' units are the org's
    _accumulate_down(np.add, held)
    return held, exposure


def _grid_curves_numpy(
    held: npt.NDArray[np.integer[Any]],
    failed: npt.NDArray[np.integer[Any]] | None,
    grid_fine: IntArray,
    grid_bin: IntArray,
    n: int,
    n_series: int,
) -> Int32Array:
    """:func:`compiled.grid_curves` in NumPy: the reference it is tested against."""
    on_grid = held[grid_fine]
    net = on_grid if failed is None else on_grid - failed[grid_bin]
    curves = net.astype(np.int32, copy=False)  # copied once, by the transpose below
    return np.ascontiguousarray(curves.reshape(net.shape[0], n, n_series).transpose(1, 2, 0))


def reduce_pieces(
    pieces: Pieces,
    n: int,
    layout: Layout,
    target_qty: IntArray,
    bucket_days: int,
    rng: np.random.Generator,
    model: FailureModel = DEFAULT_FAILURE_MODEL,
) -> tuple[IntArray, Int32Array, IntArray, IntArray]:
    """Completions, net curves and failure counts of a block.

    Returns ``completed [n, targets]``, ``curves [n, series, grid]``,
    ``interruptions [n, series]`` and ``failures [n, series]``. Works bins-first
    (``[bin, sample * series]``): each bin's slice is contiguous, running sums go
    down columns, and the loss draws need no transpose. Only lost units
    (``model.replace`` False) lower holdings; with replacement the bins are cut
    at the grid days only.
    """
    out, _ = _reduce(pieces, n, layout, target_qty, bucket_days, rng, model)
    return out


def _reduce(
    pieces: Pieces,
    n: int,
    layout: Layout,
    target_qty: IntArray,
    bucket_days: int,
    rng: np.random.Generator,
    model: FailureModel,
) -> tuple[tuple[IntArray, Int32Array, IntArray, IntArray], npt.NDArray[np.integer[Any]] | None]:
    """:func:`reduce_pieces`, and the losses by failure bin (None when nothing is lost)."""
    n_series = layout.series_consumer.size
    n_rows = n * n_series
    n_targets = target_qty.size
    completed = np.full((n, n_targets), -1, dtype=np.int64)
    completed[:, target_qty <= 0] = layout.day0
    none = np.zeros((n, n_series), dtype=np.int64)
    if layout.n_days == 0:
        empty = np.zeros((n, n_series, layout.grid.size), dtype=np.int32)
        return (completed, empty, none, none), None
    failing = bool((layout.series_rate > 0).any())
    lossy = failing and not model.replace
    fine = _fine_bins(layout, bucket_days if lossy else layout.n_days)
    # 1. gross holdings at the end of every fine bin: one pass over the pieces
    held, exposure = _gross_held(pieces, n, layout, fine, failing)
    # 2. losses (replace=False): one draw per sample, series and bucket
    failed = None
    if lossy:
        last = held[fine.last_fine]  # explicit shapes below: -1 is no size when n_series is 0
        failed = failures_bins_first(
            last.reshape(last.shape[0], n, n_series),
            layout.series_rate,
            layout.series_parent,
            bucket_days,
            rng,
        ).reshape(last.shape[0], n_rows)
    # 3. interruptions and failures in the window: two draws per sample and series
    interrupted, failures = none, none
    if exposure is not None:
        lost = None if failed is None else failed[-1].reshape(n, n_series)
        interrupted, failures = interruption_counts(
            exposure,
            layout.series_rate,
            layout.series_parent,
            model,
            rng,
            lost,
        )
    # 4. holdings on the grid days, net of losses
    curves = grid_curves(held, failed, fine.grid_fine, fine.grid_bin, n, n_series)
    # 5. completion: the first day net holdings reach the target's quantity
    positive = np.flatnonzero(target_qty > 0)
    if positive.size:
        series = layout.target_series[positive]
        rows = (np.arange(n, dtype=np.int64)[:, None] * n_series + series).ravel()
        qty = np.broadcast_to(target_qty[positive], (n, positive.size)).ravel()
        days = completion_days(
            pieces.sample,
            pieces.series,
            pieces.day,
            pieces.qty,
            layout.series_parent,
            held,
            failed,
            fine.fine_of_day,
            fine.bin_of_fine,
            fine.fine_start,
            fine.width,
            layout.day0,
            rows,
            qty,
        )
        completed[:, positive] = days.reshape(n, positive.size)
    return (completed, curves, interrupted, failures), failed


def run_block(job: Job, block: int) -> BlockResult:
    """Run block ``block`` of ``job``: every sample in it, from draws to reduction."""
    # 1. the samples of this block and their generator
    lo = block * BLOCK_SIZE
    n = min(BLOCK_SIZE, job.samples - lo)
    rng = block_generator(job.seed, block)
    # 2. arrival days, one uniform per sample and supply row
    uniforms = rng.random((n, len(job.snapshot.supply_id)))
    days = sample_arrivals(job.model, uniforms)
    del uniforms
    # 3. plan every sample: units reaching each tracked series, and when
    pieces = gross_pieces(job.snapshot, job.policy, job.layout, days, job.kernel)
    del days
    # 4. failures, completions, curves
    (completed, curves, interruptions, failures), lost = _reduce(
        pieces,
        n,
        job.layout,
        job.snapshot.target_qty,
        job.failure_bucket_days,
        rng,
        job.failure_model,
    )
    # 5. the powered measure: powered units on each limited target's by
    if job.power is None:
        short = np.zeros(completed.shape, dtype=bool)
    else:
        short = power_short(
            job.power, job.snapshot, job.layout, pieces, n, lost, job.failure_bucket_days
        )
    return BlockResult(
        block=block,
        completed=completed,
        curves=curves,
        interruptions=interruptions,
        failures=failures,
        power_short=short,
    )
