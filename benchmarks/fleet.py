"""Synthetic fleets for the planner benchmarks: PlanningSnapshot values, seeded.

Sizes (issue 3): ``company`` (200 lots, 20 targets), ``hyperscaler`` (5,000 lots,
500 targets), ``world`` (50,000 lots, 20,000 targets, 2,000 consumers, 3 SKUs,
3 years of days). Supply is scarce on purpose (targets ask for about 1.3 times what
arrives) so every policy has choices to make. Same size and seed, same snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from gpuledger.planning.snapshot import PlanningSnapshot, SupplyKind


@dataclass(frozen=True)
class FleetSize:
    """Shape of a synthetic fleet."""

    name: str
    lots: int
    targets: int
    orgs: int
    clusters: int
    skus: int
    days: int
    group_size: int  # orgs per group (pool)


SIZES: dict[str, FleetSize] = {
    "company": FleetSize("company", 200, 20, 6, 4, 1, 365, 3),
    "hyperscaler": FleetSize("hyperscaler", 5_000, 500, 40, 60, 2, 730, 8),
    "world": FleetSize("world", 50_000, 20_000, 500, 1_500, 3, 1_096, 10),
}


def make_fleet(size: str | FleetSize, seed: int = 0) -> PlanningSnapshot:
    """A synthetic snapshot of the given size, reproducible from ``seed``."""
    f = SIZES[size] if isinstance(size, str) else size
    rng = np.random.default_rng(seed)
    as_of = date(2024, 1, 1)
    day0 = as_of.toordinal()
    horizon = as_of + timedelta(days=f.days - 1)
    # 1. Who: orgs in groups (the last org of each run stands alone), clusters under orgs.
    orgs = tuple(f"org{i:04d}" for i in range(f.orgs))
    n_groups = max(1, f.orgs // f.group_size)
    group_of = rng.integers(0, n_groups + f.orgs // 10 + 1, size=f.orgs)
    pools: list[str] = []
    org_pool = np.empty(f.orgs, dtype=np.int64)
    for i, g in enumerate(group_of.tolist()):
        key = f"group{g:03d}" if g < n_groups else f"org:{orgs[i]}"
        if key not in pools:
            pools.append(key)
        org_pool[i] = pools.index(key)
    clusters = tuple(f"cl{i:05d}" for i in range(f.clusters))
    cluster_org = rng.integers(0, f.orgs, size=f.clusters)
    consumers = orgs + clusters
    consumer_org = np.r_[np.arange(f.orgs), cluster_org].astype(np.int64)
    skus = tuple(f"SKU{i}" for i in range(f.skus))
    vendors = ("nvidia", "amd")
    # 2. Supply: arrived before as_of, then in transit, expected lots and open orders.
    n = f.lots
    kind = rng.choice(
        np.array(
            [SupplyKind.ARRIVED, SupplyKind.IN_TRANSIT, SupplyKind.EXPECTED, SupplyKind.OPEN_ORDER]
        ),
        size=n,
        p=[0.15, 0.15, 0.5, 0.2],
    ).astype(np.int64)
    day = np.where(
        kind == SupplyKind.ARRIVED,
        day0 - rng.integers(1, 120, size=n),
        day0 + rng.integers(0, f.days, size=n),
    ).astype(np.int64)
    qty = rng.integers(50, 2_000, size=n).astype(np.int64)
    holder = rng.integers(0, f.orgs, size=n).astype(np.int64)
    sku = rng.integers(0, f.skus, size=n).astype(np.int64)
    vendor = rng.integers(0, len(vendors), size=n).astype(np.int64)
    # 3. Targets: random consumers, dates over the horizon, ~1.3x the supply in all.
    m = f.targets
    t_cons = rng.integers(0, len(consumers), size=m).astype(np.int64)
    t_sku = rng.integers(0, f.skus, size=m).astype(np.int64)
    t_by = (day0 + rng.integers(0, f.days, size=m)).astype(np.int64)
    mean = 1.3 * qty.sum() / m
    t_qty = np.maximum(rng.normal(mean, mean / 3, size=m).round(), 0).astype(np.int64)
    t_prio = rng.integers(1, 5, size=m).astype(np.int64)
    t_weight = np.array([4.0, 2.0, 1.0, 1.0])[t_prio - 1]
    # 4. Lead times: long in the first year, shorter after.
    lv, ls, lf, l50, l90 = [], [], [], [], []
    for v in range(len(vendors)):
        for k in range(f.skus):
            for start, p50, p90 in ((day0 - 400, 300, 360), (day0 + 120, 90, 120)):
                lv.append(v)
                ls.append(k)
                lf.append(start)
                l50.append(p50)
                l90.append(p90)

    def i64(x: list[int]) -> np.ndarray:
        return np.array(x, dtype=np.int64)

    ids = tuple(f"LOT{i:06d}" for i in range(n))
    return PlanningSnapshot(
        as_of=as_of,
        known_on=as_of,
        horizon_end=horizon,
        skus=skus,
        orgs=orgs,
        org_pool=org_pool,
        pools=tuple(pools),
        consumers=consumers,
        consumer_org=consumer_org,
        vendors=vendors,
        supply_id=ids,
        supply_order=tuple(f"PO{i:06d}" for i in range(n)),
        supply_kind=kind,
        supply_sku=sku,
        supply_qty=qty,
        supply_day=day,
        supply_holder=holder,
        supply_vendor=vendor,
        supply_ordered_day=day - 200,
        target_id=tuple(f"T{i:06d}" for i in range(m)),
        target_consumer=t_cons,
        target_sku=t_sku,
        target_qty=t_qty,
        target_by=t_by,
        target_priority=t_prio,
        target_weight=t_weight,
        lead_vendor=i64(lv),
        lead_sku=i64(ls),
        lead_from_day=i64(lf),
        lead_p50_days=i64(l50),
        lead_p90_days=i64(l90),
        sku_annual_failure_rate=np.full(f.skus, 0.09),
        vendor_slip_p50_days=np.zeros(len(vendors), dtype=np.int64),
        vendor_slip_p90_days=np.zeros(len(vendors), dtype=np.int64),
    )
