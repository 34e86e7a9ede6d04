"""The records of a fleet as frozen values: what a scenario file holds and the books store.

No I/O, no database, no web: every other layer speaks in these names (the
concepts of docs/architecture.md). Bounds on their fields live in
:mod:`gpuledger.domain.limits`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from gpuledger.domain.enums import Bucket, ClaimKind, DiversionStatus, OwnerKind, TransferKind


@dataclass(frozen=True)
class Sku:
    """An accelerator model. ``annual_failure_rate`` feeds the forecast.

    ``tdp_w`` is the chip's power draw (W), from which a site's powered capacity
    in units of this SKU follows (:mod:`gpuledger.domain.power`); None when not
    stated (such units cannot be counted against a site's power). ``h100e`` is
    its H100-equivalent factor (Epoch AI publishes one per chip); None when not
    stated.
    """

    id: str
    name: str | None = None
    annual_failure_rate: float = 0.0
    source: str | None = None
    assumed: bool = False
    tdp_w: float | None = None
    h100e: float | None = None


@dataclass(frozen=True)
class LeadTime:
    """Days from order to arrival for orders placed on or after ``from_date``.

    The model in force for an order date is the latest row with
    ``from_date <= ordered_on``. P50 == P90 means no spread.
    """

    sku: str
    from_date: date
    p50_days: int
    p90_days: int
    source: str | None = None
    assumed: bool = False


@dataclass(frozen=True)
class Vendor:
    """Who makes and ships SKUs; ``transit_slip_*`` feed the forecast (0 = none)."""

    id: str
    name: str | None = None
    lead_times: tuple[LeadTime, ...] = ()
    transit_slip_p50_days: int = 0
    transit_slip_p90_days: int = 0
    source: str | None = None

    def lead_time_on(self, sku: str, ordered_on: date) -> LeadTime | None:
        """The lead-time row in force for an order of ``sku`` on ``ordered_on``.

        Before the first row for the SKU, the first row applies (the earliest
        knowledge we have); None when the vendor has no row for the SKU.
        """
        rows = sorted((lt for lt in self.lead_times if lt.sku == sku), key=lambda r: r.from_date)
        if not rows:
            return None
        in_force = [r for r in rows if r.from_date <= ordered_on]
        return in_force[-1] if in_force else rows[0]


@dataclass(frozen=True)
class Group:
    """Orgs under common control: related parties."""

    id: str
    name: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Org:
    """A legal entity."""

    id: str
    name: str | None = None
    group: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class PowerStep:
    """A site's power from ``from_date`` on (a step function), in MW."""

    from_date: date
    mw: float
    source: str | None = None
    assumed: bool = False


@dataclass(frozen=True)
class Site:
    """A data center of an org, with the power it has over time.

    ``power`` is a step function: the latest step with ``from_date <= day`` is in
    force; before the first step the site has 0 MW. A site with no steps states
    no capacity (no limit). ``pue`` overrides the scenario's parameter.
    """

    id: str
    org: str
    name: str | None = None
    pue: float | None = None
    power: tuple[PowerStep, ...] = ()
    source: str | None = None
    assumed: bool = False

    def mw_on(self, day: date) -> float | None:
        """MW in force on ``day``; None when the site states no capacity."""
        if not self.power:
            return None
        mw = 0.0
        for step in sorted(self.power, key=lambda s: s.from_date):
            if step.from_date > day:
                break
            mw = step.mw
        return mw


@dataclass(frozen=True)
class Cluster:
    """A place where an org deploys units, at one of its sites (``site``) when known."""

    id: str
    org: str
    name: str | None = None
    source: str | None = None
    site: str | None = None


@dataclass(frozen=True)
class Delivery:
    """One step of an order's expected delivery schedule."""

    on: date
    qty: int


@dataclass(frozen=True)
class Order:
    """A purchase order line. Quantity not covered by lots is "open"."""

    id: str
    org: str
    vendor: str
    sku: str
    qty: int
    ordered_on: date
    schedule: tuple[Delivery, ...] = ()
    source: str | None = None
    assumed: bool = False


@dataclass(frozen=True)
class Lot:
    """A shipment of one SKU against an order, to a consignee org."""

    id: str
    order: str
    qty: int
    ships_on: date
    arrives_on: date
    consignee: str
    source: str | None = None
    assumed: bool = False


@dataclass(frozen=True)
class Target:
    """A need: the consumer (org or cluster) holds ``qty`` units of ``sku`` by ``by``.

    Targets are cumulative holdings, not increments. Priority 1 is highest.
    ``accepts`` lists other SKUs that fill the target one-for-one (as Kueue's
    resource flavors): an H200 can fill an H100 target when the target says so.
    """

    id: str
    consumer: str
    sku: str
    qty: int
    by: date
    priority: int = 1
    weight: float = 1.0
    source: str | None = None
    assumed: bool = False
    accepts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Claim:
    """A public statement about an org's holdings."""

    id: str
    org: str
    sku: str
    qty: int
    by: date
    stated_on: date
    kind: ClaimKind
    source: str | None = None


@dataclass(frozen=True)
class Payback:
    """Units of a receiver's future lot reassigned to the giver of a diversion."""

    lot: str
    qty: int


@dataclass(frozen=True)
class Diversion:
    """Units of a lot moved from one org to another, optionally paid back later."""

    id: str
    lot: str
    qty: int
    from_org: str
    to_org: str
    on: date
    payback: tuple[Payback, ...] = ()
    status: DiversionStatus = DiversionStatus.POSTED
    known_on: date | None = None
    proposed_by: str | None = None
    reason: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Movement:
    """A scenario event other than a diversion: deploy, fail or return units."""

    id: str
    op: TransferKind
    qty: int
    on: date
    org: str
    lot: str | None = None
    cluster: str | None = None
    known_on: date | None = None
    source: str | None = None


@dataclass(frozen=True)
class Parameters:
    """Scenario-wide assumptions used by reports (each says where it comes from)."""

    gpu_hour_price_usd: float | None = None
    gpu_hour_price_source: str | None = None
    claim_tolerance: float = 0.05
    horizon_days: int = 730
    # the forecast's failure model (docs/forecast.md): Llama 3's 419 interruptions
    # per 220 GPU-hardware failures; repair and replacement days are assumptions
    interruptions_per_failure: float = 419 / 220
    repair_days: int = 1
    rma_days: int = 30
    replace_failed: bool = True
    system_overhead: float = 1.82
    system_overhead_source: str | None = None
    pue: float = 1.2
    pue_source: str | None = None


@dataclass(frozen=True)
class Scenario:
    """A whole fleet as one value: what a scenario file holds."""

    name: str
    as_of: date
    skus: tuple[Sku, ...] = ()
    vendors: tuple[Vendor, ...] = ()
    groups: tuple[Group, ...] = ()
    orgs: tuple[Org, ...] = ()
    clusters: tuple[Cluster, ...] = ()
    sites: tuple[Site, ...] = ()
    orders: tuple[Order, ...] = ()
    lots: tuple[Lot, ...] = ()
    targets: tuple[Target, ...] = ()
    claims: tuple[Claim, ...] = ()
    diversions: tuple[Diversion, ...] = ()
    movements: tuple[Movement, ...] = ()
    parameters: Parameters = field(default_factory=Parameters)
    description: str | None = None


# --------------------------------------------------------------------------- ledger values


@dataclass(frozen=True)
class Balance:
    """One account's units of one SKU as of a date: posted and pending (reserved).

    ``pending`` is the sum of pending debits (negative) and credits (positive)
    not yet posted or voided; the spendable amount is ``posted + min(pending, 0)``
    for debits counted against the account. ``site`` is the site of a cluster's
    account (None for other accounts and for clusters at no site).
    """

    owner: str
    bucket: Bucket
    sku: str
    posted: int
    pending: int
    site: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The CLI/API JSON shape."""
        return {
            "owner": self.owner,
            "bucket": str(self.bucket),
            "sku": self.sku,
            "posted": self.posted,
            "pending": self.pending,
            "site": self.site,
        }


HELD_BUCKETS = (Bucket.STOCK, Bucket.DEPLOYED)


def holdings_by_org(
    balances: Iterable[Balance],
    cluster_org: Mapping[str, str],
    buckets: tuple[Bucket, ...] = HELD_BUCKETS,
) -> dict[tuple[str, str], int]:
    """Posted units per (org, SKU) in ``buckets``, each org's clusters included.

    The default buckets are what DESIGN calls "held": stock and deployed. In
    transit and failed units are not held, and pending amounts are not held yet
    (a pending diversion has moved nothing). A cluster missing from
    ``cluster_org`` counts for nobody.
    """
    held: dict[tuple[str, str], int] = {}
    for b in balances:
        if b.bucket not in buckets:
            continue
        kind, _, owner = b.owner.partition(":")
        if kind == OwnerKind.ORG:
            org = owner
        elif kind == OwnerKind.CLUSTER and owner in cluster_org:
            org = cluster_org[owner]
        else:
            continue
        held[(org, b.sku)] = held.get((org, b.sku), 0) + b.posted
    return held


JsonDict = Mapping[str, Any]
