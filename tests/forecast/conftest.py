"""A small builder of PlanningSnapshot values for forecast tests (no ledger needed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from gpuledger.planning.snapshot import PlanningSnapshot, SupplyKind

D = date.fromisoformat


@dataclass
class SnapshotBuilder:
    """Add orgs, rows and targets by name; ``build()`` gives the arrays.

    Defaults: one SKU ``H100``, one vendor ``nvidia``, every org its own pool
    unless given a group, a horizon of two years after ``as_of``.
    """

    as_of: date = date(2024, 1, 1)
    horizon_end: date | None = None
    skus: list[str] = field(default_factory=lambda: ["H100"])
    afr: dict[str, float] = field(default_factory=dict)
    vendors: list[str] = field(default_factory=lambda: ["nvidia"])
    slip: dict[str, tuple[int, int]] = field(default_factory=dict)
    orgs: list[tuple[str, str | None]] = field(default_factory=list)
    clusters: list[tuple[str, str]] = field(default_factory=list)
    rows: list[dict[str, object]] = field(default_factory=list)
    targets: list[dict[str, object]] = field(default_factory=list)
    leads: list[tuple[str, str, date, int, int]] = field(default_factory=list)

    def org(self, name: str, group: str | None = None) -> SnapshotBuilder:
        self.orgs.append((name, group))
        return self

    def cluster(self, name: str, org: str) -> SnapshotBuilder:
        self.clusters.append((name, org))
        return self

    def lead(
        self,
        p50: int,
        p90: int,
        *,
        vendor: str = "nvidia",
        sku: str = "H100",
        since: str = "2000-01-01",
    ) -> SnapshotBuilder:
        self.leads.append((vendor, sku, D(since), p50, p90))
        return self

    def row(
        self,
        id: str,
        holder: str,
        qty: int,
        day: str,
        kind: SupplyKind = SupplyKind.ARRIVED,
        *,
        ordered: str = "2023-01-01",
        sku: str = "H100",
        vendor: str = "nvidia",
        order: str | None = None,
    ) -> SnapshotBuilder:
        self.rows.append(
            dict(
                id=id,
                holder=holder,
                qty=qty,
                day=D(day),
                kind=kind,
                ordered=D(ordered),
                sku=sku,
                vendor=vendor,
                order=order or f"PO-{id}",
            )
        )
        return self

    def target(
        self,
        id: str,
        consumer: str,
        qty: int,
        by: str,
        *,
        priority: int = 1,
        weight: float = 1.0,
        sku: str = "H100",
    ) -> SnapshotBuilder:
        self.targets.append(
            dict(
                id=id,
                consumer=consumer,
                qty=qty,
                by=D(by),
                priority=priority,
                weight=weight,
                sku=sku,
            )
        )
        return self

    def build(self) -> PlanningSnapshot:
        orgs = [o for o, _ in self.orgs]
        pools: list[str] = []
        org_pool = []
        for o, g in self.orgs:
            key = g if g is not None else f"org:{o}"
            if key not in pools:
                pools.append(key)
            org_pool.append(pools.index(key))
        consumers = orgs + [c for c, _ in self.clusters]
        consumer_org = list(range(len(orgs))) + [orgs.index(o) for _, o in self.clusters]

        def arr(values: list[int]) -> np.ndarray:
            return np.array(values, dtype=np.int64)

        rows = self.rows
        targets = self.targets
        return PlanningSnapshot(
            as_of=self.as_of,
            known_on=self.as_of,
            horizon_end=self.horizon_end or date.fromordinal(self.as_of.toordinal() + 730),
            skus=tuple(self.skus),
            orgs=tuple(orgs),
            org_pool=arr(org_pool),
            pools=tuple(pools),
            consumers=tuple(consumers),
            consumer_org=arr(consumer_org),
            vendors=tuple(self.vendors),
            supply_id=tuple(str(r["id"]) for r in rows),
            supply_order=tuple(str(r["order"]) for r in rows),
            supply_kind=arr([int(r["kind"]) for r in rows]),  # type: ignore[call-overload]
            supply_sku=arr([self.skus.index(str(r["sku"])) for r in rows]),
            supply_qty=arr([int(r["qty"]) for r in rows]),  # type: ignore[call-overload]
            supply_day=arr([r["day"].toordinal() for r in rows]),  # type: ignore[attr-defined]
            supply_holder=arr([orgs.index(str(r["holder"])) for r in rows]),
            supply_vendor=arr([self.vendors.index(str(r["vendor"])) for r in rows]),
            supply_ordered_day=arr([r["ordered"].toordinal() for r in rows]),  # type: ignore[attr-defined]
            target_id=tuple(str(t["id"]) for t in targets),
            target_consumer=arr([consumers.index(str(t["consumer"])) for t in targets]),
            target_sku=arr([self.skus.index(str(t["sku"])) for t in targets]),
            target_qty=arr([int(t["qty"]) for t in targets]),  # type: ignore[call-overload]
            target_by=arr([t["by"].toordinal() for t in targets]),  # type: ignore[attr-defined]
            target_priority=arr([int(t["priority"]) for t in targets]),  # type: ignore[call-overload]
            target_weight=np.array([float(t["weight"]) for t in targets]),  # type: ignore[arg-type]
            lead_vendor=arr([self.vendors.index(v) for v, *_ in self.leads]),
            lead_sku=arr([self.skus.index(k) for _, k, *_ in self.leads]),
            lead_from_day=arr([d.toordinal() for _, _, d, _, _ in self.leads]),
            lead_p50_days=arr([p for *_, p, _ in self.leads]),
            lead_p90_days=arr([p for *_, p in self.leads]),
            sku_annual_failure_rate=np.array([self.afr.get(k, 0.0) for k in self.skus]),
            vendor_slip_p50_days=arr([self.slip.get(v, (0, 0))[0] for v in self.vendors]),
            vendor_slip_p90_days=arr([self.slip.get(v, (0, 0))[1] for v in self.vendors]),
        )
