"""Failures of held units: interruptions that come back, failures replaced or lost.

The model (calibrated on Meta's Llama 3 report, see :class:`FailureModel` and
docs/forecast.md) separates three things a GPU can suffer:

- an *interruption* takes the unit out of service for ``repair_days`` and gives
  it back (a restart, a re-seat, a host repair): the unit stays held;
- a *failure* (a faulty GPU or its HBM3 memory: the part is swapped) takes the
  unit out until its replacement arrives ``rma_days`` later (``replace=True``):
  the unit is still owed to its holder, who still counts it;
- with ``replace=False`` a failure is a loss: the holder has one unit fewer from
  the day it fails, for good.

Every failure is also an interruption. Failures happen at the constant daily
hazard ``-ln(1 - afr) / 365`` of the SKU's annual failure rate ``afr``, and
interruptions at ``interruptions_per_failure`` times that. Units held are
therefore *delivered minus lost*: with replacement (the default) failures never
lower holdings and never delay a target; without, holdings are net of losses
drawn day by day.

Losses (``replace=False`` only) are drawn per bucket of ``bucket_days`` days
(the forecast's default is 1: daily timing): the units alive at a bucket's start
each fail with ``p = 1 - exp(-hazard * bucket_days)``, drawn as a Poisson of the
same mean clipped at the units alive (see :func:`bucket_failures`), one draw per
sample, series and bucket. A unit arriving on a day is first exposed the next
day; a loss counts from the first day of its bucket; units held on ``as_of`` are
exposed from ``as_of + 1`` (earlier failures are in the books).

Interruption and failure *counts* over the forecast window (``as_of + 1`` to the
horizon's end) are drawn once per sample and series from the exposure in
GPU-days (two Poisson draws, whatever the window's length: see
:func:`interruption_counts`), so the replaced-failure path costs no per-day draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gpuledger.domain.limits import INTERRUPTIONS_PER_FAILURE_MAX, REPAIR_DAYS_MAX

__all__ = [
    "DEFAULT_FAILURE_MODEL",
    "LLAMA3",
    "FailureModel",
    "bucket_failures",
    "bucket_index",
    "cumulative_failures",
    "daily_failure_hazard",
    "describe_failures",
    "failures_bins_first",
    "failures_from_held",
    "interruption_counts",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Llama3Table:
    """The calibration: Meta, *The Llama 3 Herd of Models* (arXiv:2407.21783), table 5.

    Unexpected interruptions of the 405B pre-training job over a 54-day snapshot
    on 16,384 H100 GPUs, and the two GPU-hardware causes counted as failures
    (the part is replaced): faulty GPU and GPU HBM3 memory.
    """

    gpus: int = 16_384
    days: int = 54
    interruptions: int = 419
    faulty_gpu: int = 148
    hbm3: int = 72

    @property
    def failures(self) -> int:
        """GPU-hardware failures (faulty GPU + HBM3): 220."""
        return self.faulty_gpu + self.hbm3

    @property
    def annual_failure_rate(self) -> float:
        """Failures per GPU-day turned into a yearly probability: about 8.7%."""
        return -math.expm1(-self.failures / (self.gpus * self.days) * 365.0)


LLAMA3 = Llama3Table()
"""The published figures the default :class:`FailureModel` is calibrated on."""


@dataclass(frozen=True)
class FailureModel:
    """How held units fail: interruptions that return, failures replaced or lost.

    Attributes:
        interruptions_per_failure: interruptions of every cause per failure
            (>= 1); Llama 3: 419 / 220 = 1.90.
        repair_days: days an interruption keeps a unit out of service (>= 0);
            an assumption (Llama 3 reports most interruptions handled by
            automated restarts within the job's recovery).
        rma_days: days from a failure to its replacement's arrival (>= 0); an
            assumption of 30 days (no public figure for H100 RMA turnaround).
        replace: True: a failed unit is replaced after ``rma_days`` and stays
            counted in holdings; False: it is lost.

    Raises:
        ValueError: a value is out of bounds (see ``domain.limits``).
    """

    interruptions_per_failure: float = LLAMA3.interruptions / LLAMA3.failures
    repair_days: int = 1
    rma_days: int = 30
    replace: bool = True

    def __post_init__(self) -> None:
        if not 1.0 <= self.interruptions_per_failure <= INTERRUPTIONS_PER_FAILURE_MAX:
            raise ValueError(
                f"interruptions_per_failure {self.interruptions_per_failure} is not in "
                f"[1, {INTERRUPTIONS_PER_FAILURE_MAX}]"
            )
        for name in ("repair_days", "rma_days"):
            value = getattr(self, name)
            if not 0 <= value <= REPAIR_DAYS_MAX:
                raise ValueError(f"{name} {value} is not in [0, {REPAIR_DAYS_MAX}]")

    def out_of_service_share(self, annual_failure_rate: float) -> float:
        """Expected share of held units out of service on a day, in steady state.

        Units under repair (interruptions that are not failures, out
        ``repair_days``) plus, with replacement, failed units awaiting their
        replacement (``rma_days``). Lost units are not held, so not counted.
        """
        h = daily_failure_hazard(annual_failure_rate)
        repair = -math.expm1(-h * (self.interruptions_per_failure - 1.0) * self.repair_days)
        rma = -math.expm1(-h * self.rma_days) if self.replace else 0.0
        assert 0.0 <= repair + rma <= 2.0
        return min(repair + rma, 1.0)


def describe_failures(model: FailureModel | None) -> str:
    """One line saying which failure model a forecast ran; None means failures off."""
    if model is None:
        return "failures off"
    fate = f"replaced after {model.rma_days} days" if model.replace else "lost (not replaced)"
    return (
        f"failures on: {model.interruptions_per_failure:.2f} interruptions per failure, "
        f"interruptions out {model.repair_days} day(s), failures {fate}"
    )


DEFAULT_FAILURE_MODEL = FailureModel()
"""Llama 3's interruptions per failure, repairs of a day, replacements after 30 days."""


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
    into: npt.NDArray[Any],
    source: npt.NDArray[Any],
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


def interruption_counts(
    exposure: FloatArray,
    annual_failure_rate: FloatArray,
    parent: IntArray,
    model: FailureModel,
    rng: np.random.Generator,
    lost: IntArray | None = None,
) -> tuple[IntArray, IntArray]:
    """Interruptions and failures over the window, per sample and series.

    Args:
        exposure: ``[samples, series]`` GPU-days held in the window (gross: an
            org's include its clusters').
        annual_failure_rate: per series.
        parent: per series, its org's series or -1.
        model: the failure model.
        rng: the block's generator: one Poisson call for failures (skipped when
            ``lost`` is given), then one for the other interruptions.
        lost: ``[samples, series]`` losses already drawn day by day (the
            ``replace=False`` path), an org's including its clusters'.

    Returns:
        ``(interruptions, failures)``, ``[samples, series]`` int64; every
        failure is an interruption, and an org's counts include its clusters'.
    """
    n, n_series = exposure.shape
    hazard = np.array([daily_failure_hazard(float(r)) for r in annual_failure_rate])
    # 1. each org's own exposure: its holdings minus its clusters'
    own = np.array(exposure, dtype=np.float64, copy=True)
    children = np.flatnonzero(parent >= 0)
    _fold_children(own, own.copy(), children, parent[children], np.subtract)
    np.maximum(own, 0.0, out=own)
    # 2. failures, then interruptions that are not failures (Poisson: exact law);
    #    a cluster's counts are its org's too
    if lost is None:
        failed = rng.poisson(own * hazard).astype(np.int64)
        _fold_children(failed, failed, children, parent[children], np.add)
    else:
        failed = np.asarray(lost, dtype=np.int64)
    others = rng.poisson(own * hazard * (model.interruptions_per_failure - 1.0)).astype(np.int64)
    _fold_children(others, others, children, parent[children], np.add)
    interrupted = failed + others
    assert failed.shape == (n, n_series) and bool((interrupted >= failed).all())
    return interrupted, failed
