"""Compiled completion days (numba): the first day each target's series holds its quantity.

Compiled ``blocks._completion_days`` (its reference, whose docstring gives the
rule; tests/forecast/test_compiled.py runs one against the other). The kernels
are made as every kernel of :mod:`compiled` is (``compiled._kernel``: cached on
disk, GIL released); integer arithmetic only.

Two ways to sum the queried cells' pieces by day: one table of every cell's
days in one pass over the pieces (:func:`_table_units`) when it is small enough,
else the cells' pieces listed cell by cell (:func:`_cell_units`), each cell's
days then summed in a table reused from query to query.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from gpuledger.forecast.compiled import _kernel
from gpuledger.planning import IntArray

__all__ = ["completion_days"]

AnyIntArray = npt.NDArray[np.signedinteger[Any]]


@_kernel
def _fine_bin_of(held: Any, failed: Any, bin_of_fine: Any, rows: Any, qty: Any, out: Any) -> None:
    """Per query, the first fine bin whose net holdings reach ``qty``; ``n_fine`` if none.

    Without losses (``failed`` has no bins) holdings never fall: a binary search
    down the column. With losses, the first bin whose net holdings reach
    ``qty`` (the first at which their running maximum does, as the reference
    reads it).
    """
    n_fine = held.shape[0]
    lossy = failed.shape[0] > 0
    for q in range(rows.size):
        row, need = rows[q], qty[q]
        if lossy:
            f = 0
            while f < n_fine and np.int64(held[f, row]) - failed[bin_of_fine[f], row] < need:
                f += 1
        else:
            f, length = 0, n_fine  # the count of bins whose holdings are below qty
            while length > 0:
                half = length // 2
                if held[f + half, row] < need:
                    f += half + 1
                    length -= half + 1
                else:
                    length = half
        out[q] = f


@_kernel
def _needs(
    held: Any, failed: Any, bin_of_fine: Any, rows: Any, qty: Any, f: Any
) -> tuple[Any, Any, Any, Any]:
    """The queries whose fine bin ``f`` is found (< bins); their bins, rows and needs.

    A query's need: the units its bin's own pieces must bring, its quantity
    plus the failures counted by the bin less the holdings before it.
    """
    n_fine = held.shape[0]
    lossy = failed.shape[0] > 0
    found = np.empty(rows.size, dtype=np.int64)
    n_found = 0
    for q in range(rows.size):
        found[n_found] = q
        n_found += f[q] < n_fine
    found = found[:n_found]
    bins, row = f[found], rows[found]
    need = np.empty(n_found, dtype=np.int64)
    for j in range(n_found):
        b, r = bins[j], row[j]
        need[j] = qty[found[j]] - (np.int64(held[b - 1, r]) if b > 0 else 0)
        if lossy:
            need[j] += failed[bin_of_fine[b], r]
    return found, bins, row, need


@_kernel
def _cells(rows: Any, f: Any, n_rows: int, n_fine: int) -> tuple[Any, Any, Any]:
    """The distinct (row, fine bin) cells of the queries.

    Returns each query's cell, each cell's fine bin, and the cell of every
    ``row * n_fine + fine bin`` (-1 where no query reads it): row-major, so the
    pieces of one sample, which come together, read a few kB of it.
    """
    cell_at = np.full(n_rows * n_fine, -1, dtype=np.int32)
    cell_of = np.empty(rows.size, dtype=np.int64)
    cell_bin = np.empty(rows.size, dtype=np.int64)
    n_cells = 0
    for q in range(rows.size):
        k = rows[q] * n_fine + f[q]
        if cell_at[k] < 0:
            cell_at[k] = n_cells
            cell_bin[n_cells] = f[q]
            n_cells += 1
        cell_of[q] = cell_at[k]
    return cell_of, cell_bin[:n_cells], cell_at


@_kernel
def _piece_cells(
    sample: int, s: int, day: int, parent: Any, fine_of_day: Any, day0: int, cell_at: Any,
    n_fine: int,
) -> tuple[Any, Any]:  # fmt: skip
    """The queried cells a piece counts in (-1: none): its own, and its org's if a cluster's."""
    n_series = parent.size
    k = (sample * n_series + s) * n_fine + fine_of_day[day - day0]
    org = -1 if parent[s] < 0 else np.int64(cell_at[k + (parent[s] - s) * n_fine])
    return np.int64(cell_at[k]), org


@_kernel
def _cell_units(
    sample: Any, series: Any, day: Any, qty: Any, parent: Any, fine_of_day: Any, day0: int,
    cell_at: Any, n_fine: int, n_cells: int,
) -> tuple[Any, Any, Any]:  # fmt: skip
    """Each queried cell's pieces (day, units), cell by cell: a piece may count in two.

    A cluster's piece counts for its org too (see :class:`Pieces`): in the org's
    cell of the same fine bin and sample. One pass over the pieces lists the
    few that fall in a queried cell (branch-free: a miss is written and
    overwritten, ~2x faster than branching on unpredictable hits), then they
    are placed cell by cell. Returns the cells' starts, the days and the units.
    """
    hit_cell = np.empty(2 * sample.size, dtype=np.int64)
    hit_piece = np.empty(2 * sample.size, dtype=np.int64)
    n_hits = 0
    for i in range(sample.size):
        for c in _piece_cells(
            sample[i], series[i], day[i], parent, fine_of_day, day0, cell_at, n_fine
        ):
            hit_cell[n_hits] = c
            hit_piece[n_hits] = i
            n_hits += c >= 0
    start = np.zeros(n_cells + 1, dtype=np.int64)
    for h in range(n_hits):
        start[hit_cell[h] + 1] += 1
    for c in range(n_cells):
        start[c + 1] += start[c]
    fill = start[:-1].copy()
    days = np.empty(n_hits, dtype=np.int64)
    units = np.empty(n_hits, dtype=np.int64)
    for h in range(n_hits):
        c, i = hit_cell[h], hit_piece[h]
        days[fill[c]] = day[i]
        units[fill[c]] = qty[i]
        fill[c] += 1
    return start, days, units


@_kernel
def _first_days(
    start: Any, days: Any, units: Any, cell_bin: Any, fine_start: Any, width: int, day0: int,
    cell_of: Any, need: Any, out: Any,
) -> None:  # fmt: skip
    """Per query, the first day its cell's pieces bring ``need`` units; -1 if they never do.

    Per query, its cell's units by day of its bin (``width`` days at most) in a
    reused table, run down the days, then the table cleared where written.
    """
    table = np.zeros(width, dtype=np.int64)
    for q in range(cell_of.size):
        c = cell_of[q]
        first = day0 + fine_start[cell_bin[c]]
        for j in range(start[c], start[c + 1]):
            table[days[j] - first] += units[j]
        total, d = 0, 0
        while d < width:
            total += table[d]
            if total >= need[q]:
                break
            d += 1
        out[q] = first + d if d < width else -1
        for j in range(start[c], start[c + 1]):  # cleared where written: cells are sparse
            table[days[j] - first] = 0


@_kernel
def _table_units(
    sample: Any, series: Any, day: Any, qty: Any, parent: Any, fine_of_day: Any,
    day_in_bin: Any, day0: int, cell_at: Any, n_fine: int, table: Any,
) -> None:  # fmt: skip
    """Each queried cell's units by day of its fine bin, summed in ``table[cell, day]``.

    :func:`_cell_units` and the day tables of :func:`_first_days` in one pass
    over the pieces, for cells few enough that all their tables fit at once. A
    piece counts in its own cell and, a cluster's, in its org's (same fine bin,
    same sample). Branching on a hit here is faster than writing misses to a
    spare row: the misses' writes to it would depend on one another.
    """
    n_series = parent.size
    for i in range(sample.size):
        s = series[i]
        index = day[i] - day0
        k = (sample[i] * n_series + s) * n_fine + fine_of_day[index]
        c = cell_at[k]
        if c >= 0:
            table[c, day_in_bin[index]] += qty[i]
        if parent[s] >= 0:
            c = cell_at[k + (parent[s] - s) * n_fine]
            if c >= 0:
                table[c, day_in_bin[index]] += qty[i]


@_kernel
def _table_first_days(
    table: Any, cell_bin: Any, fine_start: Any, day0: int, cell_of: Any, need: Any, out: Any
) -> None:
    """Per query, the first day its cell's row of ``table`` brings ``need`` units; -1 if never."""
    width = table.shape[1]
    for q in range(cell_of.size):
        c = cell_of[q]
        total, d = 0, 0
        while d < width:
            total += table[c, d]
            if total >= need[q]:
                break
            d += 1
        out[q] = day0 + fine_start[cell_bin[c]] + d if d < width else -1


_TABLE_SLOTS = 1 << 22
"""Most (cell, day) slots summed in one table (:func:`_table_units`); beyond, cell by cell."""


def completion_days(
    sample: AnyIntArray,
    series: AnyIntArray,
    day: AnyIntArray,
    qty: AnyIntArray,
    parent: IntArray,
    held: npt.NDArray[np.integer[Any]],
    failed: npt.NDArray[np.integer[Any]] | None,
    fine_of_day: IntArray,
    bin_of_fine: IntArray,
    fine_start: IntArray,
    width: int,
    day0: int,
    rows: IntArray,
    target_qty: IntArray,
) -> IntArray:
    """First day each query's series (``rows``) holds ``target_qty`` (> 0) units net; -1 if never.

    Compiled ``blocks._completion_days`` (its reference, whose docstring gives
    the rule): the pieces' ``sample``, ``series``, ``day`` and ``qty``; ``held``
    ``[fine bins, rows]``, ``failed`` ``[failure bins, rows]`` or None. Only the
    queried columns and cells are read, never the whole ``[bins, rows]`` tables.
    """
    n_fine, n_rows = held.shape
    out = np.full(rows.size, -1, dtype=np.int64)
    lost = np.zeros((0, n_rows), dtype=held.dtype) if failed is None else failed
    f = np.empty(rows.size, dtype=np.int64)
    _fine_bin_of(held, lost, bin_of_fine, rows, target_qty, f)
    found, f, row, need = _needs(held, lost, bin_of_fine, rows, target_qty, f)
    if found.size == 0:
        return out
    cell_of, cell_bin, cell_at = _cells(row, f, n_rows, n_fine)
    first = np.empty(found.size, dtype=np.int64)
    if cell_bin.size * width <= _TABLE_SLOTS:
        # a cell's units are at most its series' holdings at its bin's end: held's dtype
        table = np.zeros((cell_bin.size, width), dtype=held.dtype)
        day_in_bin = np.arange(fine_of_day.size) - fine_start[fine_of_day]
        _table_units(
            sample, series, day, qty, parent, fine_of_day, day_in_bin, day0, cell_at, n_fine, table
        )
        _table_first_days(table, cell_bin, fine_start, day0, cell_of, need, first)
    else:
        start, days, units = _cell_units(
            sample, series, day, qty, parent, fine_of_day, day0, cell_at, n_fine, cell_bin.size
        )
        _first_days(start, days, units, cell_bin, fine_start, width, day0, cell_of, need, first)
    assert bool((first >= 0).all()), "a cell's pieces must reach its need"
    out[found] = first
    return out
