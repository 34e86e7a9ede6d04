"""Units held and units that could be powered; targets that accept other SKUs.

Two measures of holdings, defined once here and in docs/planning.md:

- **held**: units a consumer holds on a day (the plan's holdings curves).
- **powered**: of those, the units its sites' power could run that day. A
  consumer's capacity in units of a SKU comes from
  :func:`gpuledger.domain.power.org_capacity` (an org: the sum over its sites) or
  :func:`~gpuledger.domain.power.site_capacity` (a cluster at a site), by Epoch
  AI's method (TDP x system overhead x PUE). No stated limit (no site, a site
  without a power timeline, a SKU without TDP) means powered = held.
  An org's power is shared by its SKUs: they are powered in the snapshot's SKU
  order, each using the fraction of the power the SKUs before it left
  (*choice*; exact when an org holds one SKU). A cluster never counts more
  powered units than its org.

``accepts`` (substitution): a target may be filled one-for-one by the SKUs it
accepts besides its own. A substituted unit fills the target's slot, so it counts
in holdings as the target's SKU (*choice*: power and H100-equivalents of such a
unit use the target SKU's figures).

The ledger's snapshot states none of this; :func:`with_sites` attaches it from
the scenario's records (sites, SKUs, clusters, targets, parameters).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from gpuledger.domain.power import site_capacity
from gpuledger.domain.records import Scenario, Site, Sku
from gpuledger.planning.snapshot import FloatArray, IntArray, PlanningSnapshot

__all__ = [
    "NO_LIMIT",
    "SITE_PARTS",
    "capacity_on",
    "powered_cells",
    "powered_curves",
    "share_power",
    "site_inputs",
    "to_h100e",
    "with_sites",
]

NO_LIMIT = -1
"""A capacity of -1: no stated limit."""

SITE_PARTS = ("skus", "sites", "clusters", "targets", "parameters")
"""The parts of a scenario :func:`with_sites` reads, and nothing else."""


def site_inputs(scenario: Scenario) -> tuple[Any, ...]:
    """The parts of ``scenario`` :func:`with_sites` reads (:data:`SITE_PARTS`), in order.

    Two scenarios with these parts equal give a snapshot the same sites: a
    result of ``with_sites`` may be kept for them (``services.planning``).
    """
    return tuple(getattr(scenario, part) for part in SITE_PARTS)


def with_sites(snapshot: PlanningSnapshot, scenario: Scenario) -> PlanningSnapshot:
    """``snapshot`` with the scenario's sites' power, targets' accepts and SKUs' h100e.

    Never mutates ``snapshot``. Sites of orgs not in the snapshot and accepted
    SKUs not in it are ignored. With no site, ``power_day`` / ``power_cap`` stay
    None (no limit anywhere).
    """
    s = snapshot
    # 1. Accepts: per target, the other SKUs it takes, padded with -1.
    accepts = _accepts(s, scenario)
    # 2. H100-equivalents per SKU (NaN where not stated).
    by_id = {k.id: k for k in scenario.skus}
    h100e = np.array(
        [
            float(by_id[k].h100e)  # type: ignore[arg-type]
            if k in by_id and by_id[k].h100e is not None
            else math.nan
            for k in s.skus
        ],
        dtype=np.float64,
    )
    out = replace(s, target_accepts=accepts, sku_h100e=h100e)
    # 3. Power: one column per step day of any site, plus the time before the first.
    sites = [site for site in scenario.sites if site.org in s.orgs]
    days = sorted({step.from_date for site in sites for step in site.power})
    if not days:  # no site states a capacity: no limit anywhere
        return out
    power_day = np.array([d.toordinal() for d in days], dtype=np.int64)
    probe = np.concatenate([[power_day[0] - 1], power_day]).astype(np.int64)
    skus = [by_id.get(k, Sku(id=k)) for k in s.skus]
    per_site = {site.id: _site_caps(site, skus, scenario, probe) for site in sites}
    cap = np.full((len(s.consumers), len(s.skus), probe.size), NO_LIMIT, dtype=np.int64)
    org_index = {o: i for i, o in enumerate(s.orgs)}
    _sum_sites(cap, sites, per_site, org_index)
    site_of = {cl.id: cl.site for cl in scenario.clusters}
    for c in range(len(s.orgs), len(s.consumers)):
        site_id = site_of.get(s.consumers[c])
        if site_id is not None and site_id in per_site:
            cap[c] = per_site[site_id]
    return replace(out, power_day=power_day, power_cap=cap)


def _site_caps(site: Site, skus: list[Sku], scenario: Scenario, probe: IntArray) -> IntArray:
    """``[sku, probe]`` units a site powers on each probe day (-1: no stated limit).

    Calls the domain rule once per (SKU, step of the site), then spreads each step
    over the probe days it covers.
    """
    steps = sorted(site.power, key=lambda st: st.from_date)
    starts = np.array([st.from_date.toordinal() for st in steps], dtype=np.int64)
    at = np.searchsorted(starts, probe, side="right") - 1  # -1: before the first step
    out = np.full((len(skus), probe.size), NO_LIMIT, dtype=np.int64)
    if not steps:
        return out  # the site states no capacity
    for k, sku in enumerate(skus):
        values = [site_capacity(sku, site, scenario.parameters, st.from_date) for st in steps]
        if any(v is None for v in values):
            continue  # a SKU without TDP cannot be counted against power
        table = np.array([0, *values], dtype=np.int64)
        out[k] = table[at + 1]
    return out


def _sum_sites(
    cap: IntArray, sites: list[Site], per_site: dict[str, IntArray], org_index: dict[str, int]
) -> None:
    """An org's capacity = the sum over its sites; NO_LIMIT when any site states none."""
    for o in sorted({org_index[x.org] for x in sites}):
        mine = np.stack([per_site[x.id] for x in sites if org_index[x.org] == o])
        unlimited = np.any(mine == NO_LIMIT, axis=0)
        cap[o] = np.where(unlimited, NO_LIMIT, mine.sum(axis=0))


def _accepts(s: PlanningSnapshot, scenario: Scenario) -> IntArray:
    sku_index = {k: i for i, k in enumerate(s.skus)}
    by_id = {t.id: t for t in scenario.targets}
    rows: list[list[int]] = []
    for i, tid in enumerate(s.target_id):
        t = by_id.get(tid)
        own = int(s.target_sku[i])
        extra = [] if t is None else [sku_index[a] for a in t.accepts if a in sku_index]
        rows.append(list(dict.fromkeys(k for k in extra if k != own)))
    width = max((len(r) for r in rows), default=0)
    table = np.full((len(rows), width), -1, dtype=np.int64)
    for i, r in enumerate(rows):
        table[i, : len(r)] = r
    return table


def capacity_on(snapshot: PlanningSnapshot, days: IntArray) -> IntArray | None:
    """Capacity ``[consumer, sku, len(days)]`` on ordinal ``days``; None with no sites."""
    s = snapshot
    if s.power_cap is None or s.power_day is None:
        return None
    col = np.searchsorted(s.power_day, days, side="right")
    cap: IntArray = s.power_cap[:, :, col]
    return cap


def powered_curves(snapshot: PlanningSnapshot, holdings: IntArray, day0: int) -> IntArray:
    """Units that could be powered ``[consumer, sku, day - day0]`` (module docstring).

    Returns ``holdings`` itself when the snapshot states no power at all. Only
    consumers with a stated limit (and clusters of such orgs) are computed, on
    the curves' own layout (:func:`share_power`, then each such cluster capped
    by its org); the others' rows are their holdings. :func:`powered_cells` is
    the same rule for scattered (consumer, day) cells (the forecast's).
    """
    s = snapshot
    if s.power_cap is None or s.power_day is None:
        return holdings
    n_cons, _, n_days = holdings.shape
    limited = np.flatnonzero(np.any(s.power_cap != NO_LIMIT, axis=(1, 2)))
    col = np.searchsorted(s.power_day, day0 + np.arange(n_days, dtype=np.int64), side="right")
    out = holdings.copy()
    # 1. Each limited consumer: its SKUs in order, each in the power the ones before left.
    share_power(s.power_cap, holdings, col, limited, out)
    # 2. A cluster never counts more powered units than its org.
    clusters = np.arange(len(s.orgs), n_cons)
    of_limited = clusters[np.isin(s.consumer_org[clusters], limited)]
    if of_limited.size:
        out[of_limited] = np.minimum(out[of_limited], out[s.consumer_org[of_limited]])
    assert np.all(out[limited] <= np.maximum(holdings[limited], 0)), "powered beyond held"
    return out


_DAY_BITS = 22
"""Bits of a day ordinal in a (consumer, day) key: ordinals stay below 2**22 (year 9999)."""


def powered_cells(
    snapshot: PlanningSnapshot, consumer: IntArray, day: IntArray, held: IntArray
) -> IntArray:
    """Units that could be powered in each *cell*: a consumer on an ordinal day, per SKU.

    ``held`` is ``[..., cells, sku]`` (leading axes, e.g. samples, broadcast);
    cell ``i`` is ``consumer[i]`` on ``day[i]``. The module's rule, vectorised:
    a consumer's SKUs in snapshot order, each in the power the ones before it
    left; then a cluster of an org with stated power never counts more than its
    org on the same day, whose cell must be among the cells. Returns ``held``
    itself when the snapshot states no power; never more than ``held`` (>= 0).

    Raises:
        ValueError: a cluster's org states power but its cell on that day is missing.
    """
    s = snapshot
    if s.power_cap is None or s.power_day is None:
        return held
    assert consumer.shape == day.shape == held.shape[-2:-1], "one consumer and day per cell"
    col = np.searchsorted(s.power_day, day, side="right")
    cap = s.power_cap[consumer, :, col]  # [cells, sku]
    # 1. Own sites: each SKU in the power the ones before it left.
    out = _share(cap, held)
    # 2. A cluster never counts more powered units than its org.
    org = s.consumer_org[consumer]
    org_limited = np.any(s.power_cap[: len(s.orgs)] != NO_LIMIT, axis=(1, 2))
    cl = np.flatnonzero((consumer >= len(s.orgs)) & org_limited[org])
    if cl.size:
        keys = (consumer.astype(np.int64) << _DAY_BITS) | day
        order = np.argsort(keys, kind="stable")
        want = (org[cl].astype(np.int64) << _DAY_BITS) | day[cl]
        at = np.minimum(np.searchsorted(keys[order], want), keys.size - 1)
        if not np.array_equal(keys[order][at], want):
            raise ValueError("a cluster's cell needs its org's cell on the same day")
        out[..., cl, :] = np.minimum(out[..., cl, :], out[..., order[at], :])
    return out


def share_power(
    cap: IntArray, held: IntArray, col: IntArray, rows: IntArray, out: IntArray
) -> None:
    """Write into ``out[rows]`` the units powered, each row's SKUs sharing its power.

    ``cap[row, sku, step]`` is the units of that SKU the row's sites could run
    with all their power in each power step (``NO_LIMIT``: no stated limit);
    ``held[row, sku, day]`` the units held; ``col[day]`` the step in force on
    each day; ``out`` has ``held``'s shape (rows not in ``rows`` are left as they
    are). The rule is :func:`_share`'s, the one :func:`powered_cells` applies;
    the planner's curves and the claims (``gpuledger.claims``) call this form.
    """
    assert out.shape == held.shape and col.shape == held.shape[2:], (out.shape, col.shape)
    assert cap.shape[:2] == held.shape[:2], (cap.shape, held.shape)
    if rows.size:
        out[rows] = _share(cap[rows][:, :, col], held[rows], axis=1)


def _share(cap: IntArray, held: IntArray, axis: int = -1) -> IntArray:
    """Units powered per SKU (on ``axis``) when a consumer's SKUs share its power: the one rule.

    ``cap``: units of each SKU the consumer's sites could run with all their
    power (``NO_LIMIT``: no stated limit), broadcast against ``held``, the units
    held, both with the SKUs on ``axis``. The SKUs are powered in index order
    (the snapshot's), each within the fraction of the power the SKUs before it
    left: ``floor(left x cap)``. Edge cases: a SKU without a limit counts every
    unit held and uses no power; negative holdings count as 0; a capacity of 0
    powers nothing.
    """
    axis = axis - held.ndim if axis >= 0 else axis  # counted from the end: cap may have fewer axes
    out = np.empty(held.shape, dtype=np.int64)
    left: FloatArray | float = 1.0
    at: list[Any] = [slice(None)] * held.ndim
    for k in range(held.shape[axis]):
        ck = np.take(cap, k, axis=axis)
        hk = np.maximum(np.take(held, k, axis=axis), 0)
        bound = ck >= 0
        room = np.floor(left * np.maximum(ck, 0) + 1e-9).astype(np.int64)
        pk = np.where(bound, np.minimum(hk, room), hk)
        at[axis] = k
        out[tuple(at)] = pk
        used = np.where(bound & (ck > 0), pk / np.maximum(ck, 1), 0.0)
        left = np.maximum(left - used, 0.0)
    return out


def to_h100e(snapshot: PlanningSnapshot, sku: int, units: float) -> float | None:
    """``units`` of SKU row ``sku`` in H100-equivalents; None when its factor is not stated."""
    factors: FloatArray | None = snapshot.sku_h100e
    if factors is None or math.isnan(float(factors[sku])):
        return None
    return float(units * factors[sku])
