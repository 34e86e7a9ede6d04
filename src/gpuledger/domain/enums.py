"""Statuses and kinds: every enumerated name of gpuledger, in one module.

Compare members, never bare strings; a ``StrEnum`` member is its value when written.
"""

from __future__ import annotations

from enum import StrEnum


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


class ClaimVerdict(StrEnum):
    """What the check of a claim says (one rule: ``gpuledger.claims.VERDICT_RULE``)."""

    HOLDS = "holds"
    WITHIN_TOLERANCE = "within tolerance"
    OVERSTATED = "overstated"
    OUT_OF_REACH = "out of reach"
    NOT_CHECKED = "not checked"


class CountUnit(StrEnum):
    """What a count of units is shown in: GPUs, or H100-equivalents (each SKU's ``h100e``)."""

    GPUS = "gpus"
    H100E = "h100e"


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


class BooksRole(StrEnum):
    """A role over the whole books: the records every org shares (SKUs, vendors, groups...)."""

    BOOKS_ADMIN = "books-admin"


class DocumentKind(StrEnum):
    """Records that are versioned documents rather than transfers."""

    SCENARIO = "scenario"
    SKU = "sku"
    VENDOR = "vendor"
    GROUP = "group"
    ORG = "org"
    CLUSTER = "cluster"
    SITE = "site"
    ORDER = "order"
    LOT = "lot"
    TARGET = "target"
    CLAIM = "claim"
    DIVERSION = "diversion"


class LotStatus(StrEnum):
    """Where a lot stands in the books: not shipped yet, on its way, or received."""

    EXPECTED = "expected"  # a lot document with no shipment posted yet
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"


class OrderStatus(StrEnum):
    """An order line against its lots: units still without a lot, or none left."""

    OPEN = "open"
    COVERED = "covered"


class ListKind(StrEnum):
    """The records the list commands and routes can list."""

    ORGS = "orgs"
    SITES = "sites"
    ORDERS = "orders"
    LOTS = "lots"
    TARGETS = "targets"
    CLAIMS = "claims"
    DIVERSIONS = "diversions"


class OutputFormat(StrEnum):
    """How a command prints a tabular result."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"
