"""One block of samples: draw, plan, fail, reduce to completions and curves.

Randomness: block ``b`` of a run seeded ``seed`` uses the generator
``PCG64(SeedSequence(seed, spawn_key=(b,)))`` (the ``b``-th child of
``SeedSequence(seed)``), drawing first one uniform per sample and supply row,
then the failure binomials. A block always holds the same samples (``b *
BLOCK_SIZE`` onwards), so the answer never depends on batch size or workers.

Reduction works on *pieces* (units reaching a series on a day), never on dense
daily curves: failures are drawn per bucket from per-bucket arrival counts, and a
target completes on the first piece at which its series' holdings, net of the
failures counted by that day, reach its quantity. Between two pieces holdings
can only go down (failures), so the first crossing is always on a piece's day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gpuledger.domain import PolicyName
from gpuledger.forecast.failures import bucket_index, cumulative_failures
from gpuledger.forecast.kernels import Pieces, gross_pieces
from gpuledger.forecast.layout import Layout
from gpuledger.forecast.sampling import ArrivalModel, sample_arrivals
from gpuledger.planning.snapshot import IntArray, PlanningSnapshot

__all__ = ["BLOCK_SIZE", "BlockResult", "Job", "block_generator", "reduce_pieces", "run_block"]

BLOCK_SIZE = 256
"""Samples per block: the unit of randomness, of batching and of Dask tasks."""

Int32Array = npt.NDArray[np.int32]


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
        curves: ``[n, series, grid]`` holdings net of failures on the grid days.
    """

    block: int
    completed: IntArray
    curves: Int32Array


def block_generator(seed: int, block: int) -> np.random.Generator:
    """The generator of one block: independent of every other block's."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block,))))


def _sort_by_row_and_day(row: IntArray, day: IntArray, n_rows: int) -> IntArray:
    """Order of pieces by (row, day); packs the key and index into one int64 sort."""
    span = int(day.max(initial=0)) - int(day.min(initial=0)) + 1
    key = row * span + (day - day.min(initial=0))
    idx_bits = max(int(row.size).bit_length(), 1)
    if (n_rows * span).bit_length() + idx_bits < 63:
        packed = np.sort((key << idx_bits) | np.arange(row.size, dtype=np.int64))
        return packed & ((1 << idx_bits) - 1)
    return np.argsort(key, kind="stable")


def reduce_pieces(
    pieces: Pieces,
    n: int,
    layout: Layout,
    target_qty: IntArray,
    bucket_days: int,
    rng: np.random.Generator,
) -> tuple[IntArray, Int32Array]:
    """Completions ``[n, targets]`` and net curves ``[n, series, grid]`` of a block."""
    n_series = layout.series_consumer.size
    first_day = layout.day0 + layout.first_failure
    horizon = layout.day0 + layout.n_days  # exclusive
    n_bins = 1 + max(-(-(horizon - first_day) // bucket_days), 0)
    row = pieces.sample * n_series + pieces.series
    # 1. failures: one binomial per sample, series and bucket, from bucket arrivals
    can_fail = bool((layout.series_rate > 0).any()) and n_bins > 1
    if can_fail:
        bins = bucket_index(pieces.day, first_day, bucket_days)
        arrivals = np.bincount(
            row * n_bins + bins, weights=pieces.qty, minlength=n * n_series * n_bins
        )
        failed = cumulative_failures(
            arrivals.astype(np.int64).reshape(n, n_series, n_bins),
            layout.series_rate,
            layout.series_parent,
            bucket_days,
            rng,
        ).reshape(-1)
    else:
        failed = np.zeros(n * n_series * n_bins, dtype=np.int64)
        bins = np.zeros(pieces.day.size, dtype=np.int64)
    # 2. completion: holdings net of failures at each piece, running max per row
    n_targets = target_qty.size
    completed = np.full((n, n_targets), -1, dtype=np.int64)
    if pieces.qty.size and n_targets:
        order = _sort_by_row_and_day(row, pieces.day, n * n_series)
        r, d, q = row[order], pieces.day[order], pieces.qty[order]
        cum = np.cumsum(q)
        # the first piece of each row, carried forward: rows are sorted
        first = np.ones(r.size, dtype=bool)
        first[1:] = r[1:] != r[:-1]
        starts = np.maximum.accumulate(np.where(first, np.arange(r.size), 0))
        cum = cum - (cum[starts] - q[starts])
        net = cum - failed[r * n_bins + bins[order]] if can_fail else cum
        big = int(max(int(cum.max()), int(target_qty.max(initial=0)))) + 1
        running = np.maximum.accumulate(r * big + net)
        t_row = np.arange(n)[:, None] * n_series + layout.target_series[None, :]
        want = t_row * big + target_qty[None, :]
        at = np.searchsorted(running, want.ravel(), side="left").reshape(n, n_targets)
        found = at < r.size
        found[found] = r[at[found]] == t_row[found]
        completed[found] = d[at[found]]
    completed[:, target_qty <= 0] = layout.day0
    # 3. holdings on the grid days, net of failures
    grid_days = layout.day0 + layout.grid
    gbin = np.searchsorted(grid_days, pieces.day, side="left")
    n_grid = grid_days.size
    gross = np.bincount(
        row * (n_grid + 1) + gbin, weights=pieces.qty, minlength=n * n_series * (n_grid + 1)
    ).reshape(n, n_series, n_grid + 1)
    # float64 sums of integers stay exact far beyond any fleet's unit count
    held = np.cumsum(gross[:, :, :n_grid], axis=2).astype(np.int64)
    grid_fail = failed.reshape(n, n_series, n_bins)[
        :, :, bucket_index(grid_days, first_day, bucket_days)
    ]
    curves = (held - grid_fail).astype(np.int32)
    return completed, curves


def run_block(job: Job, block: int) -> BlockResult:
    """Run block ``block`` of ``job``: every sample in it, from draws to reduction."""
    # 1. the samples of this block and their generator
    lo = block * BLOCK_SIZE
    n = min(BLOCK_SIZE, job.samples - lo)
    rng = block_generator(job.seed, block)
    # 2. arrival days, one uniform per sample and supply row
    uniforms = rng.random((n, len(job.snapshot.supply_id)))
    days = sample_arrivals(job.model, uniforms)
    # 3. plan every sample: units reaching each tracked series, and when
    pieces = gross_pieces(job.snapshot, job.policy, job.layout, days)
    # 4. failures, completions, curves
    completed, curves = reduce_pieces(
        pieces, n, job.layout, job.snapshot.target_qty, job.failure_bucket_days, rng
    )
    return BlockResult(block=block, completed=completed, curves=curves)
