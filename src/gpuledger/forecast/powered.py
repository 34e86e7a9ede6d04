"""The forecast's second measure: targets met counting only units that could be powered.

Two measures, as in the planner (:mod:`gpuledger.planning.power`, docs/planning.md):

- **held**: a target is on time in a sample when its consumer's holdings (net
  of units lost) reach its quantity on or before its ``by``.
- **powered**: it is on time on the held measure *and*, where its consumer's
  sites state a capacity (or its org's, for a cluster), the units those sites
  could power on ``by`` reach its quantity. Powered units are the holdings on
  ``by`` of every SKU of the consumer, shared by the planner's own rule
  (:func:`~gpuledger.planning.power.powered_cells`: an org's power shared by its
  SKUs in snapshot SKU order; a cluster never more than its org). A target whose
  consumer states no capacity counts the same on both measures.

The work is fixed once per forecast (:func:`build_power_cells`): the *cells* (a
consumer on a target's ``by``) and the tracked series whose holdings they need.
Per block, one pass over the pieces (a table lookup and a ``bincount``) gives
those series' holdings on the cells' days (:func:`power_short`); nothing is
computed when no site states a capacity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gpuledger.forecast.failures import bucket_index
from gpuledger.forecast.kernels import Pieces
from gpuledger.forecast.layout import Layout
from gpuledger.planning import NO_LIMIT, IntArray, PlanningSnapshot, powered_cells

__all__ = ["PowerCells", "build_power_cells", "power_short"]

BoolArray = npt.NDArray[np.bool_]

_DAY_BITS = 22  # a day ordinal fits in 22 bits (year 9999 is 3.65M)


@dataclass(frozen=True)
class PowerCells:
    """Where a forecast reads the powered measure (fixed for the whole run).

    Attributes:
        targets: the targets whose consumer (or its org) states a capacity, qty > 0.
        target_cell: per such target, its cell (its consumer on its ``by``).
        cell_consumer, cell_day: per cell, the consumer and the ordinal day.
        pair_key: sorted ``series << 22 | day`` of each (tracked series, cell day)
            whose holdings a cell needs.
        pair_first: per pair, the index of the first pair of its series.
        pair_cell, pair_sku: per pair, the cell and SKU its holdings fill.
        row: per series, its row of ``slot`` (the last row, all thrown away,
            for series no pair reads).
        slot: ``[rows * days]`` per series read and day index of the curves,
            the first pair of that series on or after that day; ``pair_key.size``
            (a bin thrown away) when none. Memory: 4 bytes per day of each
            series read.
    """

    targets: IntArray
    target_cell: IntArray
    cell_consumer: IntArray
    cell_day: IntArray
    pair_key: IntArray
    pair_first: IntArray
    pair_cell: IntArray
    pair_sku: IntArray
    row: IntArray
    slot: npt.NDArray[np.int32]


def build_power_cells(snapshot: PlanningSnapshot, layout: Layout) -> PowerCells | None:
    """The cells and pairs of a run; None when no target's consumer states a capacity."""
    s = snapshot
    if s.power_cap is None or s.power_day is None:
        return None
    n_orgs = len(s.orgs)
    limited = np.any(s.power_cap != NO_LIMIT, axis=(1, 2))
    tc = s.target_consumer
    org_of = s.consumer_org[tc]
    is_cluster = tc >= n_orgs
    needs = (limited[tc] | (is_cluster & limited[org_of])) & (s.target_qty > 0)
    targets = np.flatnonzero(needs).astype(np.int64)
    if targets.size == 0:
        return None
    # 1. cells: each target's consumer on its by, and a cluster's org on the same day
    # a by past the horizon reads the horizon's last day, as the planner's curves do
    by = np.minimum(s.target_by[targets], s.horizon_day).astype(np.int64)
    cl = is_cluster[targets]
    cons = np.concatenate([tc[targets], org_of[targets][cl]]).astype(np.int64)
    days = np.concatenate([by, by[cl]])
    keys = np.unique((cons << _DAY_BITS) | days)
    target_cell = np.searchsorted(keys, (tc[targets].astype(np.int64) << _DAY_BITS) | by)
    cell_consumer, cell_day = keys >> _DAY_BITS, keys & ((1 << _DAY_BITS) - 1)
    # 2. pairs: every tracked series of a cell's consumer, on the cell's day
    smap = np.full((len(s.consumers), len(s.skus)), -1, dtype=np.int64)
    smap[layout.series_consumer, layout.series_sku] = np.arange(layout.series_consumer.size)
    cell, sku = np.nonzero(smap[cell_consumer] >= 0)
    series = smap[cell_consumer[cell], sku]
    pair_key = (series << _DAY_BITS) | cell_day[cell]
    order = np.argsort(pair_key, kind="stable")
    pair_key, cell, sku, series = pair_key[order], cell[order], sku[order], series[order]
    pair_first = np.searchsorted(series, series, side="left").astype(np.int64)
    # a piece of series g on day index x counts for g's pairs on days >= x: the
    # first of them is its slot (pairs in reverse, so the earliest day writes last)
    n_days = max(layout.n_days, 1)
    read = np.unique(series)
    row = np.full(layout.series_consumer.size, read.size, dtype=np.int64)
    row[read] = np.arange(read.size)
    slot = np.full((read.size + 1, n_days), pair_key.size, dtype=np.int32)
    last = np.clip(cell_day[cell] - layout.day0, -1, n_days - 1)
    for p in range(pair_key.size - 1, -1, -1):
        slot[row[series[p]], : last[p] + 1] = p
    return PowerCells(
        targets=targets,
        target_cell=target_cell.astype(np.int64),
        cell_consumer=cell_consumer,
        cell_day=cell_day,
        pair_key=pair_key,
        pair_first=pair_first,
        pair_cell=cell.astype(np.int64),
        pair_sku=sku.astype(np.int64),
        row=row,
        slot=slot.ravel(),
    )


def power_short(
    cells: PowerCells,
    snapshot: PlanningSnapshot,
    layout: Layout,
    pieces: Pieces,
    n: int,
    failed: npt.NDArray[np.integer[Any]] | None,
    bucket_days: int,
) -> BoolArray:
    """``[n, targets]``: True where the units that could be powered on ``by`` fall short.

    ``failed``: ``[failure bins, n * series]`` units lost counted by each bin (None:
    no loss). False for every target outside ``cells.targets``.
    """
    n_series = layout.series_consumer.size
    n_pairs = cells.pair_key.size
    # 1. gross holdings of each pair's series on its day: pieces up to that day
    # per series, where its row of `slot` starts, less day0: one gather and one add per piece
    start = cells.row * max(layout.n_days, 1) - layout.day0
    size = n * (n_pairs + 1)

    def units_by_slot(
        series: npt.NDArray[Any], sample: npt.NDArray[Any], at: npt.NDArray[Any] | None
    ) -> npt.NDArray[np.float64]:
        """Units of the pieces ``at`` (None: all) reaching ``series``, summed per slot."""
        day, qty = (pieces.day, pieces.qty) if at is None else (pieces.day[at], pieces.qty[at])
        index = start[series]
        index += day
        slot = np.multiply(sample, n_pairs + 1, dtype=np.int64)
        slot += cells.slot.take(index)
        return np.asarray(np.bincount(slot, weights=qty, minlength=size), dtype=np.float64)

    sums = units_by_slot(pieces.series, pieces.sample, None)
    # a cluster's pieces count again for its org's pairs (see Pieces): integer sums, exact
    parent = layout.series_parent.take(pieces.series)
    child = np.flatnonzero(parent >= 0)
    sums += units_by_slot(parent[child], pieces.sample[child], child)
    running = np.cumsum(sums.reshape(n, n_pairs + 1)[:, :n_pairs], axis=1)
    before = np.where(cells.pair_first > 0, running[:, np.maximum(cells.pair_first - 1, 0)], 0.0)
    held = np.rint(running - before).astype(np.int64)
    # 2. net of the units lost by then
    if failed is not None:
        pair_series = cells.pair_key >> _DAY_BITS
        index = np.clip((cells.pair_key & ((1 << _DAY_BITS) - 1)) - layout.day0, 0, None)
        index = np.minimum(index, max(layout.n_days - 1, 0))
        bins = bucket_index(index, layout.first_failure, bucket_days)
        rows = np.arange(n, dtype=np.int64)[:, None] * n_series + pair_series[None, :]
        held -= failed[bins[None, :], rows].astype(np.int64)
    # 3. the planner's rule on every cell, then each target's SKU on its cell
    grid = np.zeros((n, cells.cell_consumer.size, len(snapshot.skus)), dtype=np.int64)
    grid[:, cells.pair_cell, cells.pair_sku] = held
    powered = powered_cells(snapshot, cells.cell_consumer, cells.cell_day, grid)
    assert bool((powered <= np.maximum(grid, 0)).all()), "powered beyond held"
    t = cells.targets
    got = powered[:, cells.target_cell, snapshot.target_sku[t]]
    out = np.zeros((n, snapshot.target_qty.size), dtype=bool)
    out[:, t] = got < snapshot.target_qty[t][None, :]
    return out
