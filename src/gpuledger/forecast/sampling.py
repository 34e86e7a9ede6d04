"""What is uncertain in one sample: arrival days of supply not yet arrived.

Rules (DESIGN section 6), one per supply kind:

- ``ARRIVED``: never moves.
- ``OPEN_ORDER`` and ``EXPECTED``: the days from order to arrival follow a
  lognormal fitted to the vendor's lead-time model in force on the order date
  (``snapshot.lead_time(vendor, sku, ordered_day)``): ``mu = ln(P50)``,
  ``sigma = (ln(P90) - ln(P50)) / z90``. The row's scheduled day (an order's
  schedule, ``ordered_on + P50`` for open quantity, or a lot's expected arrival)
  is shifted by the sampled deviation from P50: ``arrival = day + round(X) - P50``.
  So a row due at ``ordered_on + P50`` arrives at ``ordered_on + round(X)``, and a
  lot with a known expected date keeps its date at the median. The draw is
  conditioned on the row not having arrived yet: ``X`` is drawn from the lognormal
  truncated below so that ``arrival >= as_of + 1`` (inverse-CDF sampling on the
  upper tail, no clamping mass). P50 == P90, or no lead-time model for the
  vendor and SKU, means no spread: the row keeps exactly its scheduled day.
- ``IN_TRANSIT``: the scheduled day plus a slip ``round(S)`` with ``S`` lognormal
  fitted to the vendor's ``vendor_slip_p50_days``/``p90``. A P50 of 0 means no
  slip (a lognormal has no median of 0); P50 == P90 > 0 is a fixed slip.

Arrivals are clipped to ``horizon_day + 1`` (beyond the horizon is beyond the
horizon) so huge lognormal tails cannot overflow.

Every sample uses one uniform per supply row, drawn as one ``[samples, rows]``
array from the block's generator, so a sample's draws never depend on which
other samples share its batch. The passes around ``ndtri`` and ``exp`` run in
compiled kernels (:func:`compiled.arrival_days`); :func:`_sample_arrivals_numpy`
is their NumPy reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr, ndtri

from gpuledger.domain import ScenarioError
from gpuledger.forecast.compiled import arrival_days
from gpuledger.planning import IntArray, PlanningSnapshot, SupplyKind

__all__ = ["Z90", "ArrivalModel", "arrival_model", "sample_arrivals"]

Z90 = 1.2815515655446004
"""The standard normal's 90th percentile: P90 = P50 * exp(sigma * Z90)."""

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

# the most extreme normal quantile we sample; keeps exp() finite
_Z_CAP = 12.0


@dataclass(frozen=True)
class ArrivalModel:
    """Per supply row, how its arrival day is drawn (built once per forecast).

    Attributes:
        day: the scheduled arrival day (ordinal), as the snapshot has it.
        lead: True for rows drawn from a lead-time lognormal with spread.
        slip: True for rows in transit with a slip lognormal.
        mu: log-median of the lognormal (lead time or slip), 0 where unused.
        sigma: log-spread, 0 where no spread.
        p50: the lead-time P50 in days (lead rows) or 0.
        tail: probability mass of the lead-time lognormal above the truncation
            point that keeps ``arrival >= as_of + 1``; 1 when not truncated.
        floor_day: the earliest allowed arrival (``as_of + 1``).
        cap_day: the latest recorded arrival (``horizon_day + 1``).
    """

    day: IntArray
    lead: BoolArray
    slip: BoolArray
    mu: FloatArray
    sigma: FloatArray
    p50: IntArray
    tail: FloatArray
    floor_day: int
    cap_day: int

    @property
    def uncertain(self) -> bool:
        """True when at least one row's arrival is random."""
        return bool(self.lead.any() or self.slip.any())


def _fit(p50: int, p90: int, what: str) -> tuple[float, float]:
    if p50 <= 0 or p90 < p50:
        raise ScenarioError(f"needs 0 < P50 <= P90, got P50={p50} P90={p90}", record=what)
    return math.log(p50), (math.log(p90) - math.log(p50)) / Z90


def arrival_model(snapshot: PlanningSnapshot) -> ArrivalModel:
    """Fit, per supply row, the distribution of its arrival day.

    Raises:
        ScenarioError: a lead-time or slip model has P90 < P50 or P50 <= 0
            (naming the vendor and SKU).
    """
    n = len(snapshot.supply_id)
    kind = snapshot.supply_kind
    day = snapshot.supply_day.astype(np.int64)
    lead = np.zeros(n, dtype=bool)
    slip = np.zeros(n, dtype=bool)
    mu = np.zeros(n)
    sigma = np.zeros(n)
    p50s = np.zeros(n, dtype=np.int64)
    tail = np.ones(n)
    floor_day = snapshot.as_of_day + 1

    fits: dict[tuple[int, int, int], tuple[int, float, float] | None] = {}
    for r in np.flatnonzero((kind == SupplyKind.OPEN_ORDER) | (kind == SupplyKind.EXPECTED)):
        key = (
            int(snapshot.supply_vendor[r]),
            int(snapshot.supply_sku[r]),
            int(snapshot.supply_ordered_day[r]),
        )
        if key not in fits:
            lt = snapshot.lead_time(*key)
            if lt is None or lt[0] == lt[1]:
                fits[key] = None
            else:
                what = f"lead time {snapshot.vendors[key[0]]} {snapshot.skus[key[1]]}"
                m, s = _fit(lt[0], lt[1], what)
                fits[key] = (lt[0], m, s)
        fit = fits[key]
        if fit is None:
            continue
        lead[r] = True
        p50s[r], mu[r], sigma[r] = fit
        # smallest round(X) allowed so that day + round(X) - P50 >= as_of + 1
        threshold = floor_day - int(day[r]) + fit[0] - 0.5
        if threshold > 0:
            z0 = (math.log(threshold) - fit[1]) / fit[2]
            tail[r] = float(ndtr(-z0))

    slip_fits: dict[int, tuple[float, float] | None] = {}
    for r in np.flatnonzero(kind == SupplyKind.IN_TRANSIT):
        v = int(snapshot.supply_vendor[r])
        if v not in slip_fits:
            p50 = int(snapshot.vendor_slip_p50_days[v])
            p90 = int(snapshot.vendor_slip_p90_days[v])
            slip_fits[v] = None if p50 == 0 else _fit(p50, p90, f"slip of {snapshot.vendors[v]}")
        sfit = slip_fits[v]
        if sfit is None:
            continue
        slip[r] = True
        mu[r], sigma[r] = sfit

    return ArrivalModel(
        day=day,
        lead=lead,
        slip=slip,
        mu=mu,
        sigma=sigma,
        p50=p50s,
        tail=tail,
        floor_day=floor_day,
        cap_day=snapshot.horizon_day + 1,
    )


def sample_arrivals(model: ArrivalModel, uniforms: FloatArray) -> IntArray:
    """Arrival days ``[samples, rows]`` from one uniform in [0, 1) per sample and row.

    Rows without uncertainty keep their scheduled day exactly (whatever the
    uniform), so with no spread every sample equals the deterministic plan.
    """
    rows = np.flatnonzero(model.lead | model.slip)
    if rows.size == 0:
        return np.broadcast_to(model.day, uniforms.shape).copy()
    return arrival_days(
        uniforms,
        rows,
        day=model.day,
        lead=model.lead,
        p50=model.p50,
        tail=model.tail,
        sigma=model.sigma,
        mu=model.mu,
        floor_day=model.floor_day,
        cap_day=model.cap_day,
        z_cap=_Z_CAP,
    )


def _sample_arrivals_numpy(model: ArrivalModel, uniforms: FloatArray) -> IntArray:
    """:func:`sample_arrivals` in NumPy: the reference the compiled kernels are tested against."""
    days = np.broadcast_to(model.day, uniforms.shape).copy()
    rows = np.flatnonzero(model.lead | model.slip)
    if rows.size == 0:
        return days
    # one buffer, updated in place (same floating-point operations, in the same order)
    u = uniforms.take(rows, axis=1)  # C order, unlike uniforms[:, rows]
    # upper-tail inverse CDF: z >= z0 with P(Z >= z) = (1 - u) * tail
    np.subtract(1.0, u, out=u)
    u *= model.tail[rows]
    np.clip(u, 1e-300, 1.0, out=u)
    z = ndtri(u, out=u)
    np.negative(z, out=z)
    np.clip(z, -_Z_CAP, _Z_CAP, out=z)
    z *= model.sigma[rows]
    z += model.mu[rows]
    np.exp(z, out=z)
    np.rint(z, out=z)
    np.minimum(z, float(model.cap_day - model.floor_day + 2 * 10**5), out=z)
    shifted = z.astype(np.int64)
    shifted += model.day[rows]
    # lead rows: back by P50, never before the floor; the others unchanged
    lead = model.lead[rows]
    shifted -= np.where(lead, model.p50[rows], 0)
    np.maximum(shifted, np.where(lead, model.floor_day, np.iinfo(np.int64).min), out=shifted)
    np.minimum(shifted, model.cap_day, out=shifted)
    # row by row: NumPy scatters one row's columns ~5x faster than days[:, rows]
    for sample, row in zip(days, shifted, strict=True):
        sample[rows] = row
    return days
