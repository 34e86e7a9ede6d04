"""The shape of a forecast's outputs, fixed once per run from the snapshot.

A *series* is one (consumer, SKU) pair whose holdings curve the forecast tracks:
every pair that has a target, the org of each such pair (a cluster's units are
its org's too), and every (org, SKU) pair with supply. Curves run
by day from ``day0`` to the horizon end inclusive; only the days of ``grid`` are
kept per sample (every ``curve_step_days`` days from ``day0``, the horizon's last
day, and any day asked for), so memory grows with samples x series x grid days
(4 bytes each), not with every day of the horizon.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gpuledger.planning import FloatArray, IntArray, PlanningSnapshot

__all__ = ["Layout", "build_layout"]


@dataclass(frozen=True)
class Layout:
    """Index spaces shared by every block of a forecast.

    Attributes:
        day0: ordinal of the first day of the curves.
        n_days: days from ``day0`` to the horizon end inclusive.
        first_failure: index of the first day a held unit can fail (``as_of + 1``).
        series_consumer: per series, index into ``snapshot.consumers``.
        series_sku: per series, index into ``snapshot.skus``.
        series_rate: per series, the SKU's annual failure rate.
        series_parent: per series of a cluster, the series of its org (same
            SKU), whose holdings include the cluster's; -1 for orgs.
        target_series: per target, its series.
        grid: day indices (sorted, unique) kept in the holdings curves.
    """

    day0: int
    n_days: int
    first_failure: int
    series_consumer: IntArray
    series_sku: IntArray
    series_rate: FloatArray
    series_parent: IntArray
    target_series: IntArray
    grid: IntArray

    def fold_clusters(
        self, values: npt.NDArray[Any], *, axis: int = -1, op: np.ufunc = np.add
    ) -> None:
        """``values[org] = op(values[org], values[cluster])`` for every cluster series, in place.

        ``axis`` is the series axis. A cluster's pieces reach its series only
        (pieces.py) though its org holds those units too: ``np.add`` turns each
        series' own sums into holdings, ``np.subtract`` the other way. One series
        at a time on series-first views (a cluster's parent is never a cluster,
        so the order does not matter).
        """
        parent = self.series_parent
        to = np.moveaxis(values, axis, 0)
        for c in np.flatnonzero(parent >= 0).tolist():
            d = int(parent[c])
            op(to[d], to[c], out=to[d])

    def series_of(self, consumer: int, sku: int) -> int | None:
        """The series index of (consumer, sku), None when not tracked."""
        hit = np.flatnonzero((self.series_consumer == consumer) & (self.series_sku == sku))
        return int(hit[0]) if hit.size else None


def build_layout(
    snapshot: PlanningSnapshot,
    *,
    day0: int,
    curve_step_days: int = 7,
    curve_days: Iterable[int] = (),
    failures: bool = True,
) -> Layout:
    """Series and grid for a snapshot whose curves start on ``day0``.

    Edge cases: a horizon before ``day0`` gives zero days; requested curve days
    outside the horizon are dropped; ``failures=False`` zeroes every rate.
    """
    n_days = max(snapshot.horizon_day - day0 + 1, 0)
    pairs: dict[tuple[int, int], int] = {}
    for c, k in zip(snapshot.target_consumer.tolist(), snapshot.target_sku.tolist(), strict=True):
        pairs.setdefault((int(c), int(k)), len(pairs))
        # a cluster's units are also its org's: track the org's holdings too
        pairs.setdefault((int(snapshot.consumer_org[c]), int(k)), len(pairs))
    # orgs share the first indices of the consumer space
    held = sorted(
        set(zip(snapshot.supply_holder.tolist(), snapshot.supply_sku.tolist(), strict=True))
    )
    for o, k in held:
        pairs.setdefault((int(o), int(k)), len(pairs))
    series_consumer = np.array([c for c, _ in pairs], dtype=np.int64)
    series_sku = np.array([k for _, k in pairs], dtype=np.int64)
    n_orgs = len(snapshot.orgs)
    parent = np.array(
        [pairs[(int(snapshot.consumer_org[c]), k)] if c >= n_orgs else -1 for c, k in pairs],
        dtype=np.int64,
    )
    rates = snapshot.sku_annual_failure_rate[series_sku] if failures else np.zeros(len(pairs))
    target_series = np.array(
        [
            pairs[(int(c), int(k))]
            for c, k in zip(snapshot.target_consumer, snapshot.target_sku, strict=True)
        ],
        dtype=np.int64,
    )
    step = max(int(curve_step_days), 1)
    wanted = set(range(0, n_days, step))
    if n_days:
        wanted.add(n_days - 1)
    wanted.update(int(d) - day0 for d in curve_days)
    grid = np.array(sorted(d for d in wanted if 0 <= d < n_days), dtype=np.int64)
    return Layout(
        day0=day0,
        n_days=n_days,
        first_failure=snapshot.as_of_day + 1 - day0,
        series_consumer=series_consumer,
        series_sku=series_sku,
        series_rate=np.asarray(rates, dtype=np.float64),
        series_parent=parent,
        target_series=target_series,
        grid=grid,
    )
