"""Pieces: the units each tracked series receives in a block of samples, and when.

The batch kernels (kernels.py) and the reference path here, which calls
:func:`gpuledger.planning.plan` once per sample on a snapshot whose supply days
are the sample's (slow but exactly the planner), both give a block's arrivals as
:class:`Pieces`; the reduction (blocks.py) never sees which one made them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gpuledger.domain import PolicyName
from gpuledger.forecast.layout import Layout
from gpuledger.planning import IntArray, Plan, PlanningSnapshot, plan

__all__ = ["Pieces", "curves_from_plan", "pieces_to_curves", "reference_pieces"]

Int32Array = npt.NDArray[np.int32]
AnyIntArray = npt.NDArray[np.signedinteger[Any]]


# --------------------------------------------------------------------------- pieces


@dataclass(frozen=True)
class Pieces:
    """Units arriving to tracked series: parallel arrays, one entry per piece.

    ``qty`` units reach series ``series`` of sample ``sample`` (within the block)
    on ordinal ``day`` (never after the horizon). A unit of a cluster reaches the
    cluster's series only, though its org holds it too: a series' gross holdings
    on a day are the sum of its pieces up to that day, plus, for an org, those of
    its clusters' series (:meth:`Layout.fold_clusters`; a quarter of the pieces
    at hyperscaler size would otherwise be copies). Int32 once concatenated
    (:meth:`concat`): half the bytes for every pass of the reduction.
    """

    sample: AnyIntArray
    series: AnyIntArray
    day: AnyIntArray
    qty: AnyIntArray

    @classmethod
    def empty(cls) -> Pieces:
        """No pieces."""
        z = np.zeros(0, dtype=np.int32)
        return cls(z, z.copy(), z.copy(), z.copy())

    @classmethod
    def concat(cls, parts: list[Pieces]) -> Pieces:
        """All pieces of ``parts``, in order, as int32 whatever the parts hold.

        Samples (a block's), series and day ordinals always fit; so do a piece's
        units, at most its supply row's (``QTY_MAX`` < 2**31): checked where a
        part holds them wider.
        """
        if not parts:
            return cls.empty()
        wide = [x.qty for x in parts if x.qty.dtype.itemsize > 4]
        assert all(int(q.max(initial=0)) < 2**31 for q in wide), "a piece's units must fit in int32"

        def cat(field: str) -> Int32Array:
            arrays = [getattr(x, field) for x in parts]
            if len(arrays) == 1:
                return np.asarray(arrays[0], dtype=np.int32)
            return np.concatenate(arrays, dtype=np.int32, casting="unsafe")

        return cls(cat("sample"), cat("series"), cat("day"), cat("qty"))

    def where(self, mask: npt.NDArray[np.bool_]) -> Pieces:
        """The pieces where ``mask`` holds."""
        return Pieces(self.sample[mask], self.series[mask], self.day[mask], self.qty[mask])


# --------------------------------------------------------------------------- reference path


def curves_from_plan(result: Plan, layout: Layout) -> IntArray:
    """One plan's holdings curves ``[series, days]`` on the layout's days.

    The plan's curves start on its own ``day0``, never before the layout's (a
    sample only moves supply to ``as_of + 1`` or later); before it nothing is held.
    """
    out = np.zeros((layout.series_consumer.size, layout.n_days), dtype=np.int64)
    curves = result.holdings[layout.series_consumer, layout.series_sku]
    shift = result.day0 - layout.day0
    width = min(curves.shape[1], layout.n_days - shift)
    if width > 0:
        out[:, shift : shift + width] = curves[:, :width]
        out[:, shift + width :] = curves[:, width - 1 : width]
    return out


def reference_pieces(
    snapshot: PlanningSnapshot,
    policy: PolicyName,
    layout: Layout,
    days: IntArray,
    kernel: object = None,
) -> Pieces:
    """Gross arrivals by calling ``plan()`` once per sample (any policy).

    ``kernel`` is ignored: the arguments of ``kernels.gross_pieces``, so either
    function can stand for the other (the naive path of tests and benchmarks).
    """
    parts = []
    for s in range(days.shape[0]):
        sample = snapshot.with_supply(supply_day=days[s].copy())
        curves = curves_from_plan(plan(sample, policy), layout)
        layout.fold_clusters(curves, axis=0, op=np.subtract)  # an org's own units
        inc = np.diff(curves, axis=1, prepend=0)
        series, col = np.nonzero(inc)
        parts.append(
            Pieces(
                sample=np.full(series.size, s, dtype=np.int64),
                series=series.astype(np.int64),
                day=(col + layout.day0).astype(np.int64),
                qty=inc[series, col],
            )
        )
    return Pieces.concat(parts)


def pieces_to_curves(pieces: Pieces, n: int, layout: Layout) -> IntArray:
    """Dense cumulative curves ``[n, series, days]`` from pieces (tests, small runs)."""
    n_series, n_days = layout.series_consumer.size, layout.n_days
    row = np.multiply(pieces.sample, n_series, dtype=np.int64) + pieces.series
    flat = row * n_days + (pieces.day - layout.day0)
    counts = np.bincount(flat, weights=pieces.qty, minlength=n * n_series * n_days)
    curves = np.cumsum(np.rint(counts).astype(np.int64).reshape(n, n_series, n_days), axis=2)
    layout.fold_clusters(curves, axis=1)
    return curves
