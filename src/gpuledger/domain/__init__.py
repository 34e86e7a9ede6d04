"""The concepts of gpuledger as frozen values: no I/O, no database, no web.

The package is split by concern; everything public is re-exported here, so
``from gpuledger.domain import Lot, InsufficientUnits`` is the one way to import.

- :mod:`~gpuledger.domain.enums`: statuses and kinds
- :mod:`~gpuledger.domain.errors`: the error hierarchy, each with a stable code
- :mod:`~gpuledger.domain.records`: SKUs, vendors, orgs, orders, lots, targets...
- :mod:`~gpuledger.domain.accounts`: ledger accounts ``owner/bucket``
- :mod:`~gpuledger.domain.dates`: how days become timestamps
- :mod:`~gpuledger.domain.ids`: every derived id
- :mod:`~gpuledger.domain.limits`: bounds on every input
- :mod:`~gpuledger.domain.power`: powered capacity of sites (Epoch AI's method)
- :mod:`~gpuledger.domain.money`: dollars as a stated price times GPU-days
"""

from __future__ import annotations

from gpuledger.domain.accounts import Account, cluster_account, org_account, vendor_account
from gpuledger.domain.dates import day_end, day_start
from gpuledger.domain.enums import (
    BooksRole,
    Bucket,
    ClaimKind,
    ClaimVerdict,
    CountUnit,
    Decision,
    DiversionStatus,
    DocumentKind,
    GroupRole,
    OrgRole,
    OwnerKind,
    Phase,
    PolicyName,
    TransferKind,
)
from gpuledger.domain.errors import (
    ERROR_CLASSES,
    BooksNotFound,
    CapacityExceeded,
    GpuledgerError,
    IdempotencyConflict,
    InputTooLarge,
    InsufficientUnits,
    InvalidInput,
    InvalidTransition,
    LedgerError,
    OutOfBounds,
    PermissionDenied,
    RateLimited,
    ScenarioError,
    Unauthenticated,
    Unavailable,
    UnknownRecord,
)
from gpuledger.domain.records import (
    HELD_BUCKETS,
    Balance,
    Claim,
    Cluster,
    Delivery,
    Diversion,
    Group,
    JsonDict,
    LeadTime,
    Lot,
    Movement,
    Order,
    Org,
    Parameters,
    Payback,
    PowerStep,
    Scenario,
    Site,
    Sku,
    Target,
    Vendor,
    holdings_by_org,
)

__all__ = [
    "ERROR_CLASSES",
    "HELD_BUCKETS",
    "Account",
    "Balance",
    "BooksNotFound",
    "BooksRole",
    "Bucket",
    "CapacityExceeded",
    "Claim",
    "ClaimKind",
    "ClaimVerdict",
    "Cluster",
    "CountUnit",
    "Decision",
    "Delivery",
    "Diversion",
    "DiversionStatus",
    "DocumentKind",
    "GpuledgerError",
    "Group",
    "GroupRole",
    "IdempotencyConflict",
    "InputTooLarge",
    "InsufficientUnits",
    "InvalidInput",
    "InvalidTransition",
    "JsonDict",
    "LeadTime",
    "LedgerError",
    "Lot",
    "Movement",
    "Order",
    "Org",
    "OrgRole",
    "OutOfBounds",
    "OwnerKind",
    "Parameters",
    "Payback",
    "PermissionDenied",
    "Phase",
    "PolicyName",
    "PowerStep",
    "RateLimited",
    "Scenario",
    "ScenarioError",
    "Site",
    "Sku",
    "Target",
    "TransferKind",
    "Unauthenticated",
    "Unavailable",
    "UnknownRecord",
    "Vendor",
    "cluster_account",
    "day_end",
    "day_start",
    "holdings_by_org",
    "org_account",
    "vendor_account",
]
