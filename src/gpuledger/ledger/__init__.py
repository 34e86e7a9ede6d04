"""The unit ledger: double-entry, append-only, bitemporal, tamper-evident (DESIGN section 2).

``Ledger.open(url)`` creates or migrates the books (``create=False``: refuses
books that do not exist); every write is one transaction that writes nothing on
error; reads take ``as_of`` and ``known_on``. Decisions on diversions follow the
approval policy the books are given (``approvals=``, see ``ledger.approvals``).

Modules, one job each: ``engine`` (opening, migrations), ``work`` (the unit of
work), ``chain`` (hash chain and writes), ``balances`` (balances in memory and
the no-negative check), ``idempotency``, ``invariants``, ``verbs`` (orders and
lots, movements, diversions, reversals), ``importer`` (scenarios and batches),
``queries`` and ``diversion_views`` (the read model), ``snapshot`` (the planning
snapshot), ``audit`` (verify), ``record_digests`` (governance rows and stored
responses under the chain), ``checkpoint`` (signed checkpoints of the heads),
``memo`` (reads memoised on the chain head), ``approvals`` (the policy
protocol), ``results`` (returned values and their JSON contracts), ``ledger``
(the facade).
"""

from __future__ import annotations

from gpuledger.ledger.approvals import (
    RECORDED_HISTORY,
    WORKING_COPY,
    ApprovalPolicy,
    Ballot,
    RecordedHistory,
    WorkingCopy,
)
from gpuledger.ledger.importer import (
    OPEN_BOOKS,
    PARAMETERS_KIND,
    BatchOp,
    ImportAuthority,
    ImportPlan,
    RecordChange,
    StatedDiversion,
)
from gpuledger.ledger.ledger import Ledger, system_clock
from gpuledger.ledger.queries import read_documents
from gpuledger.ledger.results import (
    AuditReport,
    DecisionRow,
    DecisionView,
    DiversionRow,
    DiversionView,
    EventKind,
    EventRow,
    EventView,
    ImportReport,
    LotTrace,
    LotTraceRow,
    Operation,
    Receipt,
    Transfer,
    TransferRow,
)

__all__ = [
    "OPEN_BOOKS",
    "PARAMETERS_KIND",
    "RECORDED_HISTORY",
    "WORKING_COPY",
    "ApprovalPolicy",
    "AuditReport",
    "Ballot",
    "BatchOp",
    "DecisionRow",
    "DecisionView",
    "DiversionRow",
    "DiversionView",
    "EventKind",
    "EventRow",
    "EventView",
    "ImportAuthority",
    "ImportPlan",
    "ImportReport",
    "Ledger",
    "LotTrace",
    "LotTraceRow",
    "Operation",
    "Receipt",
    "RecordChange",
    "RecordedHistory",
    "StatedDiversion",
    "Transfer",
    "TransferRow",
    "WorkingCopy",
    "read_documents",
    "system_clock",
]
