"""Failures of held units: holdings curves net of failed units.

Each unit held fails at a constant hazard ``-ln(1 - afr) / 365`` per day, where
``afr`` is its SKU's annual failure rate, so a unit held a whole year fails with
probability ``afr``. Because the hazard is constant (the lifetime is memoryless),
a unit's age does not matter: only how many units are alive. Time after ``as_of``
is cut into buckets of ``bucket_days`` days (the first starts on ``as_of + 1``);
in each bucket the units alive at its start (held the day before, net of earlier
failures) each fail with ``p = 1 - exp(-hazard * bucket_days)``: the failures
of a bucket are Binomial(alive, p), drawn as a Poisson of the same mean clipped
at ``alive`` (see :func:`bucket_failures`), one draw per sample, series and
bucket, vectorised over samples and series.

Choices (documented in docs/forecast.md):
- the Poisson draw for the binomial (same mean; variance higher by a factor
  ``1 / (1 - p)``, 1.0035 at 9% a year and 14-day buckets): half the cost;
- failures drawn for a bucket reduce holdings from the bucket's first day
  (pessimistic by less than a bucket), and units arriving during a bucket are
  first exposed in the next one (optimistic by less than a bucket); with the
  default 14-day bucket each bias is below ``hazard * 14`` per unit (0.35% of a
  unit at a 9% annual rate), and they pull in opposite directions;
- units that arrived on or before ``as_of`` are exposed from ``as_of + 1`` only:
  their earlier failures are already in the books (the snapshot excludes failed
  units);
- a failed unit is not replaced: the plan's allocation is what it is, and a
  target completes on the first day its consumer's holdings *net of failures*
  reach its quantity (so a target can complete later, or not at all, because of
  failures, and completion is never undone by a later failure).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "bucket_failures",
    "bucket_index",
    "cumulative_failures",
    "daily_failure_hazard",
    "failures_bins_first",
    "failures_from_held",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def bucket_failures(
    alive: npt.NDArray[np.integer[Any]], p: FloatArray, rng: np.random.Generator
) -> IntArray:
    """Failed units in one bucket: ``min(Poisson(alive * p), alive)`` per element.

    The exact law is Binomial(``alive``, ``p``); the Poisson of the same mean
    differs from it by a factor ``1 / (1 - p)`` in variance (0.35% at 9% a year
    and 14-day buckets) and puts ``O((alive p)^2 p)`` mass above ``alive``, which
    is clipped. It is drawn because it costs half as much as the binomial
    (numpy's ``Generator.binomial`` recomputes its setup for every distinct
    ``n``). One ``rng.poisson`` call per bucket, elements in order.

    Edge cases: ``alive <= 0`` or ``p <= 0`` gives 0.
    """
    left = np.maximum(alive, 0)
    drawn: IntArray = rng.poisson(left * p)
    np.minimum(drawn, left, out=drawn)
    return drawn


def daily_failure_hazard(annual_failure_rate: float) -> float:
    """The daily hazard for an annual failure rate: ``-ln(1 - afr) / 365``.

    Raises:
        ValueError: the rate is not in [0, 1).
    """
    if not 0.0 <= annual_failure_rate < 1.0:
        raise ValueError(f"annual failure rate {annual_failure_rate} is not in [0, 1)")
    return -math.log1p(-annual_failure_rate) / 365.0


def bucket_index(day: IntArray, first_day: int, bucket_days: int) -> IntArray:
    """Failure bin of each day: 0 before ``first_day``, else 1 + its bucket number."""
    return np.where(day < first_day, 0, 1 + (day - first_day) // bucket_days).astype(np.int64)


def cumulative_failures(
    arrivals: IntArray,
    annual_failure_rate: FloatArray,
    parent: IntArray,
    bucket_days: int,
    rng: np.random.Generator,
) -> IntArray:
    """Failed units counted by each bin, per sample and series.

    A cluster's units are also its org's: failures are drawn once per unit, on the
    org's own units (its arrivals minus its clusters') and on each cluster's, and a
    cluster's failures count against its org as well.

    Args:
        arrivals: ``[samples, series, bins]`` units arriving in each bin (see
            :func:`bucket_index`: bin 0 is before failures start, bin ``k + 1`` is
            bucket ``k``).
        annual_failure_rate: per series.
        parent: per series, the series of the org that also holds it (a
            cluster's org), or -1.
        bucket_days: length of a bucket in days.
        rng: the block's generator; one draw per sample, failing series and
            bucket, in bucket order (see :func:`bucket_failures`).

    Returns:
        ``[samples, series, bins]``: units failed from bin 1 through each bin
        (bin 0 is always 0); counted from the first day of their bucket.
    """
    held = np.cumsum(np.asarray(arrivals, dtype=np.int64), axis=2)
    return failures_from_held(held, annual_failure_rate, parent, bucket_days, rng)


def failures_from_held(
    held: IntArray,
    annual_failure_rate: FloatArray,
    parent: IntArray,
    bucket_days: int,
    rng: np.random.Generator,
) -> IntArray:
    """As :func:`cumulative_failures`, from units held by the end of each bin.

    ``held[:, :, k]`` counts the units that arrived in bins 0 through ``k`` (gross
    of failures): the running sum of ``arrivals``. Same draws, same answer.
    """
    bins_first = np.ascontiguousarray(np.moveaxis(np.asarray(held, dtype=np.int64), 2, 0))
    failed = failures_bins_first(bins_first, annual_failure_rate, parent, bucket_days, rng)
    return np.moveaxis(failed.astype(np.int64), 0, 2)


def failures_bins_first(
    held: npt.NDArray[np.integer[Any]],
    annual_failure_rate: FloatArray,
    parent: IntArray,
    bucket_days: int,
    rng: np.random.Generator,
) -> npt.NDArray[np.integer[Any]]:
    """As :func:`failures_from_held` on ``[bins, samples, series]`` arrays (no transposes).

    The draws are the same, in the same order: per bucket, one
    :func:`bucket_failures` call over every sample and failing series, samples outer.
    The result has ``held``'s integer type (at least int32): failures never
    exceed holdings.
    """
    n_bins, n, n_series = held.shape
    dtype = np.result_type(held.dtype, np.int32)
    rates = np.asarray(annual_failure_rate, dtype=np.float64)
    series = np.flatnonzero(rates > 0)
    if series.size == 0 or n_bins <= 1:
        return np.zeros((n_bins, n, n_series), dtype=dtype)
    # 1. each org's own units: its holdings minus its clusters'
    everyone = series.size == n_series
    own = held.astype(dtype) if everyone else held.take(series, axis=2).astype(dtype)
    slot = np.full(n_series + 1, -1, dtype=np.int64)  # parent -1 hits the last slot
    slot[series] = np.arange(series.size)
    children = np.flatnonzero(slot[parent] >= 0)
    _fold_children(own, held, children, slot[parent[children]], np.subtract)
    hazard = np.array([daily_failure_hazard(float(r)) for r in rates[series]])
    p = np.broadcast_to(-np.expm1(-hazard * bucket_days), (n, series.size)).ravel()
    # 2. bucket by bucket: units held before it (bins 0..k), net of earlier failures
    alive = own.reshape(n_bins, -1)
    failed = np.zeros((n_bins, n * series.size), dtype=dtype)
    for k in range(n_bins - 1):
        drawn = bucket_failures(alive[k] - failed[k], p, rng)
        np.add(failed[k], drawn, out=failed[k + 1], casting="unsafe")
    if everyone:
        out = failed.reshape(n_bins, n, n_series)
    else:
        out = np.zeros((n_bins, n, n_series), dtype=dtype)
        out[:, :, series] = failed.reshape(n_bins, n, series.size)
    # 3. a cluster's failures are its org's too
    children = np.flatnonzero(parent >= 0)
    _fold_children(out, out, children, parent[children], np.add)
    return out


def _fold_children(
    into: npt.NDArray[np.integer[Any]],
    source: npt.NDArray[np.integer[Any]],
    children: IntArray,
    dest: IntArray,
    op: np.ufunc,
) -> None:
    """``into[..., dest[i]] = op(into[..., dest[i]], source[..., children[i]])``, every ``i``.

    Works in place, one series at a time on series-first views (about 3x cheaper
    than a ``reduceat`` across the short last axis). ``source`` may be ``into``
    only when no destination is itself a child (a cluster's parent is an org):
    the children's values are then read before any write and the order does
    not matter (integer sums). Otherwise the children's columns are copied first.
    """
    if children.size == 0:
        return
    if source is into and np.isin(dest, children).any():
        source = into[..., children].copy()
        children = np.arange(children.size)
    to, src = np.moveaxis(into, -1, 0), np.moveaxis(source, -1, 0)
    for d, c in zip(dest.tolist(), children.tolist(), strict=True):
        op(to[d], src[c], out=to[d], casting="unsafe")
