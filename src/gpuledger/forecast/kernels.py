"""Plan a whole batch of samples: the units each tracked series receives, and when.

Every policy has a reference path (pieces.py) that calls
:func:`gpuledger.planning.plan` once per sample. A policy made of ordered passes
(``Policy.passes`` is not None: ``consigned`` and ``priority`` today) also has a
batch kernel that plans all samples of a block at once on ``[samples, rows]``
arrays and gives exactly what ``plan()`` gives (tests check it sample by
sample). The kernel uses planning's public API only: the policy's passes and
the serving order. Its fixed part (:class:`BatchPlan`: the passes' rows and
demand intervals) depends on the snapshot, the policy and the layout only, so a
forecast builds it once (:func:`batch_plan`) for all its blocks.

How the batch kernel mirrors the planner: each of the policy's passes lays the
supply rows of each of its groups (``OrderedPass.row_key``: holder or pool, and
SKU) on one line of cumulative units, sorted by (group, arrival day, row), and
the targets' demands on the same line in (group, fill order); a unit goes to the
demand whose interval holds its position, or stays with its row's holder when no
demand covers it. Only the
rows' order changes from sample to sample (their days move, their group and
quantity do not), and the demands' intervals never change, so per sample the
kernel only sorts rows, cuts each row at the fixed demand boundaries it spans,
and adds the pieces to the curves. A row arriving after the horizon sorts last
in its group, where its units count on no day of the curves, exactly as the
planner leaving it out.

The key building and the cut run in compiled kernels (compiled.py, between them
NumPy's sort); :func:`_pass_pieces_numpy` (with :func:`_sort_rows` and
:func:`_cut`) is their NumPy reference, run against them by
tests/forecast/test_compiled.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gpuledger.domain import PolicyName
from gpuledger.forecast.compiled import cut_pieces, row_keys, same_days
from gpuledger.forecast.layout import Layout
from gpuledger.forecast.pieces import Pieces, curves_from_plan, pieces_to_curves, reference_pieces
from gpuledger.planning import (
    IntArray,
    OrderedPass,
    PlanningSnapshot,
    SupplyKind,
    get_policy,
    registered,
    serving_order,
)

__all__ = [
    "BATCH_POLICIES",
    "BatchPlan",
    "Pieces",
    "batch_pieces",
    "batch_plan",
    "curves_from_plan",
    "gross_pieces",
    "pieces_to_curves",
    "reference_pieces",
]

Int32Array = npt.NDArray[np.int32]
AnyIntArray = npt.NDArray[np.signedinteger[Any]]

BATCH_POLICIES = frozenset(p.name for p in registered() if p.passes is not None)
"""Policies with a batch kernel (made of ordered passes); the others run ``plan()`` per sample."""


# --------------------------------------------------------------------------- batch kernel


@dataclass(frozen=True)
class _Pass:
    """One matching pass with its fixed demand intervals on the supply line."""

    rows: IntArray  # snapshot rows in the pass with units, ascending
    group: IntArray  # per pass row, dense group id
    qty: IntArray  # per pass row, units (> 0; rows the planner ignores are left out)
    bounds: IntArray  # sorted boundaries of the fixed elementary intervals
    owner: IntArray  # per interval [bounds[j], bounds[j+1]): target or -1 (holder keeps)
    assigned: IntArray  # units per target in this pass (to subtract for the next pass)


def _series_map(snapshot: PlanningSnapshot, layout: Layout) -> IntArray:
    """``[consumer, sku]`` -> series index, -1 where not tracked."""
    out = np.full((len(snapshot.consumers), len(snapshot.skus)), -1, dtype=np.int64)
    out[layout.series_consumer, layout.series_sku] = np.arange(layout.series_consumer.size)
    return out


def _build_pass(
    snapshot: PlanningSnapshot,
    rows: IntArray,
    row_key: IntArray,
    targets: IntArray,
    target_key: IntArray,
    demand: IntArray,
    rank: IntArray,
) -> _Pass:
    """The fixed part of one pass: rows by group, demand intervals on the unit line."""
    # the planner ignores rows with no units; a row past the horizon is left in
    # (it sorts last and counts on no day) unless its day never moves (arrived)
    fixed_late = (snapshot.supply_kind[rows] == SupplyKind.ARRIVED) & (
        snapshot.supply_day[rows] > snapshot.horizon_day
    )
    qty = np.where((snapshot.supply_qty[rows] > 0) & ~fixed_late, snapshot.supply_qty[rows], 0)
    qty = qty.astype(np.int64)
    keys, group = np.unique(row_key, return_inverse=True)
    group = group.astype(np.int64).reshape(-1)
    g_total = np.bincount(group, weights=qty, minlength=keys.size).astype(np.int64)
    g_start = np.concatenate([[0], np.cumsum(g_total)[:-1]]).astype(np.int64)
    # demands of groups that have rows, in (group, fill order)
    t_group = np.searchsorted(keys, target_key)
    has = (t_group < keys.size) & (demand > 0)
    has[has] &= keys[t_group[has]] == target_key[has]
    t, tg, dq = targets[has], t_group[has], demand[has]
    order = np.lexsort((rank[t], tg))
    t, tg, dq = t[order], tg[order], dq[order]
    cum = np.cumsum(dq)
    first = np.searchsorted(tg, tg, side="left")
    local_end = cum - (cum[first] - dq[first]) if t.size else cum
    top = g_start[tg] + g_total[tg]
    lo = np.minimum(g_start[tg] + local_end - dq, top)
    hi = np.minimum(g_start[tg] + local_end, top)
    keep = hi > lo
    t, lo, hi = t[keep], lo[keep], hi[keep]
    bounds = np.unique(np.concatenate([lo, hi, [0]])).astype(np.int64)
    owner = np.full(max(bounds.size - 1, 0), -1, dtype=np.int64)
    owner[np.searchsorted(bounds, lo)] = t  # each demand is one interval (no overlap)
    assigned = np.zeros(len(snapshot.target_id), dtype=np.int64)
    np.add.at(assigned, t, hi - lo)
    # rows without units take no room on the line and give no piece: left out
    some = qty > 0
    return _Pass(
        rows=rows[some],
        group=group[some],
        qty=qty[some],
        bounds=bounds,
        owner=owner,
        assigned=assigned,
    )


@dataclass(frozen=True)
class _Cut:
    """One pass's pieces for every sample: each live row's first piece, then the rest.

    ``pos``, ``qty``, ``day`` and ``live`` are dense ``[samples, pass rows]`` in
    sorted order: the row's position in the pass, its first piece's units and
    the row's day; ``live`` False where the row gives no piece. ``runs``: per
    sample and interval plus one (``owner[iv - 1]`` owns interval ``iv``;
    ``iv == bounds.size``: past the last boundary, the holder keeps it), how many
    consecutive rows start their first piece in it (see :meth:`per_row`).
    ``more_*`` are the further pieces of rows that span fixed boundaries (flat
    cell into the dense arrays, interval plus one, units).
    """

    pos: IntArray
    runs: IntArray
    qty: npt.NDArray[np.signedinteger[Any]]
    day: Int32Array
    live: npt.NDArray[np.bool_]
    more_cell: IntArray
    more_iv: IntArray
    more_qty: npt.NDArray[np.signedinteger[Any]]

    def per_row(self, by_iv: AnyIntArray) -> AnyIntArray:
        """Flat per row, ``by_iv[iv]`` of the interval its first piece starts in.

        ``by_iv``: one value per interval plus one, from 1 (index 0 unused). The
        rows of a sample start in non-decreasing intervals, so the values are
        repeated in runs rather than gathered row by row.
        """
        values = by_iv[1:]
        return np.repeat(np.tile(values, self.runs.size // values.size), self.runs)


def _sort_rows(p: _Pass, days: IntArray, horizon: int) -> tuple[IntArray, Int32Array]:
    """Each sample's pass rows sorted by (group, day, row): (row positions, days), both 2-D.

    One key per (sample, row) packs group, day and position in as few bits as
    possible (uint32 when they fit: a faster sort); keys are unique, so a plain
    sort gives the order, and position and day are read back from the key.
    """
    r = p.rows.size
    # take() keeps C order (days[:, rows] is laid out column-major: strided sorts)
    d = days.take(p.rows, axis=1)
    np.minimum(d, horizon, out=d)
    lo = int(d.min(initial=0))
    span_bits = max((int(d.max(initial=0)) - lo).bit_length(), 1)
    bits = max(r.bit_length(), 1)
    total = int(p.group.max(initial=0)).bit_length() + span_bits + bits
    assert total < 63, "sort key too wide"
    dtype = np.uint32 if total <= 32 else np.int64
    key: npt.NDArray[np.integer[Any]] = np.subtract(d, lo, dtype=dtype, casting="unsafe")
    key <<= bits
    fixed = np.left_shift(p.group.astype(dtype), span_bits + bits) | np.arange(r, dtype=dtype)
    key |= fixed[None, :]
    key.sort(axis=1)
    # positions int64: NumPy gathers with int64 indices without converting them;
    # days int32 (ordinals fit): half the bytes for every later pass
    pos = np.bitwise_and(key, (1 << bits) - 1, dtype=np.int64, casting="unsafe")
    key >>= bits
    key &= (1 << span_bits) - 1
    day = key.astype(np.int32)
    day += lo
    return pos, day


def _cut(p: _Pass, days: IntArray, horizon: int) -> _Cut:
    """Cut every sample's sorted rows at the pass's fixed boundaries.

    A row covers ``[start, end)`` of its group's unit line; the fixed boundaries
    strictly inside split it, and a piece starting in interval ``i`` belongs to
    ``owner[i]`` (-1: the holder keeps it). Rows arriving on or after ``horizon``
    keep their place on the line (they sort last in their group) but give no piece.
    Positions on the line are int32 when the pass's units fit (half the memory).

    Each sample's row ends rise strictly along the line (every pass row has
    units) to the pass's total, so the boundaries are searched among the ends
    (a few hundred searches per sample) rather than every end among the
    boundaries: a boundary falls in the first row whose end reaches it, and
    the rows from one boundary's row to the next all start in the same interval.
    """
    n, r, n_b = days.shape[0], p.rows.size, p.bounds.size
    dtype: type[np.signedinteger[Any]] = np.int32 if int(p.qty.sum()) < 2**31 - 1 else np.int64
    bounds = p.bounds.astype(dtype)
    pos, day = _sort_rows(p, days, horizon)
    q = p.qty.astype(dtype).take(pos)
    end = np.cumsum(q, axis=1, dtype=dtype)
    # 1. per sample and boundary past 0, the row it falls in
    inner = bounds[1:]
    row = np.empty((n, n_b - 1), dtype=np.int64)
    for s in range(n):
        row[s] = end[s].searchsorted(inner)
    cell = (row + (np.arange(n, dtype=np.int64) * r)[:, None]).ravel()
    # 2. the interval each row starts in, plus one: interval j's rows run from
    #    the row after boundary j - 1's to boundary j's (bounds[0] = 0 is on row -1)
    runs = np.diff(row + 1, axis=1, prepend=0, append=r).ravel()
    # 3. first pieces: whole rows, but up to the first boundary strictly inside
    inside = np.flatnonzero(end.ravel()[cell] != np.tile(inner, n))
    cell, k = cell[inside], np.tile(np.arange(1, n_b, dtype=np.int64), n)[inside]
    lead = np.flatnonzero(np.diff(cell, prepend=-1) != 0)  # each cut row's first boundary
    at = cell[lead]
    first = q  # q is not read again: cut rows' first pieces written in place
    first.ravel()[at] = bounds[k[lead]] - (end.ravel()[at] - q.ravel()[at])
    # 4. further pieces: one from each boundary strictly inside a live row, in
    #    (cell, boundary) order, to the next boundary or the row's end
    live = day < horizon
    keep = np.flatnonzero(live.ravel()[cell])
    cell, k = cell[keep], k[keep]
    upper = np.concatenate([bounds, [np.iinfo(dtype).max]]).astype(dtype)
    more_qty = np.minimum(end.ravel()[cell], upper[k + 1]) - bounds[k]
    return _Cut(
        pos=pos,
        runs=runs,
        qty=first,
        day=day,
        live=live,
        more_cell=cell,
        more_iv=k + 1,
        more_qty=more_qty,
    )


def _holder_and_owner_series(
    snapshot: PlanningSnapshot, layout: Layout, smap: IntArray, p: _Pass
) -> tuple[Int32Array, Int32Array]:
    """Per pass row, its holder's series (-1 = not tracked); per interval plus one
    (see :class:`_Cut`), its owner's series, -2 where the holder keeps it.

    Series int32, as :meth:`Pieces.concat` gives them: half the bytes.
    """
    s = snapshot
    holder_series = smap[s.supply_holder[p.rows], s.supply_sku[p.rows]].astype(np.int32)
    owner = np.concatenate([[-1], p.owner, [-1]])  # owner -1 reads the extra last slot
    by_iv = np.r_[layout.target_series, -2].astype(np.int32)[owner]
    return holder_series, by_iv


def _pass_pieces(
    snapshot: PlanningSnapshot,
    layout: Layout,
    smap: IntArray,
    p: _Pass,
    days: IntArray,
    before: list[Pieces] | None = None,
) -> list[Pieces]:
    """The pieces of the passes before (``before``), then one pass's units as pieces
    of the tracked series, within the horizon.

    A unit goes to its owner target's series (a cluster's target: the cluster's
    series only, see :class:`Pieces`) or to its holder's. Returned as a list of
    parts (here one: the pieces before, first pieces, then further pieces) that
    the caller concatenates once (no copy when there is only one: priority's
    arrived units, ~15% of its pieces, are written into the array its second
    pass is cut into rather than both copied again). Compiled: keys built and
    rows cut in one pass each, between them NumPy's sort
    (:func:`_pass_pieces_numpy` is the reference).
    """
    if p.rows.size == 0:
        return list(before or [])
    holder_series, by_iv = _holder_and_owner_series(snapshot, layout, smap, p)
    horizon = layout.day0 + layout.n_days
    key, lo, bits, span_bits = row_keys(days, p.rows, p.group, horizon)
    key.sort(axis=1)
    first = Pieces.concat(before) if before else None
    fields: tuple[AnyIntArray, ...] = ()
    if first is not None:
        fields = (first.sample, first.series, first.day, first.qty)
    part = cut_pieces(
        key, lo, bits, span_bits, p.qty, p.bounds, by_iv, holder_series, horizon, fields
    )
    return [Pieces(*part)]


def _pass_pieces_numpy(
    snapshot: PlanningSnapshot,
    layout: Layout,
    smap: IntArray,
    p: _Pass,
    days: IntArray,
    before: list[Pieces] | None = None,
) -> list[Pieces]:
    """:func:`_pass_pieces` in NumPy: the reference the compiled kernels are tested against."""
    parts = list(before or [])
    if p.rows.size == 0:
        return parts
    r = p.rows.size
    holder_series, by_iv = _holder_and_owner_series(snapshot, layout, smap, p)
    c = _cut(p, days, layout.day0 + layout.n_days)
    pos = c.pos.ravel()
    day = c.day.ravel()
    # each piece goes to its owner's series, or its holder's (-1: not tracked)
    first = c.per_row(by_iv)
    first = np.where(first == -2, holder_series.take(pos), first)
    more = by_iv[c.more_iv]
    more = np.where(more == -2, holder_series.take(pos[c.more_cell]), more)
    for cell, qty, series, live in (
        (None, c.qty.ravel(), first, c.live.ravel()),
        (c.more_cell, c.more_qty, more, None),
    ):
        keep = np.flatnonzero(series >= 0 if live is None else live & (series >= 0))
        at = keep if cell is None else cell[keep]
        parts.append(Pieces(_sample_of(at, r), series[keep], day[at], qty[keep]))
    return parts


def _sample_of(cell: IntArray, rows: int) -> Int32Array:
    """The sample of each flat cell of a ``[samples, rows]`` array, as int32."""
    return np.floor_divide(cell, rows, dtype=np.int32, casting="unsafe")


def _pass_pieces_fixed(
    snapshot: PlanningSnapshot,
    layout: Layout,
    smap: IntArray,
    p: _Pass,
    days: IntArray,
    before: list[Pieces],
) -> list[Pieces]:
    """:func:`_pass_pieces`, cut once when no row of the pass moves between samples.

    (``priority``'s first pass: units already arrived.) Every sample then has
    the first sample's pieces.
    """
    n = days.shape[0]
    if n == 1 or not same_days(days, p.rows):
        return _pass_pieces(snapshot, layout, smap, p, days, before)
    parts = _pass_pieces(snapshot, layout, smap, p, days[:1])
    return before + [
        Pieces(
            sample=np.repeat(np.arange(n, dtype=np.int64), x.qty.size),
            series=np.tile(x.series, n),
            day=np.tile(x.day, n),
            qty=np.tile(x.qty, n),
        )
        for x in parts
    ]


def _same_days_numpy(days: IntArray, rows: IntArray) -> bool:
    """:func:`compiled.same_days` in NumPy: the reference it is tested against."""
    return bool((days.take(rows, axis=1) == days[0].take(rows)).all())


@dataclass(frozen=True)
class BatchPlan:
    """The batch kernel's part fixed for a whole forecast: the same for every block.

    ``smap``: ``[consumer, sku]`` -> series, -1 where not tracked; ``passes``:
    the policy's passes built in order, each with the demands the passes before
    it left (the serving order's needs less what they assigned).
    """

    smap: IntArray
    passes: tuple[_Pass, ...]


def _build_kernel(
    snapshot: PlanningSnapshot, layout: Layout, passes: tuple[OrderedPass, ...]
) -> BatchPlan:
    s = snapshot
    order = serving_order(s)
    targets = np.arange(len(s.target_id), dtype=np.int64)
    demand = order.need
    built = []
    # each pass: its rows by group, the demands left after the passes before it
    for p in passes:
        rows = np.flatnonzero(p.selects(s.supply_kind)).astype(np.int64)
        row_key, target_key = p.row_key(s, rows), p.target_key(s, targets)
        built.append(_build_pass(s, rows, row_key, targets, target_key, demand, order.rank))
        demand = demand - built[-1].assigned
    return BatchPlan(smap=_series_map(s, layout), passes=tuple(built))


def batch_plan(snapshot: PlanningSnapshot, policy: PolicyName, layout: Layout) -> BatchPlan | None:
    """The fixed part of the batch kernel; None where :func:`gross_pieces` runs ``plan()``.

    None for a policy without passes, and for a snapshot whose targets accept
    other SKUs: the planner's substitution step, which the batch kernel does not
    replay, fills them.
    """
    passes = get_policy(policy).passes
    accepts = snapshot.target_accepts
    substitutes = accepts is not None and bool(np.any(accepts >= 0))
    if passes is None or substitutes:
        return None
    return _build_kernel(snapshot, layout, tuple(passes))


def batch_pieces(
    snapshot: PlanningSnapshot,
    policy: PolicyName,
    layout: Layout,
    days: IntArray,
    kernel: BatchPlan | None = None,
) -> Pieces:
    """Gross arrivals of every sample at once, for a policy made of ordered passes.

    ``kernel``: its fixed part for this snapshot, policy and layout (built here
    when None).

    Raises:
        ValueError: the policy has no batch kernel (``Policy.passes`` is None).
    """
    if kernel is None:
        passes = get_policy(policy).passes
        if passes is None:
            raise ValueError(f"no batch kernel for policy {policy}")
        kernel = _build_kernel(snapshot, layout, tuple(passes))
    parts: list[Pieces] = []
    for p in kernel.passes:
        parts = _pass_pieces_fixed(snapshot, layout, kernel.smap, p, days, parts)
    return Pieces.concat(parts)


def gross_pieces(
    snapshot: PlanningSnapshot,
    policy: PolicyName,
    layout: Layout,
    days: IntArray,
    kernel: BatchPlan | None = None,
) -> Pieces:
    """Gross arrivals of every sample per series, with the fastest exact path.

    ``kernel``: :func:`batch_plan` of the same snapshot, policy and layout,
    built once per forecast (None: looked up here). Where there is none (see
    :func:`batch_plan`) the reference path runs (exact, slower); it takes the
    same arguments, so either function can stand for the other.
    """
    if kernel is None:
        kernel = batch_plan(snapshot, policy, layout)
    if kernel is None:
        return reference_pieces(snapshot, policy, layout, days)
    return batch_pieces(snapshot, policy, layout, days, kernel)
