"""The concepts of gpuledger as frozen values: no I/O, no database, no web.

Every other layer speaks in these names (see shared/DESIGN.md section 1). The
ledger stores them, the scenario layer reads and writes them as YAML, the planner
and the forecast read them through an immutable snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any

# --------------------------------------------------------------------------- enums


class Bucket(StrEnum):
    """Where units sit inside an owner: the second half of an account name."""

    WORLD = "world"  # a vendor's outside world: the only bucket allowed below zero
    IN_TRANSIT = "in_transit"
    STOCK = "stock"
    DEPLOYED = "deployed"
    FAILED = "failed"


class OwnerKind(StrEnum):
    """Who can own an account."""

    VENDOR = "vendor"
    ORG = "org"
    CLUSTER = "cluster"


class TransferKind(StrEnum):
    """The ledger verbs: what physical event a transfer records."""

    SHIP = "ship"  # vendor/world -> org/in_transit
    RECEIVE = "receive"  # org/in_transit -> org/stock
    DEPLOY = "deploy"  # org/stock -> cluster/deployed
    FAIL = "fail"  # cluster/deployed -> org/failed
    RETURN = "return"  # org/failed -> vendor/world
    DIVERT = "divert"  # org A/bucket -> org B/same bucket
    PAYBACK = "payback"  # a diversion's payback: receiver -> giver, same bucket
    REVERSAL = "reversal"  # corrects an earlier transfer by moving the units back


class Phase(StrEnum):
    """Two-phase transfers, as TigerBeetle has them."""

    SINGLE = "single"  # posted at once
    PENDING = "pending"  # units reserved, not yet moved
    POST = "post"  # completes a pending transfer
    VOID = "void"  # releases a pending transfer


class DiversionStatus(StrEnum):
    """Life of a diversion between orgs."""

    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"


class Decision(StrEnum):
    """What a person did to a proposed diversion."""

    PROPOSE = "propose"
    APPROVE = "approve"
    REJECT = "reject"
    VOID = "void"


class ClaimKind(StrEnum):
    """A public statement about holdings now (`actual`) or later (`target`)."""

    ACTUAL = "actual"
    TARGET = "target"


class PolicyName(StrEnum):
    """How the planner hands out supply (DESIGN section 4)."""

    CONSIGNED = "consigned"
    PRIORITY = "priority"
    FAIR_SHARE = "fair-share"
    OPTIMAL = "optimal"


class OrgRole(StrEnum):
    """A role a user holds in one org, from least to most (each includes the ones before)."""

    VIEWER = "viewer"
    PLANNER = "planner"
    APPROVER = "approver"
    ADMIN = "admin"


class GroupRole(StrEnum):
    """A role a user holds over every org of a group (related parties)."""

    GROUP_ADMIN = "group-admin"
    AUDITOR = "auditor"


class DocumentKind(StrEnum):
    """Records that are versioned documents rather than transfers."""

    SCENARIO = "scenario"
    SKU = "sku"
    VENDOR = "vendor"
    GROUP = "group"
    ORG = "org"
    CLUSTER = "cluster"
    ORDER = "order"
    LOT = "lot"
    TARGET = "target"
    CLAIM = "claim"
    DIVERSION = "diversion"


# --------------------------------------------------------------------------- errors


class GpuledgerError(Exception):
    """Base of every error a user can meet; the message names the record and the fix."""


class ScenarioError(GpuledgerError):
    """A scenario file is not valid; nothing was imported.

    Attributes name where: the file, the 1-based line (None when unknown), the
    record (e.g. ``lots[3] LOT-T1-07``) and the field.
    """

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        line: int | None = None,
        record: str | None = None,
        field: str | None = None,
    ) -> None:
        self.reason = reason
        self.file = file
        self.line = line
        self.record = record
        self.field = field
        super().__init__(self.describe())

    def describe(self) -> str:
        """One line: ``file:line: record field: reason``."""
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "")
        subject = " ".join(p for p in (self.record, self.field and f"field '{self.field}'") if p)
        head = ": ".join(p for p in (where, subject) if p)
        return f"{head}: {self.reason}" if head else self.reason


class InvalidInput(GpuledgerError):
    """A value given to a command or request is malformed; ``field`` names it."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class LedgerError(GpuledgerError):
    """A ledger operation was refused; the books are unchanged."""


class InsufficientUnits(LedgerError):
    """A debit would take an account below zero, counting pending debits."""


class IdempotencyConflict(LedgerError):
    """An operation id was used before with different content."""


class UnknownRecord(GpuledgerError):
    """A referenced org, lot, SKU, diversion... does not exist."""


class InvalidTransition(LedgerError):
    """A diversion cannot move to the asked state (e.g. approving a voided one)."""


class PermissionDenied(GpuledgerError):
    """The actor may not do this (governance)."""


class Unauthenticated(GpuledgerError):
    """No valid credential: a missing, malformed, unknown or revoked API token."""


# --------------------------------------------------------------------------- time


def day_start(d: date) -> datetime:
    """Midnight UTC at the start of day ``d``: how a date becomes a timestamp."""
    return datetime.combine(d, time.min, tzinfo=UTC)


def day_end(d: date) -> datetime:
    """Exclusive bound for "on or before day d": midnight UTC of the next day."""
    return datetime.combine(date.fromordinal(d.toordinal() + 1), time.min, tzinfo=UTC)


# --------------------------------------------------------------------------- accounts


@dataclass(frozen=True, order=True)
class Account:
    """An account: (owner, bucket). SKU and lot are carried by the transfer.

    ``owner`` is ``kind:id`` (``org:tesla``, ``cluster:tesla-cortex``,
    ``vendor:nvidia``). Only ``world`` buckets may go negative.
    """

    owner: str
    bucket: Bucket

    def __str__(self) -> str:
        return f"{self.owner}/{self.bucket}"

    @property
    def owner_kind(self) -> OwnerKind:
        """The kind prefix of the owner."""
        return OwnerKind(self.owner.split(":", 1)[0])

    @property
    def owner_id(self) -> str:
        """The owner's id without its kind."""
        return self.owner.split(":", 1)[1]

    @property
    def may_go_negative(self) -> bool:
        """True only for a vendor's outside world."""
        return self.bucket is Bucket.WORLD

    @classmethod
    def parse(cls, text: str) -> Account:
        """Parse ``org:tesla/stock``; raise ValueError naming the text if malformed."""
        owner, sep, bucket = text.rpartition("/")
        if not sep or ":" not in owner:
            raise ValueError(f"account {text!r} is not of the form kind:id/bucket")
        OwnerKind(owner.split(":", 1)[0])
        return cls(owner, Bucket(bucket))


def org_account(org: str, bucket: Bucket) -> Account:
    """The account of an org."""
    return Account(f"{OwnerKind.ORG}:{org}", bucket)


def cluster_account(cluster: str) -> Account:
    """The deployed account of a cluster."""
    return Account(f"{OwnerKind.CLUSTER}:{cluster}", Bucket.DEPLOYED)


def vendor_account(vendor: str) -> Account:
    """A vendor's outside world, where shipped units come from."""
    return Account(f"{OwnerKind.VENDOR}:{vendor}", Bucket.WORLD)


# --------------------------------------------------------------------------- scenario records


@dataclass(frozen=True)
class Sku:
    """An accelerator model. ``annual_failure_rate`` feeds the forecast."""

    id: str
    name: str | None = None
    annual_failure_rate: float = 0.0
    source: str | None = None
    assumed: bool = False


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
class Cluster:
    """A place where an org deploys units."""

    id: str
    org: str
    name: str | None = None
    source: str | None = None


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
    for debits counted against the account.
    """

    owner: str
    bucket: Bucket
    sku: str
    posted: int
    pending: int

    def as_json(self) -> dict[str, Any]:
        """The CLI/API JSON shape."""
        return {
            "owner": self.owner,
            "bucket": str(self.bucket),
            "sku": self.sku,
            "posted": self.posted,
            "pending": self.pending,
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
