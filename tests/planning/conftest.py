"""A small builder of planning snapshots, so planner tests need no ledger."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from gpuledger.ledger import Ledger
from gpuledger.planning.snapshot import PlanningSnapshot, SupplyKind
from gpuledger.scenario import parse_scenario


def load_books(path: Path) -> PlanningSnapshot:
    """The real path: parse a scenario file, import it into an in-memory ledger, snapshot."""
    scenario = parse_scenario(path.read_text(encoding="utf-8"), filename=str(path))
    ledger = Ledger.open("sqlite://")
    try:
        ledger.import_scenario(scenario)
        return ledger.snapshot(scenario.as_of)
    finally:
        ledger.close()


def d(text: str) -> date:
    """An ISO date."""
    return date.fromisoformat(text)


@dataclass
class SnapBuilder:
    """Build a PlanningSnapshot row by row with names instead of indices.

    Orgs are given as ``{org: group or None}``; orgs without a group get a pool of
    their own. Clusters as ``{cluster: org}``.
    """

    as_of: date = date(2024, 1, 1)
    horizon_end: date = date(2024, 12, 31)
    skus: tuple[str, ...] = ("H100",)
    orgs: dict[str, str | None] = field(default_factory=lambda: {"a": "g", "b": "g"})
    clusters: dict[str, str] = field(default_factory=dict)
    vendors: tuple[str, ...] = ("nvidia",)
    supply: list[tuple[str, SupplyKind, str, int, date, str, str]] = field(default_factory=list)
    targets: list[tuple[str, str, str, int, date, int, float]] = field(default_factory=list)
    leads: list[tuple[str, str, date, int, int]] = field(default_factory=list)

    def lot(
        self,
        lot: str,
        holder: str,
        qty: int,
        day: str | date,
        kind: SupplyKind = SupplyKind.EXPECTED,
        sku: str | None = None,
        vendor: str = "nvidia",
    ) -> SnapBuilder:
        """Add a supply row."""
        on = d(day) if isinstance(day, str) else day
        self.supply.append((lot, kind, holder, qty, on, sku or self.skus[0], vendor))
        return self

    def target(
        self,
        tid: str,
        consumer: str,
        qty: int,
        by: str | date,
        priority: int = 1,
        weight: float = 1.0,
        sku: str | None = None,
    ) -> SnapBuilder:
        """Add a target."""
        on = d(by) if isinstance(by, str) else by
        self.targets.append((tid, consumer, sku or self.skus[0], qty, on, priority, weight))
        return self

    def lead(self, vendor: str, sku: str, start: str, p50: int, p90: int) -> SnapBuilder:
        """Add a lead-time row."""
        self.leads.append((vendor, sku, d(start), p50, p90))
        return self

    def build(self) -> PlanningSnapshot:
        """The snapshot."""
        orgs = tuple(self.orgs)
        pools: list[str] = []
        org_pool = []
        for o in orgs:
            key = self.orgs[o] or f"org:{o}"
            if key not in pools:
                pools.append(key)
            org_pool.append(pools.index(key))
        consumers = orgs + tuple(self.clusters)
        consumer_org = [
            orgs.index(c) if c in orgs else orgs.index(self.clusters[c]) for c in consumers
        ]

        def i64(xs: list[int]) -> np.ndarray:
            return np.array(xs, dtype=np.int64)

        sup = self.supply
        tg = self.targets
        return PlanningSnapshot(
            as_of=self.as_of,
            known_on=self.as_of,
            horizon_end=self.horizon_end,
            skus=self.skus,
            orgs=orgs,
            org_pool=i64(org_pool),
            pools=tuple(pools),
            consumers=consumers,
            consumer_org=i64(consumer_org),
            vendors=self.vendors,
            supply_id=tuple(r[0] for r in sup),
            supply_order=tuple(f"PO-{r[0]}" for r in sup),
            supply_kind=i64([int(r[1]) for r in sup]),
            supply_sku=i64([self.skus.index(r[5]) for r in sup]),
            supply_qty=i64([r[3] for r in sup]),
            supply_day=i64([r[4].toordinal() for r in sup]),
            supply_holder=i64([orgs.index(r[2]) for r in sup]),
            supply_vendor=i64([self.vendors.index(r[6]) for r in sup]),
            supply_ordered_day=i64([self.as_of.toordinal() - 200 for r in sup]),
            target_id=tuple(t[0] for t in tg),
            target_consumer=i64([consumers.index(t[1]) for t in tg]),
            target_sku=i64([self.skus.index(t[2]) for t in tg]),
            target_qty=i64([t[3] for t in tg]),
            target_by=i64([t[4].toordinal() for t in tg]),
            target_priority=i64([t[5] for t in tg]),
            target_weight=np.array([t[6] for t in tg], dtype=np.float64),
            lead_vendor=i64([self.vendors.index(r[0]) for r in self.leads]),
            lead_sku=i64([self.skus.index(r[1]) for r in self.leads]),
            lead_from_day=i64([r[2].toordinal() for r in self.leads]),
            lead_p50_days=i64([r[3] for r in self.leads]),
            lead_p90_days=i64([r[4] for r in self.leads]),
            sku_annual_failure_rate=np.zeros(len(self.skus)),
            vendor_slip_p50_days=np.zeros(len(self.vendors), dtype=np.int64),
            vendor_slip_p90_days=np.zeros(len(self.vendors), dtype=np.int64),
        )


@pytest.fixture
def builder() -> SnapBuilder:
    """A fresh builder: orgs a and b in group g, one SKU, 2024 as the horizon."""
    return SnapBuilder()
