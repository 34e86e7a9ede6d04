"""Compiled kernels (numba): passes that NumPy would make one array at a time, fused.

Each kernel here replaces a NumPy function that stays as its reference (named in
the kernel's docstring) and gives the same integers: tests run both on random
snapshots. Kernels are compiled on first use and cached on disk (``cache=True``:
numba's cache next to this file, or a user cache where the package is read-only);
they release the GIL (``nogil=True``), so a forecast's threads run them side by
side. Integer arithmetic is int64 throughout, as the reference's NumPy promotion
gives it; no kernel does floating-point arithmetic.

The typed Python wrappers are what the forecast calls: numba has no type hints.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from gpuledger.planning import IntArray

__all__ = ["completion_days"]

AnyIntArray = npt.NDArray[np.signedinteger[Any]]

_kernel = numba.njit(cache=True, nogil=True)
"""How every kernel is compiled: cached on disk, GIL released."""


@_kernel  # type: ignore[misc]
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


@_kernel  # type: ignore[misc]
def _cells(rows: Any, f: Any, n_rows: int) -> tuple[Any, Any, Any]:
    """The distinct (fine bin, row) cells of the queries, grouped by row.

    Returns each query's cell, each cell's fine bin and, per row, where its
    cells start (``n_rows + 1`` entries): a piece finds its cell among its
    row's few.
    """
    n_q = rows.size
    start = np.zeros(n_rows + 1, dtype=np.int64)
    for q in range(n_q):
        start[rows[q] + 1] += 1
    for r in range(n_rows):
        start[r + 1] += start[r]
    by_row = np.empty(n_q, dtype=np.int64)
    fill = start[:-1].copy()
    for q in range(n_q):
        by_row[fill[rows[q]]] = q
        fill[rows[q]] += 1
    cell_of = np.empty(n_q, dtype=np.int64)
    cell_bin = np.empty(n_q, dtype=np.int64)
    row_cells = np.zeros(n_rows + 1, dtype=np.int64)
    n_cells = 0
    for r in range(n_rows):
        row_cells[r] = n_cells
        for j in range(start[r], start[r + 1]):
            q = by_row[j]
            c = row_cells[r]
            while c < n_cells and cell_bin[c] != f[q]:
                c += 1
            if c == n_cells:
                cell_bin[c] = f[q]
                n_cells += 1
            cell_of[q] = c
    row_cells[n_rows] = n_cells
    return cell_of, cell_bin[:n_cells], row_cells


@_kernel  # type: ignore[misc]
def _cell_of(f: int, row: int, row_cells: Any, cell_bin: Any) -> int:
    """The cell of fine bin ``f`` and ``row``; -1 when no query reads it."""
    for c in range(row_cells[row], row_cells[row + 1]):
        if cell_bin[c] == f:
            return c
    return -1


@_kernel  # type: ignore[misc]
def _cell_units(
    sample: Any, series: Any, day: Any, qty: Any, parent: Any, fine_of_day: Any, day0: int,
    row_cells: Any, cell_bin: Any,
) -> tuple[Any, Any, Any]:  # fmt: skip
    """Each queried cell's pieces (day, units), cell by cell: a piece may count in two.

    A cluster's piece counts for its org too (see :class:`Pieces`): in the org's
    cell of the same fine bin and sample. One pass over the pieces lists the few
    that fall in a queried cell, a second over those places them cell by cell.
    Returns the cells' starts, the days and the units.
    """
    n_series = parent.size
    n_cells = cell_bin.size
    start = np.zeros(n_cells + 1, dtype=np.int64)
    hit_cell = np.empty(2 * sample.size, dtype=np.int64)
    hit_piece = np.empty(2 * sample.size, dtype=np.int64)
    n_hits = 0
    for i in range(sample.size):
        s = series[i]
        f = fine_of_day[day[i] - day0]
        row = sample[i] * n_series + s
        for r in (row, row + parent[s] - s):
            c = _cell_of(f, r, row_cells, cell_bin)
            if c >= 0:
                hit_cell[n_hits], hit_piece[n_hits] = c, i
                n_hits += 1
                start[c + 1] += 1
            if parent[s] < 0:
                break
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


@_kernel  # type: ignore[misc]
def _first_days(
    start: Any, days: Any, units: Any, cell_bin: Any, fine_start: Any, width: int, day0: int,
    cell_of: Any, need: Any, out: Any,
) -> None:  # fmt: skip
    """Per query, the first day its cell's pieces bring ``need`` units; -1 if they never do.

    One cell at a time: its units by day of its bin (``width`` days at most)
    in a reused table, run down the days for each query of the cell.
    """
    n_cells = cell_bin.size
    table = np.zeros(width, dtype=np.int64)
    q_start = np.zeros(n_cells + 1, dtype=np.int64)
    for q in range(cell_of.size):
        q_start[cell_of[q] + 1] += 1
    for c in range(n_cells):
        q_start[c + 1] += q_start[c]
    by_cell = np.empty(cell_of.size, dtype=np.int64)
    fill = q_start[:-1].copy()
    for q in range(cell_of.size):
        by_cell[fill[cell_of[q]]] = q
        fill[cell_of[q]] += 1
    for c in range(n_cells):
        first = day0 + fine_start[cell_bin[c]]
        for j in range(start[c], start[c + 1]):
            table[days[j] - first] += units[j]
        for j in range(q_start[c], q_start[c + 1]):
            q = by_cell[j]
            total, d = 0, 0
            while d < width:
                total += table[d]
                if total >= need[q]:
                    break
                d += 1
            out[q] = first + d if d < width else -1
        table[:] = 0


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
    found = np.flatnonzero(f < n_fine)
    if found.size == 0:
        return out
    f, row = f[found], rows[found]
    # units the bin's own pieces must bring: qty + failures - holdings before it
    need = target_qty[found] - np.where(f > 0, held[np.maximum(f - 1, 0), row], 0)
    if failed is not None:
        need += failed[bin_of_fine[f], row]
    cell_of, cell_bin, row_cells = _cells(row, f, n_rows)
    start, days, units = _cell_units(
        sample, series, day, qty, parent, fine_of_day, day0, row_cells, cell_bin
    )
    first = np.empty(found.size, dtype=np.int64)
    _first_days(start, days, units, cell_bin, fine_start, width, day0, cell_of, need, first)
    assert bool((first >= 0).all()), "a cell's pieces must reach its need"
    out[found] = first
    return out
