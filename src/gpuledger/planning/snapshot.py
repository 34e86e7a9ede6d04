"""The immutable planning snapshot: the books and expectations as NumPy arrays.

The ledger layer builds it (``gpuledger.ledger.snapshot.build_snapshot``); the
planner and the forecast only read it and never touch the database. Days are
proleptic ordinals (``date.toordinal()``) held in int64 arrays.

Supply is one row per piece of a lot held by (or expected for) one org, plus one
row per open-order remainder:

- an arrived piece (``SupplyKind.ARRIVED``): units the org holds as of ``as_of``
  (stock and deployed, its clusters included; failed units excluded), day = the
  lot's arrival day;
- a piece in transit (``SupplyKind.IN_TRANSIT``): shipped, not yet arrived;
- an expected lot (``SupplyKind.EXPECTED``): not yet shipped; the holder is the
  lot's consignee after the paybacks of posted diversions;
- open order quantity (``SupplyKind.OPEN_ORDER``): order qty not covered by lots,
  expected on the order's schedule or at ``ordered_on + P50`` lead time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from enum import IntEnum

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class SupplyKind(IntEnum):
    """What a supply row is (stored in ``supply_kind``)."""

    ARRIVED = 0
    IN_TRANSIT = 1
    EXPECTED = 2
    OPEN_ORDER = 3


@dataclass(frozen=True)
class PlanningSnapshot:
    """Everything the planner needs, as parallel arrays indexed by row.

    Index spaces: ``skus``, ``orgs``, ``consumers`` (every org, then every
    cluster), ``pools`` (one per group, plus one per org without a group),
    ``vendors``. The sites' powered capacity (``power_day``, ``power_cap``), the
    targets' ``accepts`` and the SKUs' H100-equivalents are attached by
    :func:`gpuledger.planning.power.with_sites`; None means not stated (no power
    limit, no substitution). A consumer that is a cluster is supplied through its org
    (``consumer_org``). Arrays are never mutated; what-ifs build a new snapshot
    with :meth:`with_supply` or :func:`dataclasses.replace`.
    """

    as_of: date
    known_on: date
    horizon_end: date
    skus: tuple[str, ...]
    orgs: tuple[str, ...]
    org_pool: IntArray  # per org: index into pools
    pools: tuple[str, ...]
    consumers: tuple[str, ...]  # orgs first (same index), then clusters
    consumer_org: IntArray  # per consumer: index into orgs
    vendors: tuple[str, ...]
    # supply rows
    supply_id: tuple[str, ...]  # lot id, or order id for open-order rows
    supply_order: tuple[str, ...]  # the order each row comes from
    supply_kind: IntArray  # SupplyKind
    supply_sku: IntArray
    supply_qty: IntArray
    supply_day: IntArray  # expected (or actual) arrival day, ordinal
    supply_holder: IntArray  # index into orgs
    supply_vendor: IntArray  # index into vendors
    supply_ordered_day: IntArray  # the order's ordered_on, ordinal
    # targets
    target_id: tuple[str, ...]
    target_consumer: IntArray  # index into consumers
    target_sku: IntArray
    target_qty: IntArray
    target_by: IntArray  # ordinal
    target_priority: IntArray  # 1 = highest
    target_weight: FloatArray
    # lead-time models, one row per (vendor, sku, from_date)
    lead_vendor: IntArray
    lead_sku: IntArray
    lead_from_day: IntArray
    lead_p50_days: IntArray
    lead_p90_days: IntArray
    # forecast parameters
    sku_annual_failure_rate: FloatArray  # per SKU
    vendor_slip_p50_days: IntArray  # per vendor, for lots in transit
    vendor_slip_p90_days: IntArray
    gpu_hour_price_usd: float | None = None
    notes: tuple[str, ...] = field(default=())
    # sites, power and substitution (:mod:`gpuledger.planning.power`); None: not stated
    target_accepts: IntArray | None = None  # [target, j]: j-th SKU it also accepts, -1 pads
    power_day: IntArray | None = None  # sorted days on which some capacity changes
    power_cap: IntArray | None = None  # [consumer, sku, step]: units powered, -1 no limit
    sku_h100e: FloatArray | None = None  # per SKU; NaN where not stated

    @property
    def as_of_day(self) -> int:
        """``as_of`` as an ordinal."""
        return self.as_of.toordinal()

    @property
    def horizon_day(self) -> int:
        """``horizon_end`` as an ordinal (inclusive)."""
        return self.horizon_end.toordinal()

    def with_supply(self, **arrays: object) -> PlanningSnapshot:
        """A copy with some supply arrays replaced (all must keep equal length)."""
        return replace(self, **arrays)  # type: ignore[arg-type]

    def lead_time(self, vendor: int, sku: int, day: int) -> tuple[int, int] | None:
        """(P50, P90) days for an order of ``sku`` from ``vendor`` placed on ``day``.

        The latest row with ``from_day <= day`` applies; before the first row, the
        first row; None when the vendor has no row for the SKU.
        """
        rows = np.flatnonzero((self.lead_vendor == vendor) & (self.lead_sku == sku))
        if rows.size == 0:
            return None
        rows = rows[np.argsort(self.lead_from_day[rows], kind="stable")]
        in_force = rows[self.lead_from_day[rows] <= day]
        row = int(in_force[-1]) if in_force.size else int(rows[0])
        return int(self.lead_p50_days[row]), int(self.lead_p90_days[row])
