"""The unit ledger: double-entry, append-only, bitemporal, tamper-evident (DESIGN section 2).

``Ledger.open(url)`` creates or migrates the books; every write is one transaction
that writes nothing on error; reads take ``as_of`` and ``known_on``.
"""

from __future__ import annotations

from gpuledger.ledger.books import BatchOp
from gpuledger.ledger.ledger import Ledger, system_clock
from gpuledger.ledger.results import (
    AuditReport,
    DecisionView,
    DiversionView,
    EventKind,
    EventView,
    ImportReport,
    LotTrace,
    Operation,
    Receipt,
    Transfer,
)

__all__ = [
    "AuditReport",
    "BatchOp",
    "DecisionView",
    "DiversionView",
    "EventKind",
    "EventView",
    "ImportReport",
    "Ledger",
    "LotTrace",
    "Operation",
    "Receipt",
    "Transfer",
    "system_clock",
]
