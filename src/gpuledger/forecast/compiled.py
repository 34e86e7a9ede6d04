"""Compiled kernels (numba): passes that NumPy would make one array at a time, fused.

Each kernel here replaces a NumPy function that stays as its reference (named in
the kernel's docstring) and gives the same integers: tests run both on random
snapshots. Kernels are compiled on first use and cached on disk (``cache=True``:
numba's cache next to this file, or a user cache where the package is read-only);
they release the GIL (``nogil=True``), so a forecast's threads run them side by
side. Integer arithmetic is int64 throughout, as the reference's NumPy promotion
gives it. Floating-point arithmetic (the arrival draws, the exposure) is the
reference's IEEE operations in the reference's order, without fastmath, so
every float is the same bit for bit; scipy's ``ndtri`` and NumPy's ``exp`` are
called between kernels, never reimplemented.

The typed Python wrappers are what the forecast calls: numba has no type hints.
The completion days' kernels, made with this module's ``_kernel``, live in
completion.py.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import numpy.typing as npt
from scipy.special import ndtri

from gpuledger.planning import IntArray

__all__ = ["arrival_days", "cut_pieces", "grid_curves", "gross_held", "row_keys", "same_days"]

AnyIntArray = npt.NDArray[np.signedinteger[Any]]

_kernel = numba.njit(cache=True, nogil=True)
"""How every kernel is compiled: cached on disk, GIL released."""


# --------------------------------------------------------------------------- batch kernel


@_kernel
def _fill_keys(
    days: Any, rows: Any, fixed: Any, horizon: int, lo: int, bits: int, key: Any
) -> None:
    """``key[s, j] = (min(days[s, rows[j]], horizon) - lo) << bits | fixed[j]``."""
    for s in range(days.shape[0]):
        for j in range(rows.size):
            d = min(days[s, rows[j]], horizon)
            key[s, j] = ((d - lo) << bits) | fixed[j]


@_kernel
def _day_range(days: Any, rows: Any, horizon: int) -> tuple[int, int]:
    """The least and greatest ``min(days[s, rows[j]], horizon)``."""
    lo, hi = horizon, horizon
    if days.shape[0] and rows.size:
        lo = hi = min(days[0, rows[0]], horizon)
    for s in range(days.shape[0]):
        for j in range(rows.size):
            d = min(days[s, rows[j]], horizon)
            lo = min(lo, d)
            hi = max(hi, d)
    return lo, hi


def row_keys(
    days: IntArray, rows: IntArray, group: IntArray, horizon: int
) -> tuple[npt.NDArray[np.integer[Any]], int, int, int]:
    """Per sample and pass row, one sort key packing (group, day, position); unique.

    Compiled key building of ``kernels._sort_rows`` (its reference): group,
    day (clipped to ``horizon``, less the least day ``lo``) and position in as
    few bits as possible, uint32 when they fit (a faster sort). Returns the
    keys ``[samples, rows]``, ``lo``, the position bits and the day bits. The
    reference takes ``lo`` as ``min(days, initial=0)``, 0 for any ordinal, so
    its keys never fit 32 bits; here ``lo`` is the least day. The keys sort in
    the same order either way (unique, shifted alike).
    """
    r = rows.size
    lo, hi = _day_range(days, rows, horizon)
    span_bits = max(int(hi - lo).bit_length(), 1)
    bits = max(r.bit_length(), 1)
    total = int(group.max(initial=0)).bit_length() + span_bits + bits
    assert total < 63, "sort key too wide"
    dtype = np.uint32 if total <= 32 else np.int64
    fixed = np.left_shift(group.astype(dtype), span_bits + bits) | np.arange(r, dtype=dtype)
    key = np.empty((days.shape[0], r), dtype=dtype)
    _fill_keys(days, rows, fixed, horizon, lo, bits, key)
    return key, int(lo), bits, span_bits


@_kernel
def _same_days(days: Any, rows: Any) -> bool:
    """True when every sample's ``days`` on ``rows`` are the first sample's."""
    for s in range(1, days.shape[0]):
        for j in range(rows.size):
            if days[s, rows[j]] != days[0, rows[j]]:
                return False
    return True


def same_days(days: IntArray, rows: IntArray) -> bool:
    """True when no row of ``rows`` moves between the samples of ``days``.

    Compiled ``kernels._same_days_numpy`` (its reference): read until the first
    row that moves (in sample 1 for almost every pass that moves), never a
    ``[samples, rows]`` copy.
    """
    return bool(_same_days(days, rows))


@_kernel
def _cut_rows(
    key: Any, lo: int, bits: int, span_bits: int, qty: Any, upper: Any, by_iv: Any,
    holder: Any, horizon: int, out: Any, first_at: int, more_at: int,
) -> int:  # fmt: skip
    """Each sample's sorted rows cut at the fixed boundaries, written as pieces.

    ``upper``: the boundaries, then one past any position (so no search runs
    off the end). ``out`` is ``[4, capacity]`` int32 (sample, series, day,
    units): from ``first_at`` on (the pieces before it are kept), each live
    row's first piece, in (sample, row) order, then the
    further pieces of rows that span boundaries, in (sample, row, boundary)
    order (written from ``more_at`` on, then moved down behind the first
    pieces: the pass's pieces come out as one array, never concatenated). A
    first piece is written whether or not it is kept, and kept by moving on (no
    branch on the unpredictable keep: ~15% faster). Returns how many pieces.
    """
    n, r = key.shape
    pos_mask = (1 << bits) - 1
    day_mask = (1 << span_bits) - 1
    n_first, n_more = first_at, more_at
    for s in range(n):
        b = 1  # the first boundary past the row's start (bounds[0] is 0)
        start = 0
        for j in range(r):
            k = np.int64(key[s, j])
            p = k & pos_mask
            day = ((k >> bits) & day_mask) + lo
            end = start + qty[p]
            while upper[b] <= start:
                b += 1
            live = day < horizon
            series = by_iv[b] if by_iv[b] != -2 else holder[p]
            out[0, n_first], out[1, n_first] = s, series
            out[2, n_first], out[3, n_first] = day, min(end, upper[b]) - start
            n_first += live & (series >= 0)
            c = b
            while live and upper[c] < end:
                series = by_iv[c + 1] if by_iv[c + 1] != -2 else holder[p]
                if series >= 0:
                    out[0, n_more], out[1, n_more] = s, series
                    out[2, n_more], out[3, n_more] = day, min(end, upper[c + 1]) - upper[c]
                    n_more += 1
                c += 1
            start = end
    for i in range(more_at, n_more):  # n_first <= more_at: a move down, in order
        for field in range(4):
            out[field, n_first + i - more_at] = out[field, i]
    return n_first + n_more - more_at


def cut_pieces(
    key: npt.NDArray[np.integer[Any]],
    lo: int,
    bits: int,
    span_bits: int,
    qty: IntArray,
    bounds: IntArray,
    by_iv: npt.NDArray[np.int32],
    holder: npt.NDArray[np.int32],
    horizon: int,
    before: tuple[AnyIntArray, ...] = (),
) -> npt.NDArray[np.int32]:
    """A pass's pieces from its rows sorted per sample: first pieces, then further pieces.

    Compiled ``kernels._cut`` and the piece making of ``kernels._pass_pieces``
    (their reference): ``key`` sorted per sample (:func:`row_keys`), ``qty``
    per pass row, ``by_iv`` per interval plus one its owner's series (-2: the
    row's holder keeps it, ``holder`` per pass row, -1 = not tracked). Returned
    ``[4, pieces]`` int32: sample, series, day, units; after ``before`` (the
    pieces of the passes before it, the same four int32 fields) when given: the
    passes' pieces in one array, never concatenated.
    """
    n, r = key.shape
    at = before[0].size if before else 0
    out = np.empty((4, at + n * (r + max(bounds.size - 1, 0))), dtype=np.int32)
    for field, values in enumerate(before):
        out[field, :at] = values
    upper = np.append(bounds, np.iinfo(np.int64).max)
    more_at = at + n * r
    size = _cut_rows(key, lo, bits, span_bits, qty, upper, by_iv, holder, horizon, out, at, more_at)
    return out[:, :size]


# --------------------------------------------------------------------------- arrivals


@_kernel
def _tail_probabilities(uniforms: Any, rows: Any, tail: Any, out: Any) -> None:
    """``out[s, j] = clip((1 - uniforms[s, rows[j]]) * tail[rows[j]], 1e-300, 1)``."""
    for s in range(uniforms.shape[0]):
        for j in range(rows.size):
            p = (1.0 - uniforms[s, rows[j]]) * tail[rows[j]]
            out[s, j] = min(max(p, 1e-300), 1.0)


@_kernel
def _log_days(z: Any, sigma: Any, mu: Any, cap: float) -> None:
    """``z = clip(-z, -cap, cap) * sigma + mu`` in place (two roundings, as NumPy).

    ``sigma`` and ``mu`` per column of ``z`` (the moved rows'), read in order:
    the loop vectorises (no gather), ~1.6x faster.
    """
    for s in range(z.shape[0]):
        for j in range(z.shape[1]):
            x = min(max(-z[s, j], -cap), cap) * sigma[j]
            z[s, j] = x + mu[j]


@_kernel
def _arrival_days(
    x: Any, rows: Any, day: Any, base: Any, least: Any, cap_day: int, most: float, out: Any
) -> None:
    """Every sample's days: the scheduled ones, with ``rows`` moved by ``round(x)``.

    ``x`` holds the drawn lognormal days per sample and moved row; per moved
    row, ``base`` is its scheduled day less the days taken off (a lead row's
    P50) and ``least`` the earliest day allowed; no day after ``cap_day``. Per
    sample the moved days are made in order (a loop that vectorises), then
    scattered: ~3x faster than one loop doing both.
    """
    moved = np.empty(rows.size, dtype=np.int64)
    for s in range(out.shape[0]):
        for j in range(rows.size):
            shifted = np.int64(min(np.rint(x[s, j]), most)) + base[j]
            moved[j] = min(max(shifted, least[j]), cap_day)
        out[s, :] = day
        for j in range(rows.size):
            out[s, rows[j]] = moved[j]


def arrival_days(
    uniforms: npt.NDArray[np.float64],
    rows: IntArray,
    *,
    day: IntArray,
    lead: npt.NDArray[np.bool_],
    p50: IntArray,
    tail: npt.NDArray[np.float64],
    sigma: npt.NDArray[np.float64],
    mu: npt.NDArray[np.float64],
    floor_day: int,
    cap_day: int,
    z_cap: float,
) -> IntArray:
    """Arrival days ``[samples, supply rows]``, ``rows`` drawn from their lognormals.

    Compiled ``sampling._sample_arrivals_numpy`` (its reference, whose
    docstring gives the rule): the passes around the two transcendental
    functions fused, which stay scipy's ``ndtri`` and NumPy's ``exp``, so every
    float is bit for bit the reference's.
    """
    u = np.empty((uniforms.shape[0], rows.size))
    _tail_probabilities(uniforms, rows, tail, u)
    z = ndtri(u, out=u)
    _log_days(z, sigma[rows], mu[rows], z_cap)
    np.exp(z, out=z)
    days = np.empty(uniforms.shape, dtype=np.int64)
    most = float(cap_day - floor_day + 2 * 10**5)
    # lead rows: back by P50, never before the floor; the others unchanged
    base = day[rows] - np.where(lead[rows], p50[rows], 0)
    least = np.where(lead[rows], floor_day, np.iinfo(np.int64).min)
    _arrival_days(z, rows, day, base, least, cap_day, most, days)
    return days


# --------------------------------------------------------------------------- reduction


@_kernel
def _add_pieces(
    sample: Any, series: Any, day: Any, qty: Any, n_series: int, day0: int, fine_of_day: Any,
    exposed: Any, held: Any, exposure: Any,
) -> None:  # fmt: skip
    """Each piece's units into its fine bin's row of ``held``, its GPU-days into ``exposure``.

    ``exposed`` per day index: the days a unit arriving then is exposed (float64,
    as the reference weighs them); ``exposure`` is empty when nothing fails.
    """
    failing = exposure.size > 0
    for i in range(sample.size):
        row = sample[i] * n_series + series[i]
        index = day[i] - day0
        held[fine_of_day[index], row] += qty[i]
        if failing:
            exposure[row] += exposed[index] * qty[i]


@_kernel
def _fold_and_run(held: Any, parent: Any) -> None:
    """Each cluster's units added to its org's, then holdings run down the fine bins."""
    n_fine, n_rows = held.shape
    n_series = parent.size
    if n_rows == 0:  # no series (books with nothing to plan)
        return
    for f in range(n_fine):
        for base in range(0, n_rows, n_series):
            for c in range(n_series):
                if parent[c] >= 0:
                    held[f, base + parent[c]] += held[f, base + c]
        if f:
            for row in range(n_rows):
                held[f, row] += held[f - 1, row]


def gross_held(
    sample: AnyIntArray,
    series: AnyIntArray,
    day: AnyIntArray,
    qty: AnyIntArray,
    parent: IntArray,
    day0: int,
    fine_of_day: IntArray,
    n_fine: int,
    n_samples: int,
    exposed: npt.NDArray[np.float64] | None,
    dtype: type[np.signedinteger[Any]],
) -> tuple[npt.NDArray[np.signedinteger[Any]], npt.NDArray[np.float64] | None]:
    """Gross holdings ``[fine bins, samples * series]`` at each fine bin's end, and exposure.

    Compiled step 1 of ``blocks._reduce`` (``blocks._gross_held_numpy`` is the
    reference): one pass over the pieces, then clusters folded into their orgs
    and holdings run down the bins in one pass over the table. Exposure
    ``[samples * series]`` (None when ``exposed`` is: nothing fails) is summed
    gross, its clusters not folded.
    """
    n_series = parent.size
    held = np.zeros((n_fine, n_samples * n_series), dtype=dtype)
    exposure = np.zeros(0 if exposed is None else n_samples * n_series)
    weights = np.zeros(0) if exposed is None else exposed
    _add_pieces(sample, series, day, qty, n_series, day0, fine_of_day, weights, held, exposure)
    _fold_and_run(held, parent)
    return held, None if exposed is None else exposure


@_kernel
def _grid_net(held: Any, failed: Any, grid_fine: Any, grid_bin: Any, out: Any) -> None:
    """``out[s, c, g]``: the holdings of row ``s * series + c`` at grid day ``g``'s fine
    bin's end, less its losses by that day's failure bin (when ``failed`` has bins).

    Read row by row of ``held`` (contiguous), written into one sample's block of
    ``out`` at a time (a few kB): no ``[grid, rows]`` copies, no strided transpose.
    """
    lossy = failed.shape[0] > 0
    n, n_series, n_grid = out.shape
    for s in range(n):
        for g in range(n_grid):
            f, b = grid_fine[g], grid_bin[g]
            for c in range(n_series):
                net = np.int64(held[f, s * n_series + c])
                if lossy:
                    net -= failed[b, s * n_series + c]
                out[s, c, g] = np.int32(net)


def grid_curves(
    held: npt.NDArray[np.integer[Any]],
    failed: npt.NDArray[np.integer[Any]] | None,
    grid_fine: IntArray,
    grid_bin: IntArray,
    n: int,
    n_series: int,
) -> npt.NDArray[np.int32]:
    """Holdings net of losses on the grid days, ``[n, series, grid]`` int32.

    Compiled step 4 of ``blocks._reduce`` (``blocks._grid_curves_numpy`` is the
    reference): ``held`` ``[fine bins, n * series]``, ``failed`` ``[failure
    bins, n * series]`` or None; ``grid_fine`` and ``grid_bin`` per grid day.
    Values are cast to int32 as the reference's ``astype`` casts them.
    """
    out = np.empty((n, n_series, grid_fine.size), dtype=np.int32)
    lost = np.zeros((0, held.shape[1]), dtype=held.dtype) if failed is None else failed
    _grid_net(held, lost, grid_fine, grid_bin, out)
    return out
